//! The command line: clap definitions of the global options and every subcommand.
//!
//! Only parsing lives here; `commands` runs what was parsed. The `///` comments on fields and
//! variants are the help text clap prints, so editing one changes `--help`. The ones on the
//! types are not printed: `Cli` sets `about` explicitly and every subcommand variant has its
//! own `///`, which clap uses instead of its type's.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The global options and the subcommand; `main` parses this once.
#[derive(Parser)]
#[command(
    name = "enrollkit",
    version,
    about = "The admin shell over an enrollkit database file"
)]
pub struct Cli {
    /// The database file. Created when missing by `init`, `demo`, `import`, `enroll`, `user add`
    /// and `program add`; every other command needs it to exist.
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        default_value = "enrollkit.db"
    )]
    pub db: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    /// Open the database for reading only (a file this process may not write): commands that
    /// read work, commands that write fail with a storage error (exit code 4).
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Create a new database file (and its backups) with the umask's mode, rather than
    /// readable and writable by its owner only (0600, the default).
    #[arg(long, global = true)]
    pub umask_mode: bool,
    /// Who acts: admin, system or learner:<user id>.
    #[arg(long, global = true, default_value = "admin")]
    pub actor: String,
    #[command(subcommand)]
    pub command: Cmd,
}

/// The subcommands; `commands::run` gives each its own function.
#[derive(Subcommand)]
pub enum Cmd {
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
    /// What is due: running enrollments with a next step scheduled, soonest first, with the
    /// step, when it is due and who holds a claim on it. Reads only; claims nothing.
    Due {
        /// Only this program's work.
        #[arg(long)]
        program: Option<String>,
        /// Only work due at or before this time (RFC 3339).
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
        /// Show at most this many (1-1000).
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// A program's waitlist, in order (the first is promoted into the next seat that frees);
    /// with --enrollment, that enrollment's place in it.
    Waitlist {
        /// The program (not needed with --enrollment).
        #[arg(required_unless_present = "enrollment")]
        program: Option<String>,
        /// Show the place of this enrollment instead (a learner may ask about their own).
        #[arg(long, value_name = "ID", conflicts_with = "program")]
        enrollment: Option<String>,
        /// Show at most this many (1-1000).
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// End the enrollments whose deadline has passed (a course expires; a certification or
    /// track fails with reason deadline_passed), soonest deadline first; prints their ids.
    /// Run it from a scheduler.
    Expire {
        /// End at most this many (1-1000).
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Run a worker of the due-work queue: claim the steps that are due, deliver each (print
    /// it, or run --exec), end each claim, and wait for more; Ctrl-C stops it cleanly.
    Worker(WorkerArgs),
    /// Enroll (trigger work_anniversary) every user whose hire-date anniversary is DATE, each
    /// once however often it runs; a track starts at the beginning of that day in the user's
    /// time zone.
    Anniversaries {
        #[arg(long)]
        program: String,
        /// The day, YYYY-MM-DD.
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: String,
    },
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
    /// Rewrite the database so that nothing deleted is left in it (after `user erase`):
    /// SQLite empties the WAL and rebuilds the file; PostgreSQL vacuums.
    Compact,
    /// Copy every record from one database to another, of either backend (an SQLite file or a
    /// PostgreSQL location), streaming an export of FROM into an import into TO. --db is not
    /// used. TO must hold no records; an import into it is all or nothing.
    Copy {
        /// The database to read (it must exist).
        #[arg(long)]
        from: PathBuf,
        /// The database to fill (created when it is a missing file).
        #[arg(long)]
        to: PathBuf,
    },
    /// Integrity check plus enrollkit's invariants; exit 1 on any violation.
    Check,
}

/// `user add|show|list`, run by `commands::users`.
#[derive(Subcommand)]
pub enum UserCmd {
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
    /// Erase a person on request (admin only): the user, their enrollments, step progress and
    /// attempts go; the history keeps its events under a tombstone id, without the person.
    /// Run `compact` afterwards to rewrite the file without the deleted bytes.
    Erase { id: String },
}

/// `user add`: the user's fields.
#[derive(Args)]
pub struct UserArgs {
    pub id: String,
    #[arg(long)]
    pub email: Option<String>,
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long)]
    pub external_id: Option<String>,
    #[arg(long)]
    pub department: Option<String>,
    #[arg(long)]
    pub location: Option<String>,
    #[arg(long)]
    pub manager: Option<String>,
    /// A group (repeat for several).
    #[arg(long = "group")]
    pub groups: Vec<String>,
    #[arg(long)]
    pub timezone: Option<String>,
    /// The hire date, YYYY-MM-DD (work anniversaries).
    #[arg(long)]
    pub hire_date: Option<String>,
    /// A partnership the user belongs to (repeat for several): a partner user's
    /// certification enrollments name one of them (`enroll --partnership`).
    #[arg(long = "partnership", value_name = "ID")]
    pub partnerships: Vec<String>,
}

/// `program add|update|show|list`, run by `commands::programs`.
#[derive(Subcommand)]
pub enum ProgramCmd {
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

/// `enroll`: the fields of an enrollment request.
#[derive(Args)]
pub struct EnrollArgs {
    /// The user: an id, or an email / external id with --by.
    pub user: String,
    pub program: String,
    /// How USER names the user: id, email or external-id.
    #[arg(long, default_value = "id")]
    pub by: String,
    #[arg(long)]
    pub id: Option<String>,
    #[arg(long)]
    pub trigger: Option<String>,
    #[arg(long)]
    pub added_by_user: Option<String>,
    #[arg(long)]
    pub added_by_program: Option<String>,
    #[arg(long)]
    pub partnership: Option<String>,
    #[arg(long)]
    pub timezone: Option<String>,
    /// Start later (RFC 3339); tracks only.
    #[arg(long)]
    pub start_at: Option<String>,
    /// Allow a new enrollment after a completed one.
    #[arg(long)]
    pub allow_reenroll: bool,
    /// Track: enroll as part of a batch.
    #[arg(long)]
    pub batch: bool,
    /// Admin only: enroll although the user has not completed the program's prerequisites;
    /// REASON goes into the history.
    #[arg(long, value_name = "REASON")]
    pub override_prerequisites: Option<String>,
}

/// `step`: which step and the change; the options apply to one change each.
#[derive(Args)]
pub struct StepArgs {
    pub id: String,
    pub step: String,
    /// start, deliver, complete, fail or skip.
    pub change: String,
    /// deliver: where it went (user, channel, ...).
    #[arg(long)]
    pub destination: Option<String>,
    /// complete: the result, a JSON object.
    #[arg(long)]
    pub result: Option<String>,
    /// fail: the reason code.
    #[arg(long)]
    pub reason: Option<String>,
    /// fail: the message.
    #[arg(long)]
    pub message: Option<String>,
}

/// `worker`: who works, on what, how long each claim holds and how each step is delivered.
#[derive(Args)]
pub struct WorkerArgs {
    /// The worker's id (1-128 bytes), recorded with each claim in the enrollments' history.
    #[arg(long = "id", value_name = "WORKER")]
    pub id: String,
    /// Only claim and deliver this program's steps (the queue keeps each program's due work in
    /// order); a worker without --program serves them all.
    #[arg(long)]
    pub program: Option<String>,
    /// How long each claim holds, in seconds (0.001 to 86400): a step not ended by then may be
    /// claimed by another worker, and this worker's late result is refused.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub lease: f64,
    /// How many due enrollments to claim at a time (1-1000).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub batch: u32,
    /// One pass: deliver what is due now, then exit instead of waiting for more.
    #[arg(long)]
    pub once: bool,
    /// Deliver each step by running CMD with `sh -c`: the enrollment id, user id and step id are
    /// its arguments $1, $2, $3 and, with the program, step type and title and the worker,
    /// ENROLLKIT_* environment variables. Exit status 0 delivers the step; any other fails it
    /// (reason exec_failed). While it runs, the claim's lease is renewed at each half lease.
    /// Work the host scheduled with no step left runs with an empty step id; it cannot fail,
    /// so a failure gives it back. Without --exec, delivering is printing the step.
    #[arg(long, value_name = "CMD")]
    pub exec: Option<String>,
    /// Seconds to wait before looking again when nothing is due.
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0)]
    pub poll: f64,
}

/// `list`: filters, order and pagination of enrollments.
#[derive(Args)]
pub struct ListArgs {
    #[arg(long)]
    pub user: Option<String>,
    #[arg(long)]
    pub program: Option<String>,
    /// A status in the program's vocabulary.
    #[arg(long)]
    pub status: Option<String>,
    #[arg(long)]
    pub trigger: Option<String>,
    #[arg(long)]
    pub enrolled_from: Option<String>,
    #[arg(long)]
    pub enrolled_to: Option<String>,
    #[arg(long)]
    pub completed_from: Option<String>,
    #[arg(long)]
    pub completed_to: Option<String>,
    #[arg(long)]
    pub newest_first: bool,
    /// Page number (with --per-page), as the course reference pages.
    #[arg(long, conflicts_with = "after")]
    pub page: Option<u32>,
    #[arg(long, default_value_t = 20)]
    pub per_page: u32,
    /// Keyset cursor: continue after this enrollment id (page size --per-page).
    #[arg(long)]
    pub after: Option<String>,
}
