//! The plan: a frozen graph of steps built from a manifest and, when
//! planning live, from what the systems look like ([`inspect`]).
//!
//! [`PlanBuilder`] may change; [`Plan`] cannot. Acyclicity is checked once,
//! when the builder is turned into a plan, so everything after may assume a DAG.
//! A plan is saved and read back as a [`document::PlanDocument`].

mod builder;
mod difference;
pub mod document;
mod error;
mod graph;
pub mod graph_output;
mod inspect;
mod planner;
mod sides;
mod step;
mod tunnels;

pub use self::builder::PlanBuilder;
use self::document::PlanDocument;
pub use self::error::PlanError;
pub use self::graph::{Edge, Plan};
pub use self::inspect::{
    Inspection, SOURCE_RECORD, Sizes, SourceFacts, SourceInput, SourceRecord, after_copy_on_target,
    read_netbox_schema,
};
pub use self::planner::{edges, every_artifact_name, plan};
pub use self::sides::Sides;
pub use self::step::{
    Action, Artifact, ArtifactKind, CreateDatabase, DatabaseRef, DatabaseSwap, DropDatabase, Dump,
    DumpContents, EnvValue, EnvVar, Exec, FolderArchive, FolderExtract, FolderSwap, Labeled,
    Restore, RestoreInto, SanitizedDump, SanitizedTable, Server, Step, StepId, StepKind, Stream,
    StreamDump, StreamRestore,
};
pub use self::tunnels::Tunnels;
use crate::manifest::Manifest;
use crate::postgres::Secrets;

/// Inspects the source and target, and plans with what was found: the
/// plan and its document (what `plan` prints and saves).
pub fn live(manifest: &Manifest, secrets: &Secrets) -> Result<(Plan, PlanDocument), PlanError> {
    live_for(manifest, secrets, Sides::BOTH, SourceInput::Live)
}

/// [`live`] for a run that reaches only `sides`: the source's facts from
/// `source` (its server, or what a producer recorded).
pub fn live_for(
    manifest: &Manifest,
    secrets: &Secrets,
    sides: Sides,
    source: SourceInput,
) -> Result<(Plan, PlanDocument), PlanError> {
    let inspection = inspect::inspect(manifest, secrets, sides, source)?;
    let plan = plan(
        manifest,
        inspection.facts.as_ref(),
        inspection.after_copy.as_deref(),
    )?;
    let doc = PlanDocument::new(manifest, &plan, Some(&inspection));
    Ok((plan, doc))
}

/// Plans from the manifest alone (`plan --offline`, `graph`, `validate`).
pub fn offline(manifest: &Manifest) -> Result<(Plan, PlanDocument), PlanError> {
    let plan = plan(manifest, None, None)?;
    let doc = PlanDocument::new(manifest, &plan, None);
    Ok((plan, doc))
}
