//! The due-work queue benchmark (issue #24, point 6): worker threads in several processes claim
//! and complete the due steps of a large database through [`Store::claim_due`] and
//! [`Store::complete_claims`] (bench/README.md, "Due-work queue").
//!
//! `enrollkit-bench queue LOCATION N DUE [--processes P] [--threads T] [--batch B]` loads, untimed,
//! N users and N enrollments of one track step each: DUE of them (spread evenly over the N) in a
//! track whose step is due at once, the others in a track whose step is due in ten years. It
//! then starts P worker processes (this binary again: `enrollkit-bench queue-worker LOCATION
//! GO_FILE NAME --threads T --batch B`) of T threads each, which open their store, say
//! `ready`, and start together when the go file appears. Each thread claims up to B due steps
//! at a time (lease 10 minutes) and completes them (`StepChange::Deliver`) with one
//! `complete_claims` call until `claim_due` returns nothing; it times every `claim_due` and
//! `complete_claims` call and keeps the ids it
//! completed. Each process prints `done` when its threads are, then a JSON line of their
//! readings; the parent counts the time from the go file to the last `done`, checks that every
//! due step was completed exactly once and that nothing is still due, and prints one JSON
//! object.
//!
//! LOCATION is an SQLite file (deleted first) or a PostgreSQL server's location, on which the
//! run creates the database `bench_queue_<N>` (dropped first; [`crate::pg`]).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use enrollkit::{
    Actor, Anchor, BatchMode, DelayUnit, EnrollOutcome, EnrollRequest, Kind, OpenOptions,
    ProgramSpec, Step, StepChange, StepSchedule, Store, User,
};
use serde_json::{json, Value};

use crate::{chunks, file_size, pg, remove_database, Workload};

/// The lease of every claim: far longer than the run, so no claim is ever taken over.
const LEASE: Duration = Duration::from_secs(600);
/// How long a worker's store waits for another process's write lock (SQLite).
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);
/// The track whose step is due at once, and the one whose step is due in ten years.
const DUE_PROGRAM: &str = "queue_due";
const LATER_PROGRAM: &str = "queue_later";

/// What to run.
pub(crate) struct Options {
    processes: usize,
    threads: usize,
    batch: u32,
}

impl Options {
    /// `--processes P --threads T --batch B` (any of them; defaults 2, 2, 64), or `None`.
    fn parse(args: &[String]) -> Option<Options> {
        let mut o = Options {
            processes: 2,
            threads: 2,
            batch: 64,
        };
        if args.len() % 2 != 0 {
            return None;
        }
        for pair in args.chunks(2) {
            let v = crate::number(&pair[1])?;
            match pair[0].as_str() {
                "--processes" => o.processes = v,
                "--threads" => o.threads = v,
                "--batch" if v <= enrollkit::MAX_LIMIT as usize => o.batch = v as u32,
                _ => return None,
            }
        }
        Some(o)
    }
}

type Error = Box<dyn std::error::Error + Send + Sync>;

fn open(location: &str) -> enrollkit::Result<Store> {
    OpenOptions::new().busy_timeout(BUSY_TIMEOUT).open(location)
}

/// A one-step track named `id` whose step is due `delay` `unit`s after the start.
fn track(id: &str, delay: u32, unit: DelayUnit) -> ProgramSpec {
    ProgramSpec {
        kind: Kind::Track,
        steps: vec![Step {
            id: "send".into(),
            step_type: "message".into(),
            title: "Send".into(),
            learner_completable: false,
            schedule: Some(StepSchedule {
                after: Anchor::Start,
                delay,
                unit,
                at: None,
            }),
        }],
        ..ProgramSpec::course(id, id)
    }
}

/// Whether enrollment `i` of `n` is one of the `due` ones: `due` of them spread evenly.
fn is_due(i: usize, n: usize, due: usize) -> bool {
    (i + 1) * due / n > i * due / n
}

