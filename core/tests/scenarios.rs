//! Runs the scenario corpus in `tests/scenarios/*.json` through the Rust API.
//!
//! Each file is `{"name", "steps": [...]}`; a step is `{"op", "actor"?, "args"?, "expect"?,
//! "error"?, "error_details"?, "save"?}`. `expect` must be a subset of the operation's JSON
//! result (objects: listed keys equal; arrays: same length, elementwise subset; numbers compared
//! as numbers). `error` is the expected error code, `error_details` a subset of
//! `Error::details()`. A string `"$name"` anywhere in `args`, `expect` or `error_details` is the
//! value saved by an earlier step's `"save": "name"` (the result's `id`, or for a list result
//! one name per element). After every step that fails, the database must be byte-for-byte what
//! it was before the step. The format is documented in `tests/scenarios/README.md`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use enrollkit::*;
use serde_json::{json, Value};

mod support;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/scenarios")
}

struct Runner {
    store: Store,
    clock: Arc<ManualClock>,
    /// The SQLite file, or `None` on PostgreSQL.
    db_path: Option<PathBuf>,
    vars: HashMap<String, Value>,
}

/// The backend a scenario runs on.
#[derive(Clone, Copy, Debug, PartialEq)]
enum On {
    Sqlite,
    Postgres,
}

fn s<'a>(args: &'a Value, key: &str) -> Option<&'a str> {
    args.get(key).and_then(Value::as_str)
}

fn req_s<'a>(args: &'a Value, key: &str) -> &'a str {
    s(args, key).unwrap_or_else(|| panic!("scenario args need {key:?}: {args}"))
}

fn opt_ts(args: &Value, key: &str) -> Result<Option<Timestamp>> {
    s(args, key).map(Timestamp::parse).transpose()
}

fn num(args: &Value, key: &str) -> f64 {
    args.get(key)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("scenario args need number {key:?}: {args}"))
}

fn uint(args: &Value, key: &str, default: u32) -> u32 {
    args.get(key)
        .and_then(Value::as_u64)
        .map_or(default, |n| n as u32)
}

/// The step change of a `step` or `complete_claim` step: `change` and its options.
fn step_change(args: &Value) -> Result<StepChange> {
    Ok(match req_s(args, "change") {
        "start" => StepChange::Start,
        "deliver" => StepChange::Deliver {
            destination_type: s(args, "destination_type").map(Into::into),
        },
        "complete" => StepChange::Complete {
            result: match (args.get("result"), s(args, "result_json")) {
                (Some(v), _) => Some(v.clone()),
                (None, Some(text)) => Some(parse_result(text)?),
                (None, None) => None,
            },
        },
        "fail" => StepChange::Fail {
            reason: req_s(args, "reason").into(),
            message: s(args, "message").map(Into::into),
        },
        "skip" => StepChange::Skip,
        other => panic!("unknown step change {other}"),
    })
}

fn to_json<T: serde::Serialize>(v: T) -> Value {
    serde_json::to_value(v).expect("results serialize")
}

impl Runner {
    fn new(dir: &Path, on: On) -> Runner {
        let clock = Arc::new(ManualClock::new(
            Timestamp::parse("2026-01-15T10:00:00Z").unwrap(),
        ));
        let (location, db_path) = match on {
            On::Sqlite => {
                let path = dir.join("scenario.db");
                (path.to_string_lossy().into_owned(), Some(path))
            }
            On::Postgres => {
                let base = support::postgres().expect("PostgreSQL runs were asked for");
                (support::fresh_database(&base), None)
            }
        };
        let store = OpenOptions::new()
            .clock(clock.clone())
            .open(&location)
            .unwrap();
        Runner {
            store,
            clock,
            db_path,
            vars: HashMap::new(),
        }
    }

