//! The typed twins of the JSON functions: each `enrollkit_X_typed` does what `enrollkit_X`
//! does and hands its record back as a handle (`records`), and the batches and listings take
//! their input from builder handles (users, enroll requests, list queries) instead of JSON.

use std::ffi::c_char;

use enrollkit::{
    EnrollRequest, Enrollment, FailureReason, Kind, ListQuery, Order, Pagination, ProgramState,
    StepChange, Timestamp, Trigger, User, UserRef,
};

use crate::boundary::{free_box, to_boxed_mut_ptr, try_mut_from_ptr, try_ref_from_ptr, Castable};
use crate::records::{
    enrollkit_claim_array, enrollkit_enroll_outcomes, enrollkit_enrollment,
    enrollkit_enrollment_page, enrollkit_event_array, enrollkit_program, enrollkit_program_array,
    enrollkit_user, enrollkit_user_array, ClaimRecord, EnrollmentRecord, EventRecord,
    OutcomesRecord, PageRecord, ProgramRecord, UserRecord, ENROLLKIT_TIME_ABSENT,
};
use crate::{
    actor, batch_mode, enrollkit_result, enrollkit_store, need, opt_text, put, result_of, store,
    text, validation, Failure, Outcome,
};

/// Writes a new handle owning `value` to `*out` (if `out` is not NULL; nothing is made then).
fn put_handle<C: Castable>(out: *mut *mut C, value: impl FnOnce() -> C::RustType) {
    if !out.is_null() {
        put(out, to_boxed_mut_ptr::<C>(value()));
    }
}

fn put_enrollment(out: *mut *mut enrollkit_enrollment, e: Enrollment) -> Outcome {
    put_handle(out, || EnrollmentRecord::new(e));
    Ok(())
}

/// A time given in milliseconds: `None` for ENROLLKIT_TIME_ABSENT; years 1-9999.
fn millis(value: i64, field: &'static str) -> Result<Option<Timestamp>, Failure> {
    if value == ENROLLKIT_TIME_ABSENT {
        return Ok(None);
    }
    let t = Timestamp::from_millis(value);
    if t.millis() != value {
        return Err(validation(
            field,
            format!("{value} ms is outside the years 1-9999"),
        ));
    }
    Ok(Some(t))
}

/// The value behind a mutable builder handle.
fn builder<'a, C: Castable>(
    handle: *mut C,
    name: &'static str,
) -> Result<&'a mut C::RustType, Failure> {
    try_mut_from_ptr(handle).ok_or(Failure::Null(name))
}

/// The value behind a builder handle given to an operation.
fn input<'a, C: Castable>(
    handle: *const C,
    name: &'static str,
) -> Result<&'a C::RustType, Failure> {
    try_ref_from_ptr(handle).ok_or(Failure::Null(name))
}

// ---------------------------------------------------------------------------------------------
// User batches

/// enrollkit_user_batch_set: the email address (unique, case-insensitive).
pub const ENROLLKIT_USER_FIELD_EMAIL: u32 = 0;
/// enrollkit_user_batch_set: the display name.
pub const ENROLLKIT_USER_FIELD_DISPLAY_NAME: u32 = 1;
/// enrollkit_user_batch_set: the external chat id (unique).
pub const ENROLLKIT_USER_FIELD_EXTERNAL_ID: u32 = 2;
/// enrollkit_user_batch_set: the department.
pub const ENROLLKIT_USER_FIELD_DEPARTMENT: u32 = 3;
/// enrollkit_user_batch_set: the work location.
pub const ENROLLKIT_USER_FIELD_LOCATION: u32 = 4;
/// enrollkit_user_batch_set: the manager's user id.
pub const ENROLLKIT_USER_FIELD_MANAGER_ID: u32 = 5;
/// enrollkit_user_batch_set: the IANA timezone name.
pub const ENROLLKIT_USER_FIELD_TIMEZONE: u32 = 6;
/// enrollkit_user_batch_set: the hire date, "YYYY-MM-DD" (work anniversaries).
pub const ENROLLKIT_USER_FIELD_HIRE_DATE: u32 = 7;

/// Users to create or replace with enrollkit_users_upsert_typed, built without JSON: add a
/// user with enrollkit_user_batch_add, then set its fields. Create it with
/// enrollkit_user_batch_new, release it with enrollkit_user_batch_free; reuse it after
/// enrollkit_user_batch_clear. Use it from one thread at a time.
pub struct enrollkit_user_batch {
    _private: [u8; 0],
}

impl Castable for enrollkit_user_batch {
    type RustType = Vec<User>;
}

/// The user added last.
fn last_user(users: &mut [User]) -> Result<&mut User, Failure> {
    users.last_mut().ok_or_else(|| {
        validation(
            "batch",
            "the batch is empty: enrollkit_user_batch_add a user first".into(),
        )
    })
}

/// Writes a new, empty user batch to `*out` (must not be NULL).
#[no_mangle]
pub extern "C" fn enrollkit_user_batch_new(
    out: *mut *mut enrollkit_user_batch,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            need(out, "out")?;
            put(out, to_boxed_mut_ptr::<enrollkit_user_batch>(Vec::new()));
            Ok(())
        })
    }
}

/// Releases a user batch. NULL is fine.
#[no_mangle]
pub extern "C" fn enrollkit_user_batch_free(batch: *mut enrollkit_user_batch) {
    ffi_panic_boundary! { free_box(batch) }
}

