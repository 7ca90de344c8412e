//! The due-work queue and work anniversaries: `due`, `worker`, `anniversaries`.
//!
//! `due` only reads: the core has no read of due work (its queue finds it only by claiming),
//! so it lists the running enrollments (of a program, or all) page by page and keeps those
//! with a next step time. `worker` is the queue's consumer: it claims due steps with
//! `Store::claim_due`, delivers each (prints it, or runs `--exec`), ends the claim with
//! `Store::complete_claim` (or gives it back with `Store::release_claim`), and stops cleanly on
//! Ctrl-C. `anniversaries` runs `Store::enroll_anniversaries`. All three need an existing
//! database.

use std::collections::HashMap;
use std::process::{Command as Process, ExitCode, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use enrollkit::{
    Actor, Claim, EnrollOutcome, Enrollment, Error, ErrorCode, Kind, ListQuery, Pagination,
    Program, StepChange, StepStatus, Store,
};
use serde_json::json;

use super::common::{open, Fail, Outcome};
use crate::args::{Cli, WorkerArgs};
use crate::output::Out;

/// The failure reason of a step whose `--exec` command did not exit 0.
const EXEC_FAILED: &str = "exec_failed";

/// Running statuses, in every vocabulary that has them: the ones the queue claims from.
const RUNNING: [&str; 4] = ["active", "active_batch", "processing", "processing_batch"];

/// `ms` milliseconds as a short duration: `42s`, `5m 03s`, `2h 05m`, `3d 04h`.
fn span(ms: i64) -> String {
    let s = ms.unsigned_abs() / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// The id of the first pending step of enrollment `id`, if any (the step the queue runs next).
fn pending_step(store: &Store, actor: &Actor, id: &str) -> Result<Option<String>, Error> {
    Ok(store
        .step_progress(actor, id)?
        .into_iter()
        .find(|s| s.status == StepStatus::Pending)
        .map(|s| s.step_id))
}

/// `due`: the running enrollments (of `program`) with a next step time, soonest first, at most
/// `limit` of them; each with its pending step, whether it is due now or in how long, and the
/// claim on it. JSON: `{now, due_now, scheduled, items}`.
pub fn due(cli: &Cli, out: &Out, actor: &Actor, program: Option<&str>, limit: usize) -> Outcome {
    let store = open(cli, true)?;
    let statuses: &[&str] = match program {
        // A course's vocabulary has only `active` of the running statuses.
        Some(p) if store.get_program(p)?.kind != Kind::Track => &RUNNING[..1],
        _ => &RUNNING,
    };
    let now = store.now();
    let mut scheduled: Vec<Enrollment> = Vec::new();
    for status in statuses {
        let mut after = None;
        loop {
            let query = ListQuery {
                program_id: program.map(str::to_owned),
                status: Some((*status).to_owned()),
                pagination: Pagination::Cursor {
                    starting_after: after.take(),
                    limit: 100,
                },
                ..ListQuery::default()
            };
            let page = store.list_enrollments(actor, &query)?;
            scheduled.extend(
                page.items
                    .into_iter()
                    .filter(|e| e.status.is_running() && e.next_step_at.is_some()),
            );
            match page.next_cursor {
                Some(cursor) if page.has_more => after = Some(cursor),
                _ => break,
            }
        }
    }
    scheduled.sort_by(|a, b| {
        (a.next_step_at, a.enrolled_at, &a.id).cmp(&(b.next_step_at, b.enrolled_at, &b.id))
    });
    let due_now = scheduled
        .iter()
        .filter(|e| e.next_step_at.is_some_and(|t| t <= now))
        .count();
    let total = scheduled.len();
    scheduled.truncate(limit);
    let mut items = Vec::with_capacity(scheduled.len());
    for e in &scheduled {
        let at = e.next_step_at.unwrap_or(now);
        items.push(json!({
            "enrollment_id": e.id,
            "user_id": e.user_id,
            "program_id": e.program_id,
            "status": e.status_name(),
            "step_id": pending_step(&store, actor, &e.id)?,
            "next_step_at": at,
            "due": at <= now,
            "claimed_by": e.claimed_by,
            "lease_until": e.lease_until,
        }));
    }
    if out.is_json() {
        out.json(&json!({
            "now": now,
            "due_now": due_now,
            "scheduled": total,
            "items": items,
        }));
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = scheduled
        .iter()
        .zip(&items)
        .map(|(e, item)| {
            let at = e.next_step_at.unwrap_or(now);
            let delta = at.millis() - now.millis();
            let when = if delta > 0 {
                format!("in {}", span(delta))
            } else if delta <= -60_000 {
                format!("due ({} late)", span(delta))
            } else {
                "due".to_owned()
            };
            let claim = match (&e.claimed_by, e.lease_until) {
                (Some(w), Some(until)) => format!("{w} until {until}"),
                _ => "-".to_owned(),
            };
            vec![
                at.to_string(),
                when,
                e.id.clone(),
                e.user_id.clone(),
                e.program_id.clone(),
                item["step_id"].as_str().unwrap_or("-").to_owned(),
                e.status_name().to_owned(),
                claim,
            ]
        })
        .collect();
    out.table(
        &[
            "NEXT STEP AT",
            "WHEN",
            "ENROLLMENT",
            "USER",
            "PROGRAM",
            "STEP",
            "STATUS",
            "CLAIMED BY",
        ],
        &rows,
    );
    let shown = if rows.len() < total {
        format!(" (showing {} of {total}: --limit)", rows.len())
    } else {
        String::new()
    };
    say!(
        "{due_now} due now, {} scheduled later, at {now}{shown}",
        total - due_now
    );
    Ok(ExitCode::SUCCESS)
}

/// `anniversaries`: enrolls the users whose work anniversary is `date`; one outcome per user.
/// Exit 1 when a user's enrollment was refused (the others are written).
pub fn anniversaries(cli: &Cli, out: &Out, actor: &Actor, program: &str, date: &str) -> Outcome {
    let store = open(cli, true)?;
    let outcomes = store.enroll_anniversaries(actor, program, date)?;
    let outcomes: Vec<EnrollOutcome> = outcomes.into_iter().map(|o| o.outcome).collect();
    out.outcomes(&outcomes);
    let failed = outcomes
        .iter()
        .any(|o| matches!(o, EnrollOutcome::Failed(_)));
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// How a claim ended.
#[derive(Clone, Copy, PartialEq)]
enum Ended {
    /// Its step delivered (printed, or `--exec` exited 0).
    Delivered,
    /// Its step failed (`--exec` did not exit 0).
    Failed,
    /// Given back, still due: the worker is stopping, or the step is not this worker's.
    Released,
    /// The claim was no longer this worker's (its lease ended first): nothing recorded.
    Lost,
}

impl Ended {
    fn name(self) -> &'static str {
        match self {
            Ended::Delivered => "delivered",
            Ended::Failed => "failed",
            Ended::Released => "released",
            Ended::Lost => "lost",
        }
    }
}

/// Counts of ended claims.
#[derive(Default)]
struct Tally {
    delivered: u64,
    failed: u64,
    released: u64,
    lost: u64,
    /// Claims of other programs given back (`--program`).
    passed_on: u64,
}

impl Tally {
    fn add(&mut self, ended: Ended) {
        match ended {
            Ended::Delivered => self.delivered += 1,
            Ended::Failed => self.failed += 1,
            Ended::Released => self.released += 1,
            Ended::Lost => self.lost += 1,
        }
    }

    fn line(&self) -> String {
        let mut line = format!(
            "{} delivered, {} failed, {} released, {} lost",
            self.delivered, self.failed, self.released, self.lost
        );
        if self.passed_on > 0 {
            line.push_str(&format!(", {} passed on", self.passed_on));
        }
        line
    }
}

/// A worker's state: its store, arguments, the stop flag and the programs it has read.
struct Worker<'a> {
    store: Store,
    out: &'a Out,
    args: &'a WorkerArgs,
    lease: Duration,
    stop: Arc<AtomicBool>,
    programs: HashMap<String, Program>,
}

impl Worker<'_> {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Ends `worker`'s claim on `id` with `change`, or gives it back (`None`). A claim that is
    /// no longer the worker's (conflict) is [`Ended::Lost`]; other errors stop the worker.
    fn end(
        &self,
        id: &str,
        change: Option<StepChange>,
    ) -> Result<(Ended, Option<Enrollment>), Error> {
        let worker = self.args.id.as_str();
        let ended = match &change {
            None => Ended::Released,
            Some(StepChange::Fail { .. }) => Ended::Failed,
            Some(_) => Ended::Delivered,
        };
        let result = match &change {
            Some(c) => self.store.complete_claim(worker, id, c),
            None => self.store.release_claim(worker, id),
        };
        match result {
            Ok(e) => Ok((ended, Some(e))),
            Err(e) if e.code() == ErrorCode::Conflict => {
                eprintln!(
                    "enrollkit worker {worker}: enrollment {id}: the claim was lost before the \
                     step was recorded (its lease ended: raise --lease); another worker runs it"
                );
                Ok((Ended::Lost, None))
            }
            Err(e) => Err(e),
        }
    }

    /// Runs `--exec` for the claimed step; `Some(change)` ends the claim, `None` gives it back
    /// (interrupted).
    fn exec(
        &self,
        cmd: &str,
        claim: &Claim,
        step_id: &str,
        kind: &str,
        title: &str,
    ) -> Option<StepChange> {
        let e = &claim.enrollment;
        let mut child = Process::new("sh");
        child
            .arg("-c")
            .arg(cmd)
            .arg("enrollkit-worker")
            .args([&e.id, &e.user_id, step_id])
            .env("ENROLLKIT_ENROLLMENT_ID", &e.id)
            .env("ENROLLKIT_USER_ID", &e.user_id)
            .env("ENROLLKIT_PROGRAM_ID", &e.program_id)
            .env("ENROLLKIT_STEP_ID", step_id)
            .env("ENROLLKIT_STEP_TYPE", kind)
            .env("ENROLLKIT_STEP_TITLE", title)
            .env("ENROLLKIT_WORKER_ID", &self.args.id)
            .stdin(Stdio::null())
            // Its output is the worker's log: stdout stays the worker's own lines.
            .stdout(Stdio::from(std::io::stderr()));
        let failed = |message: String| {
            Some(StepChange::Fail {
                reason: EXEC_FAILED.to_owned(),
                message: Some(message),
            })
        };
        match child.status() {
            Ok(status) if status.success() => Some(StepChange::Deliver {
                destination_type: None,
            }),
            // Ctrl-C reaches the command too: its step is given back, not failed.
            Ok(status) if self.stopping() || killed(status) => None,
            Ok(status) => failed(format!("{cmd}: {status}")),
            Err(err) => failed(format!("cannot run {cmd}: {err}")),
        }
    }

    /// Handles one claim: delivers its step, or gives it back. `None` when it was passed on
    /// (another program's, with `--program`).
    fn handle(&mut self, claim: &Claim) -> Result<Option<Ended>, Error> {
        let e = &claim.enrollment;
        if self
            .args
            .program
            .as_deref()
            .is_some_and(|p| p != e.program_id)
        {
            self.end(&e.id, None)?;
            return Ok(None);
        }
        let Some(step_id) = claim.step_id.as_deref() else {
            // Work the host scheduled with set_next_step_at, with no step left to run: only the
            // host knows what it is.
            eprintln!(
                "enrollkit worker {}: enrollment {} has no pending step (its next step time was \
                 set by the host): given back",
                self.args.id, e.id
            );
            let (ended, _) = self.end(&e.id, None)?;
            return Ok(Some(ended));
        };
        if !self.programs.contains_key(&e.program_id) {
            let program = self.store.get_program(&e.program_id)?;
            self.programs.insert(e.program_id.clone(), program);
        }
        let step = self.programs[&e.program_id]
            .steps
            .iter()
            .find(|s| s.id == step_id);
        let (kind, title) = step.map_or(("", ""), |s| (s.step_type.as_str(), s.title.as_str()));
        let (kind, title) = (kind.to_owned(), title.to_owned());
        let change = match &self.args.exec {
            Some(cmd) => self.exec(cmd, claim, step_id, &kind, &title),
            None => Some(StepChange::Deliver {
                destination_type: None,
            }),
        };
        let message = match &change {
            Some(StepChange::Fail { message, .. }) => message.clone(),
            _ => None,
        };
        let (ended, after) = self.end(&e.id, change)?;
        self.print(
            claim,
            step_id,
            &kind,
            &title,
            ended,
            after.as_ref(),
            message,
        );
        Ok(Some(ended))
    }

    /// One line per handled step on stdout (a JSON object with `--json`).
    #[allow(clippy::too_many_arguments)]
    fn print(
        &self,
        claim: &Claim,
        step_id: &str,
        kind: &str,
        title: &str,
        ended: Ended,
        after: Option<&Enrollment>,
        message: Option<String>,
    ) {
        let e = &claim.enrollment;
        let next = after.and_then(|a| a.next_step_at);
        if self.out.is_json() {
            say!(
                "{}",
                json!({
                    "outcome": ended.name(),
                    "enrollment_id": e.id,
                    "user_id": e.user_id,
                    "program_id": e.program_id,
                    "step_id": step_id,
                    "step_type": kind,
                    "step_title": title,
                    "status": after.map(Enrollment::status_name),
                    "next_step_at": next,
                    "message": message,
                })
            );
            return;
        }
        let next = next.map_or_else(|| "-".to_owned(), |t| t.to_string());
        let detail = message.map_or_else(String::new, |m| format!(" ({m})"));
        say!(
            "{:<9}  {}  {}  {}/{}  {kind} \"{title}\"  next: {next}{detail}",
            ended.name(),
            e.id,
            e.user_id,
            e.program_id,
            step_id
        );
    }

    /// Sleeps `--poll` seconds, or less when asked to stop.
    fn wait(&self) {
        let until = Instant::now() + Duration::from_secs_f64(self.args.poll);
        while !self.stopping() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50).min(until - Instant::now()));
        }
    }

    /// Claims and handles batches until stopped (or, with `--once`, until nothing is due).
    fn run(&mut self) -> Result<Tally, Error> {
        let mut total = Tally::default();
        while !self.stopping() {
            let claims = self
                .store
                .claim_due(&self.args.id, None, self.args.batch, self.lease)?;
            let mut pass = Tally::default();
            let mut rest = claims.iter();
            for claim in rest.by_ref() {
                match self.handle(claim) {
                    Ok(Some(ended)) => pass.add(ended),
                    Ok(None) => pass.passed_on += 1,
                    Err(e) => {
                        self.give_back(rest);
                        return Err(e);
                    }
                }
                if self.stopping() {
                    break;
                }
            }
            // Stopping: what was claimed and not yet run is given back.
            pass.released += self.give_back(rest);
            for (sum, n) in [
                (&mut total.delivered, pass.delivered),
                (&mut total.failed, pass.failed),
                (&mut total.released, pass.released),
                (&mut total.lost, pass.lost),
                (&mut total.passed_on, pass.passed_on),
            ] {
                *sum += n;
            }
            if !claims.is_empty() {
                eprintln!(
                    "enrollkit worker {}: claimed {}: {} (total {})",
                    self.args.id,
                    claims.len(),
                    pass.line(),
                    total.line()
                );
            }
            // Nothing done this pass (nothing due, or only claims given back): wait, so that
            // what was given back is not claimed again at once.
            if pass.delivered + pass.failed + pass.lost == 0 {
                if self.args.once {
                    break;
                }
                self.wait();
            }
        }
        Ok(total)
    }

    /// Gives back every claim of `rest`; returns how many were given back.
    fn give_back<'c>(&self, rest: impl Iterator<Item = &'c Claim>) -> u64 {
        let mut n = 0;
        for claim in rest {
            if let Ok((Ended::Released, _)) = self.end(&claim.enrollment.id, None) {
                n += 1;
            }
        }
        n
    }
}

