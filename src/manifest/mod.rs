//! The manifest: `replicate.toml` read, interpolated, checked and resolved.

mod choices;
mod diagnostic;
mod interpolate;
pub mod raw;
mod read;
mod text;
mod toml_error;
mod validate;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use choices::{Choice, Compression, DatabaseContent, DumpFormat};
pub use diagnostic::ManifestDiagnostic;
pub use interpolate::{InterpolationError, interpolate};
pub use text::Text;

use crate::db_url::{DbUrl, Secret};
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

#[derive(Debug, Clone, Default)]
pub struct Tools {
    pub bindir: Option<PathBuf>,
}

impl Tools {
    /// The program `name` (`pg_dump`, `psql`): in `bindir`, or a bare name
    /// looked up on `PATH`.
    pub fn program(&self, name: &str) -> PathBuf {
        match &self.bindir {
            Some(dir) => dir.join(name),
            None => PathBuf::from(name),
        }
    }
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
}

/// The text with every password written into a URL (`user:PASSWORD@`,
/// `password=PASSWORD`) replaced by as many `*`, so spans stay valid.
/// `${NAME}` references are not secrets and stay readable.
pub fn mask_passwords(text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let ends_value = |b: u8| matches!(b, b'"' | b'\'' | b'\n' | b' ' | b'\t');
    let mask = |from: usize, to: usize, bytes: &mut Vec<u8>| {
        let value = &text[from..to];
        if !value.contains("${") {
            for b in &mut bytes[from..to] {
                *b = b'*';
            }
        }
    };
    let mut i = 0;
    while let Some(at) = text[i..].find("://") {
        let start = i + at + 3;
        let end = text[start..]
            .bytes()
            .position(|b| ends_value(b) || b == b'/')
            .map_or(text.len(), |p| start + p);
        if let Some(amp) = text[start..end].rfind('@')
            && let Some(colon) = text[start..start + amp].find(':')
        {
            mask(start + colon + 1, start + amp, &mut bytes);
        }
        i = start;
    }
    let mut i = 0;
    while let Some(at) = text[i..].find("password=") {
        let start = i + at + "password=".len();
        let end = text[start..]
            .bytes()
            .position(|b| ends_value(b) || b == b'&')
            .map_or(text.len(), |p| start + p);
        mask(start, end, &mut bytes);
        i = start;
    }
    String::from_utf8(bytes).unwrap_or_else(|_| text.to_owned())
}

/// The JSON Schema of the manifest, as `replicate schema` prints it.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(raw::RawManifest);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::mask_passwords;

    #[test]
    fn passwords_in_the_text_are_masked_and_references_kept() {
        let text = "a = \"postgresql://u:hunter2@h/db\"\nb = \"postgresql://u:${PW}@h/db\"\nc = \"postgres:///db?host=/s&password=s3cr3t&x=1\"\n";
        let masked = mask_passwords(text);
        assert_eq!(masked.len(), text.len());
        assert!(masked.contains("u:*******@h/db"));
        assert!(masked.contains("u:${PW}@h"));
        assert!(masked.contains("password=******&x=1"));
        assert!(!masked.contains("hunter2") && !masked.contains("s3cr3t"));
    }
}
