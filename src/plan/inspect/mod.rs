//! Live planning: what the source and target look like right now, and
//! whether the tools on this machine can do the job.

mod error;
mod folders;
mod source;
mod target;
mod tools;

pub use self::error::InspectError;
use crate::manifest::Manifest;
use crate::postgres::Secrets;

/// What live planning learnt about the source database, needed to create the
/// target database like it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFacts {
    pub encoding: String,
    pub lc_collate: String,
    pub lc_ctype: String,
    /// `icu` or `libc` (PostgreSQL 15 and later); `None` on older servers.
    pub locale_provider: Option<String>,
    /// The ICU locale when the provider is ICU.
    pub icu_locale: Option<String>,
}

/// What live planning found.
#[derive(Debug, Clone, Default)]
pub struct Inspection {
    pub facts: Option<SourceFacts>,
    /// One line each, for the plan's header.
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
}

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
