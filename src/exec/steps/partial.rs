//! An artifact being written: under a `.partial` name until it is whole,
//! then renamed and its sums recorded; removed on any failure.

use std::fs;
use std::io;
use std::path::PathBuf;

use super::context::StepContext;
use crate::exec::scheduler::StepFailure;
use crate::io::files::{describe_io, partial_path, remove_any};
use crate::store::Sums;

/// An artifact being written: `NAME.partial`, renamed to `NAME` when
/// complete and removed on any failure.
pub(in crate::exec) struct Partial {
    pub(super) name: String,
    pub(in crate::exec) path: PathBuf,
    final_path: PathBuf,
}

impl Partial {
    /// Clears the previous `name` (from disk and `SHA256SUMS`) first.
    pub(in crate::exec) fn start(cx: &StepContext<'_>, name: &str) -> Result<Self, StepFailure> {
        let final_path = cx.artifacts.join(name);
        let partial = Self {
            name: name.to_owned(),
            path: partial_path(&final_path),
            final_path,
        };
        cx.artifacts
            .forget(name)
            .map_err(|e| partial.failure("clear the previous artifact at", &e))?;
        Ok(partial)
    }

    /// A failure to `what` the partial artifact, which is removed.
    pub(in crate::exec) fn failure(&self, what: &str, e: &io::Error) -> StepFailure {
        self.abandon();
        StepFailure::new(format!(
            "cannot {what} {}: {}",
            self.path.display(),
            describe_io(e)
        ))
    }

    pub(in crate::exec) fn abandon(&self) {
        let _ = remove_any(&self.path);
    }

    /// Renames the complete artifact and records its sums.
    pub(in crate::exec) fn finish(
        self,
        cx: &StepContext<'_>,
        sums: &Sums,
    ) -> Result<(), StepFailure> {
        fs::rename(&self.path, &self.final_path).map_err(|e| self.failure("rename", &e))?;
        cx.artifacts
            .record(&self.name, sums)
            .map_err(|e| StepFailure::new(format!("cannot write SHA256SUMS: {e}")))
    }

    /// [`Partial::finish`] for an artifact uploaded as it was written.
    pub(super) fn finish_uploaded(
        self,
        cx: &StepContext<'_>,
        sums: &Sums,
        tag: Option<String>,
    ) -> Result<(), StepFailure> {
        fs::rename(&self.path, &self.final_path).map_err(|e| self.failure("rename", &e))?;
        cx.artifacts
            .record_uploaded(&self.name, sums, tag)
            .map_err(|e| StepFailure::new(format!("cannot write SHA256SUMS: {e}")))
    }
}
