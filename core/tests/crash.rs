//! Crash safety: a writer process is killed with SIGKILL at random moments, again and again;
//! after every kill the database opens, passes `integrity_check` and enrollkit's invariants,
//! and holds every operation the writer acknowledged (logged to a side file with fsync after
//! the call returned). `ENROLLKIT_CRASH_KILLS` sets the number of kills (default 20).

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use enrollkit::*;

/// The writer: enrolls users and sets progress forever, and in round 50 of every 100 enrolls
/// a bulk batch of 256 (written 16 rows to a statement), acknowledging each committed change.
fn writer(db: &Path, log: &Path, run: &str) {
    let store = Store::open(db).unwrap();
    let mut ack = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    for n in 0.. {
        let user = format!("{run}_{n}");
        store
            .upsert_user(&User {
                id: user.clone(),
                ..User::default()
            })
            .unwrap();
        let e = store
            .enroll(&Actor::System, &EnrollRequest::new(&user, "crs"))
            .unwrap();
        ack.write_all(format!("E {}\n", e.id).as_bytes()).unwrap();
        ack.sync_data().unwrap();
        store.set_progress(&Actor::System, &e.id, 50.0).unwrap();
        ack.write_all(format!("P {}\n", e.id).as_bytes()).unwrap();
        ack.sync_data().unwrap();
        if n % 100 == 50 {
            let ids = enroll_new_users(&store, (0..256).map(|i| format!("{user}_b{i}")));
            let acks: String = ids.iter().map(|id| format!("E {id}\n")).collect();
            ack.write_all(acks.as_bytes()).unwrap();
            ack.sync_data().unwrap();
        }
    }
}

/// Adds the users `ids` and enrolls each in `crs` with one `enroll_many` (the bulk path from
/// 256 rows): the new enrollments' ids.
fn enroll_new_users(store: &Store, ids: impl Iterator<Item = String>) -> Vec<String> {
    let users: Vec<User> = ids
        .map(|id| User {
            id,
            ..User::default()
        })
        .collect();
    store.upsert_users(&users).unwrap();
    let requests: Vec<EnrollRequest> = users
        .iter()
        .map(|u| EnrollRequest::new(&u.id, "crs"))
        .collect();
    store
        .enroll_many(&Actor::Admin, &requests, BatchMode::AllOrNothing)
        .unwrap()
        .into_iter()
        .map(|o| match o {
            EnrollOutcome::Created(e) => e.id,
            other => panic!("{}", other.kind()),
        })
        .collect()
}