/// Appends a user with id `id` and every other field absent.
#[no_mangle]
pub extern "C" fn enrollkit_user_batch_add(
    batch: *mut enrollkit_user_batch,
    id: *const c_char,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            let users = builder(batch, "batch")?;
            let id = text(id, "id")?.to_owned();
            users.push(User { id, ..User::default() });
            Ok(())
        })
    }
}

/// Sets field `field` (ENROLLKIT_USER_FIELD_*) of the user added last to `value` (NULL: absent).
/// Values are checked when the batch is written.
#[no_mangle]
pub extern "C" fn enrollkit_user_batch_set(
    batch: *mut enrollkit_user_batch,
    field: u32,
    value: *const c_char,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            let users = builder(batch, "batch")?;
            let value = opt_text(value, "value")?.map(str::to_owned);
            let user = last_user(users)?;
            let slot = match field {
                ENROLLKIT_USER_FIELD_EMAIL => &mut user.email,
                ENROLLKIT_USER_FIELD_DISPLAY_NAME => &mut user.display_name,
                ENROLLKIT_USER_FIELD_EXTERNAL_ID => &mut user.external_id,
                ENROLLKIT_USER_FIELD_DEPARTMENT => &mut user.department,
                ENROLLKIT_USER_FIELD_LOCATION => &mut user.location,
                ENROLLKIT_USER_FIELD_MANAGER_ID => &mut user.manager_id,
                ENROLLKIT_USER_FIELD_TIMEZONE => &mut user.timezone,
                ENROLLKIT_USER_FIELD_HIRE_DATE => &mut user.hire_date,
                other => {
                    return Err(validation(
                        "field",
                        format!("{other} is not an ENROLLKIT_USER_FIELD_* value"),
                    ))
                }
            };
            *slot = value;
            Ok(())
        })
    }
}

/// Adds group `group` to the user added last.
#[no_mangle]
pub extern "C" fn enrollkit_user_batch_add_group(
    batch: *mut enrollkit_user_batch,
    group: *const c_char,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            let users = builder(batch, "batch")?;
            let group = text(group, "group")?.to_owned();
            last_user(users)?.groups.push(group);
            Ok(())
        })
    }
}

/// Adds partnership `partnership` (an id) to the user added last: a partner user, whose
/// certification enrollments must name one of their partnerships (partnership_id).
#[no_mangle]
pub extern "C" fn enrollkit_user_batch_add_partnership(
    batch: *mut enrollkit_user_batch,
    partnership: *const c_char,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            let users = builder(batch, "batch")?;
            let partnership = text(partnership, "partnership")?.to_owned();
            last_user(users)?.partnerships.push(partnership);
            Ok(())
        })
    }
}

/// The number of users in the batch; 0 for NULL.
#[no_mangle]
pub extern "C" fn enrollkit_user_batch_count(batch: *const enrollkit_user_batch) -> usize {
    ffi_panic_boundary! { try_ref_from_ptr(batch).map_or(0, Vec::len) }
}

/// Empties the batch (it keeps its memory for the next users). NULL is fine.
#[no_mangle]
pub extern "C" fn enrollkit_user_batch_clear(batch: *mut enrollkit_user_batch) {
    ffi_panic_boundary! {
        if let Some(users) = try_mut_from_ptr(batch) {
            users.clear();
        }
    }
}

/// Creates or replaces every user of `batch` in one transaction, all or nothing, like
/// enrollkit_users_upsert: a refused user fails the call (its message names the 0-based row)
/// and writes nothing. Writes the number of users written to `*out_count` unless it is NULL.
/// The batch is left as it was.
#[no_mangle]
pub extern "C" fn enrollkit_users_upsert_typed(
    store: *const enrollkit_store,
    batch: *const enrollkit_user_batch,
    out_count: *mut u64,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            let s = self::store(store)?;
            let users = input(batch, "batch")?;
            put(out_count, s.store.upsert_users(users)?);
            Ok(())
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Enroll batches

/// enrollkit_enroll_batch_set: use this enrollment id instead of generating one.
pub const ENROLLKIT_ENROLL_ID: u32 = 0;
/// enrollkit_enroll_batch_set: the trigger ("user_join", "manual_user_trigger", "self_join",
/// "schedule", "work_anniversary", "added_by_another_workflow").
pub const ENROLLKIT_ENROLL_TRIGGER: u32 = 1;
/// enrollkit_enroll_batch_set: who enrolled the user by hand.
pub const ENROLLKIT_ENROLL_ADDED_BY_USER_ID: u32 = 2;
/// enrollkit_enroll_batch_set: the program (workflow) that enrolled the user.
pub const ENROLLKIT_ENROLL_ADDED_BY_PROGRAM_ID: u32 = 3;
/// enrollkit_enroll_batch_set: the partnership context.
pub const ENROLLKIT_ENROLL_PARTNERSHIP_ID: u32 = 4;
/// enrollkit_enroll_batch_set: the enrollment's timezone (default: the user's).
pub const ENROLLKIT_ENROLL_TIMEZONE: u32 = 5;
/// enrollkit_enroll_batch_set: start later (RFC 3339; tracks): `new` until then.
pub const ENROLLKIT_ENROLL_START_AT: u32 = 6;
/// enrollkit_enroll_batch_set: enroll without the program's prerequisites, for this reason
/// (kept in the history). Admin only: another actor's row fails with
/// ENROLLKIT_RESULT_PERMISSION_DENIED, a blank reason with ENROLLKIT_RESULT_VALIDATION.
pub const ENROLLKIT_ENROLL_OVERRIDE_PREREQUISITES: u32 = 7;

/// enrollkit_enroll_batch_set_flag: allow a new enrollment when the latest one is completed.
pub const ENROLLKIT_ENROLL_ALLOW_REENROLL: u32 = 0;
/// enrollkit_enroll_batch_set_flag: create the track enrollment as part of a batch
/// (`active_batch`).
pub const ENROLLKIT_ENROLL_AS_BATCH: u32 = 1;

/// Enroll requests for enrollkit_enroll_many_typed, built without JSON: add a row with
/// enrollkit_enroll_batch_add, then set its options. Create it with enrollkit_enroll_batch_new,
/// release it with enrollkit_enroll_batch_free; reuse it after enrollkit_enroll_batch_clear.
/// Use it from one thread at a time.
pub struct enrollkit_enroll_batch {
    _private: [u8; 0],
}

impl Castable for enrollkit_enroll_batch {
    type RustType = Vec<EnrollRequest>;
}

fn last_request(rows: &mut [EnrollRequest]) -> Result<&mut EnrollRequest, Failure> {
    rows.last_mut().ok_or_else(|| {
        validation(
            "batch",
            "the batch is empty: enrollkit_enroll_batch_add a row first".into(),
        )
    })
}

/// Writes a new, empty enroll batch to `*out` (must not be NULL).
#[no_mangle]
pub extern "C" fn enrollkit_enroll_batch_new(
    out: *mut *mut enrollkit_enroll_batch,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            need(out, "out")?;
            put(out, to_boxed_mut_ptr::<enrollkit_enroll_batch>(Vec::new()));
            Ok(())
        })
    }
}

