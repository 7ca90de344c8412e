//! The C ABI of enrollkit: `libenrollkit.so` / `libenrollkit.a` with `include/enrollkit.h`.
//!
//! This crate only translates: C strings to Rust strings, JSON documents to core types, core
//! errors to [`enrollkit_result`] codes. Every rule lives in the `enrollkit` crate.
//!
//! Safety model (rustls-ffi and libgit2 conventions):
//! * every pointer argument is checked for NULL and every string for UTF-8 before use;
//! * every body runs inside `ffi_panic_boundary!`, which turns a panic into the return
//!   type's default: `ENROLLKIT_RESULT_PANIC`, NULL, 0 or false ([`boundary`]);
//! * handles are opaque types that C owns through a `Box` or borrows from another handle
//!   ([`boundary::Castable`]); records lend their strings for as long as they live;
//! * outputs are written only on success; strings handed to C are released with
//!   [`enrollkit_string_free`];
//! * the detail of the last failure is kept per thread ([`enrollkit_last_error_message`]).

#![allow(non_camel_case_types)]

#[macro_use]
pub(crate) mod boundary;
pub mod records;
pub mod typed;

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CStr, CString};
use std::sync::Arc;

use enrollkit::{
    Actor, BatchMode, Command, EnrollRequest, Error, ErrorCode, FailureReason, Kind, ListQuery,
    ManualClock, OpenOptions, ProgramSpec, ProgramState, StepChange, Store, Timestamp, User,
    UserRef, View,
};
use serde::Serialize;
use serde_json::{json, Value};

/// The result of every enrollkit function. Values are stable: a retired value is never reused.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum enrollkit_result {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullParameter = 7100,
    /// A string argument was not valid UTF-8.
    InvalidUtf8 = 7101,
    /// An internal panic was caught; the operation did not complete (and wrote nothing).
    Panic = 7102,
    /// The user, program or enrollment does not exist.
    NotFound = 7200,
    /// The user already has an enrollment that blocks a new one (details carry existing_id).
    AlreadyEnrolled = 7201,
    /// The lifecycle does not allow the transition (details carry from, to, action).
    InvalidTransition = 7202,
    /// The actor may not do this.
    PermissionDenied = 7203,
    /// Bad input (details carry the field).
    Validation = 7204,
    /// Conflicts with other records.
    Conflict = 7205,
    /// The program is not active.
    ProgramNotActive = 7206,
    /// Every allowed assessment attempt was used.
    AttemptLimitReached = 7207,
    /// The database stayed locked longer than the busy timeout.
    Busy = 7208,
    /// The database was written by a newer enrollkit.
    SchemaTooNew = 7209,
    /// The file is not an enrollkit database, or is damaged.
    Corrupt = 7210,
    /// Any other storage failure.
    Storage = 7211,
    /// The program's enrollment window is not open (details carry opens_at or closed_at).
    EnrollmentClosed = 7212,
    /// The user has not completed the program's prerequisites (details carry missing).
    PrerequisitesNotMet = 7213,
    /// Every seat of the program is taken and it has no waitlist (details carry capacity).
    ProgramFull = 7214,
}

impl enrollkit_result {
    const ALL: [enrollkit_result; 19] = [
        enrollkit_result::Ok,
        enrollkit_result::NullParameter,
        enrollkit_result::InvalidUtf8,
        enrollkit_result::Panic,
        enrollkit_result::NotFound,
        enrollkit_result::AlreadyEnrolled,
        enrollkit_result::InvalidTransition,
        enrollkit_result::PermissionDenied,
        enrollkit_result::Validation,
        enrollkit_result::Conflict,
        enrollkit_result::ProgramNotActive,
        enrollkit_result::AttemptLimitReached,
        enrollkit_result::Busy,
        enrollkit_result::SchemaTooNew,
        enrollkit_result::Corrupt,
        enrollkit_result::Storage,
        enrollkit_result::EnrollmentClosed,
        enrollkit_result::PrerequisitesNotMet,
        enrollkit_result::ProgramFull,
    ];

    /// The result for a core error code. Exhaustive: a new core code does not compile until it
    /// has its result here (and the test below checks that the numbers agree with core's).
    fn from_core(code: ErrorCode) -> enrollkit_result {
        use enrollkit_result::*;
        match code {
            ErrorCode::NotFound => NotFound,
            ErrorCode::AlreadyEnrolled => AlreadyEnrolled,
            ErrorCode::InvalidTransition => InvalidTransition,
            ErrorCode::PermissionDenied => PermissionDenied,
            ErrorCode::Validation => Validation,
            ErrorCode::Conflict => Conflict,
            ErrorCode::ProgramNotActive => ProgramNotActive,
            ErrorCode::AttemptLimitReached => AttemptLimitReached,
            ErrorCode::Busy => Busy,
            ErrorCode::SchemaTooNew => SchemaTooNew,
            ErrorCode::Corrupt => Corrupt,
            ErrorCode::Storage => Storage,
            ErrorCode::EnrollmentClosed => EnrollmentClosed,
            ErrorCode::PrerequisitesNotMet => PrerequisitesNotMet,
            ErrorCode::ProgramFull => ProgramFull,
        }
    }

    /// The stable name, e.g. `ENROLLKIT_RESULT_NOT_FOUND`, NUL-terminated.
    fn name(self) -> &'static CStr {
        use enrollkit_result::*;
        match self {
            Ok => c"ENROLLKIT_RESULT_OK",
            NullParameter => c"ENROLLKIT_RESULT_NULL_PARAMETER",
            InvalidUtf8 => c"ENROLLKIT_RESULT_INVALID_UTF8",
            Panic => c"ENROLLKIT_RESULT_PANIC",
            NotFound => c"ENROLLKIT_RESULT_NOT_FOUND",
            AlreadyEnrolled => c"ENROLLKIT_RESULT_ALREADY_ENROLLED",
            InvalidTransition => c"ENROLLKIT_RESULT_INVALID_TRANSITION",
            PermissionDenied => c"ENROLLKIT_RESULT_PERMISSION_DENIED",
            Validation => c"ENROLLKIT_RESULT_VALIDATION",
            Conflict => c"ENROLLKIT_RESULT_CONFLICT",
            ProgramNotActive => c"ENROLLKIT_RESULT_PROGRAM_NOT_ACTIVE",
            AttemptLimitReached => c"ENROLLKIT_RESULT_ATTEMPT_LIMIT_REACHED",
            Busy => c"ENROLLKIT_RESULT_BUSY",
            SchemaTooNew => c"ENROLLKIT_RESULT_SCHEMA_TOO_NEW",
            Corrupt => c"ENROLLKIT_RESULT_CORRUPT",
            Storage => c"ENROLLKIT_RESULT_STORAGE",
            EnrollmentClosed => c"ENROLLKIT_RESULT_ENROLLMENT_CLOSED",
            PrerequisitesNotMet => c"ENROLLKIT_RESULT_PREREQUISITES_NOT_MET",
            ProgramFull => c"ENROLLKIT_RESULT_PROGRAM_FULL",
        }
    }
}

/// Open flag: `synchronous=FULL`, every commit durable when the call returns.
pub const ENROLLKIT_OPEN_DURABILITY_FULL: u32 = 1;
/// Open flag: fail with `ENROLLKIT_RESULT_STORAGE` instead of creating a missing file.
pub const ENROLLKIT_OPEN_NO_CREATE: u32 = 2;
/// Open flag: a manual clock starting at the current time, moved only by
/// `enrollkit_store_set_time` / `enrollkit_store_advance_time` (tests, replays).
pub const ENROLLKIT_OPEN_MANUAL_CLOCK: u32 = 4;
/// Open flag: read only, for a file this process may not write. Every read works; every write
/// fails with `ENROLLKIT_RESULT_STORAGE`; the file is never created nor upgraded. Without it,
/// opening a file that cannot be written fails with `ENROLLKIT_RESULT_STORAGE`. In-memory
/// stores refuse it with `ENROLLKIT_RESULT_VALIDATION`.
pub const ENROLLKIT_OPEN_READ_ONLY: u32 = 8;
/// Open flag: a database file this store creates (a missing file it opens, and the copies
/// enrollkit_backup writes) gets SQLite's mode 0644 less the process's umask, as other files
/// the process creates do. Without it such files are created with mode 0600 (the owner alone
/// may read and write them) whatever the umask; SQLite gives the WAL and shared-memory files
/// the database file's mode. Files that exist keep their mode. In-memory stores and
/// PostgreSQL locations ignore it.
pub const ENROLLKIT_OPEN_UMASK_MODE: u32 = 16;

