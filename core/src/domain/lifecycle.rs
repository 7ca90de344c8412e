//! The lifecycle engine: every enrollment rule, independent of any storage backend.
//!
//! Each function takes the current state (an [`Enrollment`], its program, its step progress)
//! and a command, checks the command is allowed for the actor and the state, and mutates the
//! state in place. The store loads the state, calls one of these functions, and writes the
//! result together with a history event in one transaction. Nothing here touches SQL, so the
//! same rules serve any backend.
//!
//! One engine serves the three vocabularies: it works on canonical [`Status`] values and names
//! them per [`Kind`] only for errors and rendering.

use crate::domain::invariants;
use crate::domain::model::{
    Actor, Attempt, EnrollRequest, Enrollment, FailureReason, Kind, NewEnrollment, Program,
    ProgramState, Status, StepChange, StepProgress, StepStatus, Trigger, User,
};
use crate::domain::policy::Deadline;
use crate::domain::schedule;
use crate::domain::time::Timestamp;
use crate::domain::validate;
use crate::error::{Error, Result};

/// A change of an enrollment's status or lifecycle, as opposed to steps and attempts.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Start a `new` track or certification enrollment now.
    Start,
    /// Set progress (0–100) of a course or certification without steps.
    Progress(f64),
    /// Drop a course enrollment (`active` → `dropped`).
    Drop,
    /// Reactivate a dropped course enrollment (`dropped` → `active`).
    Reactivate,
    /// Pause a track enrollment.
    Pause,
    /// Resume a paused track enrollment to the status it was paused from.
    Resume,
    /// Cancel a track enrollment (terminal).
    Cancel,
    /// Fail a track or certification enrollment with a reason (terminal).
    Fail {
        /// The reason.
        reason: FailureReason,
        /// A message; defaults to the reason's default message.
        message: Option<String>,
    },
    /// Track: a worker claims the enrollment (`active` → `processing`,
    /// `active_batch` → `processing_batch`).
    BeginProcessing,
    /// Track: the worker is done (`processing` → `active`, `processing_batch` → `active_batch`).
    EndProcessing,
}

impl Command {
    /// The name recorded in history events and errors.
    pub fn action(&self) -> &'static str {
        match self {
            Command::Start => "start",
            Command::Progress(_) => "progress",
            Command::Drop => "drop",
            Command::Reactivate => "reactivate",
            Command::Pause => "pause",
            Command::Resume => "resume",
            Command::Cancel => "cancel",
            Command::Fail { .. } => "fail",
            Command::BeginProcessing => "begin_processing",
            Command::EndProcessing => "end_processing",
        }
    }

    /// The argument-free command named by [`Command::action`] (`start`, `drop`, `reactivate`,
    /// `pause`, `resume`, `cancel`, `begin_processing`, `end_processing`); anything else is a
    /// `validation` error (progress and fail carry arguments).
    ///
    /// ```
    /// assert_eq!(enrollkit::Command::from_action("drop").unwrap(), enrollkit::Command::Drop);
    /// assert!(enrollkit::Command::from_action("fail").is_err());
    /// ```
    pub fn from_action(name: &str) -> Result<Command> {
        [
            Command::Start,
            Command::Drop,
            Command::Reactivate,
            Command::Pause,
            Command::Resume,
            Command::Cancel,
            Command::BeginProcessing,
            Command::EndProcessing,
        ]
        .into_iter()
        .find(|c| c.action() == name)
        .ok_or_else(|| Error::validation("command", format!("{name:?} is not a lifecycle command")))
    }

    /// Whether a learner may run this command on their own enrollment.
    pub fn learner_allowed(&self) -> bool {
        matches!(
            self,
            Command::Progress(_) | Command::Drop | Command::Reactivate
        )
    }
}

/// Refuses `actor` unless it may act on `owner`'s enrollment; learners only when
/// `learner_allowed` and only on their own.
pub fn authorize(actor: &Actor, owner: &str, learner_allowed: bool, action: &str) -> Result<()> {
    match actor {
        Actor::Admin | Actor::System => Ok(()),
        Actor::Learner(me) if me != owner => Err(Error::PermissionDenied(format!(
            "learner {me} cannot {action} another user's enrollment"
        ))),
        Actor::Learner(me) if !learner_allowed => Err(Error::PermissionDenied(format!(
            "learner {me} cannot {action}; it needs an admin or the system"
        ))),
        Actor::Learner(_) => Ok(()),
    }
}

/// Refuses a learner reading someone else's enrollment.
pub fn authorize_read(actor: &Actor, owner: &str) -> Result<()> {
    authorize(actor, owner, true, "read")
}

fn refuse(e: &Enrollment, to: Status, action: &'static str) -> Error {
    Error::InvalidTransition {
        from: e.status_name().to_owned(),
        to: to.label(e.kind).to_owned(),
        action,
    }
}

pub use crate::domain::model::Prior;

/// The refusal of a new enrollment of `user_id` in `program_id` (of `kind`) that `blocking`, the
/// user's open (or completed) enrollment there, stands in the way of.
pub fn already_enrolled(kind: Kind, user_id: &str, program_id: &str, blocking: &Prior) -> Error {
    Error::AlreadyEnrolled {
        existing_id: blocking.id.clone(),
        user_id: user_id.to_owned(),
        program_id: program_id.to_owned(),
        status: blocking.status.label(kind).to_owned(),
    }
}

