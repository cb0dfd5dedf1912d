//! The stream format's dump and restore.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{DumpContents, Exec, RestoreInto, SanitizedTable};

/// The stream format's dump (`<db>.stream/`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StreamDump {
    /// `pg_dump --section=pre-data` into `pre-data.sql`; given the
    /// snapshot when it runs.
    pub pre_data: Exec,
    /// `pg_dump --section=post-data` as an archive, printed by
    /// `pg_restore` into `post-data.sql`, its entries and the catalog's
    /// facts about them into `post-data.json`.
    pub post_data: Exec,
    /// `psql` on the source: holds the snapshot, lists the tables and
    /// sequences, and reads each table.
    pub psql: Exec,
    /// Tables read through sanitize rules (empty offline).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sanitized: Vec<SanitizedTable>,
    /// What the dump holds (its `jobs`: tables read at once).
    pub contents: DumpContents,
}

/// The stream format's restore.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StreamRestore {
    /// The folder the dump writes.
    pub dump: PathBuf,
    /// `psql` on the new database (as the owner, with the restore's
    /// session settings); each part runs through one.
    pub psql: Exec,
    /// Tables loaded at once.
    pub jobs: u32,
    pub into: RestoreInto,
    /// Whether it follows the dump as it writes, when both run together
    /// (under `swap`); otherwise it waits for the complete artifacts.
    pub follows_dump: bool,
}
