//! `replicate rollback`: swap the previous target back in.

use std::path::Path;

use super::super::confirm::{Asking, confirm};
use super::super::error::Error;
use super::super::exit;
use super::super::load::load_manifest;
use super::super::output::print;
use super::super::style::{GOOD, HEADING, paint};
use crate::exec::rollback::{self, Rollback};
use crate::plan::{Sides, Tunnels};

pub fn run(path: &Path, auto_approve: bool) -> Result<u8, Error> {
    let mut manifest = load_manifest(path)?;
    // Held until the rollback is done: it reaches the target only.
    let _tunnels = Tunnels::open(
        &mut manifest,
        Sides {
            source: false,
            target: true,
        },
    )?;
    let rollback = rollback::prepare(&manifest)?;
    print(&format!(
        "{}\n",
        paint(HEADING, "replicate will roll back:")
    ));
    for line in describe(&rollback) {
        print(&format!("  {line}\n"));
    }
    confirm(
        auto_approve,
        &Asking {
            command: "roll back",
            question: "roll back",
            help: "review what it will do, then run `replicate rollback --auto-approve`",
        },
    )?;
    let done = rollback::run(&manifest, &rollback)?;
    print(&format!(
        "\n{} the previous target is back; the one it replaced is now the previous copy (`replicate rollback` again swaps them back)\n",
        paint(GOOD, "Rollback complete:")
    ));
    if let Some(downtime) = done.downtime {
        print(&format!(
            "The target could not be reached for {} ms.\n",
            downtime.as_millis()
        ));
    }
    Ok(exit::SUCCESS)
}

/// What the rollback will do, a line each.
fn describe(rollback: &Rollback) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some((target, previous)) = &rollback.database {
        lines.push(format!(
            "database {previous} becomes {target} again, and {target} becomes {previous}{}",
            if rollback.terminate {
                ", its open sessions ended"
            } else {
                ""
            }
        ));
    }
    for (folder, previous) in &rollback.folders {
        lines.push(format!(
            "folder {} exchanged with {}",
            folder.shown(),
            previous.shown()
        ));
    }
    for command in &rollback.invalidate {
        lines.push(format!(
            "then, {}: $ {}",
            command.what,
            command.exec.display()
        ));
    }
    lines
}
