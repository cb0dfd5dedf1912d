//! `dump`: `pg_dump` into the artifacts folder, and what the dump holds,
//! which the catalog written beside it says too.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use super::Exec;
use crate::manifest::DumpFormat;

/// `pg_dump` in a snapshot of the source, the dump's catalog read in the
/// same snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Dump {
    /// Given the snapshot when it runs.
    pub dump: Exec,
    pub contents: DumpContents,
}

/// What a dump holds, and how its catalog is read.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DumpContents {
    pub format: DumpFormat,
    /// `include.database = "schema"`: no table's rows.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub schema_only: bool,
    /// `include.exclude_table_data`: these tables get no rows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_table_data: Vec<String>,
    /// `check = "content"`: every table's rows hashed, not only counted.
    pub hashed: bool,
    /// Sessions counting the rows on the source.
    pub jobs: u32,
    /// The folder of the PostgreSQL programs (`None`: on `PATH`):
    /// `pg_restore` lists a directory or custom dump.
    pub bindir: Option<PathBuf>,
}
