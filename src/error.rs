//! Every error `replicate` reports, as miette diagnostics.

use std::io;

use miette::Diagnostic;

use crate::manifest::ManifestDiagnostic;
use crate::source_file::SourceFile;

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum Error {
    #[error("cannot read the manifest {path}: {source}")]
    #[diagnostic(
        code(replicate::manifest_unreadable),
        help(
            "name the manifest with `-m FILE` or `REPLICATE_MANIFEST`; the default is ./replicate.toml"
        )
    )]
    ReadManifest {
        path: String,
        #[source]
        source: io::Error,
    },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Manifest(ManifestDiagnostic),

    #[error("cannot read the plan file {path}: {source}")]
    #[diagnostic(code(replicate::plan_unreadable))]
    ReadPlan {
        path: String,
        #[source]
        source: io::Error,
    },

    #[error("{path} is not a replicate plan file")]
    #[diagnostic(
        code(replicate::plan_invalid),
        help("plan files are written by `replicate plan --out PLAN`; do not edit them by hand")
    )]
    BadPlan {
        path: String,
        #[source_code]
        src: SourceFile,
        #[label("{reason}")]
        at: (usize, usize),
        reason: String,
    },

    #[error("{path} has plan format version {found}; this replicate reads version {supported}")]
    #[diagnostic(code(replicate::plan_version))]
    PlanVersion {
        path: String,
        found: u64,
        supported: u32,
        #[help]
        advice: Option<String>,
    },

    #[error("cannot write {path}: {source}")]
    #[diagnostic(code(replicate::write))]
    Write {
        path: String,
        #[source]
        source: io::Error,
    },

    #[error("live planning is not available in this version")]
    #[diagnostic(
        code(replicate::live_unavailable),
        help("run `replicate plan --offline` to plan from the manifest alone")
    )]
    LiveUnavailable,

    #[error("the step graph has a cycle through {0}")]
    #[diagnostic(
        code(replicate::internal),
        help("this is a bug in replicate; please report it")
    )]
    Cycle(String),
}
