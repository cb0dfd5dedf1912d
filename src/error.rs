//! Every error `replicate` reports, as miette diagnostics.

use std::io;

use miette::Diagnostic;

use crate::inspect::InspectError;
use crate::manifest::{Manifest, ManifestDiagnostic};
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

    #[error("{}", .0.message)]
    #[diagnostic(code(replicate::inspect), help("{}", .0.help.as_deref().unwrap_or("")))]
    Inspect(InspectError),

    #[error("another apply holds {path}: {holder}")]
    #[diagnostic(
        code(replicate::locked),
        help(
            "wait for it to finish; two runs on one artifacts folder would overwrite each other's files"
        )
    )]
    Locked { path: String, holder: String },

    #[error("the plan {path} is stale: {reason}")]
    #[diagnostic(
        code(replicate::stale_plan),
        help("make a new plan with `replicate plan --out {path}`, review it, then apply it")
    )]
    StalePlan { path: String, reason: String },

    #[error("refusing to apply without approval: no terminal to ask on")]
    #[diagnostic(
        code(replicate::not_approved),
        help(
            "review the plan, then run `replicate apply --auto-approve`, or save it with `replicate plan --out PLAN` and run `replicate apply PLAN`"
        )
    )]
    NotApproved,

    #[error("apply cancelled: the answer was not `yes`")]
    #[diagnostic(code(replicate::cancelled))]
    Cancelled,

    #[error("{message}")]
    #[diagnostic(code(replicate::steps))]
    BadSteps {
        message: String,
        #[help]
        help: Option<String>,
    },

    #[error("the artifacts are not ready: {message}")]
    #[diagnostic(code(replicate::artifacts))]
    ArtifactsNotReady {
        message: String,
        #[help]
        help: Option<String>,
    },

    #[error("step `{step}` failed: {details}")]
    #[diagnostic(code(replicate::step_failed))]
    StepFailed {
        step: String,
        details: String,
        #[help]
        help: Option<String>,
    },

    #[error("{0}")]
    #[diagnostic(code(replicate::io))]
    Io(String),

    #[error("{message}")]
    #[diagnostic(code(replicate::artifacts_folder))]
    ArtifactsFolder {
        message: String,
        #[help]
        help: String,
    },

    #[error("apply stopped by {signal} {during}\ntarget: {target}")]
    #[diagnostic(
        code(replicate::interrupted),
        help(
            "children were stopped and state.json records where; run `replicate apply --resume` to finish"
        )
    )]
    Interrupted {
        signal: String,
        during: String,
        target: String,
    },

    #[error("the plan {path} was made for {planned}, not {given}")]
    #[diagnostic(
        code(replicate::plan_manifest),
        help("leave out -m to apply the plan with its own manifest, or plan again with this one")
    )]
    PlanForAnotherManifest {
        path: String,
        planned: String,
        given: String,
    },

    #[error("the step graph has a cycle through {0}")]
    #[diagnostic(
        code(replicate::internal),
        help("this is a bug in replicate; please report it")
    )]
    Cycle(String),
}

impl Error {
    /// A problem found while inspecting the systems; when a manifest value
    /// caused it, the diagnostic points at that value.
    pub fn inspect(error: InspectError, manifest: &Manifest) -> Self {
        match error.at {
            Some((span, label)) => {
                let mut diagnostic =
                    ManifestDiagnostic::error("replicate::inspect", &manifest.file, error.message)
                        .with_label(span, label);
                if let Some(help) = error.help {
                    diagnostic = diagnostic.with_help(help);
                }
                Error::Manifest(diagnostic)
            }
            None => Error::Inspect(error),
        }
    }
}

/// A warning shown on stderr; it does not stop the command.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{message}")]
#[diagnostic(code(replicate::warning), severity(Warning))]
pub struct Warning {
    pub message: String,
    #[help]
    pub help: String,
}
