//! `replicate show PLAN`: print a saved plan.

use std::path::Path;

use crate::cli::exit;
use crate::error::Error;
use crate::plan::document::PlanDocument;
use crate::plan::render;

pub fn run(path: &Path, json: bool) -> Result<u8, Error> {
    let doc = PlanDocument::read(path)?;
    if json {
        super::print(&doc.to_json());
    } else {
        super::print(&render::render(&doc));
    }
    Ok(exit::SUCCESS)
}
