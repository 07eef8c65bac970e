//! `Duration`: a positive span of time written as an integer and a unit (`250ms`, `1s`, `5m`,
//! `1h`).
//!
//! Invariant: a `Duration` is never zero and fits in a `std::time::Duration` of whole
//! milliseconds. `Display` prints the largest unit that divides the value exactly, so
//! `Duration::parse(&d.to_string()) == Ok(d)`.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// Why a duration string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DurationError {
    /// The string is empty.
    #[error("must not be empty")]
    Empty,
    /// The string is not `<digits><unit>`.
    #[error("invalid duration {0:?}: expected an integer and a unit (ms, s, m, h), e.g. \"250ms\"")]
    Syntax(String),
    /// The value is zero.
    #[error("duration must be greater than 0")]
    Zero,
    /// The value does not fit in 64-bit milliseconds.
    #[error("duration {0:?} is too large")]
    Overflow(String),
}

/// A positive duration with millisecond resolution; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(std::time::Duration);

impl Duration {
    /// Parses `<integer><unit>` where unit is `ms`, `s`, `m` or `h`; rejects zero.
    pub fn parse(text: &str) -> Result<Duration, DurationError> {
        if text.is_empty() {
            return Err(DurationError::Empty);
        }
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| DurationError::Syntax(text.to_owned()))?;
        let (digits, unit) = text.split_at(split);
        let scale: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            _ => return Err(DurationError::Syntax(text.to_owned())),
        };
        if digits.is_empty() {
            return Err(DurationError::Syntax(text.to_owned()));
        }
        let millis = digits
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(scale))
            .ok_or_else(|| DurationError::Overflow(text.to_owned()))?;
        Duration::from_millis(millis).ok_or(DurationError::Zero)
    }

    /// A duration of `millis` milliseconds, or `None` for zero.
    pub const fn from_millis(millis: u64) -> Option<Duration> {
        if millis == 0 {
            None
        } else {
            Some(Duration(std::time::Duration::from_millis(millis)))
        }
    }

    /// The duration as a standard library value.
    pub const fn as_std(self) -> std::time::Duration {
        self.0
    }

    /// Whole milliseconds (never zero).
    pub fn as_millis(self) -> u64 {
        // Constructed from a u64 of milliseconds, so this never truncates.
        u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX)
    }
}

impl From<Duration> for std::time::Duration {
    fn from(d: Duration) -> Self {
        d.0
    }
}

impl FromStr for Duration {
    type Err = DurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Duration::parse(s)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.as_millis();
        for (scale, unit) in [(3_600_000, "h"), (60_000, "m"), (1_000, "s")] {
            if ms.is_multiple_of(scale) {
                return write!(f, "{}{unit}", ms / scale);
            }
        }
        write!(f, "{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_each_unit() {
        let ms = |s: &str| Duration::parse(s).map(Duration::as_millis);
        assert_eq!(ms("250ms"), Ok(250));
        assert_eq!(ms("1s"), Ok(1_000));
        assert_eq!(ms("5m"), Ok(300_000));
        assert_eq!(ms("1h"), Ok(3_600_000));
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(Duration::parse(""), Err(DurationError::Empty));
        assert_eq!(Duration::parse("0s"), Err(DurationError::Zero));
        for bad in ["1", "s", "1.5s", "-1s", "1 s", "1sec", "1d", " 1s", "1S"] {
            assert!(
                matches!(Duration::parse(bad), Err(DurationError::Syntax(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            Duration::parse("99999999999999999999h"),
            Err(DurationError::Overflow(_))
        ));
        assert!(matches!(
            Duration::parse("18446744073709551615h"),
            Err(DurationError::Overflow(_))
        ));
    }

    #[test]
    fn displays_largest_exact_unit() {
        let show = |s: &str| Duration::parse(s).map(|d| d.to_string());
        assert_eq!(show("1000ms"), Ok("1s".to_owned()));
        assert_eq!(show("90s"), Ok("90s".to_owned()));
        assert_eq!(show("120s"), Ok("2m".to_owned()));
        assert_eq!(show("1500ms"), Ok("1500ms".to_owned()));
    }

    proptest! {
        #[test]
        fn display_round_trips(ms in 1u64..=u64::MAX / 4) {
            let d = Duration::from_millis(ms).expect("non-zero");
            prop_assert_eq!(Duration::parse(&d.to_string()), Ok(d));
        }

        #[test]
        fn never_panics(s in "\\PC{0,12}") {
            let _ = Duration::parse(&s);
        }
    }
}
