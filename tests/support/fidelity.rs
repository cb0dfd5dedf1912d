//! An independent comparison of a database with its copy, for the fidelity
//! corpus (`tests/fixtures/fidelity/`): nothing here comes from replicate.
//! The schema is what `pg_dump --schema-only` prints; every table's rows are
//! hashed from `COPY`; sequences, large objects and the database's own
//! settings are read from the catalog. [`differences`] shows how two
//! fingerprints differ.

use std::collections::BTreeMap;
use std::fmt;
use std::process::Command;

use sha2::{Digest, Sha256};

use super::assert_succeeded;
use super::pg::{Cluster, psql, server_bindir};

/// What a database holds, to compare with `assert_eq!` or [`differences`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub schema: Schema,
    /// Every table (`r`) and materialized view (`m`), by `schema.name` as
    /// `format('%I.%I')` writes it.
    pub tables: BTreeMap<String, Table>,
    pub sequences: BTreeMap<String, Sequence>,
    pub large_objects: BTreeMap<u32, LargeObject>,
    pub database: Database,
    /// The indexes PostgreSQL marks not valid (`pg_index.indisvalid`),
    /// which the schema dump does not show, by `schema.name`.
    pub invalid_indexes: Vec<String>,
}

/// The normalized `pg_dump --schema-only` text (its `Debug` is a summary;
/// [`differences`] shows the lines that differ).
#[derive(Clone, PartialEq, Eq)]
pub struct Schema(pub String);

