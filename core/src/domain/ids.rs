//! Enrollment ids that sort by creation time: `enr_` followed by a UUIDv7 in Crockford base32
//! (26 characters, lexicographic order = time order).

use std::sync::Mutex;

use crate::domain::time::Timestamp;
use crate::error::{Error, Failure, Result};

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The random bits of a UUIDv7 after its 48-bit millisecond timestamp (`rand_a` and `rand_b`;
/// the version and variant bits are fixed).
const RANDOM_BITS: u32 = 74;

/// The random bits a millisecond's first id keeps: all but the top one, which leaves room for
/// 2^73 steps in the millisecond.
const FRESH_RANDOM: u128 = (1 << (RANDOM_BITS - 1)) - 1;

/// Random bytes one id takes from an [`IdRandom`] (80 bits: 74, rounded up to whole bytes).
const BYTES_PER_ID: usize = 10;

/// The most ids an [`IdRandom`] reads random bytes for at once (2.5 KiB).
const MAX_IDS_PER_READ: usize = 256;

/// Random bytes for the ids of one call (one enroll, one batch of enrollments), read from the
/// operating system once for up to [`MAX_IDS_PER_READ`] ids rather than with a system call per
/// id, which bulk enrollment would pay on every row. Never kept beyond the call, so a
/// process forked in between cannot hand out the same bytes as its parent.
pub(crate) struct IdRandom {
    bytes: Vec<u8>,
    used: usize,
    ids_per_read: usize,
}

impl IdRandom {
    /// For a call that makes up to `ids` ids (at least one is read for).
    pub(crate) fn for_ids(ids: usize) -> IdRandom {
        IdRandom {
            bytes: Vec::new(),
            used: 0,
            ids_per_read: ids.clamp(1, MAX_IDS_PER_READ),
        }
    }

    /// The next 80 random bits.
    fn take(&mut self) -> Result<u128> {
        if self.used == self.bytes.len() {
            self.bytes.resize(self.ids_per_read * BYTES_PER_ID, 0);
            getrandom::fill(&mut self.bytes).map_err(|e| {
                Error::Storage(Failure::caused_by(
                    format!("cannot read random bytes for an enrollment id: {e}"),
                    e,
                ))
            })?;
            self.used = 0;
        }
        let mut value = [0u8; 16];
        value[..BYTES_PER_ID].copy_from_slice(&self.bytes[self.used..self.used + BYTES_PER_ID]);
        self.used += BYTES_PER_ID;
        Ok(u128::from_le_bytes(value))
    }
}

/// The last id's millisecond and random bits.
#[derive(Debug, Default)]
struct Last {
    millis: u64,
    random: u128,
}

/// Generates ids from the store's clock. Ids made by one store sort in creation order, within
/// one millisecond too (and when the clock goes back): an id in the same millisecond as the
/// previous one adds a random step of 1 to 2^32 to its random bits instead of drawing them
/// anew (RFC 9562's monotonic random method); one that would overflow them takes the next
/// millisecond.
#[derive(Debug, Default)]
pub(crate) struct IdGenerator {
    last: Mutex<Last>,
}

impl IdGenerator {
    pub(crate) fn next(&self, now: Timestamp, random: &mut IdRandom) -> Result<String> {
        let bits = random.take()?;
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let millis = now.millis().max(0) as u64;
        let step = 1 + (bits & 0xFFFF_FFFF);
        if millis > last.millis {
            *last = Last {
                millis,
                random: bits & FRESH_RANDOM,
            };
        } else if last.random + step < 1 << RANDOM_BITS {
            last.random += step;
        } else {
            last.millis += 1;
            last.random = bits & FRESH_RANDOM;
        }
        // 48 bits of milliseconds, version 7, 12 random bits, variant 0b10, 62 random bits.
        let value = (u128::from(last.millis & 0xFFFF_FFFF_FFFF) << 80)
            | (0x7 << 76)
            | ((last.random >> 62) << 64)
            | (0b10 << 62)
            | (last.random & ((1 << 62) - 1));
        drop(last);
        Ok(from_value(value))
    }
}

/// The 128-bit value of a generated id (`enr_` and 26 Crockford base32 digits, the first at
/// most `7`), or `None` for an id of another form (ids chosen by callers are kept as given).
pub(crate) fn value_of(id: &str) -> Option<u128> {
    let digits = id.strip_prefix("enr_")?.as_bytes();
    if digits.len() != 26 || digits[0] > b'7' {
        return None;
    }
    digits.iter().try_fold(0u128, |acc, c| {
        let digit = CROCKFORD.iter().position(|d| d == c)?;
        Some((acc << 5) | digit as u128)
    })
}

/// The generated-id form (`enr_…`) of a 128-bit value.
fn from_value(value: u128) -> String {
    let mut out = String::with_capacity(30);
    out.push_str("enr_");
    for i in (0..26).rev() {
        let digit = ((value >> (i * 5)) & 31) as usize;
        out.push(CROCKFORD[digit] as char);
    }
    out
}

/// The certification reference's `uuid` of an enrollment: a generated id's 128-bit value as
/// canonical 8-4-4-4-12 lowercase text; any other id as it is.
pub(crate) fn uuid_text(id: &str) -> std::borrow::Cow<'_, str> {
    match value_of(id) {
        Some(v) => uuid::Uuid::from_u128(v).hyphenated().to_string().into(),
        None => id.into(),
    }
}