/// `enrollkit_user_find`: look the user up by id.
pub const ENROLLKIT_USER_BY_ID: u32 = 0;
/// `enrollkit_user_find`: look the user up by email (case-insensitive).
pub const ENROLLKIT_USER_BY_EMAIL: u32 = 1;
/// `enrollkit_user_find`: look the user up by external id.
pub const ENROLLKIT_USER_BY_EXTERNAL_ID: u32 = 2;

/// `enrollkit_transition`: start a `new` enrollment now.
pub const ENROLLKIT_COMMAND_START: u32 = 0;
/// `enrollkit_transition`: drop a course enrollment.
pub const ENROLLKIT_COMMAND_DROP: u32 = 1;
/// `enrollkit_transition`: reactivate a dropped course enrollment.
pub const ENROLLKIT_COMMAND_REACTIVATE: u32 = 2;
/// `enrollkit_transition`: pause a track enrollment.
pub const ENROLLKIT_COMMAND_PAUSE: u32 = 3;
/// `enrollkit_transition`: resume a paused track enrollment.
pub const ENROLLKIT_COMMAND_RESUME: u32 = 4;
/// `enrollkit_transition`: cancel a track enrollment.
pub const ENROLLKIT_COMMAND_CANCEL: u32 = 5;
/// `enrollkit_transition`: a worker claims a track enrollment (`processing`).
pub const ENROLLKIT_COMMAND_BEGIN_PROCESSING: u32 = 6;
/// `enrollkit_transition`: the worker is done (back to `active`).
pub const ENROLLKIT_COMMAND_END_PROCESSING: u32 = 7;

/// The longest lease enrollkit_claim_due or enrollkit_claim_renew gives a claim, in
/// milliseconds: a day. A worker that needs longer renews the claim before its lease ends.
pub const ENROLLKIT_MAX_LEASE_MS: u64 = 24 * 3600 * 1000;

/// `enrollkit_enroll_many`: any failed row rolls the whole batch back.
pub const ENROLLKIT_BATCH_ALL_OR_NOTHING: u32 = 0;
/// `enrollkit_enroll_many`: failed rows are skipped, the rest is written.
pub const ENROLLKIT_BATCH_BEST_EFFORT: u32 = 1;

/// `enrollkit_render`: the track reference's `track_enrollee`.
pub const ENROLLKIT_VIEW_TRACK: u32 = 0;
/// `enrollkit_render`: the certification reference's enrollment.
pub const ENROLLKIT_VIEW_CERTIFICATION: u32 = 1;
/// `enrollkit_render`: the course reference's enrollment.
pub const ENROLLKIT_VIEW_COURSE: u32 = 2;

/// An open enrollment database. Create with `enrollkit_store_open` or
/// `enrollkit_store_open_in_memory`, release with `enrollkit_store_free`. Safe to share between
/// threads: every function may be called on one handle from several threads at once.
pub struct enrollkit_store {
    store: Store,
    clock: Option<Arc<ManualClock>>,
}

// ---------------------------------------------------------------------------------------------
// Errors, the panic boundary and argument helpers

/// Why a call failed before or inside the core.
enum Failure {
    Core(Error),
    Null(&'static str),
    Utf8(&'static str),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Core(e)
    }
}

type Outcome = Result<(), Failure>;

struct LastError {
    message: CString,
    details: CString,
}

thread_local! {
    static LAST_ERROR: RefCell<Option<LastError>> = const { RefCell::new(None) };
}

fn c_string(text: String) -> CString {
    CString::new(text).unwrap_or_else(|e| {
        let mut bytes = e.into_vec();
        bytes.retain(|b| *b != 0);
        CString::new(bytes).unwrap_or_default()
    })
}

fn remember(message: String, details: Value) {
    let last = LastError {
        message: c_string(message),
        details: c_string(details.to_string()),
    };
    LAST_ERROR.with(|l| *l.borrow_mut() = Some(last));
}

/// The result of an exported function's body: clears the thread's last error first, and turns
/// a failure into its result code and last-error detail. The body runs inside
/// `ffi_panic_boundary!`, which turns a panic into `ENROLLKIT_RESULT_PANIC`
/// ([`boundary::PanicOrDefault`]).
fn result_of(body: impl FnOnce() -> Outcome) -> enrollkit_result {
    LAST_ERROR.with(|l| *l.borrow_mut() = None);
    match body() {
        Ok(()) => enrollkit_result::Ok,
        Err(failure) => fail(failure),
    }
}

/// Remembers `failure` as this thread's last error and returns its result code.
pub(crate) fn fail(failure: Failure) -> enrollkit_result {
    match failure {
        Failure::Core(e) => {
            remember(e.to_string(), e.details());
            enrollkit_result::from_core(e.code())
        }
        Failure::Null(name) => {
            let message = format!("{name} must not be NULL");
            remember(
                message.clone(),
                json!({"code": "null_parameter", "message": message, "field": name}),
            );
            enrollkit_result::NullParameter
        }
        Failure::Utf8(name) => {
            let message = format!("{name} is not valid UTF-8");
            remember(
                message.clone(),
                json!({"code": "invalid_utf8", "message": message, "field": name}),
            );
            enrollkit_result::InvalidUtf8
        }
    }
}

/// Remembers a caught panic as this thread's last error.
pub(crate) fn remember_panic(payload: Box<dyn std::any::Any + Send>) {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    let message = format!("internal panic: {what}");
    remember(
        message.clone(),
        json!({"code": "panic", "message": message}),
    );
}

/// A required string argument.
fn text<'a>(p: *const c_char, name: &'static str) -> Result<&'a str, Failure> {
    if p.is_null() {
        return Err(Failure::Null(name));
    }
    // SAFETY: the caller promises a NUL-terminated string that lives for the call.
    let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
    std::str::from_utf8(bytes).map_err(|_| Failure::Utf8(name))
}

/// An optional string argument (NULL is `None`).
fn opt_text<'a>(p: *const c_char, name: &'static str) -> Result<Option<&'a str>, Failure> {
    if p.is_null() {
        Ok(None)
    } else {
        text(p, name).map(Some)
    }
}

/// The store behind a handle.
fn store<'a>(p: *const enrollkit_store) -> Result<&'a enrollkit_store, Failure> {
    // SAFETY: the caller passes a handle from enrollkit_store_open* that has not been freed.
    unsafe { p.as_ref() }.ok_or(Failure::Null("store"))
}

fn actor(p: *const c_char) -> Result<Actor, Failure> {
    Ok(Actor::parse(text(p, "actor")?)?)
}

/// Checks that a required output pointer is not NULL (before any work is done).
fn need<T>(out: *mut T, name: &'static str) -> Outcome {
    if out.is_null() {
        Err(Failure::Null(name))
    } else {
        Ok(())
    }
}

/// Writes `value` to `*out` (if `out` is not NULL).
fn put<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: checked non-NULL; the caller passes a valid, writable pointer.
        unsafe { out.write(value) };
    }
}

/// Writes `value` as a JSON string owned by the caller to `*out` (if `out` is not NULL).
fn put_json<T: Serialize>(out: *mut *mut c_char, value: &T) -> Outcome {
    if !out.is_null() {
        let text = serde_json::to_string(value).map_err(Error::from)?;
        put(out, c_string(text).into_raw());
    }
    Ok(())
}

/// Writes `value` as a string owned by the caller (or NULL for `None`) to `*out` (if `out` is
/// not NULL; nothing is allocated then).
fn put_text(out: *mut *mut c_char, value: Option<&str>) {
    if !out.is_null() {
        put(
            out,
            value.map_or(std::ptr::null_mut(), |v| c_string(v.to_owned()).into_raw()),
        );
    }
}

fn validation(field: &'static str, message: String) -> Failure {
    Failure::Core(Error::Validation { field, message })
}

fn batch_mode(mode: u32) -> Result<BatchMode, Failure> {
    match mode {
        ENROLLKIT_BATCH_ALL_OR_NOTHING => Ok(BatchMode::AllOrNothing),
        ENROLLKIT_BATCH_BEST_EFFORT => Ok(BatchMode::BestEffort),
        other => Err(validation(
            "mode",
            format!("{other} is not an ENROLLKIT_BATCH_* value"),
        )),
    }
}

fn timestamp(p: *const c_char, name: &'static str) -> Result<Option<Timestamp>, Failure> {
    Ok(opt_text(p, name)?.map(Timestamp::parse).transpose()?)
}