/// Decides whether `req` may create an enrollment and builds it.
///
/// `open` is the user's open enrollment in the program if any; `latest` their most recent one;
/// `facts` what the store read for the program's policies. The caller has validated the request's fields and resolved
/// `user`, of which only `id`, `timezone` and `partnerships` are read (the store passes a user
/// with just those fields).
///
/// The program's policies are checked here: its enrollment window (`enrollment_closed`), a
/// partner user's partnership (certifications), its prerequisites (`prerequisites_not_met`,
/// unless an admin overrides them with a reason), and its capacity: a full program refuses
/// (`program_full`) or, with a waitlist, the enrollment is `waitlisted` (its deadline, if
/// counted in days, starts when it is promoted).
#[allow(clippy::too_many_arguments)]
pub fn enroll(
    actor: &Actor,
    program: &Program,
    user: &User,
    req: &EnrollRequest,
    id: String,
    open: Option<&Prior>,
    latest: Option<&Prior>,
    facts: &PolicyFacts<'_>,
    now: Timestamp,
) -> Result<Enrollment> {
    match actor {
        Actor::Learner(me) if *me != user.id => {
            return Err(Error::PermissionDenied(format!(
                "learner {me} cannot enroll another user"
            )))
        }
        Actor::Learner(me) if !program.self_enrollment => {
            return Err(Error::PermissionDenied(format!(
                "learner {me} cannot self-enroll: program {} does not allow self-enrollment",
                program.id
            )))
        }
        _ => {}
    }
    if program.state != ProgramState::Active {
        return Err(Error::ProgramNotActive {
            program_id: program.id.clone(),
            state: program.state.as_str().to_owned(),
        });
    }
    program.policy.check_window(&program.id, now)?;
    check_runnable(program.kind, program.state, &program.steps)?;
    if program.kind != Kind::Track {
        if req.start_at.is_some() {
            return Err(Error::validation(
                "start_at",
                "only track enrollments can start later",
            ));
        }
        if req.batch {
            return Err(Error::validation(
                "batch",
                "only track enrollments can be batched",
            ));
        }
    }
    let blocking = open.or(latest.filter(|p| p.status == Status::Completed && !req.allow_reenroll));
    if let Some(b) = blocking {
        return Err(already_enrolled(program.kind, &user.id, &program.id, b));
    }
    check_partnership(program, user, req)?;
    check_prerequisites(actor, program, req, facts.completed)?;
    let full = match (program.policy.capacity, facts.seats_taken) {
        (Some(capacity), Some(taken)) if taken >= u64::from(capacity) => {
            if !program.policy.waitlist {
                return Err(Error::ProgramFull {
                    program_id: program.id.clone(),
                    capacity,
                });
            }
            true
        }
        _ => false,
    };
    let trigger = req.trigger.unwrap_or(match actor {
        Actor::Learner(_) => Trigger::SelfJoin,
        Actor::Admin => Trigger::ManualUserTrigger,
        Actor::System => Trigger::UserJoin,
    });
    if matches!(actor, Actor::Learner(_)) && trigger != Trigger::SelfJoin {
        return Err(Error::PermissionDenied(format!(
            "a learner enrolling themselves has trigger self_join, not {trigger}"
        )));
    }
    let status = if full {
        Status::Waitlisted
    } else {
        first_status(program.kind, req.start_at, req.batch, now)
    };
    let started_at = (program.kind == Kind::Track && status.is_running()).then_some(now);
    let deadline_at = match (status, program.policy.deadline) {
        (Status::Waitlisted, Some(Deadline::AfterDays(_))) => None,
        _ => program.policy.deadline_for(now),
    };
    let mut e = NewEnrollment {
        id,
        user_id: user.id.clone(),
        program_id: program.id.clone(),
        kind: program.kind,
        status,
        trigger,
        added_by_user_id: req.added_by_user_id.clone(),
        added_by_program_id: req.added_by_program_id.clone(),
        partnership_id: req.partnership_id.clone(),
        timezone: req.timezone.clone().or_else(|| user.timezone.clone()),
        enrolled_at: now,
        start_at: req.start_at,
        started_at,
        steps_total: program.steps.len() as u32,
        previous_id: latest.map(|p| p.id.clone()),
        attempt_number: latest.map_or(1, |p| p.attempt_number + 1),
        updated_at: now,
        next_step_at: None,
        deadline_at,
    }
    .enrollment();
    schedule::reschedule(program, &mut e, &[]);
    Ok(e)
}

/// What the store read for a new enrollment's policies ([`enroll`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct PolicyFacts<'a> {
    /// The program's prerequisites the user has completed (read only when it has some and
    /// they are not overridden).
    pub completed: &'a [String],
    /// The program's seats taken (read, under the program's lock, when it has a capacity).
    pub seats_taken: Option<u64>,
}

/// The status a new enrollment starts in (or a waitlisted one, promoted): a course `active`, a
/// certification `enrolled`, a track `active` (`active_batch` in a batch), or `new` until a
/// start time still ahead.
fn first_status(kind: Kind, start_at: Option<Timestamp>, batch: bool, now: Timestamp) -> Status {
    match kind {
        Kind::Course => Status::Active,
        Kind::Certification => Status::New,
        Kind::Track if start_at.is_some_and(|t| t > now) => Status::New,
        Kind::Track if batch => Status::ActiveBatch,
        Kind::Track => Status::Active,
    }
}

