//! Records as handles: an enrollment, a page of enrollments, a user, a program, an event, the
//! arrays listings return, the claims of the due-work queue and the outcomes of a batch enroll,
//! each read through typed accessors instead of JSON text.
//!
//! Accessors never fail and leave the thread's last error as it was. A NULL handle (or an
//! index past the end) reads as NULL, 0, `false` or [`ENROLLKIT_TIME_ABSENT`]. Strings are
//! lent by their handle: converted the first time they are read, valid until the handle is
//! freed, never freed by the caller.

use std::ffi::{c_char, CString};
use std::ptr::null;
use std::sync::OnceLock;

use enrollkit::{
    Deadline, EnrollOutcome, Enrollment, EnrollmentPage, Event, Program, Timestamp, User,
    UserOutcome,
};

use crate::boundary::{free_box, to_const_ptr, try_ref_from_ptr, Castable, Texts};
use crate::{c_string, enrollkit_result};

/// A time accessor's value for an absent time (and for a NULL handle): the smallest int64_t.
/// Times are milliseconds since 1970-01-01T00:00:00Z.
pub const ENROLLKIT_TIME_ABSENT: i64 = i64::MIN;

/// The text of a record's field, lent by the record; NULL for a NULL handle.
fn lend<C: Castable>(
    handle: *const C,
    text: impl FnOnce(&C::RustType) -> *const c_char,
) -> *const c_char {
    try_ref_from_ptr(handle).map_or(null(), text)
}

/// A value of a record; `T::default()` (0, false) for a NULL handle.
fn value<C: Castable, T: Default>(handle: *const C, read: impl FnOnce(&C::RustType) -> T) -> T {
    try_ref_from_ptr(handle).map_or_else(T::default, read)
}

/// A time of a record in milliseconds; ENROLLKIT_TIME_ABSENT when absent or for NULL.
fn time<C: Castable>(
    handle: *const C,
    read: impl FnOnce(&C::RustType) -> Option<Timestamp>,
) -> i64 {
    try_ref_from_ptr(handle)
        .and_then(read)
        .map_or(ENROLLKIT_TIME_ABSENT, Timestamp::millis)
}

/// An optional value: writes it to `*out` (unless `out` is NULL) and returns true when present.
fn optional<C: Castable, T>(
    handle: *const C,
    out: *mut T,
    read: impl FnOnce(&C::RustType) -> Option<T>,
) -> bool {
    match try_ref_from_ptr(handle).and_then(read) {
        Some(v) => {
            crate::put(out, v);
            true
        }
        None => false,
    }
}

/// Item `index` of an array handle, lent by it; NULL past the end or for NULL.
fn item<C: Castable, I: Castable>(
    handle: *const C,
    index: usize,
    items: impl FnOnce(&C::RustType) -> &[I::RustType],
) -> *const I {
    try_ref_from_ptr(handle)
        .and_then(|h| items(h).get(index))
        .map_or(null(), to_const_ptr::<I>)
}

// ---------------------------------------------------------------------------------------------
// Enrollments

/// One enrollment, read with the enrollkit_enrollment_* accessors. An enrollment returned
/// through an output parameter is the caller's: release it with enrollkit_enrollment_free.
/// One lent by a page, by batch outcomes or by claims (enrollkit_enrollment_page_item,
/// enrollkit_enroll_outcomes_enrollment, enrollkit_claim_array_enrollment) belongs to them:
/// never free it. Strings it returns
/// live as long as it does; NULL means the field is absent; times are milliseconds since the
/// epoch, or ENROLLKIT_TIME_ABSENT. A handle may be read from several threads at once.
pub struct enrollkit_enrollment {
    _private: [u8; 0],
}

/// Text fields of an enrollment that its accessors lend: one slot each.
#[derive(Clone, Copy)]
enum EText {
    Id,
    UserId,
    ProgramId,
    Kind,
    Status,
    ResumeStatus,
    Trigger,
    AddedByUserId,
    AddedByProgramId,
    PartnershipId,
    MentorId,
    Timezone,
    FailureReason,
    FailureMessage,
    PreviousId,
    ClaimedBy,
}

/// The record behind an `enrollkit_enrollment`.
pub(crate) struct EnrollmentRecord {
    e: Enrollment,
    texts: Texts<16>,
}

impl EnrollmentRecord {
    pub(crate) fn new(e: Enrollment) -> EnrollmentRecord {
        EnrollmentRecord {
            e,
            texts: Texts::new(),
        }
    }
}

impl Castable for enrollkit_enrollment {
    type RustType = EnrollmentRecord;
}

fn etext(
    handle: *const enrollkit_enrollment,
    slot: EText,
    text: impl FnOnce(&Enrollment) -> Option<&str>,
) -> *const c_char {
    lend(handle, |r| r.texts.lend(slot as usize, text(&r.e)))
}

fn evalue<T: Default>(
    handle: *const enrollkit_enrollment,
    read: impl FnOnce(&Enrollment) -> T,
) -> T {
    value(handle, |r| read(&r.e))
}

fn etime(
    handle: *const enrollkit_enrollment,
    read: impl FnOnce(&Enrollment) -> Option<Timestamp>,
) -> i64 {
    time(handle, |r| read(&r.e))
}

/// Releases an enrollment returned through an output parameter. NULL is fine. Never call it
/// on an enrollment lent by a page, by batch outcomes or by claims, nor twice.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_free(enrollment: *mut enrollkit_enrollment) {
    ffi_panic_boundary! { free_box(enrollment) }
}

/// The enrollment's id ("enr_" and 26 characters unless the caller chose it).
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_id(
    enrollment: *const enrollkit_enrollment,
) -> *const c_char {
    ffi_panic_boundary! { etext(enrollment, EText::Id, |e| Some(&e.id)) }
}

/// The enrolled user's id.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_user_id(
    enrollment: *const enrollkit_enrollment,
) -> *const c_char {
    ffi_panic_boundary! { etext(enrollment, EText::UserId, |e| Some(&e.user_id)) }
}

/// The program's id.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_program_id(
    enrollment: *const enrollkit_enrollment,
) -> *const c_char {
    ffi_panic_boundary! { etext(enrollment, EText::ProgramId, |e| Some(&e.program_id)) }
}

/// The program's kind: "course", "certification" or "track".
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_kind(
    enrollment: *const enrollkit_enrollment,
) -> *const c_char {
    ffi_panic_boundary! { etext(enrollment, EText::Kind, |e| Some(e.kind.as_str())) }
}

/// The status in the kind's vocabulary ("active", "in_progress", "completed", ...,
/// "waitlisted", and "expired" for a course past its deadline).
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_status(
    enrollment: *const enrollkit_enrollment,
) -> *const c_char {
    ffi_panic_boundary! { etext(enrollment, EText::Status, |e| Some(e.status_name())) }
}

/// While paused: the status resuming returns to, in the kind's vocabulary; NULL otherwise.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_resume_status(
    enrollment: *const enrollkit_enrollment,
) -> *const c_char {
    ffi_panic_boundary! {
        etext(enrollment, EText::ResumeStatus, |e| e.resume_status.map(|s| s.label(e.kind)))
    }
}

