//! Export, import (round trip, refused lines, modes), CSV, and backup.

use std::cell::RefCell;
use std::io::{BufRead, Cursor};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use enrollkit::*;

fn populated() -> Store {
    let clock = Arc::new(ManualClock::new(
        Timestamp::parse("2026-01-15T10:00:00Z").unwrap(),
    ));
    let s = OpenOptions::new()
        .clock(clock.clone())
        .open_in_memory()
        .unwrap();
    for i in 0..6 {
        s.upsert_user(&User {
            id: format!("u{i}"),
            email: Some(format!("u{i}@example.com")),
            groups: vec!["g,1".into(), "quote\"d".into()],
            manager_id: (i > 0).then(|| "u0".to_owned()),
            ..User::default()
        })
        .unwrap();
    }
    let step = |id: &str, c: bool| Step {
        id: id.into(),
        step_type: "task".into(),
        title: id.into(),
        learner_completable: c,
        schedule: None,
    };
    let spec = |id: &str, kind, steps, assessment| ProgramSpec {
        id: id.into(),
        kind,
        title: format!("Title, \"{id}\""),
        description: Some("multi\nline".into()),
        state: ProgramState::Active,
        self_enrollment: true,
        steps,
        assessment,
        policy: Default::default(),
    };
    s.create_program(&spec("crs", Kind::Course, vec![], None))
        .unwrap();
    s.create_program(&spec(
        "cert",
        Kind::Certification,
        vec![step("a", true)],
        Some(Assessment {
            passing_score: 50.0,
            max_attempts: Some(3),
        }),
    ))
    .unwrap();
    s.create_program(&spec(
        "trk",
        Kind::Track,
        vec![step("m", false), step("t", true)],
        None,
    ))
    .unwrap();
    let a = Actor::Admin;
    for i in 0..6 {
        let u = format!("u{i}");
        clock.advance_millis(1234);
        let c = s.enroll(&a, &EnrollRequest::new(&u, "crs")).unwrap();
        if i % 2 == 0 {
            s.set_progress(&a, &c.id, 100.0).unwrap();
        } else {
            s.drop_enrollment(&a, &c.id).unwrap();
        }
        let z = s.enroll(&a, &EnrollRequest::new(&u, "cert")).unwrap();
        s.submit_attempt(&a, &z.id, 40.5 + i as f64).unwrap();
        let t = s.enroll(&a, &EnrollRequest::new(&u, "trk")).unwrap();
        s.update_step(
            &a,
            &t.id,
            "m",
            &StepChange::Deliver {
                destination_type: Some("user".into()),
            },
        )
        .unwrap();
        if i == 3 {
            s.assign_mentor(&a, &t.id, Some("u0")).unwrap();
        }
        s.update_step(
            &a,
            &t.id,
            "t",
            &StepChange::Complete {
                result: Some(serde_json::json!({"answer": "ok, \"fine\""})),
            },
        )
        .unwrap();
        if i == 5 {
            s.delete_enrollment(&a, &z.id).unwrap();
        }
    }
    s
}

fn export(s: &Store) -> Vec<u8> {
    let mut out = Vec::new();
    s.export_jsonl(&mut out, None).unwrap();
    out
}

#[test]
fn export_import_export_gives_the_same_bytes() {
    let source = populated();
    let first = export(&source);
    let copy = Store::open_in_memory().unwrap();
    let mut seen = 0;
    let mut progress = |lines: u64, _bytes: u64| seen = lines;
    let report = copy
        .import_jsonl(
            &mut Cursor::new(&first),
            BatchMode::AllOrNothing,
            Some(&mut progress),
        )
        .unwrap();
    assert!(report.committed && report.errors.is_empty(), "{report:?}");
    assert_eq!(
        report.imported,
        RecordCounts {
            users: 6,
            programs: 3,
            enrollments: 17,
            events: report.imported.events
        }
    );
    assert_eq!(
        seen as usize,
        first
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count()
    );
    let second = export(&copy);
    assert_eq!(
        String::from_utf8(first).unwrap(),
        String::from_utf8(second).unwrap()
    );
    assert!(copy.check_invariants().unwrap().is_empty());
    // The copy keeps working: its sequences continue after the imported ones.
    let e = copy
        .enroll(&Actor::Admin, &EnrollRequest::new("u5", "cert"))
        .unwrap();
    let history = copy.events_after(&Actor::Admin, 0, 1000).unwrap();
    assert_eq!(history.last().unwrap().enrollment_id, e.id);
}

