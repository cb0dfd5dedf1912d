//! The catalog query: one set of statements, the same on a source (in the
//! dump's snapshot) and on its copy. Every identity comes back as separate
//! values (schema, table, name, arguments); every name the server puts
//! into a definition it quotes itself (`quote_ident`, `regclass`,
//! `pg_get_*def`), printed with `search_path` set to `pg_catalog` on both
//! sides so that both print them the same way.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::objects::{USER, objects_sql, own};
use super::{Catalog, Key, Kind, LargeObject, Object, Table, VERSION};
use crate::postgres::libpq::{Connection, PqError};

/// The session settings `COPY ... TO STDOUT` text depends on.
pub const SETTINGS: [&str; 7] = [
    "DateStyle",
    "IntervalStyle",
    "TimeZone",
    "bytea_output",
    "extra_float_digits",
    "search_path",
    "client_encoding",
];

/// The ordinary tables, whose rows a dump carries: `schema, name, oid`,
/// and the columns a `COPY` of the table carries, in order.
fn tables_sql() -> String {
    format!(
        "SELECT n.nspname, c.relname, c.oid::text, \
         (SELECT json_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a \
           WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '')::text \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind = 'r' AND {USER} AND {} ORDER BY c.relpages DESC, c.oid",
        own("pg_class", "c.oid")
    )
}

/// Every sequence's last value, when it was called and may be read, and
/// its name as `pg_dump` writes it in its `setval` (a string literal of the
/// qualified name, each part quoted as the server quotes it).
fn sequences_sql() -> String {
    format!(
        "SELECT n.nspname, c.relname, CASE WHEN has_sequence_privilege(c.oid, 'SELECT,USAGE') \
         THEN pg_sequence_last_value(c.oid)::text END, \
         '''' || replace(format('%I.%I', n.nspname, c.relname), '''', '''''') || '''' FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND {USER} AND {}",
        own("pg_class", "c.oid")
    )
}

/// Every large object's size and SHA-256, comment, owner and grants.
const LARGE_OBJECTS: &str = "SELECT l.oid::text, obj_description(l.oid, 'pg_largeobject'), \
     pg_get_userbyid(l.lomowner), coalesce(l.lomacl, acldefault('L', l.lomowner))::text \
     FROM pg_largeobject_metadata l ORDER BY l.oid";

/// How much of a large object one statement reads.
const LARGE_OBJECT_CHUNK: u64 = 1 << 20;

