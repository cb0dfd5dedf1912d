//! The drafts of `[sanitize]`: the `netbox` preset's rules adapted to the
//! tables and columns the source has, then the manifest's own rules
//! resolved to tables and merged over them.

use std::ops::Range;

use super::{Draft, Origin, Table};
use crate::manifest::{Manifest, Preset, Sanitize};
use crate::netbox;
use crate::plan::inspect::error::InspectError;

/// The preset's rules for the tables this database has; the ones it
/// lacks (a table, or every column of a rule) go to `skipped`.
pub(super) fn from_preset(
    sanitize: &Sanitize,
    tables: &[Table],
    drafts: &mut Vec<Draft>,
    skipped: &mut Vec<String>,
) {
    if sanitize.preset != Some(Preset::Netbox) {
        return;
    }
    let origin = Origin {
        label: "preset netbox".to_owned(),
        span: sanitize.preset_span.clone(),
    };
    for rule in netbox::NETBOX_PRESET {
        let Some(table) = rule
            .tables
            .iter()
            .find_map(|name| tables.iter().find(|t| t.visible && t.name == *name))
        else {
            skipped.push(rule.tables.join(" or "));
            continue;
        };
        let set: Vec<(String, String, Option<Range<usize>>)> = rule
            .set
            .iter()
            .filter(|(column, _)| table.column(column).is_some())
            .map(|(column, expr)| ((*column).to_owned(), (*expr).to_owned(), None))
            .collect();
        if set.is_empty() && rule.keep.is_none() {
            skipped.push(format!("{} (none of its columns)", table.name));
            continue;
        }
        drafts.push(Draft {
            table: table.clone(),
            set,
            keep: rule.keep.map(|k| (k.to_owned(), None)),
            origin: origin.clone(),
        });
    }
}

/// The manifest's own rules, each resolved to a table and its columns; a
/// rule for a table the preset covers replaces the preset's columns it
/// names and its condition.
pub(super) fn from_manifest(
    manifest: &Manifest,
    sanitize: &Sanitize,
    tables: &[Table],
    drafts: &mut Vec<Draft>,
) -> Result<(), InspectError> {
    for rule in &sanitize.rules {
        let at = |span: &Range<usize>, label: &str, error: InspectError| {
            error.at(&manifest.file, Some(span.clone()), label)
        };
        let table = resolve(tables, &rule.table).map_err(|message| {
            at(
                &rule.spans.table,
                "no such table",
                InspectError::new(
                    format!("sanitize rule {}: {message}", rule.number),
                    "name a table of the source, schema-qualified when its schema is not on the search path (`public.users_user`)",
                ),
            )
        })?;
        let mut set = Vec::new();
        for (column, expr) in &rule.set {
            let span = rule.spans.set.get(column).cloned();
            match table.column(column) {
                Some(c) if c.generated => {
                    return Err(InspectError::new(
                        format!(
                            "sanitize rule {}: {}.{column} is a generated column; its value is computed, not copied",
                            rule.number,
                            table.label()
                        ),
                        "set the columns it is computed from instead",
                    )
                    .at(&manifest.file, span, "generated column"));
                }
                Some(_) => set.push((column.clone(), expr.clone(), span)),
                None => {
                    let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
                    return Err(InspectError::new(
                        format!(
                            "sanitize rule {}: the table {} has no column `{column}`",
                            rule.number,
                            table.label()
                        ),
                        format!("its columns: {}", names.join(", ")),
                    )
                    .at(&manifest.file, span, "no such column"));
                }
            }
        }
        let keep = rule
            .keep
            .as_ref()
            .map(|k| (k.clone(), rule.spans.keep.clone()));
        let origin = Origin {
            label: format!("rule {}", rule.number),
            span: Some(rule.spans.table.clone()),
        };
        // A rule of the manifest's own for a table the preset covers
        // replaces the preset's columns it names and its condition.
        if let Some(existing) = drafts
            .iter_mut()
            .find(|d| d.table.schema == table.schema && d.table.name == table.name)
        {
            existing
                .set
                .retain(|(c, _, _)| !set.iter().any(|(s, _, _)| s == c));
            existing.set.extend(set);
            if keep.is_some() {
                existing.keep = keep;
            }
            existing.origin = Origin {
                label: format!("{} over {}", origin.label, existing.origin.label),
                span: origin.span,
            };
        } else {
            drafts.push(Draft {
                table,
                set,
                keep,
                origin,
            });
        }
    }
    Ok(())
}

/// Resolves a table as written: `schema.table`, or `table` as the search
/// path finds it.
fn resolve(tables: &[Table], written: &str) -> Result<Table, String> {
    let unquote = |s: &str| s.trim().trim_matches('"').to_owned();
    let found: Vec<&Table> = match written.split_once('.') {
        Some((schema, name)) => {
            let (schema, name) = (unquote(schema), unquote(name));
            tables
                .iter()
                .filter(|t| t.schema == schema && t.name == name)
                .collect()
        }
        None => {
            let name = unquote(written);
            tables
                .iter()
                .filter(|t| t.visible && t.name == name)
                .collect()
        }
    };
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(format!("the source has no table `{written}`")),
        _ => Err(format!("`{written}` names more than one table")),
    }
}