/// How it was created: "user_join", "manual_user_trigger", "self_join", "schedule",
/// "work_anniversary" or "added_by_another_workflow".
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_trigger(
    enrollment: *const enrollkit_enrollment,
) -> *const c_char {
    ffi_panic_boundary! { etext(enrollment, EText::Trigger, |e| Some(e.trigger.as_str())) }
}

/// Who enrolled the user by hand, or NULL.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_added_by_user_id(
    enrollment: *const enrollkit_enrollment,
) -> *const c_char {
    ffi_panic_boundary! {
        etext(enrollment, EText::AddedByUserId, |e| e.added_by_user_id.as_deref())
    }
}

/// The program (workflow) that enrolled the user, or NULL.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_added_by_program_id(
    enrollment: *const enrollkit_enrollment,
) -> *const c_char {
    ffi_panic_boundary! {
        etext(enrollment, EText::AddedByProgramId, |e| e.added_by_program_id.as_deref())
    }
}

/// The partnership context, or NULL.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_partnership_id(
    enrollment: *const enrollkit_enrollment,
) -> *const c_char {
    ffi_panic_boundary! {
        etext(enrollment, EText::PartnershipId, |e| e.partnership_id.as_deref())
    }
}

/// The mentor's user id, or NULL.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_mentor_id(
    enrollment: *const enrollkit_enrollment,
) -> *const c_char {
    ffi_panic_boundary! { etext(enrollment, EText::MentorId, |e| e.mentor_id.as_deref()) }
}

/// The timezone the enrollment runs in (IANA name), or NULL.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_timezone(
    enrollment: *const enrollkit_enrollment,
) -> *const c_char {
    ffi_panic_boundary! { etext(enrollment, EText::Timezone, |e| e.timezone.as_deref()) }
}

/// Why it failed ("user_not_found", ..., "attempts_exhausted", "deadline_passed"), or NULL.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_failure_reason(
    enrollment: *const enrollkit_enrollment,
) -> *const c_char {
    ffi_panic_boundary! {
        etext(enrollment, EText::FailureReason, |e| e.failure_reason.map(|r| r.as_str()))
    }
}

/// The failure's message, or NULL.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_failure_message(
    enrollment: *const enrollkit_enrollment,
) -> *const c_char {
    ffi_panic_boundary! {
        etext(enrollment, EText::FailureMessage, |e| e.failure_message.as_deref())
    }
}

/// The enrollment this one follows in the user's lineage in the program, or NULL.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_previous_id(
    enrollment: *const enrollkit_enrollment,
) -> *const c_char {
    ffi_panic_boundary! { etext(enrollment, EText::PreviousId, |e| e.previous_id.as_deref()) }
}

/// While a worker holds a claim on the enrollment's due step (enrollkit_claim_due): the
/// worker's id; NULL otherwise.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_claimed_by(
    enrollment: *const enrollkit_enrollment,
) -> *const c_char {
    ffi_panic_boundary! { etext(enrollment, EText::ClaimedBy, |e| e.claimed_by.as_deref()) }
}

/// When the mentor was assigned, or ENROLLKIT_TIME_ABSENT.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_mentor_assigned_at(
    enrollment: *const enrollkit_enrollment,
) -> i64 {
    ffi_panic_boundary! { etime(enrollment, |e| e.mentor_assigned_at) }
}

/// When it was created.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_enrolled_at(enrollment: *const enrollkit_enrollment) -> i64 {
    ffi_panic_boundary! { etime(enrollment, |e| Some(e.enrolled_at)) }
}

/// The scheduled start (tracks), or ENROLLKIT_TIME_ABSENT.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_start_at(enrollment: *const enrollkit_enrollment) -> i64 {
    ffi_panic_boundary! { etime(enrollment, |e| e.start_at) }
}

/// When it started, or ENROLLKIT_TIME_ABSENT.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_started_at(enrollment: *const enrollkit_enrollment) -> i64 {
    ffi_panic_boundary! { etime(enrollment, |e| e.started_at) }
}

/// When every step was delivered (tracks), or ENROLLKIT_TIME_ABSENT.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_delivered_at(
    enrollment: *const enrollkit_enrollment,
) -> i64 {
    ffi_panic_boundary! { etime(enrollment, |e| e.delivered_at) }
}

/// When it completed, or ENROLLKIT_TIME_ABSENT.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_completed_at(
    enrollment: *const enrollkit_enrollment,
) -> i64 {
    ffi_panic_boundary! { etime(enrollment, |e| e.completed_at) }
}

/// When it failed, or ENROLLKIT_TIME_ABSENT.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_failed_at(enrollment: *const enrollkit_enrollment) -> i64 {
    ffi_panic_boundary! { etime(enrollment, |e| e.failed_at) }
}

/// When it was last dropped (courses), or ENROLLKIT_TIME_ABSENT.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_dropped_at(enrollment: *const enrollkit_enrollment) -> i64 {
    ffi_panic_boundary! { etime(enrollment, |e| e.dropped_at) }
}

/// When it was canceled (tracks), or ENROLLKIT_TIME_ABSENT.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_canceled_at(enrollment: *const enrollkit_enrollment) -> i64 {
    ffi_panic_boundary! { etime(enrollment, |e| e.canceled_at) }
}

/// When the next step is scheduled to run, or ENROLLKIT_TIME_ABSENT: computed from the
/// program's step schedules (tracks whose steps have them), else set by the host.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_next_step_at(
    enrollment: *const enrollkit_enrollment,
) -> i64 {
    ffi_panic_boundary! { etime(enrollment, |e| e.next_step_at) }
}

/// While paused (tracks): when it was paused; ENROLLKIT_TIME_ABSENT otherwise. Resuming moves
/// the next scheduled step by the time spent paused.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_paused_at(enrollment: *const enrollkit_enrollment) -> i64 {
    ffi_panic_boundary! { etime(enrollment, |e| e.paused_at) }
}

/// While a worker holds a claim: until when the claim holds (after it, another worker may
/// claim the step); ENROLLKIT_TIME_ABSENT otherwise.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_lease_until(enrollment: *const enrollkit_enrollment) -> i64 {
    ffi_panic_boundary! { etime(enrollment, |e| e.lease_until) }
}

/// When it must be finished by, from the program's deadline policy (a fixed instant, or a
/// number of days after enrollment): past it, enrollkit_expire_due ends it (a course
/// "expired", a certification or track "failed" with reason "deadline_passed");
/// ENROLLKIT_TIME_ABSENT when the program had no deadline when it was enrolled.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_deadline_at(enrollment: *const enrollkit_enrollment) -> i64 {
    ffi_panic_boundary! { etime(enrollment, |e| e.deadline_at) }
}

/// When it last changed.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_updated_at(enrollment: *const enrollkit_enrollment) -> i64 {
    ffi_panic_boundary! { etime(enrollment, |e| Some(e.updated_at)) }
}

/// Progress, 0-100.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_progress(enrollment: *const enrollkit_enrollment) -> f64 {
    ffi_panic_boundary! { evalue(enrollment, |e| e.progress_percent) }
}

/// Steps delivered or completed.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_steps_delivered(
    enrollment: *const enrollkit_enrollment,
) -> u32 {
    ffi_panic_boundary! { evalue(enrollment, |e| e.steps_delivered) }
}

/// Steps completed.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_steps_completed(
    enrollment: *const enrollkit_enrollment,
) -> u32 {
    ffi_panic_boundary! { evalue(enrollment, |e| e.steps_completed) }
}

