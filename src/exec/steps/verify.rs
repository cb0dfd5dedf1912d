//! `verify`: every artifact re-hashed against `SHA256SUMS`.

use crate::display::units::count;
use crate::exec::runner::StepRunner;
use crate::exec::scheduler::{StepFailure, StepReport, StepResult};
use crate::io::files::size_of;
use crate::plan::Step;
use crate::store::{SUMS_FILE, Sums, belongs_to};

impl StepRunner<'_> {
    /// Re-hashes every artifact the plan produces against `SHA256SUMS`.
    pub(in crate::exec) fn verify(&self, step: &Step) -> StepResult {
        let sums = self.artifacts.read_sums().map_err(|e| {
            StepFailure::new(format!(
                "cannot read {}: {e}",
                self.artifacts.join(SUMS_FILE).display()
            ))
        })?;
        let names: Vec<&str> = step.consumes.iter().map(|a| a.name.as_str()).collect();
        // From an object store: what the cache lacks, or holds an old copy of.
        for name in &names {
            self.artifacts.fetch(name, &sums).map_err(|mismatch| {
                StepFailure::new(format!("verify failed: {mismatch}")).with_help(format!(
                    "the artifacts in {} changed or are missing; produce them again (`replicate apply --steps dump,archive`)",
                    self.artifacts.location()
                ))
            })?;
        }
        let meter = self.meters.get(step.id);
        meter.set_total(
            sums.iter()
                .filter(|(path, _)| names.iter().any(|n| belongs_to(path, n)))
                .filter_map(|(path, _)| size_of(&self.artifacts.join(path)))
                .sum(),
        );
        let bytes = self
            .artifacts
            .verify_artifacts_tallied(&names, &sums, &meter.done)
            .map_err(|mismatch| {
                StepFailure::new(format!("verify failed: {mismatch}")).with_help(format!(
                    "the artifacts in {} changed after they were written; produce them again (`replicate apply --steps dump` or a full `replicate apply`)",
                    self.artifacts.path().display()
                ))
            })?;
        Ok(StepReport {
            bytes,
            checksums: Sums::new(),
            note: Some(count(step.consumes.len() as u64, "artifact", "artifacts")),
            ..StepReport::default()
        })
    }
}
