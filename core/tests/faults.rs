//! Faults that need a second process.
//!
//! - The disk fills up under a writer. A child process runs with a file size limit
//!   (`ulimit -f`, SIGXFSZ ignored, so writes past it fail with EFBIG as on a full disk) and
//!   enrolls until a write fails; it must get a clean `storage` error, and afterwards the
//!   database (opened without the limit) passes its checks, holds every enrollment the child
//!   saw committed, and takes writes again.
//! - The file is read-only (mode 0444). The child runs as `nobody` when the tests run as root,
//!   since root may write any file. Opening it normally must fail with `storage` saying it is
//!   read-only; opening it read-only must read everything and refuse every write with
//!   `storage`; the file's bytes must not change.
//! - Another process holds the write lock longer than the busy timeout: writes fail with
//!   `busy` after the timeout (not before), reads go on, nothing committed is lost, and writes
//!   work once the lock is gone.
//!
//! Busy, corrupt, foreign and newer-schema files are in `store.rs`.

use std::io::{BufRead, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;

use enrollkit::*;

/// This test binary, to run test `name` as a child process with `env` set (which makes the test
/// play the child's part).
fn rerun(name: &str, env: (&str, &Path)) -> std::process::Command {
    rerun_exe(&std::env::current_exe().unwrap(), name, env)
}

/// [`rerun`] with a copy of this test binary at `exe`.
fn rerun_exe(exe: &Path, name: &str, env: (&str, &Path)) -> std::process::Command {
    let mut child = std::process::Command::new(exe);
    child
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(env.0, env.1);
    child
}

/// The child: enrolls fresh users in batches of 50 until a call fails.
fn filler(db: &Path) {
    let store = Store::open(db).unwrap();
    let mut out = std::io::stdout().lock();
    writeln!(out).unwrap();
    for batch in 0.. {
        let users: Vec<User> = (0..50)
            .map(|i| User {
                id: format!("b{batch}_{i}"),
                display_name: Some("x".repeat(200)),
                ..User::default()
            })
            .collect();
        let requests: Vec<EnrollRequest> = users
            .iter()
            .map(|u| EnrollRequest::new(&u.id, "crs"))
            .collect();
        let result = store
            .upsert_users(&users)
            .and_then(|_| store.enroll_many(&Actor::Admin, &requests, BatchMode::AllOrNothing));
        match result {
            Ok(outcomes) => {
                for o in outcomes {
                    match o {
                        EnrollOutcome::Created(e) => writeln!(out, "E {}", e.id).unwrap(),
                        other => panic!("unexpected outcome {}", other.kind()),
                    }
                }
                out.flush().unwrap();
            }
            Err(e) => {
                writeln!(out, "ERROR {} {e}", e.code()).unwrap();
                return;
            }
        }
    }
}

/// A new user enrolls in `crs`: the store writes again after the fault.
fn takes_writes_again(store: &Store) {
    let user = User {
        id: "after".into(),
        ..User::default()
    };
    store.upsert_user(&user).unwrap();
    store
        .enroll(&Actor::Admin, &EnrollRequest::new("after", "crs"))
        .unwrap();
}

#[test]
fn a_full_disk_is_a_storage_error_and_loses_nothing_committed() {
    if let Ok(db) = std::env::var("ENROLLKIT_FAULT_DB") {
        return filler(Path::new(&db));
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("full.db");
    {
        let store = Store::open(&db).unwrap();
        store
            .create_program(&ProgramSpec::course("crs", "Course"))
            .unwrap();
    }
    // bash's `ulimit -f` counts KiB: no file may grow past 3 MiB.
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(
            "trap '' XFSZ; ulimit -f 3072; exec \"$0\" --exact \
             a_full_disk_is_a_storage_error_and_loses_nothing_committed --nocapture \
             --test-threads=1",
        )
        .arg(std::env::current_exe().unwrap())
        .env("ENROLLKIT_FAULT_DB", &db)
        .output()
        .unwrap();
    assert!(out.status.success(), "the child crashed: {out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let acked: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("E ")).collect();
    let error = text
        .lines()
        .find_map(|l| l.strip_prefix("ERROR "))
        .expect("the child never hit the limit");
    assert!(error.starts_with("storage "), "{error}");
    assert!(
        acked.len() >= 50,
        "something was committed before the disk filled"
    );

    let store = Store::open(&db).unwrap();
    assert!(store.check_invariants().unwrap().is_empty());
    for id in &acked {
        store.get_enrollment(&Actor::Admin, id).unwrap();
    }
    let stats = store.stats().unwrap();
    assert_eq!(
        stats.enrollments,
        acked.len() as u64,
        "nothing half-written"
    );
    takes_writes_again(&store);
    eprintln!(
        "faults: disk full after {} enrollments ({error}); all of them intact",
        acked.len()
    );
}

/// The read-only child: prints one line per attempt.
fn read_only_reader(db: &Path) {
    let mut out = std::io::stdout().lock();
    writeln!(out).unwrap();
    match Store::open(db) {
        Ok(_) => writeln!(out, "OPEN ok").unwrap(),
        Err(e) => writeln!(out, "OPEN {} {e}", e.code()).unwrap(),
    }
    let store = OpenOptions::new().read_only(true).open(db).unwrap();
    assert!(store.check_invariants().unwrap().is_empty());
    let page = store
        .list_enrollments(&Actor::Admin, &ListQuery::default())
        .unwrap();
    for e in &page.items {
        writeln!(out, "E {} {}", e.id, e.progress_percent).unwrap();
    }
    let mut export = Vec::new();
    store.export_jsonl(&mut export, None).unwrap();
    writeln!(out, "EXPORT {}", export.len()).unwrap();
    let id = &page.items[0].id;
    let user = User {
        id: "new".into(),
        ..User::default()
    };
    let attempts: [(&str, Result<()>); 4] = [
        ("upsert_user", store.upsert_user(&user).map(drop)),
        (
            "enroll",
            store
                .enroll(&Actor::Admin, &EnrollRequest::new("u1", "crs"))
                .map(drop),
        ),
        (
            "add_progress",
            store.add_progress(&Actor::Admin, id, 5.0).map(drop),
        ),
        (
            "import",
            store
                .import_jsonl(&mut export.as_slice(), BatchMode::AllOrNothing, None)
                .map(drop),
        ),
    ];
    for (what, result) in attempts {
        match result {
            Ok(()) => writeln!(out, "WRITE {what} ok").unwrap(),
            Err(e) => writeln!(out, "WRITE {what} {} {e}", e.code()).unwrap(),
        }
    }
}

#[test]
fn a_read_only_file_is_readable_with_the_option_and_never_written() {
    if let Ok(db) = std::env::var("ENROLLKIT_READ_ONLY_DB") {
        return read_only_reader(Path::new(&db));
    }
    let dir = tempfile::tempdir().unwrap();
    // The child may be another user: it must reach the file and create the WAL's -shm.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let db = dir.path().join("ro.db");
    let mut expected = Vec::new();
    {
        let store = Store::open(&db).unwrap();
        store
            .create_program(&ProgramSpec::course("crs", "Course"))
            .unwrap();
        for i in 0..3 {
            let u = format!("u{i}");
            store
                .upsert_user(&User {
                    id: u.clone(),
                    ..User::default()
                })
                .unwrap();
            let e = store
                .enroll(&Actor::Admin, &EnrollRequest::new(&u, "crs"))
                .unwrap();
            let e = store
                .set_progress(&Actor::Admin, &e.id, 10.0 * i as f64)
                .unwrap();
            expected.push(format!("E {} {}", e.id, e.progress_percent));
        }
    }
    let bytes = std::fs::read(&db).unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();

    let name = "a_read_only_file_is_readable_with_the_option_and_never_written";
    let root = std::fs::metadata("/proc/self").unwrap().uid() == 0;
    let mut child = if root {
        // The checkout (and so this binary) may sit in a folder that nobody else may enter,
        // such as a 0700 `mktemp -d`: the child runs a copy in the world-readable temp folder.
        let exe = dir.path().join("faults-child");
        std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut child = rerun_exe(&exe, name, ("ENROLLKIT_READ_ONLY_DB", &db));
        child.uid(65534).gid(65534);
        child
    } else {
        rerun(name, ("ENROLLKIT_READ_ONLY_DB", &db))
    };
    let out = child.output().unwrap();
    assert!(out.status.success(), "the child crashed: {out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |prefix: &str| {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} line in {text}"))
    };
    let open = line("OPEN ");
    assert!(
        open.starts_with("OPEN storage ") && open.contains("read-only"),
        "{open}"
    );
    let mut seen: Vec<&str> = text.lines().filter(|l| l.starts_with("E ")).collect();
    seen.sort();
    expected.sort();
    assert_eq!(seen, expected, "the read-only store reads every enrollment");
    assert_ne!(line("EXPORT "), "EXPORT 0");
    for what in ["upsert_user", "enroll", "add_progress", "import"] {
        let l = line(&format!("WRITE {what} "));
        assert!(
            l.contains(" storage ") && l.contains("read-only"),
            "a write on a read-only store: {l}"
        );
    }
    assert_eq!(std::fs::read(&db).unwrap(), bytes, "the file changed");

    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = Store::open(&db).unwrap();
    assert!(store.check_invariants().unwrap().is_empty());
    assert_eq!(store.stats().unwrap().enrollments, 3);
    takes_writes_again(&store);
    eprintln!(
        "faults: read-only file (child {}): open refused, {} enrollments read, 4 writes refused, file unchanged",
        if root { "as nobody" } else { "as this user" },
        seen.len()
    );
}

/// The lock holder: takes the write lock, writes a row it never commits, says "locked" and
/// waits for its stdin to close.
fn lock_holder(db: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(
        "BEGIN IMMEDIATE; INSERT INTO users (id, created_at, updated_at) VALUES ('ghost', 0, 0);",
    )
    .unwrap();
    // On a line of its own: the harness has written "test <name> ... " before it.
    let mut out = std::io::stdout().lock();
    writeln!(out, "\nlocked").unwrap();
    out.flush().unwrap();
    drop(out);
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
}

#[test]
fn a_lock_held_by_another_process_is_busy_after_the_timeout() {
    if let Ok(db) = std::env::var("ENROLLKIT_LOCK_DB") {
        return lock_holder(Path::new(&db));
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("locked.db");
    let timeout = std::time::Duration::from_millis(300);
    let store = OpenOptions::new().busy_timeout(timeout).open(&db).unwrap();
    store
        .create_program(&ProgramSpec::course("crs", "Course"))
        .unwrap();
    let user = |id: &str| User {
        id: id.into(),
        ..User::default()
    };
    store.upsert_user(&user("u1")).unwrap();
    let before = store
        .enroll(&Actor::Admin, &EnrollRequest::new("u1", "crs"))
        .unwrap();

    let mut child = rerun(
        "a_lock_held_by_another_process_is_busy_after_the_timeout",
        ("ENROLLKIT_LOCK_DB", &db),
    )
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while line.trim() != "locked" {
        line.clear();
        assert_ne!(
            out.read_line(&mut line).unwrap(),
            0,
            "the child never locked"
        );
    }

    let start = std::time::Instant::now();
    let err = store.upsert_user(&user("u2")).unwrap_err();
    let waited = start.elapsed();
    assert_eq!(err.code(), "busy", "{err}");
    assert!(waited >= timeout, "gave up after {waited:?}");
    let err = store
        .add_progress(&Actor::Admin, &before.id, 10.0)
        .unwrap_err();
    assert_eq!(err.code(), "busy", "{err}");
    // Reads go on, and see only what was committed.
    assert_eq!(
        store.get_enrollment(&Actor::Admin, &before.id).unwrap(),
        before
    );
    assert!(store.get_user("ghost").is_err());

    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    assert!(
        store.get_user("ghost").is_err(),
        "the holder never committed"
    );
    assert_eq!(
        store
            .add_progress(&Actor::Admin, &before.id, 10.0)
            .unwrap()
            .progress_percent,
        10.0
    );
    assert!(store.check_invariants().unwrap().is_empty());
    eprintln!(
        "faults: lock held by another process: busy after {} ms (timeout {} ms), reads went on, \
         nothing lost",
        waited.as_millis(),
        timeout.as_millis()
    );
}
