//! The fuzz targets' bodies, shared by cargo-fuzz (`fuzz/fuzz_targets/*.rs`, nightly, the
//! long run) and by `core/tests/fuzz_corpus.rs`, which replays the saved corpus
//! (`fuzz/corpus/<target>/`) on stable in the test command. Every target must never panic
//! and must leave a database that passes enrollkit's invariant check.

use std::io::Cursor;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use enrollkit::*;

/// A fuzz target's body.
pub type Target = fn(&[u8]);

/// The targets by name (the corpus directory names).
pub const TARGETS: &[(&str, Target)] = &[
    ("step_result", step_result),
    ("import_line", import_line),
    ("program_definition", program_definition),
    ("requests", requests),
    ("stateful", stateful),
    ("roster", roster),
];

fn text(data: &[u8]) -> &str {
    std::str::from_utf8(data).unwrap_or("")
}

fn course(id: &str, steps: Vec<Step>, kind: Kind) -> ProgramSpec {
    ProgramSpec {
        kind,
        steps,
        ..ProgramSpec::course(id, id)
    }
}

/// A database file of its own for one input, removed when dropped. Inputs start from copies of
/// templates built once per process: building a store runs every migration, which took most
/// of an input's time when each input built its own.
struct Scratch {
    store: Option<Store>,
    path: PathBuf,
}