/// Steps skipped.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_steps_skipped(
    enrollment: *const enrollkit_enrollment,
) -> u32 {
    ffi_panic_boundary! { evalue(enrollment, |e| e.steps_skipped) }
}

/// Steps in the program.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_steps_total(enrollment: *const enrollkit_enrollment) -> u32 {
    ffi_panic_boundary! { evalue(enrollment, |e| e.steps_total) }
}

/// steps_delivered / steps_total in percent (two decimals); 0 without steps.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_delivery_percent(
    enrollment: *const enrollkit_enrollment,
) -> f64 {
    ffi_panic_boundary! { evalue(enrollment, Enrollment::delivery_percent) }
}

/// steps_completed / steps_total in percent (two decimals); 0 without steps.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_completion_percent(
    enrollment: *const enrollkit_enrollment,
) -> f64 {
    ffi_panic_boundary! { evalue(enrollment, Enrollment::completion_percent) }
}

/// The number of assessment attempts.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_attempts(enrollment: *const enrollkit_enrollment) -> u32 {
    ffi_panic_boundary! { evalue(enrollment, |e| e.attempts) }
}

/// 1 for the user's first enrollment in the program, then 2, 3, ...
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_attempt_number(
    enrollment: *const enrollkit_enrollment,
) -> u32 {
    ffi_panic_boundary! { evalue(enrollment, |e| e.attempt_number) }
}

/// The best assessment score: true and `*out` (unless `out` is NULL) after the first attempt;
/// false before it, `*out` untouched.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_best_score(
    enrollment: *const enrollkit_enrollment,
    out: *mut f64,
) -> bool {
    ffi_panic_boundary! { optional(enrollment, out, |r| r.e.best_score) }
}

/// Whether an attempt reached the passing score: true and `*out` (unless `out` is NULL) once
/// known; false before the first attempt or when the program has no passing score, `*out`
/// untouched.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_passed(
    enrollment: *const enrollkit_enrollment,
    out: *mut bool,
) -> bool {
    ffi_panic_boundary! { optional(enrollment, out, |r| r.e.passed) }
}

// ---------------------------------------------------------------------------------------------
// Pages of enrollments

/// One page of enrollments (enrollkit_list_typed, enrollkit_lineage_typed,
/// enrollkit_waitlist_typed): its items are lent by the page (enrollkit_enrollment_page_item;
/// never free them). Release it with enrollkit_enrollment_page_free.
pub struct enrollkit_enrollment_page {
    _private: [u8; 0],
}

/// The record behind an `enrollkit_enrollment_page`.
pub(crate) struct PageRecord {
    items: Vec<EnrollmentRecord>,
    has_more: bool,
    next_cursor: Option<CString>,
}

impl PageRecord {
    pub(crate) fn new(page: EnrollmentPage) -> PageRecord {
        PageRecord {
            items: page.items.into_iter().map(EnrollmentRecord::new).collect(),
            has_more: page.has_more,
            next_cursor: page.next_cursor.map(c_string),
        }
    }
}

impl Castable for enrollkit_enrollment_page {
    type RustType = PageRecord;
}

/// Releases a page and every enrollment it lent. NULL is fine.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_page_free(page: *mut enrollkit_enrollment_page) {
    ffi_panic_boundary! { free_box(page) }
}

/// The number of enrollments on the page.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_page_count(page: *const enrollkit_enrollment_page) -> usize {
    ffi_panic_boundary! { value(page, |p| p.items.len()) }
}

/// Enrollment `index` (0-based) of the page, lent by it; NULL past the end.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_page_item(
    page: *const enrollkit_enrollment_page,
    index: usize,
) -> *const enrollkit_enrollment {
    ffi_panic_boundary! { item::<_, enrollkit_enrollment>(page, index, |p| &p.items) }
}

/// Whether more enrollments follow this page.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_page_has_more(
    page: *const enrollkit_enrollment_page,
) -> bool {
    ffi_panic_boundary! { value(page, |p| p.has_more) }
}

/// The cursor of the next page (give it to enrollkit_list_query_set_cursor), or NULL at the
/// end and for page-numbered listings.
#[no_mangle]
pub extern "C" fn enrollkit_enrollment_page_next_cursor(
    page: *const enrollkit_enrollment_page,
) -> *const c_char {
    ffi_panic_boundary! {
        lend(page, |p| p.next_cursor.as_ref().map_or(null(), |c| c.as_ptr()))
    }
}

// ---------------------------------------------------------------------------------------------
// Users

/// One user, read with the enrollkit_user_* accessors (same rules as enrollkit_enrollment).
/// A user returned through an output parameter is released with enrollkit_user_free; one lent
/// by an enrollkit_user_array belongs to it.
pub struct enrollkit_user {
    _private: [u8; 0],
}

#[derive(Clone, Copy)]
enum UText {
    Id,
    Email,
    DisplayName,
    ExternalId,
    Department,
    Location,
    ManagerId,
    Timezone,
    HireDate,
}

/// The record behind an `enrollkit_user`.
pub(crate) struct UserRecord {
    u: User,
    texts: Texts<9>,
    groups: OnceLock<Vec<CString>>,
    partnerships: OnceLock<Vec<CString>>,
}

impl UserRecord {
    pub(crate) fn new(u: User) -> UserRecord {
        UserRecord {
            u,
            texts: Texts::new(),
            groups: OnceLock::new(),
            partnerships: OnceLock::new(),
        }
    }
}

impl Castable for enrollkit_user {
    type RustType = UserRecord;
}

fn utext(
    handle: *const enrollkit_user,
    slot: UText,
    text: impl FnOnce(&User) -> Option<&str>,
) -> *const c_char {
    lend(handle, |r| r.texts.lend(slot as usize, text(&r.u)))
}

/// Releases a user returned through an output parameter. NULL is fine.
#[no_mangle]
pub extern "C" fn enrollkit_user_free(user: *mut enrollkit_user) {
    ffi_panic_boundary! { free_box(user) }
}

/// The user's id.
#[no_mangle]
pub extern "C" fn enrollkit_user_id(user: *const enrollkit_user) -> *const c_char {
    ffi_panic_boundary! { utext(user, UText::Id, |u| Some(&u.id)) }
}

/// The email address, or NULL.
#[no_mangle]
pub extern "C" fn enrollkit_user_email(user: *const enrollkit_user) -> *const c_char {
    ffi_panic_boundary! { utext(user, UText::Email, |u| u.email.as_deref()) }
}

/// The display name, or NULL.
#[no_mangle]
pub extern "C" fn enrollkit_user_display_name(user: *const enrollkit_user) -> *const c_char {
    ffi_panic_boundary! { utext(user, UText::DisplayName, |u| u.display_name.as_deref()) }
}

/// The external chat id (the track reference's slack_user_id), or NULL.
#[no_mangle]
pub extern "C" fn enrollkit_user_external_id(user: *const enrollkit_user) -> *const c_char {
    ffi_panic_boundary! { utext(user, UText::ExternalId, |u| u.external_id.as_deref()) }
}

/// The department, or NULL.
#[no_mangle]
pub extern "C" fn enrollkit_user_department(user: *const enrollkit_user) -> *const c_char {
    ffi_panic_boundary! { utext(user, UText::Department, |u| u.department.as_deref()) }
}