/// Releases an enroll batch. NULL is fine.
#[no_mangle]
pub extern "C" fn enrollkit_enroll_batch_free(batch: *mut enrollkit_enroll_batch) {
    ffi_panic_boundary! { free_box(batch) }
}

/// Appends a row enrolling the user named by `user` (`by`: ENROLLKIT_USER_BY_ID, _BY_EMAIL or
/// _BY_EXTERNAL_ID) in program `program_id`, every option at its default.
#[no_mangle]
pub extern "C" fn enrollkit_enroll_batch_add(
    batch: *mut enrollkit_enroll_batch,
    by: u32,
    user: *const c_char,
    program_id: *const c_char,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            let rows = builder(batch, "batch")?;
            let user = text(user, "user")?.to_owned();
            let program_id = text(program_id, "program_id")?;
            let user = match by {
                crate::ENROLLKIT_USER_BY_ID => UserRef::Id(user),
                crate::ENROLLKIT_USER_BY_EMAIL => UserRef::Email(user),
                crate::ENROLLKIT_USER_BY_EXTERNAL_ID => UserRef::ExternalId(user),
                other => {
                    return Err(validation(
                        "by",
                        format!("{other} is not an ENROLLKIT_USER_BY_* value"),
                    ))
                }
            };
            rows.push(EnrollRequest::for_user(user, program_id));
            Ok(())
        })
    }
}

/// Sets option `option` (ENROLLKIT_ENROLL_ID, _TRIGGER, _ADDED_BY_USER_ID,
/// _ADDED_BY_PROGRAM_ID, _PARTNERSHIP_ID, _TIMEZONE, _START_AT, _OVERRIDE_PREREQUISITES) of
/// the row added last to `value` (NULL: the default). A trigger or start time that does not
/// parse is ENROLLKIT_RESULT_VALIDATION now; the other values are checked when the row is
/// enrolled.
#[no_mangle]
pub extern "C" fn enrollkit_enroll_batch_set(
    batch: *mut enrollkit_enroll_batch,
    option: u32,
    value: *const c_char,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            let rows = builder(batch, "batch")?;
            let value = opt_text(value, "value")?;
            let row = last_request(rows)?;
            let owned = value.map(str::to_owned);
            match option {
                ENROLLKIT_ENROLL_ID => row.id = owned,
                ENROLLKIT_ENROLL_TRIGGER => row.trigger = value.map(Trigger::parse).transpose()?,
                ENROLLKIT_ENROLL_ADDED_BY_USER_ID => row.added_by_user_id = owned,
                ENROLLKIT_ENROLL_ADDED_BY_PROGRAM_ID => row.added_by_program_id = owned,
                ENROLLKIT_ENROLL_PARTNERSHIP_ID => row.partnership_id = owned,
                ENROLLKIT_ENROLL_TIMEZONE => row.timezone = owned,
                ENROLLKIT_ENROLL_START_AT => {
                    row.start_at = value.map(Timestamp::parse).transpose()?
                }
                ENROLLKIT_ENROLL_OVERRIDE_PREREQUISITES => row.override_prerequisites = owned,
                other => {
                    return Err(validation(
                        "option",
                        format!("{other} is not an ENROLLKIT_ENROLL_* option"),
                    ))
                }
            }
            Ok(())
        })
    }
}

/// Turns flag `flag` (ENROLLKIT_ENROLL_ALLOW_REENROLL or ENROLLKIT_ENROLL_AS_BATCH) of the row
/// added last on or off (both start off).
#[no_mangle]
pub extern "C" fn enrollkit_enroll_batch_set_flag(
    batch: *mut enrollkit_enroll_batch,
    flag: u32,
    on: bool,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            let row = last_request(builder(batch, "batch")?)?;
            match flag {
                ENROLLKIT_ENROLL_ALLOW_REENROLL => row.allow_reenroll = on,
                ENROLLKIT_ENROLL_AS_BATCH => row.batch = on,
                other => {
                    return Err(validation(
                        "flag",
                        format!("{other} is not an ENROLLKIT_ENROLL_* flag"),
                    ))
                }
            }
            Ok(())
        })
    }
}

