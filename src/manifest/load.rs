//! Loading a manifest: the file read, its passwords masked for
//! diagnostics, its TOML walked, every value checked.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::diagnostic::ManifestDiagnostic;
use super::error::ManifestError;
use super::mask::mask_passwords;
use super::model::Manifest;
use super::source_file::SourceFile;
use super::{read, validate};
use crate::io::paths;

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
}
