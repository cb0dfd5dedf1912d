//! `replicate show PLAN`: print a saved plan.

use std::path::Path;

use super::super::error::Error;
use super::super::output::print;
use super::super::{exit, plan_text};
use crate::plan::document::PlanDocument;

pub fn run(path: &Path, json: bool, verbose: bool) -> Result<u8, Error> {
    let doc = PlanDocument::read(path)?;
    if json {
        print(&doc.to_json());
    } else {
        print(&plan_text::render(
            &doc,
            &plan_text::Shown {
                verbose,
                ..plan_text::Shown::default()
            },
        ));
    }
    Ok(exit::SUCCESS)
}
