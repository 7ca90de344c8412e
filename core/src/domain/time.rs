//! Instants and the injectable clock.
//!
//! Every time enrollkit stores is a UTC instant with millisecond precision, kept as epoch
//! milliseconds in SQLite and written on the wire as RFC 3339 with milliseconds and `Z`
//! (`2026-01-15T10:30:00.000Z`). The store reads "now" from a [`Clock`], so tests and replays can
//! run on a [`ManualClock`].

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// A UTC instant with millisecond precision.
///
/// ```
/// use enrollkit::Timestamp;
/// let t = Timestamp::parse("2026-01-15T10:30:00Z").unwrap();
/// assert_eq!(t.to_string(), "2026-01-15T10:30:00.000Z");
/// assert_eq!(Timestamp::from_millis(t.millis()), t);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// Earliest accepted instant: 0001-01-01T00:00:00Z.
const MIN_MILLIS: i64 = -62_135_596_800_000;
/// Latest accepted instant: 9999-12-31T23:59:59.999Z.
const MAX_MILLIS: i64 = 253_402_300_799_999;

impl Timestamp {
    /// The instant `millis` milliseconds after the Unix epoch. Values outside years 1–9999 are
    /// clamped to that range, so every timestamp renders as RFC 3339.
    pub fn from_millis(millis: i64) -> Timestamp {
        Timestamp(millis.clamp(MIN_MILLIS, MAX_MILLIS))
    }

    /// Milliseconds since the Unix epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// Parses an RFC 3339 instant with any offset; sub-millisecond digits are truncated.
    ///
    /// Returns [`Error::Validation`] for anything else.
    pub fn parse(text: &str) -> Result<Timestamp> {
        if let Some(t) = Timestamp::parse_canonical(text) {
            return Ok(t);
        }
        let parsed = DateTime::parse_from_rfc3339(text).map_err(|e| {
            Error::validation("timestamp", format!("{text:?} is not RFC 3339: {e}"))
        })?;
        let millis = parsed.timestamp_millis();
        if !(MIN_MILLIS..=MAX_MILLIS).contains(&millis) {
            return Err(Error::validation("timestamp", "year outside 1-9999"));
        }
        Ok(Timestamp(millis))
    }

    /// Fast path for the form enrollkit writes (`2026-01-15T10:30:00.000Z`); `None` for
    /// anything else, which the general parser then handles.
    fn parse_canonical(text: &str) -> Option<Timestamp> {
        let b = text.as_bytes();
        if b.len() != 24
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
            || b[19] != b'.'
            || b[23] != b'Z'
        {
            return None;
        }
        let num = |from: usize, to: usize| -> Option<i64> {
            b[from..to].iter().try_fold(0i64, |n, c| {
                c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
            })
        };
        let (y, m, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
        let (hh, mm, ss, ms) = (num(11, 13)?, num(14, 16)?, num(17, 19)?, num(20, 23)?);
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let month_days = [
            31,
            if leap { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        if y < 1
            || !(1..=12).contains(&m)
            || d < 1
            || d > month_days[(m - 1) as usize]
            || hh > 23
            || mm > 59
            || ss > 59
        {
            return None;
        }
        // Days from the civil date (Howard Hinnant's algorithm).
        let (yy, mp) = if m > 2 { (y, m - 3) } else { (y - 1, m + 9) };
        let era = yy.div_euclid(400);
        let yoe = yy - era * 400;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        Some(Timestamp(
            ((days * 24 + hh) * 60 + mm) * 60_000 + ss * 1000 + ms,
        ))
    }

    /// The instant as a chrono `DateTime<Utc>`.
    pub fn to_datetime(self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.0).expect("timestamp is kept within chrono's range")
    }

    /// This instant moved by `millis` milliseconds (saturating at the accepted range).
    pub fn plus_millis(self, millis: i64) -> Timestamp {
        Timestamp::from_millis(self.0.saturating_add(millis))
    }
}

impl Timestamp {
    /// The canonical text (`2026-01-15T10:30:00.000Z`) as ASCII bytes, computed without
    /// allocating (civil-from-days, Howard Hinnant's algorithm): every list and export writes
    /// several per row, and a general-purpose formatter costs a noticeable share of a listed
    /// page.
    fn canonical(self) -> [u8; 24] {
        let days = self.0.div_euclid(86_400_000);
        let ms_of_day = self.0.rem_euclid(86_400_000);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        let mut out = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, width: usize, mut value: i64| {
            for i in (at..at + width).rev() {
                out[i] = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(0, 4, year);
        put(5, 2, month);
        put(8, 2, day);
        put(11, 2, ms_of_day / 3_600_000);
        put(14, 2, ms_of_day / 60_000 % 60);
        put(17, 2, ms_of_day / 1000 % 60);
        put(20, 3, ms_of_day % 1000);
        out
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(std::str::from_utf8(&self.canonical()).map_err(|_| fmt::Error)?)
    }
}

/// The name a [`Timestamp`] serializes under: a newtype struct around its canonical text.
/// Serializers without a time type (serde_json among them) write the text as it is; one that
/// has a time type can recognise the name (the Python binding makes an aware `datetime`).
pub const TIMESTAMP_SERDE_NAME: &str = "enrollkit::Timestamp";

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let text = self.canonical();
        let text = std::str::from_utf8(&text).map_err(serde::ser::Error::custom)?;
        serializer.serialize_newtype_struct(TIMESTAMP_SERDE_NAME, text)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_str(TimestampVisitor)
    }
}

/// Reads a [`Timestamp`] from the text as the deserializer has it: borrowed from the input
/// where it can be (serde_json without escapes), so that no `String` is allocated for it (an
/// import reads several timestamps a line). Anything but text is refused, "expected a string".
struct TimestampVisitor;

impl serde::de::Visitor<'_> for TimestampVisitor {
    type Value = Timestamp;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> std::result::Result<Timestamp, E> {
        Timestamp::parse(text).map_err(E::custom)
    }
}

/// A source of the current time. The store asks it once per operation.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The real UTC wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(Utc::now().timestamp_millis())
    }
}

