//! What a database holds, read from PostgreSQL's own catalog: every object
//! by identity (schema, owning table, name, arguments) with what makes it
//! that object (its definition as the server prints it), every table's
//! rows, every sequence's value, every large object's size and SHA-256.
//!
//! `dump` records the catalog in the dump's own snapshot
//! (`<db>.catalog.json`), with the rows the dump carries; `check` and
//! `verify --target` run the same query on the restored database and
//! compare the two ([`compare`]). No name is ever read out of SQL text,
//! and no name from a database is put into SQL but quoted by the server.

mod compare;
mod content;
mod live;
mod objects;
mod query;
mod show;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

pub use self::compare::{Comparison, Difference, compare};
pub use self::content::{CopyText, TableCounts, count_tables};
pub use self::live::read_database;
pub use self::query::{read, settings};

/// What `pg_dump` sets in its sessions besides the text of values, and
/// what every session reading rows for a dump or a check sets too: no
/// timeout ends a long read or an idle snapshot, a table with row level
/// security is read whole or not at all, and a table's rows come in their
/// order on disk (a scan that joined another one half way would start in
/// the middle).
pub const READER_SETTINGS: &str = "SET statement_timeout = 0; SET lock_timeout = 0; \
     SET idle_in_transaction_session_timeout = 0; SET row_security = off; \
     SET synchronize_seqscans = off";

/// The catalog file's format version.
pub const VERSION: u32 = 1;

/// The kinds of object the catalog lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Schema,
    Extension,
    Collation,
    Type,
    Domain,
    DomainConstraint,
    Function,
    Table,
    View,
    MaterializedView,
    ForeignTable,
    Sequence,
    Index,
    Constraint,
    Trigger,
    Rule,
    Policy,
    Statistics,
    EventTrigger,
    Publication,
    Cast,
    Operator,
    TextSearch,
    DefaultPrivileges,
}

impl Kind {
    /// The kind in the catalog query's own words, which are its names in
    /// the catalog file (`domain-constraint`).
    pub fn from_query(word: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(word.to_owned())).ok()
    }

    /// The kind as people read it.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Schema => "schema",
            Self::Extension => "extension",
            Self::Collation => "collation",
            Self::Type => "type",
            Self::Domain => "domain",
            Self::DomainConstraint => "domain constraint",
            Self::Function => "function",
            Self::Table => "table",
            Self::View => "view",
            Self::MaterializedView => "materialized view",
            Self::ForeignTable => "foreign table",
            Self::Sequence => "sequence",
            Self::Index => "index",
            Self::Constraint => "constraint",
            Self::Trigger => "trigger",
            Self::Rule => "rule",
            Self::Policy => "policy",
            Self::Statistics => "statistics object",
            Self::EventTrigger => "event trigger",
            Self::Publication => "publication",
            Self::Cast => "cast",
            Self::Operator => "operator",
            Self::TextSearch => "text search object",
            Self::DefaultPrivileges => "default privileges",
        }
    }

    /// Kinds whose every object is about owners and grants, compared only
    /// when the copy keeps them.
    pub fn is_privileges(self) -> bool {
        self == Self::DefaultPrivileges
    }
}

/// An object's identity: the same object has the same key in a source
/// and in its copy, whatever their object ids.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Key {
    pub kind: Kind,
    /// Its schema (empty for objects outside schemas: extensions' own
    /// names, event triggers, publications, casts).
    pub schema: String,
    /// The table (or domain) it belongs to, for indexes, constraints,
    /// triggers, rules and policies.
    pub table: Option<String>,
    pub name: String,
    /// A function's argument types, an operator's operands.
    pub arguments: Option<String>,
}

/// What an object is besides its identity.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Object {
    /// Its definition as the server prints it (`pg_get_indexdef`,
    /// `pg_get_constraintdef`, a table's columns...), with the flags that
    /// a copy must keep (valid, enabled, populated...).
    pub definition: String,
    /// Its comment, if any.
    pub comment: Option<String>,
    /// Its owner: compared only when the copy keeps owners.
    pub owner: Option<String>,
    /// Its grants (and its columns'): compared only when the copy keeps
    /// them.
    pub grants: Option<String>,
}

/// A table's rows: how many, and (under `check = "content"`) the SHA-256
/// of their `COPY ... TO STDOUT` text.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rows {
    pub rows: u64,
    pub sha256: Option<String>,
}

/// A table whose rows the catalog counts: its identity, its object id on
/// the server it was read from (a dump's table of contents names tables
/// by that id), and its rows.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub schema: String,
    pub name: String,
    pub oid: u32,
    /// The columns its rows' text carries, in the order it carries them
    /// (`check = "content"` reads the copy in the same order).
    #[serde(default)]
    pub columns: Vec<String>,
    /// `None` until counted.
    pub rows: Option<Rows>,
}

/// A large object: its size and SHA-256, its owner and grants.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LargeObject {
    pub size: u64,
    pub sha256: String,
    pub comment: Option<String>,
    pub owner: Option<String>,
    pub grants: Option<String>,
}

/// A sequence's state: its last value once it was called, `None` before.
pub type SequenceValue = Option<i64>;