#[test]
fn a_bad_line_rolls_back_everything_unless_best_effort() {
    let good = String::from_utf8(export(&populated())).unwrap();
    let mut lines: Vec<String> = good.lines().map(str::to_owned).collect();
    lines.insert(3, "{\"type\": \"user\", \"id\": \"\"}".into());
    lines.insert(5, "not json".into());
    let enrollment = lines
        .iter()
        .position(|l| l.starts_with("{\"type\":\"enrollment\""))
        .unwrap();
    lines[enrollment] = lines[enrollment].replace("\"steps_total\":0", "\"steps_total\":9");
    let text = lines.join("\n");
    let target = Store::open_in_memory().unwrap();
    let report = target
        .import_jsonl(&mut Cursor::new(&text), BatchMode::AllOrNothing, None)
        .unwrap();
    assert!(!report.committed);
    let lines_refused: Vec<u64> = report.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines_refused, vec![4, 6, enrollment as u64 + 1]);
    assert!(
        report.errors.iter().all(|e| e.error.code() == "validation"),
        "{report:?}"
    );
    assert!(
        target.list_users(None, 10).unwrap().is_empty(),
        "nothing half-imported"
    );
    let report = target
        .import_jsonl(&mut Cursor::new(&text), BatchMode::BestEffort, None)
        .unwrap();
    assert!(report.committed && report.errors.len() == 3);
    assert_eq!(report.imported.users, 6);
    assert_eq!(report.imported.enrollments, 16);
    // Importing the same records again clashes.
    let again = target
        .import_jsonl(&mut Cursor::new(&good), BatchMode::AllOrNothing, None)
        .unwrap();
    assert!(!again.committed && again.errors.iter().all(|e| e.error.code() == "conflict"));
    let json = serde_json::to_value(&again).unwrap();
    assert_eq!(json["errors"][0]["line"], 2);
}