/// The work location, or NULL.
#[no_mangle]
pub extern "C" fn enrollkit_user_location(user: *const enrollkit_user) -> *const c_char {
    ffi_panic_boundary! { utext(user, UText::Location, |u| u.location.as_deref()) }
}

/// The manager's user id, or NULL.
#[no_mangle]
pub extern "C" fn enrollkit_user_manager_id(user: *const enrollkit_user) -> *const c_char {
    ffi_panic_boundary! { utext(user, UText::ManagerId, |u| u.manager_id.as_deref()) }
}

/// The IANA timezone name, or NULL.
#[no_mangle]
pub extern "C" fn enrollkit_user_timezone(user: *const enrollkit_user) -> *const c_char {
    ffi_panic_boundary! { utext(user, UText::Timezone, |u| u.timezone.as_deref()) }
}

/// The hire date, "YYYY-MM-DD" (work anniversaries: enrollkit_enroll_anniversaries), or NULL.
#[no_mangle]
pub extern "C" fn enrollkit_user_hire_date(user: *const enrollkit_user) -> *const c_char {
    ffi_panic_boundary! { utext(user, UText::HireDate, |u| u.hire_date.as_deref()) }
}

/// The number of groups the user belongs to.
#[no_mangle]
pub extern "C" fn enrollkit_user_group_count(user: *const enrollkit_user) -> usize {
    ffi_panic_boundary! { value(user, |r| r.u.groups.len()) }
}

/// Group `index` (0-based), or NULL past the end.
#[no_mangle]
pub extern "C" fn enrollkit_user_group(user: *const enrollkit_user, index: usize) -> *const c_char {
    ffi_panic_boundary! {
        lend(user, |r| {
            r.groups
                .get_or_init(|| r.u.groups.iter().cloned().map(c_string).collect())
                .get(index)
                .map_or(null(), |g| g.as_ptr())
        })
    }
}

/// The number of partnerships the user belongs to (a partner user: their certification
/// enrollments name one of them as partnership_id); 0 for other users.
#[no_mangle]
pub extern "C" fn enrollkit_user_partnership_count(user: *const enrollkit_user) -> usize {
    ffi_panic_boundary! { value(user, |r| r.u.partnerships.len()) }
}

/// Partnership `index` (0-based, an id), or NULL past the end.
#[no_mangle]
pub extern "C" fn enrollkit_user_partnership(
    user: *const enrollkit_user,
    index: usize,
) -> *const c_char {
    ffi_panic_boundary! {
        lend(user, |r| {
            r.partnerships
                .get_or_init(|| r.u.partnerships.iter().cloned().map(c_string).collect())
                .get(index)
                .map_or(null(), |p| p.as_ptr())
        })
    }
}

/// Users returned by enrollkit_user_list_typed: the users are lent by the array
/// (enrollkit_user_array_item). Release it with enrollkit_user_array_free.
pub struct enrollkit_user_array {
    _private: [u8; 0],
}

impl Castable for enrollkit_user_array {
    type RustType = Vec<UserRecord>;
}

/// Releases an array of users and every user it lent. NULL is fine.
#[no_mangle]
pub extern "C" fn enrollkit_user_array_free(array: *mut enrollkit_user_array) {
    ffi_panic_boundary! { free_box(array) }
}

/// The number of users in the array.
#[no_mangle]
pub extern "C" fn enrollkit_user_array_count(array: *const enrollkit_user_array) -> usize {
    ffi_panic_boundary! { value(array, Vec::len) }
}

/// User `index` (0-based) of the array, lent by it; NULL past the end.
#[no_mangle]
pub extern "C" fn enrollkit_user_array_item(
    array: *const enrollkit_user_array,
    index: usize,
) -> *const enrollkit_user {
    ffi_panic_boundary! { item::<_, enrollkit_user>(array, index, |a| a) }
}

// ---------------------------------------------------------------------------------------------
// Programs

/// One program with its steps, read with the enrollkit_program_* accessors (same rules as
/// enrollkit_enrollment). A program returned through an output parameter is released with
/// enrollkit_program_free; one lent by an enrollkit_program_array belongs to it.
pub struct enrollkit_program {
    _private: [u8; 0],
}

#[derive(Clone, Copy)]
enum PText {
    Id,
    Kind,
    Title,
    Description,
    State,
}

/// NUL-terminated copies of one step's texts.
struct StepTexts {
    id: CString,
    step_type: CString,
    title: CString,
    /// The schedule's anchor, unit and time of day, when it has a schedule (and a time).
    after: Option<CString>,
    unit: Option<CString>,
    at: Option<CString>,
}

/// The record behind an `enrollkit_program`.
pub(crate) struct ProgramRecord {
    p: Program,
    texts: Texts<5>,
    steps: OnceLock<Vec<StepTexts>>,
    prerequisites: OnceLock<Vec<CString>>,
}

impl ProgramRecord {
    pub(crate) fn new(p: Program) -> ProgramRecord {
        ProgramRecord {
            p,
            texts: Texts::new(),
            steps: OnceLock::new(),
            prerequisites: OnceLock::new(),
        }
    }

    /// The texts of step `index`, converted (for every step) the first time one is read.
    fn step(&self, index: usize) -> Option<&StepTexts> {
        self.steps
            .get_or_init(|| {
                self.p
                    .steps
                    .iter()
                    .map(|s| StepTexts {
                        id: c_string(s.id.clone()),
                        step_type: c_string(s.step_type.clone()),
                        title: c_string(s.title.clone()),
                        after: s.schedule.map(|p| c_string(p.after.as_str().to_owned())),
                        unit: s.schedule.map(|p| c_string(p.unit.as_str().to_owned())),
                        at: s
                            .schedule
                            .and_then(|p| p.at)
                            .map(|t| c_string(t.to_string())),
                    })
                    .collect()
            })
            .get(index)
    }
}

impl Castable for enrollkit_program {
    type RustType = ProgramRecord;
}

fn ptext(
    handle: *const enrollkit_program,
    slot: PText,
    text: impl FnOnce(&Program) -> Option<&str>,
) -> *const c_char {
    lend(handle, |r| r.texts.lend(slot as usize, text(&r.p)))
}

fn step_text(
    handle: *const enrollkit_program,
    index: usize,
    text: impl FnOnce(&StepTexts) -> &CString,
) -> *const c_char {
    lend(handle, |r| {
        r.step(index).map_or(null(), |s| text(s).as_ptr())
    })
}

/// An optional text of step `index`: NULL when absent, past the end or for NULL.
fn step_opt_text(
    handle: *const enrollkit_program,
    index: usize,
    text: impl FnOnce(&StepTexts) -> Option<&CString>,
) -> *const c_char {
    lend(handle, |r| {
        r.step(index).and_then(text).map_or(null(), |t| t.as_ptr())
    })
}

/// Releases a program returned through an output parameter. NULL is fine.
#[no_mangle]
pub extern "C" fn enrollkit_program_free(program: *mut enrollkit_program) {
    ffi_panic_boundary! { free_box(program) }
}

/// The program's id.
#[no_mangle]
pub extern "C" fn enrollkit_program_id(program: *const enrollkit_program) -> *const c_char {
    ffi_panic_boundary! { ptext(program, PText::Id, |p| Some(&p.id)) }
}

