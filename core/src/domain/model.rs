//! Domain types: users, programs, steps, enrollments, step progress, attempts, events, actors.
//!
//! These are plain data. The rules that change them live in [`crate::lifecycle`]; the SQL that
//! stores them lives in the SQLite backend.

use serde::{Deserialize, Serialize};

use crate::domain::policy::Policy;
use crate::domain::schedule::StepSchedule;
use crate::domain::time::Timestamp;
use crate::error::{Error, Result};

/// Declares a string-valued enum with `as_str`, `parse` (a `validation` error on unknown names),
/// `ALL`, `Display` and serde as the same names.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $field:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The integer a backend stores for this value: its position in [`Self::ALL`].
            /// Stable: values are only ever added at the end.
            #[allow(dead_code)]
            pub(crate) fn code(self) -> i64 {
                Self::ALL.iter().position(|v| *v == self).unwrap_or(0) as i64
            }

            /// The value stored as `code`, if any.
            #[allow(dead_code)]
            pub(crate) fn from_code(code: i64) -> Option<$name> {
                usize::try_from(code).ok().and_then(|i| Self::ALL.get(i).copied())
            }

            /// Parses a wire name; unknown names are a `validation` error.
            pub fn parse(text: &str) -> Result<$name> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err(Error::validation($field, format!(
                        "unknown value {:?}; expected one of: {}",
                        text,
                        [$($text),+].join(", ")
                    ))),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = Error;
            fn from_str(text: &str) -> Result<$name> {
                $name::parse(text)
            }
        }
    };
}

string_enum! {
    /// What kind of program this is; it picks the lifecycle vocabulary.
    Kind, "kind" {
        /// A course: `active` → `completed`, `active` ↔ `dropped`.
        Course = "course",
        /// A certification: `enrolled` → `in_progress` → `completed` | `failed`.
        Certification = "certification",
        /// An onboarding track: `new`, `active`, `delivered`, `completed`, `paused`, ...
        Track = "track",
    }
}

string_enum! {
    /// Publication state of a program. Only `active` programs accept enrollments; a course is
    /// "published" when it is active.
    ProgramState, "state" {
        /// Being written; accepts no enrollments.
        Draft = "draft",
        /// Published; accepts enrollments.
        Active = "active",
        /// Temporarily closed to new enrollments.
        Paused = "paused",
        /// Retired; accepts no enrollments.
        Archived = "archived",
    }
}

string_enum! {
    /// How an enrollment was created (the track reference's list).
    Trigger, "trigger" {
        /// The user joined the organisation.
        UserJoin = "user_join",
        /// An administrator enrolled the user by hand.
        ManualUserTrigger = "manual_user_trigger",
        /// The user enrolled themselves.
        SelfJoin = "self_join",
        /// A schedule enrolled the user.
        Schedule = "schedule",
        /// The user's work anniversary.
        WorkAnniversary = "work_anniversary",
        /// Another program (workflow) enrolled the user.
        AddedByAnotherWorkflow = "added_by_another_workflow",
    }
}

string_enum! {
    /// Why an enrollment failed. The first five are the track reference's list;
    /// `attempts_exhausted` is set when a certification's last allowed assessment attempt fails.
    FailureReason, "failure_reason" {
        /// The user could not be found.
        UserNotFound = "user_not_found",
        /// The user was already in the workflow.
        UserAlreadyInWorkflow = "user_already_in_workflow",
        /// The user was removed from the workflow.
        UserRemovedFromWorkflow = "user_removed_from_workflow",
        /// The workflow (program) was not active.
        WorkflowNotActive = "workflow_not_active",
        /// Anything else.
        UnknownError = "unknown_error",
        /// Every allowed assessment attempt was used without passing.
        AttemptsExhausted = "attempts_exhausted",
        /// The program's deadline for the enrollment passed before it was completed
        /// ([`Store::expire_due`](crate::Store::expire_due)).
        DeadlinePassed = "deadline_passed",
    }
}

impl FailureReason {
    /// The default human-readable message for this reason.
    pub fn default_message(self) -> &'static str {
        match self {
            FailureReason::UserNotFound => "The user could not be found",
            FailureReason::UserAlreadyInWorkflow => "The user is already in this workflow",
            FailureReason::UserRemovedFromWorkflow => "The user was removed from this workflow",
            FailureReason::WorkflowNotActive => "The workflow is not active",
            FailureReason::UnknownError => "An unknown error occurred",
            FailureReason::AttemptsExhausted => "Every allowed assessment attempt was used",
            FailureReason::DeadlinePassed => "The deadline passed before it was completed",
        }
    }
}

string_enum! {
    /// Status of one step for one enrollment.
    StepStatus, "step_status" {
        /// Not delivered yet (also the status of a step with no progress row).
        Pending = "pending",
        /// Delivered to the learner (sent, shown, unlocked).
        Delivered = "delivered",
        /// Completed (by the learner, or by the system for steps the learner cannot complete).
        Completed = "completed",
        /// Delivery or execution failed; the step may be retried.
        Failed = "failed",
        /// Skipped; counts as done for delivery and completion.
        Skipped = "skipped",
    }
}

