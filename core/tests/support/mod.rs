//! What integration tests share: the PostgreSQL server the test command starts
//! (`scripts/pg run`), and a fresh database on it for each store a test opens.

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};

/// The PostgreSQL location tests run against (`ENROLLKIT_TEST_POSTGRES`, which `scripts/pg run`
/// sets), or `None` when `ENROLLKIT_SKIP_POSTGRES=1` says to skip them. Neither is a failure:
/// skipping PostgreSQL must be asked for, never silent.
pub fn postgres() -> Option<String> {
    if let Ok(location) = std::env::var("ENROLLKIT_TEST_POSTGRES") {
        return Some(location);
    }
    if std::env::var("ENROLLKIT_SKIP_POSTGRES").as_deref() == Ok("1") {
        eprintln!("SKIPPED: the PostgreSQL runs of this test (ENROLLKIT_SKIP_POSTGRES=1)");
        return None;
    }
    panic!(
        "no PostgreSQL to test against: run the tests under `scripts/pg run cargo test ...` \
         (which sets ENROLLKIT_TEST_POSTGRES), or set ENROLLKIT_SKIP_POSTGRES=1 to skip them"
    );
}

/// A new, empty database on the server at `base`, as a location to open a store on.
pub fn fresh_database(base: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "t_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let mut client = postgres::Client::connect(base, postgres::NoTls).expect("the test server");
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("a test database");
    with_database(base, &name)
}

/// `base` with its `dbname` replaced by `name`.
pub fn with_database(base: &str, name: &str) -> String {
    let kept: Vec<&str> = base
        .split_whitespace()
        .filter(|kv| !kv.starts_with("dbname="))
        .collect();
    format!("{} dbname={name}", kept.join(" "))
}

/// A race of child processes: this test binary run again `processes` times as test `test`
/// (`--exact`), each told by environment variables where the database is
/// (`ENROLLKIT_RACE_DB`), which child it is (`ENROLLKIT_RACE_PROCESS`: `p0`, `p1`, ...) and
/// which file appears when all of them may start (`ENROLLKIT_RACE_GO`), so that they start at
/// once. Returns every line the children printed; panics when one fails.
pub fn race_children(test: &str, processes: usize, location: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let go = dir.path().join("go");
    let children: Vec<_> = (0..processes)
        .map(|p| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", test, "--nocapture", "--test-threads=1"])
                .env("ENROLLKIT_RACE_DB", location)
                .env("ENROLLKIT_RACE_GO", &go)
                .env("ENROLLKIT_RACE_PROCESS", format!("p{p}"))
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // Long enough for every child to open its store and wait.
    std::thread::sleep(std::time::Duration::from_millis(700));
    std::fs::write(&go, b"").unwrap();
    let mut lines = Vec::new();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "a child process of {test} failed");
        lines.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(str::to_owned),
        );
    }
    lines
}

/// In a child of [`race_children`]: the database location and the child's name, or `None`
/// in the parent.
pub fn race_child() -> Option<(String, String)> {
    Some((
        std::env::var("ENROLLKIT_RACE_DB").ok()?,
        std::env::var("ENROLLKIT_RACE_PROCESS").ok()?,
    ))
}

/// In a child of [`race_children`]: waits for the start.
pub fn wait_for_go() {
    let go = std::env::var("ENROLLKIT_RACE_GO").expect("a race child");
    while !std::path::Path::new(&go).exists() {
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
}

/// A store on each backend (SQLite in memory; PostgreSQL unless skipped), each on a manual
/// clock of its own set at `now` (RFC 3339).
pub fn stores(now: &str) -> Vec<(enrollkit::Store, std::sync::Arc<enrollkit::ManualClock>)> {
    use std::sync::Arc;
    let at = enrollkit::Timestamp::parse(now).unwrap();
    let mut out = Vec::new();
    let clock = Arc::new(enrollkit::ManualClock::new(at));
    out.push((
        enrollkit::OpenOptions::new()
            .clock(clock.clone())
            .open_in_memory()
            .unwrap(),
        clock,
    ));
    if let Some(base) = postgres() {
        let clock = Arc::new(enrollkit::ManualClock::new(at));
        let store = enrollkit::OpenOptions::new()
            .clock(clock.clone())
            .open(fresh_database(&base))
            .unwrap();
        out.push((store, clock));
    }
    out
}