/// An enrollment id given as canonical 8-4-4-4-12 UUID text (either case), as the `enr_…` id of
/// the same 128-bit value; `None` for anything else. Every place that takes an enrollment id
/// accepts both forms through it, and an id chosen in UUID form is stored in the `enr_` form,
/// so one enrollment never has two spellings.
pub(crate) fn from_uuid_text(text: &str) -> Option<String> {
    if text.len() != 36 {
        return None;
    }
    let hyphens = [8, 13, 18, 23];
    let well_formed = text.bytes().enumerate().all(|(i, b)| {
        if hyphens.contains(&i) {
            b == b'-'
        } else {
            b.is_ascii_hexdigit()
        }
    });
    if !well_formed {
        return None;
    }
    let value = uuid::Uuid::try_parse(text).ok()?.as_u128();
    Some(from_value(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(id: &str) -> u128 {
        value_of(id).unwrap()
    }

    #[test]
    fn a_generated_id_and_its_uuid_text_name_the_same_value() {
        let generator = IdGenerator::default();
        let id = generator
            .next(
                Timestamp::from_millis(1_760_000_123_456),
                &mut IdRandom::for_ids(1),
            )
            .unwrap();
        let text = uuid_text(&id).into_owned();
        assert_eq!(text.len(), 36);
        assert_eq!(uuid::Uuid::try_parse(&text).unwrap().as_u128(), decode(&id));
        assert_eq!(from_uuid_text(&text).as_deref(), Some(id.as_str()));
        assert_eq!(
            from_uuid_text(&text.to_uppercase()).as_deref(),
            Some(id.as_str())
        );
        // The extremes of the 128-bit range.
        for v in [0, u128::MAX] {
            let id = from_value(v);
            assert_eq!(value_of(&id), Some(v), "{id}");
        }
        // Other forms are not UUID text, and other ids render as given.
        for other in [
            "enr_1",
            "enr_8ZZZZZZZZZZZZZZZZZZZZZZZZZ",
            "enr_01kezzzzzzzzzzzzzzzzzzzzzz",
            "my-own-id",
        ] {
            assert_eq!(uuid_text(other), other);
        }
        for not_uuid in [
            "0190a8f2c3d44e5f8a9b0c1d2e3f4a5b",
            "{0190a8f2-c3d4-4e5f-8a9b-0c1d2e3f4a5b}",
            "0190a8f2-c3d4-4e5f-8a9b-0c1d2e3f4a5",
            "0190a8f2-c3d4-4e5f-8a9b_0c1d2e3f4a5b",
            "g190a8f2-c3d4-4e5f-8a9b-0c1d2e3f4a5b",
        ] {
            assert_eq!(from_uuid_text(not_uuid), None, "{not_uuid}");
        }
    }

    #[test]
    fn ids_sort_by_time_and_within_a_millisecond() {
        let generator = IdGenerator::default();
        let t = Timestamp::from_millis(1_760_000_000_000);
        let mut random = IdRandom::for_ids(1001);
        let mut ids: Vec<String> = (0..1000)
            .map(|_| generator.next(t, &mut random).unwrap())
            .collect();
        ids.push(generator.next(t.plus_millis(1), &mut random).unwrap());
        // The clock going back does not break the order either.
        ids.push(generator.next(t, &mut IdRandom::for_ids(1)).unwrap());
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        assert!(ids
            .iter()
            .all(|id| id.len() == 30 && id.starts_with("enr_")));
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
    }

    #[test]
    fn ids_are_uuid_v7_with_the_clock_s_millisecond() {
        let generator = IdGenerator::default();
        let t = Timestamp::from_millis(1_760_000_123_456);
        let value = decode(&generator.next(t, &mut IdRandom::for_ids(1)).unwrap());
        let uuid = uuid::Uuid::from_u128(value);
        assert_eq!(uuid.get_version_num(), 7);
        assert_eq!(uuid.get_variant(), uuid::Variant::RFC4122);
        let (secs, nanos) = uuid.get_timestamp().unwrap().to_unix();
        assert_eq!(
            secs * 1000 + u64::from(nanos / 1_000_000),
            1_760_000_123_456
        );
    }

    #[test]
    fn a_millisecond_that_runs_out_of_random_bits_borrows_the_next() {
        let generator = IdGenerator::default();
        let t = Timestamp::from_millis(1_760_000_000_000);
        let mut random = IdRandom::for_ids(3);
        let first = generator.next(t, &mut random).unwrap();
        generator.last.lock().unwrap().random = (1 << RANDOM_BITS) - 1;
        let second = generator.next(t, &mut random).unwrap();
        assert!(second > first);
        let millis = |id: &str| (decode(id) >> 80) as i64;
        assert_eq!(millis(&second), t.millis() + 1);
        let third = generator.next(t, &mut random).unwrap();
        assert!(third > second);
    }

    #[test]
    fn a_read_serves_up_to_256_ids_then_reads_again() {
        let mut random = IdRandom::for_ids(10_000);
        let values: Vec<u128> = (0..300).map(|_| random.take().unwrap()).collect();
        assert_eq!(random.bytes.len(), MAX_IDS_PER_READ * BYTES_PER_ID);
        assert_eq!(random.used, (300 - MAX_IDS_PER_READ) * BYTES_PER_ID);
        assert!(values.iter().all(|v| *v < 1 << 80));
        let unique: std::collections::HashSet<_> = values.iter().collect();
        assert_eq!(unique.len(), values.len());
        let mut one = IdRandom::for_ids(1);
        one.take().unwrap();
        assert_eq!(one.bytes.len(), BYTES_PER_ID);
    }
}
