//! Facts read from a live database: its catalog for the objects, the
//! sequences and the encoding, and an exact `count(*)` of every table,
//! spread over several sessions, largest tables first.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{Facts, ObjectKind};
use crate::postgres::psql::{self, QueryError};
use crate::postgres::quote::sql_literal;
use crate::postgres::{DbUrl, Secrets, Tools};

/// Schemas that are PostgreSQL's own, never the application's.
const USER_SCHEMA: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
     AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'";

/// An object an extension made (the dump holds the extension, not them).
fn not_from_extension(oid: &str) -> String {
    format!("NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = {oid} AND d.deptype = 'e')")
}

/// The facts of the database `url` reaches, counting its tables' rows
/// with up to `sessions` sessions at once.
pub fn read(
    tools: &Tools,
    url: &DbUrl,
    origin: &str,
    secrets: &Secrets,
    sessions: usize,
) -> Result<Facts, QueryError> {
    let rows = psql::query(tools, url, origin, secrets, &catalog_sql())?;
    let mut facts = Facts::default();
    let mut tables: Vec<Table> = Vec::new();
    for row in rows {
        let field = |i: usize| row.get(i).cloned().unwrap_or_default();
        let (kind, name, value) = (field(0), field(1), field(2));
        match kind.as_str() {
            "encoding" => facts.encoding = Some(name),
            "table" => tables.push(Table {
                name,
                quoted: value,
                size: field(3).parse().unwrap_or(0),
            }),
            "sequence" => {
                facts.sequences.insert(name, value.parse().ok());
            }
            "index" => facts.add_object(ObjectKind::Index, name),
            "constraint" => facts.add_object(ObjectKind::Constraint, name),
            "check" => facts.add_object(ObjectKind::CheckConstraint, name),
            "trigger" => facts.add_object(ObjectKind::Trigger, name),
            "view" => facts.add_object(ObjectKind::View, name),
            "function" => facts.add_object(ObjectKind::Function, name),
            _ => {}
        }
    }
    tables.sort_by_key(|t| std::cmp::Reverse(t.size));
    for (name, rows) in count_rows(tools, url, origin, secrets, &tables, sessions)? {
        facts.tables.insert(name, rows);
    }
    Ok(facts)
}

/// A table to count: its name as facts name it, as SQL quotes it, and its
/// size on disk (the largest are counted first).
struct Table {
    name: String,
    quoted: String,
    size: u64,
}

/// One query for everything but the row counts: `kind, name, value, size`.
/// Foreign keys and triggers that PostgreSQL clones for partitions (a
/// partitioned table's key or row trigger on each partition, a key to a
/// partitioned table for each of its partitions) are not counted: no dump
/// names them.
fn catalog_sql() -> String {
    let user = USER_SCHEMA;
    let relation = not_from_extension("c.oid");
    let function = not_from_extension("p.oid");
    format!(
        "SELECT 'encoding'::text, pg_encoding_to_char(encoding)::text, ''::text, 0::bigint FROM pg_database WHERE datname = current_database() \
         UNION ALL SELECT 'table', n.nspname || '.' || c.relname, format('%I.%I', n.nspname, c.relname), pg_relation_size(c.oid) \
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
           WHERE c.relkind IN ('r', 'p') AND {user} AND {relation} \
         UNION ALL SELECT 'sequence', s.schemaname || '.' || s.sequencename, coalesce(s.last_value::text, ''), 0 \
           FROM pg_sequences s JOIN pg_namespace n ON n.nspname = s.schemaname \
           JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.sequencename \
           WHERE {user} AND {relation} \
         UNION ALL SELECT 'index', n.nspname || '.' || c.relname, '', 0 \
           FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
           WHERE {user} AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x')) \
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = i.indrelid AND d.deptype = 'e') \
         UNION ALL SELECT CASE WHEN k.contype = 'c' THEN 'check' ELSE 'constraint' END, n.nspname || '.' || c.relname || ' ' || k.conname, '', 0 \
           FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
           WHERE k.contype IN ('p', 'u', 'f', 'x', 'c') AND (k.contype <> 'f' OR k.conislocal) AND {user} AND {relation} \
         UNION ALL SELECT 'trigger', n.nspname || '.' || c.relname || ' ' || t.tgname, '', 0 \
           FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
           WHERE NOT t.tgisinternal AND {user} AND {relation} \
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_trigger'::regclass AND d.objid = t.oid AND d.deptype = 'P') \
         UNION ALL SELECT 'view', n.nspname || '.' || c.relname, '', 0 \
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
           WHERE c.relkind IN ('v', 'm') AND {user} AND {relation} \
         UNION ALL SELECT 'function', n.nspname || '.' || p.proname, '', 0 \
           FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
           WHERE {user} AND {function}"
    )
}

/// `count(*)` of every table (its own rows, `ONLY`), the largest first,
/// spread over up to `sessions` sessions.
fn count_rows(
    tools: &Tools,
    url: &DbUrl,
    origin: &str,
    secrets: &Secrets,
    tables: &[Table],
    sessions: usize,
) -> Result<Vec<(String, u64)>, QueryError> {
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    // Deal the tables out so each session gets about the same bytes.
    let sessions = sessions.clamp(1, tables.len());
    let mut batches: Vec<(u64, Vec<&Table>)> = vec![(0, Vec::new()); sessions];
    for table in tables {
        if let Some(lightest) = batches.iter_mut().min_by_key(|(bytes, _)| *bytes) {
            lightest.0 += table.size;
            lightest.1.push(table);
        }
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Result<Vec<Vec<String>>, QueryError>>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..sessions {
            scope.spawn(|| {
                while let Some((_, batch)) = batches.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if batch.is_empty() {
                        continue;
                    }
                    let sql: Vec<String> = batch
                        .iter()
                        .map(|t| {
                            format!(
                                "SELECT {}, count(*) FROM ONLY {}",
                                sql_literal(&t.name),
                                t.quoted
                            )
                        })
                        .collect();
                    let result = psql::query(tools, url, origin, secrets, &sql.join(" UNION ALL "));
                    results
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(result);
                }
            });
        }
    });
    let mut counts = Vec::with_capacity(tables.len());
    for result in results.into_inner().unwrap_or_else(|p| p.into_inner()) {
        for row in result? {
            let name = row.first().cloned().unwrap_or_default();
            let rows = row.get(1).and_then(|r| r.parse().ok()).unwrap_or(0);
            counts.push((name, rows));
        }
    }
    Ok(counts)
}
