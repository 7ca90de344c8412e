//! Enrollments: `enroll`, `progress`, `step`, `attempt`, the transitions (`drop`, `reactivate`,
//! `pause`, `resume`, `cancel`, `start`, `fail`), `delete`, `list`, `show`, `history`, `expire`, `waitlist`.
//!
//! `enroll` creates the database when missing; every other command here needs an existing
//! one, since it names an enrollment that must already be in it. Each acts as `actor`.

use std::process::ExitCode;

use enrollkit::{
    Actor, Command, EnrollRequest, FailureReason, ListQuery, Order, Pagination, StepChange,
    Trigger, UserRef, View,
};

use super::common::{open, time, Fail, Outcome};
use crate::args::{Cli, EnrollArgs, ListArgs, StepArgs};
use crate::output::Out;

/// `enroll`: enrolls the user named by `--by` (id, email or external-id) in the program.
pub fn enroll(cli: &Cli, out: &Out, actor: &Actor, a: &EnrollArgs) -> Outcome {
    let user = match a.by.as_str() {
        "id" => UserRef::Id(a.user.clone()),
        "email" => UserRef::Email(a.user.clone()),
        "external-id" => UserRef::ExternalId(a.user.clone()),
        other => {
            return Err(Fail::Usage(format!(
                "--by {other}: expected id, email or external-id"
            )))
        }
    };
    let mut req = EnrollRequest::for_user(user, a.program.clone());
    req.id = a.id.clone();
    req.trigger = a.trigger.as_deref().map(Trigger::parse).transpose()?;
    req.added_by_user_id = a.added_by_user.clone();
    req.added_by_program_id = a.added_by_program.clone();
    req.partnership_id = a.partnership.clone();
    req.timezone = a.timezone.clone();
    req.start_at = time(&a.start_at)?;
    req.allow_reenroll = a.allow_reenroll;
    req.batch = a.batch;
    req.override_prerequisites = a.override_prerequisites.clone();
    // Only now, with every argument checked: a refused command leaves no file behind.
    let store = open(cli, false)?;
    out.enrollment(&store.enroll(actor, &req)?);
    Ok(ExitCode::SUCCESS)
}

/// `expire`: ends the enrollments past their deadline, at most `limit`; prints their ids (a
/// JSON array with `--json`) and how many.
pub fn expire(cli: &Cli, out: &Out, actor: &Actor, limit: u32) -> Outcome {
    let store = open(cli, true)?;
    let expired = store.expire_due(actor, limit)?;
    if out.is_json() {
        out.json(&serde_json::json!(expired));
    } else {
        for id in &expired {
            say!("{id}");
        }
        eprintln!("{} expired at {}", expired.len(), store.now());
    }
    Ok(ExitCode::SUCCESS)
}

