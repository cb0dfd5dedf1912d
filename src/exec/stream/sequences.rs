//! The stream format's `sequences.sql`: what a dump's data section holds
//! besides the tables' rows, read in the dump's snapshot and written as the
//! statements that restore it (built by the source server, which quotes
//! every name and value).

use super::Stream;
use crate::exec::connection;
use crate::exec::scheduler::StepFailure;
use crate::plan::{Exec, StreamDump};
use crate::postgres::libpq::Connection;
use crate::postgres::quote::sql_literal;

impl Stream<'_> {
    /// `sequences.sql`: every sequence's value, as `pg_dump` writes it,
    /// then every large object's contents (none for a schema-only dump).
    pub(super) fn sequences_sql(
        &self,
        plan: &StreamDump,
        reader: &mut Connection,
    ) -> Result<String, StepFailure> {
        if plan.contents.schema_only {
            return Ok(String::new());
        }
        let psql = &plan.psql;
        let mut sql = self.setval_sql(psql, reader)?;
        // The large objects' contents: `pre-data.sql` creates them empty
        // (with their owners, grants and comments), as pg_dump does.
        let rows = self.ask(
            psql,
            reader,
            "SELECT format('SELECT pg_catalog.lo_put(%s, 0, %L);', l.oid, pg_catalog.lo_get(l.oid)) \
             FROM pg_catalog.pg_largeobject_metadata l ORDER BY l.oid",
        )?;
        for row in rows {
            if let Some(line) = row.first() {
                sql.push_str(line);
                sql.push('\n');
            }
        }
        Ok(sql)
    }

    /// Every sequence's value, as `pg_dump` writes it.
    fn setval_sql(&self, psql: &Exec, reader: &mut Connection) -> Result<String, StepFailure> {
        let names = self.ask(
            psql,
            reader,
            "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e') \
             ORDER BY 1",
        )?;
        if names.is_empty() {
            return Ok(String::new());
        }
        let select: Vec<String> = names
            .iter()
            .filter_map(|row| row.first())
            .map(|name| {
                format!(
                    "SELECT format('SELECT pg_catalog.setval(%s, %s, %s);', '''' || replace({}, '''', '''''') || '''', \
                     last_value, CASE WHEN is_called THEN 'true' ELSE 'false' END) FROM {name}",
                    sql_literal(name)
                )
            })
            .collect();
        let rows = self.ask(psql, reader, &select.join(" UNION ALL "))?;
        let mut sql = String::new();
        for row in rows {
            if let Some(line) = row.first() {
                sql.push_str(line);
                sql.push('\n');
            }
        }
        Ok(sql)
    }

    /// The rows `sql` gives on `reader`, NULL as empty text.
    pub(super) fn ask(
        &self,
        psql: &Exec,
        reader: &mut Connection,
        sql: &str,
    ) -> Result<Vec<Vec<String>>, StepFailure> {
        let rows = reader.query(sql).map_err(|e| {
            connection::failed(
                psql,
                self.cx.secrets,
                "cannot read the source's catalog",
                &e,
            )
        })?;
        Ok(rows
            .into_iter()
            .map(|row| row.into_iter().map(Option::unwrap_or_default).collect())
            .collect())
    }
}
