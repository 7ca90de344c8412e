//! Load: 4 processes x 4 threads on one database (an SQLite file, then a PostgreSQL database),
//! mixing enroll, add_progress, drop /
//! reactivate and list for a fixed number of operations each. Afterwards:
//!
//! * no user has two open enrollments in a program (`check_invariants`, `integrity_check`);
//! * no update is lost: every enrollment's progress equals the additions acknowledged for it,
//!   and the history holds exactly one event per acknowledged change;
//! * no caller saw `busy` (the busy timeout, 30 s, is never exceeded) and no list call waited
//!   longer than that for a writer.
//!
//! `ENROLLKIT_LOAD_OPS` sets the operations per thread (default 500; the long run uses more;
//! the number of users grows with it).

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

use enrollkit::*;

mod support;

const PROCESSES: usize = 4;
const THREADS: usize = 4;
const PROGRAMS: usize = 3;
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Users to enroll: enough that long runs keep most enrollments below 100 % (an enrollment that
/// completes refuses further additions, and the mix would dwindle to lists).
fn users() -> usize {
    (ops_per_thread() / 20).max(24)
}

fn ops_per_thread() -> usize {
    std::env::var("ENROLLKIT_LOAD_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500)
}

fn next(seed: &mut u64) -> usize {
    *seed = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    (*seed >> 33) as usize
}

fn open(db: &str) -> Store {
    OpenOptions::new()
        .busy_timeout(BUSY_TIMEOUT)
        .open(db)
        .unwrap()
}

/// One thread of a child process: random operations, each acknowledged on stdout after it
/// returned (`E id` created, `A id` one addition, `T id` a drop or reactivation, `L ms` a list
/// call's duration).
fn worker(store: &Store, seed: u64, out: &mut Vec<String>) {
    let mut seed = seed;
    let mut mine: Vec<String> = Vec::new();
    for _ in 0..ops_per_thread() {
        let user = format!("u{}", next(&mut seed) % users());
        let program = format!("p{}", next(&mut seed) % PROGRAMS);
        match next(&mut seed) % 10 {
            0..=2 => match store.enroll(&Actor::System, &EnrollRequest::new(&user, &program)) {
                Ok(e) => {
                    out.push(format!("E {}", e.id));
                    mine.push(e.id);
                }
                Err(Error::AlreadyEnrolled { existing_id, .. }) => mine.push(existing_id),
                Err(e) => panic!("enroll: {e}"),
            },
            3..=6 if !mine.is_empty() => {
                let id = &mine[next(&mut seed) % mine.len()];
                match store.add_progress(&Actor::System, id, 1.0) {
                    Ok(_) => out.push(format!("A {id}")),
                    Err(Error::InvalidTransition { .. }) => {} // dropped meanwhile
                    Err(e) => panic!("add_progress: {e}"),
                }
            }
            7 if !mine.is_empty() => {
                let id = &mine[next(&mut seed) % mine.len()];
                let result = if next(&mut seed) % 2 == 0 {
                    store.drop_enrollment(&Actor::Admin, id)
                } else {
                    store.reactivate(&Actor::Admin, id)
                };
                match result {
                    Ok(_) => out.push(format!("T {id}")),
                    Err(Error::InvalidTransition { .. }) => {}
                    Err(e) => panic!("transition: {e}"),
                }
            }
            _ => {
                let start = Instant::now();
                let query = ListQuery {
                    program_id: Some(program),
                    ..ListQuery::default()
                };
                store.list_enrollments(&Actor::Admin, &query).unwrap();
                out.push(format!("L {}", start.elapsed().as_millis()));
            }
        }
    }
}

fn child(db: &str, process: u64) {
    let store = std::sync::Arc::new(open(db));
    let threads: Vec<_> = (0..THREADS as u64)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut out = Vec::new();
                worker(&store, process * 1000 + t + 1, &mut out);
                out
            })
        })
        .collect();
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout).unwrap();
    for t in threads {
        for line in t.join().unwrap() {
            writeln!(stdout, "{line}").unwrap();
        }
    }
}

