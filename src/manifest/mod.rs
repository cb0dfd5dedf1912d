//! The manifest: `replicate.toml` read, interpolated, checked and resolved.

mod choices;
mod diagnostic;
mod interpolate;
pub mod raw;
mod toml_error;
mod validate;

use std::ops::Range;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use choices::{Choice, Compression, DatabaseContent, DumpFormat};
pub use diagnostic::ManifestDiagnostic;
pub use interpolate::{InterpolationError, interpolate};

use crate::db_url::DbUrl;
use crate::error::Error;
use crate::source_file::SourceFile;

/// The default manifest file name.
pub const DEFAULT_MANIFEST: &str = "replicate.toml";

/// A checked manifest: every default applied, every path absolute, every
/// `${NAME}` replaced.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The file as read, for diagnostics found later.
    pub file: SourceFile,
    /// The manifest's absolute path.
    pub path: PathBuf,
    /// The folder holding it: relative paths and commands start here.
    pub dir: PathBuf,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
    pub source: Source,
    pub target: Target,
    pub include: Include,
    pub artifacts: Artifacts,
    pub tools: Tools,
    /// Where values came from, for diagnostics found after validation.
    pub spans: Spans,
    /// Problems that do not stop the manifest from being used.
    pub warnings: Vec<ManifestDiagnostic>,
}

#[derive(Debug, Clone)]
pub struct Source {
    pub database: DbUrl,
    pub media: Option<PathBuf>,
    pub invalidate: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct Target {
    pub database: DbUrl,
    pub media: Option<PathBuf>,
    pub invalidate: Option<Vec<String>>,
    pub terminate_connections: bool,
    pub maintenance_database: String,
}

#[derive(Debug, Clone)]
pub struct Include {
    pub database: DatabaseContent,
    pub exclude_table_data: Vec<String>,
    pub media: bool,
    pub owners: bool,
}

#[derive(Debug, Clone)]
pub struct Artifacts {
    pub dir: PathBuf,
    pub format: DumpFormat,
    pub compression: Compression,
    pub jobs: u32,
}

#[derive(Debug, Clone, Default)]
pub struct Tools {
    pub bindir: Option<PathBuf>,
}

/// Byte ranges in the manifest of the values that later checks (live
/// planning, apply) may complain about.
#[derive(Debug, Clone, Default)]
pub struct Spans {
    pub source_database: Range<usize>,
    pub target_database: Range<usize>,
    pub exclude_table_data: Vec<Range<usize>>,
    pub compression: Option<Range<usize>>,
    pub format: Option<Range<usize>>,
}

impl Manifest {
    /// Reads and checks the manifest at `path`, named in messages as the user
    /// wrote it, with `${NAME}` taken from the process environment.
    pub fn load(path: &Path) -> Result<Self, Error> {
        Self::load_with_env(path, &|name| std::env::var(name).ok())
    }

    pub fn load_with_env(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ReadManifest {
            path: path.display().to_string(),
            source,
        })?;
        let absolute = std::path::absolute(path).map_err(|source| Error::ReadManifest {
            path: path.display().to_string(),
            source,
        })?;
        let absolute = crate::paths::normalize(&absolute);
        let file = SourceFile::new(path.display().to_string(), text);
        Self::parse(file, &absolute, env).map_err(Error::Manifest)
    }

    /// Checks manifest text that lives at `path` (used for relative paths).
    pub fn parse(
        file: SourceFile,
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ManifestDiagnostic> {
        let raw: raw::RawManifest =
            toml::from_str(file.text()).map_err(|e| toml_error::from_toml_error(&file, &e))?;
        let sha256 = hex::encode(Sha256::digest(file.text().as_bytes()));
        validate::validate(raw, file, path, sha256, env)
    }

    /// Whether any step touches a database.
    pub fn has_database(&self) -> bool {
        self.include.database != DatabaseContent::None
    }
}

/// The JSON Schema of the manifest, as `replicate schema` prints it.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(raw::RawManifest);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
