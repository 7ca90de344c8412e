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
//! | 3 | refused by the rules or bad input (`not_found`, `already_enrolled`, `invalid_transition`, `permission_denied`, `validation`, `conflict`, `program_not_active`, `attempt_limit_reached`, `enrollment_closed`, `prerequisites_not_met`, `program_full`) |
//! | 4 | storage failure (`busy`, `storage`, `corrupt`, `schema_too_new`) |
//!
//! Layout: `args` holds the clap definitions (the help text), `commands` runs each subcommand
//! in its own function (`commands::run` dispatches; `commands/common.rs` holds the failure
//! type, `exit_code` and opening the database), `output` prints, `report` is `info`, `demo`
//! is `demo`. This file only parses, runs and turns the outcome into an exit code.

// First: its `say!` macro is used by the modules below.
#[macro_use]
mod output;
mod args;
mod commands;
mod demo;

use std::process::ExitCode;

use clap::Parser;

use args::Cli;
use commands::{exit_code, Fail};
use output::Out;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = Out::new(cli.json);
    match commands::run(&cli, &out) {
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
