//! `demo`: four weeks of a realistic organisation in a fresh database — users with managers,
//! a course, a certification with an assessment, two onboarding tracks — with enrollments in
//! every status of every vocabulary, progress, attempts and history. Deterministic.

use std::path::Path;
use std::sync::Arc;

use enrollkit::{
    Actor, Assessment, BatchMode, EnrollOutcome, EnrollRequest, Error, FailureReason, Kind,
    ManualClock, OpenOptions, ProgramReport, ProgramSpec, ProgramState, Step, StepChange,
    StepStatus, Trigger, User,
};
use serde::Serialize;

/// What the demo created.
#[derive(Serialize)]
pub struct Summary {
    pub users: u64,
    pub programs: u64,
    pub enrollments: u64,
    pub events: u64,
    pub reports: Vec<ProgramReport>,
}

/// A small deterministic generator, so every run tells the same story.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

const DAY: i64 = 86_400_000;

fn step(id: &str, step_type: &str, title: &str, learner_completable: bool) -> Step {
    Step {
        id: id.into(),
        step_type: step_type.into(),
        title: title.into(),
        learner_completable,
        schedule: None,
    }
}

fn created(outcomes: Vec<EnrollOutcome>) -> Vec<String> {
    outcomes
        .into_iter()
        .filter_map(|o| match o {
            EnrollOutcome::Created(e) => Some(e.id),
            _ => None,
        })
        .collect()
}

