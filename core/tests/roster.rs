//! CSV rosters (`Store::enroll_csv`): columns, quoting, refused rows with their lines, modes,
//! bad headers and unreadable input.

use std::io::Cursor;

use enrollkit::*;

fn store() -> Store {
    let s = Store::open_in_memory().unwrap();
    for (id, email) in [
        ("u1", "one@example.com"),
        ("u2", "two@example.com"),
        ("u3", "x@y.z"),
    ] {
        s.upsert_user(&User {
            id: id.into(),
            email: Some(email.into()),
            ..User::default()
        })
        .unwrap();
    }
    s.create_program(&ProgramSpec::course("crs", "Course"))
        .unwrap();
    s.create_program(&ProgramSpec::course("other", "Other"))
        .unwrap();
    s
}

fn enroll(s: &Store, text: &str, mode: BatchMode) -> Result<ImportReport> {
    s.enroll_csv(&Actor::Admin, &mut Cursor::new(text), mode, None)
}

fn refused(report: &ImportReport) -> Vec<(u64, &'static str)> {
    report
        .errors
        .iter()
        .map(|e| (e.line, e.error.code().as_str()))
        .collect()
}

#[test]
fn a_roster_enrolls_its_rows_with_their_options() {
    let s = store();
    let text = "\u{feff}email , program_id,trigger,partnership_id,allow_reenroll\r\n\
                one@example.com,crs,schedule,\"prt,1\",\r\n\
                TWO@example.com,crs,,\"prt \"\"2\"\"\",false\r\n\
                x@y.z,other,,,true\r\n";
    let report = enroll(&s, text, BatchMode::AllOrNothing).unwrap();
    let details: Vec<String> = report
        .errors
        .iter()
        .map(|e| format!("{} {}", e.line, e.error))
        .collect();
    assert!(report.errors.is_empty(), "{details:?}");
    assert!(report.committed);
    assert_eq!(report.imported.enrollments, 3);
    let page = s
        .list_enrollments(
            &Actor::Admin,
            &ListQuery {
                program_id: Some("crs".into()),
                ..ListQuery::default()
            },
        )
        .unwrap();
    let mut got: Vec<(String, Trigger, Option<String>)> = page
        .items
        .iter()
        .map(|e| (e.user_id.clone(), e.trigger, e.partnership_id.clone()))
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        vec![
            ("u1".into(), Trigger::Schedule, Some("prt,1".into())),
            (
                "u2".into(),
                Trigger::ManualUserTrigger,
                Some("prt \"2\"".into())
            ),
        ]
    );
    // Every enrollment has its history event.
    assert_eq!(s.stats().unwrap().events, 3);
}

#[test]
fn refused_rows_name_the_line_they_start_on() {
    let s = store();
    let text = "user_id,program_id,batch,partnership_id\n\
                u1,crs,,\"two\nlines\"\n\
                nobody,crs,,\n\
                u2,crs,yes,\n\
                u2,crs\n\
                u3,nope,,\n\
                u1,crs,,\n\
                u2,other,,\n\
                u2,other,,\n";
    let before = s.stats().unwrap();
    let report = enroll(&s, text, BatchMode::AllOrNothing).unwrap();
    // A quoted cell may span lines (here refused: ids hold no control characters).
    let expected = vec![
        (2, "validation"),
        (4, "not_found"),
        (5, "validation"),
        (6, "validation"),
        (7, "not_found"),
        (10, "already_enrolled"),
    ];
    assert_eq!(refused(&report), expected);
    assert!(!report.committed);
    assert_eq!(report.imported, RecordCounts::default());
    assert_eq!(s.stats().unwrap(), before);

    let report = enroll(&s, text, BatchMode::BestEffort).unwrap();
    assert_eq!(refused(&report), expected);
    assert!(report.committed);
    assert_eq!(report.imported.enrollments, 2);
    assert_eq!(s.stats().unwrap().enrollments, before.enrollments + 2);
    // The same lines with CRLF endings report the same lines.
    let crlf = text.replace('\n', "\r\n");
    let report = enroll(&store(), &crlf, BatchMode::BestEffort).unwrap();
    assert_eq!(refused(&report), expected);
    // The same roster again: every row is already enrolled or refused, nothing new.
    let again = enroll(&s, text, BatchMode::BestEffort).unwrap();
    assert_eq!(again.imported.enrollments, 0);
    assert_eq!(again.errors.len(), 8);
}

#[test]
fn a_learner_enrolls_only_themselves() {
    let s = store();
    let text = "user_id,program_id\nu1,crs\nu2,crs\n";
    let report = s
        .enroll_csv(
            &Actor::Learner("u1".into()),
            &mut Cursor::new(text),
            BatchMode::BestEffort,
            None,
        )
        .unwrap();
    assert_eq!(refused(&report), vec![(3, "permission_denied")]);
    assert_eq!(report.imported.enrollments, 1);
}

#[test]
fn a_header_that_is_not_a_rosters_writes_nothing() {
    let s = store();
    let before = s.stats().unwrap();
    for (text, needle) in [
        ("", "empty"),
        (
            "user_id,program_id,status\nu1,crs,active\n",
            "unknown column \"status\"",
        ),
        ("user_id,program_id,user_id\nu1,crs,u1\n", "appears twice"),
        ("user_id\nu1\n", "program_id column"),
        (
            "program_id,trigger\ncrs,schedule\n",
            "user_id, email or external_id",
        ),
        // The CSV export is a report, not a roster.
        ("id,user_id,program_id,kind\n", "unknown column \"kind\""),
    ] {
        let err = enroll(&s, text, BatchMode::BestEffort).unwrap_err();
        assert_eq!(err.code(), "validation", "{text:?}");
        assert!(err.to_string().contains(needle), "{err}");
    }
    assert_eq!(s.stats().unwrap(), before);
}

#[test]
fn unreadable_input_fails_the_whole_roster() {
    let s = store();
    let before = s.stats().unwrap();
    let mut bytes = b"user_id,program_id\nu1,crs\n".to_vec();
    bytes.extend(b"u2,\xffcrs\n");
    let err = s
        .enroll_csv(
            &Actor::Admin,
            &mut Cursor::new(bytes),
            BatchMode::BestEffort,
            None,
        )
        .unwrap_err();
    assert_eq!(err.code(), "storage");
    assert!(err.to_string().contains("line 3"), "{err}");
    assert_eq!(s.stats().unwrap(), before);
}

#[test]
fn progress_reaches_the_end_of_a_long_roster() {
    let s = Store::open_in_memory().unwrap();
    s.create_program(&ProgramSpec::course("crs", "Course"))
        .unwrap();
    let users: Vec<User> = (0..25_000)
        .map(|i| User {
            id: format!("u{i}"),
            ..User::default()
        })
        .collect();
    s.upsert_users(&users).unwrap();
    let mut text = String::from("user_id,program_id\n");
    for u in &users {
        text.push_str(&format!("{},crs\n", u.id));
    }
    let mut seen = Vec::new();
    let mut progress = |line: u64, bytes: u64| seen.push((line, bytes));
    let report = s
        .enroll_csv(
            &Actor::Admin,
            &mut Cursor::new(&text),
            BatchMode::AllOrNothing,
            Some(&mut progress),
        )
        .unwrap();
    assert_eq!(report.imported.enrollments, 25_000);
    assert!(seen.len() >= 3, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    assert_eq!(seen.last().unwrap().1, text.len() as u64);
}