/// The lifecycle command of an ENROLLKIT_COMMAND_* value.
fn command(command: u32) -> Result<Command, Failure> {
    Ok(match command {
        ENROLLKIT_COMMAND_START => Command::Start,
        ENROLLKIT_COMMAND_DROP => Command::Drop,
        ENROLLKIT_COMMAND_REACTIVATE => Command::Reactivate,
        ENROLLKIT_COMMAND_PAUSE => Command::Pause,
        ENROLLKIT_COMMAND_RESUME => Command::Resume,
        ENROLLKIT_COMMAND_CANCEL => Command::Cancel,
        ENROLLKIT_COMMAND_BEGIN_PROCESSING => Command::BeginProcessing,
        ENROLLKIT_COMMAND_END_PROCESSING => Command::EndProcessing,
        other => {
            return Err(validation(
                "command",
                format!("{other} is not an ENROLLKIT_COMMAND_* value"),
            ))
        }
    })
}

/// The user named `value` the way an ENROLLKIT_USER_BY_* value says.
fn user_ref(by: u32, value: &str) -> Result<UserRef, Failure> {
    let v = value.to_owned();
    Ok(match by {
        ENROLLKIT_USER_BY_ID => UserRef::Id(v),
        ENROLLKIT_USER_BY_EMAIL => UserRef::Email(v),
        ENROLLKIT_USER_BY_EXTERNAL_ID => UserRef::ExternalId(v),
        other => {
            return Err(validation(
                "by",
                format!("{other} is not an ENROLLKIT_USER_BY_* value"),
            ))
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Library

/// The library version, e.g. "0.1.0" (same as ENROLLKIT_VERSION). Static; never free it.
#[no_mangle]
pub extern "C" fn enrollkit_version() -> *const c_char {
    ffi_panic_boundary! { concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast() }
}

/// The stable name of a result code, e.g. "ENROLLKIT_RESULT_NOT_FOUND";
/// "ENROLLKIT_RESULT_UNKNOWN" for a value that is not a result code. Static; never free it.
#[no_mangle]
pub extern "C" fn enrollkit_result_name(result: c_int) -> *const c_char {
    ffi_panic_boundary! {
        enrollkit_result::ALL
            .iter()
            .find(|r| **r as c_int == result)
            .map_or(c"ENROLLKIT_RESULT_UNKNOWN", |r| r.name())
            .as_ptr()
    }
}

/// A human-readable description of this thread's last failure, or "" after a success.
/// Owned by the library: valid until the next enrollkit call on this thread; never free it.
#[no_mangle]
pub extern "C" fn enrollkit_last_error_message() -> *const c_char {
    ffi_panic_boundary! {
        LAST_ERROR.with(|l| {
            l.borrow()
                .as_ref()
                .map_or(c"".as_ptr(), |e| e.message.as_ptr())
        })
    }
}

/// This thread's last failure as a JSON object: "code" (the core code, or "null_parameter",
/// "invalid_utf8", "panic"), "message", and the fields of the error (existing_id, from, to,
/// action, field, entity, ...); "{}" after a success. Owned by the library: valid until the
/// next enrollkit call on this thread; never free it.
#[no_mangle]
pub extern "C" fn enrollkit_last_error_details() -> *const c_char {
    ffi_panic_boundary! {
        LAST_ERROR.with(|l| {
            l.borrow()
                .as_ref()
                .map_or(c"{}".as_ptr(), |e| e.details.as_ptr())
        })
    }
}

/// Releases a string that an enrollkit function returned through an output parameter.
/// Calling with NULL is fine. Must not be called twice with the same value, nor with a string
/// enrollkit did not allocate.
#[no_mangle]
pub extern "C" fn enrollkit_string_free(s: *mut c_char) {
    ffi_panic_boundary! {
        if !s.is_null() {
            // SAFETY: `s` came from CString::into_raw in this library (documented contract).
            drop(unsafe { CString::from_raw(s) });
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Stores

fn open(
    path: Option<&str>,
    flags: u32,
    busy_timeout_ms: Option<u32>,
    out: *mut *mut enrollkit_store,
) -> Outcome {
    need(out, "out")?;
    let known = ENROLLKIT_OPEN_DURABILITY_FULL
        | ENROLLKIT_OPEN_NO_CREATE
        | ENROLLKIT_OPEN_MANUAL_CLOCK
        | ENROLLKIT_OPEN_READ_ONLY
        | ENROLLKIT_OPEN_UMASK_MODE;
    if flags & !known != 0 {
        return Err(validation(
            "flags",
            format!("unknown open flags {:#x}", flags & !known),
        ));
    }
    let mut options = OpenOptions::new()
        .create(flags & ENROLLKIT_OPEN_NO_CREATE == 0)
        .read_only(flags & ENROLLKIT_OPEN_READ_ONLY != 0)
        .owner_only(flags & ENROLLKIT_OPEN_UMASK_MODE == 0);
    if flags & ENROLLKIT_OPEN_DURABILITY_FULL != 0 {
        options = options.durability(enrollkit::Durability::Full);
    }
    if let Some(ms) = busy_timeout_ms {
        options = options.busy_timeout(std::time::Duration::from_millis(ms.into()));
    }
    let clock = (flags & ENROLLKIT_OPEN_MANUAL_CLOCK != 0).then(|| {
        Arc::new(ManualClock::new(enrollkit::Clock::now(
            &enrollkit::SystemClock,
        )))
    });
    if let Some(c) = &clock {
        options = options.clock(c.clone());
    }
    let store = match path {
        Some(p) => options.open(p)?,
        None => options.open_in_memory()?,
    };
    put(
        out,
        Box::into_raw(Box::new(enrollkit_store { store, clock })),
    );
    Ok(())
}

/// Opens (creating or upgrading as needed) the database file at `path` and writes a new handle
/// to `*out`. `flags` is 0 or a combination of the ENROLLKIT_OPEN_* flags. `path` and `out`
/// must not be NULL. Release the handle with enrollkit_store_free. Unless opened read-only,
/// the handle runs one thread of its own that checkpoints the database's write-ahead log.
#[no_mangle]
pub extern "C" fn enrollkit_store_open(
    path: *const c_char,
    flags: u32,
    out: *mut *mut enrollkit_store,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| open(Some(text(path, "path")?), flags, None, out)) }
}

/// Like enrollkit_store_open, with the busy timeout in milliseconds: how long an operation
/// waits for another connection's lock before failing with ENROLLKIT_RESULT_BUSY (default
/// 5000).
#[no_mangle]
pub extern "C" fn enrollkit_store_open_with_timeout(
    path: *const c_char,
    flags: u32,
    busy_timeout_ms: u32,
    out: *mut *mut enrollkit_store,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| open(Some(text(path, "path")?), flags, Some(busy_timeout_ms), out)) }
}

/// Opens a private in-memory database and writes a new handle to `*out` (must not be NULL).
/// Release it with enrollkit_store_free.
#[no_mangle]
pub extern "C" fn enrollkit_store_open_in_memory(
    flags: u32,
    out: *mut *mut enrollkit_store,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| open(None, flags, None, out)) }
}

/// Closes a handle, after stopping its checkpoint thread (a checkpoint it is running ends
/// first). Calling with NULL is fine. Must not be called twice with the same handle, nor
/// while another thread still uses it.
#[no_mangle]
pub extern "C" fn enrollkit_store_free(store: *mut enrollkit_store) {
    ffi_panic_boundary! {
        if !store.is_null() {
            // SAFETY: `store` came from Box::into_raw in enrollkit_store_open* (documented).
            drop(unsafe { Box::from_raw(store) });
        }
    }
}

fn manual_clock(s: &enrollkit_store) -> Result<&ManualClock, Failure> {
    s.clock.as_deref().ok_or_else(|| {
        validation(
            "store",
            "the store was not opened with ENROLLKIT_OPEN_MANUAL_CLOCK".into(),
        )
    })
}

/// Sets the manual clock of a store opened with ENROLLKIT_OPEN_MANUAL_CLOCK to `rfc3339`
/// (e.g. "2026-01-15T10:30:00Z"). Other stores: ENROLLKIT_RESULT_VALIDATION.
#[no_mangle]
pub extern "C" fn enrollkit_store_set_time(
    store: *const enrollkit_store,
    rfc3339: *const c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        let s = self::store(store)?;
        let at = Timestamp::parse(text(rfc3339, "rfc3339")?)?;
        manual_clock(s)?.set(at);
        Ok(())
    }) }
}

