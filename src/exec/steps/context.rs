//! What a step may touch while it runs, and the one thing every step does.

use std::sync::Arc;

use crate::exec::meter::Meter;
use crate::exec::scheduler::StepResult;
use crate::exec::stream::Hub;
use crate::postgres::Secrets;
use crate::store::ArtifactsDir;

/// Everything a step reaches besides its own action: the artifacts, the
/// secrets its programs and connections need, its own progress, and for
/// the stream format's steps the dump shared with the restore.
pub(in crate::exec) struct StepContext<'a> {
    pub(in crate::exec) artifacts: &'a ArtifactsDir,
    pub(in crate::exec) secrets: &'a Secrets,
    /// This step's progress.
    pub(in crate::exec) meter: Arc<Meter>,
    /// The stream format's dump and restore running together: what the
    /// dump has written so far.
    pub(in crate::exec) live: Option<Arc<Hub>>,
}

/// A step's work, given what its action planned.
pub(in crate::exec) trait StepWork {
    fn run(&self, cx: &StepContext<'_>) -> StepResult;
}