/// The kind: "course", "certification" or "track".
#[no_mangle]
pub extern "C" fn enrollkit_program_kind(program: *const enrollkit_program) -> *const c_char {
    ffi_panic_boundary! { ptext(program, PText::Kind, |p| Some(p.kind.as_str())) }
}

/// The title.
#[no_mangle]
pub extern "C" fn enrollkit_program_title(program: *const enrollkit_program) -> *const c_char {
    ffi_panic_boundary! { ptext(program, PText::Title, |p| Some(&p.title)) }
}

/// The description, or NULL.
#[no_mangle]
pub extern "C" fn enrollkit_program_description(
    program: *const enrollkit_program,
) -> *const c_char {
    ffi_panic_boundary! { ptext(program, PText::Description, |p| p.description.as_deref()) }
}

/// The state: "draft", "active", "paused" or "archived".
#[no_mangle]
pub extern "C" fn enrollkit_program_state(program: *const enrollkit_program) -> *const c_char {
    ffi_panic_boundary! { ptext(program, PText::State, |p| Some(p.state.as_str())) }
}

/// Whether learners may enroll themselves.
#[no_mangle]
pub extern "C" fn enrollkit_program_self_enrollment(program: *const enrollkit_program) -> bool {
    ffi_panic_boundary! { value(program, |r| r.p.self_enrollment) }
}

/// The assessment's passing score: true and `*out` (unless `out` is NULL) when the program
/// has an assessment; false otherwise, `*out` untouched.
#[no_mangle]
pub extern "C" fn enrollkit_program_passing_score(
    program: *const enrollkit_program,
    out: *mut f64,
) -> bool {
    ffi_panic_boundary! { optional(program, out, |r| r.p.assessment.map(|a| a.passing_score)) }
}

/// The assessment's attempt limit: true and `*out` (unless `out` is NULL) when there is one;
/// false without an assessment or with unlimited attempts, `*out` untouched.
#[no_mangle]
pub extern "C" fn enrollkit_program_max_attempts(
    program: *const enrollkit_program,
    out: *mut u32,
) -> bool {
    ffi_panic_boundary! {
        optional(program, out, |r| r.p.assessment.and_then(|a| a.max_attempts))
    }
}

/// When the program was created.
#[no_mangle]
pub extern "C" fn enrollkit_program_created_at(program: *const enrollkit_program) -> i64 {
    ffi_panic_boundary! { time(program, |r| Some(r.p.created_at)) }
}

/// When the program last changed.
#[no_mangle]
pub extern "C" fn enrollkit_program_updated_at(program: *const enrollkit_program) -> i64 {
    ffi_panic_boundary! { time(program, |r| Some(r.p.updated_at)) }
}

/// The number of steps.
#[no_mangle]
pub extern "C" fn enrollkit_program_step_count(program: *const enrollkit_program) -> usize {
    ffi_panic_boundary! { value(program, |r| r.p.steps.len()) }
}

/// The id of step `index` (0-based, in the program's order), or NULL past the end.
#[no_mangle]
pub extern "C" fn enrollkit_program_step_id(
    program: *const enrollkit_program,
    index: usize,
) -> *const c_char {
    ffi_panic_boundary! { step_text(program, index, |s| &s.id) }
}

/// The type of step `index` ("message", "survey", ...), or NULL past the end.
#[no_mangle]
pub extern "C" fn enrollkit_program_step_type(
    program: *const enrollkit_program,
    index: usize,
) -> *const c_char {
    ffi_panic_boundary! { step_text(program, index, |s| &s.step_type) }
}

/// The title of step `index`, or NULL past the end.
#[no_mangle]
pub extern "C" fn enrollkit_program_step_title(
    program: *const enrollkit_program,
    index: usize,
) -> *const c_char {
    ffi_panic_boundary! { step_text(program, index, |s| &s.title) }
}

/// Whether the learner can complete step `index`; false past the end.
#[no_mangle]
pub extern "C" fn enrollkit_program_step_learner_completable(
    program: *const enrollkit_program,
    index: usize,
) -> bool {
    ffi_panic_boundary! {
        value(program, |r| r.p.steps.get(index).is_some_and(|s| s.learner_completable))
    }
}

/// Whether step `index` has a schedule (tracks: when it runs, read with the
/// enrollkit_program_step_schedule_* accessors); false without one, past the end or for NULL.
#[no_mangle]
pub extern "C" fn enrollkit_program_step_has_schedule(
    program: *const enrollkit_program,
    index: usize,
) -> bool {
    ffi_panic_boundary! {
        value(program, |r| r.p.steps.get(index).is_some_and(|s| s.schedule.is_some()))
    }
}

/// What the delay of step `index`'s schedule counts from: "start" (the enrollment's start) or
/// "previous_step" (when the step before it was delivered, skipped, completed or failed); NULL
/// without a schedule or past the end.
#[no_mangle]
pub extern "C" fn enrollkit_program_step_schedule_after(
    program: *const enrollkit_program,
    index: usize,
) -> *const c_char {
    ffi_panic_boundary! { step_opt_text(program, index, |s| s.after.as_ref()) }
}

/// The delay of step `index`'s schedule, in its unit; 0 without a schedule or past the end
/// (enrollkit_program_step_has_schedule tells the two apart).
#[no_mangle]
pub extern "C" fn enrollkit_program_step_schedule_delay(
    program: *const enrollkit_program,
    index: usize,
) -> u32 {
    ffi_panic_boundary! {
        value(program, |r| r.p.steps.get(index).and_then(|s| s.schedule).map_or(0, |p| p.delay))
    }
}

/// The unit of step `index`'s schedule: "minutes", "hours" (elapsed time), "days" or
/// "business_days" (in the enrollee's time zone); NULL without a schedule or past the end.
#[no_mangle]
pub extern "C" fn enrollkit_program_step_schedule_unit(
    program: *const enrollkit_program,
    index: usize,
) -> *const c_char {
    ffi_panic_boundary! { step_opt_text(program, index, |s| s.unit.as_ref()) }
}

/// The local time of day step `index` runs at, "HH:MM" in the enrollee's time zone; NULL when
/// its schedule has none (the step keeps its anchor's time of day), without a schedule or past
/// the end.
#[no_mangle]
pub extern "C" fn enrollkit_program_step_schedule_at(
    program: *const enrollkit_program,
    index: usize,
) -> *const c_char {
    ffi_panic_boundary! { step_opt_text(program, index, |s| s.at.as_ref()) }
}

/// When enrolling opens (enrollkit_enroll before it fails with
/// ENROLLKIT_RESULT_ENROLLMENT_CLOSED), or ENROLLKIT_TIME_ABSENT when the program has no such
/// policy.
#[no_mangle]
pub extern "C" fn enrollkit_program_enroll_opens_at(program: *const enrollkit_program) -> i64 {
    ffi_panic_boundary! { time(program, |r| r.p.policy.enroll_opens_at) }
}

/// When enrolling closes (enrollkit_enroll at or after it fails with
/// ENROLLKIT_RESULT_ENROLLMENT_CLOSED), or ENROLLKIT_TIME_ABSENT when the program has no such
/// policy.
#[no_mangle]
pub extern "C" fn enrollkit_program_enroll_closes_at(program: *const enrollkit_program) -> i64 {
    ffi_panic_boundary! { time(program, |r| r.p.policy.enroll_closes_at) }
}

