//! Property tests: random operation sequences by random actors never break the invariants
//! (counters equal recomputed values, at most one open enrollment per user and program, history
//! replays to the current status), a refused operation never changes anything, and learners
//! never see or change another user's enrollments.

use std::sync::Arc;

use enrollkit::*;
use proptest::prelude::*;

mod support;

const USERS: usize = 3;
const PROGRAMS: [&str; 4] = ["course", "course_steps", "cert", "track"];

#[derive(Clone, Debug)]
enum Op {
    Enroll {
        user: usize,
        program: usize,
        reenroll: bool,
        batch: bool,
        later: bool,
    },
    Progress(usize, f64),
    Step(usize, usize, u8),
    Attempt(usize, f64),
    Transition(usize, u8),
    Delete(usize),
    StartDue,
    Advance(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..USERS, 0..PROGRAMS.len(), any::<bool>(), any::<bool>(), any::<bool>())
            .prop_map(|(user, program, reenroll, batch, later)| Op::Enroll { user, program, reenroll, batch, later }),
        2 => (0..8usize, prop_oneof![Just(0.0), Just(100.0), -10.0..110.0f64]).prop_map(|(e, p)| Op::Progress(e, p)),
        4 => (0..8usize, 0..4usize, 0..5u8).prop_map(|(e, s, c)| Op::Step(e, s, c)),
        2 => (0..8usize, -5.0..105.0f64).prop_map(|(e, s)| Op::Attempt(e, s)),
        3 => (0..8usize, 0..10u8).prop_map(|(e, t)| Op::Transition(e, t)),
        1 => (0..8usize).prop_map(Op::Delete),
        1 => Just(Op::StartDue),
        1 => (0..100_000i64).prop_map(Op::Advance),
    ]
}

fn actor() -> impl Strategy<Value = Option<usize>> {
    // None = admin or system, Some(i) = learner u{i}
    prop_oneof![2 => Just(None), 1 => (0..USERS).prop_map(Some)]
}

fn step(id: &str, completable: bool) -> Step {
    Step {
        id: id.into(),
        step_type: "lesson".into(),
        title: id.into(),
        learner_completable: completable,
        schedule: None,
    }
}

/// A store with users and programs: in memory, or with `postgres` in a new PostgreSQL database.
fn setup(postgres: bool) -> (Store, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(
        Timestamp::parse("2026-01-01T00:00:00Z").unwrap(),
    ));
    let options = OpenOptions::new().clock(clock.clone());
    let store = match postgres {
        false => options.open_in_memory().unwrap(),
        true => {
            let base = support::postgres().expect("PostgreSQL runs were asked for");
            options.open(support::fresh_database(&base)).unwrap()
        }
    };
    for i in 0..USERS {
        store
            .upsert_user(&User {
                id: format!("u{i}"),
                ..User::default()
            })
            .unwrap();
    }
    let spec = |id: &str, kind, steps: Vec<Step>, assessment| ProgramSpec {
        id: id.into(),
        kind,
        title: id.into(),
        description: None,
        state: ProgramState::Active,
        self_enrollment: true,
        steps,
        assessment,
        policy: Default::default(),
    };
    let quiz = Some(Assessment {
        passing_score: 60.0,
        max_attempts: Some(2),
    });
    store
        .create_program(&spec("course", Kind::Course, vec![], None))
        .unwrap();
    store
        .create_program(&spec(
            "course_steps",
            Kind::Course,
            vec![step("a", true), step("b", true)],
            quiz,
        ))
        .unwrap();
    store
        .create_program(&spec(
            "cert",
            Kind::Certification,
            vec![step("a", true), step("b", false)],
            quiz,
        ))
        .unwrap();
    store
        .create_program(&spec(
            "track",
            Kind::Track,
            vec![
                step("a", false),
                step("b", true),
                step("c", true),
                step("d", false),
            ],
            None,
        ))
        .unwrap();
    (store, clock)
}

