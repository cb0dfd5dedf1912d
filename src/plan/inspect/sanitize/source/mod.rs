//! The source database, asked whether each rule can work: its tables and
//! columns, the types of the rules' expressions, `NOT NULL`, unique
//! indexes and foreign keys, and the rows each rule changes or leaves out.
//! Here the tables and what the checks share; `types` the expressions'
//! types, `rows` what the rule does to the rows (`NOT NULL`, unique
//! indexes), `references` the foreign keys to the table.

mod references;
mod rows;
mod types;

use std::ops::Range;

use super::{Column, Draft, Table};
use crate::display::units::count;
use crate::manifest::Manifest;
use crate::plan::inspect::error::InspectError;
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

    /// Refuses the rule when `rows` copied rows would break the restore:
    /// `says` words why, given those rows counted in words.
    fn refuse_rows(
        &self,
        rows: u64,
        draft: &Draft,
        span: &Option<Range<usize>>,
        label: &str,
        says: impl FnOnce(&str) -> String,
        help: impl Into<String>,
    ) -> Result<(), InspectError> {
        if rows == 0 {
            return Ok(());
        }
        let counted = count(rows, "copied row", "copied rows");
        Err(self.error(draft, span.clone(), label, says(&counted), help))
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

    /// The number `sql` counts, for the check of `checked` (`the foreign
    /// key fk`, `the unique index ix`).
    fn count_for(
        &self,
        draft: &Draft,
        span: &Option<Range<usize>>,
        checked: &str,
        sql: &str,
    ) -> Result<u64, InspectError> {
        let rows = self.query(sql).map_err(|e| {
            self.error(
                draft,
                span.clone(),
                "",
                format!("cannot check {checked}: {e}"),
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