/// Whether the command was ended by a signal (Ctrl-C, a kill).
fn killed(status: ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt;
    status.signal().is_some()
}

/// `worker`: the due-work queue's consumer loop (see [`Worker::run`]). Exit 0 when stopped by
/// Ctrl-C or, with `--once`, when nothing is due any more; a storage failure stops it (exit 4)
/// after giving its current claims back.
pub fn worker(cli: &Cli, out: &Out, a: &WorkerArgs) -> Outcome {
    if !(a.lease.is_finite() && (0.0..=1e9).contains(&a.lease)) {
        return Err(Fail::Usage(format!(
            "--lease {}: a number of seconds, 0.001 to 86400",
            a.lease
        )));
    }
    if !(a.poll.is_finite() && (0.0..=86_400.0).contains(&a.poll)) {
        return Err(Fail::Usage(format!(
            "--poll {}: a number of seconds, 0 to 86400",
            a.poll
        )));
    }
    let store = open(cli, true)?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
        .map_err(|e| Fail::Usage(format!("cannot handle Ctrl-C: {e}")))?;
    let mut w = Worker {
        store,
        out,
        args: a,
        lease: Duration::from_secs_f64(a.lease),
        stop,
        programs: HashMap::new(),
    };
    let total = w.run()?;
    let why = if w.stopping() {
        "stopped"
    } else {
        "nothing due"
    };
    eprintln!(
        "enrollkit worker {}: {why} at {}: {}",
        a.id,
        w.store.now(),
        total.line()
    );
    Ok(ExitCode::SUCCESS)
}