#[test]
fn an_enrollment_id_in_history_is_taken_even_in_the_same_import() {
    let source = populated();
    let text = String::from_utf8(export(&source)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let enrollment = lines
        .iter()
        .position(|l| l.starts_with("{\"type\":\"enrollment\""))
        .unwrap();
    let id = serde_json::from_str::<serde_json::Value>(lines[enrollment]).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The enrollment's first history event, moved before it (as if it had been deleted and
    // an unrelated enrollment reused its id).
    let event = lines
        .iter()
        .position(|l| l.starts_with("{\"type\":\"event\"") && l.contains(&id))
        .unwrap();
    let mut reordered: Vec<&str> = lines.clone();
    let moved = reordered.remove(event);
    reordered.insert(enrollment, moved);
    let target = Store::open_in_memory().unwrap();
    let report = target
        .import_jsonl(
            &mut Cursor::new(reordered.join("\n")),
            BatchMode::AllOrNothing,
            None,
        )
        .unwrap();
    assert!(!report.committed);
    assert_eq!(report.errors.len(), 1, "{report:?}");
    assert_eq!(report.errors[0].line, enrollment as u64 + 2);
    assert_eq!(report.errors[0].error.code(), "conflict");
}

#[test]
fn imports_need_the_header_and_known_types() {
    let target = Store::open_in_memory().unwrap();
    for (text, line) in [
        ("{\"type\":\"user\",\"id\":\"u\"}\n", 1),
        ("{\"type\":\"header\",\"format\":\"other\",\"version\":1,\"schema_version\":1}\n", 1),
        ("{\"type\":\"header\",\"format\":\"enrollkit-export\",\"version\":1,\"schema_version\":1}\n{\"type\":\"alien\"}\n", 2),
        ("[1,2]\n", 1),
    ] {
        let report = target.import_jsonl(&mut Cursor::new(text), BatchMode::AllOrNothing, None).unwrap();
        assert!(!report.committed, "{text}");
        assert_eq!(report.errors[0].line, line, "{text}");
    }
    let newer = "{\"type\":\"header\",\"format\":\"enrollkit-export\",\"version\":1,\"schema_version\":99}\n";
    let report = target
        .import_jsonl(&mut Cursor::new(newer), BatchMode::AllOrNothing, None)
        .unwrap();
    assert_eq!(report.errors[0].error.code(), "schema_too_new");
    let empty = target
        .import_jsonl(&mut Cursor::new(""), BatchMode::AllOrNothing, None)
        .unwrap();
    assert!(empty.committed && empty.errors.is_empty());
}

/// Enrollment and event lines in another spelling than export's import the same.
#[test]
fn enrollment_and_event_lines_import_in_any_spelling() {
    let source = populated();
    let text = String::from_utf8(export(&source)).unwrap();
    let respelled: String = text
        .lines()
        .map(|l| {
            let l = l
                .replacen(
                    "{\"type\":\"enrollment\",",
                    "{ \"type\" : \"enrollment\" ,",
                    1,
                )
                .replacen("{\"type\":\"event\",", "{\"type\": \"event\", ", 1);
            l + "\n"
        })
        .collect();
    assert_ne!(respelled, text);
    let copy = Store::open_in_memory().unwrap();
    let report = copy
        .import_jsonl(&mut Cursor::new(&respelled), BatchMode::AllOrNothing, None)
        .unwrap();
    assert!(report.committed, "{report:?}");
    assert_eq!(String::from_utf8(export(&copy)).unwrap(), text);
}

/// Enrollment ids written as the UUID text of the same 128-bit value (as the certification
/// view renders them) import as the `enr_` ids they name, references included.
#[test]
fn enrollment_ids_in_uuid_form_import_as_their_enr_form() {
    let source = populated();
    let text = String::from_utf8(export(&source)).unwrap();
    let items = source
        .list_enrollments(&Actor::Admin, &ListQuery::default())
        .unwrap()
        .items;
    assert!(items.len() > 1);
    let mut respelled = text.clone();
    for e in &items {
        let view = source
            .render(&Actor::Admin, &e.id, View::Certification)
            .unwrap();
        let uuid = view["uuid"].as_str().unwrap().to_owned();
        assert_eq!((uuid.len(), uuid.matches('-').count()), (36, 4), "{uuid}");
        respelled = respelled.replace(&e.id, &uuid);
    }
    assert!(items.iter().all(|e| !respelled.contains(&e.id)));
    let copy = Store::open_in_memory().unwrap();
    let report = copy
        .import_jsonl(&mut Cursor::new(&respelled), BatchMode::AllOrNothing, None)
        .unwrap();
    assert!(report.committed, "{report:?}");
    assert_eq!(String::from_utf8(export(&copy)).unwrap(), text);
}

/// Users keep their own created_at and updated_at through export and import, whatever the
/// importing store's clock says; a version 1 line (without times) and one spelled another way
/// import too. (An updated_at before created_at is kept: a clock set back writes one.)
#[test]
fn user_times_survive_export_and_import() {
    let at = |t: &str| Arc::new(ManualClock::new(Timestamp::parse(t).unwrap()));
    let source = OpenOptions::new()
        .clock(at("2025-03-01T08:00:00Z"))
        .open_in_memory()
        .unwrap();
    let user = |id: &str| User {
        id: id.into(),
        ..User::default()
    };
    source.upsert_user(&user("u1")).unwrap();
    let text = String::from_utf8(export(&source)).unwrap();
    assert!(
        text.contains(
            "\"created_at\":\"2025-03-01T08:00:00.000Z\",\"updated_at\":\"2025-03-01T08:00:00.000Z\"}"
        ),
        "{text}"
    );
    let later = || {
        OpenOptions::new()
            .clock(at("2026-06-01T00:00:00Z"))
            .open_in_memory()
            .unwrap()
    };
    let copy = later();
    let report = copy
        .import_jsonl(&mut Cursor::new(&text), BatchMode::AllOrNothing, None)
        .unwrap();
    assert!(report.committed, "{report:?}");
    assert_eq!(String::from_utf8(export(&copy)).unwrap(), text);

    let header = text
        .lines()
        .next()
        .unwrap()
        .replace(&format!("\"version\":{EXPORT_VERSION}"), "\"version\":1");
    for (line, created) in [
        ("{\"type\":\"user\",\"id\":\"u1\"}", "2026-06-01T00:00:00.000Z"),
        (
            "{\"type\": \"user\", \"updated_at\": \"2025-04-01T00:00:00Z\", \"id\": \"u1\", \"created_at\": \"2025-01-01T00:00:00Z\"}",
            "2025-01-01T00:00:00.000Z",
        ),
        (
            "{\"type\":\"user\",\"id\":\"u1\",\"created_at\":\"2025-01-01T00:00:00Z\",\"updated_at\":\"2025-04-01T00:00:00Z\"}",
            "2025-01-01T00:00:00.000Z",
        ),
    ] {
        let copy = later();
        let report = copy
            .import_jsonl(
                &mut Cursor::new(format!("{header}\n{line}\n")),
                BatchMode::AllOrNothing,
                None,
            )
            .unwrap();
        assert!(report.committed, "{line}: {report:?}");
        let out = String::from_utf8(export(&copy)).unwrap();
        assert!(
            out.contains(&format!("\"created_at\":\"{created}\"")),
            "{line}: {out}"
        );
    }
    for bad in [
        "{\"type\":\"user\",\"id\":\"u1\",\"created_at\":\"2025-01-01T00:00:00Z\"}",
        "{\"type\":\"user\",\"id\":\"u1\",\"created_at\":\"yesterday at noon please\",\"updated_at\":\"2025-04-01T00:00:00.000Z\"}",
    ] {
        let copy = later();
        let report = copy
            .import_jsonl(
                &mut Cursor::new(format!("{header}\n{bad}\n")),
                BatchMode::AllOrNothing,
                None,
            )
            .unwrap();
        assert!(!report.committed, "{bad}");
        assert_eq!(report.errors[0].error.code(), "validation", "{bad}");
        assert_eq!(copy.stats().unwrap().users, 0);
    }
}

/// User lines as export writes them are read straight into users, others through a JSON
/// value; both import the same, and refusals say where in the line they are.
#[test]
fn user_lines_import_the_same_in_either_spelling() {
    let header = format!(
        "{{\"type\":\"header\",\"format\":\"{EXPORT_FORMAT}\",\"version\":{EXPORT_VERSION},\
         \"schema_version\":{SCHEMA_VERSION}}}\n"
    );
    let exact = "{\"type\":\"user\",\"id\":\"u1\",\"email\":\"a@x.org\",\"groups\":[\"g\"]}";
    let spaced =
        "{ \"type\": \"user\", \"id\": \"u1\", \"email\": \"a@x.org\", \"groups\": [\"g\"] }";
    let reversed = "{\"id\":\"u1\",\"email\":\"a@x.org\",\"groups\":[\"g\"],\"type\":\"user\"}";
    let mut users = Vec::new();
    for line in [exact, spaced, reversed] {
        let store = Store::open_in_memory().unwrap();
        let report = store
            .import_jsonl(
                &mut Cursor::new(format!("{header}{line}\n")),
                BatchMode::AllOrNothing,
                None,
            )
            .unwrap();
        assert!(report.committed, "{line}: {report:?}");
        users.push(store.list_users(None, 10).unwrap());
    }
    assert_eq!(users[0][0].groups, ["g"]);
    assert!(users.iter().all(|u| *u == users[0]));

    let store = Store::open_in_memory().unwrap();
    let bad = "{\"type\":\"user\",\"id\":\"u1\",\"bogus\":1}";
    let report = store
        .import_jsonl(
            &mut Cursor::new(format!("{header}{bad}\n")),
            BatchMode::AllOrNothing,
            None,
        )
        .unwrap();
    let error = report.errors[0].error.to_string();
    assert!(
        error.contains("unknown field `bogus`") && error.contains("column 32"),
        "{error}"
    );
    assert_eq!(report.errors[0].line, 2);
}

#[test]
fn csv_export_quotes_what_it_must() {
    let s = populated();
    let mut out = Vec::new();
    let rows = s.export_enrollments_csv(&mut out, Some("trk")).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(rows, 6);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 7);
    assert!(lines[0].starts_with("id,user_id,program_id,kind,status,"));
    assert!(lines[1].contains(",trk,track,completed,manual_user_trigger,"));
}

