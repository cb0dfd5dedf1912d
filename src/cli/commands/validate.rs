//! `replicate validate`: check the manifest.

use std::path::Path;

use super::super::error::Error;
use super::super::exit;
use super::super::load::load_manifest;
use super::super::output::print;
use crate::display::units::count;
use crate::plan;

pub fn run(path: &Path) -> Result<u8, Error> {
    let manifest = load_manifest(path)?;
    let (plan, _) = plan::offline(&manifest)?;
    let warnings = match manifest.warnings.len() {
        0 => String::new(),
        n => format!(", {}", count(n as u64, "warning", "warnings")),
    };
    print(&format!(
        "{} is valid: {}{warnings}\n",
        path.display(),
        count(plan.len() as u64, "step", "steps")
    ));
    Ok(exit::SUCCESS)
}
