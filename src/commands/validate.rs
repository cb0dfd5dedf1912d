//! `replicate validate`: check the manifest.

use std::path::Path;

use crate::cli::exit;
use crate::error::Error;
use crate::plan;

pub fn run(path: &Path) -> Result<u8, Error> {
    let manifest = super::load_manifest(path)?;
    let plan = plan::plan(&manifest, None)?;
    let warnings = match manifest.warnings.len() {
        0 => String::new(),
        1 => ", 1 warning".to_owned(),
        n => format!(", {n} warnings"),
    };
    super::print(&format!(
        "{} is valid: {} steps{warnings}\n",
        path.display(),
        plan.len()
    ));
    Ok(exit::SUCCESS)
}