/// The kind of the program's deadline policy, static (never free it): "at" (every enrollment
/// must be finished by one instant: enrollkit_program_deadline_at) or "after_days" (a number
/// of days after enrolling: enrollkit_program_deadline_after_days); NULL without a deadline.
#[no_mangle]
pub extern "C" fn enrollkit_program_deadline_kind(
    program: *const enrollkit_program,
) -> *const c_char {
    ffi_panic_boundary! {
        lend(program, |r| match r.p.policy.deadline {
            Some(Deadline::At(_)) => c"at".as_ptr(),
            Some(Deadline::AfterDays(_)) => c"after_days".as_ptr(),
            None => null(),
        })
    }
}

/// The instant of an "at" deadline; ENROLLKIT_TIME_ABSENT for any other deadline or none.
#[no_mangle]
pub extern "C" fn enrollkit_program_deadline_at(program: *const enrollkit_program) -> i64 {
    ffi_panic_boundary! {
        time(program, |r| match r.p.policy.deadline {
            Some(Deadline::At(at)) => Some(at),
            _ => None,
        })
    }
}

/// The days of an "after_days" deadline (1 to 36500); 0 for any other deadline or none.
#[no_mangle]
pub extern "C" fn enrollkit_program_deadline_after_days(program: *const enrollkit_program) -> u32 {
    ffi_panic_boundary! {
        value(program, |r| match r.p.policy.deadline {
            Some(Deadline::AfterDays(days)) => days,
            _ => 0,
        })
    }
}

/// The program's capacity (how many open enrollments it holds at most): true and `*out`
/// (unless `out` is NULL) when it has one; false otherwise, `*out` untouched.
#[no_mangle]
pub extern "C" fn enrollkit_program_capacity(
    program: *const enrollkit_program,
    out: *mut u32,
) -> bool {
    ffi_panic_boundary! { optional(program, out, |r| r.p.policy.capacity) }
}

/// Whether enrolling into the full program joins its waitlist (enrollkit_waitlist,
/// enrollkit_waitlist_position) rather than being refused (ENROLLKIT_RESULT_PROGRAM_FULL);
/// false without a waitlist.
#[no_mangle]
pub extern "C" fn enrollkit_program_waitlist(program: *const enrollkit_program) -> bool {
    ffi_panic_boundary! { value(program, |r| r.p.policy.waitlist) }
}

/// The number of programs a user must have completed before enrolling in this one (all of
/// them; ENROLLKIT_RESULT_PREREQUISITES_NOT_MET otherwise, unless an admin overrides them).
#[no_mangle]
pub extern "C" fn enrollkit_program_prerequisite_count(program: *const enrollkit_program) -> usize {
    ffi_panic_boundary! { value(program, |r| r.p.policy.prerequisites.len()) }
}

/// The id of prerequisite `index` (0-based, in the program's order), or NULL past the end.
#[no_mangle]
pub extern "C" fn enrollkit_program_prerequisite(
    program: *const enrollkit_program,
    index: usize,
) -> *const c_char {
    ffi_panic_boundary! {
        lend(program, |r| {
            r.prerequisites
                .get_or_init(|| r.p.policy.prerequisites.iter().cloned().map(c_string).collect())
                .get(index)
                .map_or(null(), |p| p.as_ptr())
        })
    }
}

/// Programs returned by enrollkit_program_list_typed, lent by the array
/// (enrollkit_program_array_item). Release it with enrollkit_program_array_free.
pub struct enrollkit_program_array {
    _private: [u8; 0],
}

impl Castable for enrollkit_program_array {
    type RustType = Vec<ProgramRecord>;
}

/// Releases an array of programs and every program it lent. NULL is fine.
#[no_mangle]
pub extern "C" fn enrollkit_program_array_free(array: *mut enrollkit_program_array) {
    ffi_panic_boundary! { free_box(array) }
}

/// The number of programs in the array.
#[no_mangle]
pub extern "C" fn enrollkit_program_array_count(array: *const enrollkit_program_array) -> usize {
    ffi_panic_boundary! { value(array, Vec::len) }
}

/// Program `index` (0-based) of the array, lent by it; NULL past the end.
#[no_mangle]
pub extern "C" fn enrollkit_program_array_item(
    array: *const enrollkit_program_array,
    index: usize,
) -> *const enrollkit_program {
    ffi_panic_boundary! { item::<_, enrollkit_program>(array, index, |a| a) }
}

// ---------------------------------------------------------------------------------------------
// Events

/// One history event, read with the enrollkit_event_* accessors (same rules as
/// enrollkit_enrollment). Events come in an enrollkit_event_array, which lends them.
pub struct enrollkit_event {
    _private: [u8; 0],
}

#[derive(Clone, Copy)]
enum VText {
    EnrollmentId,
    UserId,
    ProgramId,
    Action,
    FromStatus,
    ToStatus,
    Actor,
    Reason,
}

/// The record behind an `enrollkit_event`.
pub(crate) struct EventRecord {
    ev: Event,
    texts: Texts<8>,
}

impl EventRecord {
    pub(crate) fn new(ev: Event) -> EventRecord {
        EventRecord {
            ev,
            texts: Texts::new(),
        }
    }
}

impl Castable for enrollkit_event {
    type RustType = EventRecord;
}

fn vtext(
    handle: *const enrollkit_event,
    slot: VText,
    text: impl FnOnce(&Event) -> Option<&str>,
) -> *const c_char {
    lend(handle, |r| r.texts.lend(slot as usize, text(&r.ev)))
}

/// The event's sequence number (strictly increasing across the database).
#[no_mangle]
pub extern "C" fn enrollkit_event_seq(event: *const enrollkit_event) -> i64 {
    ffi_panic_boundary! { value(event, |r| r.ev.seq) }
}

/// The enrollment's id.
#[no_mangle]
pub extern "C" fn enrollkit_event_enrollment_id(event: *const enrollkit_event) -> *const c_char {
    ffi_panic_boundary! { vtext(event, VText::EnrollmentId, |v| Some(&v.enrollment_id)) }
}

/// The enrollment's user.
#[no_mangle]
pub extern "C" fn enrollkit_event_user_id(event: *const enrollkit_event) -> *const c_char {
    ffi_panic_boundary! { vtext(event, VText::UserId, |v| Some(&v.user_id)) }
}

/// The enrollment's program.
#[no_mangle]
pub extern "C" fn enrollkit_event_program_id(event: *const enrollkit_event) -> *const c_char {
    ffi_panic_boundary! { vtext(event, VText::ProgramId, |v| Some(&v.program_id)) }
}

/// What happened: "enrolled", "progress", "complete_step", "attempt", "drop", "deleted", ...
#[no_mangle]
pub extern "C" fn enrollkit_event_action(event: *const enrollkit_event) -> *const c_char {
    ffi_panic_boundary! { vtext(event, VText::Action, |v| Some(&v.action)) }
}

/// The status before, in the program's vocabulary; NULL for "enrolled".
#[no_mangle]
pub extern "C" fn enrollkit_event_from_status(event: *const enrollkit_event) -> *const c_char {
    ffi_panic_boundary! { vtext(event, VText::FromStatus, |v| v.from_status.as_deref()) }
}