/// Moves the manual clock of a store opened with ENROLLKIT_OPEN_MANUAL_CLOCK by `millis`
/// (may be negative). Other stores: ENROLLKIT_RESULT_VALIDATION.
#[no_mangle]
pub extern "C" fn enrollkit_store_advance_time(
    store: *const enrollkit_store,
    millis: i64,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        manual_clock(self::store(store)?)?.advance_millis(millis);
        Ok(())
    }) }
}

/// Writes the store's current time (RFC 3339, e.g. "2026-01-15T10:30:00.000Z") to `*out`
/// (must not be NULL); free it with enrollkit_string_free.
#[no_mangle]
pub extern "C" fn enrollkit_store_now(
    store: *const enrollkit_store,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        need(out, "out")?;
        let now = self::store(store)?.store.now().to_string();
        put_text(out, Some(&now));
        Ok(())
    }) }
}

/// Writes the database's schema version to `*out` (must not be NULL).
#[no_mangle]
pub extern "C" fn enrollkit_store_schema_version(
    store: *const enrollkit_store,
    out: *mut i64,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        need(out, "out")?;
        put(out, self::store(store)?.store.schema_version()?);
        Ok(())
    }) }
}

/// Writes the number of users, programs, enrollments and history events as JSON
/// ({"users", "programs", "enrollments", "events"}) to `*out` (must not be NULL).
#[no_mangle]
pub extern "C" fn enrollkit_stats(
    store: *const enrollkit_store,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        need(out, "out")?;
        put_json(out, &self::store(store)?.store.stats()?)
    }) }
}

/// Checks the whole database (SQLite integrity plus enrollkit's invariants) and writes a JSON
/// array of violations to `*out` (must not be NULL): "[]" when all is well.
#[no_mangle]
pub extern "C" fn enrollkit_check(
    store: *const enrollkit_store,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        need(out, "out")?;
        put_json(out, &self::store(store)?.store.check_invariants()?)
    }) }
}

/// Rewrites the database so that nothing deleted or overwritten is left in it (after
/// enrollkit_erase_user, say). SQLite: checkpoints the write-ahead log, leaving it empty,
/// rebuilds the file (VACUUM: it needs free disk space about the size of the file and holds
/// the store's writes meanwhile) and checkpoints again; ENROLLKIT_RESULT_BUSY when another
/// connection keeps the log from being emptied, ENROLLKIT_RESULT_STORAGE for a store opened
/// with ENROLLKIT_OPEN_READ_ONLY. PostgreSQL: vacuums the tables (the server's WAL and backups
/// keep what its retention says). Changes no record.
#[no_mangle]
pub extern "C" fn enrollkit_compact(store: *const enrollkit_store) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| Ok(self::store(store)?.store.compact()?)) }
}

// ---------------------------------------------------------------------------------------------
// Users and programs

/// Creates or replaces a user from `user_json` ({"id", "email"?, "display_name"?,
/// "external_id"?, "department"?, "location"?, "manager_id"?, "groups"?, "timezone"?,
/// "hire_date"? ("YYYY-MM-DD"), "partnerships"? (ids of the partnerships a partner user
/// belongs to: their certification enrollments name one of them as "partnership_id")}).
/// On success writes the stored user as JSON to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_user_upsert(
    store: *const enrollkit_store,
    user_json: *const c_char,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        let s = self::store(store)?;
        let user = User::from_json(text(user_json, "user_json")?)?;
        put_json(out, &s.store.upsert_user(&user)?)
    }) }
}

/// Creates or replaces every user of the JSON array `users_json` (each as in
/// `enrollkit_user_upsert`) in one transaction, all or nothing: a refused user fails the call
/// (its message names the 0-based row) and writes nothing. Writes the number of users written
/// to `*out_count` unless it is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_users_upsert(
    store: *const enrollkit_store,
    users_json: *const c_char,
    out_count: *mut u64,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        let s = self::store(store)?;
        let users = User::many_from_json(text(users_json, "users_json")?)?;
        put(out_count, s.store.upsert_users(&users)?);
        Ok(())
    }) }
}

/// Writes the user with id `id` as JSON to `*out` (must not be NULL).
#[no_mangle]
pub extern "C" fn enrollkit_user_get(
    store: *const enrollkit_store,
    id: *const c_char,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        need(out, "out")?;
        put_json(out, &self::store(store)?.store.get_user(text(id, "id")?)?)
    }) }
}

/// Looks a user up by ENROLLKIT_USER_BY_ID, _BY_EMAIL (case-insensitive) or _BY_EXTERNAL_ID
/// and writes it as JSON to `*out` (must not be NULL).
#[no_mangle]
pub extern "C" fn enrollkit_user_find(
    store: *const enrollkit_store,
    by: u32,
    value: *const c_char,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        need(out, "out")?;
        let s = self::store(store)?;
        let r = user_ref(by, text(value, "value")?)?;
        put_json(out, &s.store.find_user(&r)?)
    }) }
}

/// Writes a JSON array of at most `limit` (1-1000) users ordered by id, after the id `after`
/// (may be NULL: from the start), to `*out` (must not be NULL).
#[no_mangle]
pub extern "C" fn enrollkit_user_list(
    store: *const enrollkit_store,
    after: *const c_char,
    limit: u32,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        need(out, "out")?;
        let s = self::store(store)?;
        put_json(out, &s.store.list_users(opt_text(after, "after")?, limit)?)
    }) }
}

/// Erases user `user_id` on request (admin only: ENROLLKIT_RESULT_PERMISSION_DENIED for
/// "system" and learners, the user themself included; ENROLLKIT_RESULT_NOT_FOUND for a user
/// that does not exist). Deletes the user with every enrollment of theirs, its step progress and
/// attempts, and scrubs them from the history: their events keep their sequence numbers,
/// actions and statuses but name a tombstone ("erased_" and 26 random characters, which say
/// nothing about them) as user instead, and lose their reasons; other records that name them (a
/// manager, a mentor, who enrolled someone) no longer do, and in other free text (reasons,
/// failure messages, step results) their id, email and name, when at least 4 characters long,
/// become the tombstone. One "user_erased" event (its user and enrollment id: the tombstone)
/// goes into the feed, and each seat the erased enrollments held goes to its program's
/// waitlist. One transaction. Writes {"tombstone", "enrollments" (deleted), "events"
/// (scrubbed)} as JSON to `*out` unless `out` is NULL (free it with enrollkit_string_free).
/// An SQLite database keeps the removed bytes in free pages and its WAL until
/// enrollkit_compact rewrites them away.
#[no_mangle]
pub extern "C" fn enrollkit_erase_user(
    store: *const enrollkit_store,
    actor: *const c_char,
    user_id: *const c_char,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        let s = self::store(store)?;
        let a = self::actor(actor)?;
        put_json(out, &s.store.erase_user(&a, text(user_id, "user_id")?)?)
    }) }
}

/// Creates a program from `spec_json` ({"id", "kind", "title", "description"?, "state",
/// "self_enrollment"?, "steps"?: [{"id", "step_type", "title", "learner_completable",
/// "schedule"?}], "assessment"?: {"passing_score", "max_attempts"?}, "policy"?:
/// {"enroll_opens_at"?, "enroll_closes_at"? (RFC 3339: enrolling outside them is
/// ENROLLKIT_RESULT_ENROLLMENT_CLOSED), "deadline"? ({"at": RFC 3339} or {"after_days": 1 to
/// 36500}: each enrollment's deadline_at, for enrollkit_expire_due), "capacity"?, "waitlist"?,
/// "prerequisites"? (program ids to complete first: ENROLLKIT_RESULT_PREREQUISITES_NOT_MET
/// otherwise)}}; a program without policies has no "policy" in its JSON). Writes the program
/// as JSON to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_program_create(
    store: *const enrollkit_store,
    spec_json: *const c_char,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        let s = self::store(store)?;
        let spec = ProgramSpec::from_json(text(spec_json, "spec_json")?)?;
        put_json(out, &s.store.create_program(&spec)?)
    }) }
}

/// Replaces a program's settings from `spec_json` (same shape as enrollkit_program_create).
/// Writes the program as JSON to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_program_update(
    store: *const enrollkit_store,
    spec_json: *const c_char,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        let s = self::store(store)?;
        let spec = ProgramSpec::from_json(text(spec_json, "spec_json")?)?;
        put_json(out, &s.store.update_program(&spec)?)
    }) }
}

/// Writes the program `id` with its steps as JSON to `*out` (must not be NULL).
#[no_mangle]
pub extern "C" fn enrollkit_program_get(
    store: *const enrollkit_store,
    id: *const c_char,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        need(out, "out")?;
        put_json(
            out,
            &self::store(store)?.store.get_program(text(id, "id")?)?,
        )
    }) }
}

