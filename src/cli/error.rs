//! Every error the command line reports: those of the layers below (the
//! manifest's and the plan's through [`ApplyError`], which holds them),
//! and those of the command line itself.

use miette::Diagnostic;

use crate::exec::ApplyError;
use crate::init::InitError;
use crate::manifest::ManifestError;
use crate::plan::PlanError;

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum Error {
    /// From an operation, the manifest or the plan.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Apply(#[from] ApplyError),

    #[error("refusing to {command} without approval: no terminal to ask on")]
    #[diagnostic(code(replicate::not_approved), help("{help}"))]
    NotApproved {
        command: &'static str,
        help: &'static str,
    },

    #[error("{command} cancelled: the answer was not `yes`")]
    #[diagnostic(code(replicate::cancelled))]
    Cancelled { command: &'static str },

    #[error("cannot write the manual page: {source}")]
    #[diagnostic(code(replicate::io))]
    ManualPage {
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Init(#[from] InitError),
}

impl From<ManifestError> for Error {
    fn from(error: ManifestError) -> Self {
        Self::Apply(error.into())
    }
}

impl From<PlanError> for Error {
    fn from(error: PlanError) -> Self {
        Self::Apply(error.into())
    }
}
