//! # enrollkit — an embedded enrollment engine
//!
//! One SQLite file holds users, programs (courses, certifications, onboarding tracks),
//! enrollments, per-step progress, assessment attempts and the full history of every change.
//! The lifecycle rules live here, in one crate, so every application sharing the file — Rust,
//! C through `enrollkit-ffi`, Python through `import enrollkit` — obeys the same rules.
//!
//! ```
//! use enrollkit::{Actor, EnrollRequest, Kind, ProgramSpec, ProgramState, Step, StepChange, Store, User};
//!
//! let store = Store::open_in_memory()?;
//! store.upsert_user(&User { id: "usr_jane".into(), email: Some("jane@example.com".into()), ..User::default() })?;
//! store.create_program(&ProgramSpec {
//!     id: "wf_onboarding".into(),
//!     kind: Kind::Track,
//!     title: "Engineering onboarding".into(),
//!     description: None,
//!     state: ProgramState::Active,
//!     self_enrollment: false,
//!     steps: vec![
//!         Step { id: "welcome".into(), step_type: "message".into(), title: "Welcome".into(), learner_completable: false, schedule: None },
//!         Step { id: "survey".into(), step_type: "survey".into(), title: "Survey".into(), learner_completable: true, schedule: None },
//!     ],
//!     assessment: None,
//!     policy: Default::default(),
//! })?;
//! let e = store.enroll(&Actor::System, &EnrollRequest::new("usr_jane", "wf_onboarding"))?;
//! for step in ["welcome", "survey"] {
//!     store.update_step(&Actor::System, &e.id, step, &StepChange::Deliver { destination_type: Some("user".into()) })?;
//! }
//! let jane = Actor::Learner("usr_jane".into());
//! let e = store.update_step(&jane, &e.id, "survey", &StepChange::Complete { result: None })?;
//! assert_eq!(e.status_name(), "completed");
//! assert_eq!(store.history(&Actor::Admin, &e.id)?.len(), 4);
//! # Ok::<(), enrollkit::Error>(())
//! ```
//!
//! ## Where every rule lives
//!
//! Three layers and a boundary, and dependencies run one way: the API uses the domain and
//! reaches storage only through the storage boundary's traits; a backend implements them and
//! uses the domain; the domain uses neither. The C ABI, the Python module and the CLI use
//! this crate's public API only.
//!
//! | layer | module | owns |
//! |---|---|---|
//! | domain (`src/domain/`) | [`model`] | the data: [`User`], [`ProgramSpec`]/[`Program`], [`Enrollment`] (its fields declared once, in `enrollment_fields!`), [`StepProgress`], [`Attempt`], [`Event`], [`Actor`], the canonical [`Status`] and its per-kind vocabularies |
//! | | [`lifecycle`] | every rule: who may do what, which transitions are legal, automatic completion, counters, attempt limits — pure functions, no storage |
//! | | `invariants` | what every stored enrollment keeps, checked by import and by [`Store::check_invariants`] |
//! | | [`validate`], [`time`], `ids` | input bounds; timestamps and clocks; time-ordered enrollment ids |
//! | storage boundary (`src/storage.rs`) | `storage` | what the engine asks of a backend, in the domain's terms: traits `Backend` (transactions), `Read` and `Write` (find, list, count, insert, update, append events, batch and load), an opaque `EnrollmentKey`, and `Refused`, the typed refusal of a uniqueness or reference rule that the API names (`already_enrolled` with the existing id, `conflict`, `not_found`) |
//! | storage (`src/sqlite/`) | `backend` (the traits), `database`, `db` (a module per table), `listing`, `bulk`, `checkpoint`, `schema/` | SQLite, the only code that names `rusqlite`: opening and migrating the file, transactions, the reader pool and the checkpoint thread, each table's rows, listings' SQL, batching, index deferral and backups. It stores what the domain decided |
//! | API (`src/api/`) | [`Store`] (`store`, `ops`, `query`, `views`, `report`, `dump`, `roster`, `check`, `wire`) | every public operation: one transaction per operation with its history event, listing, each reference's JSON shape, program reports ([`ProgramReport`]), export and import, invariant checks, the JSON request forms |
//! | | [`Error`], [`ErrorCode`] | one error enum; one enum of stable codes (text and C number) |
//!
//! ## Vocabularies
//!
//! One engine with canonical statuses; each program kind names them in its reference's words
//! (see [`Status`]): a course is `active` / `completed` / `dropped`; a certification
//! `enrolled` / `in_progress` / `completed` / `failed`; a track `new` / `active` /
//! `processing` / `active_batch` / `processing_batch` / `delivered` / `completed` / `failed` /
//! `paused` / `canceled`.
//!
//! ## Actors
//!
//! Every enrollment operation takes an [`Actor`]. Admins see and do everything; the system does
//! everything but delete; learners read, list and change only their own enrollments, may
//! self-enroll only in active programs that allow it, may set progress, complete
//! learner-completable steps, submit attempts, drop and reactivate. User and program management
//! is administrative and takes no actor: the host exposes it only to administrators.

pub mod error;

mod api;
mod domain;
mod postgres;
mod sqlite;
mod storage;

pub use api::dump::{ImportError, ImportReport, RecordCounts, EXPORT_FORMAT, EXPORT_VERSION};
pub use api::ops::{BatchMode, EnrollOutcome, MAX_LIMIT};
pub use api::query::{
    EnrollmentPage, ListQuery, Order, Pagination, DEFAULT_PER_PAGE, MAX_PER_PAGE,
};
pub use api::report::{ProgramReport, StepFunnel};
pub use api::store::is_postgres_location;
pub use api::views::View;
pub use api::{Claim, Erasure, Store, UserOutcome, MAX_LEASE};
pub use domain::lifecycle::Command;
pub use domain::model::{
    Actor, Assessment, Attempt, EnrollRequest, Enrollment, Event, FailureReason, Kind, Program,
    ProgramSpec, ProgramState, Status, Step, StepChange, StepProgress, StepStatus, Trigger, User,
    UserRef,
};
pub use domain::policy::{Deadline, Policy};
pub use domain::schedule::{Anchor, DelayUnit, LocalTime, StepSchedule};
pub use domain::time::{Clock, ManualClock, SystemClock, Timestamp, TIMESTAMP_SERDE_NAME};
pub use domain::validate::parse_result;
pub use domain::{lifecycle, model, policy, schedule, time, validate};
pub use error::{Error, ErrorCode, Failure, Result};
pub use sqlite::SCHEMA_VERSION;
pub use storage::{Durability, OpenOptions};

/// Renderers for each reference shape, for callers that already hold the records.
pub mod render {
    pub use crate::api::views::{certification, course, track};
}

/// The README's Rust examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
