//! `replicate graph`: the step graph as DOT or Mermaid.

use std::path::Path;

use super::super::arguments::GraphFormat;
use super::super::error::Error;
use super::super::exit;
use super::super::load::load_manifest;
use super::super::output::print;
use crate::plan::{self, graph_output};

pub fn run(path: &Path, format: GraphFormat) -> Result<u8, Error> {
    let manifest = load_manifest(path)?;
    let (plan, _) = plan::offline(&manifest)?;
    let text = match format {
        GraphFormat::Dot => graph_output::dot(&plan),
        GraphFormat::Mermaid => graph_output::mermaid(&plan),
    };
    print(&text);
    Ok(exit::SUCCESS)
}
