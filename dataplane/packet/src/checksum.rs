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

/// Folds a wide accumulator to 16 bits with end-around carry.
#[inline]
fn fold(mut acc: u64) -> u16 {
    // Branch-free: 64 → at most 33 bits → at most 17 → at most 0x10000 → 16.
    acc = (acc & 0xFFFF_FFFF) + (acc >> 32);
    acc = (acc & 0xFFFF) + (acc >> 16);
    acc = (acc & 0xFFFF) + (acc >> 16);
    acc = (acc & 0xFFFF) + (acc >> 16);
    acc as u16
}

/// One's-complement sum of `data` (see module doc), folded, not complemented.
pub fn sum(data: &[u8]) -> u16 {
    let mut acc: u64 = 0;
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        acc += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    }
    let rest = words.remainder();
    let mut pairs = rest.chunks_exact(2);
    for p in &mut pairs {
        acc += u64::from(u16::from_be_bytes([p[0], p[1]]));
    }
    if let [last] = pairs.remainder() {
        acc += u64::from(*last) << 8;
    }
    fold(acc)
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
