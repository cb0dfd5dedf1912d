//! The `pg_dump` output formats replicate writes and restores.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The `pg_dump` output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DumpFormat {
    /// `<db>.dir/`: one file per table, dumped and restored in parallel.
    Directory,
    /// `<db>.dump`: one archive file, restored in parallel.
    Custom,
    /// `<db>.sql`: plain SQL, restored with `psql`.
    Plain,
    /// `<db>.stream/`: the schema as SQL and every table's rows as `COPY`
    /// text, read by replicate and loaded into the new database while they
    /// are written.
    Stream,
}

impl DumpFormat {
    /// The word `pg_dump --format` and a manifest spell it with.
    pub fn word(self) -> &'static str {
        match self {
            Self::Directory => "directory",
            Self::Custom => "custom",
            Self::Plain => "plain",
            Self::Stream => "stream",
        }
    }
}

impl std::fmt::Display for DumpFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.word())
    }
}