/// Gives waitlisted `e` the seat that freed in its program: it takes the status it would have
/// started in (a track in a batch starts as a plain one: the batch was not kept), its
/// deadline counts from now when the program's counts in days, and a track's next step follows
/// from its schedule. Refuses (`conflict`) one that is not waitlisted.
pub fn promote(program: &Program, e: &mut Enrollment, now: Timestamp) -> Result<()> {
    if e.status != Status::Waitlisted {
        return Err(Error::Conflict(format!(
            "enrollment {} is {}, not waitlisted",
            e.id,
            e.status.label(e.kind)
        )));
    }
    let to = first_status(e.kind, e.start_at, false, now);
    if let Some(Deadline::AfterDays(_)) = program.policy.deadline {
        e.deadline_at = program.policy.deadline_for(now);
    }
    enter(e, to, now);
    schedule::reschedule(program, e, &[]);
    Ok(())
}

/// A partner user (one with partnerships) enrolls in a certification in the context of one of
/// their partnerships (the certification reference: "required for partner users"); other
/// users may give a partnership or none, as before.
fn check_partnership(program: &Program, user: &User, req: &EnrollRequest) -> Result<()> {
    if program.kind != Kind::Certification || user.partnerships.is_empty() {
        return Ok(());
    }
    match &req.partnership_id {
        Some(p) if user.partnerships.contains(p) => Ok(()),
        Some(p) => Err(Error::validation(
            "partnership_id",
            format!(
                "{p} is not one of partner user {}'s partnerships ({})",
                user.id,
                user.partnerships.join(", ")
            ),
        )),
        None => Err(Error::validation(
            "partnership_id",
            format!(
                "user {} is a partner user: a certification enrollment names one of their \
                 partnerships ({})",
                user.id,
                user.partnerships.join(", ")
            ),
        )),
    }
}

/// Refuses an enrollment whose user has not completed every prerequisite of the program
/// (`completed`: those they have), unless an admin overrides them with a reason.
fn check_prerequisites(
    actor: &Actor,
    program: &Program,
    req: &EnrollRequest,
    completed: &[String],
) -> Result<()> {
    if let Some(reason) = &req.override_prerequisites {
        if *actor != Actor::Admin {
            return Err(Error::PermissionDenied(format!(
                "overriding prerequisites needs an admin, not {}",
                actor.label()
            )));
        }
        return validate::text(
            "override_prerequisites",
            reason,
            validate::MAX_TEXT_BYTES,
            true,
        );
    }
    let missing: Vec<String> = program
        .policy
        .prerequisites
        .iter()
        .filter(|p| !completed.contains(p))
        .cloned()
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::PrerequisitesNotMet {
            program_id: program.id.clone(),
            missing,
        })
    }
}

/// Refuses an active track without steps. A track runs by delivering its steps: with none it
/// could never become `delivered` or `completed`, and completing it at once would count people
/// as done with a program that asked nothing of them. Create the track as a draft, give it its
/// steps, then publish it. Courses and certifications without steps follow their progress.
pub fn check_runnable(
    kind: Kind,
    state: ProgramState,
    steps: &[crate::domain::model::Step],
) -> Result<()> {
    if kind == Kind::Track && state == ProgramState::Active && steps.is_empty() {
        return Err(Error::validation(
            "steps",
            "an active track needs at least one step \
             (create it as a draft, then publish it with its steps)",
        ));
    }
    Ok(())
}

/// Applies a lifecycle [`Command`]. `steps` is the enrollment's step progress (pending steps may
/// be absent).
pub fn apply(
    actor: &Actor,
    program: &Program,
    e: &mut Enrollment,
    steps: &[StepProgress],
    cmd: &Command,
    now: Timestamp,
) -> Result<()> {
    authorize(actor, &e.user_id, cmd.learner_allowed(), cmd.action())?;
    let action = cmd.action();
    let from = e.status;
    use Kind::*;
    use Status::*;
    let to = match (cmd, e.kind, from) {
        (Command::Start, Certification | Track, New) => Active,
        (Command::Start, _, _) => return Err(refuse(e, Active, action)),
        (Command::Progress(p), Course | Certification, _) => {
            validate::percent("progress", *p)?;
            if !program.steps.is_empty() {
                return Err(Error::validation(
                    "progress",
                    "this program has steps: progress follows its steps",
                ));
            }
            let ok = match e.kind {
                Course => from == Active,
                _ => matches!(from, New | Active),
            };
            let target = if *p > 0.0 || from == Active {
                Active
            } else {
                New
            };
            if !ok {
                return Err(refuse(e, target, action));
            }
            e.progress_percent = *p;
            if *p > 0.0 {
                e.started_at.get_or_insert(now);
            }
            target
        }
        (Command::Progress(_), Track, _) => {
            return Err(Error::validation(
                "progress",
                "track progress follows its steps",
            ))
        }
        // A waitlisted learner may leave the waitlist as they would leave the course.
        (Command::Drop, Course, Active | Waitlisted) => Dropped,
        (Command::Drop, _, _) => return Err(refuse(e, Dropped, action)),
        (Command::Reactivate, Course, Dropped) => Active,
        (Command::Reactivate, _, _) => return Err(refuse(e, Active, action)),
        (
            Command::Pause,
            Track,
            New | Active | Processing | ActiveBatch | ProcessingBatch | Delivered,
        ) => {
            e.resume_status = Some(from);
            Paused
        }
        (Command::Pause, _, _) => return Err(refuse(e, Paused, action)),
        (Command::Resume, Track, Paused) => {
            // The pending step moves by the time spent paused: a learner who paused two days
            // before a step still has those two days after resuming, rather than getting it
            // at once (recomputing would count the pause as time waited).
            if let (Some(next), Some(paused)) = (e.next_step_at, e.paused_at) {
                let paused_for = now.millis().saturating_sub(paused.millis()).max(0);
                e.next_step_at = Some(Timestamp::from_millis(
                    next.millis().saturating_add(paused_for),
                ));
            }
            e.resume_status.take().unwrap_or(Active)
        }
        (Command::Resume, _, _) => return Err(refuse(e, Active, action)),
        (Command::Cancel, Track, s) if s.is_open() => Canceled,
        (Command::Cancel, _, _) => return Err(refuse(e, Canceled, action)),
        (Command::Fail { reason, message }, Certification | Track, s) if s.is_open() => {
            if let Some(m) = message {
                validate::text("failure_message", m, validate::MAX_LONG_TEXT_BYTES, true)?;
            }
            e.failure_reason = Some(*reason);
            e.failure_message = Some(
                message
                    .clone()
                    .unwrap_or_else(|| reason.default_message().to_owned()),
            );
            Failed
        }
        (Command::Fail { .. }, _, _) => return Err(refuse(e, Failed, action)),
        (Command::BeginProcessing, Track, Active) => Processing,
        (Command::BeginProcessing, Track, ActiveBatch) => ProcessingBatch,
        (Command::BeginProcessing, _, _) => return Err(refuse(e, Processing, action)),
        (Command::EndProcessing, Track, Processing) => Active,
        (Command::EndProcessing, Track, ProcessingBatch) => ActiveBatch,
        (Command::EndProcessing, _, _) => return Err(refuse(e, Active, action)),
    };
    enter(e, to, now);
    if e.status.is_running() {
        settle(program, e, steps, now);
    }
    // The next step's time follows a start, a pause or an end; moving between running
    // statuses (processing and back) leaves it, and so does resume, which shifted it.
    let keeps = matches!(cmd, Command::Resume) || (from.is_running() && e.status.is_running());
    if !keeps {
        schedule::reschedule(program, e, steps);
    }
    Ok(())
}

