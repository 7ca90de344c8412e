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
