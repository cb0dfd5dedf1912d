//! `replicate validate`: check the manifest.

use std::path::Path;

use crate::cli::exit;
use crate::error::Error;
use crate::plan;
use crate::units::count;

pub fn run(path: &Path) -> Result<u8, Error> {
    let manifest = super::load_manifest(path)?;
    let plan = plan::plan(&manifest, None)?;
    let warnings = match manifest.warnings.len() {
        0 => String::new(),
        n => format!(", {}", count(n as u64, "warning", "warnings")),
    };
    super::print(&format!(
        "{} is valid: {}{warnings}\n",
        path.display(),
        count(plan.len() as u64, "step", "steps")
    ));
    Ok(exit::SUCCESS)
}
