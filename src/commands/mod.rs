//! One module per subcommand. Each takes plain values and returns the exit
//! code, or an error for [`crate::cli`] to report.

pub mod apply;
pub mod graph;
pub mod plan;
pub mod progress;
pub mod schema;
pub mod show;
pub mod validate;
pub mod verify;

use std::path::Path;

use crate::cli::report;
use crate::error::Error;
use crate::manifest::Manifest;

/// Loads the manifest and shows its warnings on stderr.
pub fn load_manifest(path: &Path) -> Result<Manifest, Error> {
    let manifest = Manifest::load(path)?;
    for warning in &manifest.warnings {
        report(warning);
    }
    Ok(manifest)
}

/// Writes to stdout, ignoring a closed pipe (`replicate plan | head`).
pub fn print(text: &str) {
    use std::io::Write;
    let mut out = anstream::stdout();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}
