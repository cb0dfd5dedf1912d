//! Why a run did not complete.

use miette::Diagnostic;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum ApplyError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Store(#[from] StoreError),

    #[error("{message}")]
    #[diagnostic(code(replicate::steps))]
    BadSteps {
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

    #[error("{0}")]
    #[diagnostic(code(replicate::io))]
    Io(String),

    #[error("step `{step}` failed: {details}")]
    #[diagnostic(code(replicate::step_failed))]
    StepFailed {
        step: String,
        details: String,
        #[help]
        help: Option<String>,
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
