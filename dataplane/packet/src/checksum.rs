//! Internet checksum (RFC 1071) and incremental update (RFC 1624).
//!
//! Conventions:
//! * A **sum** is the folded 16-bit one's-complement sum of big-endian words (odd trailing byte
//!   padded with zero), *not* complemented. Sums of disjoint parts combine with [`combine`].
//!   The sum of non-zero data is never `0x0000` (zero is always represented as `0xFFFF`).
//! * A **checksum** is the complement of a sum: the value stored in a header.
//! * A header verifies when the sum over it (checksum field included, plus the pseudo-header
//!   sum for TCP/UDP/ICMPv6) is `0xFFFF`.
//!
//! Incremental update (RFC 1624 eqn. 3): `HC' = ~(~HC + ~m + m')`. [`update16`],
//! [`update32`] and [`update128`] equal a full recompute whenever the old checksum was correct
//! (tested by proptest). They do not know about UDP's "no checksum" value: an IPv4 UDP checksum
//! of `0` must be left alone, and a UDP result of `0` must be stored as `0xFFFF`.

/// Folds a wide accumulator to 16 bits with end-around carry: the value congruent to `acc`
/// modulo `0xFFFF` in `1..=0xFFFF`, or 0 for 0.
#[inline]
fn fold(acc: u64) -> u16 {
    // 64 → 32 → 16 bits, each an add with the carry added back in (`0xFFFF` divides
    // `2^32 - 1`, so the first step keeps the value modulo `0xFFFF`). A carry out leaves a
    // sum of at most `MAX - 1`, so adding it back cannot carry again; a non-zero input never
    // folds to 0.
    let (lo, carry) = (acc as u32).overflowing_add((acc >> 32) as u32);
    let x = lo + u32::from(carry);
    let (lo, carry) = (x as u16).overflowing_add((x >> 16) as u16);
    lo + u16::from(carry)
}

/// One's-complement sum of `data` (see module doc), folded, not complemented.
pub fn sum(data: &[u8]) -> u16 {
    fold(add_words::<false>(data))
}

/// True if the sum of `data` (see [`sum`]) is `0xFFFF`: a header with its checksum field
/// verifies. Words are added in native byte order: the one's-complement sum of byte-swapped
/// words is the byte-swapped sum (RFC 1071 §2(B)) and `0xFFFF` is its own swap, so the answer
/// is [`sum`]'s without swapping a word.
#[inline]
pub fn sums_to_ones(data: &[u8]) -> bool {
    fold(add_words::<true>(data)) == 0xFFFF
}

/// `data` as 32-bit words, then a 16-bit word and a last byte padded with zero, added up
/// unfolded; big-endian words, or native-order ones with `NATIVE`.
#[inline(always)]
fn add_words<const NATIVE: bool>(data: &[u8]) -> u64 {
    let mut acc: u64 = 0;
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        let w = [w[0], w[1], w[2], w[3]];
        acc += u64::from(if NATIVE {
            u32::from_ne_bytes(w)
        } else {
            u32::from_be_bytes(w)
        });
    }
    let mut pairs = words.remainder().chunks_exact(2);
    let word = |p: [u8; 2]| {
        u64::from(if NATIVE {
            u16::from_ne_bytes(p)
        } else {
            u16::from_be_bytes(p)
        })
    };
    for p in &mut pairs {
        acc += word([p[0], p[1]]);
    }
    if let [last] = pairs.remainder() {
        acc += word([*last, 0]);
    }
    acc
}

/// Combines partial sums of disjoint, even-length-aligned parts into one sum.
pub fn combine(sums: &[u16]) -> u16 {
    fold(sums.iter().map(|&s| u64::from(s)).sum())
}

/// The checksum to store for `data`: `!sum(data)`.
pub fn checksum(data: &[u8]) -> u16 {
    !sum(data)
}

/// Sum of the IPv4 pseudo-header for TCP/UDP: addresses, protocol and L4 length.
pub fn pseudo_header_v4(src: &[u8; 4], dst: &[u8; 4], protocol: u8, l4_len: u16) -> u16 {
    let acc = u64::from(u32::from_be_bytes(*src))
        + u64::from(u32::from_be_bytes(*dst))
        + u64::from(protocol)
        + u64::from(l4_len);
    fold(acc)
}

/// Sum of the IPv6 pseudo-header (RFC 8200 §8.1) for TCP/UDP/ICMPv6.
pub fn pseudo_header_v6(src: &[u8; 16], dst: &[u8; 16], next_header: u8, l4_len: u32) -> u16 {
    combine(&[
        sum(src),
        sum(dst),
        fold(u64::from(l4_len)),
        u16::from(next_header),
    ])
}

