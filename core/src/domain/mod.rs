//! The domain: what enrollments are and every rule about them, as data and pure functions,
//! with no storage. [`model`] holds the records and the status vocabularies, [`lifecycle`]
//! every decision, [`validate`] the input bounds, [`time`] timestamps and clocks, and `ids`
//! the time-ordered enrollment ids.

pub(crate) mod ids;
pub(crate) mod invariants;
pub mod lifecycle;
pub mod model;
pub mod time;
pub mod validate;