#[test]
fn backup_copies_a_consistent_database_while_writing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.db");
    let store = Arc::new(Store::open(&path).unwrap());
    store
        .upsert_user(&User {
            id: "u".into(),
            ..User::default()
        })
        .unwrap();
    store
        .create_program(&ProgramSpec {
            id: "c".into(),
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
    let writer = {
        let store = store.clone();
        std::thread::spawn(move || {
            for i in 0..200 {
                store
                    .upsert_user(&User {
                        id: format!("w{i}"),
                        ..User::default()
                    })
                    .unwrap();
                store
                    .enroll(&Actor::Admin, &EnrollRequest::new(format!("w{i}"), "c"))
                    .unwrap();
            }
        })
    };
    let dest = dir.path().join("copy.db");
    store.backup(&dest).unwrap();
    writer.join().unwrap();
    assert_eq!(store.backup(&dest).unwrap_err().code(), "conflict");
    let copy = Store::open(&dest).unwrap();
    assert!(copy.check_invariants().unwrap().is_empty());
    assert!(copy.get_program("c").is_ok());
}

fn header() -> String {
    format!(
        "{{\"type\":\"header\",\"format\":\"{EXPORT_FORMAT}\",\"version\":{EXPORT_VERSION},\
         \"schema_version\":{SCHEMA_VERSION}}}\n"
    )
}

/// Lines are read and parsed by a second thread in batches of hundreds: refused lines, blank
/// lines and progress keep their line numbers and byte counts across batches.
#[test]
fn line_numbers_and_progress_hold_across_reader_batches() {
    let mut text = header();
    let mut refused = Vec::new();
    for i in 2..=1500u64 {
        let line = match i {
            3 | 700 | 1400 => {
                refused.push(i);
                "{\"type\":\"user\",\"id\":\"\"}\n".to_owned()
            }
            513 | 514 | 1024 => "\n".to_owned(),
            _ => format!("{{\"type\":\"user\",\"id\":\"u{i}\"}}\n"),
        };
        text.push_str(&line);
    }
    let mut seen = Vec::new();
    let mut progress = |line: u64, bytes: u64| seen.push((line, bytes));
    let store = Store::open_in_memory().unwrap();
    let report = store
        .import_jsonl(
            &mut Cursor::new(&text),
            BatchMode::BestEffort,
            Some(&mut progress),
        )
        .unwrap();
    let lines: Vec<u64> = report.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, refused);
    assert_eq!(report.imported.users, 1499 - 3 - 3);
    assert_eq!(seen.last(), Some(&(1500, text.len() as u64)));
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");

    // All or nothing: the same refusals, nothing written.
    let store = Store::open_in_memory().unwrap();
    let report = store
        .import_jsonl(&mut Cursor::new(&text), BatchMode::AllOrNothing, None)
        .unwrap();
    assert!(!report.committed);
    assert_eq!(report.errors.len(), 3);
    assert_eq!(store.stats().unwrap(), RecordCounts::default());
}

