//! The source database, asked whether each rule can work: its tables and
//! columns, the types of the rules' expressions, `NOT NULL`, unique
//! indexes and foreign keys, and the rows each rule changes or leaves out.

use std::collections::BTreeMap;
use std::ops::Range;

use super::{Column, Counts, Draft, Table};
use crate::display::units::count;
use crate::manifest::Manifest;
use crate::plan::inspect::error::InspectError;
use crate::postgres::pattern::matches_pattern;
use crate::postgres::quote::{sql_identifier, sql_literal, sql_qualified};
use crate::postgres::{Secrets, query};

/// The source database, for the queries that check the rules.
pub(super) struct Source<'a> {
    pub(super) manifest: &'a Manifest,
    pub(super) secrets: &'a Secrets,
}

impl Source<'_> {
    fn query(&self, sql: &str) -> Result<Vec<Vec<String>>, query::QueryError> {
        query::texts(
            &self.manifest.source.database,
            "source.database",
            self.secrets,
            sql,
            &[],
        )
    }

    /// Every table of the source with its columns.
    pub(super) fn tables(&self) -> Result<Vec<Table>, InspectError> {
        let rows = self
            .query(
                "SELECT n.nspname, c.relname, pg_table_is_visible(c.oid), a.attname, a.atttypid, \
                 format_type(a.atttypid, a.atttypmod), a.attnotnull, \
                 coalesce(to_jsonb(a)->>'attgenerated', '') <> '' \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 JOIN pg_attribute a ON a.attrelid = c.oid \
                 WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped \
                 AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
                 AND n.nspname NOT LIKE 'pg\\_toast%' \
                 ORDER BY n.nspname, c.relname, a.attnum",
            )
            .map_err(|e| {
                InspectError::new(
                    format!("cannot list the source's tables for [sanitize]: {e}"),
                    "check the source role's privileges",
                )
            })?;
        let mut tables: Vec<Table> = Vec::new();
        for row in rows {
            let field = |i: usize| row.get(i).cloned().unwrap_or_default();
            let column = Column {
                name: field(3),
                type_oid: field(4),
                type_name: field(5),
                not_null: field(6) == "t",
                generated: field(7) == "t",
            };
            match tables.last_mut() {
                Some(t) if t.schema == field(0) && t.name == field(1) => t.columns.push(column),
                _ => tables.push(Table {
                    schema: field(0),
                    name: field(1),
                    visible: field(2) == "t",
                    columns: vec![column],
                }),
            }
        }
        Ok(tables)
    }

    /// An error about a rule, pointing at `span` or else at the rule.
    fn error(
        &self,
        draft: &Draft,
        span: Option<Range<usize>>,
        label: &str,
        message: String,
        help: impl Into<String>,
    ) -> InspectError {
        InspectError::new(
            format!(
                "sanitize {} ({}): {message}",
                draft.table.label(),
                draft.origin.label
            ),
            help,
        )
        .at(
            &self.manifest.file,
            span.or_else(|| draft.origin.span.clone()),
            label,
        )
    }

    /// Runs `select` over one row of NULLs of the draft's table, so that
    /// expressions are typed without reading the table.
    fn typed(&self, draft: &Draft, select: &str) -> Result<Vec<String>, query::QueryError> {
        let rows = self.query(&format!(
            "SELECT {select} FROM (SELECT 1) AS replicate_one LEFT JOIN ONLY {} ON false",
            draft.table.qualified()
        ))?;
        Ok(rows.into_iter().next().unwrap_or_default())
    }

    /// Every expression has a type its column accepts (as an `INSERT`
    /// would: the same type, an implicit or assignment cast, any type into
    /// a string column), and the condition is boolean.
    pub(super) fn check_types(&self, draft: &Draft) -> Result<(), InspectError> {
        for (column, expr, span) in &draft.set {
            let target = draft.table.column(column).map(|c| c.type_name.clone());
            let target = target.unwrap_or_default();
            let typed = self
                .typed(
                    draft,
                    &format!("pg_typeof(({expr}))::oid, CAST(({expr}) AS {target}) IS NULL"),
                )
                .map_err(|e| {
                    self.error(
                        draft,
                        span.clone(),
                        "the source refused this expression",
                        format!("the expression for `{column}` does not work: {e}"),
                        "an expression is SQL over the row, e.g. `'user' || id || '@example.invalid'`",
                    )
                })?;
            let source_type = typed.first().cloned().unwrap_or_default();
            let column_type = draft
                .table
                .column(column)
                .map(|c| c.type_oid.clone())
                .unwrap_or_default();
            let verdict = self
                .query(&format!(
                    "SELECT d.oid = s.oid OR s.oid = 'unknown'::regtype OR b.typcategory = 'S' \
                     OR b.oid = s.oid OR s.typbasetype = b.oid \
                     OR EXISTS (SELECT FROM pg_cast WHERE castsource = s.oid AND casttarget = b.oid AND castcontext IN ('a', 'i')), \
                     format_type(s.oid, NULL) \
                     FROM pg_type s, pg_type d JOIN pg_type b ON b.oid = CASE WHEN d.typbasetype <> 0 THEN d.typbasetype ELSE d.oid END \
                     WHERE s.oid = {} AND d.oid = {}",
                    sql_literal(&source_type),
                    sql_literal(&column_type)
                ))
                .map_err(|e| {
                    self.error(draft, span.clone(), "", format!("cannot check the type of `{column}`: {e}"), "")
                })?;
            let row = verdict.first().cloned().unwrap_or_default();
            if row.first().map(String::as_str) != Some("t") {
                let given = row.get(1).cloned().unwrap_or_default();
                return Err(self.error(
                    draft,
                    span.clone(),
                    "wrong type",
                    format!("the expression for `{column}` is of type {given}, which the column ({target}) does not accept"),
                    format!("cast it: `({expr})::{target}`, or write an expression of type {target}"),
                ));
            }
        }
        if let Some((keep, span)) = &draft.keep {
            let typed = self
                .typed(draft, &format!("pg_typeof(({keep}))::text"))
                .map_err(|e| {
                    self.error(
                        draft,
                        span.clone(),
                        "the source refused this condition",
                        format!("the `keep` condition does not work: {e}"),
                        "a condition is SQL over the row, e.g. `is_active` or `status <> 'pending'`",
                    )
                })?;
            let given = typed.first().cloned().unwrap_or_default();
            if given != "boolean" {
                return Err(self.error(
                    draft,
                    span.clone(),
                    "not a condition",
                    format!("the `keep` condition is of type {given}, not boolean"),
                    "write a condition such as `is_active`, `id > 100`, or `false` to copy no row",
                ));
            }
        }
        Ok(())
    }

    /// Counts the rows, and refuses a `NULL` for a `NOT NULL` column.
    pub(super) fn check_rows(&self, draft: &Draft) -> Result<Counts, InspectError> {
        let keep = draft.keep.as_ref().map_or("true", |(k, _)| k.as_str());
        let not_null: Vec<&(String, String, Option<Range<usize>>)> = draft
            .set
            .iter()
            .filter(|(c, _, _)| draft.table.column(c).is_some_and(|c| c.not_null))
            .collect();
        let mut select = vec![
            "count(*)".to_owned(),
            format!("count(*) FILTER (WHERE NOT coalesce(({keep}), false))"),
        ];
        for (_, expr, _) in &not_null {
            select.push(format!(
                "count(*) FILTER (WHERE coalesce(({keep}), false) AND ({expr}) IS NULL)"
            ));
        }
        let rows = self
            .query(&format!(
                "SELECT {} FROM ONLY {}",
                select.join(", "),
                draft.table.qualified()
            ))
            .map_err(|e| {
                self.error(
                    draft,
                    None,
                    "",
                    format!("the source could not apply the rule to its rows: {e}"),
                    "check the rule's expressions and condition against the table",
                )
            })?;
        let row = rows.first().cloned().unwrap_or_default();
        let number = |i: usize| row.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        for (i, (column, _, span)) in not_null.iter().enumerate() {
            let nulls = number(2 + i);
            if nulls > 0 {
                return Err(self.error(
                    draft,
                    span.clone(),
                    "NULL for a NOT NULL column",
                    format!(
                        "the expression for `{column}` gives NULL on {}, and the column is NOT NULL: the restore would fail",
                        count(nulls, "copied row", "copied rows")
                    ),
                    "give a value for every row, e.g. with coalesce(..., '')",
                ));
            }
        }
        Ok(Counts {
            rows: number(0),
            left_out: number(1),
        })
    }

    /// A set column in a unique index must keep the copied rows unique.
    pub(super) fn check_unique(&self, draft: &Draft) -> Result<(), InspectError> {
        if draft.set.is_empty() {
            return Ok(());
        }
        let indexes = self
            .query(&format!(
                "SELECT i.relname, array_to_string(ARRAY(SELECT a.attname FROM unnest(x.indkey) k \
                 JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k), E'\\x1e') \
                 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
                 WHERE x.indrelid = {}::regclass AND x.indisunique \
                 AND x.indpred IS NULL AND x.indexprs IS NULL",
                sql_literal(&draft.table.qualified())
            ))
            .map_err(|e| {
                self.error(
                    draft,
                    None,
                    "",
                    format!("cannot read its unique indexes: {e}"),
                    "",
                )
            })?;
        let keep = draft.keep.as_ref().map_or("true", |(k, _)| k.as_str());
        for index in indexes {
            let name = index.first().cloned().unwrap_or_default();
            let columns: Vec<String> = index
                .get(1)
                .map(|c| c.split('\u{1e}').map(str::to_owned).collect())
                .unwrap_or_default();
            let Some((set_column, _, span)) =
                draft.set.iter().find(|(c, _, _)| columns.contains(c))
            else {
                continue;
            };
            let values: Vec<String> = columns
                .iter()
                .map(|c| {
                    draft
                        .set
                        .iter()
                        .find(|(s, _, _)| s == c)
                        .map_or_else(|| sql_identifier(c), |(_, e, _)| format!("({e})"))
                })
                .collect();
            let not_null: Vec<String> = values.iter().map(|v| format!("{v} IS NOT NULL")).collect();
            let rows = self
                .query(&format!(
                    "SELECT count(*) FROM (SELECT 1 FROM ONLY {} WHERE coalesce(({keep}), false) AND {} \
                     GROUP BY {} HAVING count(*) > 1) AS replicate_duplicates",
                    draft.table.qualified(),
                    not_null.join(" AND "),
                    values.join(", ")
                ))
                .map_err(|e| {
                    self.error(draft, span.clone(), "", format!("cannot check the unique index {name}: {e}"), "")
                })?;
            let duplicates: u64 = rows
                .first()
                .and_then(|r| r.first())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if duplicates > 0 {
                return Err(self.error(
                    draft,
                    span.clone(),
                    "not unique",
                    format!(
                        "the expression for `{set_column}` gives the same value to several copied rows, and the unique index {name} forbids it: the restore would fail"
                    ),
                    "make the value unique per row, e.g. by including the row's id",
                ));
            }
        }
        Ok(())
    }

    /// Rows the rule leaves out, or keys it changes, must not be referenced
    /// by copied rows of other tables (or of this one) through a foreign key.
    pub(super) fn check_references(
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
                let n = self.count_for(draft, span, &constraint, &sql)?;
                if n > 0 {
                    return Err(self.error(
                        draft,
                        span.clone(),
                        "leaves out referenced rows",
                        format!(
                            "`keep` leaves out rows that {} of {schema}.{table} still reference through the foreign key {constraint}: the restore would fail",
                            count(n, "copied row", "copied rows")
                        ),
                        format!("keep those rows too, or leave out the referencing rows with a rule for {schema}.{table} (or exclude its data)"),
                    ));
                }
            }
            if let Some((column, _, span)) = draft.set.iter().find(|(c, _, _)| to.contains(c)) {
                let sql = format!(
                    "SELECT count(*) FROM ONLY {referencing} AS replicate_child WHERE coalesce(({child_keep}), false) AND {}",
                    from.iter()
                        .map(|f| format!("replicate_child.{} IS NOT NULL", sql_identifier(f)))
                        .collect::<Vec<_>>()
                        .join(" AND ")
                );
                let n = self.count_for(draft, span, &constraint, &sql)?;
                if n > 0 {
                    return Err(self.error(
                        draft,
                        span.clone(),
                        "changes a referenced key",
                        format!(
                            "the rule sets `{column}`, which {} of {schema}.{table} reference through the foreign key {constraint}",
                            count(n, "copied row", "copied rows")
                        ),
                        "leave key columns as they are; set the columns that hold the secret",
                    ));
                }
            }
        }
        Ok(())
    }

    /// The number `sql` counts, for the check of `constraint`.
    fn count_for(
        &self,
        draft: &Draft,
        span: &Option<Range<usize>>,
        constraint: &str,
        sql: &str,
    ) -> Result<u64, InspectError> {
        let rows = self.query(sql).map_err(|e| {
            self.error(
                draft,
                span.clone(),
                "",
                format!("cannot check the foreign key {constraint}: {e}"),
                "",
            )
        })?;
        Ok(rows
            .first()
            .and_then(|r| r.first())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }
}
