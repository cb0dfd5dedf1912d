//! The catalog of a live database (a restored copy, a target): read in
//! one read-only transaction, its tables counted (or their content
//! hashed) over several sessions.

use std::collections::BTreeMap;

use super::{Catalog, TableCounts, count_tables};
use crate::postgres::libpq::{Connection, PqError};
use crate::postgres::{DbUrl, Secrets};

/// Reads the catalog of the database `url` reaches, counting its tables
/// with up to `sessions` sessions; with `content_of` (what the copy should
/// hold), hashing each table's `COPY` text as that catalog's was written:
/// its settings, and each table's columns in its order.
pub fn read_database(
    url: &DbUrl,
    origin: &str,
    secrets: &Secrets,
    content_of: Option<&Catalog>,
    sessions: usize,
) -> Result<Catalog, PqError> {
    let open = || {
        let mut connection = Connection::to_url(url, origin, secrets)?;
        connection.execute(super::READER_SETTINGS)?;
        Ok(connection)
    };
    let mut connection = open()?;
    connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
    let mut catalog = super::read(&mut connection, BTreeMap::new(), true)?;
    connection.execute("COMMIT")?;
    drop(connection);
    if let Some(expected) = content_of {
        for table in &mut catalog.tables {
            let listed = expected
                .tables
                .iter()
                .find(|t| t.schema == table.schema && t.name == table.name);
            if let Some(listed) = listed {
                table.columns.clone_from(&listed.columns);
            }
        }
    }
    let content = content_of.map(|c| &c.settings);
    count_tables(
        TableCounts {
            tables: &mut catalog.tables,
            content,
            sessions,
        },
        &open,
    )?;
    Ok(catalog)
}