/// Writes a JSON array of at most `limit` (1-1000) programs ordered by id to `*out` (must not
/// be NULL). `kind` ("course", "certification", "track"), `state` ("draft", "active", "paused",
/// "archived") and `after` (a program id) may be NULL.
#[no_mangle]
pub extern "C" fn enrollkit_program_list(
    store: *const enrollkit_store,
    kind: *const c_char,
    state: *const c_char,
    after: *const c_char,
    limit: u32,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        need(out, "out")?;
        let s = self::store(store)?;
        let kind = opt_text(kind, "kind")?.map(Kind::parse).transpose()?;
        let state = opt_text(state, "state")?
            .map(ProgramState::parse)
            .transpose()?;
        put_json(
            out,
            &s.store
                .list_programs(kind, state, opt_text(after, "after")?, limit)?,
        )
    }) }
}

// ---------------------------------------------------------------------------------------------
// Enrolling

/// Enrolls user `user_id` in program `program_id` with default options, and writes the new
/// enrollment's id to `*out_id` unless `out_id` is NULL (free it with enrollkit_string_free).
#[no_mangle]
pub extern "C" fn enrollkit_enroll(
    store: *const enrollkit_store,
    actor: *const c_char,
    user_id: *const c_char,
    program_id: *const c_char,
    out_id: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        let s = self::store(store)?;
        let a = self::actor(actor)?;
        let req = EnrollRequest::new(text(user_id, "user_id")?, text(program_id, "program_id")?);
        let e = s.store.enroll(&a, &req)?;
        put_text(out_id, Some(&e.id));
        Ok(())
    }) }
}

/// Enrolls with every option: `request_json` is {"user_id" | "email" | "external_id",
/// "program_id", "id"?, "trigger"?, "added_by_user_id"?, "added_by_program_id"?,
/// "partnership_id"?, "timezone"?, "start_at"?, "allow_reenroll"?, "batch"?,
/// "override_prerequisites"? (an admin's reason for enrolling without the program's
/// prerequisites, kept in the history; ENROLLKIT_RESULT_PERMISSION_DENIED for other actors)}.
/// Writes the enrollment as JSON to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_enroll_json(
    store: *const enrollkit_store,
    actor: *const c_char,
    request_json: *const c_char,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        let s = self::store(store)?;
        let a = self::actor(actor)?;
        let req = EnrollRequest::from_json(text(request_json, "request_json")?)?;
        put_json(out, &s.store.enroll(&a, &req)?)
    }) }
}

/// Enrolls a batch (`requests_json`: a JSON array of enrollkit_enroll_json requests) in one
/// transaction; `mode` is ENROLLKIT_BATCH_ALL_OR_NOTHING or ENROLLKIT_BATCH_BEST_EFFORT. Writes
/// one outcome per row ({"outcome": "created" | "already_enrolled" | "failed" |
/// "not_applied", ...}) as a JSON array to `*out` unless `out` is NULL. A row refused by the
/// rules is an outcome, not a failed call; a malformed document (or row) fails the whole call
/// with ENROLLKIT_RESULT_VALIDATION and writes nothing. When a refused row rolls an
/// all-or-nothing batch back, the other rows report "not_applied", including a row already
/// enrolled by an earlier row of the batch.
#[no_mangle]
pub extern "C" fn enrollkit_enroll_many(
    store: *const enrollkit_store,
    actor: *const c_char,
    requests_json: *const c_char,
    mode: u32,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        let s = self::store(store)?;
        let a = self::actor(actor)?;
        let rows = EnrollRequest::many_from_json(text(requests_json, "requests_json")?)?;
        let mode = batch_mode(mode)?;
        put_json(out, &s.store.enroll_many(&a, &rows, mode)?)
    }) }
}

// ---------------------------------------------------------------------------------------------
// One enrollment

/// Writes enrollment `id` as JSON to `*out` (must not be NULL).
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_get(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        need(out, "out")?;
        let s = self::store(store)?;
        put_json(
            out,
            &s.store
                .get_enrollment(&self::actor(actor)?, text(id, "id")?)?,
        )
    }) }
}

/// Sets the progress (0-100) of a course or certification without steps. Writes the
/// enrollment as JSON to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_set_progress(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    percent: f64,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        let s = self::store(store)?;
        put_json(
            out,
            &s.store
                .set_progress(&self::actor(actor)?, text(id, "id")?, percent)?,
        )
    }) }
}

/// Adds `delta` (-100 to 100) to the progress of a course or certification without steps,
/// reading and writing in one transaction (concurrent additions are never lost); the result
/// is kept within 0-100 and 100 completes a course. Writes the enrollment as JSON to `*out`
/// unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_add_progress(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    delta: f64,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        let s = self::store(store)?;
        put_json(
            out,
            &s.store
                .add_progress(&self::actor(actor)?, text(id, "id")?, delta)?,
        )
    }) }
}

/// Runs a lifecycle command (ENROLLKIT_COMMAND_*) on enrollment `id`. Writes the enrollment
/// as JSON to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_transition(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    command: u32,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        let s = self::store(store)?;
        let a = self::actor(actor)?;
        let id = text(id, "id")?;
        let cmd = self::command(command)?;
        put_json(out, &s.store.transition(&a, id, &cmd)?)
    }) }
}

/// Fails a track or certification enrollment with `reason` (user_not_found,
/// user_already_in_workflow, user_removed_from_workflow, workflow_not_active, unknown_error,
/// attempts_exhausted, deadline_passed) and `message` (may be NULL: the reason's default
/// message). Writes the enrollment as JSON to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_fail(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    reason: *const c_char,
    message: *const c_char,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        let s = self::store(store)?;
        let a = self::actor(actor)?;
        let id = text(id, "id")?;
        let reason = FailureReason::parse(text(reason, "reason")?)?;
        put_json(
            out,
            &s.store
                .fail(&a, id, reason, opt_text(message, "message")?)?,
        )
    }) }
}

fn step(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    step_id: *const c_char,
    out: *mut *mut c_char,
    change: impl FnOnce() -> Result<StepChange, Failure>,
) -> Outcome {
    let s = self::store(store)?;
    let a = self::actor(actor)?;
    let id = text(id, "id")?;
    let step_id = text(step_id, "step_id")?;
    let change = change()?;
    put_json(out, &s.store.update_step(&a, id, step_id, &change)?)
}

/// Marks work on step `step_id` of enrollment `id` as started. Writes the enrollment as JSON
/// to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_step_start(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    step_id: *const c_char,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| step(store, actor, id, step_id, out, || Ok(StepChange::Start))) }
}

/// Marks step `step_id` delivered, to `destination_type` ("user", "channel", ...; may be
/// NULL). Writes the enrollment as JSON to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_step_deliver(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    step_id: *const c_char,
    destination_type: *const c_char,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        step(store, actor, id, step_id, out, || {
            Ok(StepChange::Deliver {
                destination_type: opt_text(destination_type, "destination_type")?.map(Into::into),
            })
        })
    }) }
}

/// Marks step `step_id` completed, with `result_json` (a JSON object such as survey answers;
/// may be NULL). Writes the enrollment as JSON to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_step_complete(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    step_id: *const c_char,
    result_json: *const c_char,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        step(store, actor, id, step_id, out, || {
            let result = opt_text(result_json, "result_json")?
                .map(enrollkit::parse_result)
                .transpose()?;
            Ok(StepChange::Complete { result })
        })
    }) }
}

/// Marks step `step_id` failed with a reason code and `message` (may be NULL). Writes the
/// enrollment as JSON to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_step_fail(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    step_id: *const c_char,
    reason: *const c_char,
    message: *const c_char,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        step(store, actor, id, step_id, out, || {
            Ok(StepChange::Fail {
                reason: text(reason, "reason")?.to_owned(),
                message: opt_text(message, "message")?.map(Into::into),
            })
        })
    }) }
}

/// Marks step `step_id` skipped. Writes the enrollment as JSON to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_step_skip(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    step_id: *const c_char,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| step(store, actor, id, step_id, out, || Ok(StepChange::Skip))) }
}

/// Records an assessment attempt with `score` (0-100). Writes {"enrollment": ..., "attempt":
/// ...} as JSON to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_attempt_submit(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    score: f64,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        let s = self::store(store)?;
        let (e, a) = s
            .store
            .submit_attempt(&self::actor(actor)?, text(id, "id")?, score)?;
        put_json(out, &json!({"enrollment": e, "attempt": a}))
    }) }
}