/// The status after, in the program's vocabulary; NULL for "deleted".
#[no_mangle]
pub extern "C" fn enrollkit_event_to_status(event: *const enrollkit_event) -> *const c_char {
    ffi_panic_boundary! { vtext(event, VText::ToStatus, |v| v.to_status.as_deref()) }
}

/// Who did it: "admin", "system" or "learner:<user id>".
#[no_mangle]
pub extern "C" fn enrollkit_event_actor(event: *const enrollkit_event) -> *const c_char {
    ffi_panic_boundary! { vtext(event, VText::Actor, |v| Some(&v.actor)) }
}

/// The reason or detail (failure reason, step id, score, ...), or NULL.
#[no_mangle]
pub extern "C" fn enrollkit_event_reason(event: *const enrollkit_event) -> *const c_char {
    ffi_panic_boundary! { vtext(event, VText::Reason, |v| v.reason.as_deref()) }
}

/// When it happened.
#[no_mangle]
pub extern "C" fn enrollkit_event_at(event: *const enrollkit_event) -> i64 {
    ffi_panic_boundary! { time(event, |r| Some(r.ev.at)) }
}

/// Events returned by enrollkit_history_typed and enrollkit_events_after_typed, oldest first,
/// lent by the array (enrollkit_event_array_item). Release it with enrollkit_event_array_free.
pub struct enrollkit_event_array {
    _private: [u8; 0],
}

impl Castable for enrollkit_event_array {
    type RustType = Vec<EventRecord>;
}

/// Releases an array of events and every event it lent. NULL is fine.
#[no_mangle]
pub extern "C" fn enrollkit_event_array_free(array: *mut enrollkit_event_array) {
    ffi_panic_boundary! { free_box(array) }
}

/// The number of events in the array.
#[no_mangle]
pub extern "C" fn enrollkit_event_array_count(array: *const enrollkit_event_array) -> usize {
    ffi_panic_boundary! { value(array, Vec::len) }
}

/// Event `index` (0-based) of the array, lent by it; NULL past the end.
#[no_mangle]
pub extern "C" fn enrollkit_event_array_item(
    array: *const enrollkit_event_array,
    index: usize,
) -> *const enrollkit_event {
    ffi_panic_boundary! { item::<_, enrollkit_event>(array, index, |a| a) }
}

// ---------------------------------------------------------------------------------------------
// Claims of the due-work queue

/// The claims enrollkit_claim_due_typed made, oldest due first: each an enrollment, claimed
/// (enrollkit_claim_array_enrollment: `processing` or `processing_batch`, with claimed_by and
/// lease_until), and the id of the step to run (enrollkit_claim_array_step_id). Or the scheduled
/// work enrollkit_due_typed read, soonest first, in the same shape: each enrollment as it is
/// (claimed by a worker or not) with the step that runs next. Both are lent by the array.
/// Release it with enrollkit_claim_array_free.
pub struct enrollkit_claim_array {
    _private: [u8; 0],
}

/// One claim: the enrollment and the step id, converted for C.
pub(crate) struct ClaimRecord {
    enrollment: EnrollmentRecord,
    step_id: Option<CString>,
}

impl ClaimRecord {
    pub(crate) fn new(claim: enrollkit::Claim) -> ClaimRecord {
        ClaimRecord {
            enrollment: EnrollmentRecord::new(claim.enrollment),
            step_id: claim.step_id.map(c_string),
        }
    }
}

impl Castable for enrollkit_claim_array {
    type RustType = Vec<ClaimRecord>;
}

/// Releases claims and every enrollment they lent. NULL is fine. (The claims themselves hold in
/// the database until each is ended or its lease ends.)
#[no_mangle]
pub extern "C" fn enrollkit_claim_array_free(array: *mut enrollkit_claim_array) {
    ffi_panic_boundary! { free_box(array) }
}

/// The number of claims.
#[no_mangle]
pub extern "C" fn enrollkit_claim_array_count(array: *const enrollkit_claim_array) -> usize {
    ffi_panic_boundary! { value(array, Vec::len) }
}

/// The enrollment of claim `index` (0-based), as claimed, lent by the array; NULL past the end.
#[no_mangle]
pub extern "C" fn enrollkit_claim_array_enrollment(
    array: *const enrollkit_claim_array,
    index: usize,
) -> *const enrollkit_enrollment {
    ffi_panic_boundary! {
        match try_ref_from_ptr(array).and_then(|a| a.get(index)) {
            Some(c) => to_const_ptr::<enrollkit_enrollment>(&c.enrollment),
            None => null(),
        }
    }
}

