//! Tests of the row mappings against the schema.

use super::*;

/// A database with every migration applied.
fn migrated() -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    crate::sqlite::migrate(&conn, crate::sqlite::MIGRATIONS).unwrap();
    conn
}

/// The columns of `table` (or view) in the schema's order, as `PRAGMA table_info` gives them.
fn table_columns(conn: &Connection, table: &str) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT name FROM pragma_table_info(?1)")
        .unwrap();
    let names = stmt.query_map([table], |r| r.get(0)).unwrap();
    names.map(|r| r.unwrap()).collect()
}

/// The primary key columns of `table`, in key order.
fn key_columns(conn: &Connection, table: &str) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk")
        .unwrap();
    let names = stmt.query_map([table], |r| r.get(0)).unwrap();
    names.map(|r| r.unwrap()).collect()
}

/// `before`, then the columns of `R`'s field table, then `after`.
fn columns_of<R: StoredRecord>(before: &[&str], after: &[&str]) -> Vec<String> {
    let columns = before.iter().chain(R::COLUMNS).chain(after);
    columns.map(|c| c.to_string()).collect()
}

/// `SELECT e.*` and `INSERT INTO enrollments VALUES (NULL, ...)` rely on it.
#[test]
fn the_enrollments_columns_are_rid_then_the_stored_columns() {
    let conn = migrated();
    let mut expected = vec!["rid"];
    expected.extend(STORED_COLUMNS);
    assert_eq!(table_columns(&conn, "enrollments"), expected);
}