/// Canonical enrollment status. Each [`Kind`] uses a subset and names it in its own vocabulary
/// (see [`Status::name`]).
///
/// | canonical | course | certification | track |
/// |---|---|---|---|
/// | `New` | – | `enrolled` | `new` |
/// | `Active` | `active` | `in_progress` | `active` |
/// | `Processing` | – | – | `processing` |
/// | `ActiveBatch` | – | – | `active_batch` |
/// | `ProcessingBatch` | – | – | `processing_batch` |
/// | `Delivered` | – | – | `delivered` |
/// | `Paused` | – | – | `paused` |
/// | `Completed` | `completed` | `completed` | `completed` |
/// | `Failed` | – | `failed` | `failed` |
/// | `Dropped` | `dropped` | – | – |
/// | `Canceled` | – | – | `canceled` |
/// | `Waitlisted` | `waitlisted` | `waitlisted` | `waitlisted` |
/// | `Expired` | `expired` | – | – |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// Created, not started (certification `enrolled`, track `new`, also a scheduled start).
    New,
    /// Started and running (course/track `active`, certification `in_progress`).
    Active,
    /// Track: a worker of the host is executing the enrollment's next step.
    Processing,
    /// Track: active, and part of a batch that the host dispatches together.
    ActiveBatch,
    /// Track: a worker of the host is executing a batch's next step.
    ProcessingBatch,
    /// Track: every step has been delivered (or skipped).
    Delivered,
    /// Track: paused; resuming returns to the status it was paused from.
    Paused,
    /// Finished successfully. Nothing leaves `Completed`.
    Completed,
    /// Failed, with a reason. Terminal.
    Failed,
    /// Course: dropped by the learner or an admin; can be reactivated.
    Dropped,
    /// Track: canceled. Terminal.
    Canceled,
    /// Waiting for a seat of a full program with a waitlist (first come, first served); takes
    /// the kind's first status when promoted.
    Waitlisted,
    /// Course: its deadline passed before it was completed. Terminal.
    Expired,
}

impl Status {
    /// Every canonical status.
    pub const ALL: &'static [Status] = &[
        Status::New,
        Status::Active,
        Status::Processing,
        Status::ActiveBatch,
        Status::ProcessingBatch,
        Status::Delivered,
        Status::Paused,
        Status::Completed,
        Status::Failed,
        Status::Dropped,
        Status::Canceled,
        Status::Waitlisted,
        Status::Expired,
    ];

    /// The stable integer stored in the database.
    pub fn code(self) -> i64 {
        match self {
            Status::New => 0,
            Status::Active => 1,
            Status::Processing => 2,
            Status::ActiveBatch => 3,
            Status::ProcessingBatch => 4,
            Status::Delivered => 5,
            Status::Paused => 6,
            Status::Completed => 7,
            Status::Failed => 8,
            Status::Dropped => 9,
            Status::Canceled => 10,
            Status::Waitlisted => 11,
            Status::Expired => 12,
        }
    }

    /// The status stored as `code`, if any.
    pub fn from_code(code: i64) -> Option<Status> {
        Status::ALL.iter().copied().find(|s| s.code() == code)
    }

    /// The name of this status in `kind`'s vocabulary, or `None` when `kind` does not use it.
    ///
    /// ```
    /// use enrollkit::{Kind, Status};
    /// assert_eq!(Status::Active.name(Kind::Certification), Some("in_progress"));
    /// assert_eq!(Status::Dropped.name(Kind::Track), None);
    /// ```
    pub fn name(self, kind: Kind) -> Option<&'static str> {
        use Kind::*;
        use Status::*;
        Some(match (kind, self) {
            (_, Waitlisted) => "waitlisted",
            (Course, Expired) => "expired",
            (Course, Active) => "active",
            (Course, Completed) => "completed",
            (Course, Dropped) => "dropped",
            (Course, _) => return None,
            (Certification, New) => "enrolled",
            (Certification, Active) => "in_progress",
            (Certification, Completed) => "completed",
            (Certification, Failed) => "failed",
            (Certification, _) => return None,
            (Track, New) => "new",
            (Track, Active) => "active",
            (Track, Processing) => "processing",
            (Track, ActiveBatch) => "active_batch",
            (Track, ProcessingBatch) => "processing_batch",
            (Track, Delivered) => "delivered",
            (Track, Paused) => "paused",
            (Track, Completed) => "completed",
            (Track, Failed) => "failed",
            (Track, Canceled) => "canceled",
            (Track, Dropped | Expired) => return None,
        })
    }

    /// The name in `kind`'s vocabulary, falling back to the canonical name for a status the
    /// vocabulary lacks (which the engine never stores).
    pub fn label(self, kind: Kind) -> &'static str {
        self.name(kind).unwrap_or_else(|| self.canonical_name())
    }

    /// The canonical (vocabulary-independent) name, e.g. for logs.
    pub fn canonical_name(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Active => "active",
            Status::Processing => "processing",
            Status::ActiveBatch => "active_batch",
            Status::ProcessingBatch => "processing_batch",
            Status::Delivered => "delivered",
            Status::Paused => "paused",
            Status::Completed => "completed",
            Status::Failed => "failed",
            Status::Dropped => "dropped",
            Status::Canceled => "canceled",
            Status::Waitlisted => "waitlisted",
            Status::Expired => "expired",
        }
    }

    /// Parses `name` in `kind`'s vocabulary; a name the vocabulary lacks is a `validation` error.
    pub fn parse(kind: Kind, name: &str) -> Result<Status> {
        Status::ALL
            .iter()
            .copied()
            .find(|s| s.name(kind) == Some(name))
            .ok_or_else(|| {
                let names: Vec<_> = Status::ALL.iter().filter_map(|s| s.name(kind)).collect();
                Error::validation(
                    "status",
                    format!(
                        "{name:?} is not a {kind} status; expected one of: {}",
                        names.join(", ")
                    ),
                )
            })
    }

    /// Every `(kind, status)` pair whose vocabulary name is `name` (used to filter lists across
    /// kinds). Empty when no vocabulary has the name.
    pub fn matching(name: &str) -> Vec<(Kind, Status)> {
        let mut out = Vec::new();
        for &kind in Kind::ALL {
            for &status in Status::ALL {
                if status.name(kind) == Some(name) {
                    out.push((kind, status));
                }
            }
        }
        out
    }

    /// An enrollment in this status is *open*: at most one open enrollment may exist per user
    /// and program (a partial unique index enforces it). Completed, failed, canceled and
    /// expired enrollments are closed; a dropped course enrollment stays open because it can be
    /// reactivated, and a waitlisted one because it waits for its seat.
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            Status::Completed | Status::Failed | Status::Canceled | Status::Expired
        )
    }

    /// Holds a seat of a program with a capacity: open, and neither dropped (left) nor
    /// waitlisted (waiting for one).
    pub fn holds_seat(self) -> bool {
        self.is_open() && !matches!(self, Status::Dropped | Status::Waitlisted)
    }

    /// Running: steps and progress may change in this status.
    pub fn is_running(self) -> bool {
        matches!(
            self,
            Status::Active | Status::Processing | Status::ActiveBatch | Status::ProcessingBatch
        )
    }
}