    fn substitute(&self, v: &Value) -> Value {
        match v {
            Value::String(s) if s.starts_with('$') => self
                .vars
                .get(&s[1..])
                .cloned()
                .unwrap_or_else(|| panic!("unknown variable {s}")),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.substitute(x)).collect()),
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| (k.clone(), self.substitute(x)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// Every row of every table, in a stable order (on PostgreSQL: the export, every record's
    /// every field).
    fn fingerprint(&self) -> String {
        let Some(db_path) = &self.db_path else {
            let mut out = Vec::new();
            self.store.export_jsonl(&mut out, None).unwrap();
            return String::from_utf8(out).unwrap();
        };
        let conn = rusqlite::Connection::open(db_path).unwrap();
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let mut out = String::new();
        for t in tables {
            let mut stmt = conn.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
            let n = stmt.column_count();
            let mut rows: Vec<String> = stmt
                .query_map([], |r| {
                    let cells: Vec<String> = (0..n)
                        .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                        .collect();
                    Ok(cells.join("|"))
                })
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            rows.sort();
            out.push_str(&format!("{t}:{}\n", rows.join("\n")));
        }
        out
    }

    fn run_op(&self, op: &str, actor: &Actor, args: &Value) -> Result<Value> {
        let st = &self.store;
        let id = || req_s(args, "id");
        Ok(match op {
            "clock" => {
                if let Some(t) = s(args, "set") {
                    self.clock.set(Timestamp::parse(t)?);
                }
                if let Some(ms) = args.get("advance_ms").and_then(Value::as_i64) {
                    self.clock.advance_millis(ms);
                }
                json!({ "now": st.now() })
            }
            "upsert_user" => to_json(st.upsert_user(&User::from_json(&args.to_string())?)?),
            "upsert_users" => {
                let users = args.get("users").cloned().unwrap_or(Value::Null);
                json!({ "written": st.upsert_users(&User::many_from_json(&users.to_string())?)? })
            }
            "get_user" => to_json(st.get_user(id())?),
            "find_user" => {
                let by = match (s(args, "email"), s(args, "external_id")) {
                    (Some(e), _) => UserRef::Email(e.into()),
                    (None, Some(x)) => UserRef::ExternalId(x.into()),
                    (None, None) => UserRef::Id(id().into()),
                };
                to_json(st.find_user(&by)?)
            }
            "list_users" => to_json(st.list_users(s(args, "after"), uint(args, "limit", 100))?),
            "create_program" => {
                to_json(st.create_program(&ProgramSpec::from_json(&args.to_string())?)?)
            }
            "update_program" => {
                to_json(st.update_program(&ProgramSpec::from_json(&args.to_string())?)?)
            }
            "get_program" => to_json(st.get_program(id())?),
            "list_programs" => to_json(st.list_programs(
                s(args, "kind").map(Kind::parse).transpose()?,
                s(args, "state").map(ProgramState::parse).transpose()?,
                s(args, "after"),
                uint(args, "limit", 100),
            )?),
            "enroll" => to_json(st.enroll(actor, &EnrollRequest::from_json(&args.to_string())?)?),
            "enroll_many" => {
                let rows = EnrollRequest::many_from_json(&args["rows"].to_string())?;
                let mode = BatchMode::parse(s(args, "mode").unwrap_or("all_or_nothing"))?;
                to_json(st.enroll_many(actor, &rows, mode)?)
            }
            "get" => to_json(st.get_enrollment(actor, id())?),
            "set_progress" => to_json(st.set_progress(actor, id(), num(args, "percent"))?),
            "add_progress" => to_json(st.add_progress(actor, id(), num(args, "delta"))?),
            "start" => to_json(st.start(actor, id())?),
            "drop" => to_json(st.drop_enrollment(actor, id())?),
            "reactivate" => to_json(st.reactivate(actor, id())?),
            "pause" => to_json(st.pause(actor, id())?),
            "resume" => to_json(st.resume(actor, id())?),
            "cancel" => to_json(st.cancel(actor, id())?),
            "begin_processing" => to_json(st.transition(actor, id(), &Command::BeginProcessing)?),
            "end_processing" => to_json(st.transition(actor, id(), &Command::EndProcessing)?),
            "fail" => to_json(st.fail(
                actor,
                id(),
                FailureReason::parse(req_s(args, "reason"))?,
                s(args, "message"),
            )?),
            "step" => {
                let change = step_change(args)?;
                to_json(st.update_step(actor, id(), req_s(args, "step_id"), &change)?)
            }
            "attempt" => {
                let (e, a) = st.submit_attempt(actor, id(), num(args, "score"))?;
                json!({ "enrollment": e, "attempt": a })
            }
            "assign_mentor" => to_json(st.assign_mentor(actor, id(), s(args, "mentor_id"))?),
            "set_next_step_at" => to_json(st.set_next_step_at(actor, id(), opt_ts(args, "at")?)?),
            "start_due" => to_json(st.start_due(actor, uint(args, "limit", 100))?),
            "expire_due" => to_json(st.expire_due(actor, uint(args, "limit", 100))?),
            "waitlist" => {
                to_json(st.waitlist(actor, req_s(args, "program_id"), uint(args, "limit", 100))?)
            }
            "waitlist_position" => to_json(st.waitlist_position(actor, id())?),
            "erase_user" => to_json(st.erase_user(actor, req_s(args, "user_id"))?),
            "claim_due" => {
                let lease = args
                    .get("lease_ms")
                    .and_then(Value::as_u64)
                    .unwrap_or(60_000);
                let claims = st.claim_due(
                    req_s(args, "worker"),
                    args.get("program_id").and_then(Value::as_str),
                    uint(args, "limit", 100),
                    std::time::Duration::from_millis(lease),
                )?;
                to_json(claims)
            }
            "complete_claim" => {
                to_json(st.complete_claim(req_s(args, "worker"), id(), &step_change(args)?)?)
            }
            "release_claim" => to_json(st.release_claim(req_s(args, "worker"), id())?),
            "renew_claim" => {
                let lease = args
                    .get("lease_ms")
                    .and_then(Value::as_u64)
                    .unwrap_or(60_000);
                to_json(st.renew_claim(
                    req_s(args, "worker"),
                    id(),
                    std::time::Duration::from_millis(lease),
                )?)
            }
            "due" => to_json(st.due(
                actor,
                args.get("program_id").and_then(Value::as_str),
                opt_ts(args, "until")?,
                uint(args, "limit", 100),
            )?),
            "enroll_anniversaries" => to_json(st.enroll_anniversaries(
                actor,
                req_s(args, "program_id"),
                req_s(args, "on_date"),
            )?),
            "delete" => {
                st.delete_enrollment(actor, id())?;
                Value::Null
            }
            "step_progress" => to_json(st.step_progress(actor, id())?),
            "attempts" => to_json(st.attempts(actor, id())?),
            "history" => to_json(st.history(actor, id())?),
            "status_at" => {
                to_json(st.status_at(actor, id(), Timestamp::parse(req_s(args, "at"))?)?)
            }
            "events_after" => to_json(st.events_after(
                actor,
                args["after"].as_i64().unwrap_or(0),
                uint(args, "limit", 100),
            )?),
            "lineage" => {
                to_json(st.lineage(actor, req_s(args, "user_id"), req_s(args, "program_id"))?)
            }
            "list" => {
                let query = ListQuery::from_json(&args.to_string())?;
                let page = st.list_enrollments(actor, &query)?;
                json!({ "items": page.items, "has_more": page.has_more, "next_cursor": page.next_cursor })
            }
            "render" => st.render(actor, id(), View::parse(req_s(args, "view"))?)?,
            "report" => to_json(st.report(actor, req_s(args, "program_id"))?),
            "check" => to_json(st.check_invariants()?),
            other => panic!("unknown scenario op {other:?}"),
        })
    }

    fn save(&mut self, names: &Value, result: &Value) {
        let pick = |v: &Value| -> Value {
            for key in ["id", "existing_id"] {
                if let Some(x) = v.get(key) {
                    return x.clone();
                }
            }
            if let Some(e) = v.get("enrollment") {
                return e["id"].clone();
            }
            v.clone()
        };
        match names {
            Value::String(n) => {
                self.vars.insert(n.clone(), pick(result));
            }
            Value::Array(ns) => {
                let items = result.as_array().expect("save list needs a list result");
                for (n, item) in ns.iter().zip(items) {
                    self.vars.insert(n.as_str().unwrap().to_owned(), pick(item));
                }
            }
            other => panic!("bad save {other}"),
        }
    }
}

/// Whether `actual` contains `expected` (see the module docs).
fn subset(expected: &Value, actual: &Value, path: &str) -> std::result::Result<(), String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, v) in e {
                let Some(av) = a.get(k) else {
                    return Err(format!("{path}.{k}: missing in {actual}"));
                };
                subset(v, av, &format!("{path}.{k}"))?;
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                return Err(format!(
                    "{path}: expected {} elements, got {}: {actual}",
                    e.len(),
                    a.len()
                ));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                subset(ev, av, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        (Value::Number(e), Value::Number(a)) if e.as_f64() == a.as_f64() => Ok(()),
        (e, a) if e == a => Ok(()),
        (e, a) => Err(format!("{path}: expected {e}, got {a}")),
    }
}