/// Claims `e`'s due step for `worker` until `lease_until` (the due-work queue): a running
/// enrollment whose next step is due at `now` becomes `processing` (`active_batch`:
/// `processing_batch`); one being processed under a lease that has ended is taken over.
/// Returns the id of the step that is due, if the program has one pending. Refuses
/// (`conflict`) an enrollment with nothing due or held by a current claim.
pub fn claim(
    program: &Program,
    e: &mut Enrollment,
    steps: &[StepProgress],
    worker: &str,
    lease_until: Timestamp,
    now: Timestamp,
) -> Result<Option<String>> {
    let due = e.next_step_at.is_some_and(|t| t <= now);
    let lease_ended = e.lease_until.is_some_and(|t| t <= now);
    match e.status {
        Status::Active if due => enter(e, Status::Processing, now),
        Status::ActiveBatch if due => enter(e, Status::ProcessingBatch, now),
        Status::Processing | Status::ProcessingBatch if due && lease_ended => {}
        _ => {
            return Err(Error::Conflict(format!(
                "enrollment {} has no due step to claim ({}, next step at {}{})",
                e.id,
                e.status.name(e.kind).unwrap_or("?"),
                e.next_step_at.map_or("none".to_owned(), |t| t.to_string()),
                e.claimed_by
                    .as_deref()
                    .map_or(String::new(), |w| format!(", claimed by {w}")),
            )))
        }
    }
    e.claimed_by = Some(worker.to_owned());
    e.lease_until = Some(lease_until);
    Ok(schedule::first_pending(program, steps).map(|(step, _)| step.id.clone()))
}

/// Ends `e`, whose deadline (`deadline_at`) has passed at `now` before it finished
/// ([`Store::expire_due`](crate::Store::expire_due)): a course becomes `expired`; a
/// certification or a track `failed` with reason `deadline_passed`. A waitlisted enrollment
/// expires too (its seat never came). Refuses (`conflict`) one that is not open, is dropped, or
/// whose deadline is still ahead.
pub fn expire(
    program: &Program,
    e: &mut Enrollment,
    steps: &[StepProgress],
    now: Timestamp,
) -> Result<()> {
    let due = e.deadline_at.is_some_and(|d| d <= now);
    if !due || !e.status.is_open() || e.status == Status::Dropped {
        return Err(Error::Conflict(format!(
            "enrollment {} has no passed deadline to expire it ({}, deadline {})",
            e.id,
            e.status.label(e.kind),
            e.deadline_at.map_or("none".to_owned(), |t| t.to_string()),
        )));
    }
    if e.kind == Kind::Course {
        enter(e, Status::Expired, now);
    } else {
        let reason = FailureReason::DeadlinePassed;
        e.failure_reason = Some(reason);
        e.failure_message = Some(reason.default_message().to_owned());
        enter(e, Status::Failed, now);
    }
    e.resume_status = None;
    e.paused_at = None;
    schedule::reschedule(program, e, steps);
    Ok(())
}

/// Refuses (`conflict`, changing nothing) a call of `worker` on `e` unless `worker` holds its
/// claim at `now`: a worker whose lease ended, or whose claim another worker has since taken
/// over, learns it here.
pub fn check_claim(e: &Enrollment, worker: &str, now: Timestamp) -> Result<()> {
    let processing = matches!(e.status, Status::Processing | Status::ProcessingBatch);
    match (e.claimed_by.as_deref(), e.lease_until) {
        (Some(w), Some(until)) if w == worker && processing && until > now => Ok(()),
        (Some(w), Some(until)) if w == worker => Err(Error::Conflict(format!(
            "worker {worker}'s claim on enrollment {} ended at {until}",
            e.id
        ))),
        (Some(w), _) => Err(Error::Conflict(format!(
            "enrollment {} is claimed by worker {w}, not {worker}",
            e.id
        ))),
        _ => Err(Error::Conflict(format!(
            "enrollment {} is not claimed (worker {worker}'s claim ended)",
            e.id
        ))),
    }
}