/// The number of rows in the batch; 0 for NULL.
#[no_mangle]
pub extern "C" fn enrollkit_enroll_batch_count(batch: *const enrollkit_enroll_batch) -> usize {
    ffi_panic_boundary! { try_ref_from_ptr(batch).map_or(0, Vec::len) }
}

/// Empties the batch (it keeps its memory for the next rows). NULL is fine.
#[no_mangle]
pub extern "C" fn enrollkit_enroll_batch_clear(batch: *mut enrollkit_enroll_batch) {
    ffi_panic_boundary! {
        if let Some(rows) = try_mut_from_ptr(batch) {
            rows.clear();
        }
    }
}

/// Enrolls every row of `batch` in one transaction, like enrollkit_enroll_many (`mode`:
/// ENROLLKIT_BATCH_ALL_OR_NOTHING or _BEST_EFFORT), and writes one outcome per row to `*out`
/// unless `out` is NULL (release it with enrollkit_enroll_outcomes_free). A row refused by the
/// rules is an outcome, not a failed call. The batch is left as it was.
#[no_mangle]
pub extern "C" fn enrollkit_enroll_many_typed(
    store: *const enrollkit_store,
    actor: *const c_char,
    batch: *const enrollkit_enroll_batch,
    mode: u32,
    out: *mut *mut enrollkit_enroll_outcomes,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            let s = self::store(store)?;
            let a = self::actor(actor)?;
            let rows = input(batch, "batch")?;
            let mode = batch_mode(mode)?;
            let outcomes = s.store.enroll_many(&a, rows, mode)?;
            put_handle(out, || OutcomesRecord::of_rows(outcomes));
            Ok(())
        })
    }
}

// ---------------------------------------------------------------------------------------------
// List queries

/// enrollkit_list_query_set: only this user's enrollments (learners get only their own).
pub const ENROLLKIT_QUERY_USER_ID: u32 = 0;
/// enrollkit_list_query_set: only this program's enrollments.
pub const ENROLLKIT_QUERY_PROGRAM_ID: u32 = 1;
/// enrollkit_list_query_set: only this status, in the program's vocabulary (without a program:
/// in every vocabulary that has the name).
pub const ENROLLKIT_QUERY_STATUS: u32 = 2;
/// enrollkit_list_query_set: only enrollments created by this trigger.
pub const ENROLLKIT_QUERY_TRIGGER: u32 = 3;

/// enrollkit_list_query_set_order: oldest first (the default).
pub const ENROLLKIT_ORDER_OLDEST_FIRST: u32 = 0;
/// enrollkit_list_query_set_order: newest first.
pub const ENROLLKIT_ORDER_NEWEST_FIRST: u32 = 1;

/// Filters and pagination for enrollkit_list_typed, built without JSON. A new query has no
/// filters, the oldest first, and page 1 of 20. Create it with enrollkit_list_query_new,
/// release it with enrollkit_list_query_free; change and reuse it as you like. Use it from one
/// thread at a time while changing it.
pub struct enrollkit_list_query {
    _private: [u8; 0],
}

impl Castable for enrollkit_list_query {
    type RustType = ListQuery;
}

/// Writes a new query (no filters, oldest first, page 1 of 20) to `*out` (must not be NULL).
#[no_mangle]
pub extern "C" fn enrollkit_list_query_new(
    out: *mut *mut enrollkit_list_query,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            need(out, "out")?;
            put(out, to_boxed_mut_ptr::<enrollkit_list_query>(ListQuery::default()));
            Ok(())
        })
    }
}

/// Releases a query. NULL is fine.
#[no_mangle]
pub extern "C" fn enrollkit_list_query_free(query: *mut enrollkit_list_query) {
    ffi_panic_boundary! { free_box(query) }
}

/// Sets filter `field` (ENROLLKIT_QUERY_USER_ID, _PROGRAM_ID, _STATUS, _TRIGGER) to `value`
/// (NULL removes the filter). A trigger that does not parse is ENROLLKIT_RESULT_VALIDATION now;
/// the other values are checked when the query runs.
#[no_mangle]
pub extern "C" fn enrollkit_list_query_set(
    query: *mut enrollkit_list_query,
    field: u32,
    value: *const c_char,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            let q = builder(query, "query")?;
            let value = opt_text(value, "value")?;
            let owned = value.map(str::to_owned);
            match field {
                ENROLLKIT_QUERY_USER_ID => q.user_id = owned,
                ENROLLKIT_QUERY_PROGRAM_ID => q.program_id = owned,
                ENROLLKIT_QUERY_STATUS => q.status = owned,
                ENROLLKIT_QUERY_TRIGGER => q.trigger = value.map(Trigger::parse).transpose()?,
                other => {
                    return Err(validation(
                        "field",
                        format!("{other} is not an ENROLLKIT_QUERY_* field"),
                    ))
                }
            }
            Ok(())
        })
    }
}

/// Only enrollments enrolled at or after `from` and before `to` (milliseconds since the epoch;
/// ENROLLKIT_TIME_ABSENT leaves that end open).
#[no_mangle]
pub extern "C" fn enrollkit_list_query_set_enrolled(
    query: *mut enrollkit_list_query,
    from: i64,
    to: i64,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            let q = builder(query, "query")?;
            (q.enrolled_from, q.enrolled_to) = (millis(from, "from")?, millis(to, "to")?);
            Ok(())
        })
    }
}

