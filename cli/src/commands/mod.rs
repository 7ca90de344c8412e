//! Running a parsed command line: [`run`] dispatches each subcommand to its own function.
//!
//! | module | subcommands |
//! |---|---|
//! | `users` | `user add`, `user show`, `user list`, `user erase` |
//! | `programs` | `program add`, `program update`, `program show`, `program list` |
//! | `enrollments` | `enroll`, `progress`, `step`, `attempt`, `drop`, `reactivate`, `pause`, `resume`, `cancel`, `start`, `fail`, `delete`, `list`, `show`, `history`, `expire`, `waitlist` |
//! | `data` | `init`, `info`, `demo`, `events`, `report`, `import`, `export`, `backup`, `compact`, `check` |
//! | `queue` | `due`, `worker`, `anniversaries` |
//! | `common` | shared by all: [`Fail`], [`Outcome`], [`exit_code`], `open`, `time`, `read_spec` |
//!
//! The clap definitions are in `crate::args`. Each command function opens the database itself
//! (creating it or requiring it, as that command needs) and returns its exit code. The six
//! plain transitions (`drop` ... `start`) share `enrollments::transition`: they differ only in
//! the core `Command` they apply.

mod common;
mod data;
mod enrollments;
mod programs;
mod queue;
mod users;

use enrollkit::{Actor, Command};

pub use common::{exit_code, Fail, Outcome};

use crate::args::{Cli, Cmd, ProgramCmd, UserCmd};
use crate::output::Out;

/// Runs the parsed command, printing through `out`. `--actor` is parsed first, for every
/// command, so a malformed actor fails the same way whether or not the command uses it.
pub fn run(cli: &Cli, out: &Out) -> Outcome {
    let actor = Actor::parse(&cli.actor)?;
    let actor = &actor;
    match &cli.command {
        Cmd::Init => data::init(cli, out),
        Cmd::Info => data::info(cli, out),
        Cmd::Demo { users, force } => data::demo(cli, out, *users, *force),
        Cmd::User(UserCmd::Add(a)) => users::add(cli, out, a),
        Cmd::User(UserCmd::Show {
            id,
            email,
            external_id,
        }) => users::show(
            cli,
            out,
            id.as_deref(),
            email.as_deref(),
            external_id.as_deref(),
        ),
        Cmd::User(UserCmd::Erase { id }) => users::erase(cli, out, actor, id),
        Cmd::User(UserCmd::List { after, limit }) => {
            users::list(cli, out, after.as_deref(), *limit)
        }
        Cmd::Program(ProgramCmd::Add { file }) => programs::add(cli, out, file),
        Cmd::Program(ProgramCmd::Update { file }) => programs::update(cli, out, file),
        Cmd::Program(ProgramCmd::Show { id }) => programs::show(cli, out, id),
        Cmd::Program(ProgramCmd::List {
            kind,
            state,
            after,
            limit,
        }) => programs::list(
            cli,
            out,
            kind.as_deref(),
            state.as_deref(),
            after.as_deref(),
            *limit,
        ),
        Cmd::Enroll(a) => enrollments::enroll(cli, out, actor, a),
        Cmd::Progress { id, percent } => enrollments::progress(cli, out, actor, id, *percent),
        Cmd::Step(a) => enrollments::step(cli, out, actor, a),
        Cmd::Attempt { id, score } => enrollments::attempt(cli, out, actor, id, *score),
        Cmd::Drop { id } => enrollments::transition(cli, out, actor, id, Command::Drop),
        Cmd::Reactivate { id } => enrollments::transition(cli, out, actor, id, Command::Reactivate),
        Cmd::Pause { id } => enrollments::transition(cli, out, actor, id, Command::Pause),
        Cmd::Resume { id } => enrollments::transition(cli, out, actor, id, Command::Resume),
        Cmd::Cancel { id } => enrollments::transition(cli, out, actor, id, Command::Cancel),
        Cmd::Start { id } => enrollments::transition(cli, out, actor, id, Command::Start),
        Cmd::Fail {
            id,
            reason,
            message,
        } => enrollments::fail(cli, out, actor, id, reason, message.as_deref()),
        Cmd::Delete { id } => enrollments::delete(cli, out, actor, id),
        Cmd::List(a) => enrollments::list(cli, out, actor, a),
        Cmd::Show { id, view } => enrollments::show(cli, out, actor, id, view.as_deref()),
        Cmd::History { id } => enrollments::history(cli, out, actor, id),
        Cmd::Events {
            after,
            limit,
            follow,
        } => data::events(cli, out, actor, *after, *limit, *follow),
        Cmd::Report { program } => data::report(cli, out, actor, program),
        Cmd::Due {
            program,
            until,
            limit,
        } => queue::due(cli, out, actor, program.as_deref(), until, *limit),
        Cmd::Worker(a) => queue::worker(cli, out, a),
        Cmd::Expire { limit } => enrollments::expire(cli, out, actor, *limit),
        Cmd::Waitlist {
            program,
            enrollment,
            limit,
        } => enrollments::waitlist(
            cli,
            out,
            actor,
            program.as_deref(),
            enrollment.as_deref(),
            *limit,
        ),
        Cmd::Anniversaries { program, date } => {
            queue::anniversaries(cli, out, actor, program, date)
        }
        Cmd::Import {
            file,
            best_effort,
            csv,
        } => data::import(cli, out, actor, file, *best_effort, *csv),
        Cmd::Export { file, csv, program } => {
            data::export(cli, out, file, *csv, program.as_deref())
        }
        Cmd::Backup { dest } => data::backup(cli, out, dest),
        Cmd::Compact => data::compact(cli, out),
        Cmd::Copy { from, to } => data::copy(cli, out, from, to),
        Cmd::Check => data::check(cli, out),
    }
}
