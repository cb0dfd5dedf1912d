//! `replicate verify`: the artifacts hashed again against `SHA256SUMS`,
//! and with `--media` and `--target` what was copied from them.

use std::path::Path;

use super::super::error::Error;
use super::super::exit;
use super::super::load::load_manifest_for;
use super::super::output::print;
use indicatif::{DecimalBytes, HumanCount};

use crate::display::units::count;
use crate::exec::{self, FolderVerdict, TargetVerdict, VerifyReport};
use crate::plan::{Sides, Tunnels};

pub fn run(path: &Path, folders: bool, target: bool) -> Result<u8, Error> {
    // The artifacts alone: neither system is reached, but for `--target`.
    let sides = Sides {
        source: false,
        target,
    };
    let mut manifest = load_manifest_for(path, sides)?;
    let _tunnels = Tunnels::open(&mut manifest, sides)?;
    let report = exec::verify(&manifest, folders, target)?;
    print(&render(&report));
    report.verdict()?;
    Ok(exit::SUCCESS)
}

/// A line an artifact, a differing file, a folder, and the target's tables.
fn render(report: &VerifyReport) -> String {
    let mut text = String::new();
    for artifact in &report.artifacts {
        text.push_str(&match &artifact.result {
            Ok(bytes) => format!("ok      {} ({})\n", artifact.name, DecimalBytes(*bytes)),
            Err(mismatch) => format!("FAILED  {mismatch}\n"),
        });
    }
    for folder in &report.folders {
        text.push_str(&folder_lines(folder));
    }
    if let Some(target) = &report.target {
        text.push_str(&target_lines(target));
    }
    text
}

fn folder_lines(folder: &FolderVerdict) -> String {
    let mut text = String::new();
    for (found, path) in &folder.differences {
        let label = found.as_str();
        text.push_str(&format!("{label:<11} {}/{}\n", folder.into, path.display()));
    }
    if folder.differences.is_empty() {
        text.push_str(&format!(
            "ok      {} ({} match)\n",
            folder.into,
            count(folder.checked, "file", "files")
        ));
    }
    text
}

fn target_lines(target: &TargetVerdict) -> String {
    let mut text = String::new();
    for rebuilt in &target.rebuilt {
        text.push_str(&format!(
            "rebuilt     table {} (by invalidate-target: {})\n",
            rebuilt.table, rebuilt.by
        ));
    }
    for difference in &target.differences {
        text.push_str(&format!("changed     {difference}\n"));
    }
    if target.differences.is_empty() {
        text.push_str(&format!(
            "ok      {} equals the dump ({}, {} rows, {})\n",
            target.database,
            count(target.tables, "table", "tables"),
            HumanCount(target.rows),
            count(target.objects, "object", "objects"),
        ));
    }
    text
}