/// Only enrollments completed at or after `from` and before `to` (milliseconds since the epoch;
/// ENROLLKIT_TIME_ABSENT leaves that end open).
#[no_mangle]
pub extern "C" fn enrollkit_list_query_set_completed(
    query: *mut enrollkit_list_query,
    from: i64,
    to: i64,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            let q = builder(query, "query")?;
            (q.completed_from, q.completed_to) = (millis(from, "from")?, millis(to, "to")?);
            Ok(())
        })
    }
}

/// Sets the order: ENROLLKIT_ORDER_OLDEST_FIRST or ENROLLKIT_ORDER_NEWEST_FIRST.
#[no_mangle]
pub extern "C" fn enrollkit_list_query_set_order(
    query: *mut enrollkit_list_query,
    order: u32,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            let q = builder(query, "query")?;
            q.order = match order {
                ENROLLKIT_ORDER_OLDEST_FIRST => Order::OldestFirst,
                ENROLLKIT_ORDER_NEWEST_FIRST => Order::NewestFirst,
                other => {
                    return Err(validation(
                        "order",
                        format!("{other} is not an ENROLLKIT_ORDER_* value"),
                    ))
                }
            };
            Ok(())
        })
    }
}

/// Pages by number, as the course reference: page `page` (from 1) of `per_page` (1-100)
/// enrollments. Checked when the query runs.
#[no_mangle]
pub extern "C" fn enrollkit_list_query_set_page(
    query: *mut enrollkit_list_query,
    page: u32,
    per_page: u32,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            builder(query, "query")?.pagination = Pagination::Page { page, per_page };
            Ok(())
        })
    }
}

/// Pages by keyset cursor: up to `limit` (1-100) enrollments after the enrollment
/// `starting_after` (a page's next cursor; NULL: from the start). Checked when the query runs.
#[no_mangle]
pub extern "C" fn enrollkit_list_query_set_cursor(
    query: *mut enrollkit_list_query,
    starting_after: *const c_char,
    limit: u32,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            let q = builder(query, "query")?;
            let starting_after = opt_text(starting_after, "starting_after")?.map(str::to_owned);
            q.pagination = Pagination::Cursor { starting_after, limit };
            Ok(())
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Operations returning enrollments

/// Like enrollkit_enroll, and writes the new enrollment to `*out` unless `out` is NULL
/// (release it with enrollkit_enrollment_free).
#[no_mangle]
pub extern "C" fn enrollkit_enroll_typed(
    store: *const enrollkit_store,
    actor: *const c_char,
    user_id: *const c_char,
    program_id: *const c_char,
    out: *mut *mut enrollkit_enrollment,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            let s = self::store(store)?;
            let a = self::actor(actor)?;
            let req =
                EnrollRequest::new(text(user_id, "user_id")?, text(program_id, "program_id")?);
            put_enrollment(out, s.store.enroll(&a, &req)?)
        })
    }
}

/// Writes enrollment `id` to `*out` (must not be NULL; release it with
/// enrollkit_enrollment_free).
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_get_typed(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    out: *mut *mut enrollkit_enrollment,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            need(out, "out")?;
            let s = self::store(store)?;
            let e = s.store.get_enrollment(&self::actor(actor)?, text(id, "id")?)?;
            put_enrollment(out, e)
        })
    }
}

/// Like enrollkit_set_progress; writes the enrollment to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_set_progress_typed(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    percent: f64,
    out: *mut *mut enrollkit_enrollment,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            let s = self::store(store)?;
            let e = s.store.set_progress(&self::actor(actor)?, text(id, "id")?, percent)?;
            put_enrollment(out, e)
        })
    }
}

/// Like enrollkit_add_progress; writes the enrollment to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_add_progress_typed(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    delta: f64,
    out: *mut *mut enrollkit_enrollment,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            let s = self::store(store)?;
            let e = s.store.add_progress(&self::actor(actor)?, text(id, "id")?, delta)?;
            put_enrollment(out, e)
        })
    }
}

/// Like enrollkit_transition (`command`: ENROLLKIT_COMMAND_*); writes the enrollment to `*out`
/// unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_transition_typed(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    command: u32,
    out: *mut *mut enrollkit_enrollment,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            let s = self::store(store)?;
            let a = self::actor(actor)?;
            let id = text(id, "id")?;
            let cmd = crate::command(command)?;
            put_enrollment(out, s.store.transition(&a, id, &cmd)?)
        })
    }
}

/// Like enrollkit_fail; writes the enrollment to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_fail_typed(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    reason: *const c_char,
    message: *const c_char,
    out: *mut *mut enrollkit_enrollment,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            let s = self::store(store)?;
            let a = self::actor(actor)?;
            let id = text(id, "id")?;
            let reason = FailureReason::parse(text(reason, "reason")?)?;
            let message = opt_text(message, "message")?;
            put_enrollment(out, s.store.fail(&a, id, reason, message)?)
        })
    }
}

fn step_typed(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    step_id: *const c_char,
    out: *mut *mut enrollkit_enrollment,
    change: impl FnOnce() -> Result<StepChange, Failure>,
) -> Outcome {
    let s = self::store(store)?;
    let a = self::actor(actor)?;
    let id = text(id, "id")?;
    let step_id = text(step_id, "step_id")?;
    let change = change()?;
    put_enrollment(out, s.store.update_step(&a, id, step_id, &change)?)
}