/// Who performs an operation. The host application authenticates; enrollkit enforces.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Actor {
    /// An administrator: sees and may do everything.
    Admin,
    /// A learner: sees and changes only their own enrollments.
    Learner(String),
    /// The host's automation (schedulers, workflow engines): everything except deleting.
    System,
}

impl Actor {
    /// The text recorded in history events: `admin`, `system` or `learner:<user id>`.
    pub fn label(&self) -> String {
        self.label_text().into_owned()
    }

    /// [`Actor::label`], borrowed where it is a constant (for each event written).
    pub(crate) fn label_text(&self) -> std::borrow::Cow<'static, str> {
        match self {
            Actor::Admin => "admin".into(),
            Actor::System => "system".into(),
            Actor::Learner(id) => format!("learner:{id}").into(),
        }
    }

    /// Parses [`Actor::label`]'s format.
    pub fn parse(text: &str) -> Result<Actor> {
        match text {
            "admin" => Ok(Actor::Admin),
            "system" => Ok(Actor::System),
            _ => match text.strip_prefix("learner:") {
                Some(id) => {
                    crate::domain::validate::id("actor", id)?;
                    Ok(Actor::Learner(id.to_owned()))
                }
                None => Err(Error::validation(
                    "actor",
                    format!("{text:?}: expected admin, system or learner:<user id>"),
                )),
            },
        }
    }
}

