//! The stream format's folder (`<db>.stream/`): the schema as `pg_dump`
//! writes it (`pre-data.sql`, `post-data.sql`), the entries of the
//! post-data section and the catalog's facts about them
//! (`post-data.json`), the sequences' values (`sequences.sql`), and a
//! file of `COPY` text per table, named with its row count and the
//! statement that loads it in `tables.json`.

use std::io::{self};
use std::path::Path;

use serde::{Deserialize, Serialize};

pub const PRE_DATA: &str = "pre-data.sql";
pub const POST_DATA: &str = "post-data.sql";
pub const POST_DATA_ENTRIES: &str = "post-data.json";
pub const SEQUENCES: &str = "sequences.sql";
pub const LISTING: &str = "tables.json";

/// One table of the listing, in the order the dump read them (the
/// longest to restore first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamTable {
    pub schema: String,
    pub table: String,
    /// The file of its rows, in the folder (`1.copy`).
    pub file: String,
    /// How many rows the file holds (one a line).
    pub rows: u64,
    /// The statement that loads the file (`COPY "public"."t" FROM STDIN`).
    pub copy_in: String,
    /// The sanitize rule its rows went through, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// Reads the listing of the stream folder `folder`.
pub fn listing(folder: &Path) -> io::Result<Vec<StreamTable>> {
    let text = std::fs::read(folder.join(LISTING))?;
    serde_json::from_slice(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listing_reads_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let listed = vec![StreamTable {
            schema: "public".into(),
            table: "a\nb".into(),
            file: "1.copy".into(),
            rows: 3,
            copy_in: "COPY public.t FROM STDIN".into(),
            rule: None,
        }];
        std::fs::write(
            dir.path().join(LISTING),
            serde_json::to_vec(&listed).unwrap(),
        )
        .unwrap();
        assert_eq!(listing(dir.path()).unwrap(), listed);
    }
}
