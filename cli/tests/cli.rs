//! Runs the `enrollkit` binary: every command, bad arguments, missing and corrupt databases,
//! refused rules, malformed imports, and the export → import → export round trip on the demo.

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

#[path = "../../core/tests/support/mod.rs"]
mod support;

fn cli(db: &Path) -> Command {
    let mut c = Command::cargo_bin("enrollkit").unwrap();
    c.arg("--db").arg(db);
    c
}

fn json(db: &Path, args: &[&str]) -> Value {
    let out = cli(db)
        .arg("--json")
        .args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out)))
}

struct Fixture {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    db: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let db = path.join("e.db");
    Fixture {
        _dir: dir,
        dir: path,
        db,
    }
}

#[test]
fn every_command_on_a_small_database() {
    let f = fixture();
    let db = &f.db;
    assert_eq!(
        json(db, &["init"])["schema_version"],
        enrollkit::SCHEMA_VERSION
    );
    json(
        db,
        &[
            "user",
            "add",
            "u1",
            "--email",
            "u1@example.com",
            "--name",
            "Una",
            "--group",
            "Eng",
            "--group",
            "Ops",
        ],
    );
    json(
        db,
        &[
            "user",
            "add",
            "u2",
            "--external-id",
            "X2",
            "--manager",
            "u1",
            "--timezone",
            "Europe/Berlin",
        ],
    );
    assert_eq!(
        json(db, &["user", "show", "--email", "U1@example.com"])["groups"],
        serde_json::json!(["Eng", "Ops"])
    );
    assert_eq!(
        json(db, &["user", "show", "--external-id", "X2"])["id"],
        "u2"
    );
    assert_eq!(json(db, &["user", "list"]).as_array().unwrap().len(), 2);
    cli(db)
        .args(["user", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("u1@example.com"));

    let course = f.dir.join("course.json");
    std::fs::write(&course, r#"{"id": "crs", "kind": "course", "title": "Course", "state": "active", "self_enrollment": true,
        "assessment": {"passing_score": 50, "max_attempts": 1}}"#).unwrap();
    json(db, &["program", "add", course.to_str().unwrap()]);
    let track = f.dir.join("track.yaml");
    std::fs::write(&track, "id: trk\nkind: track\ntitle: Track\nstate: active\nsteps:\n  - {id: hello, step_type: message, title: Hello, learner_completable: false}\n  - {id: task, step_type: task, title: Task, learner_completable: true}\n").unwrap();
    assert_eq!(
        json(db, &["program", "add", track.to_str().unwrap()])["steps"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let cert = f.dir.join("cert.yml");
    std::fs::write(
        &cert,
        "id: cert\nkind: certification\ntitle: Cert\nstate: active\n",
    )
    .unwrap();
    json(db, &["program", "add", cert.to_str().unwrap()]);
    std::fs::write(
        &cert,
        "id: cert\nkind: certification\ntitle: Renamed\nstate: paused\n",
    )
    .unwrap();
    assert_eq!(
        json(db, &["program", "update", cert.to_str().unwrap()])["title"],
        "Renamed"
    );
    assert_eq!(json(db, &["program", "show", "trk"])["kind"], "track");
    assert_eq!(
        json(db, &["program", "list", "--kind", "course"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    cli(db)
        .args(["program", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("trk"));

    let e = json(db, &["--actor", "learner:u1", "enroll", "u1", "crs"]);
    let id = e["id"].as_str().unwrap().to_owned();
    assert_eq!(e["trigger"], "self_join");
    assert_eq!(json(db, &["progress", &id, "40"])["progress_percent"], 40.0);
    let attempt = json(db, &["attempt", &id, "45"]);
    assert_eq!(attempt["attempt"]["number"], 1);
    assert_eq!(attempt["enrollment"]["best_score"], 45.0);
    cli(db)
        .args(["attempt", &id, "90"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("attempt_limit_reached"));
    assert_eq!(json(db, &["drop", &id])["status"], "dropped");
    assert_eq!(json(db, &["reactivate", &id])["status"], "active");
    assert_eq!(json(db, &["progress", &id, "100"])["status"], "completed");
    let rendered = json(db, &["show", &id, "--as", "course"]);
    assert_eq!(rendered["course_id"], "crs");
    cli(db)
        .args(["show", &id, "--as", "slack"])
        .assert()
        .code(3);
    assert_eq!(json(db, &["show", &id])["id"], id.as_str());

    let t = json(
        db,
        &[
            "--actor",
            "system",
            "enroll",
            "X2",
            "trk",
            "--by",
            "external-id",
            "--trigger",
            "user_join",
        ],
    );
    let tid = t["id"].as_str().unwrap().to_owned();
    json(
        db,
        &["step", &tid, "hello", "deliver", "--destination", "user"],
    );
    json(db, &["step", &tid, "task", "start"]);
    json(
        db,
        &[
            "step",
            &tid,
            "task",
            "fail",
            "--reason",
            "bounced",
            "--message",
            "Mailbox full",
        ],
    );
    cli(db)
        .args(["step", &tid, "task", "complete", "--result", "{oops"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("validation"));
    assert_eq!(json(db, &["pause", &tid])["status"], "paused");
    assert_eq!(json(db, &["resume", &tid])["status"], "active");
    let done = json(
        db,
        &[
            "--actor",
            "learner:u2",
            "step",
            &tid,
            "task",
            "complete",
            "--result",
            "{\"ok\": true}",
        ],
    );
    assert_eq!(done["status"], "completed");
    assert_eq!(
        json(db, &["show", &tid, "--as", "track"])["object"],
        "track_enrollee"
    );
    let later = json(
        db,
        &["enroll", "u1", "trk", "--start-at", "2999-01-01T00:00:00Z"],
    );
    let lid = later["id"].as_str().unwrap().to_owned();
    assert_eq!(json(db, &["start", &lid])["status"], "active");
    assert_eq!(json(db, &["cancel", &lid])["status"], "canceled");
    cli(db)
        .args(["enroll", "u1", "cert"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("program_not_active"));

    let list = json(db, &["list", "--program", "trk"]);
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    let page = json(db, &["list", "--per-page", "1"]);
    assert_eq!(page["has_more"], true);
    let next = page["next_cursor"].as_str().unwrap().to_owned();
    assert_eq!(
        json(db, &["list", "--per-page", "1", "--after", &next])["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        json(
            db,
            &["list", "--page", "2", "--per-page", "1", "--newest-first"]
        )["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    cli(db)
        .args(["list", "--status", "finished"])
        .assert()
        .code(3);
    cli(db)
        .args(["list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("completed"));
    assert_eq!(
        json(db, &["history", &id]).as_array().unwrap()[0]["action"],
        "enrolled"
    );
    cli(db)
        .args(["history", &id])
        .assert()
        .success()
        .stdout(predicate::str::contains("enrolled"));
    cli(db)
        .args(["events", "--after", "0", "--limit", "3"])
        .assert()
        .success()
        .stdout(predicate::str::contains("SEQ"));
    let report = json(db, &["report", "trk"]);
    assert_eq!(report["total_enrollees"], 2);
    assert_eq!(report["steps"][1]["completed"], 1);
    let info = json(db, &["info"]);
    assert_eq!(info["records"]["users"], 2);

    cli(db)
        .args(["--actor", "learner:u1", "delete", &id])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("permission_denied"));
    json(db, &["delete", &id]);
    cli(db)
        .args(["show", &id])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("not_found"));
    cli(db)
        .args(["check"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ok"));
    let tf = json(db, &["enroll", "u2", "trk", "--allow-reenroll"]);
    let tfid = tf["id"].as_str().unwrap();
    assert_eq!(
        json(
            db,
            &[
                "fail",
                tfid,
                "user_removed_from_workflow",
                "--message",
                "Left"
            ]
        )["failure_message"],
        "Left"
    );
    cli(db).args(["fail", tfid, "bored"]).assert().code(3);
}

#[test]
fn usage_errors_exit_2() {
    let f = fixture();
    cli(&f.db).assert().code(2);
    cli(&f.db).args(["bogus"]).assert().code(2);
    cli(&f.db).args(["progress", "id", "lots"]).assert().code(2);
    cli(&f.db).args(["init"]).assert().success();
    cli(&f.db)
        .args(["step", "x", "y", "teleport"])
        .assert()
        .code(2);
    cli(&f.db)
        .args(["enroll", "u", "p", "--by", "phone"])
        .assert()
        .code(2);
    cli(&f.db)
        .args(["import", "/nonexistent/file.jsonl"])
        .assert()
        .code(2);
    cli(&f.db)
        .args(["program", "add", "/nonexistent/p.json"])
        .assert()
        .code(2);
    cli(&f.db)
        .args(["--actor", "root", "list"])
        .assert()
        .code(3);
}

#[test]
fn missing_and_corrupt_databases_exit_4() {
    let f = fixture();
    for cmd in [
        vec!["info"],
        vec!["check"],
        vec!["list"],
        vec!["export", "x.jsonl"],
    ] {
        cli(&f.db)
            .args(&cmd)
            .assert()
            .code(4)
            .stderr(predicate::str::contains("does not exist"));
    }
    assert!(!f.db.exists(), "reading commands do not create the file");
    let bad = f.dir.join("bad.db");
    std::fs::write(&bad, vec![7u8; 4096]).unwrap();
    cli(&bad)
        .arg("check")
        .assert()
        .code(4)
        .stderr(predicate::str::contains("corrupt"));
    cli(&bad).arg("init").assert().code(4);
    assert_eq!(std::fs::read(&bad).unwrap(), vec![7u8; 4096]);
}

#[test]
fn read_only_reads_and_refuses_writes() {
    let f = fixture();
    cli(&f.db).arg("init").assert().success();
    add_course(&f);
    cli(&f.db).args(["user", "add", "u1"]).assert().success();
    cli(&f.db).args(["enroll", "u1", "c"]).assert().success();
    let before = std::fs::read(&f.db).unwrap();
    let info = json(&f.db, &["--read-only", "info"]);
    assert_eq!(info["records"]["enrollments"], 1, "{info}");
    assert_eq!(
        json(&f.db, &["--read-only", "list"])["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    cli(&f.db).args(["--read-only", "check"]).assert().success();
    cli(&f.db)
        .args(["--read-only", "user", "add", "u2"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("read-only"));
    assert_eq!(std::fs::read(&f.db).unwrap(), before, "nothing was written");
    let missing = f.dir.join("missing.db");
    cli(&missing).args(["--read-only", "init"]).assert().code(4);
    assert!(!missing.exists());
}

/// Adds the active course `c` from a JSON file.
/// `import --csv`: a roster enrolled by --actor, refused rows with their lines, all or nothing
/// unless --best-effort, and a header that is not a roster's.
#[test]
fn import_csv_enrolls_a_roster() {
    let f = fixture();
    cli(&f.db).arg("init").assert().success();
    add_course(&f);
    for u in ["u1", "u2"] {
        cli(&f.db).args(["user", "add", u]).assert().success();
    }
    let roster = f.dir.join("roster.csv");
    std::fs::write(
        &roster,
        "user_id,program_id,trigger\nu1,c,schedule\nu9,c,\nu2,c,\n",
    )
    .unwrap();
    let path = roster.to_str().unwrap();
    cli(&f.db)
        .args(["import", "--csv", path])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "line 3: user not found: u9 [not_found]",
        ))
        .stdout(predicate::str::contains("nothing imported"));
    assert_eq!(json(&f.db, &["info"])["records"]["enrollments"], 0);
    let out = cli(&f.db)
        .args([
            "--json",
            "import",
            "--csv",
            path,
            "--best-effort",
            "--actor",
            "system",
        ])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let report: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(report["imported"]["enrollments"], 2);
    assert_eq!(report["errors"][0]["line"], 3);
    let listed = json(&f.db, &["list", "--program", "c"]);
    let triggers: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["trigger"].as_str().unwrap())
        .collect();
    assert_eq!(triggers, ["schedule", "user_join"]);
    std::fs::write(&roster, "id,user_id,program_id,kind,status\n").unwrap();
    cli(&f.db)
        .args(["import", "--csv", path])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("unknown column \"kind\""));
}

fn add_course(f: &Fixture) {
    let p = f.dir.join("p.json");
    std::fs::write(
        &p,
        r#"{"id": "c", "kind": "course", "title": "C", "state": "active"}"#,
    )
    .unwrap();
    cli(&f.db)
        .args(["program", "add", p.to_str().unwrap()])
        .assert()
        .success();
}

#[test]
fn check_reports_violations() {
    let f = fixture();
    cli(&f.db).args(["user", "add", "u"]).assert().success();
    add_course(&f);
    cli(&f.db).args(["enroll", "u", "c"]).assert().success();
    assert!(break_counters(&f.db), "python3 could edit the database");
    cli(&f.db)
        .arg("check")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("violation"));
}

/// Breaks a counter behind the engine's back (with the sqlite3 shell semantics of another
/// process: a Python one-liner).
fn break_counters(db: &Path) -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('UPDATE enrollments SET steps_completed = 3'); c.commit()"])
        .arg(db)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

#[test]
fn demo_export_import_round_trip_and_backup() {
    let f = fixture();
    cli(&f.db)
        .args(["demo", "--users", "120"])
        .assert()
        .success()
        .stdout(predicate::str::contains("demo database"));
    cli(&f.db)
        .args(["demo"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already has data"));
    cli(&f.db).arg("check").assert().success();
    let first = f.dir.join("first.jsonl");
    let second = f.dir.join("second.jsonl");
    cli(&f.db)
        .args(["export", first.to_str().unwrap()])
        .assert()
        .success();
    let copy = f.dir.join("copy.db");
    cli(&copy)
        .args(["import", first.to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("imported 120 users"));
    cli(&copy)
        .args(["export", second.to_str().unwrap()])
        .assert()
        .success();
    assert!(
        std::fs::read(&first).unwrap() == std::fs::read(&second).unwrap(),
        "round trip is byte-exact"
    );
    cli(&copy).arg("check").assert().success();

    // A malformed line: nothing is imported, the line number is reported, exit 1.
    let text = std::fs::read_to_string(&first).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(5, "{\"type\": \"user\", \"id\": 42}");
    let broken = f.dir.join("broken.jsonl");
    std::fs::write(&broken, lines.join("\n")).unwrap();
    let empty = f.dir.join("empty.db");
    cli(&empty)
        .args(["import", broken.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("line 6:"))
        .stdout(predicate::str::contains("nothing imported"));
    assert_eq!(json(&empty, &["info"])["records"]["users"], 0);
    cli(&empty)
        .args(["import", broken.to_str().unwrap(), "--best-effort"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("imported 120 users"));

    let csv = f.dir.join("e.csv");
    cli(&f.db)
        .args([
            "export",
            csv.to_str().unwrap(),
            "--csv",
            "--program",
            "crs_rust101",
        ])
        .assert()
        .success();
    assert!(std::fs::read_to_string(&csv)
        .unwrap()
        .starts_with("id,user_id,program_id"));
    cli(&f.db)
        .args(["export", "x.jsonl", "--program", "crs_rust101"])
        .assert()
        .code(2);

    let dest = f.dir.join("backup.db");
    cli(&f.db)
        .args(["backup", dest.to_str().unwrap()])
        .assert()
        .success();
    cli(&f.db)
        .args(["backup", dest.to_str().unwrap()])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("conflict"));
    cli(&dest).arg("check").assert().success();
    let report = json(&f.db, &["report", "wf_onboarding"]);
    assert!(report["by_status"].as_object().unwrap().len() >= 5);
}

/// What `events --follow --json` prints before it is stopped after 1.5 s.
fn follow_for_a_while(db: &Path) -> Vec<u8> {
    cli(db)
        .args(["events", "--follow", "--json"])
        .timeout(Duration::from_millis(1500))
        .assert()
        .interrupted()
        .get_output()
        .stdout
        .clone()
}

#[test]
fn events_follow_prints_new_events() {
    let f = fixture();
    cli(&f.db).args(["user", "add", "u"]).assert().success();
    let out = follow_for_a_while(&f.db);
    assert!(out.is_empty(), "no events yet");
    add_course(&f);
    cli(&f.db).args(["enroll", "u", "c"]).assert().success();
    let out = follow_for_a_while(&f.db);
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("\"action\":\"enrolled\""), "{text}");
}

/// A refused export leaves an existing file exactly as it was.
#[test]
fn a_refused_export_leaves_the_file_alone() {
    let f = fixture();
    cli(&f.db).arg("init").assert().success();
    let file = f.dir.join("keep.jsonl");
    std::fs::write(&file, "earlier export\n").unwrap();
    cli(&f.db)
        .args(["export"])
        .arg(&file)
        .args(["--program", "crs"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--program needs --csv"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "earlier export\n");
}

/// A refused command (bad arguments, a missing spec file, a bad name) and a read of a missing
/// database leave no database file behind.
#[test]
fn refused_commands_and_reads_create_no_database() {
    let f = fixture();
    let refused: [&[&str]; 6] = [
        &["user", "show"],
        &["user", "show", "u1", "--email", "a@x.org"],
        &["enroll", "u1", "crs", "--by", "bogus"],
        &["program", "add", "missing-file.yaml"],
        &["program", "list", "--kind", "webinar"],
        &["user", "list"],
    ];
    for args in refused {
        let out = cli(&f.db).args(args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        assert!(!f.db.exists(), "{args:?} created {}", f.db.display());
    }
    cli(&f.db).args(["user", "list"]).assert().code(4);
    cli(&f.db).args(["program", "show", "p"]).assert().code(4);
    assert!(!f.db.exists());
    cli(&f.db).args(["user", "add", "u1"]).assert().success();
    assert!(f.db.exists());
}

/// `copy` from an SQLite file to PostgreSQL and back, and between files: every export along
/// the way is the same bytes.
#[test]
fn copy_between_backends_gives_byte_identical_exports() {
    let f = fixture();
    cli(&f.db)
        .args(["demo", "--users", "40"])
        .assert()
        .success();
    let export = |db: &str, name: &str| -> Vec<u8> {
        let file = f.dir.join(name);
        cli(Path::new(db))
            .arg("export")
            .arg(&file)
            .assert()
            .success();
        std::fs::read(&file).unwrap()
    };
    let original = export(f.db.to_str().unwrap(), "original.jsonl");
    let copy = |from: &str, to: &str| {
        Command::cargo_bin("enrollkit")
            .unwrap()
            .args(["copy", "--from", from, "--to", to])
            .assert()
            .success();
    };
    let file_copy = f.dir.join("copy.db");
    copy(f.db.to_str().unwrap(), file_copy.to_str().unwrap());
    assert!(export(file_copy.to_str().unwrap(), "copy.jsonl") == original);
    // Into a database with records: refused, nothing written.
    Command::cargo_bin("enrollkit")
        .unwrap()
        .args(["copy", "--from", f.db.to_str().unwrap(), "--to"])
        .arg(&file_copy)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already holds records"));
    let Some(base) = support::postgres() else {
        return;
    };
    let pg = support::fresh_database(&base);
    copy(f.db.to_str().unwrap(), &pg);
    assert!(
        export(&pg, "postgres.jsonl") == original,
        "SQLite -> PostgreSQL"
    );
    let back = f.dir.join("back.db");
    copy(&pg, back.to_str().unwrap());
    assert!(
        export(back.to_str().unwrap(), "back.jsonl") == original,
        "and back"
    );
}