/// Declares a record's struct from its field table, which calls `$callback!` with the struct's
/// attributes, its name and every field in order, as
///
/// ```text
/// /// docs
/// #[serde(...)]                      // any attributes of the field
/// name: Type => "column";            // stored as SQLite stores Type (text, integer, real,
///                                    // a bool as 0 or 1, None as NULL)
/// name: Type => "column" as millis;  // a time (or None) as epoch milliseconds
/// name: Type => "column" as code;    // a step status as its integer code
/// name: Type => "column" as json;    // JSON text (an absent Option as NULL)
/// ```
///
/// The tables are [`user_fields`], [`step_progress_fields`], [`attempt_fields`] and
/// [`event_fields`]. The struct gets the attributes and fields exactly as the table gives them,
/// so its derived canonical JSON (field order, names, serde attributes) is the table's; the
/// SQLite backend (`sqlite::db`) generates each record's column list, bound values and row
/// reader from the same table (`stored_record!`). [`Enrollment`] has a table of its own
/// ([`enrollment_fields`]), whose JSON and storage depend on its program's kind.
macro_rules! declare_record {
    ($(#[$meta:meta])* $record:ident {
        $($(#[$fmeta:meta])* $name:ident : $ty:ty => $column:literal $(as $how:ident)?;)*
    }) => {
        $(#[$meta])*
        pub struct $record {
            $($(#[$fmeta])* pub $name: $ty,)*
        }
    };
}

/// The one declaration of [`User`]'s fields and of the `users` columns that store them (see
/// [`declare_record`] for the form). The table has two more columns, `created_at` and
/// `updated_at`, which are the row's and not the record's (`UserTimes` in `sqlite::db`).
/// `id` comes first: it is the key, which replacing a user keeps.
macro_rules! user_fields {
    ($callback:ident) => {
        $callback! {
            /// A person who can be enrolled. Callers bring their own ids.
            #[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
            #[serde(deny_unknown_fields)]
            User {
                /// The caller's id for the user.
                id: String => "id";
                /// Email address; unique (case-insensitive) among users when present.
                email: Option<String> => "email";
                /// Display name.
                display_name: Option<String> => "display_name";
                /// External chat id (the track reference's `slack_user_id`); unique when present.
                external_id: Option<String> => "external_id";
                /// Department or group.
                department: Option<String> => "department";
                /// Work location.
                location: Option<String> => "location";
                /// The manager's user id (resolved to name and email when rendering).
                manager_id: Option<String> => "manager_id";
                /// Groups the user belongs to.
                #[serde(default)]
                groups: Vec<String> => "groups_json" as json;
                /// IANA timezone name, e.g. `America/New_York`; new enrollments inherit it.
                timezone: Option<String> => "timezone";
                /// The day the user was hired, `YYYY-MM-DD`: its anniversaries are work
                /// anniversaries ([`Store::enroll_anniversaries`](crate::Store::enroll_anniversaries)).
                #[serde(default, skip_serializing_if = "Option::is_none")]
                hire_date: Option<String> => "hire_date";
                /// The partnerships the user belongs to (ids): a partner user's certification
                /// enrollments name one of them (`partnership_id`).
                #[serde(default)]
                partnerships: Vec<String> => "partnerships_json" as json;
            }
        }
    };
}
pub(crate) use user_fields;
user_fields!(declare_record);

/// How a caller names the user to enroll: by id, email or external id (the track reference
/// enrolls by any of the three).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserRef {
    /// The user's id.
    Id(String),
    /// The user's email (case-insensitive).
    Email(String),
    /// The user's external chat id.
    ExternalId(String),
}

/// One step of a program.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Step id, unique within the program.
    pub id: String,
    /// Free-form type: `module`, `lesson`, `message`, `survey`, `quiz`, `task`, ...
    pub step_type: String,
    /// Title.
    pub title: String,
    /// Whether the learner can complete it (a survey, a task) or it is only delivered (a message).
    pub learner_completable: bool,
    /// When the step runs (tracks): a delay after the start or the previous step, in the
    /// enrollee's time zone. A program none of whose steps has one leaves `next_step_at` to the
    /// host ([`Store::set_next_step_at`](crate::Store::set_next_step_at)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<StepSchedule>,
}

/// Assessment rules of a program.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assessment {
    /// Minimum score (0–100) that passes.
    pub passing_score: f64,
    /// Maximum number of attempts; `None` for unlimited.
    pub max_attempts: Option<u32>,
}

/// Fields to create a program, or to replace an existing program's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramSpec {
    /// The caller's id for the program.
    pub id: String,
    /// Kind; fixed once created.
    pub kind: Kind,
    /// Title.
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Publication state.
    pub state: ProgramState,
    /// Whether learners may enroll themselves (only while the program is active).
    #[serde(default)]
    pub self_enrollment: bool,
    /// Ordered steps. The order of this list is the steps' `order` (1-based).
    #[serde(default)]
    pub steps: Vec<Step>,
    /// Assessment rules, if the program has an assessment.
    #[serde(default)]
    pub assessment: Option<Assessment>,
    /// Enrollment policies (windows, deadline, capacity, prerequisites); none by default, and
    /// then absent from the JSON.
    #[serde(default, skip_serializing_if = "Policy::is_empty")]
    pub policy: Policy,
}

impl ProgramSpec {
    /// An active course without steps or assessment that learners may join themselves: the
    /// simplest program, which examples, tests and benchmarks start from (change fields with
    /// struct update syntax).
    ///
    /// ```
    /// use enrollkit::{Kind, ProgramSpec, ProgramState};
    /// let draft = ProgramSpec { state: ProgramState::Draft, ..ProgramSpec::course("crs_1", "Rust 101") };
    /// assert_eq!((draft.kind, draft.self_enrollment, draft.steps.len()), (Kind::Course, true, 0));
    /// ```
    pub fn course(id: impl Into<String>, title: impl Into<String>) -> ProgramSpec {
        ProgramSpec {
            id: id.into(),
            kind: Kind::Course,
            title: title.into(),
            description: None,
            state: ProgramState::Active,
            self_enrollment: true,
            steps: vec![],
            assessment: None,
            policy: Policy::default(),
        }
    }
}

/// A stored program.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Program {
    /// Settings and steps.
    #[serde(flatten)]
    pub spec: ProgramSpec,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last changed.
    pub updated_at: Timestamp,
}