/// New checksum after one 16-bit field (e.g. a port) changed from `old` to `new` (RFC 1624
/// eqn. 3: `HC' = ~(~HC + ~m + m')`).
#[inline]
pub fn update16(csum: u16, old: u16, new: u16) -> u16 {
    !fold(u64::from(!csum) + u64::from(!old) + u64::from(new))
}

/// New checksum after an aligned 32-bit field (e.g. an IPv4 address) changed. A 32-bit
/// one's-complement sum folds to the same 16-bit sum as its two halves, so this is
/// [`update16`] on both halves in one step.
#[inline]
pub fn update32(csum: u16, old: u32, new: u32) -> u16 {
    !fold(u64::from(!csum) + u64::from(!old) + u64::from(new))
}

/// New checksum after a 16-byte field (an IPv6 address) changed.
#[inline]
pub fn update128(csum: u16, old: &[u8; 16], new: &[u8; 16]) -> u16 {
    let (o, n) = (u128::from_be_bytes(*old), u128::from_be_bytes(*new));
    let mut acc = u64::from(!csum);
    for shift in [0, 32, 64, 96] {
        // Truncation intended: one 32-bit word of each address.
        acc += u64::from(!(o >> shift) as u32) + u64::from((n >> shift) as u32);
    }
    !fold(acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 1071 §3 example: words 0001 f203 f4f5 f6f7 sum to ddf2.
    #[test]
    fn rfc1071_example() {
        assert_eq!(
            sum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0xddf2
        );
        assert_eq!(
            checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            !0xddf2
        );
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(sum(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
        assert_eq!(sum(&[]), 0);
    }

    #[test]
    fn sums_to_ones_agrees_with_sum() {
        let data: Vec<u8> = (0u8..=200).map(|b| b.wrapping_mul(37)).collect();
        for end in 0..data.len() {
            let part = &data[..end];
            // Append the checksum (with a zero pad byte on odd lengths) so the sum is 0xFFFF.
            let mut whole = part.to_vec();
            if whole.len() % 2 == 1 {
                whole.push(0);
            }
            let csum = checksum(&whole);
            whole.extend_from_slice(&csum.to_be_bytes());
            assert_eq!(sums_to_ones(&whole), sum(&whole) == 0xFFFF, "len {end}");
            assert!(sums_to_ones(&whole) || whole.iter().all(|&b| b == 0));
            assert_eq!(sums_to_ones(part), sum(part) == 0xFFFF, "len {end}");
        }
        assert!(!sums_to_ones(&[]));
        assert!(sums_to_ones(&[0xff, 0xff]));
        assert!(sums_to_ones(&[0xff, 0xff, 0xff]) == (sum(&[0xff, 0xff, 0xff]) == 0xFFFF));
    }

    #[test]
    fn fold_is_the_least_positive_residue() {
        let cases = [
            0,
            1,
            0xFFFF,
            0x1_0000,
            0xFFFF_FFFF,
            0x1_0000_0000,
            0xFFFF_FFFF_FFFF,
            u64::MAX,
            u64::MAX - 1,
            0x8000_0000_8000_0000,
            0x0001_FFFE_0001_FFFF,
        ];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let more = (0..10_000).map(|_| {
            x = x.rotate_left(7).wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0x1234_5678;
            x >> (x % 48)
        });
        for acc in cases.into_iter().chain(more) {
            let want = if acc == 0 {
                0
            } else {
                ((acc - 1) % 0xFFFF + 1) as u16
            };
            assert_eq!(fold(acc), want, "{acc:#x}");
        }
    }

    #[test]
    fn combine_matches_concatenation() {
        let data: Vec<u8> = (0u8..=200).collect();
        let (a, b) = data.split_at(64);
        assert_eq!(combine(&[sum(a), sum(b)]), sum(&data));
    }

    /// RFC 1624 §4 example: HC 0xDD2F, m 0x5555 → 0x3285 gives HC' 0x0000.
    #[test]
    fn rfc1624_example() {
        assert_eq!(update16(0xDD2F, 0x5555, 0x3285), 0x0000);
    }

    #[test]
    fn update32_is_two_update16() {
        let c = update32(0x1234, 0x0a00_0001, 0xc0a8_0101);
        assert_eq!(
            c,
            update16(update16(0x1234, 0x0a00, 0xc0a8), 0x0001, 0x0101)
        );
    }
}