/// Input that cannot be read (here: not UTF-8) ends the import with a storage error naming
/// the line, whatever was already read; nothing is written.
#[test]
fn unreadable_input_fails_the_whole_import() {
    let mut bytes = header().into_bytes();
    for i in 0..1000 {
        bytes.extend(format!("{{\"type\":\"user\",\"id\":\"u{i}\"}}\n").as_bytes());
    }
    bytes.extend(b"{\"type\":\"user\",\"id\":\"\xff\"}\n");
    bytes.extend(b"{\"type\":\"user\",\"id\":\"after\"}\n");
    let store = Store::open_in_memory().unwrap();
    for mode in [BatchMode::AllOrNothing, BatchMode::BestEffort] {
        let err = store
            .import_jsonl(&mut Cursor::new(&bytes), mode, None)
            .unwrap_err();
        assert_eq!(err.code(), "storage");
        assert!(err.to_string().contains("line 1002"), "{err}");
        assert_eq!(store.stats().unwrap(), RecordCounts::default());
    }
}

/// Imports drop the secondary indexes of empty tables and rebuild them: afterwards (committed,
/// refused, or with an event line before an enrollment, which rebuilds the enrollment indexes
/// early, and then the history index) the schema is the fresh one, and every index holds
/// exactly its table's rows (`PRAGMA integrity_check`).
#[test]
fn imports_leave_every_index_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let schema = |path: &std::path::Path| -> Vec<(String, Option<String>)> {
        let conn = rusqlite::Connection::open(path).unwrap();
        let mut stmt = conn
            .prepare("SELECT name, sql FROM sqlite_master ORDER BY name")
            .unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        rows.map(Result::unwrap).collect()
    };
    let fresh = dir.path().join("fresh.db");
    drop(Store::open(&fresh).unwrap());
    let expected = schema(&fresh);
    assert!(expected.iter().any(|(n, _)| n == "events_enrollment"));

    let text = String::from_utf8(export(&populated())).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let first_event = lines
        .iter()
        .position(|l| l.starts_with("{\"type\":\"event\""))
        .unwrap();
    let mut event_early = lines.clone();
    let moved = event_early.remove(first_event);
    event_early.insert(first_event - 1, moved);
    let broken = text.replacen("{\"type\":\"enrollment\"", "{\"type\":\"enrolment\"", 1);
    for (name, input, committed) in [
        ("plain", text.clone(), true),
        ("event_early", event_early.join("\n"), true),
        ("refused", broken, false),
    ] {
        let path = dir.path().join(format!("{name}.db"));
        let store = Store::open(&path).unwrap();
        let report = store
            .import_jsonl(&mut Cursor::new(input), BatchMode::AllOrNothing, None)
            .unwrap();
        assert_eq!(report.committed, committed, "{name}: {report:?}");
        drop(store);
        assert_eq!(schema(&path), expected, "{name}");
        let conn = rusqlite::Connection::open(&path).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok", "{name}");
    }
}

