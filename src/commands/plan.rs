//! `replicate plan`: show what `apply` would do, and save it.

use std::path::PathBuf;

use crate::cli::exit;
use crate::error::Error;
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
    if !options.offline {
        return Err(Error::LiveUnavailable);
    }
    let plan = plan::plan(&manifest, None)?;
    let doc = PlanDocument::new(&manifest, &plan, false);
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