/// Ends the claim on `e` (checked with [`check_claim`]): `processing` becomes `active` again
/// (`processing_batch`: `active_batch`) unless a step change settled it (`delivered`,
/// `completed`). With `step_settled`, the next step's time follows (in a program without
/// schedules it is cleared: the host set it for the step the worker has now handled, and sets
/// the next one); without, the step is still due and keeps its time.
pub fn end_claim(
    program: &Program,
    e: &mut Enrollment,
    steps: &[StepProgress],
    step_settled: bool,
    now: Timestamp,
) {
    match e.status {
        Status::Processing => enter(e, Status::Active, now),
        Status::ProcessingBatch => enter(e, Status::ActiveBatch, now),
        _ => {}
    }
    e.claimed_by = None;
    e.lease_until = None;
    if step_settled {
        if !schedule::is_scheduled(program) {
            e.next_step_at = None;
        }
        schedule::reschedule(program, e, steps);
    }
}

/// Moves `e` to `to`, stamping the timestamp that status carries.
fn enter(e: &mut Enrollment, to: Status, now: Timestamp) {
    if to == e.status {
        return;
    }
    match to {
        Status::Active | Status::Processing | Status::ActiveBatch | Status::ProcessingBatch => {
            e.started_at.get_or_insert(now);
        }
        Status::Delivered => {
            e.delivered_at.get_or_insert(now);
        }
        Status::Completed => {
            e.delivered_at = e.delivered_at.or((e.kind == Kind::Track).then_some(now));
            e.completed_at = Some(now);
        }
        Status::Failed => e.failed_at = Some(now),
        Status::Dropped => e.dropped_at = Some(now),
        Status::Canceled => e.canceled_at = Some(now),
        Status::Paused => e.paused_at = Some(now),
        Status::New | Status::Waitlisted | Status::Expired => {}
    }
    if e.status == Status::Paused && to != Status::Paused {
        e.resume_status = None;
        e.paused_at = None;
    }
    if !matches!(to, Status::Processing | Status::ProcessingBatch) {
        // A claim holds only while its enrollment is being processed.
        e.claimed_by = None;
        e.lease_until = None;
    }
    e.status = to;
}

/// Derives automatic transitions after progress, steps or attempts changed: courses complete at
/// 100 %, certifications complete when every step is done and the assessment (if any) passed,
/// tracks become `delivered` when every step is delivered or skipped and `completed` when, in
/// addition, every learner-completable step is completed or skipped.
fn settle(program: &Program, e: &mut Enrollment, steps: &[StepProgress], now: Timestamp) {
    match e.kind {
        Kind::Course => {
            if e.status == Status::Active && e.progress_percent >= 100.0 {
                enter(e, Status::Completed, now);
            }
        }
        Kind::Certification => {
            let steps_done = if e.steps_total > 0 {
                e.steps_completed + e.steps_skipped >= e.steps_total
            } else {
                e.progress_percent >= 100.0
            };
            let assessment_ok = program.assessment.is_none() || e.passed == Some(true);
            if e.status == Status::Active && steps_done && assessment_ok {
                e.progress_percent = 100.0;
                enter(e, Status::Completed, now);
            }
        }
        Kind::Track => {
            if e.steps_total == 0 {
                return;
            }
            let all_delivered = e.steps_delivered + e.steps_skipped >= e.steps_total;
            // In a program with schedules the queue runs the steps, and passes over a failed
            // one to the next; once none is pending, a track with a failed step has nothing
            // left to run and would stay running for ever: it fails, naming its failed steps.
            // (Without schedules the host runs the steps and may retry a failed one.)
            if !all_delivered
                && e.status.is_running()
                && schedule::is_scheduled(program)
                && schedule::first_pending(program, steps).is_none()
            {
                let failed: Vec<String> = steps
                    .iter()
                    .filter(|p| p.status == StepStatus::Failed)
                    .map(|p| match &p.failure_reason {
                        Some(reason) => format!("{} ({reason})", p.step_id),
                        None => p.step_id.clone(),
                    })
                    .collect();
                if !failed.is_empty() {
                    e.failure_reason = Some(FailureReason::UnknownError);
                    e.failure_message = Some(format!(
                        "every step has run and these failed: {}",
                        failed.join(", ")
                    ));
                    enter(e, Status::Failed, now);
                }
                return;
            }
            if all_delivered && (e.status.is_running() || e.status == Status::Delivered) {
                enter(e, Status::Delivered, now);
                let completable_done =
                    program
                        .steps
                        .iter()
                        .filter(|s| s.learner_completable)
                        .all(|s| {
                            steps.iter().any(|p| {
                                p.step_id == s.id
                                    && matches!(
                                        p.status,
                                        StepStatus::Completed | StepStatus::Skipped
                                    )
                            })
                        });
                if completable_done {
                    enter(e, Status::Completed, now);
                }
            }
        }
    }
}

