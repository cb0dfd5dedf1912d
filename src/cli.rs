//! The process around the library: arguments in, exit code out, errors
//! rendered as diagnostics.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};

use crate::arguments::{Arguments, Command};
use crate::commands;
use crate::error::Error;

/// Exit codes of DESIGN section 3.
pub mod exit {
    pub const SUCCESS: u8 = 0;
    pub const ERROR: u8 = 1;
    /// `plan --detailed-exitcode` with steps to apply.
    pub const CHANGES: u8 = 2;
    /// Bad command line (sysexits' EX_USAGE).
    pub const USAGE: u8 = 64;
}

/// Runs `replicate` with these arguments and returns the exit code.
pub fn main_with_args(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    crate::exec::interrupt::ignore_file_size_signal();
    let arguments = match Arguments::try_parse_from(args) {
        Ok(arguments) => arguments,
        Err(error) => {
            let _ = error.print();
            return match error.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ExitCode::SUCCESS,
                _ => ExitCode::from(exit::USAGE),
            };
        }
    };
    match run(arguments) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            report(&error);
            ExitCode::from(exit::ERROR)
        }
    }
}

fn run(arguments: Arguments) -> Result<u8, Error> {
    match arguments.command {
        Command::Validate { manifest } => commands::validate::run(&manifest.path()),
        Command::Plan {
            manifest,
            out,
            json,
            offline,
            detailed_exitcode,
        } => commands::plan::run(&commands::plan::PlanOptions {
            manifest: manifest.path(),
            out,
            json,
            offline,
            detailed_exitcode,
        }),
        Command::Apply {
            plan,
            manifest,
            auto_approve,
            steps,
            resume,
            parallelism,
            json,
        } => commands::apply::run(&commands::apply::ApplyOptions {
            plan_file: plan,
            manifest: manifest.given,
            auto_approve,
            steps,
            resume,
            parallelism: usize::from(parallelism),
            json,
        }),
        Command::Verify { manifest, media } => commands::verify::run(&manifest.path(), media),
        Command::Show { plan, json } => commands::show::run(&plan, json),
        Command::Graph { manifest, format } => commands::graph::run(&manifest.path(), format),
        Command::Schema => commands::schema::run(),
    }
}

/// Whether stderr may carry colours.
fn stderr_colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Renders a diagnostic (error or warning) on stderr.
pub fn report(diagnostic: &dyn Diagnostic) {
    let theme = if stderr_colour() {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let width = terminal_width().unwrap_or(100);
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(width)
        .with_links(false);
    let mut text = String::new();
    if handler.render_report(&mut text, diagnostic).is_err() {
        text = format!("Error: {diagnostic}\n");
    }
    let _ = std::io::stderr().write_all(text.as_bytes());
}

fn terminal_width() -> Option<usize> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    terminal_size::terminal_size_of(std::io::stderr()).map(|(w, _)| usize::from(w.0))
}