/// Input whose reading panics (at line `panic_at`, after a full reader batch) and that leaves
/// a value in a thread-local of the reader thread, counting its drop in `dropped`.
struct Hostile {
    lines: Cursor<Vec<u8>>,
    panic_at: Option<u64>,
    read: u64,
    dropped: Arc<AtomicUsize>,
}

struct CountsItsDrop(Arc<AtomicUsize>);

impl Drop for CountsItsDrop {
    fn drop(&mut self) {
        // Slow, so that a caller not waiting for the thread's exit sees the count unchanged.
        std::thread::sleep(std::time::Duration::from_millis(20));
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

thread_local! {
    static READER_LOCAL: RefCell<Option<CountsItsDrop>> = const { RefCell::new(None) };
}

impl Hostile {
    fn new(panic_at: Option<u64>, dropped: &Arc<AtomicUsize>) -> Self {
        let mut text = header();
        for i in 0..2000 {
            text.push_str(&format!("{{\"type\":\"user\",\"id\":\"u{i}\"}}\n"));
        }
        Hostile {
            lines: Cursor::new(text.into_bytes()),
            panic_at,
            read: 0,
            dropped: Arc::clone(dropped),
        }
    }
}

impl std::io::Read for Hostile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.lines.read(buf)
    }
}

impl BufRead for Hostile {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.lines.fill_buf()
    }
    fn consume(&mut self, amount: usize) {
        self.lines.consume(amount)
    }
    fn read_line(&mut self, buf: &mut String) -> std::io::Result<usize> {
        self.read += 1;
        assert_ne!(Some(self.read), self.panic_at, "the input broke");
        READER_LOCAL.with(|l| {
            let mut l = l.borrow_mut();
            if l.is_none() {
                *l = Some(CountsItsDrop(Arc::clone(&self.dropped)));
            }
        });
        self.lines.read_line(buf)
    }
}

/// A panic while reading the input reaches the caller with its own message, the import is
/// rolled back and the store stays usable.
#[test]
fn a_panicking_reader_panics_the_import_and_writes_nothing() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let store = Store::open_in_memory().unwrap();
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut input = Hostile::new(Some(1001), &dropped);
        store.import_jsonl(&mut input, BatchMode::BestEffort, None)
    }))
    .unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("the input broke"), "{message:?}");
    assert_eq!(store.stats().unwrap(), RecordCounts::default());
    let report = store
        .import_jsonl(
            &mut Hostile::new(None, &dropped),
            BatchMode::AllOrNothing,
            None,
        )
        .unwrap();
    assert!(report.committed);
    assert_eq!(store.stats().unwrap().users, 2000);
}

/// The import returns only after the reader thread has exited, thread-local destructors
/// included: nothing the reader allocated outlives the call (leak checkers rely on this).
#[test]
fn the_reader_thread_has_exited_when_the_import_returns() {
    let dropped = Arc::new(AtomicUsize::new(0));
    for round in 1..=5 {
        let store = Store::open_in_memory().unwrap();
        let mut input = Hostile::new(None, &dropped);
        store
            .import_jsonl(&mut input, BatchMode::AllOrNothing, None)
            .unwrap();
        assert_eq!(dropped.load(Ordering::SeqCst), round, "round {round}");
    }
}

