//! The stream format's post-data section (`post-data.sql`: indexes,
//! constraints, triggers, rules...) cut into its entries and sorted by
//! what they wait for: each table's own indexes and keys can be built as
//! soon as that table's rows are in; foreign keys and everything else
//! wait for all of them.
//!
//! Nothing about an entry is read from its SQL: the dump records, in
//! `post-data.json` ([`recorded`]), each entry's header as printed, its
//! ids in the archive's table of contents and the catalog's facts
//! ([`facts`]). The SQL is cut only where its headers are exactly those
//! recorded, in order and in number; otherwise the section is not sorted
//! at all, and runs whole, in the dump's order.

use std::collections::BTreeMap;
use std::fmt;

pub mod facts;
pub mod recorded;
mod statements;

pub use statements::{Build, ForeignKey, TableKey};

use recorded::{Recorded, VERSION, headers};

/// A table, by its schema and name in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableName {
    pub schema: String,
    pub name: String,
}

impl TableName {
    pub fn new(schema: &str, name: &str) -> Self {
        Self {
            schema: schema.to_owned(),
            name: name.to_owned(),
        }
    }
}

impl fmt::Display for TableName {
    /// `schema.name`, for messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

/// The post-data section, sorted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PostData {
    /// The session settings before the first entry (`SET ...`): every
    /// session that runs entries starts with them.
    pub prelude: String,
    /// Indexes and constraints of one table, in the dump's order.
    pub by_table: BTreeMap<TableName, Vec<TableKey>>,
    /// Partitions' indexes attached to their partitioned table's
    /// (`ALTER INDEX ... ATTACH PARTITION`): after every table's keys,
    /// before the foreign keys (a key referencing a partitioned table
    /// needs its unique index complete).
    pub attachments: Vec<String>,
    /// Foreign keys: after their two tables' keys, and independent of
    /// each other.
    pub foreign_keys: Vec<ForeignKey>,
    /// Everything else, in the dump's order, after the foreign keys.
    pub rest: Vec<String>,
}

/// Why the section is not sorted (it then runs whole, in one session, in
/// the dump's order).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unsorted {
    #[error("no post-data.json beside it (a dump by an older replicate)")]
    NotRecorded,
    #[error("post-data.json cannot be read: {0}")]
    Unreadable(String),
    #[error("post-data.json has layout {0}, which this replicate does not know")]
    Version(u32),
    /// The dump could not tie the headers to its table of contents.
    #[error("{0}")]
    AtDump(String),
    #[error(
        "post-data.sql has {found} lines that read as entry headers, post-data.json records {recorded}"
    )]
    Count { found: usize, recorded: usize },
    #[error("header {0} of post-data.sql is not the one post-data.json records")]
    Header(usize),
    #[error("entry {dump_id} ({desc}) comes without the catalog's facts it is sorted by")]
    Facts { dump_id: u32, desc: String },
}

impl PostData {
    /// Cuts `sql` at each entry's header, as `recorded` lists them, and
    /// sorts the entries by what `recorded` says they are.
    pub fn cut(sql: &str, recorded: &Recorded) -> Result<Self, Unsorted> {
        if recorded.version != VERSION {
            return Err(Unsorted::Version(recorded.version));
        }
        if let Some(why) = &recorded.unsorted {
            return Err(Unsorted::AtDump(why.clone()));
        }
        let found = headers(sql);
        if found.len() != recorded.entries.len() {
            return Err(Unsorted::Count {
                found: found.len(),
                recorded: recorded.entries.len(),
            });
        }
        if let Some(n) = found
            .iter()
            .zip(&recorded.entries)
            .position(|((_, header), entry)| *header != entry.header)
        {
            return Err(Unsorted::Header(n + 1));
        }
        let mut out = PostData {
            prelude: sql[..found.first().map_or(sql.len(), |(at, _)| *at)].to_owned(),
            ..PostData::default()
        };
        for (i, ((start, _), entry)) in found.iter().zip(&recorded.entries).enumerate() {
            let end = found.get(i + 1).map_or(sql.len(), |(at, _)| *at);
            let text = sql[*start..end].to_owned();
            let lacking = || Unsorted::Facts {
                dump_id: entry.dump_id,
                desc: entry.desc.clone(),
            };
            let table = || {
                entry
                    .table
                    .as_ref()
                    .map(|t| TableName::new(&t.schema, &t.name))
                    .ok_or_else(lacking)
            };
            match entry.desc.as_str() {
                "INDEX" => out
                    .by_table
                    .entry(table()?)
                    .or_default()
                    .push(TableKey::index(text)),
                "CONSTRAINT" => {
                    let key = TableKey::constraint(text, entry).ok_or_else(lacking)?;
                    out.by_table.entry(table()?).or_default().push(key);
                }
                "FK CONSTRAINT" => out
                    .foreign_keys
                    .push(ForeignKey::new(text, entry).ok_or_else(lacking)?),
                "INDEX ATTACH" => out.attachments.push(text),
                _ => out.rest.push(text),
            }
        }
        Ok(out)
    }

    /// The session settings of `sql` alone, for a section that is not
    /// sorted: the text before the first line that reads as a header
    /// (one written inside an entry comes after that entry's own). The
    /// loading sessions start with them (the rows' encoding, no row
    /// security).
    pub fn settings_of(sql: &str) -> Self {
        PostData {
            prelude: sql[..headers(sql).first().map_or(sql.len(), |(at, _)| *at)].to_owned(),
            ..PostData::default()
        }
    }

    /// A script of `entries` run in a session of their own: the prelude's
    /// settings, then the entries in turn.
    pub fn script<S: AsRef<str>>(&self, entries: impl IntoIterator<Item = S>) -> Vec<u8> {
        let mut sql = self.prelude.clone();
        for entry in entries {
            sql.push_str(entry.as_ref());
        }
        sql.into_bytes()
    }

    /// How many entries it holds.
    pub fn count(&self) -> usize {
        self.by_table.values().map(Vec::len).sum::<usize>()
            + self.attachments.len()
            + self.foreign_keys.len()
            + self.rest.len()
    }
}

#[cfg(test)]
mod tests;