/// Which enrollment statuses accept step changes and assessment attempts; a `new`
/// certification starts on its first one.
fn accepts_work(e: &Enrollment) -> bool {
    match e.kind {
        Kind::Course => e.status == Status::Active,
        Kind::Certification => matches!(e.status, Status::New | Status::Active),
        Kind::Track => e.status.is_running() || e.status == Status::Delivered,
    }
}

/// Applies a [`StepChange`] to step `step_id`. `steps` holds the enrollment's step progress rows
/// (pending steps may be absent); the changed row is updated or appended, and the enrollment's
/// counters, progress and status follow in the same call.
///
/// Returns the index in `steps` of the changed row.
pub fn apply_step(
    actor: &Actor,
    program: &Program,
    e: &mut Enrollment,
    steps: &mut Vec<StepProgress>,
    step_id: &str,
    change: &StepChange,
    now: Timestamp,
) -> Result<usize> {
    let action = change.action();
    let step = program
        .steps
        .iter()
        .find(|s| s.id == step_id)
        .ok_or_else(|| {
            Error::validation(
                "step_id",
                format!("program {} has no step {step_id:?}", program.id),
            )
        })?;
    let learner_ok = matches!(change, StepChange::Complete { .. } | StepChange::Start)
        && step.learner_completable;
    authorize(actor, &e.user_id, learner_ok, action)?;
    match change {
        StepChange::Deliver { destination_type } => {
            validate::opt_text("destination_type", destination_type.as_deref())?
        }
        StepChange::Complete { result: Some(r) } => validate::result(r)?,
        StepChange::Fail { reason, message } => {
            validate::code("failure_reason", reason)?;
            if let Some(m) = message {
                validate::text("failure_message", m, validate::MAX_LONG_TEXT_BYTES, true)?;
            }
        }
        _ => {}
    }
    if !accepts_work(e) {
        return Err(refuse(e, Status::Active, action));
    }
    let index = match steps.iter().position(|p| p.step_id == step_id) {
        Some(i) => i,
        None => {
            steps.push(StepProgress::pending(step_id));
            steps.len() - 1
        }
    };
    let p = &mut steps[index];
    let old = p.status;
    use StepStatus::*;
    let new = match (change, old) {
        (StepChange::Start, Pending | Delivered | Failed) => old,
        (StepChange::Deliver { .. }, Pending | Failed) => Delivered,
        (StepChange::Complete { .. }, Pending | Delivered | Failed) => Completed,
        (StepChange::Fail { .. }, Pending | Delivered | Failed) => Failed,
        (StepChange::Skip, Pending | Delivered | Failed) => Skipped,
        _ => {
            let to = match change {
                StepChange::Start => old,
                StepChange::Deliver { .. } => Delivered,
                StepChange::Complete { .. } => Completed,
                StepChange::Fail { .. } => Failed,
                StepChange::Skip => Skipped,
            };
            return Err(Error::InvalidTransition {
                from: format!("step {step_id} {old}"),
                to: format!("step {step_id} {to}"),
                action,
            });
        }
    };
    p.started_at.get_or_insert(now);
    match change {
        StepChange::Start => {}
        StepChange::Deliver { destination_type } => {
            p.delivered_at = Some(now);
            if destination_type.is_some() {
                p.destination_type.clone_from(destination_type);
            }
        }
        StepChange::Complete { result } => {
            p.delivered_at.get_or_insert(now);
            p.completed_at = Some(now);
            if result.is_some() {
                p.result.clone_from(result);
            }
        }
        StepChange::Fail { reason, message } => {
            p.failed_at = Some(now);
            p.failure_reason = Some(reason.clone());
            p.failure_message.clone_from(message);
        }
        StepChange::Skip => p.skipped_at = Some(now),
    }
    p.status = new;
    count_step(e, old, -1);
    count_step(e, new, 1);
    if e.steps_total > 0 && e.kind != Kind::Track {
        e.progress_percent =
            crate::domain::model::percent(e.steps_completed + e.steps_skipped, e.steps_total);
    }
    if e.status == Status::New {
        enter(e, Status::Active, now);
    }
    settle(program, e, steps, now);
    if new != old {
        schedule::reschedule(program, e, steps);
    }
    Ok(index)
}

/// Adds `delta` to the counters a step in `status` contributes to.
fn count_step(e: &mut Enrollment, status: StepStatus, delta: i32) {
    let mut counters = (e.steps_delivered, e.steps_completed, e.steps_skipped);
    count_step_in(&mut counters, status, delta);
    (e.steps_delivered, e.steps_completed, e.steps_skipped) = counters;
}

/// [`count_step`] on `(delivered, completed, skipped)`.
pub(crate) fn count_step_in(counters: &mut (u32, u32, u32), status: StepStatus, delta: i32) {
    let bump = |n: &mut u32| *n = n.saturating_add_signed(delta);
    let (delivered, completed, skipped) = counters;
    match status {
        StepStatus::Delivered => bump(delivered),
        StepStatus::Completed => {
            bump(delivered);
            bump(completed);
        }
        StepStatus::Skipped => bump(skipped),
        StepStatus::Pending | StepStatus::Failed => {}
    }
}