/// Assigns `mentor_id` (a known user; NULL removes the mentor). Writes the enrollment as JSON
/// to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_assign_mentor(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    mentor_id: *const c_char,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        let s = self::store(store)?;
        let a = self::actor(actor)?;
        let mentor = opt_text(mentor_id, "mentor_id")?;
        put_json(out, &s.store.assign_mentor(&a, text(id, "id")?, mentor)?)
    }) }
}

/// Sets when the next step is scheduled (`at`, RFC 3339; NULL clears it). Writes the
/// enrollment as JSON to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_set_next_step_at(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    at: *const c_char,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        let s = self::store(store)?;
        let a = self::actor(actor)?;
        let id = text(id, "id")?;
        put_json(
            out,
            &s.store.set_next_step_at(&a, id, timestamp(at, "at")?)?,
        )
    }) }
}

/// Starts up to `limit` (1-1000) scheduled enrollments whose start time has come. Writes a
/// JSON array of their ids to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_start_due(
    store: *const enrollkit_store,
    actor: *const c_char,
    limit: u32,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        let s = self::store(store)?;
        put_json(out, &s.store.start_due(&self::actor(actor)?, limit)?)
    }) }
}

/// Ends up to `limit` (1-1000) open enrollments whose deadline (deadline_at, from the
/// program's deadline policy) has passed by the store's clock, soonest deadline first: a course
/// enrollment becomes "expired", a certification or track one "failed" with failure reason
/// "deadline_passed", each with one history event (action "expire"). A dropped course
/// enrollment waits for its reactivation. Admin or system only. Writes a JSON array of their
/// ids to `*out` unless `out` is NULL (free it with enrollkit_string_free). Hosts call it from
/// their scheduler, as enrollkit_start_due.
#[no_mangle]
pub extern "C" fn enrollkit_expire_due(
    store: *const enrollkit_store,
    actor: *const c_char,
    limit: u32,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        let s = self::store(store)?;
        put_json(out, &s.store.expire_due(&self::actor(actor)?, limit)?)
    }) }
}

/// The waitlist of program `program_id` (a program with a capacity and a waitlist: enrolling
/// into it when it is full creates a "waitlisted" enrollment): its waitlisted enrollments in
/// order, first come first served (the first is promoted, action "promote", into the next seat
/// that frees), at most `limit` (1-1000). Admin or system only; ENROLLKIT_RESULT_NOT_FOUND for
/// a program that does not exist. Writes a JSON array of enrollments to `*out` (must not be
/// NULL; free it with enrollkit_string_free): "[]" when nobody waits. Changes nothing.
#[no_mangle]
pub extern "C" fn enrollkit_waitlist(
    store: *const enrollkit_store,
    actor: *const c_char,
    program_id: *const c_char,
    limit: u32,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        need(out, "out")?;
        let s = self::store(store)?;
        let a = self::actor(actor)?;
        put_json(out, &s.store.waitlist(&a, text(program_id, "program_id")?, limit)?)
    }) }
}

/// The place of enrollment `id` in its program's waitlist: writes it (1 for the next to be
/// promoted) to `*out` (must not be NULL), or 0 when the enrollment is not waitlisted (any
/// other status: it holds a seat, was promoted, or ended; places start at 1, so 0 is never
/// one). A learner may ask about their own enrollment only
/// (ENROLLKIT_RESULT_PERMISSION_DENIED for another's); ENROLLKIT_RESULT_NOT_FOUND for an
/// enrollment that does not exist. Changes nothing.
#[no_mangle]
pub extern "C" fn enrollkit_waitlist_position(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    out: *mut u32,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        need(out, "out")?;
        let s = self::store(store)?;
        let a = self::actor(actor)?;
        let place = s.store.waitlist_position(&a, text(id, "id")?)?;
        put(out, place.unwrap_or(0));
        Ok(())
    }) }
}

/// The lease of a claim, given in milliseconds (checked by the core: 1 ms to a day).
fn lease(lease_ms: u64) -> std::time::Duration {
    std::time::Duration::from_millis(lease_ms)
}

/// The due-work queue: claims for `worker` (an id: 1-128 bytes, no control characters, no
/// spaces at either end) up to `limit` (1-1000) enrollments whose next step is due
/// (`next_step_at` at or before now), oldest first, for `lease_ms` milliseconds (1 to
/// ENROLLKIT_MAX_LEASE_MS). With `program_id`, only that program's work is claimed (a worker
/// that runs one program's steps; a program that does not exist is ENROLLKIT_RESULT_NOT_FOUND);
/// NULL claims every program's. Each `active` one becomes `processing` (`active_batch`:
/// `processing_batch`) with `claimed_by` and `lease_until`, and its history records the claim;
/// one whose lease ended is taken over. Writes a JSON array of claims ({"enrollment": ...,
/// "step_id": the step to run, or null when the program has none pending}) to `*out` unless
/// `out` is NULL. The worker then runs each step and ends its claim before the lease ends, with
/// enrollkit_claim_deliver, _complete, _fail, _skip or enrollkit_claim_release (or extends the
/// lease with enrollkit_claim_renew).
#[no_mangle]
pub extern "C" fn enrollkit_claim_due(
    store: *const enrollkit_store,
    worker: *const c_char,
    program_id: *const c_char,
    limit: u32,
    lease_ms: u64,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        let s = self::store(store)?;
        let worker = text(worker, "worker")?;
        let program = opt_text(program_id, "program_id")?;
        put_json(out, &s.store.claim_due(worker, program, limit, lease(lease_ms))?)
    }) }
}

/// The due-work queue read without claiming: the running enrollments of `program_id` (NULL:
/// of every program; a program that does not exist is ENROLLKIT_RESULT_NOT_FOUND) with a next
/// step time at or before `until` (RFC 3339; NULL: at any time), soonest first, at most `limit`
/// (1-1000), claimed by a worker or not: what enrollkit_claim_due takes, in the order it takes
/// it. Admin or system only. Writes a JSON array in enrollkit_claim_due's shape
/// ({"enrollment": ..., "step_id": the step that runs next, or null}) to `*out` (must not be
/// NULL; free it with enrollkit_string_free). Changes nothing.
#[no_mangle]
pub extern "C" fn enrollkit_due(
    store: *const enrollkit_store,
    actor: *const c_char,
    program_id: *const c_char,
    until: *const c_char,
    limit: u32,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        need(out, "out")?;
        let s = self::store(store)?;
        let a = self::actor(actor)?;
        let program = opt_text(program_id, "program_id")?;
        let until = timestamp(until, "until")?;
        put_json(out, &s.store.due(&a, program, until, limit)?)
    }) }
}

/// Extends `worker`'s claim on enrollment `id` to `lease_ms` milliseconds from now (1 to
/// ENROLLKIT_MAX_LEASE_MS): a worker whose step runs longer than it expected keeps it from
/// being taken over. The history records the new lease ("renew"). ENROLLKIT_RESULT_CONFLICT,
/// changing nothing, when `worker` no longer holds the claim (renew before the lease ends).
/// Writes the enrollment (its new `lease_until`) as JSON to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_claim_renew(
    store: *const enrollkit_store,
    worker: *const c_char,
    id: *const c_char,
    lease_ms: u64,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        let s = self::store(store)?;
        let worker = text(worker, "worker")?;
        let id = text(id, "id")?;
        put_json(out, &s.store.renew_claim(worker, id, lease(lease_ms))?)
    }) }
}

/// Ends `worker`'s claim on enrollment `id` with `change` applied to the step it claimed.
fn end_claim(
    store: *const enrollkit_store,
    worker: *const c_char,
    id: *const c_char,
    out: *mut *mut c_char,
    change: impl FnOnce() -> Result<StepChange, Failure>,
) -> Outcome {
    let s = self::store(store)?;
    let worker = text(worker, "worker")?;
    let id = text(id, "id")?;
    let change = change()?;
    put_json(out, &s.store.complete_claim(worker, id, &change)?)
}

