//! From a [`Manifest`] to a [`Plan`]: which steps exist, what each runs, and
//! how they depend on each other (the step graph the README draws).

mod check;
mod context;
pub use self::context::every_artifact_name;
mod database;
mod folders;
mod sanitize;
mod stream;
mod swap;

use self::context::Planner;
use super::builder::PlanBuilder;
use super::error::PlanError;
use super::graph::Plan;
use super::inspect::SourceFacts;
use super::step::{Artifact, DatabaseRef, Server, Step, StepId};
use crate::manifest::{DumpFormat, Manifest, Strategy};

/// The edges of the README's step graph that every strategy has: the
/// source's cache is flushed before the dump, the dump and the archives
/// are verified, the restore goes into the created database and is
/// checked, and only verified archives are extracted. Edges to steps a
/// manifest does not ask for are dropped by the builder.
const SHARED_EDGES: &[(StepId, StepId)] = &[
    (StepId::InvalidateSource, StepId::Dump),
    (StepId::Dump, StepId::Verify),
    (StepId::Archive, StepId::Verify),
    (StepId::Create, StepId::Restore),
    (StepId::Restore, StepId::Check),
    (StepId::Verify, StepId::Extract),
];

/// `strategy = "swap"`'s own edges: the new database and folders are
/// built beside the live ones, proven, then swapped in at once.
const SWAP_EDGES: &[(StepId, StepId)] = &[
    (StepId::Check, StepId::Swap),
    (StepId::Extract, StepId::Swap),
    (StepId::Swap, StepId::InvalidateTarget),
];

/// `strategy = "replace"`'s own edges, NetBox's documented order: the
/// target is dropped, rebuilt in place and checked.
const REPLACE_EDGES: &[(StepId, StepId)] = &[
    (StepId::Verify, StepId::Drop),
    (StepId::Drop, StepId::Create),
    (StepId::Check, StepId::InvalidateTarget),
    (StepId::Extract, StepId::InvalidateTarget),
];

/// The edges of a strategy and dump format.
pub fn edges(strategy: Strategy, format: DumpFormat) -> Vec<(StepId, StepId)> {
    let mut edges = SHARED_EDGES.to_vec();
    match strategy {
        Strategy::Swap => {
            edges.extend_from_slice(SWAP_EDGES);
            // The new database is not the live one. With the stream format
            // it is created at once and the restore follows the dump as it
            // writes; `check` needs the complete, verified dump. Otherwise
            // it is created once the dump is verified.
            edges.push(if format == DumpFormat::Stream {
                (StepId::Verify, StepId::Check)
            } else {
                (StepId::Verify, StepId::Create)
            });
        }
        Strategy::Replace => edges.extend_from_slice(REPLACE_EDGES),
    }
    edges
}

/// Builds the frozen step graph for `manifest`. `facts` come from live
/// planning; without them (`--offline`) the `create` step shows where the
/// source's encoding and locale will go.
///
/// `after_copy` is what the target's NetBox needs after the copy, as live
/// planning found (`None`: not known; with `target.manage` set, its cached
/// configuration is cleared).
pub fn plan(
    manifest: &Manifest,
    facts: Option<&SourceFacts>,
    after_copy: Option<&[crate::netbox::AfterCopy]>,
) -> Result<Plan, PlanError> {
    let planner = Planner { manifest, facts };
    let strategy = manifest.target.strategy;
    let mut builder = PlanBuilder::new();
    let add = |builder: &mut PlanBuilder, mut step: Step| {
        step.server = server(manifest, step.id);
        builder.step(step);
    };

    if let Some(argv) = &manifest.source.invalidate {
        add(
            &mut builder,
            planner.invalidate(StepId::InvalidateSource, argv, "source"),
        );
    }
    let dump = manifest.has_database().then(|| planner.dump_artifact());
    let sanitized = dump.as_ref().and_then(|_| planner.sanitized_artifact());
    let catalog = dump.as_ref().map(|_| planner.catalog_artifact());
    let folders = planner.folder_artifacts();
    let stream = manifest.artifacts.format == DumpFormat::Stream;
    if let (Some(dump), Some(catalog)) = (&dump, &catalog) {
        let mut step = if stream {
            planner.stream_dump(dump)
        } else if manifest.sanitize.is_some() {
            planner.sanitize_dump(planner.dump(dump), sanitized.as_ref())
        } else {
            planner.dump(dump)
        };
        step.produces.push(catalog.clone());
        add(&mut builder, step);
    }
    if !folders.is_empty() {
        add(&mut builder, planner.archive(&folders));
    }
    let mut all_artifacts: Vec<Artifact> = dump
        .iter()
        .chain(&sanitized)
        .chain(&catalog)
        .cloned()
        .collect();
    for (_, archive, sums) in &folders {
        all_artifacts.push(archive.clone());
        all_artifacts.push(sums.clone());
    }
    add(&mut builder, planner.verify(all_artifacts));
    if let (Some(dump), Some(catalog)) = (&dump, &catalog) {
        if strategy == Strategy::Replace {
            add(&mut builder, planner.drop());
        }
        add(&mut builder, planner.create());
        add(
            &mut builder,
            match &sanitized {
                _ if stream => planner.stream_restore(dump),
                Some(folder) => planner.sanitize_restore(planner.restore(dump), folder),
                None => planner.restore(dump),
            },
        );
        add(&mut builder, planner.check(catalog));
    }
    if !folders.is_empty() {
        add(&mut builder, planner.extract(&folders));
    }
    if strategy == Strategy::Swap {
        add(&mut builder, planner.swap(&folders));
    }
    if let Some(step) = planner.invalidate_target(after_copy) {
        add(&mut builder, step);
    }

    for (before, after) in edges(strategy, manifest.artifacts.format) {
        builder.edge(before, after);
    }
    if stream && planner.restore_follows_dump() {
        builder.follow(StepId::Dump, StepId::Restore);
    }
    // Without a dump, the source's cache is still invalidated before anything
    // is checked or touched.
    if !builder.contains(StepId::Dump) {
        builder.edge(StepId::InvalidateSource, StepId::Verify);
    }
    builder.build()
}

/// The database server step `id` talks to, which its errors name (a swap
/// of folders alone talks to none).
fn server(manifest: &Manifest, id: StepId) -> Option<Server> {
    if !manifest.has_database() {
        return None;
    }
    let (side, url) = match id {
        StepId::Dump => ("source", &manifest.source.database),
        StepId::Drop | StepId::Create | StepId::Restore | StepId::Check | StepId::Swap => {
            ("target", &manifest.target.database)
        }
        _ => return None,
    };
    Some(Server {
        side: side.to_owned(),
        database: DatabaseRef::new(url, &format!("{side}.database")),
    })
}