impl std::ops::Deref for Program {
    type Target = ProgramSpec;
    fn deref(&self) -> &ProgramSpec {
        &self.spec
    }
}

/// What the caller asks for when enrolling a user.
#[derive(Clone, Debug, PartialEq)]
pub struct EnrollRequest {
    /// The user, by id, email or external id.
    pub user: UserRef,
    /// The program.
    pub program_id: String,
    /// Use this enrollment id instead of generating one (imports, migrations). Must be unique.
    pub id: Option<String>,
    /// How the enrollment came about. Defaults to `self_join` for a learner enrolling
    /// themselves, `manual_user_trigger` for an admin and `user_join` for the system.
    pub trigger: Option<Trigger>,
    /// Who enrolled the user by hand.
    pub added_by_user_id: Option<String>,
    /// The program (workflow) that enrolled the user.
    pub added_by_program_id: Option<String>,
    /// Partnership context (certifications).
    pub partnership_id: Option<String>,
    /// Timezone of the enrollment; defaults to the user's.
    pub timezone: Option<String>,
    /// Start later: the enrollment stays `new` until this instant (see
    /// [`Store::start_due`](crate::Store::start_due)). Tracks only.
    pub start_at: Option<Timestamp>,
    /// Allow a new enrollment when the user's latest one in this program is completed.
    pub allow_reenroll: bool,
    /// Track only: create the enrollment as part of a batch (`active_batch`).
    pub batch: bool,
    /// Admin only: enroll although the user has not completed the program's prerequisites;
    /// the reason, which the history keeps (the `enrolled` event's reason).
    pub override_prerequisites: Option<String>,
}

impl EnrollRequest {
    /// A request with every option at its default.
    ///
    /// ```
    /// let req = enrollkit::EnrollRequest::new("usr_1", "crs_1");
    /// assert_eq!(req.user, enrollkit::UserRef::Id("usr_1".into()));
    /// ```
    pub fn new(user_id: impl Into<String>, program_id: impl Into<String>) -> EnrollRequest {
        EnrollRequest::for_user(UserRef::Id(user_id.into()), program_id)
    }

    /// A request naming the user by any [`UserRef`].
    pub fn for_user(user: UserRef, program_id: impl Into<String>) -> EnrollRequest {
        EnrollRequest {
            user,
            program_id: program_id.into(),
            id: None,
            trigger: None,
            added_by_user_id: None,
            added_by_program_id: None,
            partnership_id: None,
            timezone: None,
            start_at: None,
            allow_reenroll: false,
            batch: false,
            override_prerequisites: None,
        }
    }
}

