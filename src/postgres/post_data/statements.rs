//! The statements the restore runs for a table's keys and for foreign
//! keys, built from what `post-data.json` records of them (the catalog's
//! names, quoted by the server, and its definitions), beside the entries
//! as `pg_dump` wrote them.

use super::TableName;
use super::recorded::{ConstraintFacts, Entry, TableFacts};

/// An index or constraint of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableKey {
    /// The entry as `pg_dump` wrote it.
    pub sql: String,
    /// How the restore builds it once the table's rows are in.
    pub build: Build,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Build {
    /// An index and nothing else: the indexes of one table may be built
    /// at once by several sessions, each holding the table's `SHARE`
    /// lock.
    Index,
    /// A constraint that locks the table for itself (an exclusion, a key
    /// that is more than plain columns): the entry as it is.
    Locking,
    /// A plain `PRIMARY KEY` or `UNIQUE` constraint as two statements:
    /// its unique index (`CREATE UNIQUE INDEX`, built beside the table's
    /// other indexes, where `ADD CONSTRAINT` locks the table for itself),
    /// then `ADD CONSTRAINT ... USING INDEX`, which makes that index the
    /// constraint, quickly and to the same result.
    UniqueIndexFirst { index: String, constraint: String },
}

impl TableKey {
    /// An `INDEX` entry.
    pub fn index(sql: String) -> Self {
        Self {
            sql,
            build: Build::Index,
        }
    }

    /// A `CONSTRAINT` entry (a primary key, unique or exclusion
    /// constraint, or another kind a later `pg_dump` writes so); `None`
    /// without the catalog's facts of one, or with a foreign key's.
    pub fn constraint(sql: String, entry: &Entry) -> Option<Self> {
        let (table, key) = (entry.table.as_ref()?, entry.constraint.as_ref()?);
        if key.contype == "f" {
            return None;
        }
        let build = match unique_index_first(table, key) {
            Some((index, constraint)) => Build::UniqueIndexFirst { index, constraint },
            None => Build::Locking,
        };
        Some(Self { sql, build })
    }
}

/// A plain key's unique index and the constraint made from it; `None`
/// for any other key (an exclusion constraint, one whose index is more
/// than a btree over columns, a partitioned table's), which stays as
/// `pg_dump` wrote it.
fn unique_index_first(table: &TableFacts, key: &ConstraintFacts) -> Option<(String, String)> {
    let index = key.unique_index.as_ref().filter(|i| i.plain)?;
    let kind = match key.contype.as_str() {
        "p" => "PRIMARY KEY",
        "u" => "UNIQUE",
        _ => return None,
    };
    if table.relkind != "r" {
        return None;
    }
    let deferrable = match (key.deferrable, key.deferred) {
        (true, true) => " DEFERRABLE INITIALLY DEFERRED",
        (true, false) => " DEFERRABLE",
        (false, _) => "",
    };
    let (table, name) = (&table.quoted, &key.name);
    Some((
        format!("{};\n", index.definition),
        format!(
            "ALTER TABLE ONLY {table}\n    ADD CONSTRAINT {name} {kind} USING INDEX {name}{deferrable};\n"
        ),
    ))
}

/// A foreign key: its entry, the tables it waits for, and how it is added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    /// The entry as `pg_dump` wrote it.
    pub sql: String,
    /// Its table and the one it references (one, for a key to its own
    /// table), sorted.
    pub tables: Vec<TableName>,
    /// The tables `LOCK TABLE` takes, in name order.
    lock: String,
    /// The key added `NOT VALID`, and its validation, when it may be
    /// added so.
    not_valid: Option<(String, String)>,
}

impl ForeignKey {
    /// An `FK CONSTRAINT` entry; `None` without the catalog's facts of a
    /// foreign key.
    pub fn new(sql: String, entry: &Entry) -> Option<Self> {
        let (own, key) = (entry.table.as_ref()?, entry.constraint.as_ref()?);
        let referenced = key.references.as_ref().filter(|_| key.contype == "f")?;
        let mut tables = vec![
            TableName::new(&own.schema, &own.name),
            TableName::new(&referenced.schema, &referenced.name),
        ];
        tables.sort_unstable();
        tables.dedup();
        // A plain table's key is added to it `ONLY` (as pg_dump adds it),
        // and only it is locked, not its inheritance children; the
        // referenced table is locked with its partitions, which adding the
        // key locks too. By name, and a table named twice (a key to its
        // own table) locked with its children.
        let partitioned = own.relkind == "p";
        let mut locked = vec![
            (own.quoted.as_str(), !partitioned),
            (referenced.quoted.as_str(), false),
        ];
        locked.sort_unstable();
        locked.dedup_by_key(|(table, _)| *table);
        let lock: Vec<String> = locked
            .iter()
            .map(|(table, only)| format!("{}{table}", if *only { "ONLY " } else { "" }))
            .collect();
        // A key not validated on the source, or not enforced (which cannot
        // be validated), stays as written; a partitioned table's cannot be
        // added `NOT VALID`.
        let not_valid = (key.validated && key.enforced != Some(false) && !partitioned).then(|| {
            let (table, name) = (&own.quoted, &key.name);
            (
                format!(
                    "ALTER TABLE ONLY {table}\n    ADD CONSTRAINT {name} {} NOT VALID;\n",
                    key.definition
                ),
                format!("ALTER TABLE ONLY {table} VALIDATE CONSTRAINT {name};\n"),
            )
        });
        Some(Self {
            sql,
            tables,
            lock: lock.join(", "),
            not_valid,
        })
    }

    /// The entry in a transaction that first locks both its tables,
    /// sorted by name, as adding the key would (`SHARE ROW EXCLUSIVE`):
    /// sessions adding keys at once wait for each other but never take
    /// the same two locks in opposite orders.
    pub fn locked_in_order(&self) -> String {
        self.locked(&self.sql)
    }

    /// A foreign key between two tables loaded (and complete) as two
    /// scripts: the key added `NOT VALID`, in an instant, under the locks
    /// of [`ForeignKey::locked_in_order`]; then its validation, which
    /// locks only the key's own table against writes (`SHARE UPDATE
    /// EXCLUSIVE`, the one it references `ROW SHARE`), so that keys
    /// referencing one large table are checked side by side, not in turn,
    /// to the same validated key. No validation for a key that stays as
    /// written: one `NOT VALID` or `NOT ENFORCED` on the source, or one
    /// of a partitioned table.
    pub fn validated_apart(&self) -> (String, Option<String>) {
        match &self.not_valid {
            Some((add, validate)) => (self.locked(add), Some(validate.clone())),
            None => (self.locked_in_order(), None),
        }
    }

    fn locked(&self, add: &str) -> String {
        format!(
            "BEGIN;\nLOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE;\n{add}COMMIT;\n",
            self.lock
        )
    }
}