impl fmt::Debug for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sha = hex::encode(Sha256::digest(self.0.as_bytes()));
        write!(
            f,
            "Schema({} lines, sha256 {})",
            self.0.lines().count(),
            &sha[..16]
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// A materialized view (`relkind` `m`), not a table.
    pub materialized: bool,
    /// The columns in their order (`attnum`), as `%I` writes them.
    pub columns: Vec<String>,
    pub rows: Rows,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rows {
    /// The SHA-256 of `COPY (SELECT <columns by name> ... ORDER BY <each
    /// column as text>) TO STDOUT`, and the number of lines it wrote.
    Copied { count: u64, sha256: String },
    /// A table without columns: only its rows can be counted.
    Counted(u64),
    /// A materialized view never refreshed (reading it is an error).
    NotPopulated,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequence {
    pub last_value: String,
    pub is_called: bool,
    pub start_value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LargeObject {
    pub size: u64,
    pub sha256: String,
    pub comment: Option<String>,
    /// Owner and grants, read only when the copy keeps owners.
    pub owner: Option<String>,
    pub acl: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Database {
    /// Encoding, collation and ctype.
    pub locale: String,
    pub comment: Option<String>,
    /// `ALTER DATABASE ... SET` and `ALTER ROLE ... IN DATABASE ... SET`.
    pub settings: Vec<String>,
    pub acl: Option<String>,
}

/// How to read a database: with owners and grants or without (as
/// `--no-owner --no-privileges` copies), and which known differences to
/// leave out of both sides.
#[derive(Debug, Clone, Default)]
pub struct Reading {
    pub owners: bool,
    /// Tables whose column order is not compared (their rows still are).
    pub column_order_ignored: Vec<&'static str>,
    /// Rows left out of a table's hash: (table, SQL condition for the rows kept).
    pub rows_kept: Vec<(&'static str, &'static str)>,
    /// The database's comment, settings and grants are not compared.
    pub database_level_ignored: bool,
    /// Which indexes are valid is not compared.
    pub index_validity_ignored: bool,
}

/// Session settings that make `COPY`'s text the same on any server.
const SESSION: &str = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; \
     SET IntervalStyle = 'postgres'; SET extra_float_digits = 3; SET bytea_output = 'hex'; \
     SET search_path = pg_catalog, pg_temp; SET row_security = off; SET statement_timeout = 0;";

/// The indexes not valid, outside the system schemas.
const INVALID_INDEXES: &str = "SELECT format('%I.%I', n.nspname, c.relname) \
     FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
     JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE NOT i.indisvalid AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
     AND n.nspname NOT LIKE 'pg\\_toast%' ORDER BY 1";

/// Runs `sql` and splits its rows of `width` fields (NUL-separated, so that
/// names with line breaks or `|` come through whole).
fn rows(cluster: &Cluster, db: &str, sql: &str, width: usize) -> Vec<Vec<String>> {
    let output = psql(&cluster.url(db))
        .args([
            "-X",
            "-A",
            "-t",
            "-q",
            "-z",
            "-0",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            SESSION,
            "-c",
            sql,
        ])
        .output()
        .expect("psql runs");
    let output = assert_succeeded(output, &format!("query on port {}: {sql}", cluster.port));
    let text = String::from_utf8(output.stdout).expect("UTF-8 output");
    let mut fields: Vec<String> = text.split('\0').map(str::to_owned).collect();
    if fields.last().is_some_and(String::is_empty) {
        fields.pop();
    }
    assert_eq!(fields.len() % width, 0, "{sql}: {fields:?}");
    fields.chunks(width).map(<[String]>::to_vec).collect()
}

fn optional(text: &str) -> Option<String> {
    (text != "<none>").then(|| text.to_owned())
}

/// The normalized `pg_dump --schema-only` of `db` (owners and grants only
/// with `owners`): its version lines and the `\restrict` lines of newer
/// point releases (a random key each run) left out.
pub fn schema(cluster: &Cluster, db: &str, owners: bool) -> Schema {
    let mut command = Command::new(server_bindir().join("pg_dump"));
    command.env_remove("PGPASSWORD").args([
        "--schema-only",
        "--no-password",
        "-d",
        &cluster.url(db),
    ]);
    if !owners {
        command.args(["--no-owner", "--no-privileges"]);
    }
    let output = assert_succeeded(
        command.output().expect("pg_dump runs"),
        "pg_dump --schema-only",
    );
    let text = String::from_utf8(output.stdout).expect("UTF-8 dump");
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            !(l.starts_with("\\restrict ")
                || l.starts_with("\\unrestrict ")
                || l.starts_with("-- Dumped from database version")
                || l.starts_with("-- Dumped by pg_dump version"))
        })
        .collect();
    Schema(kept.join("\n"))
}

const TABLES: &str = "SELECT format('%I.%I', n.nspname, c.relname), c.relkind::text, c.relispopulated::text, \
     coalesce((SELECT string_agg(format('%I', a.attname), E'\\x1f' ORDER BY a.attnum) FROM pg_attribute AS a \
               WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '') \
     FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace \
     WHERE c.relkind IN ('r', 'm') AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_' \
       AND NOT EXISTS (SELECT FROM pg_depend AS d WHERE d.classid = 'pg_class'::regclass \
                       AND d.objid = c.oid AND d.deptype = 'e') \
     ORDER BY 1";

const SEQUENCES: &str = "SELECT format('%I.%I', schemaname, sequencename), start_value::text \
     FROM pg_sequences ORDER BY 1";

const LARGE_OBJECTS: &str = "SELECT m.oid::text, length(lo_get(m.oid))::text, \
     encode(sha256(lo_get(m.oid)), 'hex'), coalesce(obj_description(m.oid, 'pg_largeobject'), '<none>'), \
     pg_get_userbyid(m.lomowner), coalesce(m.lomacl::text, '<none>') \
     FROM pg_largeobject_metadata AS m ORDER BY m.oid";

const DATABASE: &str = "SELECT pg_encoding_to_char(d.encoding) || ' ' || d.datcollate || ' ' || d.datctype, \
     coalesce(shobj_description(d.oid, 'pg_database'), '<none>'), coalesce(d.datacl::text, '<none>'), \
     coalesce((SELECT string_agg(coalesce(r.rolname, '*') || ': ' || array_to_string(s.setconfig, ', '), E'\\x1f' \
                               ORDER BY coalesce(r.rolname, '*')) \
               FROM pg_db_role_setting AS s LEFT JOIN pg_roles AS r ON r.oid = s.setrole \
               WHERE s.setdatabase = d.oid), '') \
     FROM pg_database AS d WHERE d.datname = current_database()";

fn split_unit(text: &str) -> Vec<String> {
    if text.is_empty() {
        Vec::new()
    } else {
        text.split('\x1f').map(str::to_owned).collect()
    }
}

/// Reads the fingerprint of `db` on `cluster`.
pub fn fingerprint(cluster: &Cluster, db: &str, reading: &Reading) -> Fingerprint {
    let listed = rows(cluster, db, TABLES, 4);
    let sequences = rows(cluster, db, SEQUENCES, 2);
    let folder = tempfile::tempdir().expect("temporary folder");
    let mut script = format!("{SESSION}\n");
    for (i, row) in listed.iter().enumerate() {
        let (name, populated, columns) = (&row[0], row[2] == "true", split_unit(&row[3]));
        if !populated {
            continue;
        }
        let file = folder.path().join(format!("t{i}"));
        let kept = reading.rows_kept.iter().find(|(t, _)| t == name);
        let filter = kept.map_or(String::new(), |(_, c)| format!(" WHERE {c}"));
        script.push_str(&format!("\\o '{}'\n", file.display()));
        if columns.is_empty() {
            script.push_str(&format!("SELECT count(*) FROM ONLY {name}{filter};\n"));
        } else {
            let mut by_name = columns.clone();
            by_name.sort();
            let order: Vec<String> = by_name
                .iter()
                .map(|c| format!("{c}::text COLLATE \"C\""))
                .collect();
            script.push_str(&format!(
                "COPY (SELECT {} FROM ONLY {name}{filter} ORDER BY {}) TO STDOUT;\n",
                by_name.join(", "),
                order.join(", ")
            ));
        }
    }
    for (i, row) in sequences.iter().enumerate() {
        let file = folder.path().join(format!("s{i}"));
        script.push_str(&format!("\\o '{}'\n", file.display()));
        script.push_str(&format!("SELECT last_value, is_called FROM {};\n", row[0]));
    }
    let script_path = folder.path().join("read.sql");
    std::fs::write(&script_path, script).expect("script written");
    let output = psql(&cluster.url(db))
        .args(["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-f"])
        .arg(&script_path)
        .output()
        .expect("psql runs");
    assert_succeeded(output, &format!("reading the rows of {db}"));
    let read = |name: String| std::fs::read(folder.path().join(name)).expect("output file");

    let mut tables = BTreeMap::new();
    for (i, row) in listed.into_iter().enumerate() {
        let mut columns = split_unit(&row[3]);
        if reading.column_order_ignored.contains(&row[0].as_str()) {
            columns.sort();
        }
        let rows = if row[2] != "true" {
            Rows::NotPopulated
        } else if columns.is_empty() {
            let text = String::from_utf8(read(format!("t{i}"))).expect("a count");
            Rows::Counted(text.trim().parse().expect("a count"))
        } else {
            let bytes = read(format!("t{i}"));
            Rows::Copied {
                count: bytes.iter().filter(|&&b| b == b'\n').count() as u64,
                sha256: hex::encode(Sha256::digest(&bytes)),
            }
        };
        let materialized = row[1] == "m";
        let table = Table {
            materialized,
            columns,
            rows,
        };
        tables.insert(row[0].clone(), table);
    }
    let sequences = sequences
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            let text = String::from_utf8(read(format!("s{i}"))).expect("a sequence's state");
            let (last, called) = text.trim().split_once('|').expect("last_value|is_called");
            let state = Sequence {
                last_value: last.to_owned(),
                is_called: called == "t",
                start_value: row[1].clone(),
            };
            (row[0].clone(), state)
        })
        .collect();
    let large_objects = rows(cluster, db, LARGE_OBJECTS, 6)
        .into_iter()
        .map(|r| {
            let object = LargeObject {
                size: r[1].parse().expect("a size"),
                sha256: r[2].clone(),
                comment: optional(&r[3]),
                owner: reading.owners.then(|| r[4].clone()),
                acl: if reading.owners {
                    optional(&r[5])
                } else {
                    None
                },
            };
            (r[0].parse().expect("an oid"), object)
        })
        .collect();
    let d = &rows(cluster, db, DATABASE, 4)[0];
    let database = if reading.database_level_ignored {
        Database {
            locale: d[0].clone(),
            comment: None,
            settings: Vec::new(),
            acl: None,
        }
    } else {
        Database {
            locale: d[0].clone(),
            comment: optional(&d[1]),
            settings: split_unit(&d[3]),
            acl: if reading.owners {
                optional(&d[2])
            } else {
                None
            },
        }
    };
    let invalid_indexes = if reading.index_validity_ignored {
        Vec::new()
    } else {
        rows(cluster, db, INVALID_INDEXES, 1)
            .into_iter()
            .map(|mut r| r.remove(0))
            .collect()
    };
    Fingerprint {
        schema: schema(cluster, db, reading.owners),
        tables,
        sequences,
        large_objects,
        database,
        invalid_indexes,
    }
}

/// What a correct schema-only copy of `source` holds: the same schema, every
/// table empty, no materialized view populated (pg_dump writes no `REFRESH`
/// without data), every sequence as created
/// (`pg_dump --schema-only` writes no `setval`), no large object (they are
/// data to pg_dump 15).
pub fn schema_only(source: &Fingerprint) -> Fingerprint {
    let mut expected = source.clone();
    let empty = hex::encode(Sha256::digest(b""));
    for table in expected.tables.values_mut() {
        table.rows = match table.rows {
            _ if table.materialized => Rows::NotPopulated,
            Rows::Copied { .. } => Rows::Copied {
                count: 0,
                sha256: empty.clone(),
            },
            Rows::Counted(_) => Rows::Counted(0),
            Rows::NotPopulated => Rows::NotPopulated,
        };
    }
    for sequence in expected.sequences.values_mut() {
        sequence.last_value = sequence.start_value.clone();
        sequence.is_called = false;
    }
    expected.large_objects.clear();
    expected
}
