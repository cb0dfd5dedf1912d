//! A sanitized dump: `pg_dump` and the tables read through their rules.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use super::{DumpContents, Exec};
use crate::postgres::quote::{sql_identifier, sql_qualified};

/// A sanitized dump's programs and tables.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SanitizedDump {
    /// `pg_dump` (plain format: its pre-data and data sections); it is
    /// given the snapshot when it runs.
    pub dump: Exec,
    /// Plain format only: `pg_dump` of the post-data section, written
    /// after the sanitized rows so that indexes and constraints are
    /// built over them.
    pub post_data: Option<Exec>,
    /// `psql` on the source: holds the snapshot, and reads each table.
    pub psql: Exec,
    /// Empty in an offline plan: rules are resolved against the source.
    pub tables: Vec<SanitizedTable>,
    /// Directory and custom formats: the folder of the sanitized rows
    /// (`<db>.sanitized`); plain: `None`, the rows are in the dump.
    pub folder: Option<PathBuf>,
    pub contents: DumpContents,
}

/// A table whose rows are copied through a sanitize rule: read by the
/// source server as `COPY (SELECT <select> FROM ONLY <table> WHERE <keep>)`.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SanitizedTable {
    pub schema: String,
    pub table: String,
    /// Every copied column, in the table's order.
    pub columns: Vec<String>,
    /// For each column, the SQL giving its value: the column itself, or the
    /// rule's expression.
    pub select: Vec<String>,
    /// The columns a rule sets.
    pub set: Vec<String>,
    pub keep: Option<String>,
    /// Which rule: `preset netbox`, `rule 2`.
    pub rule: String,
    /// The file of its rows in the sanitized folder (`3.copy`).
    pub file: String,
}

impl SanitizedTable {
    /// `"schema"."table"`.
    pub fn qualified(&self) -> String {
        sql_qualified(&self.schema, &self.table)
    }

    /// The statement that reads the sanitized rows on the source.
    pub fn copy_out(&self) -> String {
        let select: Vec<String> = self
            .select
            .iter()
            .zip(&self.columns)
            .map(|(sql, column)| {
                if *sql == sql_identifier(column) {
                    sql.clone()
                } else {
                    format!("({sql}) AS {}", sql_identifier(column))
                }
            })
            .collect();
        format!(
            "COPY (SELECT {} FROM ONLY {}{}) TO STDOUT",
            select.join(", "),
            self.qualified(),
            self.keep
                .as_ref()
                .map(|k| format!(" WHERE ({k})"))
                .unwrap_or_default()
        )
    }

    /// The statement that loads them on the target.
    pub fn copy_in(&self) -> String {
        let columns: Vec<String> = self.columns.iter().map(|c| sql_identifier(c)).collect();
        format!(
            "COPY {} ({}) FROM STDIN",
            self.qualified(),
            columns.join(", ")
        )
    }
}
