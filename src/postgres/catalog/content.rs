//! Every table's rows on a live database: an exact `count(*)`, or (for
//! `check = "content"`) the SHA-256 of its `COPY ... TO STDOUT` text with
//! its rows counted in it; several sessions at once, the largest tables
//! first. A table's name reaches SQL only as the server quoted it.

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest, Sha256};

use super::{Rows, Table};
use crate::postgres::libpq::{Connection, PqError};

/// What to count: `None` rows are counted, others left as they are.
pub struct TableCounts<'a> {
    pub tables: &'a mut [Table],
    /// The settings to read content with; `None`: count only.
    pub content: Option<&'a BTreeMap<String, String>>,
    /// How many sessions at once.
    pub sessions: usize,
}

/// Fills in the rows of every table that has none yet, with sessions
/// `open` makes (each in the transaction and snapshot the caller wants).
pub fn count_tables(
    counts: TableCounts<'_>,
    open: &(dyn Fn() -> Result<Connection, PqError> + Sync),
) -> Result<(), PqError> {
    let todo: Vec<usize> = (0..counts.tables.len())
        .filter(|&i| counts.tables[i].rows.is_none())
        .collect();
    if todo.is_empty() {
        return Ok(());
    }
    let names: Vec<(String, String, String)> = todo
        .iter()
        .map(|&i| {
            let t = &counts.tables[i];
            let columns = serde_json::to_string(&t.columns).unwrap_or_else(|_| "[]".into());
            (t.schema.clone(), t.name.clone(), columns)
        })
        .collect();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Result<Rows, PqError>)>> = Mutex::new(Vec::new());
    let sessions = counts.sessions.clamp(1, names.len());
    let content = counts.content;
    std::thread::scope(|scope| {
        for _ in 0..sessions {
            scope.spawn(|| {
                let mut connection = match open().and_then(|mut c| {
                    if let Some(settings) = content {
                        apply(&mut c, settings)?;
                    }
                    Ok(c)
                }) {
                    Ok(c) => c,
                    Err(e) => {
                        let at = next.fetch_add(names.len(), Ordering::Relaxed);
                        if at < names.len() {
                            results.lock().push((at, Err(e)));
                        }
                        return;
                    }
                };
                loop {
                    let at = next.fetch_add(1, Ordering::Relaxed);
                    let Some((schema, name, columns)) = names.get(at) else {
                        return;
                    };
                    let table = [schema.as_str(), name.as_str(), columns.as_str()];
                    let result = rows_of(&mut connection, table, content.is_some());
                    let failed = result.is_err();
                    results.lock().push((at, result));
                    if failed {
                        next.fetch_add(names.len(), Ordering::Relaxed);
                        return;
                    }
                }
            });
        }
    });
    let results = results.into_inner();
    for (at, result) in results {
        let rows = result?;
        counts.tables[todo[at]].rows = Some(rows);
    }
    Ok(())
}

/// Sets each of `settings` in the session.
pub fn apply(
    connection: &mut Connection,
    settings: &BTreeMap<String, String>,
) -> Result<(), PqError> {
    for (name, value) in settings {
        connection.query_params("SELECT set_config($1, $2, false)", &[name, value])?;
    }
    Ok(())
}

/// One table's rows: counted, or read whole and hashed.
/// `table` is its schema, its name, and its columns as a JSON list.
fn rows_of(connection: &mut Connection, table: [&str; 3], content: bool) -> Result<Rows, PqError> {
    let quoted = connection
        .query_params(
            "SELECT format('%I.%I', $1::text, $2::text), coalesce((SELECT ' (' || \
             string_agg(quote_ident(c.name), ', ' ORDER BY c.n) || ')' \
             FROM json_array_elements_text($3::json) WITH ORDINALITY AS c(name, n)), '')",
            &table,
        )?
        .into_iter()
        .next()
        .unwrap_or_default();
    let (Some(Some(quoted)), Some(Some(columns))) = (quoted.first(), quoted.get(1)) else {
        return Err(PqError("the server did not quote a table's name".into()));
    };
    if !content {
        let rows = connection.query(&format!("SELECT count(*) FROM ONLY {quoted}"))?;
        let count = rows
            .first()
            .and_then(|r| r.first())
            .cloned()
            .flatten()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        return Ok(Rows {
            rows: count,
            sha256: None,
        });
    }
    let mut hasher = Sha256::new();
    let mut rows = 0u64;
    connection
        .copy_out(&format!("COPY {quoted}{columns} TO STDOUT"), &mut |bytes| {
            hasher.update(bytes);
            rows += memchr::memchr_iter(b'\n', bytes).count() as u64;
            Ok(())
        })
        .map_err(|e| PqError(e.to_string()))?;
    Ok(Rows {
        rows,
        sha256: Some(hex::encode(hasher.finalize())),
    })
}

/// pg_dump's end of a table's data in its own file: the end-of-data
/// line `\.` and two empty lines.
const END_OF_DATA: &[u8] = b"\\.\n\n\n";

/// The rows of `COPY` text and the SHA-256 of the rows' text, without
/// pg_dump's end of data (which only ever ends the text: a row's own
/// backslashes are doubled).
#[derive(Default)]
pub struct CopyText {
    hasher: Sha256,
    rows: u64,
    /// The last bytes seen, held back until it is known they are rows.
    tail: Vec<u8>,
}

impl CopyText {
    /// Takes the next bytes of the text.
    pub fn update(&mut self, bytes: &[u8]) {
        self.tail.extend_from_slice(bytes);
        if self.tail.len() > END_OF_DATA.len() {
            let cut = self.tail.len() - END_OF_DATA.len();
            self.take(cut);
        }
    }

    fn take(&mut self, n: usize) {
        let rows: Vec<u8> = self.tail.drain(..n).collect();
        self.rows += memchr::memchr_iter(b'\n', &rows).count() as u64;
        self.hasher.update(&rows);
    }

    /// The rows and the SHA-256 of the rows' text.
    pub fn finish(mut self) -> Rows {
        if self.tail != END_OF_DATA {
            self.take(self.tail.len());
        }
        Rows {
            rows: self.rows,
            sha256: Some(hex::encode(self.hasher.finalize())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(chunks: &[&[u8]]) -> Rows {
        let mut text = CopyText::default();
        for chunk in chunks {
            text.update(chunk);
        }
        text.finish()
    }

    #[test]
    fn the_end_of_data_is_not_content() {
        let plain = read(&[b"1\ta\n2\tb\n"]);
        assert_eq!(plain.rows, 2);
        assert_eq!(read(&[b"1\ta\n2\tb\n\\.\n\n\n"]), plain);
        assert_eq!(read(&[b"1\ta\n2", b"\tb\n\\", b".\n", b"\n\n"]), plain);
        let empty = read(&[b"\\.\n\n\n"]);
        assert_eq!(empty.rows, 0);
        assert_eq!(empty.sha256, Some(super::super::empty_sha256()));
        assert_eq!(read(&[b"a\\\\.\n"]).rows, 1);
    }
}
