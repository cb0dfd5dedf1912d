//! Every error the command line reports: each layer's own, and those of
//! the command line itself.

use miette::Diagnostic;

use crate::exec::ApplyError;
use crate::init::InitError;
use crate::manifest::ManifestError;
use crate::plan::PlanError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum Error {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Manifest(#[from] ManifestError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Plan(#[from] PlanError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Apply(#[from] ApplyError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Store(#[from] StoreError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Init(#[from] InitError),

    #[error("refusing to {command} without approval: no terminal to ask on")]
    #[diagnostic(code(replicate::not_approved), help("{help}"))]
    NotApproved {
        command: &'static str,
        help: &'static str,
    },

    #[error("{command} cancelled: the answer was not `yes`")]
    #[diagnostic(code(replicate::cancelled))]
    Cancelled { command: &'static str },

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
    NothingToCheck {
        message: String,
        #[help]
        help: Option<String>,
    },

    #[error("{0}")]
    #[diagnostic(code(replicate::io))]
    Io(String),
}
