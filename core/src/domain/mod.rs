//! The domain: what enrollments are and every rule about them, as data and pure functions,
//! with no storage. [`model`] holds the records and the status vocabularies, [`lifecycle`]
//! every decision, [`schedule`] when scheduled steps run, [`validate`] the input bounds, [`time`] timestamps and clocks, and `ids`
//! the time-ordered enrollment ids.

pub(crate) mod ids;
pub(crate) mod invariants;
pub mod lifecycle;
#[macro_use]
pub mod model;
pub mod policy;
pub mod schedule;
pub mod time;
pub mod validate;
