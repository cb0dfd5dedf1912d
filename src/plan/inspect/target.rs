//! The target server: its version, whether the target database exists,
//! its size and open sessions.

use super::error::InspectError;
use super::found::Inspection;
use crate::display::units::{count, human_bytes};
use crate::manifest::Manifest;
use crate::postgres::quote::sql_literal;
use crate::postgres::{Secrets, psql};

pub(super) fn inspect(
    manifest: &Manifest,
    secrets: &Secrets,
    source_version: u32,
    found: &mut Inspection,
) -> Result<(), InspectError> {
    let target = &manifest.target;
    let maintenance = target.database.with_database(&target.maintenance_database);
    let name = sql_literal(target.database.database());
    let rows = psql::query(
        &manifest.tools,
        &maintenance,
        "target.database",
        secrets,
        &format!(
            "SELECT current_setting('server_version_num'), current_setting('server_version'), \
             (SELECT pg_database_size(datname) FROM pg_database WHERE datname = {name}), \
             (SELECT count(*) FROM pg_stat_activity WHERE datname = {name} AND pid <> pg_backend_pid())"
        ),
    )
    .map_err(|e| {
        InspectError::new(
            format!("cannot connect to the target server through {maintenance}: {e}"),
            "check target.database, target.maintenance_database, the server, and the password",
        )
        .at(
            &manifest.file,
            Some(manifest.spans.target_database.clone()),
            "connecting to this server failed",
        )
    })?;
    let row = rows.first().cloned().unwrap_or_default();
    let field = |i: usize| row.get(i).cloned().unwrap_or_default();
    let target_version: u32 = field(0).parse().unwrap_or(0);
    let size = field(2);
    let sessions: u64 = field(3).parse().unwrap_or(0);
    let state = if size.is_empty() {
        "does not exist yet".to_owned()
    } else {
        format!(
            "exists ({}, {}): it will be dropped",
            human_bytes(size.parse().unwrap_or(0)),
            count(sessions, "open session", "open sessions")
        )
    };
    found.notes.push(format!(
        "target: PostgreSQL {}, database {} {state}",
        field(1),
        target.database.database()
    ));
    if sessions > 0 && !target.terminate_connections {
        found.warnings.push(format!(
            "the target database {} has {}: `drop` will fail unless they close; set `terminate_connections = true` in [target] to end them",
            target.database.database(),
            count(sessions, "open session", "open sessions")
        ));
    }
    if target.terminate_connections && target_version > 0 && target_version < 130000 {
        return Err(InspectError::new(
            format!(
                "terminate_connections needs PostgreSQL 13 or later on the target, which runs {}",
                field(1)
            ),
            "set `terminate_connections = false` and close the sessions yourself",
        ));
    }
    if target_version > 0 && target_version / 10000 < source_version / 10000 {
        found.warnings.push(format!(
            "the target server (PostgreSQL {}) is older than the source (major {}): the restore may fail",
            field(1),
            source_version / 10000
        ));
    }
    Ok(())
}
