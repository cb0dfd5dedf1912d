//! What a rule does to the rows it copies: none may get a `NULL` in a
//! `NOT NULL` column, nor a value a unique index already holds.

use std::ops::Range;

use super::Source;
use crate::plan::inspect::error::InspectError;
use crate::plan::inspect::sanitize::{Counts, Draft};
use crate::postgres::quote::{sql_identifier, sql_literal};

impl Source<'_> {
    /// Counts the rows, and refuses a `NULL` for a `NOT NULL` column.
    pub(in crate::plan::inspect::sanitize) fn check_rows(
        &self,
        draft: &Draft,
    ) -> Result<Counts, InspectError> {
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
            let says = |rows: &str| {
                format!(
                    "the expression for `{column}` gives NULL on {rows}, and the column is NOT NULL: the restore would fail"
                )
            };
            let help = "give a value for every row, e.g. with coalesce(..., '')";
            self.refuse_rows(
                number(2 + i),
                draft,
                span,
                "NULL for a NOT NULL column",
                says,
                help,
            )?;
        }
        Ok(Counts {
            rows: number(0),
            left_out: number(1),
        })
    }

    /// A set column in a unique index must keep the copied rows unique.
    pub(in crate::plan::inspect::sanitize) fn check_unique(
        &self,
        draft: &Draft,
    ) -> Result<(), InspectError> {
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
            let sql = format!(
                "SELECT count(*) FROM (SELECT 1 FROM ONLY {} WHERE coalesce(({keep}), false) AND {} \
                 GROUP BY {} HAVING count(*) > 1) AS replicate_duplicates",
                draft.table.qualified(),
                not_null.join(" AND "),
                values.join(", ")
            );
            let checked = format!("the unique index {name}");
            if self.count_for(draft, span, &checked, &sql)? > 0 {
                let message = format!(
                    "the expression for `{set_column}` gives the same value to several copied rows, and the unique index {name} forbids it: the restore would fail"
                );
                let help = "make the value unique per row, e.g. by including the row's id";
                return Err(self.error(draft, span.clone(), "not unique", message, help));
            }
        }
        Ok(())
    }
}
