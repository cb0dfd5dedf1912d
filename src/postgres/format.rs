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
}

impl DumpFormat {
    /// The word `pg_dump --format` and a manifest spell it with.
    pub fn word(self) -> &'static str {
        match self {
            Self::Directory => "directory",
            Self::Custom => "custom",
            Self::Plain => "plain",
        }
    }
}

impl std::fmt::Display for DumpFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.word())
    }
}