impl std::ops::Deref for Scratch {
    type Target = Store;
    fn deref(&self) -> &Store {
        self.store.as_ref().expect("open until dropped")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        drop(self.store.take());
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

/// A fresh file path (in memory-backed /dev/shm where there is one).
fn scratch_path() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    dir.join(format!("enrollkit-fuzz-{}-{n}.db", std::process::id()))
}

/// A database built by `build`, as the bytes of its file (the file itself is removed).
fn build_template<T>(build: impl FnOnce(&Store) -> T) -> (Vec<u8>, T) {
    let path = scratch_path();
    let store = Store::open(&path).unwrap();
    let out = build(&store);
    // Closing checkpoints the WAL into the file, so the file alone is the database.
    drop(store);
    let bytes = std::fs::read(&path).unwrap();
    drop(Scratch { store: None, path });
    (bytes, out)
}

/// A store on a copy of `template`.
fn copy_of(template: &[u8]) -> Scratch {
    let path = scratch_path();
    std::fs::write(&path, template).unwrap();
    Scratch {
        store: Some(Store::open(&path).unwrap()),
        path,
    }
}

/// An empty store.
fn empty() -> Scratch {
    static EMPTY: OnceLock<Vec<u8>> = OnceLock::new();
    copy_of(EMPTY.get_or_init(|| build_template(|_| ()).0))
}

/// A store with two users, a course and a track with one learner step, and an enrollment in
/// each; returns (store, course enrollment id, track enrollment id).
fn fixture() -> (Scratch, String, String) {
    static FIXTURE: OnceLock<(Vec<u8>, (String, String))> = OnceLock::new();
    let (bytes, (course, track)) = FIXTURE.get_or_init(|| build_template(fill_fixture));
    (copy_of(bytes), course.clone(), track.clone())
}

fn fill_fixture(store: &Store) -> (String, String) {
    for u in ["u1", "u2"] {
        store
            .upsert_user(&User {
                id: u.into(),
                ..User::default()
            })
            .unwrap();
    }
    store
        .create_program(&course("crs", vec![], Kind::Course))
        .unwrap();
    let step = Step {
        id: "s1".into(),
        step_type: "survey".into(),
        title: "Survey".into(),
        learner_completable: true,
        schedule: None,
    };
    store
        .create_program(&course("trk", vec![step], Kind::Track))
        .unwrap();
    let enroll = |program: &str| {
        store
            .enroll(&Actor::Admin, &EnrollRequest::new("u1", program))
            .unwrap()
            .id
    };
    (enroll("crs"), enroll("trk"))
}

fn assert_sound(store: &Store) {
    let problems = store.check_invariants().unwrap();
    assert!(problems.is_empty(), "{problems:?}");
}

/// A JSON step result (as the C ABI and Python pass it) completing a track step.
pub fn step_result(data: &[u8]) {
    let Ok(result) = parse_result(text(data)) else {
        return;
    };
    let (store, _, track) = fixture();
    let change = StepChange::Complete {
        result: Some(result.clone()),
    };
    let learner = Actor::Learner("u1".into());
    if store.update_step(&learner, &track, "s1", &change).is_ok() {
        let steps = store.step_progress(&Actor::Admin, &track).unwrap();
        assert_eq!(steps[0].result.as_ref(), Some(&result), "stored exactly");
    }
    assert_sound(&store);
}

/// Export lines (JSON Lines) imported into a database that already has records, best effort
/// and all-or-nothing.
pub fn import_line(data: &[u8]) {
    let header = format!(
        "{{\"type\":\"header\",\"format\":\"{EXPORT_FORMAT}\",\"version\":{EXPORT_VERSION},\
         \"schema_version\":{SCHEMA_VERSION}}}\n"
    );
    let input = [header.as_bytes(), data].concat();
    for mode in [BatchMode::AllOrNothing, BatchMode::BestEffort] {
        let (store, _, _) = fixture();
        let before = store.stats().unwrap();
        match store.import_jsonl(&mut Cursor::new(&input), mode, None) {
            Ok(report) if !report.committed => assert_eq!(store.stats().unwrap(), before),
            Ok(_) => {}
            Err(e) => {
                assert!(
                    matches!(e, Error::Storage(_) | Error::Validation { .. }),
                    "{e}"
                );
                assert_eq!(store.stats().unwrap(), before, "a failed import wrote");
            }
        }
        assert_sound(&store);
    }
}

/// A CSV roster (`Store::enroll_csv`), all or nothing and best effort, by an admin and by a
/// learner: refused rows are reported in line order, a failed or refused roster writes
/// nothing, a committed one writes exactly the enrollments it reports.
pub fn roster(data: &[u8]) {
    for (mode, actor) in [
        (BatchMode::AllOrNothing, Actor::Admin),
        (BatchMode::BestEffort, Actor::Admin),
        (BatchMode::BestEffort, Actor::Learner("u1".into())),
    ] {
        let (store, _, _) = fixture();
        let before = store.stats().unwrap();
        match store.enroll_csv(&actor, &mut Cursor::new(data), mode, None) {
            Ok(report) => {
                let lines: Vec<u64> = report.errors.iter().map(|e| e.line).collect();
                assert!(lines.windows(2).all(|w| w[0] <= w[1]), "{lines:?}");
                assert!(lines.iter().all(|&l| l >= 2), "{lines:?}");
                let after = store.stats().unwrap();
                if report.committed {
                    let created = report.imported.enrollments;
                    assert_eq!(after.enrollments, before.enrollments + created);
                    assert_eq!(after.events, before.events + created);
                } else {
                    assert_eq!(report.imported, RecordCounts::default());
                    assert_eq!(after, before);
                }
            }
            Err(e) => {
                assert!(
                    matches!(e, Error::Storage(_) | Error::Validation { .. }),
                    "{e}"
                );
                assert_eq!(store.stats().unwrap(), before, "a failed roster wrote");
            }
        }
        assert_sound(&store);
    }
}

/// A program definition (JSON), created and read back.
pub fn program_definition(data: &[u8]) {
    let Ok(spec) = ProgramSpec::from_json(text(data)) else {
        return;
    };
    let store = empty();
    if let Ok(created) = store.create_program(&spec) {
        assert_eq!(created.spec, spec);
        assert_eq!(store.get_program(&spec.id).unwrap().spec, spec);
    }
    assert_sound(&store);
}

/// The other JSON documents the surfaces accept: enroll requests (one and many), users (one
/// and many), list queries, timestamps and actors; parsed, then used.
pub fn requests(data: &[u8]) {
    let t = text(data);
    let _ = Timestamp::parse(t);
    let _ = Actor::parse(t);
    let (store, _, _) = fixture();
    if let Ok(q) = ListQuery::from_json(t) {
        let _ = store.list_enrollments(&Actor::Admin, &q);
    }
    if let Ok(u) = User::from_json(t) {
        let _ = store.upsert_user(&u);
    }
    if let Ok(users) = User::many_from_json(t) {
        let _ = store.upsert_users(&users);
    }
    if let Ok(r) = EnrollRequest::from_json(t) {
        let _ = store.enroll(&Actor::Admin, &r);
    }
    if let Ok(rs) = EnrollRequest::many_from_json(t) {
        let _ = store.enroll_many(&Actor::Admin, &rs, BatchMode::BestEffort);
    }
    assert_sound(&store);
}

/// Random operation sequences against a reference model of the course rules: each byte pair
/// is one operation on one of two users and two courses.
pub fn stateful(data: &[u8]) {
    #[derive(Clone, Copy, PartialEq, Debug)]
    enum S {
        Active,
        Dropped,
        Completed,
    }
    let store = empty();
    let users = ["u0", "u1"];
    for u in users {
        store
            .upsert_user(&User {
                id: u.into(),
                ..User::default()
            })
            .unwrap();
    }
    for p in ["c0", "c1"] {
        store
            .create_program(&course(p, vec![], Kind::Course))
            .unwrap();
    }
    // (id, user, program, status, progress)
    let mut model: Vec<(String, usize, usize, S, f64)> = Vec::new();
    for op in data.chunks(2) {
        let (a, b) = (op[0], op.get(1).copied().unwrap_or(0));
        let (user, program) = ((b & 1) as usize, ((b >> 1) & 1) as usize);
        let actor = if a & 0x80 == 0 {
            Actor::Admin
        } else {
            Actor::Learner(users[((b >> 2) & 1) as usize].into())
        };
        let allowed = match &actor {
            Actor::Learner(u) => u == users[user],
            _ => true,
        };
        let pick = if model.is_empty() {
            None
        } else {
            Some((b as usize >> 3) % model.len())
        };
        match (a & 0x7f) % 4 {
            0 => {
                let again = a & 0x40 != 0;
                let req = EnrollRequest {
                    allow_reenroll: again,
                    ..EnrollRequest::new(users[user], format!("c{program}"))
                };
                let mine = model.iter().filter(|m| m.1 == user && m.2 == program);
                let open = mine.clone().any(|m| m.3 != S::Completed);
                let any = mine.count() > 0;
                match store.enroll(&actor, &req) {
                    Ok(e) => {
                        assert!(allowed && !open && (again || !any), "enrolled wrongly");
                        model.push((e.id, user, program, S::Active, 0.0));
                    }
                    Err(Error::PermissionDenied(_)) => assert!(!allowed),
                    Err(Error::AlreadyEnrolled { .. }) => {
                        assert!(allowed && (open || (any && !again)))
                    }
                    Err(e) => panic!("enroll: {e}"),
                }
            }
            1 => {
                let Some(i) = pick else { continue };
                let delta = f64::from(a & 0x3f) - 20.0;
                let m = &mut model[i];
                let owner_ok = match &actor {
                    Actor::Learner(u) => u == users[m.1],
                    _ => true,
                };
                match store.add_progress(&actor, &m.0, delta) {
                    Ok(e) => {
                        assert!(owner_ok && m.3 == S::Active);
                        m.4 = (m.4 + delta).clamp(0.0, 100.0);
                        if m.4 >= 100.0 {
                            m.3 = S::Completed;
                        }
                        assert_eq!(e.progress_percent, m.4);
                    }
                    Err(Error::PermissionDenied(_)) => assert!(!owner_ok),
                    Err(Error::InvalidTransition { .. }) => assert!(owner_ok && m.3 != S::Active),
                    Err(e) => panic!("add_progress: {e}"),
                }
            }
            2 => {
                let Some(i) = pick else { continue };
                let m = &mut model[i];
                let drop = a & 0x40 != 0;
                let result = if drop {
                    store.drop_enrollment(&Actor::Admin, &m.0)
                } else {
                    store.reactivate(&Actor::Admin, &m.0)
                };
                let (from, to) = if drop {
                    (S::Active, S::Dropped)
                } else {
                    (S::Dropped, S::Active)
                };
                match result {
                    Ok(_) => {
                        assert_eq!(m.3, from);
                        m.3 = to;
                    }
                    Err(Error::InvalidTransition { .. }) => assert_ne!(m.3, from),
                    Err(e) => panic!("transition: {e}"),
                }
            }
            _ => {
                let Actor::Learner(me) = &actor else { continue };
                let page = store
                    .list_enrollments(&actor, &ListQuery::default())
                    .unwrap();
                let expected = model.iter().filter(|m| users[m.1] == me).count();
                assert_eq!(page.items.len(), expected.min(DEFAULT_PER_PAGE as usize));
                assert!(page.items.iter().all(|e| &e.user_id == me), "saw another's");
            }
        }
    }
    for m in &model {
        let e = store.get_enrollment(&Actor::Admin, &m.0).unwrap();
        assert_eq!(e.progress_percent, m.4);
    }
    assert_sound(&store);
}