/// `names` as owned strings, to compare with what `table_columns` gives.
fn names(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// `write_step_progress` binds `enrollment_rid`, then `step_progress_fields!`'s columns.
#[test]
fn the_step_progress_columns_are_the_enrollment_then_the_step_progress_fields() {
    let conn = migrated();
    assert_eq!(
        table_columns(&conn, "step_progress"),
        columns_of::<StepProgress>(&["enrollment_rid"], &[])
    );
    // `INSERT OR REPLACE` replaces one step's row.
    assert_eq!(
        key_columns(&conn, "step_progress"),
        ["enrollment_rid", "step_id"]
    );
    // The view shows every column (a new one needs the view recreated): the enrollment by id,
    // the result under its column's name.
    assert_eq!(
        table_columns(&conn, "step_progress_view"),
        columns_of::<StepProgress>(&["enrollment_id", "program_id"], &[])
    );
}

/// `insert_attempt` binds `enrollment_rid`, then `attempt_fields!`'s columns.
#[test]
fn the_attempts_columns_are_the_enrollment_then_the_attempt_fields() {
    let conn = migrated();
    assert_eq!(
        table_columns(&conn, "attempts"),
        columns_of::<Attempt>(&["enrollment_rid"], &[])
    );
}

/// Every field, set to a value other than its default, survives a write and a read through
/// the generated columns, values and reader.
#[test]
fn step_progress_and_attempts_read_back_as_written() {
    let conn = migrated();
    conn.pragma_update(None, "foreign_keys", false).unwrap();
    let at = |ms| Some(Timestamp::from_millis(ms));
    let progress = StepProgress {
        step_id: "s".into(),
        status: StepStatus::Failed,
        started_at: at(1),
        delivered_at: at(2),
        completed_at: at(3),
        failed_at: at(4),
        skipped_at: at(5),
        failure_reason: Some("bounced".into()),
        failure_message: Some("Mailbox full".into()),
        destination_type: Some("channel".into()),
        result: Some(serde_json::json!({"answers": [1, "two", null]})),
    };
    write_step_progress(&conn, 7, &progress).unwrap();
    write_step_progress(&conn, 7, &StepProgress::pending("t")).unwrap();
    assert_eq!(
        load_step_progress(&conn, 7).unwrap(),
        [progress, StepProgress::pending("t")]
    );
    // An absent result is NULL, not the JSON text `null`.
    let result: Option<String> = conn
        .query_row(
            "SELECT result_json FROM step_progress WHERE step_id = 't'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(result, None);

    let attempts = [
        Attempt {
            number: 1,
            score: 42.5,
            passed: Some(false),
            submitted_at: Timestamp::from_millis(10),
        },
        Attempt {
            number: 2,
            score: 100.0,
            passed: None,
            submitted_at: Timestamp::from_millis(20),
        },
    ];
    for a in &attempts {
        insert_attempt(&conn, 7, a).unwrap();
    }
    assert_eq!(load_attempts(&conn, 7).unwrap(), attempts);
}

/// The user INSERTs bind `user_fields!`'s columns, then the row's times; a column that the table
/// lacks (or has more of) is one a user would silently lose.
#[test]
fn the_users_columns_are_the_user_fields_and_the_times() {
    let conn = migrated();
    // Every statement names its columns, so their order in the table does not matter:
    // fields added by a later migration come after the times.
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(
        sorted(table_columns(&conn, "users")),
        sorted(columns_of::<User>(&[], &["created_at", "updated_at"]))
    );
    // Replacing a user keeps its first column, `id`, which must be the key.
    assert_eq!(key_columns(&conn, "users"), ["id"]);
    assert_eq!(User::COLUMNS[0], "id");
    // The view shows every field under its name (a new one needs the view recreated).
    let mut shown = names(User::FIELDS);
    shown.extend(names(&["created_at", "updated_at"]));
    assert_eq!(table_columns(&conn, "users_view"), shown);
}

/// Replacing a user writes every field (`set_excluded_after_key`) and keeps `created_at`.
#[test]
fn a_replaced_user_reads_back_with_every_field_and_its_creation_time() {
    let conn = migrated();
    let held = &mut Held::new(&conn);
    let first = UserTimes::at(Timestamp::from_millis(1));
    let bare = User {
        id: "u".into(),
        ..User::default()
    };
    upsert_user(held, &bare, first, false).unwrap();
    let user = User {
        id: "u".into(),
        email: Some("ada@example.com".into()),
        display_name: Some("Ada".into()),
        external_id: Some("U123".into()),
        department: Some("R&D".into()),
        location: Some("London".into()),
        manager_id: Some("m".into()),
        groups: vec!["a".into(), "b \"c\"".into()],
        timezone: Some("Europe/London".into()),
        hire_date: Some("2019-02-28".into()),
        partnerships: vec!["prt_1".into()],
    };
    upsert_user(held, &user, UserTimes::at(Timestamp::from_millis(2)), true).unwrap();
    let times = UserTimes {
        created_at: Timestamp::from_millis(1),
        updated_at: Timestamp::from_millis(2),
    };
    assert_eq!(
        list_users_with_times(&conn, None, 10).unwrap(),
        [(user.clone(), times)]
    );
    assert_eq!(
        find_user_held(&mut Held::new(&conn), &UserRef::Id("u".into())).unwrap(),
        user
    );
}

/// `insert_event_raw` binds `event_fields!`'s columns; `insert_event` all but the first.
#[test]
fn the_events_columns_are_the_event_fields_and_seq_is_the_rowid() {
    let conn = migrated();
    assert_eq!(
        table_columns(&conn, "events"),
        columns_of::<Event>(&[], &[])
    );
    // `EVENT_INTO` leaves the first column to SQLite, which assigns the rowid: the key, an
    // INTEGER PRIMARY KEY.
    assert_eq!(Event::COLUMNS[0], "seq");
    assert_eq!(key_columns(&conn, "events"), ["seq"]);
    let key_type: String = conn
        .query_row(
            "SELECT type FROM pragma_table_info('events') WHERE name = 'seq'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(key_type, "INTEGER");
    // The view shows every field under its name (a new one needs the view recreated).
    assert_eq!(table_columns(&conn, "events_view"), names(Event::FIELDS));
}

/// Every field survives an import's write and a read through the generated columns, values
/// and reader.
#[test]
fn an_imported_event_reads_back_as_written() {
    let conn = migrated();
    let event = Event {
        seq: 5,
        enrollment_id: "e".into(),
        user_id: "u".into(),
        program_id: "p".into(),
        action: "drop".into(),
        from_status: Some("active".into()),
        to_status: Some("dropped".into()),
        actor: "learner:u".into(),
        reason: Some("moved".into()),
        at: Timestamp::from_millis(30),
    };
    insert_event_raw(&mut Held::new(&conn), &event).unwrap();
    assert_eq!(history(&conn, "e").unwrap(), [event]);
}

/// `program_columns!` names every column of `programs` in the table's order, and
/// `program_step_columns!` every column of `program_steps`.
#[test]
fn the_program_column_lists_are_the_tables() {
    let conn = migrated();
    let list = |columns: &str| columns.split(", ").map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(table_columns(&conn, "programs"), list(PROGRAM_COLUMNS));
    assert_eq!(
        table_columns(&conn, "program_steps"),
        list(PROGRAM_STEP_COLUMNS)
    );
}

/// `enrollments_view` shows every field of the canonical record that is stored, under
/// its record name: a new column needs the view too (a new migration recreates it).
#[test]
fn the_enrollments_view_shows_every_stored_field() {
    let conn = migrated();
    let mut shown = table_columns(&conn, "enrollments_view");
    shown.sort();
    let mut stored: Vec<String> = STORED_FIELDS.iter().map(|f| f.to_string()).collect();
    stored.sort();
    assert_eq!(shown, stored);
}

#[test]
fn per_user_lookups_use_the_user_index() {
    let conn = Connection::open_in_memory().unwrap();
    crate::sqlite::migrate(&conn, crate::sqlite::MIGRATIONS).unwrap();
    let plan = |sql: &str| -> String {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = stmt
            .query_map(["u", "p"], |r| r.get::<_, String>(3))
            .unwrap();
        rows.map(|r| r.unwrap()).collect::<Vec<_>>().join("; ")
    };
    let priors = plan(PRIOR_ENROLLMENTS);
    assert!(priors.contains("enrollments_user "), "{priors}");
    let open = plan(OPEN_ENROLLMENT);
    assert!(open.contains("enrollments_one_open"), "{open}");
}

#[test]
fn the_due_work_queue_walks_its_index_in_order() {
    use crate::storage::{WorkParam, WorkQuery};
    let conn = migrated();
    for i in 0..8 {
        let q = WorkQuery {
            claimable: i & 1 != 0,
            until: i & 2 != 0,
            program: i & 4 != 0,
        };
        let (sql, order) = WORK_SQL.get(q);
        let values: Vec<rusqlite::types::Value> = order
            .iter()
            .map(|p| match p {
                WorkParam::Time => 0.into(),
                WorkParam::Program => "p".to_owned().into(),
                WorkParam::Limit => 10.into(),
            })
            .collect();
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let plan: Vec<String> = stmt
            .query_map(rusqlite::params_from_iter(values), |r| {
                r.get::<_, String>(3)
            })
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let plan = plan.join("; ");
        let index = if q.program {
            "enrollments_due_program"
        } else {
            "enrollments_due"
        };
        assert!(
            plan.split_whitespace().any(|word| word == index),
            "{index}: {plan}"
        );
        assert!(!plan.contains("TEMP B-TREE"), "no sort: {plan}");
    }
}

#[test]
fn the_expirable_condition_matches_the_statuses_and_the_index() {
    use crate::storage::EXPIRABLE_CONDITION;
    let conn = migrated();
    for status in Status::ALL {
        let expirable: bool = conn
            .query_row(
                &format!("SELECT {EXPIRABLE_CONDITION} FROM (SELECT ?1 AS status)"),
                [status.code()],
                |r| r.get(0),
            )
            .unwrap();
        let expected = status.is_open() && *status != Status::Dropped;
        assert_eq!(expirable, expected, "{status:?}");
    }
    let index: String = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'enrollments_deadline'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        index.ends_with(&format!(
            "WHERE deadline_at IS NOT NULL AND ({EXPIRABLE_CONDITION})"
        )),
        "{index}"
    );
    let mut stmt = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {}", *EXPIRABLE))
        .unwrap();
    let plan: Vec<String> = stmt
        .query_map([0, 10], |r| r.get::<_, String>(3))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let plan = plan.join("; ");
    assert!(plan.contains("USING INDEX enrollments_deadline"), "{plan}");
    assert!(!plan.contains("TEMP B-TREE"), "no sort: {plan}");
}

#[test]
fn the_open_condition_matches_status_is_open() {
    let conn = Connection::open_in_memory().unwrap();
    for status in Status::ALL {
        let open: bool = conn
            .query_row(
                &format!("SELECT {OPEN_CONDITION} FROM (SELECT ?1 AS status)"),
                [status.code()],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(open, status.is_open(), "{status:?}");
    }
    assert!(OPEN_ENROLLMENT.contains(&format!("({OPEN_CONDITION})")));
    crate::sqlite::migrate(&conn, crate::sqlite::MIGRATIONS).unwrap();
    let index: String = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'enrollments_one_open'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        index.ends_with(&format!("WHERE {OPEN_CONDITION}")),
        "{index}"
    );
}

#[test]
fn a_fresh_insert_stores_what_the_full_one_does() {
    // The defaults of enrollment_fields are the schema's: a row inserted with only the
    // fresh columns reads back as an untouched enrollment, whose values are those bound.
    let conn = Connection::open_in_memory().unwrap();
    crate::sqlite::migrate(&conn, crate::sqlite::MIGRATIONS).unwrap();
    conn.pragma_update(None, "foreign_keys", false).unwrap();
    let values: Vec<rusqlite::types::Value> = FRESH_COLUMNS
        .iter()
        .map(|&i| match STORED_COLUMNS[i] {
            "kind" | "status" | "enrolled_at" | "updated_at" | "attempt_number" => 1.into(),
            "trigger" => "user_join".to_owned().into(),
            "start_at" | "started_at" | "next_step_at" | "deadline_at" => {
                rusqlite::types::Value::Null
            }
            column => column.to_owned().into(),
        })
        .collect();
    conn.execute(INSERT_FRESH.as_str(), rusqlite::params_from_iter(&values))
        .unwrap();
    let (_, e) = conn
        .query_row("SELECT * FROM enrollments", [], stored_enrollment_from_row)
        .unwrap();
    assert!(e.is_untouched(), "{e:?}");
    let read = enrollment_values(&e);
    for (&i, bound) in FRESH_COLUMNS.iter().zip(&values) {
        assert_eq!(read[i], ValueRef::from(bound), "{}", STORED_COLUMNS[i]);
    }
}

#[test]
fn new_enrollments_are_fresh_and_changed_ones_are_not() {
    use crate::domain::lifecycle::{apply, enroll, Command, Prior};
    use crate::domain::model::{Actor, EnrollRequest};
    let now = Timestamp::from_millis(1_000);
    let user = User {
        id: "u".into(),
        timezone: Some("Europe/Paris".into()),
        ..User::default()
    };
    let latest = Prior {
        id: "e0".into(),
        status: Status::Completed,
        attempt_number: 1,
    };
    for kind in [Kind::Course, Kind::Certification, Kind::Track] {
        let program = Program {
            spec: ProgramSpec {
                kind,
                // An active track needs a step; the others progress by percent.
                steps: if kind == Kind::Track {
                    vec![Step {
                        id: "s".into(),
                        step_type: "message".into(),
                        title: "S".into(),
                        learner_completable: false,
                        schedule: None,
                    }]
                } else {
                    Vec::new()
                },
                ..ProgramSpec::course("p", "P")
            },
            created_at: now,
            updated_at: now,
        };
        let track = kind == Kind::Track;
        let req = EnrollRequest {
            added_by_user_id: Some("a".into()),
            added_by_program_id: Some("q".into()),
            partnership_id: Some("x".into()),
            start_at: track.then_some(Timestamp::from_millis(5_000)),
            allow_reenroll: true,
            ..EnrollRequest::new("u", "p")
        };
        let mut e = enroll(
            &Actor::Admin,
            &program,
            &user,
            &req,
            "e1".into(),
            None,
            Some(&latest),
            &crate::domain::lifecycle::PolicyFacts::default(),
            now,
        )
        .unwrap();
        assert!(e.is_untouched(), "{e:?}");
        let cmd = match kind {
            Kind::Track => Command::Cancel,
            _ => Command::Progress(10.0),
        };
        apply(&Actor::Admin, &program, &mut e, &[], &cmd, now).unwrap();
        assert!(!e.is_untouched(), "{e:?}");
    }
}
