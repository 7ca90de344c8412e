//! Faults: the disk fills up under a writer. A child process runs with a file size limit
//! (`ulimit -f`, SIGXFSZ ignored, so writes past it fail with EFBIG as on a full disk) and
//! enrolls until a write fails; it must get a clean `storage` error, and afterwards the database
//! (opened without the limit) passes its checks, holds every enrollment the child saw
//! committed, and takes writes again.

use std::io::Write;
use std::path::Path;

use enrollkit::*;

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
    store
        .upsert_user(&User {
            id: "after".into(),
            ..User::default()
        })
        .unwrap();
    store
        .enroll(&Actor::Admin, &EnrollRequest::new("after", "crs"))
        .unwrap();
    eprintln!(
        "faults: disk full after {} enrollments ({error}); all of them intact",
        acked.len()
    );
}