/// Where each surface's runner leaves the transcript of a scenario (every step's JSON result
/// or error details), so the C and Python runners can prove they got identical results.
fn transcript_path(scenario: &Path, on: On) -> PathBuf {
    let runner = match on {
        On::Sqlite => "rust",
        On::Postgres => "rust-postgres",
    };
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("scenario-transcripts")
        .join(runner)
        .join(scenario.file_name().unwrap())
}

/// Runs one scenario file; returns its step count and its transcript (which it also writes to
/// [`transcript_path`]).
fn run_file(path: &Path, on: On) -> std::result::Result<(usize, String), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let scenario: Value = serde_json::from_str(&text).map_err(|e| format!("bad JSON: {e}"))?;
    let dir = tempfile::tempdir().unwrap();
    let mut runner = Runner::new(dir.path(), on);
    let steps = scenario["steps"].as_array().ok_or("no steps")?;
    let mut transcript = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let op = step["op"].as_str().ok_or(format!("step {i}: no op"))?;
        let where_ = format!("step {} ({op})", i + 1);
        let actor = Actor::parse(step["actor"].as_str().unwrap_or("admin")).unwrap();
        let args = runner.substitute(step.get("args").unwrap_or(&json!({})));
        let before = step.get("error").map(|_| runner.fingerprint());
        let outcome = runner.run_op(op, &actor, &args);
        transcript.push(match &outcome {
            Ok(result) => json!({ "op": op, "result": result }),
            Err(e) => json!({ "op": op, "error": e.details() }),
        });
        match (outcome, step.get("error")) {
            (Ok(result), None) => {
                if let Some(expect) = step.get("expect") {
                    subset(&runner.substitute(expect), &result, "result")
                        .map_err(|e| format!("{where_}: {e}"))?;
                }
                if let Some(names) = step.get("save") {
                    runner.save(names, &result);
                }
            }
            (Ok(result), Some(code)) => {
                return Err(format!("{where_}: expected error {code}, got {result}"))
            }
            (Err(err), None) => return Err(format!("{where_}: unexpected error {err:?}")),
            (Err(err), Some(code)) => {
                if err.code().as_str() != code {
                    return Err(format!("{where_}: expected error {code}, got {err:?}"));
                }
                if let Some(details) = step.get("error_details") {
                    subset(&runner.substitute(details), &err.details(), "error")
                        .map_err(|e| format!("{where_}: {e}"))?;
                }
                if before.as_deref() != Some(runner.fingerprint().as_str()) {
                    return Err(format!(
                        "{where_}: the failed operation changed the database"
                    ));
                }
            }
        }
    }
    let violations = runner.store.check_invariants().unwrap();
    if !violations.is_empty() {
        return Err(format!("invariants broken at the end: {violations:?}"));
    }
    let out = transcript_path(path, on);
    let transcript = serde_json::to_string_pretty(&transcript).unwrap();
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    std::fs::write(&out, &transcript).unwrap();
    Ok((steps.len(), transcript))
}