/// What a database holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    pub version: u32,
    /// The server's major version (`150004` read as 15).
    pub server_version: u32,
    /// The database encoding (`UTF8`).
    pub encoding: String,
    /// The session settings `COPY` text depends on, as the dump had them
    /// (`DateStyle`, `TimeZone`...): `check = "content"` reads the copy
    /// with the same.
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    /// Every object, by identity; a key listed more than once holds each
    /// object's entry (sorted).
    #[serde(with = "entries")]
    pub objects: BTreeMap<Key, Vec<Object>>,
    /// Every ordinary table, with its rows once counted.
    pub tables: Vec<Table>,
    /// Every sequence's value.
    #[serde(with = "entries")]
    pub sequences: BTreeMap<(String, String), SequenceValue>,
    /// Every large object, by its id (a dump keeps the ids).
    pub large_objects: BTreeMap<u32, LargeObject>,
    /// Each sequence by the name `pg_dump`'s `setval` gives it: how the
    /// values a dump carries are told apart. Not written.
    #[serde(skip)]
    pub setval_keys: BTreeMap<String, (String, String)>,
}

impl Catalog {
    /// Reads a catalog file.
    pub fn load(path: &Path) -> std::io::Result<Self> {
        let bytes = std::fs::read(path)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }

    /// The catalog as JSON, for its file.
    pub fn to_json(&self) -> Vec<u8> {
        let mut text = serde_json::to_vec_pretty(self).unwrap_or_default();
        text.push(b'\n');
        text
    }

    /// How many rows the counted tables hold.
    pub fn rows(&self) -> u64 {
        self.tables
            .iter()
            .filter_map(|t| t.rows.as_ref())
            .map(|r| r.rows)
            .sum()
    }

    /// How many objects the catalog lists.
    pub fn object_count(&self) -> u64 {
        self.objects.values().map(|o| o.len() as u64).sum()
    }

    /// The table `schema.name`, if listed.
    pub fn table_mut(&mut self, schema: &str, name: &str) -> Option<&mut Table> {
        self.tables
            .iter_mut()
            .find(|t| t.schema == schema && t.name == name)
    }

    /// What a schema-only dump of this database restores: every table
    /// empty, no materialized view populated, every sequence as created,
    /// no large object.
    pub fn schema_only(&mut self) {
        for table in &mut self.tables {
            table.rows = Some(Rows {
                rows: 0,
                sha256: table
                    .rows
                    .as_ref()
                    .and_then(|r| r.sha256.as_ref())
                    .map(|_| empty_sha256()),
            });
        }
        for (key, objects) in &mut self.objects {
            if key.kind == Kind::MaterializedView {
                for object in objects {
                    object.definition = query::unpopulated(&object.definition);
                }
            }
        }
        for value in self.sequences.values_mut() {
            *value = None;
        }
        self.large_objects.clear();
    }

    /// Takes the sequences' values from what the dump carries: `sql`,
    /// `pg_dump`'s `SELECT pg_catalog.setval('name', value, called);`
    /// statements, each recognised by the name the catalog knows; a
    /// sequence it does not set keeps its value as created.
    pub fn sequences_from_dump(&mut self, sql: &str) {
        const SETVAL: &str = "SELECT pg_catalog.setval(";
        let mut set = BTreeMap::new();
        // A name may hold a line break: the statement is found where it
        // starts, not line by line.
        for (at, _) in sql.match_indices(SETVAL) {
            let rest = &sql[at + SETVAL.len()..];
            for (key, name) in &self.setval_keys {
                if let Some(args) = rest.strip_prefix(key.as_str())
                    && let Some(value) = setval_value(args)
                {
                    set.insert(name.clone(), value);
                }
            }
        }
        for (name, value) in &mut self.sequences {
            *value = set.get(name).copied().flatten();
        }
    }
}

/// The start of `, 42, true);...` as `Some(Some(42))`, of `, 1, false);`
/// as `Some(None)`.
fn setval_value(args: &str) -> Option<SequenceValue> {
    let args = args.strip_prefix(", ")?;
    let (value, rest) = args.split_once(", ")?;
    let value: i64 = value.parse().ok()?;
    if rest.starts_with("true);") {
        Some(Some(value))
    } else if rest.starts_with("false);") {
        Some(None)
    } else {
        None
    }
}

/// The SHA-256 of no bytes: an empty table's content.
pub fn empty_sha256() -> String {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into()
}

/// Maps with structured keys as lists of `[key, value]` pairs in JSON.
mod entries {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        map: &BTreeMap<K, V>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(map.iter())
    }

    pub fn deserialize<'de, K, V, D>(deserializer: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        let pairs: Vec<(K, V)> = Vec::deserialize(deserializer)?;
        Ok(pairs.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_values_are_read_by_the_names_the_catalog_knows() {
        let mut catalog = Catalog::default();
        for (key, name) in [("'public.s'", "s"), ("'public.\"a'');\nb\"'", "a');\nb")] {
            let name = ("public".to_owned(), name.to_owned());
            catalog.setval_keys.insert(key.to_owned(), name.clone());
            catalog.sequences.insert(name, Some(1));
        }
        catalog
            .sequences
            .insert(("public".into(), "unset".into()), Some(7));
        catalog.sequences_from_dump(
            "SELECT pg_catalog.setval('public.s', 42, true);\n\
             SELECT pg_catalog.setval('public.\"a'');\nb\"', 5, false);\n",
        );
        let value = |name: &str| catalog.sequences[&("public".to_owned(), name.to_owned())];
        assert_eq!(value("s"), Some(42));
        assert_eq!(value("a');\nb"), None);
        assert_eq!(value("unset"), None);
    }
}
