//! `[sanitize]` against the source (the README's "Sanitized copies"): each rule resolved
//! to a table and its columns, the preset adapted to the tables and columns
//! this database has, every expression and condition checked by the source
//! server (types, `NOT NULL`, unique indexes, foreign keys), and the rows
//! each rule changes or leaves out counted.

use std::collections::BTreeMap;
use std::ops::Range;

mod drafts;
mod source;

use self::source::Source;

use super::error::InspectError;
use super::found::Inspection;
use crate::manifest::Manifest;
use crate::plan::step::SanitizedTable;
use crate::postgres::Secrets;
use crate::postgres::pattern::matches_pattern;
use crate::postgres::quote::{sql_identifier, sql_qualified};
use indicatif::HumanCount;

/// A column of a source table.
#[derive(Debug, Clone)]
struct Column {
    name: String,
    type_oid: String,
    type_name: String,
    not_null: bool,
    generated: bool,
}

/// A table of the source.
#[derive(Debug, Clone)]
struct Table {
    schema: String,
    name: String,
    visible: bool,
    columns: Vec<Column>,
}

impl Table {
    fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    fn qualified(&self) -> String {
        sql_qualified(&self.schema, &self.name)
    }

    fn label(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

/// Where a rule comes from, for messages and for pointing at the manifest.
#[derive(Debug, Clone)]
struct Origin {
    /// `preset netbox`, `rule 2`.
    label: String,
    /// The value to underline: the rule's table, or the preset's name.
    span: Option<Range<usize>>,
}

/// A rule resolved to a table, before it is checked.
#[derive(Debug, Clone)]
struct Draft {
    table: Table,
    /// Column, expression, where it is written (manifest rules).
    set: Vec<(String, String, Option<Range<usize>>)>,
    keep: Option<(String, Option<Range<usize>>)>,
    origin: Origin,
}

pub(super) fn inspect(
    manifest: &Manifest,
    secrets: &Secrets,
    found: &mut Inspection,
) -> Result<(), InspectError> {
    let Some(sanitize) = &manifest.sanitize else {
        return Ok(());
    };
    let cx = Source { manifest, secrets };
    let tables = cx.tables()?;
    let mut drafts: Vec<Draft> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    drafts::from_preset(sanitize, &tables, &mut drafts, &mut skipped);
    drafts::from_manifest(manifest, sanitize, &tables, &mut drafts)?;

    let (drafts, excluded): (Vec<Draft>, Vec<Draft>) = drafts.into_iter().partition(|d| {
        !manifest
            .include
            .exclude_table_data
            .iter()
            .any(|p| matches_pattern(p, &d.table.schema, &d.table.name))
    });
    for draft in &excluded {
        found.notes.push(format!(
            "sanitize {} ({}): skipped, exclude_table_data leaves out all its rows",
            draft.table.label(),
            draft.origin.label
        ));
    }
    let keeps: BTreeMap<(String, String), Option<String>> = drafts
        .iter()
        .map(|d| {
            (
                (d.table.schema.clone(), d.table.name.clone()),
                d.keep.as_ref().map(|(k, _)| k.clone()),
            )
        })
        .collect();
    let mut sanitized = Vec::new();
    for draft in drafts {
        cx.check_types(&draft)?;
        let counts = cx.check_rows(&draft)?;
        cx.check_unique(&draft)?;
        cx.check_references(&draft, &keeps, manifest)?;
        found.notes.push(describe(&draft, &counts));
        let file = format!("{}.copy", sanitized.len() + 1);
        sanitized.push(to_table(&draft, file));
    }
    if !skipped.is_empty() {
        found.notes.push(format!(
            "sanitize: preset netbox rules skipped, not in this database: {}",
            skipped.join(", ")
        ));
    }
    if let Some(facts) = &mut found.facts {
        facts.sanitized = sanitized;
    }
    Ok(())
}

fn to_table(draft: &Draft, file: String) -> SanitizedTable {
    let copied: Vec<&Column> = draft
        .table
        .columns
        .iter()
        .filter(|c| !c.generated)
        .collect();
    let select = copied
        .iter()
        .map(|c| {
            draft
                .set
                .iter()
                .find(|(name, _, _)| *name == c.name)
                .map_or_else(|| sql_identifier(&c.name), |(_, expr, _)| expr.clone())
        })
        .collect();
    SanitizedTable {
        schema: draft.table.schema.clone(),
        table: draft.table.name.clone(),
        columns: copied.iter().map(|c| c.name.clone()).collect(),
        select,
        set: draft.set.iter().map(|(c, _, _)| c.clone()).collect(),
        keep: draft.keep.as_ref().map(|(k, _)| k.clone()),
        rule: draft.origin.label.clone(),
        file,
    }
}

/// Rows in the table, and rows the rule leaves out.
struct Counts {
    rows: u64,
    left_out: u64,
}

/// `sanitize public.users_user (preset netbox): sets password, email on 6
/// of 6 rows`.
fn describe(draft: &Draft, counts: &Counts) -> String {
    let kept = counts.rows - counts.left_out;
    let rows = |n: u64| format!("{} {}", HumanCount(n), if n == 1 { "row" } else { "rows" });
    let mut what = Vec::new();
    if !draft.set.is_empty() {
        let columns: Vec<&str> = draft.set.iter().map(|(c, _, _)| c.as_str()).collect();
        what.push(format!("sets {} on {}", columns.join(", "), rows(kept)));
    }
    if draft.keep.is_some() {
        what.push(format!(
            "leaves out {} of {}",
            HumanCount(counts.left_out),
            rows(counts.rows)
        ));
    }
    format!(
        "sanitize {} ({}): {}",
        draft.table.label(),
        draft.origin.label,
        what.join(", ")
    )
}