/// The one declaration of [`Enrollment`]'s fields: it calls `$callback!` with every field, in
/// the order of the canonical JSON and of the stored columns, as
///
/// ```text
/// /// docs
/// name: Type => "column";                 // stored, and set by `lifecycle::enroll`
/// name: Type => "column" default VALUE;   // stored; a new enrollment has VALUE
/// name: Type, then derived, ...;          // not stored; the JSON follows it with
///                                         // `derived()` of each named method
/// ```
///
/// The struct, its canonical JSON writer ([`Serialize`]) and reader (`api::dump`), and its
/// SQLite columns, values and row reader (`sqlite::db`) are generated from it. Adding a field
/// means one line here, a migration adding its column, and the Python record
/// (`CONTRIBUTING.md`, "Adding a field"). The types are named where a consumer expands the
/// table, so each consumer imports them all.
macro_rules! enrollment_fields {
    ($callback:ident) => {
        $callback! {
            /// Enrollment id (`enr_` + 26 sortable characters unless the caller supplied one).
            id: String => "id";
            /// The user.
            user_id: String => "user_id";
            /// The program.
            program_id: String => "program_id";
            /// The program's kind (fixed).
            kind: Kind => "kind";
            /// Current status.
            status: Status => "status";
            /// While paused: the status `resume` returns to.
            resume_status: Option<Status> => "resume_status" default None;
            /// How it was created.
            trigger: Trigger => "trigger";
            /// Who enrolled the user by hand.
            added_by_user_id: Option<String> => "added_by_user_id";
            /// Which program (workflow) enrolled the user.
            added_by_program_id: Option<String> => "added_by_program_id";
            /// Partnership context.
            partnership_id: Option<String> => "partnership_id";
            /// Assigned mentor.
            mentor_id: Option<String> => "mentor_id" default None;
            /// When the mentor was assigned.
            mentor_assigned_at: Option<Timestamp> => "mentor_assigned_at" default None;
            /// Timezone the enrollment runs in.
            timezone: Option<String> => "timezone";
            /// When it was created.
            enrolled_at: Timestamp => "enrolled_at";
            /// Scheduled start (tracks).
            start_at: Option<Timestamp> => "start_at";
            /// When it started.
            started_at: Option<Timestamp> => "started_at";
            /// When every step was delivered (tracks).
            delivered_at: Option<Timestamp> => "delivered_at" default None;
            /// When it completed.
            completed_at: Option<Timestamp> => "completed_at" default None;
            /// When it failed.
            failed_at: Option<Timestamp> => "failed_at" default None;
            /// When it was last dropped (courses).
            dropped_at: Option<Timestamp> => "dropped_at" default None;
            /// When it was canceled (tracks).
            canceled_at: Option<Timestamp> => "canceled_at" default None;
            /// Why it failed.
            failure_reason: Option<FailureReason> => "failure_reason" default None;
            /// Human-readable failure message.
            failure_message: Option<String> => "failure_message" default None;
            /// When the next step is scheduled to run: computed from the program's step
            /// schedules (tracks whose steps have them), else set by the host.
            next_step_at: Option<Timestamp> => "next_step_at";
            /// Steps delivered or completed.
            steps_delivered: u32 => "steps_delivered" default 0;
            /// Steps completed.
            steps_completed: u32 => "steps_completed" default 0;
            /// Steps skipped.
            steps_skipped: u32 => "steps_skipped" default 0;
            /// Steps in the program (not stored: the program's).
            steps_total: u32, then delivery_percent, completion_percent;
            /// Progress 0–100: set by the caller for programs without steps, derived from steps
            /// otherwise ((completed + skipped) / total).
            progress_percent: f64 => "progress" default 0.0;
            /// Number of assessment attempts.
            attempts: u32 => "attempts" default 0;
            /// Best assessment score, `None` before the first attempt.
            best_score: Option<f64> => "best_score" default None;
            /// Whether an attempt reached the passing score; `None` before the first attempt or
            /// when the program has no passing score.
            passed: Option<bool> => "passed" default None;
            /// The enrollment this one follows in the user's lineage in the program.
            previous_id: Option<String> => "previous_id";
            /// 1 for the first enrollment of the user in the program, then 2, 3, ...
            attempt_number: u32 => "attempt_number";
            /// Last change.
            updated_at: Timestamp => "updated_at";
            /// While paused: when (tracks). `resume` shifts the next scheduled step by the time
            /// spent paused.
            paused_at: Option<Timestamp> => "paused_at" default None;
            /// The worker that claimed the enrollment's due step
            /// ([`Store::claim_due`](crate::Store::claim_due)), while it holds the claim.
            claimed_by: Option<String> => "claimed_by" default None;
            /// Until when the claim holds: after it, another worker may claim the step.
            lease_until: Option<Timestamp> => "lease_until" default None;
            /// When it must be finished by: from the program's deadline policy at enrollment
            /// ([`Store::expire_due`](crate::Store::expire_due) ends it after that).
            deadline_at: Option<Timestamp> => "deadline_at";
        }
    };
}
pub(crate) use enrollment_fields;