/// The untimed setup: both tracks, `n` users, `n` enrollments (`due` of them due now) in
/// bulk transactions of 10,000. Returns the ids of the due enrollments.
fn load(store: &Store, n: usize, due: usize) -> Result<Vec<String>, Error> {
    store.create_program(&track(DUE_PROGRAM, 0, DelayUnit::Minutes))?;
    store.create_program(&track(LATER_PROGRAM, 3650, DelayUnit::Days))?;
    for range in chunks(n) {
        let users: Vec<User> = range
            .map(|i| User {
                id: Workload::user(i),
                ..User::default()
            })
            .collect();
        store.upsert_users(&users)?;
    }
    let mut due_ids = Vec::with_capacity(due);
    for range in chunks(n) {
        let flags: Vec<bool> = range.clone().map(|i| is_due(i, n, due)).collect();
        let requests: Vec<EnrollRequest> = range
            .zip(&flags)
            .map(|(i, &d)| {
                let program = if d { DUE_PROGRAM } else { LATER_PROGRAM };
                EnrollRequest::new(Workload::user(i), program)
            })
            .collect();
        let outcomes = store.enroll_many(&Actor::Admin, &requests, BatchMode::AllOrNothing)?;
        for (o, d) in outcomes.into_iter().zip(flags) {
            match o {
                EnrollOutcome::Created(e) => {
                    if d {
                        due_ids.push(e.id);
                    }
                }
                other => return Err(format!("unexpected outcome {}", other.kind()).into()),
            }
        }
    }
    Ok(due_ids)
}

/// One worker process's reading, as its JSON line says it.
#[derive(Default)]
struct Reading {
    /// Nanoseconds of each `claim_due` call.
    claim_ns: Vec<u64>,
    /// Nanoseconds of each `complete_claims` call (a batch).
    complete_ns: Vec<u64>,
    /// Claims the `claim_due` calls returned.
    claims: usize,
    /// Completions refused because the worker no longer held the claim.
    conflicts: usize,
    /// Ids of the enrollments completed.
    completed: Vec<String>,
    /// CPU seconds (user and system, all threads) of the worker processes from the start to
    /// their end, where `/proc` tells them.
    cpu_seconds: Option<f64>,
}

impl Reading {
    fn add(&mut self, other: Reading) {
        self.claim_ns.extend(other.claim_ns);
        self.complete_ns.extend(other.complete_ns);
        self.claims += other.claims;
        self.conflicts += other.conflicts;
        self.completed.extend(other.completed);
        self.cpu_seconds = match (self.cpu_seconds, other.cpu_seconds) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
    }

    fn to_json(&self) -> Value {
        json!({
            "claim_ns": self.claim_ns, "complete_ns": self.complete_ns,
            "claims": self.claims, "conflicts": self.conflicts, "completed": self.completed,
            "cpu_seconds": self.cpu_seconds,
        })
    }

    fn from_json(v: &Value) -> Option<Reading> {
        let numbers = |key: &str| -> Option<Vec<u64>> {
            v.get(key)?.as_array()?.iter().map(Value::as_u64).collect()
        };
        Some(Reading {
            claim_ns: numbers("claim_ns")?,
            complete_ns: numbers("complete_ns")?,
            claims: v.get("claims")?.as_u64()? as usize,
            conflicts: v.get("conflicts")?.as_u64()? as usize,
            completed: v
                .get("completed")?
                .as_array()?
                .iter()
                .map(|s| s.as_str().map(str::to_owned))
                .collect::<Option<_>>()?,
            cpu_seconds: v.get("cpu_seconds").and_then(Value::as_f64),
        })
    }
}

/// CPU seconds this process has used (user and system time of all its threads), from
/// `/proc/self/stat` in clock ticks of 1/100 s (Linux's USER_HZ); `None` elsewhere.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name (in parentheses, which may hold spaces): utime and
    // stime are the 14th and 15th fields of the line, the 12th and 13th after the name.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// One worker thread's loop: claim up to `batch`, complete each, until nothing is due.
