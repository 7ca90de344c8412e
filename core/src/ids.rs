//! Enrollment ids that sort by creation time: `enr_` followed by a UUIDv7 in Crockford base32
//! (26 characters, lexicographic order = time order).

use std::sync::Mutex;

use crate::time::Timestamp;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Generates ids from the store's clock; ids made within one millisecond by one store still sort
/// in creation order (UUIDv7's counter).
#[derive(Debug, Default)]
pub(crate) struct IdGenerator {
    context: Mutex<Option<uuid::ContextV7>>,
}

impl IdGenerator {
    pub(crate) fn next(&self, now: Timestamp) -> String {
        let mut guard = self
            .context
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let context = guard.get_or_insert_with(uuid::ContextV7::new);
        let millis = now.millis().max(0) as u64;
        let ts = uuid::Timestamp::from_unix(
            &*context,
            millis / 1000,
            (millis % 1000) as u32 * 1_000_000,
        );
        let value = uuid::Uuid::new_v7(ts).as_u128();
        let mut out = String::with_capacity(30);
        out.push_str("enr_");
        for i in (0..26).rev() {
            let digit = ((value >> (i * 5)) & 31) as usize;
            out.push(CROCKFORD[digit] as char);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time_and_within_a_millisecond() {
        let generator = IdGenerator::default();
        let t = Timestamp::from_millis(1_760_000_000_000);
        let mut ids: Vec<String> = (0..1000).map(|_| generator.next(t)).collect();
        ids.push(generator.next(t.plus_millis(1)));
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        assert!(ids
            .iter()
            .all(|id| id.len() == 30 && id.starts_with("enr_")));
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
    }
}
