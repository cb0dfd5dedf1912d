//! `replicate graph`: the step graph as DOT or Mermaid.

use std::path::Path;

use crate::arguments::GraphFormat;
use crate::cli::exit;
use crate::error::Error;
use crate::plan::{self, graph_output};

pub fn run(path: &Path, format: GraphFormat) -> Result<u8, Error> {
    let manifest = super::load_manifest(path)?;
    let plan = plan::plan(&manifest, None)?;
    let text = match format {
        GraphFormat::Dot => graph_output::dot(&plan),
        GraphFormat::Mermaid => graph_output::mermaid(&plan),
    };
    super::print(&text);
    Ok(exit::SUCCESS)
}