/// Everything observable, to prove refused operations change nothing.
fn snapshot(store: &Store) -> String {
    let all = store
        .list_enrollments(
            &Actor::Admin,
            &ListQuery {
                pagination: Pagination::Page {
                    page: 1,
                    per_page: 100,
                },
                ..ListQuery::default()
            },
        )
        .unwrap();
    let mut out = serde_json::to_string(&all.items).unwrap();
    for e in &all.items {
        out += &format!("{:?}", store.step_progress(&Actor::Admin, &e.id).unwrap());
        out += &format!("{:?}", store.attempts(&Actor::Admin, &e.id).unwrap());
    }
    out + &format!("{:?}", store.events_after(&Actor::Admin, 0, 1000).unwrap())
}

fn run(ops: Vec<(Option<usize>, Op)>, postgres: bool) -> Result<(), TestCaseError> {
    let (store, clock) = setup(postgres);
    let mut ids: Vec<String> = Vec::new();
    let pick = |ids: &Vec<String>, i: usize| ids.get(i % ids.len().max(1)).cloned();
    for (who, op) in ops {
        let actor = match who {
            None => Actor::Admin,
            Some(i) => Actor::Learner(format!("u{i}")),
        };
        let before = snapshot(&store);
        let target = match &op {
            Op::Progress(e, _)
            | Op::Step(e, _, _)
            | Op::Attempt(e, _)
            | Op::Transition(e, _)
            | Op::Delete(e) => match pick(&ids, *e) {
                Some(id) => Some(id),
                None => continue,
            },
            _ => None,
        };
        let owner = target
            .as_ref()
            .and_then(|id| store.get_enrollment(&Actor::Admin, id).ok())
            .map(|e| e.user_id);
        // The enrollment a change returns, which the store keeps for the next change of it.
        let mut returned: Option<Enrollment> = None;
        let mut keep = |e: Enrollment| returned = Some(e);
        let result: Result<(), Error> = match op {
            Op::Enroll {
                user,
                program,
                reenroll,
                batch,
                later,
            } => {
                let mut req = EnrollRequest::new(format!("u{user}"), PROGRAMS[program]);
                req.allow_reenroll = reenroll;
                req.batch = batch && PROGRAMS[program] == "track";
                if later && PROGRAMS[program] == "track" {
                    req.start_at = Some(clock.now().plus_millis(50_000));
                }
                store.enroll(&actor, &req).map(|e| ids.push(e.id))
            }
            Op::Progress(_, p) => store
                .set_progress(&actor, target.as_ref().unwrap(), p)
                .map(&mut keep),
            Op::Step(_, s, c) => {
                let change = match c {
                    0 => StepChange::Start,
                    1 => StepChange::Deliver {
                        destination_type: None,
                    },
                    2 => StepChange::Complete { result: None },
                    3 => StepChange::Fail {
                        reason: "x".into(),
                        message: None,
                    },
                    _ => StepChange::Skip,
                };
                let step = ["a", "b", "c", "d"][s];
                store
                    .update_step(&actor, target.as_ref().unwrap(), step, &change)
                    .map(&mut keep)
            }
            Op::Attempt(_, score) => store
                .submit_attempt(&actor, target.as_ref().unwrap(), score)
                .map(|(e, _)| keep(e)),
            Op::Transition(_, t) => {
                let cmd = match t {
                    0 => Command::Start,
                    1 => Command::Drop,
                    2 => Command::Reactivate,
                    3 => Command::Pause,
                    4 => Command::Resume,
                    5 => Command::Cancel,
                    6 => Command::Fail {
                        reason: FailureReason::UnknownError,
                        message: None,
                    },
                    7 => Command::BeginProcessing,
                    _ => Command::EndProcessing,
                };
                store
                    .transition(&actor, target.as_ref().unwrap(), &cmd)
                    .map(&mut keep)
            }
            Op::Delete(_) => store.delete_enrollment(&actor, target.as_ref().unwrap()),
            Op::StartDue => store.start_due(&Actor::System, 100).map(drop),
            Op::Advance(ms) => {
                clock.advance_millis(ms);
                Ok(())
            }
        };
        match &result {
            Err(e) => {
                prop_assert_eq!(
                    &before,
                    &snapshot(&store),
                    "refused {:?} changed the database",
                    e
                );
                prop_assert!(
                    !matches!(e, Error::Storage(_) | Error::Busy(_) | Error::Corrupt(_)),
                    "{:?}",
                    e
                );
            }
            Ok(()) => {
                if let (Actor::Learner(me), Some(owner)) = (&actor, &owner) {
                    prop_assert_eq!(me, owner, "a learner changed someone else's enrollment");
                }
                // What a change returns is exactly what the database now holds.
                if let Some(e) = &returned {
                    prop_assert_eq!(&store.get_enrollment(&Actor::Admin, &e.id).unwrap(), e);
                }
            }
        }
        // Learners never read others' enrollments.
        for i in 0..USERS {
            let uid = format!("u{i}");
            let me = Actor::Learner(uid.clone());
            let page = store.list_enrollments(&me, &ListQuery::default()).unwrap();
            let only_mine = page.items.iter().all(|e| e.user_id == uid);
            prop_assert!(only_mine);
            for id in &ids {
                if let Ok(e) = store.get_enrollment(&me, id) {
                    prop_assert_eq!(e.user_id, format!("u{i}"));
                }
            }
        }
        let violations = store.check_invariants().unwrap();
        prop_assert!(violations.is_empty(), "{:?}", violations);
    }
    // History replays to the current status for every enrollment.
    for id in &ids {
        let Ok(e) = store.get_enrollment(&Actor::Admin, id) else {
            continue;
        };
        let status = store.status_at(&Actor::Admin, id, clock.now()).unwrap();
        prop_assert_eq!(status.as_deref(), Some(e.status_name()));
    }
    // A program's listing (merged from per-status index runs, step counts from the program)
    // agrees with a scan of every enrollment, in both orders, page by page and cursor by
    // cursor, with and without a filter.
    let all = every_page(&store, &ListQuery::default(), 100);
    let since = clock.now().plus_millis(-150_000);
    for program in PROGRAMS {
        for order in [Order::OldestFirst, Order::NewestFirst] {
            for enrolled_from in [None, Some(since)] {
                let query = ListQuery {
                    program_id: Some(program.into()),
                    enrolled_from,
                    order,
                    ..ListQuery::default()
                };
                let mut expected: Vec<&Enrollment> = all
                    .iter()
                    .filter(|e| e.program_id == program)
                    .filter(|e| enrolled_from.map_or(true, |t| e.enrolled_at >= t))
                    .collect();
                if order == Order::NewestFirst {
                    expected.reverse();
                }
                let expected: Vec<Enrollment> = expected.into_iter().cloned().collect();
                for per_page in [1, 2, 3] {
                    let listed = every_page(&store, &query, per_page);
                    prop_assert_eq!(&listed, &expected, "pages of {} of {:?}", per_page, query);
                    let listed = every_cursor_page(&store, &query, per_page);
                    prop_assert_eq!(
                        &listed,
                        &expected,
                        "cursor pages of {} of {:?}",
                        per_page,
                        query
                    );
                }
            }
        }
    }
    Ok(())
}