/// `waitlist`: a program's waitlist (position, enrollment, user, enrolled at), or with
/// `enrollment` that enrollment's place (`null` / "not waitlisted" when it is not).
pub fn waitlist(
    cli: &Cli,
    out: &Out,
    actor: &Actor,
    program: Option<&str>,
    enrollment: Option<&str>,
    limit: u32,
) -> Outcome {
    let store = open(cli, true)?;
    if let Some(id) = enrollment {
        let place = store.waitlist_position(actor, id)?;
        if out.is_json() {
            out.json(&serde_json::json!({ "enrollment_id": id, "position": place }));
        } else {
            match place {
                Some(n) => say!("{id}: number {n} on the waitlist"),
                None => say!("{id}: not waitlisted"),
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let program = program.unwrap_or_default();
    let waiting = store.waitlist(actor, program, limit)?;
    if out.is_json() {
        out.json(&serde_json::json!(waiting));
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = waiting
        .iter()
        .enumerate()
        .map(|(i, e)| {
            vec![
                (i + 1).to_string(),
                e.id.clone(),
                e.user_id.clone(),
                e.enrolled_at.to_string(),
            ]
        })
        .collect();
    out.table(&["POSITION", "ENROLLMENT", "USER", "ENROLLED AT"], &rows);
    say!("{} waiting for {program}", rows.len());
    Ok(ExitCode::SUCCESS)
}

/// `progress`: sets the percent (0-100) of a course or certification without steps.
pub fn progress(cli: &Cli, out: &Out, actor: &Actor, id: &str, percent: f64) -> Outcome {
    let store = open(cli, true)?;
    out.enrollment(&store.set_progress(actor, id, percent)?);
    Ok(ExitCode::SUCCESS)
}

/// `step`: one change to one step. The change name and its options are checked after the
/// database is opened, so a missing database is reported first.
pub fn step(cli: &Cli, out: &Out, actor: &Actor, a: &StepArgs) -> Outcome {
    let store = open(cli, true)?;
    let change = match a.change.as_str() {
        "start" => StepChange::Start,
        "deliver" => StepChange::Deliver {
            destination_type: a.destination.clone(),
        },
        "complete" => StepChange::Complete {
            result: a
                .result
                .as_deref()
                .map(enrollkit::parse_result)
                .transpose()?,
        },
        "fail" => StepChange::Fail {
            reason: a
                .reason
                .clone()
                .ok_or_else(|| Fail::Usage("fail needs --reason".into()))?,
            message: a.message.clone(),
        },
        "skip" => StepChange::Skip,
        other => {
            return Err(Fail::Usage(format!(
                "step change {other}: expected start, deliver, complete, fail or skip"
            )))
        }
    };
    out.enrollment(&store.update_step(actor, &a.id, &a.step, &change)?);
    Ok(ExitCode::SUCCESS)
}

/// `attempt`: records an assessment attempt (score 0-100) and prints it with the enrollment.
pub fn attempt(cli: &Cli, out: &Out, actor: &Actor, id: &str, score: f64) -> Outcome {
    let store = open(cli, true)?;
    let (e, attempt) = store.submit_attempt(actor, id, score)?;
    out.attempt(&attempt, &e);
    Ok(ExitCode::SUCCESS)
}

/// `drop`, `reactivate`, `pause`, `resume`, `cancel`, `start`: applies `cmd` to the enrollment;
/// the core decides whether the enrollment's kind and status allow it.
pub fn transition(cli: &Cli, out: &Out, actor: &Actor, id: &str, cmd: Command) -> Outcome {
    let store = open(cli, true)?;
    out.enrollment(&store.transition(actor, id, &cmd)?);
    Ok(ExitCode::SUCCESS)
}

/// `fail`: the `fail` transition with a reason code (checked before the database is opened)
/// and an optional message.
pub fn fail(
    cli: &Cli,
    out: &Out,
    actor: &Actor,
    id: &str,
    reason: &str,
    message: Option<&str>,
) -> Outcome {
    let cmd = Command::Fail {
        reason: FailureReason::parse(reason)?,
        message: message.map(str::to_owned),
    };
    transition(cli, out, actor, id, cmd)
}

/// `delete`: deletes the enrollment (the core allows only admin); its history stays.
pub fn delete(cli: &Cli, out: &Out, actor: &Actor, id: &str) -> Outcome {
    let store = open(cli, true)?;
    store.delete_enrollment(actor, id)?;
    out.record(&serde_json::json!({"deleted": id}));
    Ok(ExitCode::SUCCESS)
}

/// `list`: one page of enrollments. `--page` pages by number; otherwise (with or without
/// `--after`) by keyset cursor, `--per-page` at a time.
pub fn list(cli: &Cli, out: &Out, actor: &Actor, a: &ListArgs) -> Outcome {
    let store = open(cli, true)?;
    let query = ListQuery {
        user_id: a.user.clone(),
        program_id: a.program.clone(),
        status: a.status.clone(),
        trigger: a.trigger.as_deref().map(Trigger::parse).transpose()?,
        enrolled_from: time(&a.enrolled_from)?,
        enrolled_to: time(&a.enrolled_to)?,
        completed_from: time(&a.completed_from)?,
        completed_to: time(&a.completed_to)?,
        order: if a.newest_first {
            Order::NewestFirst
        } else {
            Order::OldestFirst
        },
        pagination: match (&a.after, a.page) {
            (None, Some(page)) => Pagination::Page {
                page,
                per_page: a.per_page,
            },
            (after, _) => Pagination::Cursor {
                starting_after: after.clone(),
                limit: a.per_page,
            },
        },
    };
    out.page(&store.list_enrollments(actor, &query)?);
    Ok(ExitCode::SUCCESS)
}

/// `show`: the enrollment, or with `view` its JSON in that reference API's shape.
pub fn show(cli: &Cli, out: &Out, actor: &Actor, id: &str, view: Option<&str>) -> Outcome {
    let store = open(cli, true)?;
    match view {
        Some(v) => out.json(&store.render(actor, id, View::parse(v)?)?),
        None => out.enrollment(&store.get_enrollment(actor, id)?),
    }
    Ok(ExitCode::SUCCESS)
}

/// `history`: the enrollment's history.
pub fn history(cli: &Cli, out: &Out, actor: &Actor, id: &str) -> Outcome {
    let store = open(cli, true)?;
    out.history(&store.history(actor, id)?);
    Ok(ExitCode::SUCCESS)
}