/// Reads the catalog of the database `connection` is on, in its current
/// transaction (a source's: the dump's snapshot). `settings` are the
/// settings the content's `COPY` text was (or will be) written with.
/// Tables come without rows: the caller counts them. Large objects are
/// read whole (a megabyte a statement) and hashed, unless
/// `large_object_contents` is false (a schema-only dump carries none).
pub fn read(
    connection: &mut Connection,
    settings: BTreeMap<String, String>,
    large_object_contents: bool,
) -> Result<Catalog, PqError> {
    connection.execute("SET search_path = pg_catalog, pg_temp")?;
    let head = connection.query(
        "SELECT current_setting('server_version_num'), pg_encoding_to_char(encoding) \
         FROM pg_database WHERE datname = current_database()",
    )?;
    let field =
        |row: &[Option<String>], i: usize| row.get(i).cloned().flatten().unwrap_or_default();
    let (server_version, encoding) = head
        .first()
        .map(|row| {
            (
                field(row, 0).parse::<u32>().unwrap_or(0) / 10000,
                field(row, 1),
            )
        })
        .unwrap_or_default();
    let mut catalog = Catalog {
        version: VERSION,
        server_version,
        encoding,
        settings,
        ..Catalog::default()
    };
    for row in connection.query(&objects_sql())? {
        let Some(kind) = Kind::from_query(&field(&row, 0)) else {
            continue;
        };
        let key = Key {
            kind,
            schema: field(&row, 1),
            table: row.get(2).cloned().flatten(),
            name: field(&row, 3),
            arguments: row.get(4).cloned().flatten(),
        };
        let object = Object {
            definition: field(&row, 5),
            comment: row.get(6).cloned().flatten(),
            owner: row.get(7).cloned().flatten(),
            grants: row.get(8).cloned().flatten(),
        };
        catalog.objects.entry(key).or_default().push(object);
    }
    for objects in catalog.objects.values_mut() {
        objects.sort_by(|a, b| a.definition.cmp(&b.definition));
    }
    for row in connection.query(&tables_sql())? {
        catalog.tables.push(Table {
            schema: field(&row, 0),
            name: field(&row, 1),
            oid: field(&row, 2).parse().unwrap_or(0),
            columns: row
                .get(3)
                .cloned()
                .flatten()
                .and_then(|json| serde_json::from_str(&json).ok())
                .unwrap_or_default(),
            rows: None,
        });
    }
    for row in connection.query(&sequences_sql())? {
        let value = row.get(2).cloned().flatten().and_then(|v| v.parse().ok());
        let name = (field(&row, 0), field(&row, 1));
        catalog.setval_keys.insert(field(&row, 3), name.clone());
        catalog.sequences.insert(name, value);
    }
    for row in connection.query(LARGE_OBJECTS)? {
        let Ok(oid) = field(&row, 0).parse::<u32>() else {
            continue;
        };
        let (size, sha256) = if large_object_contents {
            large_object_sha256(connection, oid)?
        } else {
            (0, String::new())
        };
        catalog.large_objects.insert(
            oid,
            LargeObject {
                size,
                sha256,
                comment: row.get(1).cloned().flatten(),
                owner: row.get(2).cloned().flatten(),
                grants: row.get(3).cloned().flatten(),
            },
        );
    }
    Ok(catalog)
}

/// A large object's size and SHA-256, read a chunk at a time.
fn large_object_sha256(connection: &mut Connection, oid: u32) -> Result<(u64, String), PqError> {
    let mut hasher = Sha256::new();
    let (oid, mut size) = (oid.to_string(), 0u64);
    loop {
        let offset = size.to_string();
        let chunk = LARGE_OBJECT_CHUNK.to_string();
        let rows = connection.query_params(
            "SELECT encode(lo_get($1::oid, $2::bigint, $3::integer), 'hex')",
            &[&oid, &offset, &chunk],
        )?;
        let text = rows
            .into_iter()
            .next()
            .and_then(|row| row.into_iter().next().flatten())
            .unwrap_or_default();
        let bytes =
            hex::decode(text).map_err(|e| PqError(format!("a large object's bytes: {e}")))?;
        hasher.update(&bytes);
        size += bytes.len() as u64;
        if (bytes.len() as u64) < LARGE_OBJECT_CHUNK {
            return Ok((size, hex::encode(hasher.finalize())));
        }
    }
}

/// The settings of `connection`'s session that `COPY` text depends on.
pub fn settings(connection: &mut Connection) -> Result<BTreeMap<String, String>, PqError> {
    let mut settings = BTreeMap::new();
    for name in SETTINGS {
        let rows = connection.query_params("SELECT current_setting($1)", &[name])?;
        if let Some(value) = rows.first().and_then(|r| r.first()).cloned().flatten() {
            settings.insert(name.to_owned(), value);
        }
    }
    Ok(settings)
}

/// A materialized view's definition once restored without its rows.
pub fn unpopulated(definition: &str) -> String {
    match definition.strip_prefix("populated\n") {
        Some(rest) => format!("not populated\n{rest}"),
        None => definition.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_materialized_view_restored_empty() {
        assert_eq!(
            unpopulated("populated\nSELECT 1;"),
            "not populated\nSELECT 1;"
        );
        assert_eq!(unpopulated("SELECT 1;"), "SELECT 1;");
    }
}
