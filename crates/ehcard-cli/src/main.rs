//! `ehcard`: the headless twin of the field app. Every command works on the
//! encrypted store in `--data DIR` and exits non-zero on any failure.
//!
//! Exit codes: 0 success; 1 failure; 2 usage; 3 invalid input (nothing was
//! changed); 4 locked (wrong passphrase, no store); 5 no network; 6 tablet
//! revoked; 7 sync incomplete; 8 card not valid.

mod cards;
mod cli;
mod commands;
mod io;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    let lang = args.lang;
    match commands::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let code = commands::exit_code(&err);
            eprintln!("{}", commands::describe(&err, lang));
            ExitCode::from(code)
        }
    }
}
