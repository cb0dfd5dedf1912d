//! The manifest: `replicate.toml` read, interpolated, checked and resolved.

mod choices;
mod diagnostic;
mod error;
mod interpolate;
mod mask;
pub mod raw;
mod read;
mod source_file;
mod text;
mod toml_error;
mod validate;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use self::choices::{Choice, Compression, DatabaseContent, DumpFormat};
pub use self::diagnostic::ManifestDiagnostic;
pub use self::error::ManifestError;
pub use self::interpolate::{InterpolationError, interpolate};
pub use self::mask::mask_passwords;
pub use self::source_file::SourceFile;
pub use self::text::Text;
use crate::io::paths;
use crate::postgres::{DbUrl, Secret, Secrets, Tools};

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
    /// The value of every `${NAME}` the manifest uses: never shown, and
    /// hidden again wherever a child prints it.
    pub variables: BTreeMap<String, Secret>,
    /// Problems that do not stop the manifest from being used.
    pub warnings: Vec<ManifestDiagnostic>,
}

#[derive(Debug, Clone)]
pub struct Source {
    pub database: DbUrl,
    pub media: Option<PathBuf>,
    pub invalidate: Option<Vec<Text>>,
}

#[derive(Debug, Clone)]
pub struct Target {
    pub database: DbUrl,
    pub media: Option<PathBuf>,
    pub invalidate: Option<Vec<Text>>,
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

/// Byte ranges in the manifest of the values that later checks (live
/// planning, apply) may complain about.
#[derive(Debug, Clone, Default)]
pub struct Spans {
    pub source_database: Range<usize>,
    pub target_database: Range<usize>,
    pub exclude_table_data: Vec<Range<usize>>,
    pub compression: Option<Range<usize>>,
    pub format: Option<Range<usize>>,
    pub bindir: Option<Range<usize>>,
}

impl Manifest {
    /// Reads and checks the manifest at `path`, named in messages as the user
    /// wrote it, with `${NAME}` taken from the process environment.
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        Self::load_with_env(path, &|name| std::env::var(name).ok())
    }

    pub fn load_with_env(
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ManifestError> {
        let unreadable = |source| ManifestError::Unreadable {
            path: path.display().to_string(),
            source,
        };
        let text = std::fs::read_to_string(path).map_err(unreadable)?;
        let absolute = std::path::absolute(path).map_err(unreadable)?;
        let absolute = paths::normalize(&absolute);
        let file = SourceFile::new(path.display().to_string(), text);
        Self::parse(file, &absolute, env).map_err(ManifestError::Invalid)
    }

    /// Checks manifest text that lives at `path` (used for relative paths).
    pub fn parse(
        file: SourceFile,
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ManifestDiagnostic> {
        let sha256 = hex::encode(Sha256::digest(file.text().as_bytes()));
        // Diagnostics quote the file: never a password written in it.
        let shown = SourceFile::new(file.name(), mask_passwords(file.text()));
        let (raw, problems) = read::read(file.text(), &shown)?;
        validate::validate(raw, problems, shown, path, sha256, env)
    }

    /// Whether any step touches a database.
    pub fn has_database(&self) -> bool {
        self.include.database != DatabaseContent::None
    }

    /// The secrets the manifest carries: the databases' passwords, by
    /// origin, and every value taken from the environment.
    pub fn secrets(&self) -> Secrets {
        let mut secrets = Secrets::default();
        if let Some(p) = self.source.database.password() {
            secrets.insert("source.database", p.clone());
        }
        if let Some(p) = self.target.database.password() {
            secrets.insert("target.database", p.clone());
        }
        for (name, value) in &self.variables {
            secrets.insert_variable(name, value.clone());
        }
        secrets
    }
}

/// The JSON Schema of the manifest, as `replicate schema` prints it.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(raw::RawManifest);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
