//! What every command shares: the failure type and its exit code, opening the database, and
//! parsing the arguments more than one command takes (times, program spec files).

use std::path::Path;
use std::process::ExitCode;

use enrollkit::{Error, ErrorCode, ProgramSpec, Store, Timestamp};
use serde_json::Value;

use crate::args::Cli;

/// A failure that ends the command, with its exit code.
pub enum Fail {
    /// Refused by the core crate: exit code 3 or 4, by [`exit_code`].
    Core(Error),
    /// Bad arguments or an unreadable input file: exit code 2, printed as the message.
    Usage(String),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        Fail::Core(e)
    }
}

/// What a command returns: its exit code when it ran (0, or 1 when it found problems), or the
/// failure that stopped it.
pub type Outcome = Result<ExitCode, Fail>;

/// 4 for the database's failures, 3 for the request's (see the crate's table). Exhaustive: a
/// new core code does not compile until it has its exit code.
pub fn exit_code(e: &Error) -> u8 {
    match e.code() {
        ErrorCode::Busy | ErrorCode::Storage | ErrorCode::Corrupt | ErrorCode::SchemaTooNew => 4,
        ErrorCode::NotFound
        | ErrorCode::AlreadyEnrolled
        | ErrorCode::InvalidTransition
        | ErrorCode::PermissionDenied
        | ErrorCode::Validation
        | ErrorCode::Conflict
        | ErrorCode::ProgramNotActive
        | ErrorCode::AttemptLimitReached
        | ErrorCode::EnrollmentClosed
        | ErrorCode::PrerequisitesNotMet
        | ErrorCode::ProgramFull => 3,
    }
}

/// Opens `--db` (read-only with `--read-only`). With `must_exist` a missing file is a storage
/// failure instead of a new empty database, so a mistyped path is not silently created.
pub fn open(cli: &Cli, must_exist: bool) -> Result<Store, Fail> {
    open_at(cli, &cli.db, cli.read_only, must_exist)
}

/// [`open`] for the database `db` (a file or a PostgreSQL location). A new file is its owner's
/// only unless `--umask-mode`.
pub fn open_at(cli: &Cli, db: &Path, read_only: bool, must_exist: bool) -> Result<Store, Fail> {
    let postgres = db.to_str().is_some_and(enrollkit::is_postgres_location);
    if must_exist && !postgres && !db.exists() {
        return Err(Fail::Core(Error::Storage(
            format!("{} does not exist", db.display()).into(),
        )));
    }
    Ok(enrollkit::OpenOptions::new()
        .create(!must_exist)
        .read_only(read_only)
        .owner_only(!cli.umask_mode)
        .open(db)?)
}

/// Whether `--db` names a PostgreSQL database rather than a file.
pub fn is_postgres(cli: &Cli) -> bool {
    cli.db.to_str().is_some_and(enrollkit::is_postgres_location)
}

/// An optional RFC 3339 argument; a malformed one is the core's validation failure.
pub fn time(text: &Option<String>) -> Result<Option<Timestamp>, Fail> {
    Ok(text.as_deref().map(Timestamp::parse).transpose()?)
}

/// A program spec from a `.yaml`/`.yml` file (YAML) or any other file (JSON). An unreadable
/// file is a usage error; malformed content is the core's validation failure.
pub fn read_spec(file: &Path) -> Result<ProgramSpec, Fail> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Fail::Usage(format!("cannot read {}: {e}", file.display())))?;
    let yaml = matches!(
        file.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    );
    if yaml {
        let value: Value = serde_yaml_ng::from_str(&text).map_err(|e| {
            Fail::Core(Error::Validation {
                field: "program",
                message: format!("malformed YAML: {e}"),
            })
        })?;
        Ok(ProgramSpec::from_json(&value.to_string())?)
    } else {
        Ok(ProgramSpec::from_json(&text)?)
    }
}
