//! The due-work queue and work anniversaries: `due`, `worker`, `anniversaries`.
//!
//! `due` reads the queue with `Store::due`. `worker` is the queue's consumer: it claims due
//! steps with `Store::claim_due` (of one program with `--program`), delivers each (prints it,
//! or runs `--exec`, renewing the claim's lease while the command runs), ends the claim with
//! `Store::complete_claim` (or gives it back with `Store::release_claim`), and stops cleanly on
//! Ctrl-C. `anniversaries` runs `Store::enroll_anniversaries`. All three need an existing
//! database.

use std::collections::HashMap;
use std::process::{Command as Process, ExitCode, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use enrollkit::{
    Actor, Claim, EnrollOutcome, Enrollment, Error, ErrorCode, Program, StepChange, Store,
    MAX_LIMIT,
};
use serde_json::json;

use super::common::{open, time, Fail, Outcome};
use crate::args::{Cli, WorkerArgs};
use crate::output::Out;

/// The failure reason of a step whose `--exec` command did not exit 0.
const EXEC_FAILED: &str = "exec_failed";

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

/// `due`: the scheduled work (of `program`; due by `until`), soonest first, at most `limit`
/// items; each with its step, whether it is due now or in how long, and the claim on it.
/// JSON: `{now, due_now, later, more, items}` (`more`: there is more than `limit`).
pub fn due(
    cli: &Cli,
    out: &Out,
    actor: &Actor,
    program: Option<&str>,
    until: &Option<String>,
    limit: u32,
) -> Outcome {
    let until = time(until)?;
    let store = open(cli, true)?;
    let now = store.now();
    // One more than asked tells whether there is more (the core checks the limit).
    let fetch = if (1..MAX_LIMIT).contains(&limit) {
        limit + 1
    } else {
        limit
    };
    let mut work = store.due(actor, program, until, fetch)?;
    let more = work.len() > limit as usize;
    work.truncate(limit as usize);
    let at = |c: &Claim| c.enrollment.next_step_at.unwrap_or(now);
    let due_now = work.iter().filter(|c| at(c) <= now).count();
    let later = work.len() - due_now;
    if out.is_json() {
        let items: Vec<_> = work
            .iter()
            .map(|c| {
                let e = &c.enrollment;
                json!({
                    "enrollment_id": e.id,
                    "user_id": e.user_id,
                    "program_id": e.program_id,
                    "status": e.status_name(),
                    "step_id": c.step_id,
                    "next_step_at": at(c),
                    "due": at(c) <= now,
                    "claimed_by": e.claimed_by,
                    "lease_until": e.lease_until,
                })
            })
            .collect();
        out.json(&json!({
            "now": now,
            "due_now": due_now,
            "later": later,
            "more": more,
            "items": items,
        }));
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = work
        .iter()
        .map(|c| {
            let e = &c.enrollment;
            let delta = at(c).millis() - now.millis();
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
                at(c).to_string(),
                when,
                e.id.clone(),
                e.user_id.clone(),
                e.program_id.clone(),
                c.step_id.clone().unwrap_or_else(|| "-".to_owned()),
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
    let more = if more { " (more: raise --limit)" } else { "" };
    say!("{due_now} due now, {later} scheduled later, at {now}{more}");
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
        format!(
            "{} delivered, {} failed, {} released, {} lost",
            self.delivered, self.failed, self.released, self.lost
        )
    }

    fn add_all(&mut self, other: &Tally) {
        self.delivered += other.delivered;
        self.failed += other.failed;
        self.released += other.released;
        self.lost += other.lost;
    }
}

/// A worker's state: its store, arguments, the stop flag, the programs it has read and the
/// leases it renewed.
struct Worker<'a> {
    store: Store,
    out: &'a Out,
    args: &'a WorkerArgs,
    lease: Duration,
    stop: Arc<AtomicBool>,
    programs: HashMap<String, Program>,
    /// The leases renewed while a step runs, by enrollment id.
    leases: std::cell::RefCell<HashMap<String, enrollkit::Timestamp>>,
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

    /// Runs `--exec` for the claimed step (`step_id` empty for work the host scheduled with no
    /// step); `Some(change)` ends the claim, `None` gives it back (interrupted). While the
    /// command runs, the claim's lease is renewed at each half lease, so a step that runs longer
    /// than the lease is not taken over and run again by another worker.
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
        let mut running = match child.spawn() {
            Ok(running) => running,
            Err(err) => return failed(format!("cannot run {cmd}: {err}")),
        };
        let status = loop {
            match running.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) => {}
                Err(err) => break Err(err),
            }
            self.keep_lease(e);
            std::thread::sleep(Duration::from_millis(20));
        };
        match status {
            Ok(status) if status.success() => Some(StepChange::Deliver {
                destination_type: None,
            }),
            // Ctrl-C reaches the command too: its step is given back, not failed.
            Ok(status) if self.stopping() || killed(status) => None,
            Ok(status) => failed(format!("{cmd}: {status}")),
            Err(err) => failed(format!("cannot wait for {cmd}: {err}")),
        }
    }

    /// Renews the claim on `e` once half its lease has passed. A renewal refused (the lease
    /// ended first) is left to the claim's end, which reports the claim lost.
    fn keep_lease(&self, e: &Enrollment) {
        let held = self.leases.borrow().get(&e.id).copied();
        let Some(until) = held.or(e.lease_until) else {
            return;
        };
        let half = i64::try_from(self.lease.as_millis() / 2).unwrap_or(i64::MAX);
        if until.millis() - self.store.now().millis() > half {
            return;
        }
        // Refused, it is not tried again for this step.
        let until = match self.store.renew_claim(&self.args.id, &e.id, self.lease) {
            Ok(renewed) => renewed.lease_until,
            Err(_) => None,
        };
        let until = until.unwrap_or(enrollkit::Timestamp::from_millis(i64::MAX));
        self.leases.borrow_mut().insert(e.id.clone(), until);
    }

    /// Handles one claim: delivers its step (or, for work the host scheduled with no step left,
    /// the work), or gives it back.
    fn handle(&mut self, claim: &Claim) -> Result<Ended, Error> {
        let e = &claim.enrollment;
        if !self.programs.contains_key(&e.program_id) {
            let program = self.store.get_program(&e.program_id)?;
            self.programs.insert(e.program_id.clone(), program);
        }
        let step_id = claim.step_id.as_deref();
        let step = self.programs[&e.program_id]
            .steps
            .iter()
            .find(|s| Some(s.id.as_str()) == step_id);
        let (kind, title) = step.map_or(("", ""), |s| (s.step_type.as_str(), s.title.as_str()));
        let (kind, title) = (kind.to_owned(), title.to_owned());
        let change = match &self.args.exec {
            Some(cmd) => self.exec(cmd, claim, step_id.unwrap_or(""), &kind, &title),
            None => Some(StepChange::Deliver {
                destination_type: None,
            }),
        };
        self.leases.borrow_mut().remove(&e.id);
        let message = match &change {
            Some(StepChange::Fail { message, .. }) => message.clone(),
            _ => None,
        };
        // Work with no step has no step to record a failure on: it is given back, still due.
        let change = change.filter(|c| step_id.is_some() || !matches!(c, StepChange::Fail { .. }));
        let (ended, after) = self.end(&e.id, change)?;
        self.print(
            claim,
            step_id.unwrap_or("-"),
            &kind,
            &title,
            ended,
            after.as_ref(),
            message,
        );
        Ok(ended)
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
            let claims = self.store.claim_due(
                &self.args.id,
                self.args.program.as_deref(),
                self.args.batch,
                self.lease,
            )?;
            let mut pass = Tally::default();
            let mut rest = claims.iter();
            for claim in rest.by_ref() {
                match self.handle(claim) {
                    Ok(ended) => pass.add(ended),
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
            total.add_all(&pass);
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
        leases: Default::default(),
    };
    eprintln!(
        "enrollkit worker {}: started ({}, lease {}s, batch {}{})",
        a.id,
        a.program
            .as_deref()
            .map_or("every program".to_owned(), |p| format!("program {p}")),
        a.lease,
        a.batch,
        a.exec
            .as_deref()
            .map_or(String::new(), |c| format!(", exec {c}"))
    );
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