/// `transcript` with generated enrollment ids and erasure tombstones (`erased_` and the same 26
/// characters) numbered in order of appearance (`enr#0`, ...), and ids in UUID form in their
/// `enr_` form first: two runs of a scenario generate different ids and nothing else differs
/// (as `tests/scenario_driver.py` compares).
fn normalize(transcript: &str) -> String {
    const CROCKFORD: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let is_uuid = |w: &[u8]| {
        w.len() == 36
            && w.iter().enumerate().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => *c == b'-',
                _ => c.is_ascii_hexdigit(),
            })
    };
    let mut text = String::with_capacity(transcript.len());
    let mut rest = transcript;
    while !rest.is_empty() {
        if rest.len() >= 36 && rest.is_char_boundary(36) && is_uuid(&rest.as_bytes()[..36]) {
            text.push_str(&validate::enrollment_id("id", &rest[..36]).unwrap());
            rest = &rest[36..];
            continue;
        }
        let c = rest.chars().next().unwrap();
        text.push(c);
        rest = &rest[c.len_utf8()..];
    }
    // A tombstone is numbered as the enrollment id with its 26 characters would be.
    let mut tombstones = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find("erased_") {
        tombstones.push_str(&rest[..at]);
        let id = rest
            .get(at + 7..at + 33)
            .filter(|id| id.bytes().all(|c| CROCKFORD.contains(&c)));
        match id {
            Some(id) => {
                tombstones.push_str("enr_");
                tombstones.push_str(id);
                rest = &rest[at + 33..];
            }
            None => {
                tombstones.push_str("erased_");
                rest = &rest[at + 7..];
            }
        }
    }
    tombstones.push_str(rest);
    let text = tombstones;
    let mut seen: Vec<String> = Vec::new();
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find("enr_") {
        out.push_str(&rest[..at]);
        let id = rest
            .get(at..at + 30)
            .filter(|id| id.as_bytes()[4..].iter().all(|c| CROCKFORD.contains(c)));
        match id {
            Some(id) => {
                let n = match seen.iter().position(|s| s == id) {
                    Some(n) => n,
                    None => {
                        seen.push(id.to_owned());
                        seen.len() - 1
                    }
                };
                out.push_str(&format!("enr#{n}"));
                rest = &rest[at + 30..];
            }
            None => {
                out.push_str("enr_");
                rest = &rest[at + 4..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn corpus_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("tests/scenarios exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "the corpus has scenario files");
    files
}

/// The corpus on PostgreSQL gives the transcripts it gives on SQLite, step for step.
#[test]
fn scenario_corpus_on_postgres() {
    if support::postgres().is_none() {
        return;
    }
    let mut failures = Vec::new();
    for f in &corpus_files() {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let outcomes = [On::Sqlite, On::Postgres].map(|on| run_file(f, on));
        if let Err(e) = &outcomes[1] {
            failures.push(format!("{name} on PostgreSQL: {e}"));
            continue;
        }
        if let [Ok((_, sqlite)), Ok((_, postgres))] = &outcomes {
            if normalize(sqlite) != normalize(postgres) {
                failures.push(format!(
                    "{name}: the transcripts of SQLite and PostgreSQL differ"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn scenario_corpus() {
    let files = corpus_files();
    let mut failures = Vec::new();
    let mut total = 0;
    for f in &files {
        match run_file(f, On::Sqlite) {
            Ok((n, _)) => total += n,
            Err(e) => failures.push(format!("{}: {e}", f.file_name().unwrap().to_string_lossy())),
        }
    }
    assert!(
        failures.is_empty(),
        "scenario failures:\n{}",
        failures.join("\n")
    );
    println!("{} scenario files, {total} steps passed", files.len());
}

#[test]
fn subset_matching_is_strict_where_it_must_be() {
    assert!(subset(&json!({"a": 1}), &json!({"a": 1.0, "b": 2}), "r").is_ok());
    assert!(subset(&json!({"a": 1}), &json!({"a": 2}), "r").is_err());
    assert!(subset(&json!({"a": 1}), &json!({}), "r").is_err());
    assert!(subset(
        &json!([{"id": "x"}]),
        &json!([{"id": "x"}, {"id": "y"}]),
        "r"
    )
    .is_err());
    assert!(subset(&json!(null), &json!("x"), "r").is_err());
}