/// The id of the step claim `index` is to run, lent by the array; NULL past the end, or when
/// the program has no step pending (work the host scheduled with enrollkit_set_next_step_at:
/// enrollkit_claim_deliver, _complete or _skip ends such a claim and clears its next_step_at;
/// enrollkit_claim_fail refuses it, there being no step to fail).
#[no_mangle]
pub extern "C" fn enrollkit_claim_array_step_id(
    array: *const enrollkit_claim_array,
    index: usize,
) -> *const c_char {
    ffi_panic_boundary! {
        match try_ref_from_ptr(array).and_then(|a| a.get(index)) {
            Some(ClaimRecord { step_id: Some(id), .. }) => id.as_ptr(),
            _ => null(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Outcomes of a batch enroll

/// enrollkit_enroll_outcomes_kind: no such row (NULL outcomes, or an index past the end).
pub const ENROLLKIT_OUTCOME_NONE: u32 = 0;
/// enrollkit_enroll_outcomes_kind: the row created an enrollment
/// (enrollkit_enroll_outcomes_enrollment).
pub const ENROLLKIT_OUTCOME_CREATED: u32 = 1;
/// enrollkit_enroll_outcomes_kind: the user already had an enrollment that blocks a new one
/// (enrollkit_enroll_outcomes_existing_id).
pub const ENROLLKIT_OUTCOME_ALREADY_ENROLLED: u32 = 2;
/// enrollkit_enroll_outcomes_kind: the row was refused (enrollkit_enroll_outcomes_error,
/// _error_message, _error_details).
pub const ENROLLKIT_OUTCOME_FAILED: u32 = 3;
/// enrollkit_enroll_outcomes_kind: the row was valid but not written, because another row
/// failed in an all-or-nothing batch.
pub const ENROLLKIT_OUTCOME_NOT_APPLIED: u32 = 4;

/// One outcome per row of enrollkit_enroll_many_typed, in the rows' order (per user, by user
/// id, for enrollkit_enroll_anniversaries_typed, each naming its user:
/// enrollkit_enroll_outcomes_user_id). Enrollments and strings are lent by the outcomes.
/// Release them with enrollkit_enroll_outcomes_free.
pub struct enrollkit_enroll_outcomes {
    _private: [u8; 0],
}

/// One row's outcome, its texts converted for C. Nearly every row of a batch is `Created`, so
/// the enrollment is kept inline: boxing it would cost an allocation per row.
#[allow(clippy::large_enum_variant)]
pub(crate) enum OutcomeRecord {
    Created(EnrollmentRecord),
    AlreadyEnrolled(CString),
    Failed {
        result: enrollkit_result,
        message: CString,
        details: CString,
    },
    NotApplied,
}

impl OutcomeRecord {
    fn new(outcome: EnrollOutcome) -> OutcomeRecord {
        match outcome {
            EnrollOutcome::Created(e) => OutcomeRecord::Created(EnrollmentRecord::new(*e)),
            EnrollOutcome::AlreadyEnrolled { existing_id } => {
                OutcomeRecord::AlreadyEnrolled(c_string(existing_id))
            }
            EnrollOutcome::Failed(e) => OutcomeRecord::Failed {
                result: enrollkit_result::from_core(e.code()),
                message: c_string(e.to_string()),
                details: c_string(e.details().to_string()),
            },
            EnrollOutcome::NotApplied => OutcomeRecord::NotApplied,
        }
    }
}

/// The rows behind an `enrollkit_enroll_outcomes`, and the user of each row when the outcomes
/// are users' (enrollkit_enroll_anniversaries_typed; empty for a batch's rows).
pub(crate) struct OutcomesRecord {
    rows: Vec<OutcomeRecord>,
    user_ids: Vec<CString>,
}

impl OutcomesRecord {
    /// A batch's outcomes, one per row.
    pub(crate) fn of_rows(outcomes: Vec<EnrollOutcome>) -> OutcomesRecord {
        OutcomesRecord {
            rows: outcomes.into_iter().map(OutcomeRecord::new).collect(),
            user_ids: Vec::new(),
        }
    }

    /// Users' outcomes, one per user, each naming its user.
    pub(crate) fn of_users(outcomes: Vec<UserOutcome>) -> OutcomesRecord {
        let (user_ids, rows) = outcomes
            .into_iter()
            .map(|o| (c_string(o.user_id), OutcomeRecord::new(o.outcome)))
            .unzip();
        OutcomesRecord { rows, user_ids }
    }
}

impl Castable for enrollkit_enroll_outcomes {
    type RustType = OutcomesRecord;
}

/// Row `index` of outcomes; `None` past the end or for NULL.
fn outcome<'a>(
    outcomes: *const enrollkit_enroll_outcomes,
    index: usize,
) -> Option<&'a OutcomeRecord> {
    try_ref_from_ptr(outcomes).and_then(|o| o.rows.get(index))
}

/// Releases batch outcomes and every enrollment they lent. NULL is fine.
#[no_mangle]
pub extern "C" fn enrollkit_enroll_outcomes_free(outcomes: *mut enrollkit_enroll_outcomes) {
    ffi_panic_boundary! { free_box(outcomes) }
}

/// The number of rows.
#[no_mangle]
pub extern "C" fn enrollkit_enroll_outcomes_count(
    outcomes: *const enrollkit_enroll_outcomes,
) -> usize {
    ffi_panic_boundary! { value(outcomes, |o| o.rows.len()) }
}

/// Row `index`'s outcome: ENROLLKIT_OUTCOME_CREATED, _ALREADY_ENROLLED, _FAILED or
/// _NOT_APPLIED; ENROLLKIT_OUTCOME_NONE (0) past the end.
#[no_mangle]
pub extern "C" fn enrollkit_enroll_outcomes_kind(
    outcomes: *const enrollkit_enroll_outcomes,
    index: usize,
) -> u32 {
    ffi_panic_boundary! {
        match outcome(outcomes, index) {
            None => ENROLLKIT_OUTCOME_NONE,
            Some(OutcomeRecord::Created(_)) => ENROLLKIT_OUTCOME_CREATED,
            Some(OutcomeRecord::AlreadyEnrolled(_)) => ENROLLKIT_OUTCOME_ALREADY_ENROLLED,
            Some(OutcomeRecord::Failed { .. }) => ENROLLKIT_OUTCOME_FAILED,
            Some(OutcomeRecord::NotApplied) => ENROLLKIT_OUTCOME_NOT_APPLIED,
        }
    }
}

/// The enrollment row `index` created, lent by the outcomes; NULL unless the row's outcome is
/// ENROLLKIT_OUTCOME_CREATED.
#[no_mangle]
pub extern "C" fn enrollkit_enroll_outcomes_enrollment(
    outcomes: *const enrollkit_enroll_outcomes,
    index: usize,
) -> *const enrollkit_enrollment {
    ffi_panic_boundary! {
        match outcome(outcomes, index) {
            Some(OutcomeRecord::Created(e)) => to_const_ptr::<enrollkit_enrollment>(e),
            _ => null(),
        }
    }
}

/// The id of the enrollment that blocked row `index`; NULL unless its outcome is
/// ENROLLKIT_OUTCOME_ALREADY_ENROLLED.
#[no_mangle]
pub extern "C" fn enrollkit_enroll_outcomes_existing_id(
    outcomes: *const enrollkit_enroll_outcomes,
    index: usize,
) -> *const c_char {
    ffi_panic_boundary! {
        match outcome(outcomes, index) {
            Some(OutcomeRecord::AlreadyEnrolled(id)) => id.as_ptr(),
            _ => null(),
        }
    }
}

/// Why row `index` was refused, as the result code a single call would have returned;
/// ENROLLKIT_RESULT_OK unless its outcome is ENROLLKIT_OUTCOME_FAILED.
#[no_mangle]
pub extern "C" fn enrollkit_enroll_outcomes_error(
    outcomes: *const enrollkit_enroll_outcomes,
    index: usize,
) -> enrollkit_result {
    ffi_panic_boundary! {
        match outcome(outcomes, index) {
            Some(OutcomeRecord::Failed { result, .. }) => *result,
            _ => enrollkit_result::Ok,
        }
    }
}

/// The message of row `index`'s refusal; NULL unless its outcome is ENROLLKIT_OUTCOME_FAILED.
#[no_mangle]
pub extern "C" fn enrollkit_enroll_outcomes_error_message(
    outcomes: *const enrollkit_enroll_outcomes,
    index: usize,
) -> *const c_char {
    ffi_panic_boundary! {
        match outcome(outcomes, index) {
            Some(OutcomeRecord::Failed { message, .. }) => message.as_ptr(),
            _ => null(),
        }
    }
}

/// Row `index`'s refusal as a JSON object (as enrollkit_last_error_details); NULL unless its
/// outcome is ENROLLKIT_OUTCOME_FAILED.
#[no_mangle]
pub extern "C" fn enrollkit_enroll_outcomes_error_details(
    outcomes: *const enrollkit_enroll_outcomes,
    index: usize,
) -> *const c_char {
    ffi_panic_boundary! {
        match outcome(outcomes, index) {
            Some(OutcomeRecord::Failed { details, .. }) => details.as_ptr(),
            _ => null(),
        }
    }
}

/// The id of the user whose outcome row `index` is, lent by the outcomes: set for every row of
/// enrollkit_enroll_anniversaries_typed; NULL for enrollkit_enroll_many_typed's rows (a row
/// names its user as the request did: by id, email or external id), and past the end.
#[no_mangle]
pub extern "C" fn enrollkit_enroll_outcomes_user_id(
    outcomes: *const enrollkit_enroll_outcomes,
    index: usize,
) -> *const c_char {
    ffi_panic_boundary! {
        match try_ref_from_ptr(outcomes).and_then(|o| o.user_ids.get(index)) {
            Some(id) => id.as_ptr(),
            None => null(),
        }
    }
}
