//! Rendering an enrollment in each reference API's exact JSON shape: field names and order,
//! `object` values, nulls, whole-number percentages.
//!
//! Where our state is richer than a shape, the shape wins (e.g. the course shape has no
//! `started_at`). Where a shape promises a value the enrollment does not have yet, it is `null`:
//! a `new` (scheduled) track enrollee has `started_at: null`, and a certification enrollee
//! without an email has `user_email: null`.

use serde_json::{json, Map, Value};

use crate::api::ops::ordered_steps;
use crate::api::Store;
use crate::domain::lifecycle;
use crate::domain::model::{Actor, Enrollment, Kind, Program, StepProgress, User, UserRef};
use crate::domain::time::Timestamp;
use crate::error::{Error, Result};

/// Which reference shape to render.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// The track reference's `track_enrollee` with its `step_progress`.
    Track,
    /// The certification reference's enrollment object.
    Certification,
    /// The course reference's enrollment object.
    Course,
}

impl View {
    /// Parses `track`, `certification` or `course`.
    pub fn parse(name: &str) -> Result<View> {
        match name {
            "track" => Ok(View::Track),
            "certification" => Ok(View::Certification),
            "course" => Ok(View::Course),
            _ => Err(Error::validation(
                "view",
                format!("{name:?}: expected track, certification or course"),
            )),
        }
    }

    /// The view matching a program kind.
    pub fn for_kind(kind: Kind) -> View {
        match kind {
            Kind::Course => View::Course,
            Kind::Certification => View::Certification,
            Kind::Track => View::Track,
        }
    }
}

fn time(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, |t| Value::String(t.to_string()))
}

/// A percentage or score as JSON: whole numbers without a fraction (`80`, not `80.0`).
fn number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        Value::from(x as i64)
    } else {
        Value::from(x)
    }
}

impl Store {
    /// Renders the enrollment in `view`'s JSON shape. Statuses use the enrollment's own program
    /// vocabulary. Learners may render only their own enrollments.
    ///
    /// ```
    /// # use enrollkit::*;
    /// # let store = Store::open_in_memory()?;
    /// # store.upsert_user(&User { id: "u".into(), ..User::default() })?;
    /// # store.create_program(&ProgramSpec { id: "c".into(), kind: Kind::Course, title: "C".into(),
    /// #     description: None, state: ProgramState::Active, self_enrollment: false, steps: vec![],
    /// #     assessment: None, policy: Default::default() })?;
    /// let e = store.enroll(&Actor::Admin, &EnrollRequest::new("u", "c"))?;
    /// let json = store.render(&Actor::Admin, &e.id, View::Course)?;
    /// assert_eq!(json["status"], "active");
    /// assert_eq!(json["completed_at"], serde_json::Value::Null);
    /// # Ok::<(), enrollkit::Error>(())
    /// ```
    pub fn render(&self, actor: &Actor, id: &str, view: View) -> Result<Value> {
        let id = &*crate::domain::validate::enrollment_id("enrollment_id", id)?;
        self.read(|tx| {
            let (key, e) = tx.enrollment(id)?;
            lifecycle::authorize_read(actor, &e.user_id)?;
            let user = tx.user(&UserRef::Id(e.user_id.clone()))?;
            Ok(match view {
                View::Course => course(&e),
                View::Certification => certification(&e, &user),
                View::Track => {
                    let mut lookup = |id: &Option<String>| match id {
                        Some(id) => tx.user(&UserRef::Id(id.clone())).ok(),
                        None => None,
                    };
                    let manager = lookup(&user.manager_id);
                    let mentor = lookup(&e.mentor_id);
                    let program = tx.program(&e.program_id)?;
                    let steps = ordered_steps(&program, tx.step_progress(key)?);
                    track(
                        &e,
                        &user,
                        manager.as_ref(),
                        mentor.as_ref(),
                        &program,
                        &steps,
                    )
                }
            })
        })
    }
}

