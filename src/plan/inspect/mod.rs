//! Live planning: what the source and target look like right now, and
//! whether the tools on this machine can do the job.

mod error;
mod folders;
mod found;
mod logins;
mod netbox;
mod sanitize;
mod source;
mod target;
mod tools;

pub use self::error::InspectError;
pub use self::found::{Inspection, NetboxSchema, SOURCE_RECORD, Sizes, SourceFacts, SourceRecord};
pub use self::netbox::{after_copy_on_target, read_netbox_schema};
use crate::manifest::{Compression, Keep, Manifest};
use crate::netbox::Schema;
use crate::plan::Sides;
use crate::postgres::Secrets;
use indicatif::DecimalBytes;

/// Where the source's facts come from.
#[derive(Debug, Clone)]
pub enum SourceInput {
    /// Ask the source server.
    Live,
    /// What a producer recorded (`source.json`): the source is not contacted.
    Recorded(Box<SourceRecord>),
}

/// Inspects the sides a run needs: the source live or from its record, the
/// target when `sides.target`.
pub fn inspect(
    manifest: &Manifest,
    secrets: &Secrets,
    sides: Sides,
    source: SourceInput,
) -> Result<Inspection, InspectError> {
    let mut found = Inspection::default();
    let live = matches!(source, SourceInput::Live);
    if manifest.has_database() {
        tools::check_tools(manifest)?;
        let first_note = found.notes.len();
        let (version, size, schema) = match source {
            SourceInput::Live => {
                let (version, size) = source::inspect(manifest, secrets, &mut found)?;
                let schema = netbox::read_source(manifest, secrets)?;
                (version, size, schema)
            }
            SourceInput::Recorded(record) => {
                let record = *record;
                found.facts = Some(record.facts);
                found.sizes = record.sizes;
                found.notes.extend(record.notes);
                let schema = record.netbox_migrations.and_then(Schema::from_rows);
                (record.server_version_num, record.database_size, schema)
            }
        };
        let source_notes = found.notes[first_note..].to_vec();
        if sides.target {
            target::inspect(manifest, secrets, version, size, &mut found)?;
        }
        netbox::inspect(manifest, secrets, schema.as_ref(), live, sides, &mut found)?;
        if live {
            let first_note = found.notes.len();
            sanitize::inspect(manifest, secrets, &mut found)?;
            logins::inspect(manifest, secrets)?;
            let mut notes = source_notes;
            notes.extend_from_slice(&found.notes[first_note..]);
            found.source = found.facts.clone().map(|facts| SourceRecord {
                server_version_num: version,
                database_size: size,
                facts,
                sizes: found.sizes,
                netbox_migrations: schema.as_ref().map(Schema::rows),
                notes,
            });
        }
    }
    for copied in manifest.folders() {
        let mut needed = None;
        if sides.source {
            let (bytes, note) = folders::source(manifest, copied.folder, &copied.source)?;
            found.sizes.folders += bytes;
            found.notes.push(note);
            needed = Some(bytes);
        }
        if sides.target {
            let (notes, short) = folders::target(manifest, copied.folder, &copied.target, needed)?;
            found.notes.extend(notes);
            found.warnings.extend(short);
        }
    }
    if let Some(record) = &mut found.source {
        record.sizes.folders = found.sizes.folders;
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
        DecimalBytes(estimate),
        crate::io::paths::display(&a.dir)
    )
}
