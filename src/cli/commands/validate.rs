//! `replicate validate`: check the manifest.

use std::path::Path;

use super::super::output::print;
use super::super::{Error, exit};
use crate::display::units::count;
use crate::plan;

pub fn run(path: &Path) -> Result<u8, Error> {
    let manifest = super::load_manifest(path)?;
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
