//! `replicate rollback`: swap the previous target back in.

use std::path::Path;

use super::super::error::Error;
use super::super::exit;
use super::super::load::load_manifest;
use super::super::output::print;
use super::super::style::{GOOD, HEADING, paint};
use super::apply::{Asking, confirm};
use crate::exec::rollback;
use crate::plan;

pub fn run(path: &Path, auto_approve: bool) -> Result<u8, Error> {
    let manifest = load_manifest(path)?;
    let (plan, _) = plan::offline(&manifest)?;
    let rollback = rollback::prepare(&manifest, &plan)?;
    print(&format!(
        "{}\n",
        paint(HEADING, "replicate will roll back:")
    ));
    for line in rollback.describe() {
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
    let downtime = rollback::run(&manifest, &rollback)?;
    print(&format!(
        "\n{} the previous target is back; the one it replaced is now the previous copy (`replicate rollback` again swaps them back)\n",
        paint(GOOD, "Rollback complete:")
    ));
    if rollback.database.is_some() {
        print(&format!(
            "The target could not be reached for {} ms.\n",
            downtime.as_millis()
        ));
    }
    Ok(exit::SUCCESS)
}
