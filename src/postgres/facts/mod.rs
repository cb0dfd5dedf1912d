//! What a database holds, in terms a dump and a live database can both be
//! measured in: rows per table, sequence values, the objects the schema
//! defines, the encoding. `check` reads these facts from the dump's own
//! content ([`dump`]) and from the restored database ([`database`]), and
//! names every difference ([`compare`]).

pub mod database;
pub mod dump;
pub mod sanitized;
mod sql_scan;
pub mod stream;

pub use self::sql_scan::unquote_qualified;
mod toc;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The kinds of object `check` counts besides tables and sequences.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    Index,
    /// Primary keys, unique, exclusion and foreign key constraints.
    Constraint,
    /// Check constraints the dump defines apart from their table (most are
    /// written inside `CREATE TABLE` and checked with it).
    CheckConstraint,
    Trigger,
    /// Views and materialized views.
    View,
    /// Functions, procedures and aggregates.
    Function,
}

impl ObjectKind {
    /// The kind of a dump entry (`INDEX`, `FK CONSTRAINT`...), if `check`
    /// counts it.
    pub fn of_entry(desc: &str) -> Option<Self> {
        Some(match desc {
            "INDEX" => Self::Index,
            "CONSTRAINT" | "FK CONSTRAINT" => Self::Constraint,
            "CHECK CONSTRAINT" => Self::CheckConstraint,
            "TRIGGER" => Self::Trigger,
            "VIEW" | "MATERIALIZED VIEW" => Self::View,
            "FUNCTION" | "PROCEDURE" | "AGGREGATE" => Self::Function,
            _ => return None,
        })
    }

    fn noun(self) -> &'static str {
        match self {
            Self::Index => "index",
            Self::Constraint | Self::CheckConstraint => "constraint",
            Self::Trigger => "trigger",
            Self::View => "view",
            Self::Function => "function",
        }
    }
}

/// A sequence's state: its last value once it was called, `None` before.
pub type SequenceValue = Option<i64>;

/// What a database holds, or what a dump says it holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// The database encoding (`UTF8`).
    pub encoding: Option<String>,
    /// Rows per table (`schema.table`); a table whose data the dump left
    /// out has none.
    pub tables: BTreeMap<String, u64>,
    /// Each sequence's value (`schema.sequence`).
    pub sequences: BTreeMap<String, SequenceValue>,
    /// Objects by kind, by name (`schema.name`, or `schema.table name` for
    /// constraints and triggers), with how many carry the name (overloaded
    /// functions share one).
    pub objects: BTreeMap<ObjectKind, BTreeMap<String, u32>>,
}

impl Facts {
    pub fn rows(&self) -> u64 {
        self.tables.values().sum()
    }

    /// How many objects of the counted kinds there are.
    pub fn object_count(&self) -> u64 {
        self.objects
            .values()
            .flat_map(|names| names.values())
            .map(|&n| u64::from(n))
            .sum()
    }

    pub(crate) fn add_object(&mut self, kind: ObjectKind, name: String) {
        *self
            .objects
            .entry(kind)
            .or_default()
            .entry(name)
            .or_default() += 1;
    }
}

/// One way a database differs from what it should hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    /// What differs: `table public.dcim_device`, `index public.x_idx`.
    pub what: String,
    pub expected: String,
    pub found: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: expected {}, found {}",
            self.what, self.expected, self.found
        )
    }
}