/// Every enrollment `query` lists, read `per_page` at a time by page number.
fn every_page(store: &Store, query: &ListQuery, per_page: u32) -> Vec<Enrollment> {
    let mut out = Vec::new();
    for page in 1.. {
        let query = ListQuery {
            pagination: Pagination::Page { page, per_page },
            ..query.clone()
        };
        let got = store.list_enrollments(&Actor::Admin, &query).unwrap();
        let more = got.has_more;
        out.extend(got.items);
        if !more {
            return out;
        }
    }
    unreachable!()
}

/// Every enrollment `query` lists, read `limit` at a time by cursor.
fn every_cursor_page(store: &Store, query: &ListQuery, limit: u32) -> Vec<Enrollment> {
    let mut out = Vec::new();
    let mut starting_after = None;
    loop {
        let query = ListQuery {
            pagination: Pagination::Cursor {
                starting_after,
                limit,
            },
            ..query.clone()
        };
        let got = store.list_enrollments(&Actor::Admin, &query).unwrap();
        out.extend(got.items);
        match got.next_cursor {
            Some(next) => starting_after = Some(next),
            None => return out,
        }
    }
}

/// Users of the bulk test: `b{i}`, with email `b{i}@x.org`.
const BULK_USERS: usize = 40;

/// One row of a bulk enroll: user (an index into the bulk users, `BULK_USERS` for an unknown
/// one; by email when the flag is set), program (an index into `PROGRAMS`, their length for
/// an unknown one), explicit id (`x{k}`, or `pre{k}` for one an earlier enrollment has), and
/// whether it may re-enroll and starts later.
type BulkRow = (usize, bool, usize, Option<(bool, usize)>, bool, bool);

