//! What `init` learns from the databases it is pointed at: whether each is
//! a NetBox and of which release, and which of NetBox's big or rebuildable
//! tables the source has.

use super::error::InitError;
use crate::netbox::{self, Schema};
use crate::plan;
use crate::postgres::{DbUrl, Secrets, query};

/// One database as `init` found it.
#[derive(Debug, Clone, Default)]
pub struct Database {
    /// Whether the database exists (a target may not yet).
    pub exists: bool,
    pub netbox: Option<Schema>,
    /// The role that owns the database (read for a target).
    pub owner: Option<String>,
}

/// A table of the source and how big it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: &'static str,
    pub rows: u64,
    pub bytes: u64,
}

/// The source's change log and search cache tables, those that exist.
pub fn netbox_tables(url: &DbUrl, secrets: &Secrets) -> Result<Vec<Table>, InitError> {
    let names = [
        netbox::CHANGE_LOG,
        netbox::OLD_CHANGE_LOG,
        netbox::SEARCH_CACHE,
    ];
    let list: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    let rows = query::texts(
        url,
        "source.database",
        secrets,
        &format!(
            "SELECT c.relname, greatest(c.reltuples, 0)::bigint, pg_total_relation_size(c.oid) \
             FROM pg_class c WHERE c.relkind = 'r' AND pg_table_is_visible(c.oid) \
             AND c.relname IN ({})",
            list.join(", ")
        ),
        &[],
    )
    .map_err(|e| connect_error("source", url, &e.to_string()))?;
    Ok(names
        .into_iter()
        .filter_map(|name| {
            let row = rows.iter().find(|r| r.first().is_some_and(|n| n == name))?;
            let number = |i: usize| row.get(i).and_then(|v| v.parse().ok()).unwrap_or(0);
            Some(Table {
                name,
                rows: number(1),
                bytes: number(2),
            })
        })
        .collect())
}

/// Reads a database; a target that does not exist yet is fine.
pub fn read(url: &DbUrl, side: &'static str, secrets: &Secrets) -> Result<Database, InitError> {
    let origin = format!("{side}.database");
    let mut owner = None;
    if side == "target" {
        let maintenance = url.with_database("postgres");
        let rows = query::texts(
            &maintenance,
            &origin,
            secrets,
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1",
            &[url.database()],
        )
        .map_err(|e| connect_error(side, &maintenance, &e.to_string()))?;
        match rows.first().and_then(|r| r.first()) {
            Some(role) => owner = Some(role.clone()),
            None => return Ok(Database::default()),
        }
    }
    let netbox = plan::read_netbox_schema(url, &origin, secrets)
        .map_err(|e| connect_error(side, url, &e.to_string()))?;
    Ok(Database {
        exists: true,
        netbox,
        owner,
    })
}

fn connect_error(side: &'static str, url: &DbUrl, reason: &str) -> InitError {
    InitError::Connect {
        side,
        url: url.redacted(),
        reason: reason.trim().to_owned(),
    }
}
