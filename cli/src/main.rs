//! `enrollkit`: the admin shell over an enrollment database file.
//!
//! Every command works through the `enrollkit` core crate; this binary parses arguments,
//! prints tables or JSON, and maps errors to exit codes:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | the command ran and found problems (`check` violations, refused `import` lines) |
//! | 2 | usage error (bad arguments, unreadable input file) |
//! | 3 | refused by the rules or bad input (`not_found`, `already_enrolled`, `invalid_transition`, `permission_denied`, `validation`, `conflict`, `program_not_active`, `attempt_limit_reached`) |
//! | 4 | storage failure (`busy`, `storage`, `corrupt`, `schema_too_new`) |

mod demo;
#[macro_use]
mod output;
mod report;

use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use enrollkit::{
    Actor, BatchMode, Command, EnrollRequest, Error, ErrorCode, FailureReason, Kind, ListQuery,
    Order, Pagination, ProgramSpec, ProgramState, StepChange, Store, Timestamp, Trigger, User,
    UserRef, View,
};
use serde_json::{json, Value};

use output::Out;

#[derive(Parser)]
#[command(
    name = "enrollkit",
    version,
    about = "The admin shell over an enrollkit database file"
)]
struct Cli {
    /// The database file (created when missing, except for `check`, `info`, `export`, `backup`).
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        default_value = "enrollkit.db"
    )]
    db: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
    /// Open the database for reading only (a file this process may not write): commands that
    /// read work, commands that write fail with a storage error (exit code 4).
    #[arg(long, global = true)]
    read_only: bool,
    /// Who acts: admin, system or learner:<user id>.
    #[arg(long, global = true, default_value = "admin")]
    actor: String,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create or migrate the database.
    Init,
    /// Schema version, record counts and file size.
    Info,
    /// Fill the database with a realistic sample and print a short report.
    Demo {
        /// Number of users.
        #[arg(long, default_value_t = 400)]
        users: usize,
        /// Replace a database that already has data.
        #[arg(long)]
        force: bool,
    },
    /// Users: add, show, list.
    #[command(subcommand)]
    User(UserCmd),
    /// Programs: add or update from a JSON or YAML file, show, list.
    #[command(subcommand)]
    Program(ProgramCmd),
    /// Enroll a user in a program.
    Enroll(EnrollArgs),
    /// Set the progress (0-100) of a course or certification without steps.
    Progress { id: String, percent: f64 },
    /// Change one step of an enrollment.
    Step(StepArgs),
    /// Record an assessment attempt (score 0-100).
    Attempt { id: String, score: f64 },
    /// Drop a course enrollment.
    Drop { id: String },
    /// Reactivate a dropped course enrollment.
    Reactivate { id: String },
    /// Pause a track enrollment.
    Pause { id: String },
    /// Resume a paused track enrollment.
    Resume { id: String },
    /// Cancel a track enrollment.
    Cancel { id: String },
    /// Start a new (scheduled) enrollment now.
    Start { id: String },
    /// Fail a track or certification enrollment with a reason.
    Fail {
        id: String,
        /// user_not_found, user_already_in_workflow, user_removed_from_workflow,
        /// workflow_not_active, unknown_error, attempts_exhausted.
        reason: String,
        #[arg(long)]
        message: Option<String>,
    },
    /// Delete an enrollment (admin only); its history stays.
    Delete { id: String },
    /// List enrollments with filters and pagination.
    List(ListArgs),
    /// Show an enrollment, optionally in a reference API's JSON shape.
    Show {
        id: String,
        /// track, certification or course.
        #[arg(long = "as", value_name = "VIEW")]
        view: Option<String>,
    },
    /// An enrollment's history.
    History { id: String },
    /// The change feed: events after a sequence number.
    Events {
        #[arg(long, default_value_t = 0)]
        after: i64,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Keep waiting for new events (poll every second).
        #[arg(long)]
        follow: bool,
    },
    /// Totals by status, average completion, average time to complete, step funnel.
    Report { program: String },
    /// Import an export (JSON Lines), or enroll a CSV roster, in one transaction. An import
    /// into an empty database file holds the file alone while it runs (other processes wait).
    Import {
        file: PathBuf,
        /// Skip refused lines instead of rolling everything back.
        #[arg(long)]
        best_effort: bool,
        /// FILE is a CSV roster of enrollments, enrolled by --actor: a header naming the
        /// columns (one of user_id, email, external_id; program_id; optionally id, trigger,
        /// added_by_user_id, added_by_program_id, partnership_id, timezone, start_at,
        /// allow_reenroll, batch), then one row per enrollment; empty cells are absent fields.
        #[arg(long)]
        csv: bool,
    },
    /// Export the whole database as JSON Lines, or enrollments as CSV.
    Export {
        file: PathBuf,
        /// Write enrollments as CSV instead.
        #[arg(long)]
        csv: bool,
        /// With --csv: only this program's enrollments.
        #[arg(long)]
        program: Option<String>,
    },
    /// Consistent online copy to a new file (SQLite backup API).
    Backup { dest: PathBuf },
    /// Integrity check plus enrollkit's invariants; exit 1 on any violation.
    Check,
}

