//! The command line: arguments in, exit code out. Each command parses,
//! calls one operation of the layer below, and renders its report; errors
//! are rendered as diagnostics.

mod action_text;
mod arguments;
mod commands;
mod confirm;
mod error;
mod exit;
mod load;
mod output;
mod plan_text;
mod progress;
mod report;
mod style;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

use self::arguments::{Arguments, Command};
pub use self::error::Error;
use self::report::report;

/// Runs `replicate` with these arguments and returns the exit code.
pub fn main_with_args(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    crate::io::sys::ignore_file_size_signal();
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
        Command::Init {
            manifest,
            source,
            target,
            netbox_root,
            source_tunnel,
            target_tunnel,
            ssh_config,
            format,
            force,
        } => commands::init::run(&crate::init::InitRequest {
            manifest: manifest.path(),
            source,
            target,
            netbox_roots: netbox_root,
            source_tunnel,
            target_tunnel,
            ssh_config,
            format: match format.as_str() {
                "custom" => crate::manifest::DumpFormat::Custom,
                "plain" => crate::manifest::DumpFormat::Plain,
                "stream" => crate::manifest::DumpFormat::Stream,
                _ => crate::manifest::DumpFormat::Directory,
            },
            force,
        }),
        Command::Validate { manifest } => commands::validate::run(&manifest.path()),
        Command::Plan {
            manifest,
            out,
            json,
            offline,
            detailed_exitcode,
            verbose,
        } => commands::plan::run(&commands::plan::PlanOptions {
            manifest: manifest.path(),
            out,
            json,
            offline,
            detailed_exitcode,
            verbose,
        }),
        Command::Apply {
            plan,
            manifest,
            auto_approve,
            steps,
            resume,
            parallelism,
            json,
            verbose,
        } => commands::apply::run(&commands::apply::ApplyOptions {
            plan_file: plan,
            manifest: manifest.given,
            auto_approve,
            steps,
            resume,
            parallelism: usize::from(parallelism),
            json,
            verbose,
        }),
        Command::Rollback {
            manifest,
            auto_approve,
        } => commands::rollback::run(&manifest.path(), auto_approve),
        Command::Verify {
            manifest,
            media,
            target,
        } => commands::verify::run(&manifest.path(), media, target),
        Command::Clean { manifest } => commands::clean::run(&manifest.path()),
        Command::ForceUnlock { manifest, lock_id } => {
            commands::unlock::run(&manifest.path(), &lock_id)
        }
        Command::Show {
            plan,
            json,
            verbose,
        } => commands::show::run(&plan, json, verbose),
        Command::Graph { manifest, format } => commands::graph::run(&manifest.path(), format),
        Command::Schema => commands::schema::run(),
        Command::Completions { shell } => commands::shell::completions(shell),
        Command::Man => commands::shell::man(),
    }
}
