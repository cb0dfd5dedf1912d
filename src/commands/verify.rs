//! `replicate verify`: re-hash the artifacts against `SHA256SUMS`.

use std::path::Path;

use crate::artifacts::ArtifactsDir;
use crate::cli::exit;
use crate::error::Error;
use crate::plan;

pub fn run(path: &Path) -> Result<u8, Error> {
    let manifest = super::load_manifest(path)?;
    let plan = plan::plan(&manifest, None)?;
    let artifacts = ArtifactsDir::new(&manifest.artifacts.dir);
    let sums = artifacts
        .read_sums()
        .map_err(|e| Error::Io(format!("cannot read SHA256SUMS: {e}")))?;
    let mut problems = Vec::new();
    for artifact in plan.steps().flat_map(|s| s.produces.iter()) {
        match artifacts.verify_artifact(&artifact.name, &sums) {
            Ok(bytes) => super::print(&format!(
                "ok      {} ({})\n",
                artifact.name,
                crate::inspect::human_bytes(bytes)
            )),
            Err(mismatch) => {
                super::print(&format!("FAILED  {mismatch}\n"));
                problems.push(mismatch.to_string());
            }
        }
    }
    if problems.is_empty() {
        return Ok(exit::SUCCESS);
    }
    Err(Error::ArtifactsNotReady {
        message: problems.join("; "),
        help: Some("produce the artifacts again with `replicate apply`".to_owned()),
    })
}
