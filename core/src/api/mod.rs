//! The public API: [`Store`] and every one of its operations, the request and result types,
//! and the JSON forms the bindings use. Decisions come from [`crate::domain`]; records come and
//! go through the storage boundary ([`crate::storage`]), whatever the backend. Nothing outside
//! this folder has an `impl Store`.

pub(crate) mod anniversaries;
pub(crate) mod check;
pub(crate) mod dump;
pub(crate) mod ops;
pub(crate) mod policies;
pub(crate) mod query;
pub(crate) mod queue;
pub(crate) mod report;
pub(crate) mod roster;
pub(crate) mod store;
pub(crate) mod views;
pub(crate) mod wire;

pub use anniversaries::UserOutcome;
pub use policies::Erasure;
pub use queue::{Claim, MAX_LEASE};
pub use store::Store;