/// Records an assessment attempt with `score` (0–100). Enforces the attempt limit; failing the
/// last allowed attempt fails a certification enrollment (`attempts_exhausted`); passing may
/// complete it.
pub fn apply_attempt(
    actor: &Actor,
    program: &Program,
    e: &mut Enrollment,
    steps: &[StepProgress],
    score: f64,
    now: Timestamp,
) -> Result<Attempt> {
    authorize(actor, &e.user_id, true, "submit an attempt")?;
    validate::percent("score", score)?;
    if !accepts_work(e) {
        return Err(refuse(e, Status::Active, "attempt"));
    }
    let limit = program.assessment.and_then(|a| a.max_attempts);
    if let Some(limit) = limit {
        if e.attempts >= limit {
            return Err(Error::AttemptLimitReached { limit });
        }
    }
    e.attempts += 1;
    let best = e.best_score.map_or(score, |b| b.max(score));
    e.best_score = Some(best);
    let passed_now = program.assessment.map(|a| score >= a.passing_score);
    e.passed = program.assessment.map(|a| best >= a.passing_score);
    if e.status == Status::New {
        enter(e, Status::Active, now);
    }
    if e.kind == Kind::Certification && e.passed == Some(false) && limit == Some(e.attempts) {
        e.failure_reason = Some(FailureReason::AttemptsExhausted);
        e.failure_message = Some(
            FailureReason::AttemptsExhausted
                .default_message()
                .to_owned(),
        );
        enter(e, Status::Failed, now);
    } else {
        settle(program, e, steps, now);
    }
    Ok(Attempt {
        number: e.attempts,
        score,
        passed: passed_now,
        submitted_at: now,
    })
}

/// Checks that `actor` may assign a mentor or schedule the next step, and that the enrollment is
/// still open.
pub fn check_admin_update(actor: &Actor, e: &Enrollment, action: &'static str) -> Result<()> {
    authorize(actor, &e.user_id, false, action)?;
    if !e.status.is_open() {
        return Err(Error::InvalidTransition {
            from: e.status_name().to_owned(),
            to: e.status_name().to_owned(),
            action,
        });
    }
    Ok(())
}