/// A clock that only moves when told to: for tests, simulations and replays.
///
/// ```
/// use enrollkit::{Clock, ManualClock, Timestamp};
/// let clock = ManualClock::new(Timestamp::parse("2026-01-15T10:30:00Z").unwrap());
/// clock.advance_millis(1_000);
/// assert_eq!(clock.now().to_string(), "2026-01-15T10:30:01.000Z");
/// ```
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: Timestamp) -> ManualClock {
        ManualClock(AtomicI64::new(start.millis()))
    }

    /// Sets the clock to `to`.
    pub fn set(&self, to: Timestamp) {
        self.0.store(to.millis(), Ordering::SeqCst);
    }

    /// Moves the clock by `millis` (may be negative).
    pub fn advance_millis(&self, millis: i64) {
        self.0.fetch_add(millis, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::SecondsFormat;

    #[test]
    fn renders_as_chrono_does_over_the_whole_range() {
        let chrono = |t: Timestamp| t.to_datetime().to_rfc3339_opts(SecondsFormat::Millis, true);
        let mut edges = vec![
            MIN_MILLIS,
            MAX_MILLIS,
            0,
            -1,
            1,
            951_782_400_000,
            4_107_542_399_999,
        ];
        // Days around every leap-year rule (1600, 1900, 2000, 2100) and the epoch.
        for day in [-135_140, -25_567, 10_957, 47_482, -1, 0, 59, 60] {
            edges.extend([
                day * 86_400_000 - 1,
                day * 86_400_000,
                day * 86_400_000 + 86_399_999,
            ]);
        }
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let span = (MAX_MILLIS - MIN_MILLIS) as u64;
        let random = (0..200_000).map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            MIN_MILLIS + ((x >> 11) % span) as i64
        });
        for millis in edges.into_iter().chain(random) {
            let t = Timestamp::from_millis(millis);
            assert_eq!(t.to_string(), chrono(t), "{millis}");
            assert_eq!(Timestamp::parse(&t.to_string()).unwrap(), t);
        }
    }

    #[test]
    fn renders_with_millis_and_z() {
        let t = Timestamp::parse("2026-01-15T12:30:00.123456+02:00").unwrap();
        assert_eq!(t.to_string(), "2026-01-15T10:30:00.123Z");
    }

    #[test]
    fn the_fast_path_agrees_with_chrono() {
        let mut x: i64 = 12345;
        for _ in 0..20_000 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let t = Timestamp::from_millis(x.rem_euclid(MAX_MILLIS - MIN_MILLIS) + MIN_MILLIS);
            let text = t.to_string();
            assert_eq!(Timestamp::parse_canonical(&text), Some(t), "{text}");
            let slow = DateTime::parse_from_rfc3339(&text)
                .unwrap()
                .timestamp_millis();
            assert_eq!(slow, t.millis(), "{text}");
        }
        for odd in [
            "2026-02-29T00:00:00.000Z",
            "2026-13-01T00:00:00.000Z",
            "2026-01-01T24:00:00.000Z",
            "2026-01-01T00:00:60.000Z",
            "0000-01-01T00:00:00.000Z",
            "2026-01-01T00:00:00.000+",
        ] {
            assert_eq!(Timestamp::parse_canonical(odd), None, "{odd}");
        }
        assert!(Timestamp::parse("2026-02-29T00:00:00.000Z").is_err());
        assert_eq!(
            Timestamp::parse("2024-02-29T23:59:59.999Z")
                .unwrap()
                .to_string(),
            "2024-02-29T23:59:59.999Z"
        );
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(
            Timestamp::parse("yesterday").unwrap_err().code(),
            "validation"
        );
        assert_eq!(Timestamp::parse("").unwrap_err().code(), "validation");
    }

    #[test]
    fn deserializes_from_text_borrowed_escaped_or_owned() {
        let want = Timestamp::parse("2026-01-15T10:30:00.000Z").unwrap();
        for json in [
            r#""2026-01-15T10:30:00.000Z""#,
            r#""2026-01-15T10:30:00\u002e000Z""#,
            r#""2026-01-15T11:30:00+01:00""#,
        ] {
            let t: Timestamp = serde_json::from_str(json).unwrap();
            assert_eq!(t, want, "{json}");
            let value: serde_json::Value = serde_json::from_str(json).unwrap();
            assert_eq!(serde_json::from_value::<Timestamp>(value).unwrap(), want);
        }
        let not_text = serde_json::from_str::<Timestamp>("5").unwrap_err();
        assert!(
            not_text.to_string().contains("expected a string"),
            "{not_text}"
        );
        let bad = serde_json::from_str::<Timestamp>(r#""yesterday""#).unwrap_err();
        assert!(bad.to_string().contains("not RFC 3339"), "{bad}");
    }

    #[test]
    fn clamps_extremes() {
        assert_eq!(
            Timestamp::from_millis(i64::MAX).to_string(),
            "9999-12-31T23:59:59.999Z"
        );
        assert_eq!(
            Timestamp::from_millis(i64::MIN).to_string(),
            "0001-01-01T00:00:00.000Z"
        );
    }
}
