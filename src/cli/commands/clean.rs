//! `replicate clean`: remove the artifacts of the manifest's runs.

use std::path::Path;

use super::super::error::Error;
use super::super::exit;
use super::super::load::load_manifest;
use super::super::output::print;
use indicatif::DecimalBytes;

use crate::display::units::count;
use crate::exec;
use crate::io::paths;

pub fn run(path: &Path) -> Result<u8, Error> {
    let manifest = load_manifest(path)?;
    let cleaned = exec::clean(&manifest)?;
    let dir = paths::display(&cleaned.dir);
    if cleaned.removed.is_empty() {
        print(&format!("Nothing to remove in {dir}.\n"));
    } else {
        print(&format!(
            "Removed {} ({}) from {dir}: {}\n",
            count(cleaned.removed.len() as u64, "item", "items"),
            DecimalBytes(cleaned.bytes),
            cleaned.removed.join(", ")
        ));
    }
    Ok(exit::SUCCESS)
}
