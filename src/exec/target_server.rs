//! What the target server holds, asked before a run or a rollback.

use crate::manifest::Manifest;
use crate::postgres::Secrets;
use crate::postgres::query::{self, QueryError};

/// Whether the database `name` is on the target server (asked through its
/// maintenance database).
pub fn has_database(
    manifest: &Manifest,
    secrets: &Secrets,
    name: &str,
) -> Result<bool, QueryError> {
    let t = &manifest.target;
    query::texts(
        &t.database.with_database(&t.maintenance_database),
        "target.database",
        secrets,
        "SELECT 1 FROM pg_database WHERE datname = $1",
        &[name],
    )
    .map(|rows| !rows.is_empty())
}