/// Ends `worker`'s claim on enrollment `id` with its due step delivered (to
/// `destination_type`: "user", "channel", ...; may be NULL): the enrollment returns to `active`
/// (or `active_batch`, or is `delivered` by that step) and its next step's time follows from
/// the schedule, in one transaction with one history event. A claim with no step pending (work
/// the host scheduled with enrollkit_set_next_step_at: its "step_id" is null) ends the same way,
/// here and with enrollkit_claim_complete or _skip, and its `next_step_at` is cleared so that
/// the same work is not due again at once; enrollkit_claim_fail refuses it with
/// ENROLLKIT_RESULT_VALIDATION (there is no step to record the failure on).
/// ENROLLKIT_RESULT_CONFLICT, changing nothing, when `worker` no longer holds the claim (its
/// lease ended, or another worker took it over). Writes the enrollment as JSON to `*out` unless
/// `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_claim_deliver(
    store: *const enrollkit_store,
    worker: *const c_char,
    id: *const c_char,
    destination_type: *const c_char,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        end_claim(store, worker, id, out, || {
            Ok(StepChange::Deliver {
                destination_type: opt_text(destination_type, "destination_type")?.map(Into::into),
            })
        })
    }) }
}

/// Ends several of `worker`'s claims at once, in one transaction, each with its due step
/// delivered (to `destination_type`; may be NULL): `ids_json` is a JSON array of enrollment ids
/// (at most 1000). Writes one result per id, in order, as a JSON array to `*out` unless `out`
/// is NULL: {"outcome": "completed", "enrollment": {...}} or {"outcome": "failed", "error":
/// {"code", "message", ...}}. An id refused (`conflict` when `worker` no longer holds its
/// claim, `not_found`, `validation`) is a result and changes nothing for that id; a malformed
/// `ids_json` fails the whole call with ENROLLKIT_RESULT_VALIDATION.
#[no_mangle]
pub extern "C" fn enrollkit_claims_deliver(
    store: *const enrollkit_store,
    worker: *const c_char,
    ids_json: *const c_char,
    destination_type: *const c_char,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        let s = self::store(store)?;
        let worker = text(worker, "worker")?;
        let ids: Vec<String> = serde_json::from_str(text(ids_json, "ids_json")?).map_err(|e| {
            Error::Validation {
                field: "ids_json",
                message: format!("not a JSON array of ids: {e}"),
            }
        })?;
        let change = StepChange::Deliver {
            destination_type: opt_text(destination_type, "destination_type")?.map(Into::into),
        };
        let items: Vec<(String, StepChange)> =
            ids.into_iter().map(|id| (id, change.clone())).collect();
        let results: Vec<serde_json::Value> = s
            .store
            .complete_claims(worker, &items)?
            .into_iter()
            .map(|r| match r {
                Ok(e) => serde_json::json!({"outcome": "completed", "enrollment": e}),
                Err(e) => serde_json::json!({"outcome": "failed", "error": e.details()}),
            })
            .collect();
        put_json(out, &results)
    }) }
}

/// Like enrollkit_claim_deliver, with the due step completed, with `result_json` (a JSON
/// object; may be NULL).
#[no_mangle]
pub extern "C" fn enrollkit_claim_complete(
    store: *const enrollkit_store,
    worker: *const c_char,
    id: *const c_char,
    result_json: *const c_char,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        end_claim(store, worker, id, out, || {
            let result = opt_text(result_json, "result_json")?
                .map(enrollkit::parse_result)
                .transpose()?;
            Ok(StepChange::Complete { result })
        })
    }) }
}

/// Like enrollkit_claim_deliver, with the due step failed with a reason code and `message`
/// (may be NULL).
#[no_mangle]
pub extern "C" fn enrollkit_claim_fail(
    store: *const enrollkit_store,
    worker: *const c_char,
    id: *const c_char,
    reason: *const c_char,
    message: *const c_char,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        end_claim(store, worker, id, out, || {
            Ok(StepChange::Fail {
                reason: text(reason, "reason")?.to_owned(),
                message: opt_text(message, "message")?.map(Into::into),
            })
        })
    }) }
}

/// Like enrollkit_claim_deliver, with the due step skipped.
#[no_mangle]
pub extern "C" fn enrollkit_claim_skip(
    store: *const enrollkit_store,
    worker: *const c_char,
    id: *const c_char,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| end_claim(store, worker, id, out, || Ok(StepChange::Skip))) }
}

/// Gives `worker`'s claim on enrollment `id` back without running the step: the enrollment
/// returns to `active` (or `active_batch`), its step still due, for any worker to claim.
/// ENROLLKIT_RESULT_CONFLICT, changing nothing, when `worker` no longer holds it. Writes the
/// enrollment as JSON to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_claim_release(
    store: *const enrollkit_store,
    worker: *const c_char,
    id: *const c_char,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        let s = self::store(store)?;
        let worker = text(worker, "worker")?;
        put_json(out, &s.store.release_claim(worker, text(id, "id")?)?)
    }) }
}

/// Enrolls in `program_id`, with trigger "work_anniversary", every user whose hire-date
/// anniversary is `on_date` ("YYYY-MM-DD"; a year or more after the hire date; a 29 February
/// hire has it on 28 February in other years). In a track the enrollment starts at the
/// beginning of that day in the user's time zone (a scheduled start, run by
/// enrollkit_start_due, while that is ahead). Running it again for the same date enrolls
/// nobody twice: such a user reports "already_enrolled". Admin or system only. Writes one
/// outcome per user, by user id, as enrollkit_enroll_many does with "user_id" added
/// ({"user_id": ..., "outcome": "created", "enrollment": {...}}, ...), as a JSON array to
/// `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_enroll_anniversaries(
    store: *const enrollkit_store,
    actor: *const c_char,
    program_id: *const c_char,
    on_date: *const c_char,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        let s = self::store(store)?;
        let a = self::actor(actor)?;
        let program = text(program_id, "program_id")?;
        let on = text(on_date, "on_date")?;
        put_json(out, &s.store.enroll_anniversaries(&a, program, on)?)
    }) }
}

/// Deletes enrollment `id` with its step progress and attempts (admin only); its history
/// stays, ending with a "deleted" event.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_delete(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        let s = self::store(store)?;
        Ok(s.store
            .delete_enrollment(&self::actor(actor)?, text(id, "id")?)?)
    }) }
}

// ---------------------------------------------------------------------------------------------
// Reading

/// Writes a JSON array with the progress of every step of enrollment `id`, in step order, to
/// `*out` (must not be NULL).
#[no_mangle]
pub extern "C" fn enrollkit_step_progress(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        need(out, "out")?;
        let s = self::store(store)?;
        put_json(
            out,
            &s.store
                .step_progress(&self::actor(actor)?, text(id, "id")?)?,
        )
    }) }
}

/// Writes a JSON array of enrollment `id`'s assessment attempts to `*out` (must not be NULL).
#[no_mangle]
pub extern "C" fn enrollkit_attempts(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        need(out, "out")?;
        let s = self::store(store)?;
        put_json(
            out,
            &s.store.attempts(&self::actor(actor)?, text(id, "id")?)?,
        )
    }) }
}

/// Writes a JSON array of enrollment `id`'s history events, oldest first, to `*out` (must not
/// be NULL). Works for deleted enrollments too.
#[no_mangle]
pub extern "C" fn enrollkit_history(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        need(out, "out")?;
        let s = self::store(store)?;
        put_json(
            out,
            &s.store.history(&self::actor(actor)?, text(id, "id")?)?,
        )
    }) }
}

/// Writes enrollment `id`'s status at instant `at` (RFC 3339) to `*out` (must not be NULL):
/// a string to free with enrollkit_string_free, or NULL when it did not exist then.
#[no_mangle]
pub extern "C" fn enrollkit_status_at(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    at: *const c_char,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        need(out, "out")?;
        let s = self::store(store)?;
        let a = self::actor(actor)?;
        let id = text(id, "id")?;
        let at = Timestamp::parse(text(at, "at")?)?;
        let status = s.store.status_at(&a, id, at)?;
        put_text(out, status.as_deref());
        Ok(())
    }) }
}

/// The change feed: writes a JSON array of at most `limit` (1-1000) events with a sequence
/// number above `after`, oldest first, to `*out` (must not be NULL).
#[no_mangle]
pub extern "C" fn enrollkit_events_after(
    store: *const enrollkit_store,
    actor: *const c_char,
    after: i64,
    limit: u32,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        need(out, "out")?;
        let s = self::store(store)?;
        put_json(
            out,
            &s.store.events_after(&self::actor(actor)?, after, limit)?,
        )
    }) }
}

/// Writes a JSON array of every enrollment of `user_id` in `program_id`, oldest first, to
/// `*out` (must not be NULL).
#[no_mangle]
pub extern "C" fn enrollkit_lineage(
    store: *const enrollkit_store,
    actor: *const c_char,
    user_id: *const c_char,
    program_id: *const c_char,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        need(out, "out")?;
        let s = self::store(store)?;
        let a = self::actor(actor)?;
        let lineage = s.store.lineage(
            &a,
            text(user_id, "user_id")?,
            text(program_id, "program_id")?,
        )?;
        put_json(out, &lineage)
    }) }
}

