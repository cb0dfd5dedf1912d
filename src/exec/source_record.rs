//! `source.json`: what planning learnt of the source, kept beside the
//! artifacts (and listed in `SHA256SUMS`) for the machines that restore
//! them without reaching the source.

use sha2::{Digest, Sha256};

use super::error::ApplyError;
use crate::plan::{SOURCE_RECORD, SourceRecord};
use crate::store::{ArtifactsDir, Sums};

/// Writes the record into the artifacts and their sums (with an object
/// store, into the store).
pub(super) fn keep(artifacts: &ArtifactsDir, record: &SourceRecord) -> Result<(), ApplyError> {
    let text = serde_json::to_vec_pretty(record).map_err(|source| ApplyError::Encode { source })?;
    let sums = Sums::from([(SOURCE_RECORD.to_owned(), hex::encode(Sha256::digest(&text)))]);
    crate::io::files::write_atomically(&artifacts.join(SOURCE_RECORD), &text)
        .and_then(|()| artifacts.record(SOURCE_RECORD, &sums))
        .map_err(ApplyError::io(format!(
            "cannot write {SOURCE_RECORD} to {}",
            artifacts.location()
        )))
}

const NOT_READY_HELP: &str = "these steps do not reach the source: they plan with what `replicate apply --steps dump` recorded beside the artifacts; run the dump where the source is reachable first, or run every step here";

/// The record a producer left in the artifacts, checked against
/// `SHA256SUMS` (fetched from the object store when there is one: its sums
/// must have been pulled).
pub fn read(artifacts: &ArtifactsDir) -> Result<SourceRecord, ApplyError> {
    let location = artifacts.location();
    let not_ready = |message: String| ApplyError::NotReady {
        message,
        help: Some(NOT_READY_HELP.to_owned()),
    };
    let sums = artifacts
        .read_sums()
        .map_err(ApplyError::io(format!("cannot read {location}")))?;
    if !sums.contains_key(SOURCE_RECORD) {
        return Err(not_ready(format!("{location} holds no {SOURCE_RECORD}")));
    }
    artifacts
        .fetch(SOURCE_RECORD, &sums)
        .and_then(|()| artifacts.verify_artifact(SOURCE_RECORD, &sums))
        .map_err(|e| not_ready(e.to_string()))?;
    let path = artifacts.join(SOURCE_RECORD);
    let text = std::fs::read(&path)
        .map_err(|e| not_ready(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_slice(&text)
        .map_err(|e| not_ready(format!("{} cannot be read: {e}", path.display())))
}
