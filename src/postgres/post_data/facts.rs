//! The catalog's facts about the post-data section's indexes and
//! constraints, read by their oids (from the archive's table of contents)
//! in the dump's snapshot: the table each belongs to, the table a foreign
//! key references, a constraint's kind, flags and definition, a key's
//! index. Every name comes back as the catalog has it and quoted by the
//! server; the oids go as a query parameter.

use super::recorded::{ConstraintFacts, Facts, TableFacts, UniqueIndex};
use crate::postgres::dump_files::toc::ListLine;
use crate::postgres::libpq::{Connection, PqError};

/// Each index's table: `tableoid, oid`, then the table's `schema, name,
/// quoted, relkind`.
const INDEXES: &str = "SELECT 'pg_class'::regclass::oid::text, i.indexrelid::text, \
     n.nspname, c.relname, format('%I.%I', n.nspname, c.relname), c.relkind::text \
     FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indrelid \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     WHERE i.indexrelid = ANY ($1::oid[])";

/// Each constraint: `tableoid, oid`, its table (4 values), `contype,
/// quoted name, definition, validated, deferrable, deferred, enforced`,
/// the referenced table (4 values, NULL but for a foreign key), a
/// primary key's or unique constraint's index's definition and whether
/// that index is plain (NULL for other constraints). `conenforced` (PostgreSQL 18) and `indnullsnotdistinct` (15)
/// are read through `to_jsonb`, NULL where the server has no such column.
const CONSTRAINTS: &str = "SELECT 'pg_constraint'::regclass::oid::text, k.oid::text, \
     n.nspname, c.relname, format('%I.%I', n.nspname, c.relname), c.relkind::text, \
     k.contype::text, quote_ident(k.conname), pg_catalog.pg_get_constraintdef(k.oid), \
     k.convalidated::text, k.condeferrable::text, k.condeferred::text, \
     to_jsonb(k) ->> 'conenforced', \
     fn.nspname, f.relname, CASE WHEN f.oid IS NOT NULL THEN format('%I.%I', fn.nspname, f.relname) END, \
     f.relkind::text, \
     CASE WHEN x.indexrelid IS NOT NULL THEN pg_catalog.pg_get_indexdef(x.indexrelid) END, \
     CASE WHEN x.indexrelid IS NOT NULL THEN (c.relkind = 'r' \
       AND xc.relam = (SELECT a.oid FROM pg_catalog.pg_am a WHERE a.amname = 'btree') \
       AND x.indnkeyatts = x.indnatts AND x.indexprs IS NULL AND x.indpred IS NULL \
       AND xc.reloptions IS NULL AND xc.reltablespace = 0 \
       AND NOT x.indisclustered AND NOT x.indisreplident \
       AND coalesce(to_jsonb(x) ->> 'indnullsnotdistinct', 'false') = 'false')::text END \
     FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     LEFT JOIN pg_catalog.pg_class f ON f.oid = k.confrelid \
     LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = f.relnamespace \
     LEFT JOIN pg_catalog.pg_index x ON x.indexrelid = k.conindid AND k.contype IN ('p', 'u') \
     LEFT JOIN pg_catalog.pg_class xc ON xc.oid = x.indexrelid \
     WHERE k.oid = ANY ($1::oid[])";

/// The facts of the entries of `list` that are objects of a catalog, read
/// on `connection` (in the dump's snapshot, `search_path` empty so that
/// definitions name every table with its schema).
pub fn read(connection: &mut Connection, list: &[ListLine]) -> Result<Facts, PqError> {
    let oids: Vec<String> = list
        .iter()
        .filter(|l| l.oid != 0)
        .map(|l| l.oid.to_string())
        .collect();
    let oids = format!("{{{}}}", oids.join(","));
    let mut facts = Facts::default();
    for row in connection.query_params(INDEXES, &[&oids])? {
        let row = Row(row);
        facts
            .tables
            .insert((row.oid(0), row.oid(1)), row.table(2).unwrap_or_default());
    }
    for row in connection.query_params(CONSTRAINTS, &[&oids])? {
        let row = Row(row);
        let id = (row.oid(0), row.oid(1));
        if let Some(table) = row.table(2) {
            facts.tables.insert(id, table);
        }
        facts.constraints.insert(
            id,
            ConstraintFacts {
                contype: row.text(6),
                name: row.text(7),
                definition: row.text(8),
                validated: row.flag(9) == Some(true),
                deferrable: row.flag(10) == Some(true),
                deferred: row.flag(11) == Some(true),
                enforced: row.flag(12),
                references: row.table(13),
                unique_index: row.value(17).map(|definition| UniqueIndex {
                    definition: definition.to_owned(),
                    plain: row.flag(18) == Some(true),
                }),
            },
        );
    }
    Ok(facts)
}

/// A row of values, `None` for NULL.
struct Row(Vec<Option<String>>);

impl Row {
    fn value(&self, i: usize) -> Option<&str> {
        self.0.get(i).and_then(Option::as_deref)
    }

    fn text(&self, i: usize) -> String {
        self.value(i).unwrap_or_default().to_owned()
    }

    fn oid(&self, i: usize) -> u32 {
        self.value(i).and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    /// A boolean as the server prints it (`true`/`false`, or `t`/`f`).
    fn flag(&self, i: usize) -> Option<bool> {
        match self.value(i)? {
            "true" | "t" => Some(true),
            "false" | "f" => Some(false),
            _ => None,
        }
    }

    /// The table whose `schema, name, quoted, relkind` start at `i`.
    fn table(&self, i: usize) -> Option<TableFacts> {
        Some(TableFacts {
            schema: self.value(i)?.to_owned(),
            name: self.value(i + 1)?.to_owned(),
            quoted: self.value(i + 2)?.to_owned(),
            relkind: self.value(i + 3)?.to_owned(),
        })
    }
}
