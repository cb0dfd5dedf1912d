//! `verify`: every artifact re-hashed against `SHA256SUMS`.

use crate::display::units::count;
use crate::exec::scheduler::{StepFailure, StepReport, StepResult};
use crate::io::files::size_of;
use crate::plan::Artifact;
use crate::store::{SUMS_FILE, Sums, belongs_to};

use super::context::{StepContext, StepWork};

/// `verify`: every artifact the plan produces re-hashed against
/// `SHA256SUMS`.
pub(in crate::exec) struct Verify<'a> {
    /// Every artifact.
    pub(in crate::exec) consumes: &'a [Artifact],
}

impl StepWork for Verify<'_> {
    fn run(&self, cx: &StepContext<'_>) -> StepResult {
        let (consumes, artifacts) = (self.consumes, cx.artifacts);
        let sums = artifacts.read_sums().map_err(|e| {
            StepFailure::new(format!(
                "cannot read {}: {e}",
                artifacts.join(SUMS_FILE).display()
            ))
        })?;
        let names: Vec<&str> = consumes.iter().map(|a| a.name.as_str()).collect();
        // From an object store: what the cache lacks, or holds an old copy of.
        for name in &names {
            artifacts.fetch(name, &sums).map_err(|mismatch| {
                StepFailure::new(format!("verify failed: {mismatch}")).with_help(format!(
                    "the artifacts in {} changed or are missing; produce them again (`replicate apply --steps dump,archive`)",
                    artifacts.location()
                ))
            })?;
        }
        let meter = &cx.meter;
        meter.set_total(
            sums.iter()
                .filter(|(path, _)| names.iter().any(|n| belongs_to(path, n)))
                .filter_map(|(path, _)| size_of(&artifacts.join(path)))
                .sum(),
        );
        let bytes = artifacts
            .verify_artifacts_tallied(&names, &sums, &meter.done)
            .map_err(|mismatch| {
                StepFailure::new(format!("verify failed: {mismatch}")).with_help(format!(
                    "the artifacts in {} changed after they were written; produce them again (`replicate apply --steps dump` or a full `replicate apply`)",
                    artifacts.path().display()
                ))
            })?;
        Ok(StepReport {
            bytes,
            checksums: Sums::new(),
            note: Some(count(consumes.len() as u64, "artifact", "artifacts")),
            ..StepReport::default()
        })
    }
}
