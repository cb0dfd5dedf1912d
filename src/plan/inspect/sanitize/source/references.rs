//! The foreign keys to a rule's table: the rows it leaves out, and the
//! keys it changes, must be referenced by no copied row.

use std::collections::BTreeMap;

use super::Source;
use crate::manifest::Manifest;
use crate::plan::inspect::error::InspectError;
use crate::plan::inspect::sanitize::Draft;
use crate::postgres::pattern::matches_pattern;
use crate::postgres::quote::{sql_identifier, sql_literal, sql_qualified};

impl Source<'_> {
    /// Rows the rule leaves out, or keys it changes, must not be referenced
    /// by copied rows of other tables (or of this one) through a foreign key.
    pub(in crate::plan::inspect::sanitize) fn check_references(
        &self,
        draft: &Draft,
        keeps: &BTreeMap<(String, String), Option<String>>,
        manifest: &Manifest,
    ) -> Result<(), InspectError> {
        let keys = self
            .query(&format!(
                "SELECT con.conname, rn.nspname, rc.relname, \
                 array_to_string(ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, o) \
                   JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o), E'\\x1e'), \
                 array_to_string(ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, o) \
                   JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.o), E'\\x1e') \
                 FROM pg_constraint con JOIN pg_class rc ON rc.oid = con.conrelid \
                 JOIN pg_namespace rn ON rn.oid = rc.relnamespace \
                 WHERE con.contype = 'f' AND con.confrelid = {}::regclass",
                sql_literal(&draft.table.qualified())
            ))
            .map_err(|e| {
                self.error(draft, None, "", format!("cannot read the foreign keys to it: {e}"), "")
            })?;
        for key in keys {
            let field = |i: usize| key.get(i).cloned().unwrap_or_default();
            let (constraint, schema, table) = (field(0), field(1), field(2));
            let checked = format!("the foreign key {constraint}");
            let split =
                |s: String| -> Vec<String> { s.split('\u{1e}').map(str::to_owned).collect() };
            let (from, to) = (split(field(3)), split(field(4)));
            let excluded = manifest
                .include
                .exclude_table_data
                .iter()
                .any(|p| matches_pattern(p, &schema, &table));
            if excluded {
                continue;
            }
            // The referencing rows that are copied.
            let referencing_keep = keeps
                .get(&(schema.clone(), table.clone()))
                .cloned()
                .flatten();
            let referencing = sql_qualified(&schema, &table);
            let join: Vec<String> = from
                .iter()
                .zip(&to)
                .map(|(f, t)| {
                    format!(
                        "replicate_parent.{} = replicate_child.{}",
                        sql_identifier(t),
                        sql_identifier(f)
                    )
                })
                .collect();
            let child_keep = referencing_keep.unwrap_or_else(|| "true".to_owned());
            if let Some((keep, span)) = &draft.keep {
                let sql = format!(
                    "SELECT count(*) FROM ONLY {referencing} AS replicate_child WHERE coalesce(({child_keep}), false) \
                     AND EXISTS (SELECT 1 FROM ONLY {} AS replicate_parent WHERE {} AND NOT coalesce(({keep}), false))",
                    draft.table.qualified(),
                    join.join(" AND ")
                );
                let n = self.count_for(draft, span, &checked, &sql)?;
                let says = |rows: &str| {
                    format!(
                        "`keep` leaves out rows that {rows} of {schema}.{table} still reference through the foreign key {constraint}: the restore would fail"
                    )
                };
                let help = format!(
                    "keep those rows too, or leave out the referencing rows with a rule for {schema}.{table} (or exclude its data)"
                );
                self.refuse_rows(n, draft, span, "leaves out referenced rows", says, help)?;
            }
            if let Some((column, _, span)) = draft.set.iter().find(|(c, _, _)| to.contains(c)) {
                let sql = format!(
                    "SELECT count(*) FROM ONLY {referencing} AS replicate_child WHERE coalesce(({child_keep}), false) AND {}",
                    from.iter()
                        .map(|f| format!("replicate_child.{} IS NOT NULL", sql_identifier(f)))
                        .collect::<Vec<_>>()
                        .join(" AND ")
                );
                let n = self.count_for(draft, span, &checked, &sql)?;
                let says = |rows: &str| {
                    format!(
                        "the rule sets `{column}`, which {rows} of {schema}.{table} reference through the foreign key {constraint}"
                    )
                };
                let help = "leave key columns as they are; set the columns that hold the secret";
                self.refuse_rows(n, draft, span, "changes a referenced key", says, help)?;
            }
        }
        Ok(())
    }
}