/// Every way `found` differs from `expected`. Objects `found` has that
/// `expected` lacks count too, except check constraints, which the dump
/// mostly writes inside their table's definition.
pub fn compare(expected: &Facts, found: &Facts) -> Vec<Difference> {
    let mut differences = Vec::new();
    let mut differ = |what: String, expected: String, found: String| {
        differences.push(Difference {
            what,
            expected,
            found,
        });
    };
    if let (Some(e), Some(f)) = (&expected.encoding, &found.encoding)
        && !e.eq_ignore_ascii_case(f)
    {
        differ("the encoding".into(), e.clone(), f.clone());
    }
    for (table, rows) in &expected.tables {
        match found.tables.get(table) {
            None => differ(
                format!("table {table}"),
                rows_text(*rows),
                "no such table".into(),
            ),
            Some(n) if n != rows => {
                differ(format!("table {table}"), rows_text(*rows), rows_text(*n))
            }
            Some(_) => {}
        }
    }
    for table in found
        .tables
        .keys()
        .filter(|t| !expected.tables.contains_key(*t))
    {
        differ(
            format!("table {table}"),
            "no such table".into(),
            rows_text(found.tables[table]),
        );
    }
    for (sequence, value) in &expected.sequences {
        match found.sequences.get(sequence) {
            None => differ(
                format!("sequence {sequence}"),
                sequence_text(*value),
                "no such sequence".into(),
            ),
            Some(v) if v != value => differ(
                format!("sequence {sequence}"),
                sequence_text(*value),
                sequence_text(*v),
            ),
            Some(_) => {}
        }
    }
    let none = BTreeMap::new();
    let kinds: std::collections::BTreeSet<ObjectKind> = expected
        .objects
        .keys()
        .chain(found.objects.keys())
        .copied()
        .collect();
    for kind in kinds {
        let want = expected.objects.get(&kind).unwrap_or(&none);
        let have = found.objects.get(&kind).unwrap_or(&none);
        for (name, n) in want {
            let m = have.get(name).copied().unwrap_or(0);
            if m < *n {
                differ(
                    format!("{} {name}", kind.noun()),
                    count_text(*n),
                    if m == 0 { "none".into() } else { count_text(m) },
                );
            }
        }
        if kind == ObjectKind::CheckConstraint {
            continue;
        }
        for (name, m) in have {
            let n = want.get(name).copied().unwrap_or(0);
            if *m > n {
                differ(
                    format!("{} {name}", kind.noun()),
                    if n == 0 { "none".into() } else { count_text(n) },
                    count_text(*m),
                );
            }
        }
    }
    differences
}

fn rows_text(rows: u64) -> String {
    if rows == 1 {
        "1 row".into()
    } else {
        format!("{rows} rows")
    }
}

fn sequence_text(value: SequenceValue) -> String {
    match value {
        Some(v) => format!("value {v}"),
        None => "not called yet".into(),
    }
}

fn count_text(n: u32) -> String {
    if n == 1 { "1".into() } else { format!("{n}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        let mut f = Facts {
            encoding: Some("UTF8".into()),
            ..Facts::default()
        };
        f.tables.insert("public.dcim_device".into(), 20);
        f.tables.insert("public.core_objectchange".into(), 0);
        f.sequences
            .insert("public.dcim_device_id_seq".into(), Some(20));
        f.add_object(ObjectKind::Index, "public.dcim_device_name".into());
        f.add_object(
            ObjectKind::Constraint,
            "public.dcim_device dcim_device_pkey".into(),
        );
        f
    }

    #[test]
    fn equal_facts_have_no_difference() {
        assert!(compare(&facts(), &facts()).is_empty());
        assert_eq!(facts().rows(), 20);
        assert_eq!(facts().object_count(), 2);
    }

    #[test]
    fn every_difference_is_named() {
        let expected = facts();
        let mut found = facts();
        found.tables.insert("public.dcim_device".into(), 19);
        found.tables.remove("public.core_objectchange");
        found
            .sequences
            .insert("public.dcim_device_id_seq".into(), None);
        found.objects.get_mut(&ObjectKind::Index).unwrap().clear();
        found.add_object(ObjectKind::Trigger, "public.dcim_device t".into());
        found.encoding = Some("LATIN1".into());
        let shown: Vec<String> = compare(&expected, &found)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shown,
            vec![
                "the encoding: expected UTF8, found LATIN1",
                "table public.core_objectchange: expected 0 rows, found no such table",
                "table public.dcim_device: expected 20 rows, found 19 rows",
                "sequence public.dcim_device_id_seq: expected value 20, found not called yet",
                "index public.dcim_device_name: expected 1, found none",
                "trigger public.dcim_device t: expected none, found 1",
            ]
        );
    }

    #[test]
    fn inline_check_constraints_are_not_extras() {
        let expected = facts();
        let mut found = facts();
        found.add_object(
            ObjectKind::CheckConstraint,
            "public.dcim_device pos_check".into(),
        );
        assert!(compare(&expected, &found).is_empty());
        let mut expected = facts();
        expected.add_object(ObjectKind::CheckConstraint, "public.t c".into());
        assert_eq!(compare(&expected, &facts()).len(), 1);
    }
}
