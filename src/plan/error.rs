//! What can go wrong when planning, or with a saved plan.

use std::io;

use miette::Diagnostic;

use super::inspect::InspectError;
use crate::io::files::describe_io;
use crate::manifest::SourceFile;

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum PlanError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Inspect(#[from] InspectError),

    #[error("cannot read the plan file {path}: {source}")]
    #[diagnostic(code(replicate::plan_unreadable))]
    Unreadable {
        path: String,
        #[source]
        source: io::Error,
    },

    #[error("{path} is not a replicate plan file")]
    #[diagnostic(
        code(replicate::plan_invalid),
        help("plan files are written by `replicate plan --out PLAN`; do not edit them by hand")
    )]
    NotAPlan {
        path: String,
        #[source_code]
        src: SourceFile,
        #[label("{reason}")]
        at: (usize, usize),
        reason: String,
    },

    #[error("{path} has plan format version {found}; this replicate reads version {supported}")]
    #[diagnostic(code(replicate::plan_version))]
    Version {
        path: String,
        found: u64,
        supported: u32,
        #[help]
        advice: Option<String>,
    },

    #[error("cannot write {path}: {}", describe_io(source))]
    #[diagnostic(code(replicate::write))]
    Write {
        path: String,
        #[source]
        source: io::Error,
    },

    #[error("the plan {path} is stale: {reason}")]
    #[diagnostic(
        code(replicate::stale_plan),
        help("make a new plan with `replicate plan --out {path}`, review it, then apply it")
    )]
    Stale { path: String, reason: String },

    #[error("the step graph has a cycle through {0}")]
    #[diagnostic(
        code(replicate::internal),
        help("this is a bug in replicate; please report it")
    )]
    Cycle(String),
}