/// Like enrollkit_step_start; writes the enrollment to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_step_start_typed(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    step_id: *const c_char,
    out: *mut *mut enrollkit_enrollment,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| step_typed(store, actor, id, step_id, out, || Ok(StepChange::Start)))
    }
}

/// Like enrollkit_step_deliver; writes the enrollment to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_step_deliver_typed(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    step_id: *const c_char,
    destination_type: *const c_char,
    out: *mut *mut enrollkit_enrollment,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            step_typed(store, actor, id, step_id, out, || {
                Ok(StepChange::Deliver {
                    destination_type: opt_text(destination_type, "destination_type")?
                        .map(Into::into),
                })
            })
        })
    }
}

/// Like enrollkit_step_complete (`result_json` may be NULL); writes the enrollment to `*out`
/// unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_step_complete_typed(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    step_id: *const c_char,
    result_json: *const c_char,
    out: *mut *mut enrollkit_enrollment,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            step_typed(store, actor, id, step_id, out, || {
                let result = opt_text(result_json, "result_json")?
                    .map(enrollkit::parse_result)
                    .transpose()?;
                Ok(StepChange::Complete { result })
            })
        })
    }
}

/// Like enrollkit_step_fail; writes the enrollment to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_step_fail_typed(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    step_id: *const c_char,
    reason: *const c_char,
    message: *const c_char,
    out: *mut *mut enrollkit_enrollment,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            step_typed(store, actor, id, step_id, out, || {
                Ok(StepChange::Fail {
                    reason: text(reason, "reason")?.to_owned(),
                    message: opt_text(message, "message")?.map(Into::into),
                })
            })
        })
    }
}

/// Like enrollkit_step_skip; writes the enrollment to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_step_skip_typed(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    step_id: *const c_char,
    out: *mut *mut enrollkit_enrollment,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| step_typed(store, actor, id, step_id, out, || Ok(StepChange::Skip)))
    }
}

/// Like enrollkit_attempt_submit; writes the enrollment (its attempts, best score and passed
/// flag include this attempt) to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_attempt_submit_typed(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    score: f64,
    out: *mut *mut enrollkit_enrollment,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            let s = self::store(store)?;
            let (e, _) = s.store.submit_attempt(&self::actor(actor)?, text(id, "id")?, score)?;
            put_enrollment(out, e)
        })
    }
}

/// Like enrollkit_assign_mentor (`mentor_id` NULL removes the mentor); writes the enrollment
/// to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_assign_mentor_typed(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    mentor_id: *const c_char,
    out: *mut *mut enrollkit_enrollment,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            let s = self::store(store)?;
            let a = self::actor(actor)?;
            let mentor = opt_text(mentor_id, "mentor_id")?;
            put_enrollment(out, s.store.assign_mentor(&a, text(id, "id")?, mentor)?)
        })
    }
}

/// Like enrollkit_set_next_step_at, with the time in milliseconds since the epoch
/// (ENROLLKIT_TIME_ABSENT clears it); writes the enrollment to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_set_next_step_at_typed(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    at: i64,
    out: *mut *mut enrollkit_enrollment,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            let s = self::store(store)?;
            let a = self::actor(actor)?;
            let id = text(id, "id")?;
            let at = millis(at, "at")?;
            put_enrollment(out, s.store.set_next_step_at(&a, id, at)?)
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The due-work queue and work anniversaries

/// Like enrollkit_claim_due (`program_id`: only that program's work, NULL: every program's;
/// `lease_ms`: 1 to ENROLLKIT_MAX_LEASE_MS); writes the claims to `*out` unless `out` is NULL
/// (release them with enrollkit_claim_array_free).
#[no_mangle]
pub extern "C" fn enrollkit_claim_due_typed(
    store: *const enrollkit_store,
    worker: *const c_char,
    program_id: *const c_char,
    limit: u32,
    lease_ms: u64,
    out: *mut *mut enrollkit_claim_array,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            let s = self::store(store)?;
            let worker = text(worker, "worker")?;
            let program = opt_text(program_id, "program_id")?;
            let claims = s.store.claim_due(worker, program, limit, crate::lease(lease_ms))?;
            put_handle(out, || claims.into_iter().map(ClaimRecord::new).collect());
            Ok(())
        })
    }
}

/// Like enrollkit_due (`program_id` NULL: every program), with `until` in milliseconds since
/// the epoch (ENROLLKIT_TIME_ABSENT: at any time); writes the scheduled work, soonest first, to
/// `*out` (must not be NULL; release it with enrollkit_claim_array_free). Changes nothing.
#[no_mangle]
pub extern "C" fn enrollkit_due_typed(
    store: *const enrollkit_store,
    actor: *const c_char,
    program_id: *const c_char,
    until: i64,
    limit: u32,
    out: *mut *mut enrollkit_claim_array,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            need(out, "out")?;
            let s = self::store(store)?;
            let a = self::actor(actor)?;
            let program = opt_text(program_id, "program_id")?;
            let until = millis(until, "until")?;
            let due = s.store.due(&a, program, until, limit)?;
            put_handle(out, || due.into_iter().map(ClaimRecord::new).collect());
            Ok(())
        })
    }
}

/// Like enrollkit_claim_renew (`lease_ms`: 1 to ENROLLKIT_MAX_LEASE_MS); writes the enrollment
/// (its new lease_until) to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_claim_renew_typed(
    store: *const enrollkit_store,
    worker: *const c_char,
    id: *const c_char,
    lease_ms: u64,
    out: *mut *mut enrollkit_enrollment,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            let s = self::store(store)?;
            let worker = text(worker, "worker")?;
            let id = text(id, "id")?;
            put_enrollment(out, s.store.renew_claim(worker, id, crate::lease(lease_ms))?)
        })
    }
}

