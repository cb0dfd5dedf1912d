//! Why a manifest could not be used.

use std::io;

use miette::Diagnostic;

use super::diagnostic::ManifestDiagnostic;

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum ManifestError {
    #[error("cannot read the manifest {path}: {source}")]
    #[diagnostic(
        code(replicate::manifest_unreadable),
        help(
            "name the manifest with `-m FILE` or `REPLICATE_MANIFEST`; the default is ./replicate.toml"
        )
    )]
    Unreadable {
        path: String,
        #[source]
        source: io::Error,
    },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Invalid(ManifestDiagnostic),
}
