//! The one error type of enrollkit.
//!
//! Every fallible operation returns [`Result<T>`]. Each [`Error`] variant carries a stable,
//! machine-readable [`code`](Error::code) (`not_found`, `already_enrolled`, ...) that the C ABI
//! maps to a result code and the Python module maps to an exception class. The `Display` text is
//! for people and may change between releases; the code does not.

/// The stable code of an [`Error`], declared once here: its text (`not_found`, ...), which
/// the Python exception classes and the CLI use, and its number, which the C ABI's
/// `enrollkit_result` carries. Bindings map it with exhaustive matches, so a new code does not
/// compile until every surface has its mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorCode {
    /// `not_found` (7200).
    NotFound,
    /// `already_enrolled` (7201).
    AlreadyEnrolled,
    /// `invalid_transition` (7202).
    InvalidTransition,
    /// `permission_denied` (7203).
    PermissionDenied,
    /// `validation` (7204).
    Validation,
    /// `conflict` (7205).
    Conflict,
    /// `program_not_active` (7206).
    ProgramNotActive,
    /// `attempt_limit_reached` (7207).
    AttemptLimitReached,
    /// `busy` (7208).
    Busy,
    /// `schema_too_new` (7209).
    SchemaTooNew,
    /// `corrupt` (7210).
    Corrupt,
    /// `storage` (7211).
    Storage,
    /// `enrollment_closed` (7212).
    EnrollmentClosed,
    /// `prerequisites_not_met` (7213).
    PrerequisitesNotMet,
    /// `program_full` (7214).
    ProgramFull,
}

impl ErrorCode {
    /// Every code, in the order of their numbers.
    pub const ALL: [ErrorCode; 15] = [
        ErrorCode::NotFound,
        ErrorCode::AlreadyEnrolled,
        ErrorCode::InvalidTransition,
        ErrorCode::PermissionDenied,
        ErrorCode::Validation,
        ErrorCode::Conflict,
        ErrorCode::ProgramNotActive,
        ErrorCode::AttemptLimitReached,
        ErrorCode::Busy,
        ErrorCode::SchemaTooNew,
        ErrorCode::Corrupt,
        ErrorCode::Storage,
        ErrorCode::EnrollmentClosed,
        ErrorCode::PrerequisitesNotMet,
        ErrorCode::ProgramFull,
    ];

