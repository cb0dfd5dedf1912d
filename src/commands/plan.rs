//! `replicate plan`: show what `apply` would do, and save it.

use std::path::PathBuf;

use crate::cli::exit;
use crate::error::Error;
use crate::inspect::{inspect, secrets_of};
use crate::manifest::Manifest;
use crate::plan::document::PlanDocument;
use crate::plan::{self, render};

pub struct PlanOptions {
    pub manifest: PathBuf,
    pub out: Option<PathBuf>,
    pub json: bool,
    pub offline: bool,
    pub detailed_exitcode: bool,
}

pub fn run(options: &PlanOptions) -> Result<u8, Error> {
    let manifest = super::load_manifest(&options.manifest)?;
    let doc = if options.offline {
        let plan = plan::plan(&manifest, None)?;
        PlanDocument::new(&manifest, &plan, None)
    } else {
        live_plan(&manifest)?
    };
    if let Some(out) = &options.out {
        doc.write(out)?;
    }
    if options.json {
        super::print(&doc.to_json());
    } else {
        super::print(&render::render(&doc));
        if let Some(out) = &options.out {
            super::print(&format!(
                "\nSaved the plan to {}. Apply exactly this plan with:\n    replicate apply {}\n",
                out.display(),
                out.display()
            ));
        }
    }
    if options.detailed_exitcode && !doc.steps.is_empty() {
        return Ok(exit::CHANGES);
    }
    Ok(exit::SUCCESS)
}

/// Inspects the source and target and plans with what was found.
pub fn live_plan(manifest: &Manifest) -> Result<PlanDocument, Error> {
    let secrets = secrets_of(manifest);
    let inspection = inspect(manifest, &secrets).map_err(|e| Error::inspect(e, manifest))?;
    let plan = plan::plan(manifest, inspection.facts.as_ref())?;
    Ok(PlanDocument::new(manifest, &plan, Some(&inspection)))
}
