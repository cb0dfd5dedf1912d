//! Live planning: what the source and target look like right now, and
//! whether the tools on this machine can do the job.

mod error;
mod folders;
mod found;
mod netbox;
mod sanitize;
mod source;
mod target;
mod tools;

pub use self::error::InspectError;
pub use self::found::{Inspection, NetboxSchema, SourceFacts};
pub use self::netbox::read_netbox_schema;
use crate::manifest::Manifest;
use crate::postgres::Secrets;

pub fn inspect(manifest: &Manifest, secrets: &Secrets) -> Result<Inspection, InspectError> {
    let mut found = Inspection::default();
    if manifest.has_database() {
        source::inspect(manifest, secrets, &mut found)?;
        netbox::inspect(manifest, secrets, &mut found)?;
        sanitize::inspect(manifest, secrets, &mut found)?;
    }
    for copied in manifest.folders() {
        folders::check_source(manifest, copied.folder, &copied.source)?;
        found
            .notes
            .push(folders::note("source", copied.folder, &copied.source));
        found
            .notes
            .push(folders::note("target", copied.folder, &copied.target));
        found.notes.extend(folders::companions(&copied.target));
    }
    Ok(found)
}