fn bulk_row() -> impl Strategy<Value = BulkRow> {
    (
        prop_oneof![20 => 0..BULK_USERS, 1 => Just(BULK_USERS)],
        any::<bool>(),
        prop_oneof![12 => 0..PROGRAMS.len(), 1 => Just(PROGRAMS.len())],
        prop_oneof![6 => Just(None), 1 => (any::<bool>(), 0..12usize).prop_map(Some)],
        any::<bool>(),
        prop_oneof![5 => Just(false), 1 => Just(true)],
    )
}

/// Replaces every string of `v` that `names` has a name for.
fn rename(v: &mut serde_json::Value, names: &std::collections::HashMap<String, String>) {
    match v {
        serde_json::Value::String(s) => {
            if let Some(name) = names.get(s.as_str()) {
                *s = name.clone();
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| rename(v, names)),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(|v| rename(v, names)),
        _ => {}
    }
}

/// Every enrollment and event of `store`, with the enrollment ids in `names` renamed.
fn bulk_state(store: &Store, names: &std::collections::HashMap<String, String>) -> String {
    let enrollments = every_page(store, &ListQuery::default(), 100);
    let mut events = Vec::new();
    loop {
        let after = events.last().map_or(0, |e: &Event| e.seq);
        let page = store.events_after(&Actor::Admin, after, 1000).unwrap();
        if page.is_empty() {
            break;
        }
        events.extend(page);
    }
    let mut v = serde_json::json!([enrollments, events]);
    rename(&mut v, names);
    v.to_string()
}

/// Enrolls `rows` in one bulk `enroll_many` call on one store and one `enroll` at a time on
/// another: the outcomes and the stores' contents must agree (bulk calls write their new
/// enrollments several at a time).
fn bulk_matches_one_at_a_time(
    pre: Vec<(usize, usize, bool)>,
    rows: Vec<BulkRow>,
    all_or_nothing: bool,
    postgres: bool,
) -> Result<(), TestCaseError> {
    let (bulk, clock) = setup(postgres);
    let (single, _) = setup(postgres);
    for store in [&bulk, &single] {
        for i in 0..BULK_USERS {
            store
                .upsert_user(&User {
                    id: format!("b{i}"),
                    email: Some(format!("b{i}@x.org")),
                    ..User::default()
                })
                .unwrap();
        }
        for (k, &(user, program, completed)) in pre.iter().enumerate() {
            let req = EnrollRequest {
                id: Some(format!("pre{k}")),
                ..EnrollRequest::new(format!("b{user}"), PROGRAMS[program])
            };
            // Completed: only a course without steps completes by progress.
            if store.enroll(&Actor::Admin, &req).is_ok() && completed && program == 0 {
                store
                    .add_progress(&Actor::Admin, &format!("pre{k}"), 100.0)
                    .unwrap();
            }
        }
    }
    let later = clock.now().plus_millis(86_400_000);
    let requests: Vec<EnrollRequest> = rows
        .iter()
        .map(
            |&(user, by_email, program, id, allow_reenroll, starts_later)| {
                let user = match (user == BULK_USERS, by_email) {
                    (true, _) => UserRef::Id("ghost".into()),
                    (false, true) => UserRef::Email(format!("b{user}@x.org")),
                    (false, false) => UserRef::Id(format!("b{user}")),
                };
                EnrollRequest {
                    id: id.map(|(pre, k)| format!("{}{k}", if pre { "pre" } else { "x" })),
                    allow_reenroll,
                    start_at: starts_later.then_some(later),
                    ..EnrollRequest::for_user(user, *PROGRAMS.get(program).unwrap_or(&"nope"))
                }
            },
        )
        .collect();
    let mode = if all_or_nothing {
        BatchMode::AllOrNothing
    } else {
        BatchMode::BestEffort
    };
    let mut names_bulk = std::collections::HashMap::new();
    let mut names_single = std::collections::HashMap::new();
    let before = bulk_state(&bulk, &names_bulk);
    let outcomes = bulk.enroll_many(&Actor::Admin, &requests, mode).unwrap();
    prop_assert_eq!(outcomes.len(), requests.len());
    let results: Vec<Result<Enrollment>> = requests
        .iter()
        .map(|req| single.enroll(&Actor::Admin, req))
        .collect();
    for (i, (o, r)) in outcomes.iter().zip(&results).enumerate() {
        if let EnrollOutcome::Created(a) = o {
            names_bulk.insert(a.id.clone(), format!("r{i}"));
        }
        if let Ok(b) = r {
            names_single.insert(b.id.clone(), format!("r{i}"));
        }
    }
    let refused = results
        .iter()
        .any(|r| matches!(r, Err(e) if !matches!(e, Error::AlreadyEnrolled { .. })));
    for (i, (o, r)) in outcomes.iter().zip(&results).enumerate() {
        let agree = match (o, r) {
            (EnrollOutcome::Created(a), Ok(b)) => {
                let mut a = serde_json::to_value(a).unwrap();
                let mut b = serde_json::to_value(b).unwrap();
                rename(&mut a, &names_bulk);
                rename(&mut b, &names_single);
                a == b
            }
            (EnrollOutcome::NotApplied, Ok(_)) => all_or_nothing && refused,
            // Already enrolled by an earlier row, which the refusal rolled back.
            (EnrollOutcome::NotApplied, Err(Error::AlreadyEnrolled { existing_id, .. })) => {
                all_or_nothing && refused && names_single.contains_key(existing_id)
            }
            (
                EnrollOutcome::AlreadyEnrolled { existing_id: a },
                Err(Error::AlreadyEnrolled { existing_id: b, .. }),
            ) => names_bulk.get(a).unwrap_or(a) == names_single.get(b).unwrap_or(b),
            (EnrollOutcome::Failed(a), Err(b)) => a.code() == b.code(),
            _ => false,
        };
        prop_assert!(agree, "row {}: {:?} against {:?}", i, o, r);
    }
    if all_or_nothing && refused {
        prop_assert_eq!(bulk_state(&bulk, &names_bulk), before);
    } else {
        prop_assert_eq!(
            bulk_state(&bulk, &names_bulk),
            bulk_state(&single, &names_single)
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_operation_sequences_keep_the_invariants(ops in prop::collection::vec((actor(), op()), 1..60)) {
        run(ops, false)?;
    }
}

proptest! {
    // Fewer cases: each opens a new PostgreSQL database.
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn random_operation_sequences_keep_the_invariants_on_postgres(
        ops in prop::collection::vec((actor(), op()), 1..60),
    ) {
        if support::postgres().is_some() {
            run(ops, true)?;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn a_bulk_enroll_ends_where_one_enroll_at_a_time_does(
        pre in prop::collection::vec((0..BULK_USERS, 0..PROGRAMS.len(), any::<bool>()), 0..30),
        rows in prop::collection::vec(bulk_row(), 256..300),
        all_or_nothing in prop_oneof![4 => Just(false), 1 => Just(true)],
    ) {
        bulk_matches_one_at_a_time(pre, rows, all_or_nothing, false)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, ..ProptestConfig::default() })]

    #[test]
    fn a_bulk_enroll_ends_where_one_enroll_at_a_time_does_on_postgres(
        pre in prop::collection::vec((0..BULK_USERS, 0..PROGRAMS.len(), any::<bool>()), 0..30),
        rows in prop::collection::vec(bulk_row(), 256..300),
        all_or_nothing in prop_oneof![4 => Just(false), 1 => Just(true)],
    ) {
        if support::postgres().is_some() {
            bulk_matches_one_at_a_time(pre, rows, all_or_nothing, true)?;
        }
    }
}