/// A scheduled enrollment survives an import as one: `start_due` on the copy starts it once it
/// is due, not before. (The partial index of scheduled enrollments is the one secondary index
/// an import into empty tables keeps up to date row by row instead of rebuilding it.)
#[test]
fn imported_scheduled_enrollments_start_when_due() {
    let start = Timestamp::parse("2026-03-01T09:00:00Z").unwrap();
    let clock = Arc::new(ManualClock::new(
        Timestamp::parse("2026-02-01T09:00:00Z").unwrap(),
    ));
    let source = OpenOptions::new()
        .clock(clock.clone())
        .open_in_memory()
        .unwrap();
    source
        .upsert_user(&User {
            id: "u1".into(),
            ..User::default()
        })
        .unwrap();
    source
        .create_program(&ProgramSpec {
            kind: Kind::Track,
            steps: vec![Step {
                id: "s1".into(),
                step_type: "task".into(),
                title: "Step".into(),
                learner_completable: true,
                schedule: None,
            }],
            ..ProgramSpec::course("trk", "Track")
        })
        .unwrap();
    let mut req = EnrollRequest::new("u1", "trk");
    req.start_at = Some(start);
    let scheduled = source.enroll(&Actor::Admin, &req).unwrap();
    assert_eq!(scheduled.status_name(), "new");

    let copy = OpenOptions::new()
        .clock(clock.clone())
        .open_in_memory()
        .unwrap();
    let report = copy
        .import_jsonl(
            &mut Cursor::new(export(&source)),
            BatchMode::AllOrNothing,
            None,
        )
        .unwrap();
    assert!(report.committed, "{report:?}");
    assert!(copy.start_due(&Actor::System, 10).unwrap().is_empty());
    clock.advance_millis(start.millis() - clock.now().millis());
    assert_eq!(
        copy.start_due(&Actor::System, 10).unwrap(),
        std::slice::from_ref(&scheduled.id)
    );
    assert_eq!(
        copy.get_enrollment(&Actor::Admin, &scheduled.id)
            .unwrap()
            .status_name(),
        "active"
    );
}

/// An import into an empty database file writes through a rollback journal (no WAL while it
/// runs) and leaves the file in WAL mode; an import into a database with content keeps the WAL
/// throughout, so that other connections can read. (The progress callback runs on the writing
/// thread, in the middle of the import, every 10,000 lines.)
#[test]
fn imports_into_an_empty_file_skip_the_wal_and_others_keep_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from(
        "{\"type\":\"header\",\"format\":\"enrollkit-export\",\"version\":1,\"schema_version\":4}\n",
    );
    for i in 0..12_000 {
        text.push_str(&format!("{{\"type\":\"user\",\"id\":\"usr_{i:05}\"}}\n"));
    }
    let journal_mode = |path: &std::path::Path| -> String {
        rusqlite::Connection::open(path)
            .unwrap()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap()
    };
    for (name, existing_user) in [("empty", false), ("not_empty", true)] {
        let path = dir.path().join(format!("{name}.db"));
        let wal = dir.path().join(format!("{name}.db-wal"));
        let store = Store::open(&path).unwrap();
        if existing_user {
            store
                .upsert_user(&User {
                    id: "someone".into(),
                    ..User::default()
                })
                .unwrap();
        }
        let mut wal_seen = Vec::new();
        let mut progress = |_: u64, _: u64| wal_seen.push(wal.exists());
        let report = store
            .import_jsonl(
                &mut Cursor::new(text.as_bytes()),
                BatchMode::AllOrNothing,
                Some(&mut progress),
            )
            .unwrap();
        assert!(report.committed, "{name}: {report:?}");
        assert!(
            !wal_seen.is_empty() && wal_seen.iter().all(|&w| w == existing_user),
            "{name}: WAL during the import: {wal_seen:?}"
        );
        assert_eq!(
            store.stats().unwrap().users,
            12_000 + u64::from(existing_user)
        );
        drop(store);
        assert_eq!(journal_mode(&path), "wal", "{name}: after the import");
    }
}