#[derive(Subcommand)]
enum UserCmd {
    /// Create or replace a user.
    Add(UserArgs),
    /// Show a user by id, --email or --external-id.
    Show {
        id: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        external_id: Option<String>,
    },
    /// List users by id.
    List {
        #[arg(long)]
        after: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

#[derive(Args)]
struct UserArgs {
    id: String,
    #[arg(long)]
    email: Option<String>,
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    external_id: Option<String>,
    #[arg(long)]
    department: Option<String>,
    #[arg(long)]
    location: Option<String>,
    #[arg(long)]
    manager: Option<String>,
    /// A group (repeat for several).
    #[arg(long = "group")]
    groups: Vec<String>,
    #[arg(long)]
    timezone: Option<String>,
}

#[derive(Subcommand)]
enum ProgramCmd {
    /// Create a program from a JSON or YAML file (fields of a program spec, with its steps).
    Add { file: PathBuf },
    /// Replace a program's settings from a JSON or YAML file.
    Update { file: PathBuf },
    /// Show a program with its steps.
    Show { id: String },
    /// List programs.
    List {
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        after: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

#[derive(Args)]
struct EnrollArgs {
    /// The user: an id, or an email / external id with --by.
    user: String,
    program: String,
    /// How USER names the user: id, email or external-id.
    #[arg(long, default_value = "id")]
    by: String,
    #[arg(long)]
    id: Option<String>,
    #[arg(long)]
    trigger: Option<String>,
    #[arg(long)]
    added_by_user: Option<String>,
    #[arg(long)]
    added_by_program: Option<String>,
    #[arg(long)]
    partnership: Option<String>,
    #[arg(long)]
    timezone: Option<String>,
    /// Start later (RFC 3339); tracks only.
    #[arg(long)]
    start_at: Option<String>,
    /// Allow a new enrollment after a completed one.
    #[arg(long)]
    allow_reenroll: bool,
    /// Track: enroll as part of a batch.
    #[arg(long)]
    batch: bool,
}

#[derive(Args)]
struct StepArgs {
    id: String,
    step: String,
    /// start, deliver, complete, fail or skip.
    change: String,
    /// deliver: where it went (user, channel, ...).
    #[arg(long)]
    destination: Option<String>,
    /// complete: the result, a JSON object.
    #[arg(long)]
    result: Option<String>,
    /// fail: the reason code.
    #[arg(long)]
    reason: Option<String>,
    /// fail: the message.
    #[arg(long)]
    message: Option<String>,
}

#[derive(Args)]
struct ListArgs {
    #[arg(long)]
    user: Option<String>,
    #[arg(long)]
    program: Option<String>,
    /// A status in the program's vocabulary.
    #[arg(long)]
    status: Option<String>,
    #[arg(long)]
    trigger: Option<String>,
    #[arg(long)]
    enrolled_from: Option<String>,
    #[arg(long)]
    enrolled_to: Option<String>,
    #[arg(long)]
    completed_from: Option<String>,
    #[arg(long)]
    completed_to: Option<String>,
    #[arg(long)]
    newest_first: bool,
    /// Page number (with --per-page), as the course reference pages.
    #[arg(long, conflicts_with = "after")]
    page: Option<u32>,
    #[arg(long, default_value_t = 20)]
    per_page: u32,
    /// Keyset cursor: continue after this enrollment id (page size --per-page).
    #[arg(long)]
    after: Option<String>,
}

/// A failure that ends the command, with its exit code.
enum Fail {
    Core(Error),
    Usage(String),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        Fail::Core(e)
    }
}

type Outcome = Result<ExitCode, Fail>;

/// 4 for the database's failures, 3 for the request's (see the module's table). Exhaustive: a
/// new core code does not compile until it has its exit code.
fn exit_code(e: &Error) -> u8 {
    match e.code() {
        ErrorCode::Busy | ErrorCode::Storage | ErrorCode::Corrupt | ErrorCode::SchemaTooNew => 4,
        ErrorCode::NotFound
        | ErrorCode::AlreadyEnrolled
        | ErrorCode::InvalidTransition
        | ErrorCode::PermissionDenied
        | ErrorCode::Validation
        | ErrorCode::Conflict
        | ErrorCode::ProgramNotActive
        | ErrorCode::AttemptLimitReached => 3,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = Out::new(cli.json);
    match run(&cli, &out) {
        Ok(code) => code,
        Err(Fail::Usage(message)) => {
            eprintln!("enrollkit: {message}");
            ExitCode::from(2)
        }
        Err(Fail::Core(e)) => {
            if cli.json {
                eprintln!("{}", e.details());
            } else {
                eprintln!("enrollkit: {e} [{}]", e.code());
            }
            ExitCode::from(exit_code(&e))
        }
    }
}

fn open(cli: &Cli, must_exist: bool) -> Result<Store, Fail> {
    if must_exist && !cli.db.exists() {
        return Err(Fail::Core(Error::Storage(format!(
            "{} does not exist",
            cli.db.display()
        ))));
    }
    Ok(enrollkit::OpenOptions::new()
        .create(!must_exist)
        .read_only(cli.read_only)
        .open(&cli.db)?)
}

fn time(text: &Option<String>) -> Result<Option<Timestamp>, Fail> {
    Ok(text.as_deref().map(Timestamp::parse).transpose()?)
}

fn read_spec(file: &Path) -> Result<ProgramSpec, Fail> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Fail::Usage(format!("cannot read {}: {e}", file.display())))?;
    let yaml = matches!(
        file.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    );
    if yaml {
        let value: Value = serde_yaml_ng::from_str(&text).map_err(|e| {
            Fail::Core(Error::Validation {
                field: "program",
                message: format!("malformed YAML: {e}"),
            })
        })?;
        Ok(ProgramSpec::from_json(&value.to_string())?)
    } else {
        Ok(ProgramSpec::from_json(&text)?)
    }
}

fn run(cli: &Cli, out: &Out) -> Outcome {
    let actor = Actor::parse(&cli.actor)?;
    let ok = Ok(ExitCode::SUCCESS);
    match &cli.command {
        Cmd::Init => {
            let store = open(cli, false)?;
            out.record(&json!({"db": cli.db, "schema_version": store.schema_version()?}));
            ok
        }
        Cmd::Info => {
            let store = open(cli, true)?;
            out.record(&report::info(&store, &cli.db)?);
            ok
        }
        Cmd::Demo { users, force } => {
            if *force {
                if cli.db.exists() {
                    drop(Store::open(&cli.db)?); // only ever replace an enrollkit database
                }
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = cli.db.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
            if open(cli, false)?.stats()? != enrollkit::RecordCounts::default() {
                return Err(Fail::Usage(format!(
                    "{} already has data: give another --db or --force to replace it",
                    cli.db.display()
                )));
            }
            let summary = demo::run(&cli.db, *users)?;
            out.demo(&summary);
            ok
        }
        Cmd::User(cmd) => {
            let store = open(cli, false)?;
            match cmd {
                UserCmd::Add(a) => {
                    let user = User {
                        id: a.id.clone(),
                        email: a.email.clone(),
                        display_name: a.name.clone(),
                        external_id: a.external_id.clone(),
                        department: a.department.clone(),
                        location: a.location.clone(),
                        manager_id: a.manager.clone(),
                        groups: a.groups.clone(),
                        timezone: a.timezone.clone(),
                    };
                    out.record(&store.upsert_user(&user)?);
                }
                UserCmd::Show {
                    id,
                    email,
                    external_id,
                } => {
                    let by = match (id, email, external_id) {
                        (Some(v), None, None) => UserRef::Id(v.clone()),
                        (None, Some(v), None) => UserRef::Email(v.clone()),
                        (None, None, Some(v)) => UserRef::ExternalId(v.clone()),
                        _ => {
                            return Err(Fail::Usage(
                                "give exactly one of ID, --email, --external-id".into(),
                            ))
                        }
                    };
                    out.record(&store.find_user(&by)?);
                }
                UserCmd::List { after, limit } => {
                    out.users(&store.list_users(after.as_deref(), *limit)?);
                }
            }
            ok
        }
        Cmd::Program(cmd) => {
            let store = open(cli, false)?;
            match cmd {
                ProgramCmd::Add { file } => out.record(&store.create_program(&read_spec(file)?)?),
                ProgramCmd::Update { file } => {
                    out.record(&store.update_program(&read_spec(file)?)?)
                }
                ProgramCmd::Show { id } => out.record(&store.get_program(id)?),
                ProgramCmd::List {
                    kind,
                    state,
                    after,
                    limit,
                } => {
                    let kind = kind.as_deref().map(Kind::parse).transpose()?;
                    let state = state.as_deref().map(ProgramState::parse).transpose()?;
                    out.programs(&store.list_programs(kind, state, after.as_deref(), *limit)?);
                }
            }
            ok
        }
        Cmd::Enroll(a) => {
            let store = open(cli, false)?;
            let user = match a.by.as_str() {
                "id" => UserRef::Id(a.user.clone()),
                "email" => UserRef::Email(a.user.clone()),
                "external-id" => UserRef::ExternalId(a.user.clone()),
                other => {
                    return Err(Fail::Usage(format!(
                        "--by {other}: expected id, email or external-id"
                    )))
                }
            };
            let mut req = EnrollRequest::for_user(user, a.program.clone());
            req.id = a.id.clone();
            req.trigger = a.trigger.as_deref().map(Trigger::parse).transpose()?;
            req.added_by_user_id = a.added_by_user.clone();
            req.added_by_program_id = a.added_by_program.clone();
            req.partnership_id = a.partnership.clone();
            req.timezone = a.timezone.clone();
            req.start_at = time(&a.start_at)?;
            req.allow_reenroll = a.allow_reenroll;
            req.batch = a.batch;
            out.enrollment(&store.enroll(&actor, &req)?);
            ok
        }
        Cmd::Progress { id, percent } => {
            let store = open(cli, true)?;
            out.enrollment(&store.set_progress(&actor, id, *percent)?);
            ok
        }
        Cmd::Step(a) => {
            let store = open(cli, true)?;
            let change = match a.change.as_str() {
                "start" => StepChange::Start,
                "deliver" => StepChange::Deliver {
                    destination_type: a.destination.clone(),
                },
                "complete" => StepChange::Complete {
                    result: a
                        .result
                        .as_deref()
                        .map(enrollkit::parse_result)
                        .transpose()?,
                },
                "fail" => StepChange::Fail {
                    reason: a
                        .reason
                        .clone()
                        .ok_or_else(|| Fail::Usage("fail needs --reason".into()))?,
                    message: a.message.clone(),
                },
                "skip" => StepChange::Skip,
                other => {
                    return Err(Fail::Usage(format!(
                        "step change {other}: expected start, deliver, complete, fail or skip"
                    )))
                }
            };
            out.enrollment(&store.update_step(&actor, &a.id, &a.step, &change)?);
            ok
        }
        Cmd::Attempt { id, score } => {
            let store = open(cli, true)?;
            let (e, attempt) = store.submit_attempt(&actor, id, *score)?;
            out.attempt(&attempt, &e);
            ok
        }
        Cmd::Drop { id } => transition(cli, out, &actor, id, Command::Drop),
        Cmd::Reactivate { id } => transition(cli, out, &actor, id, Command::Reactivate),
        Cmd::Pause { id } => transition(cli, out, &actor, id, Command::Pause),
        Cmd::Resume { id } => transition(cli, out, &actor, id, Command::Resume),
        Cmd::Cancel { id } => transition(cli, out, &actor, id, Command::Cancel),
        Cmd::Start { id } => transition(cli, out, &actor, id, Command::Start),
        Cmd::Fail {
            id,
            reason,
            message,
        } => {
            let cmd = Command::Fail {
                reason: FailureReason::parse(reason)?,
                message: message.clone(),
            };
            transition(cli, out, &actor, id, cmd)
        }
        Cmd::Delete { id } => {
            let store = open(cli, true)?;
            store.delete_enrollment(&actor, id)?;
            out.record(&json!({"deleted": id}));
            ok
        }
        Cmd::List(a) => {
            let store = open(cli, true)?;
            let query = ListQuery {
                user_id: a.user.clone(),
                program_id: a.program.clone(),
                status: a.status.clone(),
                trigger: a.trigger.as_deref().map(Trigger::parse).transpose()?,
                enrolled_from: time(&a.enrolled_from)?,
                enrolled_to: time(&a.enrolled_to)?,
                completed_from: time(&a.completed_from)?,
                completed_to: time(&a.completed_to)?,
                order: if a.newest_first {
                    Order::NewestFirst
                } else {
                    Order::OldestFirst
                },
                pagination: match (&a.after, a.page) {
                    (None, Some(page)) => Pagination::Page {
                        page,
                        per_page: a.per_page,
                    },
                    (after, _) => Pagination::Cursor {
                        starting_after: after.clone(),
                        limit: a.per_page,
                    },
                },
            };
            out.page(&store.list_enrollments(&actor, &query)?);
            ok
        }
        Cmd::Show { id, view } => {
            let store = open(cli, true)?;
            match view {
                Some(v) => out.json(&store.render(&actor, id, View::parse(v)?)?),
                None => out.enrollment(&store.get_enrollment(&actor, id)?),
            }
            ok
        }
        Cmd::History { id } => {
            let store = open(cli, true)?;
            out.history(&store.history(&actor, id)?);
            ok
        }
        Cmd::Events {
            after,
            limit,
            follow,
        } => {
            let store = open(cli, true)?;
            let mut after = *after;
            loop {
                let events = store.events_after(&actor, after, *limit)?;
                if let Some(last) = events.last() {
                    after = last.seq;
                }
                if !events.is_empty() || !*follow {
                    out.events(&events);
                }
                if !*follow {
                    return ok;
                }
                if events.len() < *limit as usize {
                    std::thread::sleep(std::time::Duration::from_secs(1));
                }
            }
        }
        Cmd::Report { program } => {
            let store = open(cli, true)?;
            out.report(&store.report(&actor, program)?);
            ok
        }
        Cmd::Import {
            file,
            best_effort,
            csv,
        } => {
            let store = open(cli, false)?;
            let f = std::fs::File::open(file)
                .map_err(|e| Fail::Usage(format!("cannot read {}: {e}", file.display())))?;
            let size = f.metadata().map(|m| m.len()).unwrap_or(0);
            let bar = output::progress_bar(size, "importing");
            let mut progress = |_lines: u64, bytes: u64| bar.set_position(bytes);
            let mode = if *best_effort {
                BatchMode::BestEffort
            } else {
                BatchMode::AllOrNothing
            };
            let mut input = BufReader::with_capacity(1 << 20, f);
            let report = if *csv {
                store.enroll_csv(&actor, &mut input, mode, Some(&mut progress))?
            } else {
                store.import_jsonl(&mut input, mode, Some(&mut progress))?
            };
            bar.finish_and_clear();
            out.import(&report);
            Ok(if report.errors.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Cmd::Export { file, csv, program } => {
            let store = open(cli, true)?;
            let f = std::fs::File::create(file)
                .map_err(|e| Fail::Usage(format!("cannot create {}: {e}", file.display())))?;
            let mut w = BufWriter::with_capacity(1 << 20, f);
            if *csv {
                let rows = store.export_enrollments_csv(&mut w, program.as_deref())?;
                out.record(&json!({"file": file, "enrollments": rows}));
            } else {
                if program.is_some() {
                    return Err(Fail::Usage("--program needs --csv".into()));
                }
                let bar = output::progress_bar(0, "exporting");
                let mut progress = |records: u64, _| bar.set_position(records);
                let counts = store.export_jsonl(&mut w, Some(&mut progress))?;
                bar.finish_and_clear();
                out.record(&json!({"file": file, "records": counts}));
            }
            w.flush()
                .map_err(|e| Fail::Core(Error::Storage(e.to_string())))?;
            ok
        }
        Cmd::Backup { dest } => {
            let store = open(cli, true)?;
            store.backup(dest)?;
            out.record(&json!({"backup": dest}));
            ok
        }
        Cmd::Check => {
            let store = open(cli, true)?;
            let problems = store.check_invariants()?;
            out.check(&problems);
            Ok(if problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

fn transition(cli: &Cli, out: &Out, actor: &Actor, id: &str, cmd: Command) -> Outcome {
    let store = open(cli, true)?;
    out.enrollment(&store.transition(actor, id, &cmd)?);
    Ok(ExitCode::SUCCESS)
}