/// The course reference's enrollment object.
pub fn course(e: &Enrollment) -> Value {
    json!({
        "id": e.id,
        "user_id": e.user_id,
        "course_id": e.program_id,
        "status": e.status_name(),
        "progress_percent": number(e.progress_percent),
        "enrolled_at": e.enrolled_at.to_string(),
        "completed_at": time(e.completed_at),
    })
}

/// The certification reference's enrollment object.
pub fn certification(e: &Enrollment, user: &User) -> Value {
    json!({
        "uuid": crate::domain::ids::uuid_text(&e.id),
        "user_uuid": e.user_id,
        "user_email": user.email,
        "status": e.status_name(),
        "progress_percentage": number(e.progress_percent),
        "enrolled_at": e.enrolled_at.to_string(),
        "started_at": time(e.started_at),
        "completed_at": time(e.completed_at),
        "assessment_best_score": e.best_score.map(number),
        "assessment_passed": e.passed,
    })
}

/// The track reference's `track_enrollee` object. `manager` and `mentor` are the resolved users
/// (their name and email are `null` when unknown); `steps` is one entry per program step.
pub fn track(
    e: &Enrollment,
    user: &User,
    manager: Option<&User>,
    mentor: Option<&User>,
    program: &Program,
    steps: &[StepProgress],
) -> Value {
    let step_progress: Vec<Value> = program
        .steps
        .iter()
        .zip(steps)
        .enumerate()
        .map(|(i, (step, p))| {
            json!({
                "object": "track_step_progress",
                "step_id": step.id,
                "step_type": step.step_type,
                "title": step.title,
                "order": i + 1,
                "status": p.status.as_str(),
                "started_at": time(p.started_at),
                "delivered_at": time(p.delivered_at),
                "completed_at": time(p.completed_at),
                "failed_at": time(p.failed_at),
                "skipped_at": time(p.skipped_at),
                "failure_reason": p.failure_reason,
                "failure_reason_message": p.failure_message,
                "destination_type": p.destination_type,
                "result": p.result.clone().unwrap_or(Value::Null),
            })
        })
        .collect();
    let mut out = Map::new();
    let mut put = |k: &str, v: Value| {
        out.insert(k.to_owned(), v);
    };
    put("object", json!("track_enrollee"));
    put("id", json!(e.id));
    put("user_id", json!(e.user_id));
    put("email", json!(user.email));
    put("display_name", json!(user.display_name));
    put("slack_user_id", json!(user.external_id));
    put("department", json!(user.department));
    put("location", json!(user.location));
    put(
        "manager_name",
        json!(manager.and_then(|m| m.display_name.clone())),
    );
    put(
        "manager_email",
        json!(manager.and_then(|m| m.email.clone())),
    );
    put("manager_id", json!(user.manager_id));
    put("mentor_id", json!(e.mentor_id));
    put(
        "mentor_name",
        json!(mentor.and_then(|m| m.display_name.clone())),
    );
    put("mentor_email", json!(mentor.and_then(|m| m.email.clone())));
    put("mentor_assigned_at", time(e.mentor_assigned_at));
    put("groups", json!(user.groups));
    put("trigger", json!(e.trigger.as_str()));
    put("status", json!(e.status_name()));
    put(
        "failure_reason",
        json!(e.failure_reason.map(|r| r.as_str())),
    );
    put("failure_reason_message", json!(e.failure_message));
    put("started_at", time(e.started_at));
    put("delivered_at", time(e.delivered_at));
    put("completed_at", time(e.completed_at));
    put("failed_at", time(e.failed_at));
    put("next_step_at", time(e.next_step_at));
    put("added_by_user_id", json!(e.added_by_user_id));
    put("added_by_workflow_id", json!(e.added_by_program_id));
    put("timezone", json!(e.timezone));
    put("steps_delivered", json!(e.steps_delivered));
    put("steps_completed", json!(e.steps_completed));
    put("steps_total", json!(e.steps_total));
    put("delivery_progress_percentage", number(e.delivery_percent()));
    put(
        "completion_progress_percentage",
        number(e.completion_percent()),
    );
    put("step_progress", Value::Array(step_progress));
    Value::Object(out)
}