/// Checks a restored (imported) enrollment against its program and its own step progress and
/// attempts: the same invariants the operations keep. Ids and texts are validated too.
pub fn check_restored(
    program: &Program,
    e: &Enrollment,
    steps: &[StepProgress],
    attempts: &[Attempt],
) -> Result<()> {
    validate::id("enrollment_id", &e.id)?;
    validate::id("user_id", &e.user_id)?;
    validate::id("program_id", &e.program_id)?;
    for (field, v) in [
        ("added_by_user_id", &e.added_by_user_id),
        ("added_by_program_id", &e.added_by_program_id),
        ("partnership_id", &e.partnership_id),
        ("mentor_id", &e.mentor_id),
        ("previous_id", &e.previous_id),
    ] {
        validate::opt_id(field, v.as_deref())?;
    }
    if let Some(tz) = &e.timezone {
        validate::timezone(tz)?;
    }
    if let Some(m) = &e.failure_message {
        validate::text("failure_message", m, validate::MAX_LONG_TEXT_BYTES, true)?;
    }
    validate::percent("progress", e.progress_percent)?;
    for p in steps {
        if let Some(r) = &p.result {
            validate::result(r)?;
        }
        if let Some(code) = &p.failure_reason {
            validate::code("failure_reason", code)?;
        }
    }
    for a in attempts {
        validate::percent("score", a.score)?;
    }
    match invariants::violations(program, e, steps, attempts).first() {
        Some(v) => Err(Error::validation(v.field, v.message.clone())),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::{Assessment, ProgramSpec, Step};

    fn program(kind: Kind, steps: &[(&str, bool)], assessment: Option<Assessment>) -> Program {
        Program {
            spec: ProgramSpec {
                id: "p".into(),
                kind,
                title: "P".into(),
                description: None,
                state: ProgramState::Active,
                self_enrollment: true,
                steps: steps
                    .iter()
                    .map(|(id, c)| Step {
                        id: (*id).into(),
                        step_type: "lesson".into(),
                        title: (*id).into(),
                        learner_completable: *c,
                        schedule: None,
                    })
                    .collect(),
                assessment,
                policy: Default::default(),
            },
            created_at: t(0),
            updated_at: t(0),
        }
    }

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_millis(1_760_000_000_000 + ms)
    }

    fn new(p: &Program) -> Enrollment {
        let user = User {
            id: "u".into(),
            ..User::default()
        };
        enroll(
            &Actor::Admin,
            p,
            &user,
            &EnrollRequest::new("u", "p"),
            "e1".into(),
            None,
            None,
            &PolicyFacts::default(),
            t(0),
        )
        .unwrap()
    }

    #[test]
    fn course_completes_at_100_and_then_refuses_everything() {
        let p = program(Kind::Course, &[], None);
        let mut e = new(&p);
        assert_eq!(e.status, Status::Active);
        apply(
            &Actor::Admin,
            &p,
            &mut e,
            &[],
            &Command::Progress(40.0),
            t(1),
        )
        .unwrap();
        assert_eq!(e.started_at, Some(t(1)));
        apply(
            &Actor::Admin,
            &p,
            &mut e,
            &[],
            &Command::Progress(100.0),
            t(2),
        )
        .unwrap();
        assert_eq!((e.status, e.completed_at), (Status::Completed, Some(t(2))));
        for cmd in [Command::Drop, Command::Reactivate, Command::Progress(10.0)] {
            let err = apply(&Actor::Admin, &p, &mut e, &[], &cmd, t(3)).unwrap_err();
            assert_eq!(err.code(), "invalid_transition", "{cmd:?}");
        }
    }

    #[test]
    fn an_active_track_without_steps_runs_nobody() {
        let p = program(Kind::Track, &[], None);
        let err = enroll(
            &Actor::Admin,
            &p,
            &User {
                id: "u".into(),
                ..User::default()
            },
            &EnrollRequest::new("u", "p"),
            "e1".into(),
            None,
            None,
            &PolicyFacts::default(),
            t(0),
        )
        .unwrap_err();
        assert!(
            matches!(err, Error::Validation { field: "steps", .. }),
            "{err:?}"
        );
        let ok = |kind, state, steps: &[Step]| check_runnable(kind, state, steps).is_ok();
        assert!(!ok(Kind::Track, ProgramState::Active, &[]));
        assert!(ok(Kind::Track, ProgramState::Draft, &[]));
        assert!(ok(Kind::Course, ProgramState::Active, &[]));
        assert!(ok(Kind::Certification, ProgramState::Active, &[]));
        let one = program(Kind::Track, &[("s", false)], None);
        assert!(ok(Kind::Track, ProgramState::Active, &one.steps));
    }

    #[test]
    fn course_drop_and_reactivate() {
        let p = program(Kind::Course, &[], None);
        let mut e = new(&p);
        apply(&Actor::Admin, &p, &mut e, &[], &Command::Drop, t(1)).unwrap();
        assert_eq!((e.status, e.dropped_at), (Status::Dropped, Some(t(1))));
        let err = apply(
            &Actor::Admin,
            &p,
            &mut e,
            &[],
            &Command::Progress(5.0),
            t(2),
        )
        .unwrap_err();
        assert!(matches!(err, Error::InvalidTransition { ref from, .. } if from == "dropped"));
        apply(&Actor::Admin, &p, &mut e, &[], &Command::Reactivate, t(3)).unwrap();
        assert_eq!(e.status, Status::Active);
    }

    #[test]
    fn certification_fails_on_last_attempt_and_completes_on_pass() {
        let a = Assessment {
            passing_score: 70.0,
            max_attempts: Some(2),
        };
        let p = program(Kind::Certification, &[("s1", true)], Some(a));
        let mut e = new(&p);
        assert_eq!(e.status_name(), "enrolled");
        apply_attempt(&Actor::Admin, &p, &mut e, &[], 50.0, t(1)).unwrap();
        assert_eq!(e.status_name(), "in_progress");
        apply_attempt(&Actor::Admin, &p, &mut e, &[], 60.0, t(2)).unwrap();
        assert_eq!(e.status_name(), "failed");
        assert_eq!(e.failure_reason, Some(FailureReason::AttemptsExhausted));

        let mut e = new(&p);
        let mut steps = Vec::new();
        apply_attempt(&Actor::Admin, &p, &mut e, &steps, 90.0, t(1)).unwrap();
        assert_eq!(e.status, Status::Active);
        let done = StepChange::Complete { result: None };
        apply_step(&Actor::Admin, &p, &mut e, &mut steps, "s1", &done, t(2)).unwrap();
        assert_eq!((e.status, e.progress_percent), (Status::Completed, 100.0));
    }

    #[test]
    fn track_delivered_then_completed() {
        let p = program(Kind::Track, &[("msg", false), ("task", true)], None);
        let mut e = new(&p);
        let mut steps = Vec::new();
        let deliver = StepChange::Deliver {
            destination_type: Some("user".into()),
        };
        apply_step(
            &Actor::System,
            &p,
            &mut e,
            &mut steps,
            "msg",
            &deliver,
            t(1),
        )
        .unwrap();
        apply_step(
            &Actor::System,
            &p,
            &mut e,
            &mut steps,
            "task",
            &deliver,
            t(2),
        )
        .unwrap();
        assert_eq!((e.status, e.delivered_at), (Status::Delivered, Some(t(2))));
        assert_eq!(e.delivery_percent(), 100.0);
        let learner = Actor::Learner("u".into());
        let done = StepChange::Complete { result: None };
        let err = apply_step(&learner, &p, &mut e, &mut steps, "msg", &done, t(3)).unwrap_err();
        assert_eq!(err.code(), "permission_denied");
        apply_step(&learner, &p, &mut e, &mut steps, "task", &done, t(3)).unwrap();
        assert_eq!((e.status, e.completed_at), (Status::Completed, Some(t(3))));
        assert_eq!((e.steps_delivered, e.steps_completed), (2, 1));
    }

    #[test]
    fn pause_resumes_to_previous_status() {
        let p = program(Kind::Track, &[("a", true)], None);
        let mut e = new(&p);
        apply(
            &Actor::Admin,
            &p,
            &mut e,
            &[],
            &Command::BeginProcessing,
            t(1),
        )
        .unwrap();
        apply(&Actor::Admin, &p, &mut e, &[], &Command::Pause, t(2)).unwrap();
        assert_eq!(e.status, Status::Paused);
        apply(&Actor::Admin, &p, &mut e, &[], &Command::Resume, t(3)).unwrap();
        assert_eq!((e.status, e.resume_status), (Status::Processing, None));
    }

    #[test]
    fn learners_cannot_touch_others() {
        let p = program(Kind::Course, &[], None);
        let mut e = new(&p);
        let other = Actor::Learner("someone_else".into());
        let err = apply(&other, &p, &mut e, &[], &Command::Drop, t(1)).unwrap_err();
        assert_eq!(err.code(), "permission_denied");
        let me = Actor::Learner("u".into());
        let err = apply(
            &me,
            &p,
            &mut e,
            &[],
            &Command::Fail {
                reason: FailureReason::UnknownError,
                message: None,
            },
            t(1),
        )
        .unwrap_err();
        assert_eq!(err.code(), "permission_denied");
    }
}
