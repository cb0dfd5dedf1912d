//! Live planning: what the source and target look like right now, and
//! whether the tools on this machine can do the job.

mod error;
mod folders;
mod found;
mod source;
mod target;
mod tools;

pub use self::error::InspectError;
pub use self::found::{Inspection, SourceFacts};
use crate::manifest::Manifest;
use crate::postgres::Secrets;

pub fn inspect(manifest: &Manifest, secrets: &Secrets) -> Result<Inspection, InspectError> {
    let mut found = Inspection::default();
    if manifest.has_database() {
        source::inspect(manifest, secrets, &mut found)?;
    }
    for (side, folder) in [
        ("source", &manifest.source.media),
        ("target", &manifest.target.media),
    ] {
        if let Some(folder) = folder {
            found.notes.push(folders::note(side, folder));
        }
    }
    Ok(found)
}