fn end_claim_typed(
    store: *const enrollkit_store,
    worker: *const c_char,
    id: *const c_char,
    out: *mut *mut enrollkit_enrollment,
    change: impl FnOnce() -> Result<StepChange, Failure>,
) -> Outcome {
    let s = self::store(store)?;
    let worker = text(worker, "worker")?;
    let id = text(id, "id")?;
    let change = change()?;
    put_enrollment(out, s.store.complete_claim(worker, id, &change)?)
}

/// Like enrollkit_claim_deliver; writes the enrollment to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_claim_deliver_typed(
    store: *const enrollkit_store,
    worker: *const c_char,
    id: *const c_char,
    destination_type: *const c_char,
    out: *mut *mut enrollkit_enrollment,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            end_claim_typed(store, worker, id, out, || {
                Ok(StepChange::Deliver {
                    destination_type: opt_text(destination_type, "destination_type")?
                        .map(Into::into),
                })
            })
        })
    }
}

/// Like enrollkit_claim_complete (`result_json` may be NULL); writes the enrollment to `*out`
/// unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_claim_complete_typed(
    store: *const enrollkit_store,
    worker: *const c_char,
    id: *const c_char,
    result_json: *const c_char,
    out: *mut *mut enrollkit_enrollment,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            end_claim_typed(store, worker, id, out, || {
                let result = opt_text(result_json, "result_json")?
                    .map(enrollkit::parse_result)
                    .transpose()?;
                Ok(StepChange::Complete { result })
            })
        })
    }
}

/// Like enrollkit_claim_fail; writes the enrollment to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_claim_fail_typed(
    store: *const enrollkit_store,
    worker: *const c_char,
    id: *const c_char,
    reason: *const c_char,
    message: *const c_char,
    out: *mut *mut enrollkit_enrollment,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            end_claim_typed(store, worker, id, out, || {
                Ok(StepChange::Fail {
                    reason: text(reason, "reason")?.to_owned(),
                    message: opt_text(message, "message")?.map(Into::into),
                })
            })
        })
    }
}

/// Like enrollkit_claim_skip; writes the enrollment to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_claim_skip_typed(
    store: *const enrollkit_store,
    worker: *const c_char,
    id: *const c_char,
    out: *mut *mut enrollkit_enrollment,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| end_claim_typed(store, worker, id, out, || Ok(StepChange::Skip)))
    }
}

/// Like enrollkit_claim_release; writes the enrollment to `*out` unless `out` is NULL.
#[no_mangle]
pub extern "C" fn enrollkit_claim_release_typed(
    store: *const enrollkit_store,
    worker: *const c_char,
    id: *const c_char,
    out: *mut *mut enrollkit_enrollment,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            let s = self::store(store)?;
            let worker = text(worker, "worker")?;
            put_enrollment(out, s.store.release_claim(worker, text(id, "id")?)?)
        })
    }
}

/// Like enrollkit_enroll_anniversaries; writes one outcome per user (by user id; each names its
/// user: enrollkit_enroll_outcomes_user_id) to `*out` unless `out` is NULL (release them with
/// enrollkit_enroll_outcomes_free).
#[no_mangle]
pub extern "C" fn enrollkit_enroll_anniversaries_typed(
    store: *const enrollkit_store,
    actor: *const c_char,
    program_id: *const c_char,
    on_date: *const c_char,
    out: *mut *mut enrollkit_enroll_outcomes,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            let s = self::store(store)?;
            let a = self::actor(actor)?;
            let program = text(program_id, "program_id")?;
            let on = text(on_date, "on_date")?;
            let outcomes = s.store.enroll_anniversaries(&a, program, on)?;
            put_handle(out, || OutcomesRecord::of_users(outcomes));
            Ok(())
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Reading

/// Lists enrollments as `query` says (see enrollkit_list) and writes the page to `*out` (must
/// not be NULL; release it with enrollkit_enrollment_page_free).
#[no_mangle]
pub extern "C" fn enrollkit_list_typed(
    store: *const enrollkit_store,
    actor: *const c_char,
    query: *const enrollkit_list_query,
    out: *mut *mut enrollkit_enrollment_page,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            need(out, "out")?;
            let s = self::store(store)?;
            let a = self::actor(actor)?;
            let page = s.store.list_enrollments(&a, input(query, "query")?)?;
            put_handle(out, || PageRecord::new(page));
            Ok(())
        })
    }
}

/// Writes every enrollment of `user_id` in `program_id`, oldest first, as one page (no more
/// follow) to `*out` (must not be NULL; release it with enrollkit_enrollment_page_free).
#[no_mangle]
pub extern "C" fn enrollkit_lineage_typed(
    store: *const enrollkit_store,
    actor: *const c_char,
    user_id: *const c_char,
    program_id: *const c_char,
    out: *mut *mut enrollkit_enrollment_page,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            need(out, "out")?;
            let s = self::store(store)?;
            let a = self::actor(actor)?;
            let items = s.store.lineage(
                &a,
                text(user_id, "user_id")?,
                text(program_id, "program_id")?,
            )?;
            put_handle(out, || {
                PageRecord::new(enrollkit::EnrollmentPage {
                    items,
                    has_more: false,
                    next_cursor: None,
                })
            });
            Ok(())
        })
    }
}