/// Declares [`Enrollment`] from [`enrollment_fields`], with the check that a value is what a
/// new enrollment has in every field that `lifecycle::enroll` leaves at its default.
macro_rules! declare_enrollment {
    ($($(#[$meta:meta])* $name:ident : $ty:ty
        $(=> $column:literal $(default $default:expr)?)?
        $(, then $($derived:ident),+)?;)*) => {
        /// One user's attempt at one program: the union of the three references' fields.
        #[derive(Clone, Debug, PartialEq)]
        pub struct Enrollment {
            $($(#[$meta])* pub $name: $ty,)*
        }

        impl Enrollment {
            /// Whether every field that a new enrollment leaves at its default still has it:
            /// an enrollment no operation has changed since it was made.
            pub(crate) fn is_untouched(&self) -> bool {
                $($($(if self.$name != $default {
                    return false;
                })?)?)*
                true
            }
        }

        /// The canonical JSON form of an enrollment, shared by every surface (the C ABI,
        /// Python, the CLI, exports and the scenario corpus): every field, statuses in the
        /// program's vocabulary, times in RFC 3339, plus the derived `delivery_percent` and
        /// `completion_percent`.
        impl Serialize for Enrollment {
            fn serialize<S: serde::Serializer>(
                &self,
                serializer: S,
            ) -> std::result::Result<S::Ok, S::Error> {
                use serde::ser::SerializeStruct;
                const FIELDS: usize =
                    [$(stringify!($name) $($(, stringify!($derived))+)?),*].len();
                let mut out = serializer.serialize_struct("Enrollment", FIELDS)?;
                $(
                    out.serialize_field(stringify!($name), &Wire::wire(&self.$name, self.kind))?;
                    $($(out.serialize_field(stringify!($derived), &self.$derived())?;)+)?
                )*
                out.end()
            }
        }
    };
}
enrollment_fields!(declare_enrollment);

/// Declares [`NewEnrollment`] from [`enrollment_fields`]: its fields are the entries without a
/// default (sorted out one entry at a time), and it builds the [`Enrollment`] with every other
/// field at its default.
macro_rules! declare_new_enrollment {
    (@split [$($new:tt)*] [$($defaulted:tt)*]) => {
        /// What `lifecycle::enroll` decides about a new enrollment: every field of
        /// [`Enrollment`] without a default. The others start at theirs
        /// ([`NewEnrollment::enrollment`]), so a new field with a default needs no change in the
        /// rules.
        pub(crate) struct NewEnrollment {
            $($new)*
        }

        impl NewEnrollment {
            /// The enrollment, with every field that has a default at it.
            pub(crate) fn enrollment(self) -> Enrollment {
                declare_new_enrollment!(@build self [$($new)*] [$($defaulted)*])
            }
        }
    };
    (@build $from:ident
        [$($(#[$meta:meta])* pub(crate) $name:ident : $ty:ty,)*]
        [$($dname:ident = $default:expr;)*]) => {
        Enrollment {
            $($name: $from.$name,)*
            $($dname: $default,)*
        }
    };
    (@split [$($new:tt)*] [$($defaulted:tt)*]
        $(#[$meta:meta])* $name:ident : $ty:ty => $column:literal default $default:expr;
        $($rest:tt)*) => {
        declare_new_enrollment!(@split [$($new)*] [$($defaulted)* $name = $default;] $($rest)*);
    };
    (@split [$($new:tt)*] [$($defaulted:tt)*]
        $(#[$meta:meta])* $name:ident : $ty:ty $(=> $column:literal)? $(, then $($derived:ident),+)?;
        $($rest:tt)*) => {
        declare_new_enrollment!(
            @split [$($new)* $(#[$meta])* pub(crate) $name: $ty,] [$($defaulted)*] $($rest)*
        );
    };
    ($($entries:tt)*) => {
        declare_new_enrollment!(@split [] [] $($entries)*);
    };
}
enrollment_fields!(declare_new_enrollment);

/// How a field of [`Enrollment`] is written in, and read from, the canonical JSON: most as
/// serde has them; statuses as their names in the program's vocabulary.
pub(crate) trait Wire: Sized {
    /// The written form.
    type Out<'a>: Serialize
    where
        Self: 'a;
    /// The read form, before the program's kind is known.
    type In: serde::de::DeserializeOwned;
    /// The written form in the vocabulary of `kind`.
    fn wire(&self, kind: Kind) -> Self::Out<'_>;
    /// The value of a read form, in the vocabulary of `kind`.
    fn from_wire(read: Self::In, kind: Kind) -> Result<Self>;
}

/// [`Wire`] for types written and read as serde has them.
macro_rules! wire_as_serde {
    ($($ty:ty),*) => {$(
        impl Wire for $ty {
            type Out<'a> = &'a $ty;
            type In = $ty;
            fn wire(&self, _: Kind) -> &$ty {
                self
            }
            fn from_wire(read: $ty, _: Kind) -> Result<$ty> {
                Ok(read)
            }
        }
    )*};
}
wire_as_serde!(
    String,
    Option<String>,
    Kind,
    Trigger,
    Timestamp,
    Option<Timestamp>,
    Option<FailureReason>,
    u32,
    f64,
    Option<f64>,
    Option<bool>
);

impl Wire for Status {
    type Out<'a> = &'static str;
    type In = String;
    fn wire(&self, kind: Kind) -> &'static str {
        self.label(kind)
    }
    fn from_wire(read: String, kind: Kind) -> Result<Status> {
        Status::parse(kind, &read)
    }
}

impl Wire for Option<Status> {
    type Out<'a> = Option<&'static str>;
    type In = Option<String>;
    fn wire(&self, kind: Kind) -> Option<&'static str> {
        self.map(|s| s.label(kind))
    }
    fn from_wire(read: Option<String>, kind: Kind) -> Result<Option<Status>> {
        read.map(|name| Status::parse(kind, &name)).transpose()
    }
}

impl Enrollment {
    /// The status's name in this enrollment's vocabulary.
    pub fn status_name(&self) -> &'static str {
        self.status.label(self.kind)
    }

    /// `steps_delivered / steps_total * 100`, 0 when the program has no steps.
    pub fn delivery_percent(&self) -> f64 {
        percent(self.steps_delivered, self.steps_total)
    }

    /// `steps_completed / steps_total * 100`, 0 when the program has no steps.
    pub fn completion_percent(&self) -> f64 {
        percent(self.steps_completed, self.steps_total)
    }
}

/// `part / total * 100` rounded to two decimals; 0 when `total` is 0.
pub(crate) fn percent(part: u32, total: u32) -> f64 {
    if total == 0 {
        0.0
    } else {
        (f64::from(part) * 10_000.0 / f64::from(total)).round() / 100.0
    }
}

/// The one declaration of [`StepProgress`]'s fields and of the `step_progress` columns that
/// store them (see [`declare_record`] for the form). The table's first column,
/// `enrollment_rid`, is the enrollment's and not the record's.
macro_rules! step_progress_fields {
    ($callback:ident) => {
        $callback! {
            /// Progress of one step for one enrollment.
            #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
            #[serde(deny_unknown_fields)]
            StepProgress {
                /// The step.
                step_id: String => "step_id";
                /// Status.
                status: StepStatus => "status" as code;
                /// When work on the step began.
                started_at: Option<Timestamp> => "started_at" as millis;
                /// When it was delivered.
                delivered_at: Option<Timestamp> => "delivered_at" as millis;
                /// When it was completed.
                completed_at: Option<Timestamp> => "completed_at" as millis;
                /// When it last failed.
                failed_at: Option<Timestamp> => "failed_at" as millis;
                /// When it was skipped.
                skipped_at: Option<Timestamp> => "skipped_at" as millis;
                /// Failure reason code.
                failure_reason: Option<String> => "failure_reason";
                /// Failure message.
                failure_message: Option<String> => "failure_message";
                /// Where it was delivered (`user`, `channel`, `manager`, ...).
                destination_type: Option<String> => "destination_type";
                /// The step's result (e.g. survey answers), a JSON object.
                result: Option<serde_json::Value> => "result_json" as json;
            }
        }
    };
}
pub(crate) use step_progress_fields;
step_progress_fields!(declare_record);

impl StepProgress {
    /// A step nobody has touched.
    pub fn pending(step_id: &str) -> StepProgress {
        StepProgress {
            step_id: step_id.to_owned(),
            status: StepStatus::Pending,
            started_at: None,
            delivered_at: None,
            completed_at: None,
            failed_at: None,
            skipped_at: None,
            failure_reason: None,
            failure_message: None,
            destination_type: None,
            result: None,
        }
    }
}

/// A change to one step of an enrollment.
#[derive(Clone, Debug, PartialEq)]
pub enum StepChange {
    /// Work on the step began (sets `started_at`; status unchanged).
    Start,
    /// The step was delivered, optionally to a destination type (`user`, `channel`, ...).
    Deliver {
        /// Where it was delivered.
        destination_type: Option<String>,
    },
    /// The step was completed, optionally with a result object (e.g. survey answers).
    Complete {
        /// The result, a JSON object.
        result: Option<serde_json::Value>,
    },
    /// The step failed; it may be retried.
    Fail {
        /// Reason code (letters, digits, `_`, `-`, `.`).
        reason: String,
        /// Human-readable message.
        message: Option<String>,
    },
    /// The step was skipped.
    Skip,
}

impl StepChange {
    /// Short name used in history events and errors.
    pub fn action(&self) -> &'static str {
        match self {
            StepChange::Start => "start_step",
            StepChange::Deliver { .. } => "deliver_step",
            StepChange::Complete { .. } => "complete_step",
            StepChange::Fail { .. } => "fail_step",
            StepChange::Skip => "skip_step",
        }
    }
}

/// The one declaration of [`Attempt`]'s fields and of the `attempts` columns that store them
/// (see [`declare_record`] for the form). The table's first column, `enrollment_rid`, is the
/// enrollment's and not the record's.
macro_rules! attempt_fields {
    ($callback:ident) => {
        $callback! {
            /// One scored assessment submission.
            #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
            #[serde(deny_unknown_fields)]
            Attempt {
                /// 1-based attempt number.
                number: u32 => "number";
                /// Score 0–100.
                score: f64 => "score";
                /// Whether it reached the passing score (`None` when the program has none).
                passed: Option<bool> => "passed";
                /// When it was submitted.
                submitted_at: Timestamp => "submitted_at" as millis;
            }
        }
    };
}
pub(crate) use attempt_fields;
attempt_fields!(declare_record);

/// The one declaration of [`Event`]'s fields and of the `events` columns that store them (see
/// [`declare_record`] for the form). `seq` comes first: it is the table's rowid, which SQLite
/// assigns to an event written without one (every event but an imported one).
macro_rules! event_fields {
    ($callback:ident) => {
        $callback! {
            /// One entry of the append-only history, which is also the change feed.
            #[derive(Clone, Debug, PartialEq, Serialize)]
            Event {
                /// Sequence number: strictly increasing across the database, never reused.
                seq: i64 => "seq";
                /// The enrollment.
                enrollment_id: String => "enrollment_id";
                /// Its user.
                user_id: String => "user_id";
                /// Its program.
                program_id: String => "program_id";
                /// What happened: `enrolled`, `progress`, `complete_step`, `attempt`, `drop`,
                /// `deleted`, ...
                action: String => "action";
                /// Status before, in the program's vocabulary (`None` for `enrolled`).
                from_status: Option<String> => "from_status";
                /// Status after, in the program's vocabulary (`None` for `deleted`).
                to_status: Option<String> => "to_status";
                /// Who did it (see [`Actor::label`]).
                actor: String => "actor";
                /// Free-form reason or detail (failure reason, step id, score, ...).
                reason: Option<String> => "reason";
                /// When.
                at: Timestamp => "at" as millis;
            }
        }
    };
}
pub(crate) use event_fields;
event_fields!(declare_record);

/// What a user's earlier enrollments in the program say about a new one (the rules in
/// [`crate::lifecycle::enroll`] read it; storage reads it from the user's enrollments).
#[derive(Clone, Debug, PartialEq)]
pub struct Prior {
    /// Enrollment id.
    pub id: String,
    /// Its status.
    pub status: Status,
    /// Its lineage attempt number.
    pub attempt_number: u32,
}