/// Lists enrollments. `query_json` is {"user_id"?, "program_id"?, "status"?, "trigger"?,
/// "enrolled_from"?, "enrolled_to"?, "completed_from"?, "completed_to"?, "order"?
/// ("oldest_first" | "newest_first"), and "page"/"per_page" or "starting_after"/"limit"}.
/// Writes {"items": [...], "has_more": bool, "next_cursor": id or null} to `*out` (must not
/// be NULL).
#[no_mangle]
pub extern "C" fn enrollkit_list(
    store: *const enrollkit_store,
    actor: *const c_char,
    query_json: *const c_char,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        need(out, "out")?;
        let s = self::store(store)?;
        let a = self::actor(actor)?;
        let query = ListQuery::from_json(text(query_json, "query_json")?)?;
        let page = s.store.list_enrollments(&a, &query)?;
        put_json(out, &page)
    }) }
}

/// Renders enrollment `id` in a reference's JSON shape (ENROLLKIT_VIEW_TRACK,
/// _CERTIFICATION, _COURSE) and writes it to `*out` (must not be NULL).
#[no_mangle]
pub extern "C" fn enrollkit_render(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    view: u32,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        need(out, "out")?;
        let s = self::store(store)?;
        let a = self::actor(actor)?;
        let id = text(id, "id")?;
        let view = match view {
            ENROLLKIT_VIEW_TRACK => View::Track,
            ENROLLKIT_VIEW_CERTIFICATION => View::Certification,
            ENROLLKIT_VIEW_COURSE => View::Course,
            other => {
                return Err(validation(
                    "view",
                    format!("{other} is not an ENROLLKIT_VIEW_* value"),
                ))
            }
        };
        put_json(out, &s.store.render(&a, id, view)?)
    }) }
}

/// Writes program `program_id`'s report to `*out` (must not be NULL) as a JSON object:
/// `program_id`, `kind`, the track reference's summary (`total_enrollees`, `active`,
/// `completed`, `failed`, `paused`, `canceled`, `average_completion_rate` in percent,
/// `average_time_to_complete` in seconds or null), `by_status` (counts in the program's
/// vocabulary) and `steps` (the funnel: `step_id`, `position`, `delivered`, `completed`,
/// `skipped`, `failed`).
/// `actor` must be "admin" or "system". Free `*out` with enrollkit_string_free.
#[no_mangle]
pub extern "C" fn enrollkit_report(
    store: *const enrollkit_store,
    actor: *const c_char,
    program_id: *const c_char,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        need(out, "out")?;
        let s = self::store(store)?;
        put_json(
            out,
            &s.store
                .report(&self::actor(actor)?, text(program_id, "program_id")?)?,
        )
    }) }
}

// ---------------------------------------------------------------------------------------------
// Files: export, import, CSV, backup

/// The file `path`, opened for reading, buffered.
fn open_file(path: &str) -> Result<std::io::BufReader<std::fs::File>, Failure> {
    std::fs::File::open(path)
        .map(std::io::BufReader::new)
        .map_err(|e| {
            Failure::Core(Error::Storage(enrollkit::Failure::caused_by(
                format!("cannot open {path}: {e}"),
                e,
            )))
        })
}

/// The file `path`, created or truncated, buffered.
fn create_file(path: &str) -> Result<std::io::BufWriter<std::fs::File>, Failure> {
    std::fs::File::create(path)
        .map(std::io::BufWriter::new)
        .map_err(|e| {
            Failure::Core(Error::Storage(enrollkit::Failure::caused_by(
                format!("cannot create {path}: {e}"),
                e,
            )))
        })
}

/// Writes the whole database to the file `path` (created or truncated) as JSON Lines in the
/// enrollkit export format, and the number of records of each type ({"users", "programs",
/// "enrollments", "events"}) as JSON to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_export(
    store: *const enrollkit_store,
    path: *const c_char,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        let s = self::store(store)?;
        let mut file = create_file(text(path, "path")?)?;
        put_json(out, &s.store.export_jsonl(&mut file, None)?)
    }) }
}

/// Imports the export file `path` in one transaction (`mode`: ENROLLKIT_BATCH_ALL_OR_NOTHING
/// rolls everything back when a line is refused; ENROLLKIT_BATCH_BEST_EFFORT skips refused
/// lines). Writes the report ({"imported": counts, "errors": [{"line", "error"}],
/// "committed": bool}) as JSON to `*out` unless `out` is NULL. Refused lines are reported, not
/// a failed call. An import into an empty database file that no other connection has open
/// holds the file alone until it returns: other connections wait (up to their busy timeout)
/// instead of reading the empty database.
#[no_mangle]
pub extern "C" fn enrollkit_import(
    store: *const enrollkit_store,
    path: *const c_char,
    mode: u32,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        let s = self::store(store)?;
        let path = text(path, "path")?;
        let mode = batch_mode(mode)?;
        let mut input = open_file(path)?;
        put_json(out, &s.store.import_jsonl(&mut input, mode, None)?)
    }) }
}

/// Enrolls the rows of the CSV roster file `path` as `actor`, in one transaction. A roster's
/// header names its columns: one of user_id, email, external_id; program_id; optionally id,
/// trigger, added_by_user_id, added_by_program_id, partnership_id, timezone, start_at,
/// allow_reenroll, batch (an empty cell is an absent field). `mode` as for enrollkit_import.
/// Writes the report ({"imported": counts, "errors": [{"line", "error"}], "committed": bool})
/// as JSON to `*out` unless `out` is NULL; refused rows are reported with the line they start
/// on, not a failed call. A header that is not a roster's fails with
/// ENROLLKIT_RESULT_VALIDATION, an unreadable file with ENROLLKIT_RESULT_STORAGE; nothing is
/// written then.
#[no_mangle]
pub extern "C" fn enrollkit_enroll_csv(
    store: *const enrollkit_store,
    actor: *const c_char,
    path: *const c_char,
    mode: u32,
    out: *mut *mut c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        let s = self::store(store)?;
        let actor = self::actor(actor)?;
        let path = text(path, "path")?;
        let mode = batch_mode(mode)?;
        let mut input = open_file(path)?;
        put_json(out, &s.store.enroll_csv(&actor, &mut input, mode, None)?)
    }) }
}

/// Writes every enrollment (of `program_id`, or all when it is NULL) as CSV to the file `path`
/// (created or truncated) and the number of rows to `*out_rows` unless it is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_export_csv(
    store: *const enrollkit_store,
    path: *const c_char,
    program_id: *const c_char,
    out_rows: *mut u64,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        let s = self::store(store)?;
        let program = opt_text(program_id, "program_id")?;
        let mut file = create_file(text(path, "path")?)?;
        put(
            out_rows,
            s.store.export_enrollments_csv(&mut file, program)?,
        );
        Ok(())
    }) }
}

/// Copies the database to the new file `dest` (which must not exist:
/// ENROLLKIT_RESULT_CONFLICT) with SQLite's backup API, consistently, while others write.
#[no_mangle]
pub extern "C" fn enrollkit_backup(
    store: *const enrollkit_store,
    dest: *const c_char,
) -> enrollkit_result {
    ffi_panic_boundary! { result_of(|| {
        let s = self::store(store)?;
        Ok(s.store.backup(std::path::Path::new(text(dest, "dest")?))?)
    }) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_code_has_its_own_result() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let r = enrollkit_result::from_core(code);
            assert!(seen.insert(r as i32), "{code} shares a result");
            assert_eq!(r as i32, code.number(), "{code}: the C number is core's");
            let name = r.name().to_str().unwrap();
            assert_eq!(
                name,
                format!("ENROLLKIT_RESULT_{}", code.as_str().to_uppercase())
            );
        }
    }

    #[test]
    fn the_longest_lease_is_cores() {
        assert_eq!(
            u128::from(ENROLLKIT_MAX_LEASE_MS),
            enrollkit::MAX_LEASE.as_millis()
        );
    }

    #[test]
    fn panics_become_a_result() {
        let r: enrollkit_result = ffi_panic_boundary! { result_of(|| panic!("boom")) };
        assert_eq!(r, enrollkit_result::Panic);
        let msg = unsafe { CStr::from_ptr(enrollkit_last_error_message()) };
        assert!(msg.to_str().unwrap().contains("boom"));
    }
}