/// Like enrollkit_waitlist: writes program `program_id`'s waitlisted enrollments in order (the
/// first is promoted into the next seat that frees), at most `limit` (1-1000), as one page to
/// `*out` (must not be NULL; release it with enrollkit_enrollment_page_free). The waitlist is
/// not paged: the page's has_more is false and its next_cursor NULL even when more people
/// wait than `limit`.
#[no_mangle]
pub extern "C" fn enrollkit_waitlist_typed(
    store: *const enrollkit_store,
    actor: *const c_char,
    program_id: *const c_char,
    limit: u32,
    out: *mut *mut enrollkit_enrollment_page,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            need(out, "out")?;
            let s = self::store(store)?;
            let a = self::actor(actor)?;
            let items = s.store.waitlist(&a, text(program_id, "program_id")?, limit)?;
            put_handle(out, || {
                PageRecord::new(enrollkit::EnrollmentPage {
                    items,
                    has_more: false,
                    next_cursor: None,
                })
            });
            Ok(())
        })
    }
}

/// Writes the user with id `id` to `*out` (must not be NULL; release it with
/// enrollkit_user_free).
#[no_mangle]
pub extern "C" fn enrollkit_user_get_typed(
    store: *const enrollkit_store,
    id: *const c_char,
    out: *mut *mut enrollkit_user,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            need(out, "out")?;
            let user = self::store(store)?.store.get_user(text(id, "id")?)?;
            put_handle(out, || UserRecord::new(user));
            Ok(())
        })
    }
}

/// Like enrollkit_user_find (`by`: ENROLLKIT_USER_BY_*); writes the user to `*out` (must not
/// be NULL; release it with enrollkit_user_free).
#[no_mangle]
pub extern "C" fn enrollkit_user_find_typed(
    store: *const enrollkit_store,
    by: u32,
    value: *const c_char,
    out: *mut *mut enrollkit_user,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            need(out, "out")?;
            let s = self::store(store)?;
            let user = s.store.find_user(&crate::user_ref(by, text(value, "value")?)?)?;
            put_handle(out, || UserRecord::new(user));
            Ok(())
        })
    }
}

/// Like enrollkit_user_list; writes the users to `*out` (must not be NULL; release it with
/// enrollkit_user_array_free).
#[no_mangle]
pub extern "C" fn enrollkit_user_list_typed(
    store: *const enrollkit_store,
    after: *const c_char,
    limit: u32,
    out: *mut *mut enrollkit_user_array,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            need(out, "out")?;
            let s = self::store(store)?;
            let users = s.store.list_users(opt_text(after, "after")?, limit)?;
            put_handle(out, || users.into_iter().map(UserRecord::new).collect());
            Ok(())
        })
    }
}

/// Writes the program `id` with its steps to `*out` (must not be NULL; release it with
/// enrollkit_program_free).
#[no_mangle]
pub extern "C" fn enrollkit_program_get_typed(
    store: *const enrollkit_store,
    id: *const c_char,
    out: *mut *mut enrollkit_program,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            need(out, "out")?;
            let program = self::store(store)?.store.get_program(text(id, "id")?)?;
            put_handle(out, || ProgramRecord::new(program));
            Ok(())
        })
    }
}

/// Like enrollkit_program_list (`kind`, `state` and `after` may be NULL); writes the programs
/// to `*out` (must not be NULL; release it with enrollkit_program_array_free).
#[no_mangle]
pub extern "C" fn enrollkit_program_list_typed(
    store: *const enrollkit_store,
    kind: *const c_char,
    state: *const c_char,
    after: *const c_char,
    limit: u32,
    out: *mut *mut enrollkit_program_array,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            need(out, "out")?;
            let s = self::store(store)?;
            let kind = opt_text(kind, "kind")?.map(Kind::parse).transpose()?;
            let state = opt_text(state, "state")?.map(ProgramState::parse).transpose()?;
            let programs = s.store.list_programs(kind, state, opt_text(after, "after")?, limit)?;
            put_handle(out, || programs.into_iter().map(ProgramRecord::new).collect());
            Ok(())
        })
    }
}

/// Writes enrollment `id`'s history, oldest first, to `*out` (must not be NULL; release it
/// with enrollkit_event_array_free). Works for deleted enrollments too.
#[no_mangle]
pub extern "C" fn enrollkit_history_typed(
    store: *const enrollkit_store,
    actor: *const c_char,
    id: *const c_char,
    out: *mut *mut enrollkit_event_array,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            need(out, "out")?;
            let s = self::store(store)?;
            let events = s.store.history(&self::actor(actor)?, text(id, "id")?)?;
            put_handle(out, || events.into_iter().map(EventRecord::new).collect());
            Ok(())
        })
    }
}

/// The change feed: writes at most `limit` (1-1000) events with a sequence number above
/// `after`, oldest first, to `*out` (must not be NULL; release it with
/// enrollkit_event_array_free).
#[no_mangle]
pub extern "C" fn enrollkit_events_after_typed(
    store: *const enrollkit_store,
    actor: *const c_char,
    after: i64,
    limit: u32,
    out: *mut *mut enrollkit_event_array,
) -> enrollkit_result {
    ffi_panic_boundary! {
        result_of(|| {
            need(out, "out")?;
            let s = self::store(store)?;
            let events = s.store.events_after(&self::actor(actor)?, after, limit)?;
            put_handle(out, || events.into_iter().map(EventRecord::new).collect());
            Ok(())
        })
    }
}
