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

/// JSON Lines on stdout (`worker --json`), one value per line.
fn json_lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Users with hire dates, a track whose first step is due at the start and second at once after
/// it (the third a day later at 09:00), and `n` enrollments in it.
fn queue_setup(db: &Path, dir: &Path, n: usize) -> Vec<String> {
    let track = dir.join("queue.json");
    std::fs::write(
        &track,
        r#"{"id": "onb", "kind": "track", "title": "Onboarding", "state": "active", "steps": [
            {"id": "welcome", "step_type": "message", "title": "Welcome", "learner_completable": false},
            {"id": "tip", "step_type": "message", "title": "Tip", "learner_completable": false,
             "schedule": {"after": "previous_step", "delay": 0, "unit": "minutes"}},
            {"id": "survey", "step_type": "survey", "title": "Survey", "learner_completable": true,
             "schedule": {"after": "start", "delay": 1, "unit": "days", "at": "09:00"}}]}"#,
    )
    .unwrap();
    json(db, &["program", "add", track.to_str().unwrap()]);
    (0..n)
        .map(|i| {
            let user = format!("u{i}");
            json(
                db,
                &[
                    "user",
                    "add",
                    &user,
                    "--hire-date",
                    "2020-03-10",
                    "--timezone",
                    "Asia/Tokyo",
                ],
            );
            json(db, &["enroll", &user, "onb"])["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// `due`, `worker --once` (printing, --exec delivering and failing, --program), on `db`.
fn due_and_worker(db: &Path, dir: &Path) {
    let ids = queue_setup(db, dir, 2);
    let due = json(db, &["due"]);
    assert_eq!(
        (
            due["due_now"].as_u64(),
            due["later"].as_u64(),
            due["more"].as_bool()
        ),
        (Some(2), Some(0), Some(false))
    );
    assert_eq!(due["items"][0]["enrollment_id"], ids[0].as_str());
    assert_eq!(due["items"][0]["step_id"], "welcome");
    assert_eq!(due["items"][0]["due"], true);
    let one = json(db, &["due", "--limit", "1"]);
    assert_eq!(
        (
            one["items"].as_array().unwrap().len(),
            one["more"].as_bool()
        ),
        (1, Some(true))
    );
    let past = json(db, &["due", "--until", "2000-01-01T00:00:00Z"]);
    assert_eq!(past["items"].as_array().unwrap().len(), 0);
    cli(db).args(["due", "--until", "soon"]).assert().code(3);
    cli(db).args(["due", "--limit", "0"]).assert().code(3);
    cli(db)
        .args(["due", "--program", "onb"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("welcome")
                .and(predicate::str::contains("2 due now, 0 scheduled later")),
        );
    cli(db).args(["due", "--program", "nope"]).assert().code(3);

    // A worker for a program that does not exist stops; nothing is claimed.
    cli(db)
        .args(["worker", "--id", "w0", "--program", "other", "--once"])
        .assert()
        .code(3)
        .stdout("");
    assert_eq!(json(db, &["due"])["due_now"], 2);

    // One pass delivers everything due now: welcome, then tip (due at once after it).
    let out = cli(db)
        .args([
            "--json",
            "worker",
            "--id",
            "w1",
            "--program",
            "onb",
            "--once",
            "--batch",
            "5",
            "--lease",
            "30",
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "enrollkit worker w1: claimed 2: 2 delivered",
        ))
        .stderr(predicate::str::contains("nothing due"))
        .get_output()
        .clone();
    let lines = json_lines(&out.stdout);
    let steps: Vec<(String, String, String)> = lines
        .iter()
        .map(|l| {
            assert_eq!(l["step_type"], "message");
            (
                l["outcome"].as_str().unwrap().into(),
                l["enrollment_id"].as_str().unwrap().into(),
                l["step_id"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected: Vec<(String, String, String)> = ["welcome", "tip"]
        .iter()
        .flat_map(|s| {
            ids.iter()
                .map(move |id| ("delivered".into(), id.clone(), (*s).into()))
        })
        .collect();
    assert_eq!(steps, expected);
    let shown = json(db, &["show", &ids[0]]);
    assert_eq!(
        (
            shown["steps_delivered"].as_u64(),
            shown["claimed_by"].as_str()
        ),
        (Some(2), None)
    );
    let history = json(db, &["history", &ids[0]]);
    let claims = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "claim" && e["reason"].as_str().unwrap().contains("worker=w1"))
        .count();
    assert_eq!(claims, 2);
    let due = json(db, &["due"]);
    assert_eq!(
        (due["due_now"].as_u64(), due["items"][0]["step_id"].as_str()),
        (Some(0), Some("survey"))
    );
    cli(db).args(["due"]).assert().success().stdout(
        predicate::str::contains("0 due now, 2 scheduled later")
            .and(predicate::str::contains(" in ")),
    );
    // Nothing due: one pass does nothing.
    cli(db)
        .args(["worker", "--id", "w1", "--once"])
        .assert()
        .success()
        .stdout("");

    // --exec: arguments and environment; exit 0 delivers, anything else fails the step.
    let more = queue_setup_more(db, 2, 2);
    let log = dir.join("exec.log");
    let cmd = format!(
        "echo \"$1 $2 $3 $ENROLLKIT_PROGRAM_ID $ENROLLKIT_STEP_TYPE $ENROLLKIT_STEP_TITLE $ENROLLKIT_WORKER_ID\" >> '{}'; [ \"$2\" = u2 ]",
        log.display()
    );
    let out = cli(db)
        .args(["--json", "worker", "--id", "w2", "--once", "--exec", &cmd])
        .assert()
        .success()
        .get_output()
        .clone();
    let lines = json_lines(&out.stdout);
    let outcomes: Vec<(&str, &str, &str)> = lines
        .iter()
        .map(|l| {
            (
                l["outcome"].as_str().unwrap(),
                l["user_id"].as_str().unwrap(),
                l["step_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("delivered", "u2", "welcome"),
            ("failed", "u3", "welcome"),
            ("delivered", "u2", "tip"),
            ("failed", "u3", "tip")
        ]
    );
    assert!(
        lines[1]["message"]
            .as_str()
            .unwrap()
            .contains("exit status: 1"),
        "{}",
        lines[1]
    );
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.starts_with(&format!("{} u2 welcome onb message Welcome w2\n", more[0])),
        "{logged}"
    );
    let failed = json(db, &["show", &more[1], "--as", "track"]);
    assert!(failed.to_string().contains("exec_failed"), "{failed}");

    // A step that runs longer than the lease keeps its claim: the worker renews it.
    let slow = queue_setup_more(db, 4, 1).remove(0);
    cli(db)
        .args([
            "worker", "--id", "w3", "--once", "--lease", "0.4", "--exec", "sleep 1",
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "2 delivered, 0 failed, 0 released, 0 lost",
        ));
    let history = json(db, &["history", &slow]);
    let renewals = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "renew")
        .count();
    assert!(renewals >= 2, "{history}");
}

/// `n` more enrollments (users u{first}, ...) in the queue's track.
fn queue_setup_more(db: &Path, first: usize, n: usize) -> Vec<String> {
    (first..first + n)
        .map(|i| {
            let user = format!("u{i}");
            json(db, &["user", "add", &user]);
            json(db, &["enroll", &user, "onb"])["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn due_and_worker_on_sqlite_and_postgres() {
    let f = fixture();
    due_and_worker(&f.db, &f.dir);
    let Some(base) = support::postgres() else {
        return;
    };
    let pg = PathBuf::from(support::fresh_database(&base));
    let dir = f.dir.join("pg");
    std::fs::create_dir_all(&dir).unwrap();
    due_and_worker(&pg, &dir);
}

#[test]
fn worker_arguments() {
    let f = fixture();
    queue_setup(&f.db, &f.dir, 1);
    for (args, code) in [
        (&["--lease", "-1"][..], 2),
        (&["--lease", "nan"][..], 2),
        (&["--poll", "-1"][..], 2),
        (&["--lease", "0"][..], 3),
        (&["--lease", "86401"][..], 3),
        (&["--batch", "0"][..], 3),
        (&["--batch", "1001"][..], 3),
    ] {
        cli(&f.db)
            .args(["worker", "--id", "w", "--once"])
            .args(args)
            .assert()
            .code(code);
    }
    cli(&f.db)
        .args(["worker", "--id", "", "--once"])
        .assert()
        .code(3);
    cli(&f.db).args(["worker", "--once"]).assert().code(2); // --id is required
    cli(&f.dir.join("missing.db"))
        .args(["worker", "--id", "w", "--once"])
        .assert()
        .code(4);
    // Nothing was claimed by the refused runs.
    assert_eq!(json(&f.db, &["due"])["due_now"], 1);
}

/// Sends SIGINT to `pid` (as Ctrl-C does to the foreground process), with the shell's own
/// `kill` (no procps needed).
fn interrupt(pid: u32) {
    let status = std::process::Command::new("sh")
        .args(["-c", "kill -INT \"$0\"", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn worker_finishes_its_step_and_exits_0_on_ctrl_c() {
    let f = fixture();
    let ids = queue_setup(&f.db, &f.dir, 1);
    let started = f.dir.join("started");
    let bin = assert_cmd::cargo::cargo_bin("enrollkit");
    let other = f.dir.join("other.json");
    std::fs::write(
        &other,
        r#"{"id": "other", "kind": "track", "title": "Other", "state": "active", "steps": [
            {"id": "s", "step_type": "message", "title": "S", "learner_completable": false}]}"#,
    )
    .unwrap();
    json(&f.db, &["program", "add", other.to_str().unwrap()]);
    // Idle (nothing due in its program): Ctrl-C ends the wait at once.
    let mut idle = std::process::Command::new(&bin)
        .arg("--db")
        .arg(&f.db)
        .args([
            "worker",
            "--id",
            "idle",
            "--program",
            "other",
            "--poll",
            "60",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // It says when it has started; the due step is another program's and stays due.
    let mut stderr = std::io::BufReader::new(idle.stderr.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut first).unwrap();
    assert!(
        first.contains("enrollkit worker idle: started (program other"),
        "{first}"
    );
    let asked = std::time::Instant::now();
    interrupt(idle.id());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = idle.wait().unwrap();
    assert!(status.success(), "{status:?} {rest}");
    assert!(asked.elapsed() < Duration::from_secs(5));
    assert!(rest.contains("enrollkit worker idle: stopped"), "{rest}");

    // Busy: the command running when Ctrl-C comes (to the worker only) finishes and its step
    // is delivered; what else was claimed is given back, and the worker exits 0.
    let cmd = format!("touch '{}'; sleep 1", started.display());
    let busy = std::process::Command::new(&bin)
        .arg("--db")
        .arg(&f.db)
        .args(["--json", "worker", "--id", "busy", "--exec", &cmd])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !started.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the command never ran"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    interrupt(busy.id());
    let out = busy.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(
        (lines[0]["outcome"].as_str(), lines[0]["step_id"].as_str()),
        (Some("delivered"), Some("welcome"))
    );
    let e = json(&f.db, &["show", &ids[0]]);
    assert_eq!(
        (
            e["status"].as_str(),
            e["claimed_by"].as_str(),
            e["steps_delivered"].as_u64()
        ),
        (Some("active"), None, Some(1))
    );
}

#[test]
fn anniversaries_enroll_each_user_once() {
    let f = fixture();
    let db = &f.db;
    json(
        db,
        &[
            "user",
            "add",
            "a",
            "--hire-date",
            "2020-03-10",
            "--timezone",
            "Asia/Tokyo",
        ],
    );
    json(db, &["user", "add", "b", "--hire-date", "2025-03-10"]);
    json(db, &["user", "add", "c", "--hire-date", "2026-03-10"]);
    assert_eq!(json(db, &["user", "show", "a"])["hire_date"], "2020-03-10");
    cli(db)
        .args(["user", "add", "d", "--hire-date", "2026-02-30"])
        .assert()
        .code(3);
    add_course(&f);
    let out = json(
        db,
        &["anniversaries", "--program", "c", "--date", "2026-03-10"],
    );
    let out = out.as_array().unwrap();
    assert_eq!(out.len(), 2);
    assert!(out
        .iter()
        .all(|o| o["outcome"] == "created" && o["enrollment"]["trigger"] == "work_anniversary"));
    assert_eq!(out[0]["enrollment"]["user_id"], "a");
    cli(db)
        .args(["anniversaries", "--program", "c", "--date", "2026-03-10"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("already_enrolled").and(predicate::str::contains(
                "0 enrolled, 2 already enrolled, 0 failed",
            )),
        );
    cli(db)
        .args(["anniversaries", "--program", "c", "--date", "2026-03-11"])
        .assert()
        .success()
        .stdout("0 enrolled, 0 already enrolled, 0 failed\n");
    cli(db)
        .args(["anniversaries", "--program", "c", "--date", "10/03/2026"])
        .assert()
        .code(3);
    cli(db)
        .args(["anniversaries", "--program", "nope", "--date", "2026-03-10"])
        .assert()
        .code(3);
    cli(db)
        .args([
            "--actor",
            "learner:a",
            "anniversaries",
            "--program",
            "c",
            "--date",
            "2026-03-10",
        ])
        .assert()
        .code(3);
    cli(db)
        .args(["anniversaries", "--program", "c"])
        .assert()
        .code(2);
    cli(&f.dir.join("missing.db"))
        .args(["anniversaries", "--program", "c", "--date", "2026-03-10"])
        .assert()
        .code(4);
}

/// A new database file (and a backup) is its owner's only, whatever the umask; `--umask-mode`
/// keeps the umask's mode.
#[test]
fn new_database_files_are_private_unless_asked() {
    use std::os::unix::fs::PermissionsExt;
    let f = fixture();
    let bin = assert_cmd::cargo::cargo_bin("enrollkit");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for (name, extra, expected) in [("private", "", 0o600), ("shared", "--umask-mode", 0o644)] {
        let db = f.dir.join(format!("{name}.db"));
        let backup = f.dir.join(format!("{name}.backup"));
        let script = format!(
            "umask 022 && \"$0\" --db \"$1\" {extra} user add u1 && \"$0\" --db \"$1\" {extra} backup \"$2\""
        );
        let status = std::process::Command::new("sh")
            .args(["-c", &script])
            .arg(&bin)
            .arg(&db)
            .arg(&backup)
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!((mode(&db), mode(&backup)), (expected, expected), "{name}");
    }
}

/// Policies from the command line: a window, prerequisites and their override, a partner user,
/// a deadline that has passed and `expire`.
#[test]
fn policies_on_the_command_line() {
    let f = fixture();
    let db = &f.db;
    let write = |name: &str, json: &str| {
        let path = f.dir.join(name);
        std::fs::write(&path, json).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let closed = write(
        "closed.json",
        r#"{"id": "closed", "kind": "course", "title": "Closed", "state": "active",
            "policy": {"enroll_closes_at": "2000-01-01T00:00:00Z"}}"#,
    );
    let intro = write(
        "intro.json",
        r#"{"id": "intro", "kind": "course", "title": "Intro", "state": "active"}"#,
    );
    let late = write(
        "late.json",
        r#"{"id": "late", "kind": "course", "title": "Late", "state": "active",
            "policy": {"prerequisites": ["intro"], "deadline": {"at": "2000-01-01T00:00:00Z"}}}"#,
    );
    let cert = write(
        "cert.json",
        r#"{"id": "cert", "kind": "certification", "title": "Cert", "state": "active"}"#,
    );
    for spec in [&closed, &intro, &late, &cert] {
        json(db, &["program", "add", spec]);
    }
    json(db, &["user", "add", "u1"]);
    let partner = json(db, &["user", "add", "p1", "--partnership", "prt_a"]);
    assert_eq!(partner["partnerships"], serde_json::json!(["prt_a"]));
    cli(db)
        .args(["enroll", "u1", "closed"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("enrollment_closed"));
    cli(db)
        .args(["enroll", "u1", "late"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("prerequisites_not_met"));
    let e = json(
        db,
        &[
            "enroll",
            "u1",
            "late",
            "--override-prerequisites",
            "transfer credit",
        ],
    );
    assert_eq!(e["deadline_at"], "2000-01-01T00:00:00.000Z");
    let id = e["id"].as_str().unwrap().to_owned();
    cli(db)
        .args(["enroll", "p1", "cert"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("partnership_id"));
    json(db, &["enroll", "p1", "cert", "--partnership", "prt_a"]);
    assert_eq!(json(db, &["expire"]), serde_json::json!([id]));
    assert_eq!(json(db, &["show", &id])["status"], "expired");
    cli(db)
        .args(["expire"])
        .assert()
        .success()
        .stdout("")
        .stderr(predicate::str::contains("0 expired"));
    cli(db).args(["expire", "--limit", "0"]).assert().code(3);

    // A program of one seat with a waitlist.
    let seats = write(
        "seats.json",
        r#"{"id": "seats", "kind": "course", "title": "Seats", "state": "active",
            "policy": {"capacity": 1, "waitlist": true}}"#,
    );
    json(db, &["program", "add", &seats]);
    let first = json(db, &["enroll", "u1", "seats"]);
    let second = json(db, &["enroll", "p1", "seats"]);
    assert_eq!(second["status"], "waitlisted");
    let second = second["id"].as_str().unwrap();
    let listed = json(db, &["waitlist", "seats"]);
    assert_eq!(listed[0]["id"], second);
    let place = json(db, &["waitlist", "--enrollment", second]);
    assert_eq!(place["position"], 1);
    cli(db)
        .args(["waitlist", "seats"])
        .assert()
        .success()
        .stdout(predicate::str::contains("1 waiting for seats"));
    cli(db).args(["waitlist"]).assert().code(2);
    json(db, &["drop", first["id"].as_str().unwrap()]);
    assert_eq!(json(db, &["show", second])["status"], "active");
    assert_eq!(
        json(db, &["waitlist", "--enrollment", second])["position"],
        serde_json::Value::Null
    );

    // Erasure: only an admin; then compact; nothing of p1 is left in the file.
    cli(db)
        .args(["--actor", "system", "user", "erase", "p1"])
        .assert()
        .code(3);
    let erased = json(db, &["user", "erase", "p1"]);
    assert!(erased["tombstone"].as_str().unwrap().starts_with("erased_"));
    assert_eq!(erased["enrollments"], 2);
    cli(db).args(["user", "show", "p1"]).assert().code(3);
    json(db, &["compact"]);
    let file = std::fs::read(db).unwrap();
    assert!(!file.windows(b"prt_a".len()).any(|w| w == b"prt_a"));
}
