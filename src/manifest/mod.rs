//! The manifest: `replicate.toml` read ([`read`]), interpolated and checked
//! ([`validate`]) into a [`Manifest`], with diagnostics that point into
//! the file.

mod choices;
mod diagnostic;
mod error;
mod interpolate;
mod load;
mod mask;
mod model;
#[macro_use]
mod raw_table;
mod raw;
mod read;
mod source_file;
mod text;
mod toml_error;
mod validate;

pub use self::choices::{
    CheckDepth, Compression, DatabaseContent, DumpFormat, Folder, Keep, Preset, Strategy,
};
pub use self::diagnostic::ManifestDiagnostic;
pub use self::error::ManifestError;
pub use self::interpolate::variables_only_in;
pub use self::model::{
    Artifacts, CopiedFolder, Include, LOGINS_SECRET, Manifest, Rule, RuleSpans, Sanitize, Source,
    Spans, Target,
};
pub use self::raw::json_schema;
pub use self::source_file::SourceFile;
pub use self::text::Text;

/// The default manifest file name.
pub const DEFAULT_MANIFEST: &str = "replicate.toml";
