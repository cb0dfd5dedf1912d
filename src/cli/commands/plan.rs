//! `replicate plan`: show what `apply` would do, and save it.

use std::path::PathBuf;

use super::super::error::Error;
use super::super::load::load_manifest;
use super::super::output::print;
use super::super::{exit, plan_text};
use crate::plan::{self, Sides, Tunnels};

pub struct PlanOptions {
    pub manifest: PathBuf,
    pub out: Option<PathBuf>,
    pub json: bool,
    pub offline: bool,
    pub detailed_exitcode: bool,
    /// Show every command.
    pub verbose: bool,
}

pub fn run(options: &PlanOptions) -> Result<u8, Error> {
    let mut manifest = load_manifest(&options.manifest)?;
    let (_, doc) = if options.offline {
        plan::offline(&manifest)?
    } else {
        let tunnels = Tunnels::open(&mut manifest, Sides::BOTH)?;
        plan::live(&manifest, &manifest.secrets()).map_err(|e| tunnels.explain(e))?
    };
    if let Some(out) = &options.out {
        doc.write(out)?;
    }
    if options.json {
        print(&doc.to_json());
    } else {
        print(&plan_text::render(
            &doc,
            &plan_text::Shown {
                verbose: options.verbose,
                ..plan_text::Shown::default()
            },
        ));
        if let Some(out) = &options.out {
            print(&format!(
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