/// User, enrollment and event lines are written several to a statement: a refusal that only
/// the write finds (a user id given twice, an email taken by a user of the same statement, an
/// unknown user, a taken id, a sequence number in use) still names its own line, the other
/// lines of its statement are imported, and all-or-nothing imports nothing.
#[test]
fn refusals_found_when_lines_are_written_together_name_their_lines() {
    let source = Store::open_in_memory().unwrap();
    source
        .create_program(&ProgramSpec::course("crs", "Course"))
        .unwrap();
    for i in 0..40 {
        source
            .upsert_user(&User {
                id: format!("u{i:02}"),
                ..User::default()
            })
            .unwrap();
        source
            .enroll(
                &Actor::Admin,
                &EnrollRequest::new(format!("u{i:02}"), "crs"),
            )
            .unwrap();
    }
    let text = String::from_utf8(export(&source)).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let find = |lines: &[String], start: &str, has: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(start) && l.contains(has))
            .unwrap()
    };
    let enrollment = |lines: &[String], user: &str| {
        find(
            lines,
            "{\"type\":\"enrollment\"",
            &format!("\"user_id\":\"{user}\""),
        )
    };
    let id_of = |line: &str| {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        v["id"].as_str().unwrap().to_owned()
    };
    let user =
        |lines: &[String], id: &str| find(lines, "{\"type\":\"user\"", &format!("\"id\":\"{id}\""));
    // A second line for user u12, in the next statement of users.
    let u12 = user(&lines, "u12");
    lines.insert(u12 + 1, lines[u12].clone());
    let twice = u12 + 1;
    // Two new users with the same email (in another case), in one statement.
    let u20 = user(&lines, "u20");
    for (i, email) in [(1, "same@example.com"), (2, "SAME@example.com")] {
        let line = lines[u20]
            .replace("\"u20\"", &format!("\"x{i}\""))
            .replace("\"email\":null", &format!("\"email\":\"{email}\""));
        lines.insert(u20 + i, line);
    }
    let same_email = u20 + 2;
    // The 8th enrollment line: a user nobody has.
    let ghost = enrollment(&lines, "u07");
    lines[ghost] = lines[ghost].replace("\"user_id\":\"u07\"", "\"user_id\":\"ghost\"");
    // The 11th: refused by its own checks, before the 8th's statement is written.
    let invalid = enrollment(&lines, "u10");
    lines[invalid] = lines[invalid].replace("\"steps_total\":0", "\"steps_total\":9");
    // The 22nd: the id of the 4th.
    let taken = enrollment(&lines, "u21");
    let (old, new) = (
        id_of(&lines[taken]),
        id_of(&lines[enrollment(&lines, "u03")]),
    );
    lines[taken] = lines[taken].replace(&old, &new);
    // The 25th event: the sequence number of the 20th.
    let events = find(&lines, "{\"type\":\"event\"", "");
    let seq = |line: &str| {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        v["seq"].as_i64().unwrap()
    };
    let (from, to) = (seq(&lines[events + 24]), seq(&lines[events + 19]));
    let lost = {
        let v: serde_json::Value = serde_json::from_str(&lines[events + 24]).unwrap();
        v["enrollment_id"].as_str().unwrap().to_owned()
    };
    lines[events + 24] =
        lines[events + 24].replace(&format!("\"seq\":{from},"), &format!("\"seq\":{to},"));
    let text = lines.join("\n");
    let expected = vec![
        (twice as u64 + 1, "conflict"),
        (same_email as u64 + 1, "conflict"),
        (ghost as u64 + 1, "not_found"),
        (invalid as u64 + 1, "validation"),
        (taken as u64 + 1, "conflict"),
        (events as u64 + 25, "conflict"),
    ];
    for mode in [BatchMode::BestEffort, BatchMode::AllOrNothing] {
        let target = Store::open_in_memory().unwrap();
        let report = target
            .import_jsonl(&mut Cursor::new(&text), mode, None)
            .unwrap();
        let refused: Vec<(u64, &str)> = report
            .errors
            .iter()
            .map(|e| (e.line, e.error.code().as_str()))
            .collect();
        assert_eq!(refused, expected, "{mode:?}");
        let stats = target.stats().unwrap();
        if mode == BatchMode::BestEffort {
            let email = &report.errors[1].error;
            assert!(email.to_string().contains("belongs to user x1"), "{email}");
            let counts = RecordCounts {
                users: 41,
                programs: 1,
                enrollments: 37,
                events: 39,
            };
            assert_eq!((report.imported, stats), (counts, counts));
            // The one imported enrollment whose "enrolled" event was refused has no history.
            let violations = target.check_invariants().unwrap();
            assert_eq!(violations.len(), 1, "{violations:?}");
            assert!(violations[0].starts_with(&lost), "{violations:?}");
        } else {
            assert!(!report.committed);
            assert_eq!(stats, RecordCounts::default());
        }
    }
}