fn work(store: &Store, worker: &str, batch: u32) -> Result<Reading, Error> {
    let mut r = Reading::default();
    let deliver = StepChange::Deliver {
        destination_type: None,
    };
    loop {
        let began = Instant::now();
        let claims = store.claim_due(worker, None, batch, LEASE)?;
        r.claim_ns.push(began.elapsed().as_nanos() as u64);
        if claims.is_empty() {
            return Ok(r);
        }
        r.claims += claims.len();
        // The steps run, a worker completes its batch at once: one transaction.
        let items: Vec<(String, StepChange)> = claims
            .into_iter()
            .map(|c| (c.enrollment.id, deliver.clone()))
            .collect();
        let began = Instant::now();
        let results = store.complete_claims(worker, &items)?;
        r.complete_ns.push(began.elapsed().as_nanos() as u64);
        for done in results {
            match done {
                Ok(e) => r.completed.push(e.id),
                Err(enrollkit::Error::Conflict(_)) => r.conflicts += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// `enrollkit-bench queue-worker LOCATION GO_FILE NAME --threads T --batch B`: opens the store,
/// starts T threads (workers `NAME-0` ...), prints `ready`, and once GO_FILE exists runs
/// [`work`] in each; prints `done` when they are, then one JSON line of their readings
/// together.
pub(crate) fn worker(args: &[String]) -> Result<(), String> {
    let [location, go, name, options @ ..] = args else {
        return Err("usage: queue-worker LOCATION GO_FILE NAME [--threads T] [--batch B]".into());
    };
    let o = Options::parse(options).ok_or("bad options")?;
    let go = Path::new(go);
    let store = open(location).map_err(|e| e.to_string())?;
    let ready = Barrier::new(o.threads + 1);
    let cpu_before = cpu_seconds();
    let readings = std::thread::scope(|s| {
        let handles: Vec<_> = (0..o.threads)
            .map(|t| {
                let (store, ready) = (&store, &ready);
                s.spawn(move || {
                    ready.wait();
                    while !go.exists() {
                        std::thread::sleep(Duration::from_micros(100));
                    }
                    work(store, &format!("{name}-{t}"), o.batch)
                })
            })
            .collect();
        ready.wait();
        println!("ready");
        let _ = std::io::stdout().flush();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| "a worker thread panicked".to_string()))
            .collect::<Result<Vec<_>, String>>()
    })?;
    // `done` first, the reading (megabytes at 100,000 due steps) after: the parent's clock stops
    // at `done`.
    let cpu = cpu_seconds()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    let mut out = std::io::stdout().lock();
    writeln!(out, "done")
        .and_then(|()| out.flush())
        .map_err(|e| e.to_string())?;
    let mut all = Reading {
        cpu_seconds: cpu,
        ..Reading::default()
    };
    for r in readings {
        all.add(r.map_err(|e| e.to_string())?);
    }
    writeln!(out, "{}", all.to_json()).map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    drop(out);
    drop(store);
    Ok(())
}

/// The `p` quantile (0-1) of sorted `values` in milliseconds, by nearest rank.
fn quantile_ms(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64 / 1e6
}

/// p50, p99, max and mean of latencies in nanoseconds, in milliseconds.
fn latencies(mut ns: Vec<u64>) -> Value {
    ns.sort_unstable();
    let mean = ns.iter().sum::<u64>() as f64 / ns.len().max(1) as f64 / 1e6;
    json!({
        "calls": ns.len(), "p50_ms": quantile_ms(&ns, 0.5), "p99_ms": quantile_ms(&ns, 0.99),
        "max_ms": quantile_ms(&ns, 1.0), "mean_ms": mean,
    })
}

/// A started worker process and its stdout.
struct Worker {
    child: Child,
    out: BufReader<ChildStdout>,
}

impl Worker {
    fn line(&mut self) -> Result<String, Error> {
        let mut line = String::new();
        self.out.read_line(&mut line)?;
        if line.is_empty() {
            return Err("a worker process ended without its reading".into());
        }
        Ok(line)
    }
}

/// A path for the go file, beside nothing else: the temporary folder, named by this process.
fn go_file() -> PathBuf {
    std::env::temp_dir().join(format!("enrollkit-bench-queue-{}.go", std::process::id()))
}

/// `enrollkit-bench queue LOCATION N DUE [--processes P] [--threads T] [--batch B]`.
pub(crate) fn run(args: &[String]) -> Result<Value, String> {
    let usage = || {
        "usage: enrollkit-bench queue LOCATION N DUE [--processes P] [--threads T] [--batch B]"
            .to_string()
    };
    let [location, n, due, options @ ..] = args else {
        return Err(usage());
    };
    let (Some(n), Some(due), Some(o)) = (
        crate::number(n),
        crate::number(due),
        Options::parse(options),
    ) else {
        return Err(usage());
    };
    if due > n {
        return Err(usage());
    }
    measure(location, n, due, &o).map_err(|e| e.to_string())
}

fn measure(base: &str, n: usize, due: usize, o: &Options) -> Result<Value, Error> {
    let postgres = enrollkit::is_postgres_location(base);
    let location = if postgres {
        pg::fresh_database(base, &pg::database_name("queue", n))?
    } else {
        remove_database(Path::new(base));
        base.to_owned()
    };
    let began = Instant::now();
    let due_ids = {
        let store = open(&location)?;
        load(&store, n, due)?
    };
    let load_seconds = began.elapsed().as_secs_f64();
    let db_bytes = if postgres {
        pg::database_bytes(&location)?
    } else {
        file_size(Path::new(&location))
    };

    let go = go_file();
    let _ = std::fs::remove_file(&go);
    let exe = std::env::current_exe()?;
    let mut workers = Vec::with_capacity(o.processes);
    for p in 0..o.processes {
        let mut child = Command::new(&exe)
            .arg("queue-worker")
            .arg(&location)
            .arg(&go)
            .arg(format!("p{p}"))
            .args(["--threads", &o.threads.to_string()])
            .args(["--batch", &o.batch.to_string()])
            .stdout(Stdio::piped())
            .spawn()?;
        let out = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        workers.push(Worker { child, out });
    }
    for w in &mut workers {
        if w.line()?.trim() != "ready" {
            return Err("a worker process did not say ready".into());
        }
    }
    std::fs::write(&go, b"")?;
    let start = Instant::now();
    let mut seconds: f64 = 0.0;
    for w in &mut workers {
        if w.line()?.trim() != "done" {
            return Err("a worker process did not say done".into());
        }
        seconds = seconds.max(start.elapsed().as_secs_f64());
    }
    let mut reading = Reading::default();
    for w in &mut workers {
        let v: Value = serde_json::from_str(&w.line()?)?;
        reading.add(Reading::from_json(&v).ok_or("a worker's reading is malformed")?);
    }
    for w in &mut workers {
        if !w.child.wait()?.success() {
            return Err("a worker process failed".into());
        }
    }
    let exit_seconds = start.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&go);

    // Exactly once: each due id completed once, nothing else completed, nothing still due.
    let mut times: HashMap<&str, usize> = due_ids.iter().map(|id| (id.as_str(), 0)).collect();
    let mut stray = 0;
    for id in &reading.completed {
        match times.get_mut(id.as_str()) {
            Some(t) => *t += 1,
            None => stray += 1,
        }
    }
    let twice: usize = times.values().map(|&t| t.saturating_sub(1)).sum();
    let missing = times.values().filter(|&&t| t == 0).count();
    let store = open(&location)?;
    let still_due = store
        .claim_due(
            "bench-check",
            None,
            enrollkit::MAX_LIMIT,
            Duration::from_millis(1),
        )?
        .len();
    let delivered = |program: &str| -> Result<u64, Error> {
        let report = store.report(&Actor::Admin, program)?;
        Ok(report.steps.first().map_or(0, |s| s.delivered))
    };
    let (due_delivered, later_delivered) = (delivered(DUE_PROGRAM)?, delivered(LATER_PROGRAM)?);

    Ok(json!({
        "contender": if postgres { "queue-pg" } else { "queue" },
        "backend": if postgres { "postgresql" } else { "sqlite" },
        "n": n, "due": due, "processes": o.processes, "threads": o.threads, "batch": o.batch,
        "lease_s": LEASE.as_secs(), "load_seconds": load_seconds, "db_bytes": db_bytes,
        "seconds": seconds, "exit_seconds": exit_seconds,
        "claims_per_s": due as f64 / seconds,
        "completed_per_s": reading.completed.len() as f64 / seconds,
        // CPU of the worker processes per due step, in microseconds: the work, whatever
        // else the machine runs.
        "cpu_us_per_step": reading.cpu_seconds.map(|c| c * 1e6 / due as f64),
        "claims": reading.claims, "completed": reading.completed.len(),
        "claims_per_call": reading.claims as f64 / reading.claim_ns.len().max(1) as f64,
        "claim_due": latencies(std::mem::take(&mut reading.claim_ns)),
        "complete_claims": latencies(std::mem::take(&mut reading.complete_ns)),
        "completed_twice": twice, "missing": missing, "stray": stray,
        "conflicts": reading.conflicts,
        "double_claims": twice + missing + stray,
        "still_due": still_due,
        "delivered": {"due_program": due_delivered, "later_program": later_delivered},
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_due_enrollments_are_spread_and_counted_exactly() {
        for (n, due) in [(2_000, 200), (1_000_000, 100_000), (10, 3), (7, 7), (5, 1)] {
            let picked: Vec<usize> = (0..n).filter(|&i| super::is_due(i, n, due)).collect();
            assert_eq!(picked.len(), due, "{n} {due}");
        }
    }

    #[test]
    fn quantiles_by_nearest_rank() {
        let ns: Vec<u64> = (1..=100).map(|i| i * 1_000_000).collect();
        assert_eq!(super::quantile_ms(&ns, 0.5), 50.0);
        assert_eq!(super::quantile_ms(&ns, 0.99), 99.0);
        assert_eq!(super::quantile_ms(&ns, 1.0), 100.0);
    }
}