/// Starts this test binary again as a child process that runs only `test`, with `env` set and
/// its output discarded: the process that a test then kills.
fn spawn_test(test: &str, env: &[(&str, &std::ffi::OsStr)]) -> std::process::Child {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--test-threads=1"])
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// A tiny deterministic generator for the kill delays.
fn next(seed: &mut u64) -> u64 {
    *seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    *seed >> 33
}

#[test]
fn sigkill_never_loses_an_acknowledged_operation() {
    if let (Ok(db), Ok(log), Ok(run)) = (
        std::env::var("ENROLLKIT_CRASH_DB"),
        std::env::var("ENROLLKIT_CRASH_LOG"),
        std::env::var("ENROLLKIT_CRASH_RUN"),
    ) {
        return writer(Path::new(&db), Path::new(&log), &run);
    }
    let kills: u32 = std::env::var("ENROLLKIT_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let log = dir.path().join("acks.log");
    {
        let store = Store::open(&db).unwrap();
        store
            .create_program(&ProgramSpec {
                id: "crs".into(),
                kind: Kind::Course,
                title: "C".into(),
                description: None,
                state: ProgramState::Active,
                self_enrollment: false,
                steps: vec![],
                assessment: None,
                policy: Default::default(),
            })
            .unwrap();
    }
    let mut seed = 42;
    let mut checked = 0;
    for k in 0..kills {
        let run = format!("r{k}");
        let mut child = spawn_test(
            "sigkill_never_loses_an_acknowledged_operation",
            &[
                ("ENROLLKIT_CRASH_DB", db.as_os_str()),
                ("ENROLLKIT_CRASH_LOG", log.as_os_str()),
                ("ENROLLKIT_CRASH_RUN", run.as_ref()),
            ],
        );
        std::thread::sleep(Duration::from_millis(30 + next(&mut seed) % 150));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let store = Store::open(&db).unwrap();
        let problems = store.check_invariants().unwrap();
        assert!(problems.is_empty(), "after kill {k}: {problems:?}");
        let acks = std::fs::read_to_string(&log).unwrap_or_default();
        // An acknowledgement counts once its line is complete; a kill may cut the last one.
        let complete = &acks[..acks.rfind('\n').map_or(0, |i| i + 1)];
        for line in complete.lines() {
            let (op, id) = line.split_once(' ').unwrap();
            let e = store
                .get_enrollment(&Actor::Admin, id)
                .unwrap_or_else(|err| panic!("after kill {k}: acknowledged {line} is lost: {err}"));
            if op == "P" {
                assert_eq!(e.progress_percent, 50.0, "after kill {k}: {line}");
            }
            checked += 1;
        }
        // The next writer appends to the log: drop the cut line first, or the next
        // acknowledgement would complete it into a line naming no enrollment.
        std::fs::write(&log, complete).unwrap();
    }
    let store = Store::open(&db).unwrap();
    println!(
        "{kills} kills, {checked} acknowledged operations checked, {} enrollments",
        store.stats().unwrap().enrollments
    );
    assert!(checked > 0, "the writer acknowledged something");
}

/// An import into an empty file writes through a rollback journal (not the WAL): a process
/// killed at any moment of it leaves the file empty or fully imported, never in between, and
/// the next open rolls a cut import back and returns the file to WAL mode.
#[test]
fn sigkill_during_an_import_into_an_empty_file_leaves_nothing_or_everything() {
    if let (Ok(db), Ok(file)) = (
        std::env::var("ENROLLKIT_IMPORT_DB"),
        std::env::var("ENROLLKIT_IMPORT_FILE"),
    ) {
        let store = Store::open(&db).unwrap();
        let mut input = std::io::BufReader::new(std::fs::File::open(file).unwrap());
        let report = store
            .import_jsonl(&mut input, BatchMode::AllOrNothing, None)
            .unwrap();
        assert!(report.committed);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export.jsonl");
    let full = {
        let source = Store::open_in_memory().unwrap();
        source
            .create_program(&ProgramSpec::course("crs", "Course"))
            .unwrap();
        enroll_new_users(&source, (0..5_000).map(|i| format!("u{i}")));
        let mut out = std::io::BufWriter::new(std::fs::File::create(&export).unwrap());
        source.export_jsonl(&mut out, None).unwrap();
        source.stats().unwrap()
    };
    let db = dir.path().join("import.db");
    let remove = || {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
    };
    let import = || {
        spawn_test(
            "sigkill_during_an_import_into_an_empty_file_leaves_nothing_or_everything",
            &[
                ("ENROLLKIT_IMPORT_DB", db.as_os_str()),
                ("ENROLLKIT_IMPORT_FILE", export.as_os_str()),
            ],
        )
    };
    // How long a whole import takes here (process start included): kills land within it.
    let start = std::time::Instant::now();
    assert!(import().wait().unwrap().success());
    let whole = start.elapsed().as_millis() as u64;
    let mut seed = 7;
    let (mut cut, mut journals) = (0, 0);
    for k in 0..8 {
        remove();
        let mut child = import();
        std::thread::sleep(Duration::from_millis(whole / 4 + next(&mut seed) % whole));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if Path::new(&format!("{}-journal", db.display())).exists() {
            journals += 1;
        }
        let store = Store::open(&db).unwrap();
        let problems = store.check_invariants().unwrap();
        assert!(problems.is_empty(), "after kill {k}: {problems:?}");
        let stats = store.stats().unwrap();
        if stats == RecordCounts::default() {
            cut += 1;
        } else {
            assert_eq!(stats, full, "after kill {k}: a partial import");
        }
        drop(store);
        let mode: String = rusqlite::Connection::open(&db)
            .unwrap()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal", "after kill {k}");
    }
    println!("8 kills during imports: {cut} cut (rolled back), {journals} left a hot journal");
    assert!(
        journals > 0,
        "some kill landed inside the import's transaction"
    );
}