/// Fills the (empty) database at `path`; the simulated four weeks end now.
pub fn run(path: &Path, users: usize) -> Result<Summary, Error> {
    let now = enrollkit::Clock::now(&enrollkit::SystemClock);
    let clock = Arc::new(ManualClock::new(now.plus_millis(-28 * DAY)));
    let store = OpenOptions::new().clock(clock.clone()).open(path)?;
    let (admin, system) = (Actor::Admin, Actor::System);
    let mut rng = Lcg(7);
    let users = users.max(20);
    let departments = ["Engineering", "Sales", "Support", "Finance"];
    for i in 0..users {
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
            hire_date: Some(format!(
                "20{:02}-{:02}-{:02}",
                15 + i % 10,
                1 + i % 12,
                1 + i % 28
            )),
            partnerships: Vec::new(),
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
        policy: Default::default(),
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
    let onboarding_steps = vec![
        step("welcome", "message", "Welcome to the team", false),
        step("survey", "survey", "Onboarding survey", true),
        step("laptop", "task", "Set up your laptop", true),
        step("buddy", "task", "Meet your buddy", true),
        step("week2", "message", "Week two check-in", false),
    ];
    store.create_program(&program(
        "wf_onboarding",
        Kind::Track,
        "Engineering onboarding",
        onboarding_steps,
        None,
    ))?;
    store.create_program(&program(
        "wf_kickoff",
        Kind::Track,
        "Sales kickoff",
        vec![
            step("agenda", "message", "Agenda", false),
            step("quiz", "quiz", "Product quiz", true),
        ],
        None,
    ))?;

    // Everyone gets onboarding from the HR system; half take the course; a third the cert.
    let requests: Vec<EnrollRequest> = (0..users)
        .map(|i| {
            let mut r = EnrollRequest::new(format!("usr_{i:04}"), "wf_onboarding");
            r.trigger = Some(Trigger::UserJoin);
            if i % 25 == 0 {
                // New hires starting next month.
                r.start_at = Some(now.plus_millis(14 * DAY));
                r.trigger = Some(Trigger::Schedule);
            }
            r
        })
        .collect();
    let tracks = created(store.enroll_many(&system, &requests, BatchMode::AllOrNothing)?);
    for (i, id) in tracks.iter().enumerate().step_by(4) {
        store.assign_mentor(&admin, id, Some(&format!("usr_{:04}", (i + 1) % users)))?;
    }
    let kickoff: Vec<EnrollRequest> = (0..users)
        .filter(|i| i % 4 == 1)
        .map(|i| {
            let mut r = EnrollRequest::new(format!("usr_{i:04}"), "wf_kickoff");
            r.batch = true;
            r.trigger = Some(Trigger::AddedByAnotherWorkflow);
            r.added_by_program_id = Some("wf_onboarding".into());
            r
        })
        .collect();
    let kickoff = created(store.enroll_many(&system, &kickoff, BatchMode::AllOrNothing)?);
    let mut courses = Vec::new();
    let mut certs = Vec::new();
    for i in 0..users {
        let me = Actor::Learner(format!("usr_{i:04}"));
        if i % 2 == 0 {
            courses.push((
                me.clone(),
                store
                    .enroll(
                        &me,
                        &EnrollRequest::new(format!("usr_{i:04}"), "crs_rust101"),
                    )?
                    .id,
            ));
        }
        if i % 3 == 0 {
            let mut r = EnrollRequest::new(format!("usr_{i:04}"), "cert_security");
            r.partnership_id = (i % 9 == 0).then(|| "prt_acme".to_owned());
            certs.push((me, store.enroll(&admin, &r)?.id));
        }
    }

    for _day in 0..28 {
        clock.advance_millis(DAY);
        for id in &tracks {
            let e = store.get_enrollment(&system, id)?;
            if !matches!(e.status_name(), "active" | "delivered") || rng.below(4) != 0 {
                continue;
            }
            let steps = store.step_progress(&system, id)?;
            let me = Actor::Learner(e.user_id.clone());
            match steps.iter().find(|s| s.status == StepStatus::Pending) {
                Some(next) => {
                    let deliver = StepChange::Deliver {
                        destination_type: Some("user".into()),
                    };
                    store.update_step(&system, id, &next.step_id, &deliver)?;
                    if next.step_id == "survey" && rng.below(2) == 0 {
                        let answer = serde_json::json!({
                            "object": "track_step_survey_result", "status": "responded",
                            "answers": [{"question_id": "q1", "question_type": "scale_1_to_10", "value": 5 + rng.below(6)}]
                        });
                        store.update_step(
                            &me,
                            id,
                            "survey",
                            &StepChange::Complete {
                                result: Some(answer),
                            },
                        )?;
                    }
                }
                None => {
                    let open = steps.iter().find(|s| {
                        s.status == StepStatus::Delivered
                            && !matches!(s.step_id.as_str(), "welcome" | "week2")
                    });
                    if let Some(s) = open {
                        if rng.below(3) != 0 {
                            store.update_step(
                                &me,
                                id,
                                &s.step_id,
                                &StepChange::Complete { result: None },
                            )?;
                        }
                    }
                }
            }
        }
        for (me, id) in &courses {
            let e = store.get_enrollment(me, id)?;
            if e.status_name() != "active" || rng.below(3) != 0 {
                continue;
            }
            if rng.below(40) == 0 {
                store.drop_enrollment(me, id)?;
            } else {
                store.set_progress(
                    me,
                    id,
                    (e.progress_percent + 5.0 + rng.below(20) as f64).min(100.0),
                )?;
            }
        }
        for (me, id) in &certs {
            let e = store.get_enrollment(me, id)?;
            if !matches!(e.status_name(), "enrolled" | "in_progress") || rng.below(4) != 0 {
                continue;
            }
            match store
                .step_progress(me, id)?
                .into_iter()
                .find(|s| s.status == StepStatus::Pending)
            {
                Some(s) => {
                    store.update_step(
                        me,
                        id,
                        &s.step_id,
                        &StepChange::Complete { result: None },
                    )?;
                }
                None if e.passed != Some(true) => {
                    store.submit_attempt(me, id, 35.0 + rng.below(65) as f64)?;
                }
                None => {}
            }
        }
    }

    // The rest of the track vocabulary: paused, canceled, failed, processing, and batches.
    let active: Vec<&String> = tracks
        .iter()
        .filter(|id| {
            store
                .get_enrollment(&system, id)
                .is_ok_and(|e| e.status_name() == "active")
        })
        .collect();
    for (n, id) in active.iter().enumerate().take(12) {
        match n % 4 {
            0 => drop(store.pause(&admin, id)?),
            1 => drop(store.cancel(&admin, id)?),
            2 => drop(store.fail(&system, id, FailureReason::UserRemovedFromWorkflow, None)?),
            _ => drop(store.transition(&system, id, &enrollkit::Command::BeginProcessing)?),
        }
    }
    for (n, id) in kickoff.iter().enumerate() {
        match n % 3 {
            0 => drop(store.transition(&system, id, &enrollkit::Command::BeginProcessing)?),
            1 => {
                store.update_step(
                    &system,
                    id,
                    "agenda",
                    &StepChange::Deliver {
                        destination_type: Some("channel".into()),
                    },
                )?;
                store.update_step(
                    &system,
                    id,
                    "quiz",
                    &StepChange::Deliver {
                        destination_type: Some("user".into()),
                    },
                )?;
            }
            _ => {}
        }
    }
    store.set_next_step_at(&system, &tracks[1], Some(now.plus_millis(DAY)))?;
    // Latecomers who enrolled in the certification today and have not started.
    for i in (1..users).step_by(3).filter(|i| i % 7 == 0) {
        store.enroll(
            &admin,
            &EnrollRequest::new(format!("usr_{i:04}"), "cert_security"),
        )?;
    }

    let counts = store.stats()?;
    let reports = [
        "crs_rust101",
        "cert_security",
        "wf_onboarding",
        "wf_kickoff",
    ]
    .iter()
    .map(|p| store.report(&admin, p))
    .collect::<Result<Vec<_>, _>>()?;
    Ok(Summary {
        users: counts.users,
        programs: counts.programs,
        enrollments: counts.enrollments,
        events: counts.events,
        reports,
    })
}