    /// The stable text of the code.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotFound => "not_found",
            ErrorCode::AlreadyEnrolled => "already_enrolled",
            ErrorCode::InvalidTransition => "invalid_transition",
            ErrorCode::PermissionDenied => "permission_denied",
            ErrorCode::Validation => "validation",
            ErrorCode::Conflict => "conflict",
            ErrorCode::ProgramNotActive => "program_not_active",
            ErrorCode::AttemptLimitReached => "attempt_limit_reached",
            ErrorCode::Busy => "busy",
            ErrorCode::SchemaTooNew => "schema_too_new",
            ErrorCode::Corrupt => "corrupt",
            ErrorCode::Storage => "storage",
            ErrorCode::EnrollmentClosed => "enrollment_closed",
            ErrorCode::PrerequisitesNotMet => "prerequisites_not_met",
            ErrorCode::ProgramFull => "program_full",
        }
    }

    /// The stable number of the code, as the C ABI's `enrollkit_result` has it: 7200 and up,
    /// in the order of [`ErrorCode::ALL`].
    ///
    /// ```
    /// assert_eq!(enrollkit::ErrorCode::Storage.number(), 7211);
    /// ```
    pub const fn number(self) -> i32 {
        7200 + self as i32
    }

    /// The code with this text.
    pub fn parse(text: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Result alias used throughout enrollkit.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in enrollkit.
///
/// When an operation returns an error, the database is unchanged: every write runs in one
/// transaction that is rolled back on error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The user, program or enrollment does not exist (code `not_found`). An unknown step id is
    /// bad input of an existing enrollment: `validation`.
    #[error("{entity} not found: {id}")]
    NotFound {
        /// What was looked up: `user`, `program`, `enrollment`, ...
        entity: &'static str,
        /// The identifier that was not found.
        id: String,
    },

    /// The user already has an open (or, without `allow_reenroll`, a completed) enrollment in the
    /// program (code `already_enrolled`).
    #[error(
        "user {user_id} is already enrolled in {program_id} (enrollment {existing_id}, {status})"
    )]
    AlreadyEnrolled {
        /// The enrollment that blocks the new one.
        existing_id: String,
        /// The user.
        user_id: String,
        /// The program.
        program_id: String,
        /// Status of the existing enrollment, in the program's vocabulary.
        status: String,
    },

    /// The operation would move an enrollment (or a step) along a transition its lifecycle does
    /// not allow (code `invalid_transition`).
    #[error("invalid transition: cannot {action} from {from} to {to}")]
    InvalidTransition {
        /// Current status, in the program's vocabulary.
        from: String,
        /// The status the operation would have produced.
        to: String,
        /// The operation that was refused (`drop`, `progress`, `complete_step`, ...).
        action: &'static str,
    },

    /// The actor may not perform the operation (code `permission_denied`).
    #[error("permission denied: {0}")]
    PermissionDenied(String),

    /// Bad input: an empty or oversized id, an unknown status name, progress or score outside
    /// 0–100, malformed JSON, ... (code `validation`).
    #[error("invalid {field}: {message}")]
    Validation {
        /// The argument or field at fault.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },

    /// The request conflicts with the current state of other records, e.g. an email that another
    /// user already has, or replacing the steps of a program that has enrollments (code
    /// `conflict`).
    #[error("conflict: {0}")]
    Conflict(String),

    /// The program is not active (published), so it accepts no enrollments (code
    /// `program_not_active`).
    #[error("program {program_id} is {state}, not active")]
    ProgramNotActive {
        /// The program.
        program_id: String,
        /// Its current state.
        state: String,
    },

    /// Every allowed assessment attempt has been used (code `attempt_limit_reached`).
    #[error("attempt limit reached: {limit} attempts allowed")]
    AttemptLimitReached {
        /// The program's attempt limit.
        limit: u32,
    },

    /// The database stayed locked by another connection longer than the busy timeout (code
    /// `busy`). Retrying later may succeed.
    #[error("database is busy: {0}")]
    Busy(#[source] Failure),

    /// The database was written by a newer enrollkit and is refused (code `schema_too_new`).
    #[error("database schema version {found} is newer than this enrollkit supports ({supported})")]
    SchemaTooNew {
        /// The version found in `PRAGMA user_version`.
        found: i64,
        /// The latest version this build knows.
        supported: i64,
    },

    /// The file is not an enrollkit database, or it is damaged (code `corrupt`). The file is
    /// never modified or deleted.
    #[error("not a usable enrollkit database: {0}")]
    Corrupt(#[source] Failure),

    /// Any other SQLite or I/O failure: disk full, read-only file, ... (code `storage`).
    #[error("storage error: {0}")]
    Storage(#[source] Failure),

    /// The program's enrollment window is not open: it opens later, or has closed (code
    /// `enrollment_closed`).
    #[error("{}", window_message(program_id, *opens_at, *closed_at))]
    EnrollmentClosed {
        /// The program.
        program_id: String,
        /// When enrolling opens, if it has not yet.
        opens_at: Option<crate::Timestamp>,
        /// When enrolling closed, if it has.
        closed_at: Option<crate::Timestamp>,
    },

    /// The user has not completed every program this one requires (code
    /// `prerequisites_not_met`).
    #[error("enrolling in {program_id} needs {} completed first", missing.join(", "))]
    PrerequisitesNotMet {
        /// The program.
        program_id: String,
        /// The required programs the user has not completed, in the program's order.
        missing: Vec<String>,
    },

    /// Every seat of the program is taken and it has no waitlist (code `program_full`).
    #[error("program {program_id} is full: {capacity} seats, all taken")]
    ProgramFull {
        /// The program.
        program_id: String,
        /// Its capacity.
        capacity: u32,
    },
}

/// [`Error::EnrollmentClosed`]'s message.
fn window_message(
    program_id: &str,
    opens_at: Option<crate::Timestamp>,
    closed_at: Option<crate::Timestamp>,
) -> String {
    match (opens_at, closed_at) {
        (Some(opens), _) => format!("enrollment in {program_id} opens at {opens}"),
        (None, Some(closed)) => format!("enrollment in {program_id} closed at {closed}"),
        (None, None) => format!("enrollment in {program_id} is closed"),
    }
}

/// What failed in a `busy`, `corrupt` or `storage` [`Error`]: a description, and the error it
/// came from (SQLite's, the operating system's, JSON's), which
/// [`source`](std::error::Error::source) returns. The underlying error is kept as it is until
/// the one place that maps it to a public code; its type is not part of the stable API.
///
/// ```
/// use std::error::Error as _;
/// let err = enrollkit::Error::Storage("disk full".into());
/// assert_eq!(err.to_string(), "storage error: disk full");
/// assert!(err.source().is_some_and(|f| f.source().is_none()));
/// ```
#[derive(Debug)]
pub struct Failure {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Failure {
    /// A failure described by `message`, caused by `source`.
    pub fn caused_by(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Failure {
        Failure {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    /// The description.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The underlying error, if it is an `E`.
    pub(crate) fn cause<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.source.as_deref()?.downcast_ref()
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure {
            message,
            source: None,
        }
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Failure {
        Failure::from(message.to_owned())
    }
}

impl Error {
    /// The error of one row of a batch: validation and conflict messages start with
    /// `row N: ` (0-based); other errors are unchanged.
    pub(crate) fn in_row(self, row: usize) -> Error {
        match self {
            Error::Validation { field, message } => Error::Validation {
                field,
                message: format!("row {row}: {message}"),
            },
            Error::Conflict(message) => Error::Conflict(format!("row {row}: {message}")),
            other => other,
        }
    }

    /// Whether this error is the database's rather than a request's (`busy`, `corrupt`,
    /// `storage`): it fails a whole batch instead of one row.
    pub(crate) fn is_storage(&self) -> bool {
        matches!(self, Error::Busy(_) | Error::Corrupt(_) | Error::Storage(_))
    }

    /// This error as one that fails a whole batch: storage errors stay as they are, anything
    /// else becomes `storage` (for a failure after a row was partly written).
    pub(crate) fn into_storage(self) -> Error {
        if self.is_storage() {
            self
        } else {
            Error::Storage(Failure::caused_by(
                format!("failed after a row was written: {self}"),
                self,
            ))
        }
    }

    /// The stable machine-readable code of this error.
    ///
    /// ```
    /// use enrollkit::{Error, ErrorCode};
    /// let err = Error::Validation { field: "user_id", message: "empty".into() };
    /// assert_eq!(err.code(), ErrorCode::Validation);
    /// assert_eq!(err.code(), "validation");
    /// ```
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::NotFound { .. } => ErrorCode::NotFound,
            Error::AlreadyEnrolled { .. } => ErrorCode::AlreadyEnrolled,
            Error::InvalidTransition { .. } => ErrorCode::InvalidTransition,
            Error::PermissionDenied(_) => ErrorCode::PermissionDenied,
            Error::Validation { .. } => ErrorCode::Validation,
            Error::Conflict(_) => ErrorCode::Conflict,
            Error::ProgramNotActive { .. } => ErrorCode::ProgramNotActive,
            Error::AttemptLimitReached { .. } => ErrorCode::AttemptLimitReached,
            Error::Busy(_) => ErrorCode::Busy,
            Error::SchemaTooNew { .. } => ErrorCode::SchemaTooNew,
            Error::Corrupt(_) => ErrorCode::Corrupt,
            Error::Storage(_) => ErrorCode::Storage,
            Error::EnrollmentClosed { .. } => ErrorCode::EnrollmentClosed,
            Error::PrerequisitesNotMet { .. } => ErrorCode::PrerequisitesNotMet,
            Error::ProgramFull { .. } => ErrorCode::ProgramFull,
        }
    }

    /// The error as a JSON object: `code`, `message`, and the variant's fields (`existing_id`,
    /// `from`, `to`, `action`, `field`, `entity`, `id`, ...). Bindings use it to carry the
    /// details across the language boundary.
    ///
    /// ```
    /// let err = enrollkit::Error::InvalidTransition { from: "completed".into(), to: "active".into(), action: "reactivate" };
    /// let d = err.details();
    /// assert_eq!((d["code"].as_str(), d["from"].as_str()), (Some("invalid_transition"), Some("completed")));
    /// ```
    pub fn details(&self) -> serde_json::Value {
        use serde_json::json;
        let mut out = json!({ "code": self.code().as_str(), "message": self.to_string() });
        let extra = match self {
            Error::NotFound { entity, id } => json!({ "entity": entity, "id": id }),
            Error::AlreadyEnrolled {
                existing_id,
                user_id,
                program_id,
                status,
            } => json!({
                "existing_id": existing_id, "user_id": user_id,
                "program_id": program_id, "status": status,
            }),
            Error::InvalidTransition { from, to, action } => {
                json!({ "from": from, "to": to, "action": action })
            }
            Error::Validation { field, .. } => json!({ "field": field }),
            Error::ProgramNotActive { program_id, state } => {
                json!({ "program_id": program_id, "state": state })
            }
            Error::AttemptLimitReached { limit } => json!({ "limit": limit }),
            Error::SchemaTooNew { found, supported } => {
                json!({ "found": found, "supported": supported })
            }
            Error::EnrollmentClosed {
                program_id,
                opens_at,
                closed_at,
            } => json!({ "program_id": program_id, "opens_at": opens_at, "closed_at": closed_at }),
            Error::PrerequisitesNotMet {
                program_id,
                missing,
            } => json!({ "program_id": program_id, "missing": missing }),
            Error::ProgramFull {
                program_id,
                capacity,
            } => json!({ "program_id": program_id, "capacity": capacity }),
            _ => json!({}),
        };
        if let (Some(out), serde_json::Value::Object(extra)) = (out.as_object_mut(), extra) {
            out.extend(extra);
        }
        out
    }

    pub(crate) fn validation(field: &'static str, message: impl Into<String>) -> Error {
        Error::Validation {
            field,
            message: message.into(),
        }
    }

    pub(crate) fn not_found(entity: &'static str, id: impl Into<String>) -> Error {
        Error::NotFound {
            entity,
            id: id.into(),
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Error::Storage(Failure::caused_by(
            format!("stored JSON is unreadable: {err}"),
            err,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    #[test]
    fn codes_have_distinct_texts_and_consecutive_numbers() {
        for (i, code) in ErrorCode::ALL.into_iter().enumerate() {
            assert_eq!(code.number(), 7200 + i as i32);
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
        }
        let texts: std::collections::HashSet<_> =
            ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(texts.len(), ErrorCode::ALL.len());
        assert_eq!(ErrorCode::parse("nope"), None);
    }
}
