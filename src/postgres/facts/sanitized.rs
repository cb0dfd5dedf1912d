//! The sanitized rows beside a directory or custom dump: `tables.json`
//! names each table's file of `COPY` text, one row a line.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Facts;

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

/// Reads the listing of the sanitized folder `folder`.
pub fn listing(folder: &Path) -> io::Result<Vec<Listed>> {
    let text = std::fs::read(folder.join(LISTING))?;
    serde_json::from_slice(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Counts the rows of every sanitized table into `facts`, where the dump
/// itself has none of them.
pub fn add_rows(facts: &mut Facts, folder: &Path) -> io::Result<()> {
    for listed in listing(folder)? {
        let rows = count_lines(&folder.join(&listed.file))?;
        facts
            .tables
            .insert(format!("{}.{}", listed.schema, listed.table), rows);
    }
    Ok(())
}

/// `COPY` text holds a row a line (newlines inside values are escaped).
fn count_lines(path: &Path) -> io::Result<u64> {
    let mut reader = BufReader::with_capacity(1 << 16, File::open(path)?);
    let mut buffer = vec![0u8; 1 << 16];
    let mut lines = 0u64;
    loop {
        let n = reader.read(&mut buffer)?;
        if n == 0 {
            return Ok(lines);
        }
        lines += memchr::memchr_iter(b'\n', &buffer[..n]).count() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_counted_from_the_listed_files() {
        let dir = tempfile::tempdir().unwrap();
        let listed = vec![Listed {
            schema: "public".into(),
            table: "users_user".into(),
            file: "1.copy".into(),
            rule: "preset netbox".into(),
        }];
        std::fs::write(
            dir.path().join(LISTING),
            serde_json::to_vec(&listed).unwrap(),
        )
        .unwrap();
        std::fs::write(dir.path().join("1.copy"), "1\ta\\nb\n2\tc\n").unwrap();
        let mut facts = Facts::default();
        facts.tables.insert("public.users_user".into(), 0);
        add_rows(&mut facts, dir.path()).unwrap();
        assert_eq!(facts.tables["public.users_user"], 2);
    }
}
