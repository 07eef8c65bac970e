//! [`Parsed<T>`]: a value written as a string, parsed while reading the document.
//!
//! A config of 100k endpoints would otherwise allocate 100k address strings only to parse them
//! again during validation. `Parsed` parses straight from the borrowed input and keeps text only
//! when it does not parse, so validation can still report the bad value with its path (a parse
//! failure here is never a serde error). Output prints the value in canonical form
//! (`Display`), e.g. IPv6 addresses compressed.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

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

impl<T: FromStr> Parsed<T> {
    /// Parses `text`, keeping it if it does not parse.
    pub fn new(text: &str) -> Parsed<T> {
        text.parse()
            .map_or_else(|_| Parsed::Invalid(text.to_owned()), Parsed::Ok)
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

impl<'de, T: FromStr> Deserialize<'de> for Parsed<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<T: FromStr> Visitor<'_> for V<T> {
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
    use std::net::{IpAddr, SocketAddr};

    #[test]
    fn keeps_what_does_not_parse() {
        let ok: Parsed<IpAddr> = serde_json::from_str("\"2001:0002::1\"").expect("string");
        assert_eq!(ok.get().map(ToString::to_string), Ok("2001:2::1".to_owned()));
        let bad: Parsed<SocketAddr> = serde_json::from_str("\"127.0.0.1\"").expect("string");
        assert_eq!(bad, Parsed::Invalid("127.0.0.1".to_owned()));
        assert_eq!(serde_json::to_string(&bad).expect("prints"), "\"127.0.0.1\"");
        assert!(serde_json::from_str::<Parsed<IpAddr>>("5").is_err());
    }
}
