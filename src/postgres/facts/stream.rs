//! The stream format's folder (`<db>.stream/`): the schema as `pg_dump`
//! writes it (`pre-data.sql`, `post-data.sql`), the sequences' values
//! (`sequences.sql`), and a file of `COPY` text per table, named with its
//! row count and the statement that loads it in `tables.json`.

use std::fs::File;
use std::io::{self, BufReader};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Facts;
use super::sql_scan::SqlScan;

pub const PRE_DATA: &str = "pre-data.sql";
pub const POST_DATA: &str = "post-data.sql";
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

impl StreamTable {
    /// `schema.table`, as facts name tables.
    pub fn name(&self) -> String {
        format!("{}.{}", self.schema, self.table)
    }
}

/// Reads the listing of the stream folder `folder`.
pub fn listing(folder: &Path) -> io::Result<Vec<StreamTable>> {
    let text = std::fs::read(folder.join(LISTING))?;
    serde_json::from_slice(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// The facts of a stream folder: its schema and sequences as SQL, its rows
/// from the listing (each file's rows were counted as it was written, and
/// `verify` proves the files are those bytes).
pub fn read(folder: &Path) -> io::Result<Facts> {
    let mut scan = SqlScan::default();
    for name in [PRE_DATA, SEQUENCES, POST_DATA] {
        let file = File::open(folder.join(name))?;
        scan.read(BufReader::with_capacity(1 << 16, file))?;
    }
    let (mut facts, _) = scan.finish();
    for table in listing(folder)? {
        facts.tables.insert(table.name(), table.rows);
    }
    Ok(facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_come_from_the_sql_and_the_listing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(PRE_DATA),
            "SET client_encoding = 'UTF8';\n--\n-- Name: t; Type: TABLE; Schema: public; Owner: -\n--\n\nCREATE TABLE public.t (id integer);\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join(SEQUENCES),
            "SELECT pg_catalog.setval('public.t_id_seq', 42, true);\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join(POST_DATA),
            "--\n-- Name: t t_pkey; Type: CONSTRAINT; Schema: public; Owner: -\n--\n\nALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_pkey PRIMARY KEY (id);\n",
        )
        .unwrap();
        let listed = vec![StreamTable {
            schema: "public".into(),
            table: "t".into(),
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
        let facts = read(dir.path()).unwrap();
        assert_eq!(facts.tables["public.t"], 3);
        assert_eq!(facts.encoding.as_deref(), Some("UTF8"));
        assert_eq!(facts.sequences.len(), 1);
        assert_eq!(facts.object_count(), 1);
    }
}
