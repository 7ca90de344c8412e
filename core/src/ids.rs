//! Enrollment ids that sort by creation time: `enr_` followed by a UUIDv7 in Crockford base32
//! (26 characters, lexicographic order = time order).

use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::time::Timestamp;

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
/// operating system once for up to [`MAX_IDS_PER_READ`] ids: a `getrandom` system call per id
/// cost about 0.35 µs, some 3 % of a bulk-enrolled row. Never kept beyond the call, so a
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
                Error::Storage(format!(
                    "cannot read random bytes for an enrollment id: {e}"
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
        let mut out = String::with_capacity(30);
        out.push_str("enr_");
        for i in (0..26).rev() {
            let digit = ((value >> (i * 5)) & 31) as usize;
            out.push(CROCKFORD[digit] as char);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(id: &str) -> u128 {
        id[4..].bytes().fold(0u128, |acc, c| {
            (acc << 5) | CROCKFORD.iter().position(|&d| d == c).unwrap() as u128
        })
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
