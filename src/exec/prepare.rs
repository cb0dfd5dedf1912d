//! Everything `apply` needs before it may be approved: the manifest for
//! the systems the steps reach, the live plan (checked against a saved
//! one), and the steps that will run. Nothing is written yet, but for an
//! object store's journal and sums pulled into the local cache.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::artifacts::open_artifacts;
use super::error::ApplyError;
use super::load::load_manifest;
use super::selection::{self, Chosen};
use super::source_record;
use crate::io::paths;
use crate::manifest::{DEFAULT_MANIFEST, Manifest};
use crate::plan::document::PlanDocument;
use crate::plan::{self, Plan, Sides, SourceInput, StepId, Tunnels};
use crate::store::ArtifactsDir;

/// What `replicate apply` is asked to run.
#[derive(Debug, Clone, Default)]
pub struct ApplyRequest {
    /// A plan saved with `replicate plan --out`.
    pub plan_file: Option<PathBuf>,
    /// The manifest named with `-m` or `REPLICATE_MANIFEST`, if any.
    pub manifest: Option<PathBuf>,
    /// Run only these steps (`--steps`).
    pub steps: Option<Vec<StepId>>,
    /// Continue the run recorded in `state.json`.
    pub resume: bool,
}

/// A run ready to be shown, approved, and handed to [`super::apply`].
#[derive(Debug)]
pub struct Prepared {
    pub manifest: Manifest,
    pub plan: Plan,
    /// The plan as saved and shown.
    pub document: PlanDocument,
    /// Whether the plan came from a saved file (approved when it was made).
    pub saved: bool,
    /// The steps that will run.
    pub selected: BTreeSet<StepId>,
    /// The other steps of the plan, and why each will not run.
    pub skipped: BTreeMap<StepId, String>,
    pub(super) artifacts: ArtifactsDir,
    /// Whether the object store's sums and journal are in the cache.
    pub(super) pulled: bool,
    /// `--steps` was given: not the whole plan runs.
    pub(super) some_steps: bool,
    /// The tunnels the run's connections go through, open until it ends.
    pub(super) tunnels: Tunnels,
}

/// Loads, plans and selects for `request`; `loaded` sees the manifest as
/// soon as it is loaded (to show its warnings).
pub fn prepare(request: &ApplyRequest, loaded: &dyn Fn(&Manifest)) -> Result<Prepared, ApplyError> {
    let saved = request
        .plan_file
        .as_ref()
        .map(|path| PlanDocument::read(path).map(|doc| (path, doc)))
        .transpose()?;
    let path = manifest_path(saved.as_ref(), request.manifest.as_deref())?;
    // A run of some steps reaches only the systems they touch.
    let sides = Sides::for_steps(request.steps.as_deref());
    let mut manifest = load_manifest(&path, sides)?;
    loaded(&manifest);
    if let Some((path, doc)) = &saved {
        doc.check_still_valid(path, &manifest)?;
    }
    let artifacts = open_artifacts(&manifest)?;
    let recorded = !sides.source && manifest.has_database();
    // With an object store, what it holds is what counts.
    let pulled = artifacts.remote().is_some() && (recorded || request.resume);
    if pulled {
        artifacts.create()?;
        artifacts.pull().map_err(ApplyError::io(format!(
            "cannot read {}",
            artifacts.location()
        )))?;
    }
    let source = if recorded {
        SourceInput::Recorded(Box::new(source_record::read(&artifacts)?))
    } else {
        SourceInput::Live
    };
    // Held until the run ends: every connection to a side with a tunnel
    // goes through it.
    let tunnels = Tunnels::open(&mut manifest, sides)?;
    let (plan, document) = plan::live_for(&manifest, &manifest.secrets(), sides, source)
        .map_err(|e| tunnels.explain(e))?;
    if let Some((path, doc)) = &saved {
        doc.check_same_steps(path, &manifest, &document)?;
    }
    let Chosen { selected, skipped } = selection::choose(
        &manifest,
        &plan,
        &document.digest(),
        request.steps.as_deref(),
        request.resume,
        &artifacts,
    )?;
    Ok(Prepared {
        manifest,
        plan,
        document,
        saved: saved.is_some(),
        selected,
        skipped,
        artifacts,
        pulled,
        some_steps: request.steps.is_some(),
        tunnels,
    })
}

/// The manifest to load: a saved plan's own (the one named must be it),
/// the one named, or the default.
fn manifest_path(
    saved: Option<&(&PathBuf, PlanDocument)>,
    given: Option<&Path>,
) -> Result<PathBuf, ApplyError> {
    Ok(match (saved, given) {
        (Some((path, doc)), Some(given)) => {
            let same = std::path::absolute(given)
                .map(|g| paths::normalize(&g) == doc.manifest.path)
                .unwrap_or(false);
            if !same {
                return Err(ApplyError::PlanForAnotherManifest {
                    path: path.display().to_string(),
                    planned: doc.manifest.path.display().to_string(),
                    given: given.display().to_string(),
                });
            }
            doc.manifest.path.clone()
        }
        (Some((_, doc)), None) => doc.manifest.path.clone(),
        (None, given) => given.map_or_else(|| PathBuf::from(DEFAULT_MANIFEST), Path::to_path_buf),
    })
}
