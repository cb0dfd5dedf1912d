//! Each expression's type against its column's, and the condition's.

use super::Source;
use crate::plan::inspect::error::InspectError;
use crate::plan::inspect::sanitize::Draft;
use crate::postgres::quote::sql_literal;

impl Source<'_> {
    /// Every expression has a type its column accepts (as an `INSERT`
    /// would: the same type, an implicit or assignment cast, any type into
    /// a string column), and the condition is boolean.
    pub(in crate::plan::inspect::sanitize) fn check_types(
        &self,
        draft: &Draft,
    ) -> Result<(), InspectError> {
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
}