#[test]
fn four_processes_of_four_threads_lose_and_duplicate_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("load.db");
    load(
        "four_processes_of_four_threads_lose_and_duplicate_nothing",
        db.to_str().unwrap(),
    );
}

#[test]
fn four_processes_of_four_threads_lose_and_duplicate_nothing_on_postgres() {
    let Some(base) = support::postgres() else {
        return;
    };
    let db = match std::env::var("ENROLLKIT_LOAD_DB") {
        Ok(db) => db,
        Err(_) => support::fresh_database(&base),
    };
    load(
        "four_processes_of_four_threads_lose_and_duplicate_nothing_on_postgres",
        &db,
    );
}

/// The load test proper on database `db`, whose child processes run test `name`.
fn load(name: &str, db: &str) {
    if let (Ok(db), Ok(p)) = (
        std::env::var("ENROLLKIT_LOAD_DB"),
        std::env::var("ENROLLKIT_LOAD_PROCESS"),
    ) {
        return child(&db, p.parse().unwrap());
    }
    {
        let store = open(db);
        for u in 0..users() {
            store
                .upsert_user(&User {
                    id: format!("u{u}"),
                    ..User::default()
                })
                .unwrap();
        }
        for p in 0..PROGRAMS {
            store
                .create_program(&ProgramSpec::course(format!("p{p}"), format!("P{p}")))
                .unwrap();
        }
    }
    let started = Instant::now();
    let children: Vec<_> = (0..PROCESSES)
        .map(|p| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", name, "--nocapture", "--test-threads=1"])
                .env("ENROLLKIT_LOAD_DB", db)
                .env("ENROLLKIT_LOAD_PROCESS", p.to_string())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut created = 0usize;
    let mut additions: HashMap<String, usize> = HashMap::new();
    let mut transitions = 0usize;
    let mut lists = 0usize;
    let mut slowest_list = 0u64;
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "a load process failed");
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            match line.split_once(' ') {
                Some(("E", _)) => created += 1,
                Some(("A", id)) => *additions.entry(id.to_owned()).or_default() += 1,
                Some(("T", _)) => transitions += 1,
                Some(("L", ms)) => {
                    lists += 1;
                    slowest_list = slowest_list.max(ms.parse().unwrap());
                }
                _ => {} // the test harness's own lines
            }
        }
    }
    let elapsed = started.elapsed();

    let store = open(db);
    assert!(store.check_invariants().unwrap().is_empty());
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let query = ListQuery {
            pagination: Pagination::Cursor {
                starting_after: after,
                limit: 100,
            },
            ..ListQuery::default()
        };
        let page = store.list_enrollments(&Actor::Admin, &query).unwrap();
        all.extend(page.items);
        match page.next_cursor {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    assert_eq!(
        all.len(),
        created,
        "every acknowledged enrollment, no other"
    );
    for e in &all {
        let added = additions.get(&e.id).copied().unwrap_or(0);
        assert_eq!(e.progress_percent, added as f64, "{}: additions lost", e.id);
    }
    let added: usize = additions.values().sum();
    let (mut count, mut after) = (0, 0);
    loop {
        let page = store.events_after(&Actor::Admin, after, 1000).unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        count += page.len();
    }
    assert_eq!(count, created + added + transitions, "one event per change");
    assert!(
        slowest_list < BUSY_TIMEOUT.as_millis() as u64,
        "a reader waited {slowest_list} ms"
    );
    let total = PROCESSES * THREADS * ops_per_thread();
    eprintln!(
        "load on {}: {PROCESSES} processes x {THREADS} threads, {total} operations in {:.1} s: \
         {created} enrollments, {added} additions, {transitions} transitions, {lists} lists \
         (slowest {slowest_list} ms); nothing lost or duplicated",
        if db.ends_with(".db") {
            "SQLite"
        } else {
            "PostgreSQL"
        },
        elapsed.as_secs_f64()
    );
}
