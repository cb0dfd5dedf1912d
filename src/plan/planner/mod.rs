//! From a [`Manifest`] to a [`Plan`]: which steps exist, what each runs, and
//! how they depend on each other (DESIGN section 2).

mod context;
mod database;
mod folders;

use self::context::Planner;
use super::builder::PlanBuilder;
use super::error::PlanError;
use super::graph::Plan;
use super::inspect::SourceFacts;
use super::step::{Artifact, StepId};
use crate::manifest::Manifest;

/// The edges of DESIGN section 2. Edges to steps a manifest does not ask for
/// are dropped by the builder.
pub(crate) const EDGES: &[(StepId, StepId)] = &[
    (StepId::InvalidateSource, StepId::Dump),
    (StepId::Dump, StepId::Verify),
    (StepId::Archive, StepId::Verify),
    (StepId::Verify, StepId::Drop),
    (StepId::Drop, StepId::Create),
    (StepId::Create, StepId::Restore),
    (StepId::Restore, StepId::InvalidateTarget),
    (StepId::Verify, StepId::Extract),
    (StepId::Extract, StepId::InvalidateTarget),
];

/// Builds the frozen step graph for `manifest`. `facts` come from live
/// planning; without them (`--offline`) the `create` step shows where the
/// source's encoding and locale will go.
pub fn plan(manifest: &Manifest, facts: Option<&SourceFacts>) -> Result<Plan, PlanError> {
    let planner = Planner { manifest, facts };
    let mut builder = PlanBuilder::new();

    if let Some(argv) = &manifest.source.invalidate {
        builder.step(planner.invalidate(StepId::InvalidateSource, argv, "source"));
    }
    let dump = manifest.has_database().then(|| planner.dump_artifact());
    let media = planner.media_artifacts();
    if let Some(dump) = &dump {
        builder.step(planner.dump(dump));
    }
    if let Some((archive, sums)) = &media {
        builder.step(planner.archive(archive, sums));
    }
    let mut all_artifacts: Vec<Artifact> = dump.iter().cloned().collect();
    if let Some((archive, sums)) = &media {
        all_artifacts.push(archive.clone());
        all_artifacts.push(sums.clone());
    }
    builder.step(planner.verify(all_artifacts));
    if let Some(dump) = &dump {
        builder.step(planner.drop());
        builder.step(planner.create());
        builder.step(planner.restore(dump));
    }
    if let Some((archive, sums)) = &media {
        builder.step(planner.extract(archive, sums));
    }
    if let Some(argv) = &manifest.target.invalidate {
        builder.step(planner.invalidate(StepId::InvalidateTarget, argv, "target"));
    }

    for &(before, after) in EDGES {
        builder.edge(before, after);
    }
    // Without a dump, the source's cache is still invalidated before anything
    // is checked or touched.
    if !builder.contains(StepId::Dump) {
        builder.edge(StepId::InvalidateSource, StepId::Verify);
    }
    builder.build()
}
