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
pub use self::found::{Inspection, NetboxSchema, Sizes, SourceFacts};
pub use self::netbox::read_netbox_schema;
use crate::display::units::human_bytes;
use crate::manifest::{Compression, Keep, Manifest};
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
        found.sizes.folders += folders::bytes(&copied.source);
        found
            .notes
            .push(folders::note("source", copied.folder, &copied.source));
        found
            .notes
            .push(folders::note("target", copied.folder, &copied.target));
        found.notes.extend(folders::companions(&copied.target));
    }
    found.notes.push(artifacts_note(manifest, &found.sizes));
    Ok(found)
}

/// How much room the artifacts will take, and what becomes of them.
fn artifacts_note(manifest: &Manifest, sizes: &Sizes) -> String {
    let a = &manifest.artifacts;
    let estimate = sizes.source_data + sizes.folders;
    let compressed = if a.compression == Compression::None {
        ""
    } else {
        " before compression"
    };
    let fate = match a.keep {
        Keep::All => "kept after the run (`replicate clean` removes them)",
        Keep::None => "removed after a run that completes the plan (keep = \"none\")",
    };
    format!(
        "artifacts: about {}{compressed} in {} (they hold the source's data); {fate}",
        human_bytes(estimate),
        crate::io::paths::display(&a.dir)
    )
}
