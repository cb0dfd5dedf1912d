//! Why an operation (apply, verify, rollback, clean) did not complete.
//! Where another error is the cause, the variant keeps it as its source;
//! the message still names it, as people read only the message.

use miette::Diagnostic;

use crate::io::sha256sum::SumsError;
use crate::manifest::ManifestError;
use crate::plan::PlanError;
use crate::postgres::libpq::PqError;
use crate::postgres::query::QueryError;
use crate::store::StoreError;
use crate::store::journal::ReadError;

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum ApplyError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Manifest(#[from] ManifestError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Plan(#[from] PlanError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Store(#[from] StoreError),

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

    #[error("{message}")]
    #[diagnostic(code(replicate::steps))]
    BadSteps {
        message: String,
        #[help]
        help: Option<String>,
    },

    #[error("cannot resume: {source}")]
    #[diagnostic(
        code(replicate::steps),
        help("run `replicate apply` without --resume to start over")
    )]
    CannotResume {
        #[source]
        source: ReadError,
    },

    #[error("{message}")]
    #[diagnostic(code(replicate::steps))]
    NothingToCheck {
        message: String,
        #[help]
        help: Option<String>,
    },

    #[error("the artifacts are not ready: {message}")]
    #[diagnostic(code(replicate::artifacts))]
    NotReady {
        message: String,
        #[help]
        help: Option<String>,
    },

    /// A file, a folder or the object store could not be read or written.
    #[error("{context}: {source}")]
    #[diagnostic(code(replicate::io))]
    Io {
        /// What could not be done: `cannot read SHA256SUMS`.
        context: String,
        #[source]
        source: std::io::Error,
    },

    /// A query on a server failed.
    #[error("{context}: {source}")]
    #[diagnostic(code(replicate::io))]
    Query {
        context: String,
        #[source]
        source: QueryError,
    },

    /// A database's catalog could not be read.
    #[error("{context}: {source}")]
    #[diagnostic(code(replicate::io))]
    Catalog {
        context: String,
        #[source]
        source: PqError,
    },

    #[error("cannot read the target's NetBox schema: {source}")]
    #[diagnostic(code(replicate::io))]
    TargetSchema {
        #[source]
        source: PlanError,
    },

    /// A folder's checksum list could not be used.
    #[error("{source}")]
    #[diagnostic(code(replicate::io))]
    FolderSums {
        #[source]
        source: SumsError,
    },

    /// A copied folder could not be read.
    #[error("{source}")]
    #[diagnostic(code(replicate::io))]
    Folder {
        #[source]
        source: Box<super::target_folder::FolderError>,
    },

    /// A record could not be written as JSON.
    #[error("{source}")]
    #[diagnostic(code(replicate::io))]
    Encode {
        #[source]
        source: serde_json::Error,
    },

    #[error("step `{step}` failed: {details}")]
    #[diagnostic(code(replicate::step_failed))]
    StepFailed {
        step: String,
        details: String,
        #[help]
        help: Option<String>,
    },

    #[error("step `rollback` failed: cannot swap {previous} back in: {source}")]
    #[diagnostic(
        code(replicate::step_failed),
        help("nothing was renamed: the target is as it was")
    )]
    RollbackDatabase {
        previous: String,
        #[source]
        source: QueryError,
    },

    #[error("step `rollback` failed: cannot swap the folder {folder} back: {source}")]
    #[diagnostic(code(replicate::step_failed), help("{help}"))]
    RollbackFolder {
        folder: String,
        #[source]
        source: Box<super::target_folder::FolderError>,
        /// Whether the target could be put back as it was.
        help: String,
    },

    #[error("{message}")]
    #[diagnostic(code(replicate::no_previous), help("{help}"))]
    NoPrevious { message: String, help: String },

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
}

impl ApplyError {
    /// An I/O error with what could not be done (`cannot read SHA256SUMS`).
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }
}
