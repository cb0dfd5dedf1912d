//! The sanitized rows beside a directory or custom dump: `tables.json`
//! names each table's file of `COPY` text, one row a line.

use serde::{Deserialize, Serialize};

/// The listing in a sanitized folder.
pub const LISTING: &str = "tables.json";

/// One table of the listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listed {
    pub schema: String,
    pub table: String,
    /// The file of its rows, in the folder.
    pub file: String,
    /// The rule that made them.
    pub rule: String,
}
