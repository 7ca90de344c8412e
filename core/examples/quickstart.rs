//! Creates an enrollment database file, runs a realistic month across a course, a certification
//! and an onboarding track, and prints a summary.
//!
//! ```text
//! cargo run --release --example quickstart [-- PATH]     # default: target/quickstart.db
//! ```
//!
//! The file is replaced on every run (it must be an enrollkit database or absent).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use enrollkit::*;

const USERS: usize = 300;

/// A small deterministic generator, so every run tells the same story.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn step(id: &str, step_type: &str, title: &str, learner_completable: bool) -> Step {
    Step {
        id: id.into(),
        step_type: step_type.into(),
        title: title.into(),
        learner_completable,
    }
}

fn main() {
    if let Err(e) = run() {
        eprintln!("quickstart: {e} [{}]", e.code());
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/quickstart.db".into());
    if std::path::Path::new(&path).exists() {
        // Only ever replace an enrollkit database.
        drop(Store::open(&path)?);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{path}{suffix}"));
        }
    }
    if let Some(dir) = std::path::Path::new(&path).parent() {
        std::fs::create_dir_all(dir).ok();
    }
    let clock = Arc::new(ManualClock::new(Timestamp::parse("2026-01-05T09:00:00Z")?));
    let store = OpenOptions::new().clock(clock.clone()).open(&path)?;
    let started = Instant::now();
    let mut rng = Lcg(42);
    let admin = Actor::Admin;
    let system = Actor::System;

    // People: a few managers, then everyone else reporting to them.
    let departments = ["Engineering", "Sales", "Support", "Finance"];
    for i in 0..USERS {
        let dept = departments[i % departments.len()];
        store.upsert_user(&User {
            id: format!("usr_{i:04}"),
            email: Some(format!("person{i}@example.com")),
            display_name: Some(format!("Person {i}")),
            external_id: Some(format!("U{i:06}")),
            department: Some(dept.into()),
            location: Some(["Berlin", "Austin", "Lagos", "Osaka"][i % 4].into()),
            manager_id: (i >= 8).then(|| format!("usr_{:04}", i % 8)),
            groups: vec![dept.into()],
            timezone: Some(
                [
                    "Europe/Berlin",
                    "America/Chicago",
                    "Africa/Lagos",
                    "Asia/Tokyo",
                ][i % 4]
                    .into(),
            ),
        })?;
    }

    let program = |id: &str, kind, title: &str, steps, assessment| ProgramSpec {
        id: id.into(),
        kind,
        title: title.into(),
        description: None,
        state: ProgramState::Active,
        self_enrollment: true,
        steps,
        assessment,
    };
    store.create_program(&program(
        "crs_rust101",
        Kind::Course,
        "Rust 101",
        vec![],
        None,
    ))?;
    store.create_program(&program(
        "cert_security",
        Kind::Certification,
        "Security Practitioner",
        vec![
            step("m1", "module", "Threat modelling", true),
            step("m2", "module", "Secure defaults", true),
            step("m3", "module", "Incident response", true),
        ],
        Some(Assessment {
            passing_score: 70.0,
            max_attempts: Some(3),
        }),
    ))?;
    store.create_program(&program(
        "wf_onboarding",
        Kind::Track,
        "Engineering onboarding",
        vec![
            step("welcome", "message", "Welcome to the team", false),
            step("survey", "survey", "Onboarding survey", true),
            step("laptop", "task", "Set up your laptop", true),
            step("buddy", "task", "Meet your buddy", true),
            step("week2", "message", "Week two check-in", false),
        ],
        None,
    ))?;

    // Everyone gets onboarding (bulk, by the HR system); half take the course; a third the cert.
    let onboarding: Vec<EnrollRequest> = (0..USERS)
        .map(|i| {
            let mut r = EnrollRequest::new(format!("usr_{i:04}"), "wf_onboarding");
            r.trigger = Some(Trigger::UserJoin);
            r
        })
        .collect();
    let outcomes = store.enroll_many(&system, &onboarding, BatchMode::AllOrNothing)?;
    let track_ids: Vec<String> = outcomes
        .iter()
        .filter_map(|o| match o {
            EnrollOutcome::Created(e) => Some(e.id.clone()),
            _ => None,
        })
        .collect();
    for (i, id) in track_ids.iter().enumerate().step_by(4) {
        let mentor = format!("usr_{:04}", (i + 1) % USERS);
        store.assign_mentor(&admin, id, Some(&mentor))?;
    }
    let mut course_ids = Vec::new();
    let mut cert_ids = Vec::new();
    for i in 0..USERS {
        let me = Actor::Learner(format!("usr_{i:04}"));
        if i % 2 == 0 {
            let e = store.enroll(
                &me,
                &EnrollRequest::new(format!("usr_{i:04}"), "crs_rust101"),
            )?;
            course_ids.push((me.clone(), e.id));
        }
        if i % 3 == 0 {
            let mut r = EnrollRequest::new(format!("usr_{i:04}"), "cert_security");
            r.partnership_id = (i % 9 == 0).then(|| "prt_acme".to_owned());
            cert_ids.push((me, store.enroll(&admin, &r)?.id));
        }
    }

    // Four weeks of activity.
    for day in 0..28 {
        clock.set(Timestamp::parse("2026-01-05T09:00:00Z")?.plus_millis(day * 86_400_000));
        for id in &track_ids {
            let e = store.get_enrollment(&system, id)?;
            if !matches!(e.status_name(), "active" | "delivered") || rng.below(4) != 0 {
                continue;
            }
            let steps = store.step_progress(&system, id)?;
            let Some(next) = steps.iter().find(|s| s.status == StepStatus::Pending) else {
                // Everything delivered: the learner finishes a task.
                if let Some(s) = steps.iter().find(|s| {
                    s.status == StepStatus::Delivered
                        && s.step_id != "welcome"
                        && s.step_id != "week2"
                }) {
                    let me = Actor::Learner(e.user_id.clone());
                    store.update_step(
                        &me,
                        id,
                        &s.step_id,
                        &StepChange::Complete { result: None },
                    )?;
                }
                continue;
            };
            let deliver = StepChange::Deliver {
                destination_type: Some("user".into()),
            };
            store.update_step(&system, id, &next.step_id, &deliver)?;
            if next.step_id == "survey" && rng.below(2) == 0 {
                let answer = serde_json::json!({
                    "object": "track_step_survey_result", "status": "responded",
                    "answers": [{"question_id": "q1", "question_type": "scale_1_to_10", "value": 5 + rng.below(6)}]
                });
                let me = Actor::Learner(e.user_id.clone());
                store.update_step(
                    &me,
                    id,
                    "survey",
                    &StepChange::Complete {
                        result: Some(answer),
                    },
                )?;
            }
            if day == 10 && rng.below(20) == 0 {
                store.fail(&system, id, FailureReason::UserRemovedFromWorkflow, None)?;
            }
        }
        for (me, id) in &course_ids {
            let e = store.get_enrollment(me, id)?;
            if e.status_name() != "active" || rng.below(3) != 0 {
                continue;
            }
            if rng.below(40) == 0 {
                store.drop_enrollment(me, id)?;
                continue;
            }
            let progress = (e.progress_percent + 10.0 + rng.below(20) as f64).min(100.0);
            store.set_progress(me, id, progress)?;
        }
        for (me, id) in &cert_ids {
            let e = store.get_enrollment(me, id)?;
            if !matches!(e.status_name(), "enrolled" | "in_progress") || rng.below(3) != 0 {
                continue;
            }
            let pending = store
                .step_progress(me, id)?
                .into_iter()
                .find(|s| s.status == StepStatus::Pending);
            match pending {
                Some(s) => {
                    store.update_step(
                        me,
                        id,
                        &s.step_id,
                        &StepChange::Complete { result: None },
                    )?;
                }
                None if e.passed != Some(true) => {
                    store.submit_attempt(me, id, 40.0 + rng.below(60) as f64)?;
                }
                None => {}
            }
        }
    }

    // Summary.
    println!("enrollkit quickstart: {path}");
    println!("  {USERS} users, 3 programs, simulated 2026-01-05 .. 2026-02-01\n");
    for program in store.list_programs(None, None, None, 10)? {
        let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
        let mut progress = 0.0;
        let mut n = 0;
        let mut cursor = None;
        loop {
            let page = store.list_enrollments(
                &admin,
                &ListQuery {
                    program_id: Some(program.id.clone()),
                    pagination: Pagination::Cursor {
                        starting_after: cursor,
                        limit: MAX_PER_PAGE,
                    },
                    ..ListQuery::default()
                },
            )?;
            for e in &page.items {
                *by_status.entry(e.status_name().to_owned()).or_default() += 1;
                progress += match e.kind {
                    Kind::Track => e.completion_percent(),
                    _ => e.progress_percent,
                };
                n += 1;
            }
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        let statuses: Vec<String> = by_status.iter().map(|(s, c)| format!("{s} {c}")).collect();
        println!(
            "  {:<14} {:<24} {n:>4} enrolled, avg progress {:>5.1} %  [{}]",
            program.kind.as_str(),
            program.title,
            progress / n.max(1) as f64,
            statuses.join(", ")
        );
    }
    let events = {
        let mut total = 0;
        let mut after = 0;
        loop {
            let batch = store.events_after(&admin, after, MAX_LIMIT)?;
            let Some(last) = batch.last() else { break };
            after = last.seq;
            total += batch.len();
        }
        total
    };
    println!("\n  {events} history events recorded");
    let problems = store.check_invariants()?;
    println!(
        "  invariant check: {}",
        if problems.is_empty() {
            "ok".to_owned()
        } else {
            format!("{problems:?}")
        }
    );
    let sample = &track_ids[8];
    println!("\n  one onboarding enrollee, as the track reference renders it:");
    let json = store.render(&admin, sample, View::Track)?;
    let mut brief = json.clone();
    brief["step_progress"] = serde_json::json!(format!(
        "[{} steps]",
        json["step_progress"].as_array().map_or(0, Vec::len)
    ));
    println!(
        "{}",
        serde_json::to_string_pretty(&brief).unwrap_or_default()
    );
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "\n  done in {:.2} s; database file {} KiB",
        started.elapsed().as_secs_f64(),
        size / 1024
    );
    if !problems.is_empty() {
        return Err(Error::Conflict("invariant check failed".into()));
    }
    Ok(())
}
