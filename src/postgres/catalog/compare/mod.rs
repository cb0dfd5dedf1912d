//! Two catalogs compared by identity: every object missing, extra or
//! different, every table whose rows differ, every sequence and large
//! object.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::show::{shown, shown_key};
use super::{Catalog, Object};

/// What a comparison looks at besides the objects and rows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Owners and grants (the copy keeps them: `owners = true`).
    pub owners: bool,
    /// Every table's content, where both catalogs hashed it.
    pub content: bool,
}

/// One way a database differs from what it should hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    /// What differs: `table public.dcim_device`, `index public.x_idx on
    /// public.x`.
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

/// Every way `found` differs from `expected`.
pub fn compare(expected: &Catalog, found: &Catalog, how: Comparison) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut differ = |what: String, expected: String, found: String| {
        out.push(Difference {
            what,
            expected,
            found,
        });
    };
    if !expected.encoding.eq_ignore_ascii_case(&found.encoding) {
        differ(
            "the encoding".into(),
            expected.encoding.clone(),
            found.encoding.clone(),
        );
    }
    for key in union(&expected.objects, &found.objects) {
        if key.kind.is_privileges() && !how.owners {
            continue;
        }
        let want = expected.objects.get(key).map_or(&[][..], Vec::as_slice);
        let have = found.objects.get(key).map_or(&[][..], Vec::as_slice);
        let what = shown_key(key);
        match (want, have) {
            ([], _) => differ(what, "none".into(), presence(have.len())),
            (_, []) => differ(what, presence(want.len()), "none".into()),
            _ if want.len() != have.len() => {
                differ(what, presence(want.len()), presence(have.len()));
            }
            _ => {
                for (w, h) in want.iter().zip(have) {
                    for (part, e, f) in object_differences(w, h, how.owners) {
                        differ(format!("{what}: {part}"), e, f);
                    }
                }
            }
        }
    }
    tables(expected, found, how, &mut differ);
    for name in union(&expected.sequences, &found.sequences) {
        let what = format!("sequence {}", shown(&name.0, &name.1));
        match (expected.sequences.get(name), found.sequences.get(name)) {
            (Some(e), Some(f)) if e != f => differ(what, sequence_text(*e), sequence_text(*f)),
            (Some(e), None) => differ(what, sequence_text(*e), "no such sequence".into()),
            (None, Some(f)) => differ(what, "no such sequence".into(), sequence_text(*f)),
            _ => {}
        }
    }
    for oid in union(&expected.large_objects, &found.large_objects) {
        let what = format!("large object {oid}");
        match (
            expected.large_objects.get(oid),
            found.large_objects.get(oid),
        ) {
            (Some(e), Some(f)) => {
                if (e.size, &e.sha256) != (f.size, &f.sha256) {
                    differ(
                        what.clone(),
                        format!("{} bytes, SHA-256 {}", e.size, short(&e.sha256)),
                        format!("{} bytes, SHA-256 {}", f.size, short(&f.sha256)),
                    );
                }
                if e.comment != f.comment {
                    differ(
                        format!("{what}: comment"),
                        optional(e.comment.as_deref()),
                        optional(f.comment.as_deref()),
                    );
                }
                if how.owners && (&e.owner, &e.grants) != (&f.owner, &f.grants) {
                    differ(
                        format!("{what}: owner and grants"),
                        owner_text(e.owner.as_deref(), e.grants.as_deref()),
                        owner_text(f.owner.as_deref(), f.grants.as_deref()),
                    );
                }
            }
            (Some(e), None) => differ(what, format!("{} bytes", e.size), "none".into()),
            (None, Some(f)) => differ(what, "none".into(), format!("{} bytes", f.size)),
            (None, None) => {}
        }
    }
    out
}

/// The keys of either map, each once, in order.
fn union<'a, K: Ord, V>(a: &'a BTreeMap<K, V>, b: &'a BTreeMap<K, V>) -> BTreeSet<&'a K> {
    a.keys().chain(b.keys()).collect()
}

/// Each table's rows (and content), by identity.
fn tables(
    expected: &Catalog,
    found: &Catalog,
    how: Comparison,
    differ: &mut impl FnMut(String, String, String),
) {
    for table in &expected.tables {
        let what = format!("table {}", shown(&table.schema, &table.name));
        let Some(want) = &table.rows else {
            differ(what, "rows the dump counted".into(), "none counted".into());
            continue;
        };
        let Some(have) = found
            .tables
            .iter()
            .find(|t| t.schema == table.schema && t.name == table.name)
        else {
            differ(what, rows_text(want.rows), "no such table".into());
            continue;
        };
        let Some(have) = &have.rows else { continue };
        if want.rows != have.rows {
            differ(what, rows_text(want.rows), rows_text(have.rows));
        } else if how.content
            && let (Some(e), Some(f)) = (&want.sha256, &have.sha256)
            && e != f
        {
            differ(
                format!("{what}: content"),
                format!("SHA-256 {}", short(e)),
                format!("SHA-256 {} (the same rows, other values)", short(f)),
            );
        }
    }
    for table in &found.tables {
        let listed = expected
            .tables
            .iter()
            .any(|t| t.schema == table.schema && t.name == table.name);
        if !listed {
            let rows = table.rows.as_ref().map_or(0, |r| r.rows);
            differ(
                format!("table {}", shown(&table.schema, &table.name)),
                "no such table".into(),
                rows_text(rows),
            );
        }
    }
}

/// What differs between two entries of the same object: `(part,
/// expected, found)`.
fn object_differences(want: &Object, have: &Object, owners: bool) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    if want.definition != have.definition {
        let (e, f) = first_difference(&want.definition, &have.definition);
        out.push(("definition".into(), e, f));
    }
    if want.comment != have.comment {
        out.push((
            "comment".into(),
            optional(want.comment.as_deref()),
            optional(have.comment.as_deref()),
        ));
    }
    if owners && want.owner != have.owner {
        out.push((
            "owner".into(),
            optional(want.owner.as_deref()),
            optional(have.owner.as_deref()),
        ));
    }
    if owners && want.grants != have.grants {
        out.push((
            "grants".into(),
            optional(want.grants.as_deref()),
            optional(have.grants.as_deref()),
        ));
    }
    out
}

/// The first line where two definitions part, each shown on one line.
fn first_difference(want: &str, have: &str) -> (String, String) {
    let mut w = want.lines();
    let mut h = have.lines();
    loop {
        match (w.next(), h.next()) {
            (Some(a), Some(b)) if a == b => {}
            (a, b) => return (line_text(a), line_text(b)),
        }
    }
}

fn line_text(line: Option<&str>) -> String {
    match line {
        Some(line) => format!("`{}`", one_line(line, 160)),
        None => "nothing more".into(),
    }
}

/// `text` on one line, cut after `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let escaped: String = text.escape_debug().collect();
    if escaped.chars().count() > max {
        let cut: String = escaped.chars().take(max).collect();
        format!("{cut}...")
    } else {
        escaped
    }
}

fn optional(text: Option<&str>) -> String {
    match text {
        Some(text) => format!("`{}`", one_line(text, 80)),
        None => "none".into(),
    }
}

fn owner_text(owner: Option<&str>, grants: Option<&str>) -> String {
    format!(
        "owner {}, grants {}",
        owner.unwrap_or("-"),
        grants.unwrap_or("-")
    )
}

fn presence(n: usize) -> String {
    match n {
        0 => "none".into(),
        1 => "present".into(),
        n => format!("{n} of them"),
    }
}

fn rows_text(rows: u64) -> String {
    if rows == 1 {
        "1 row".into()
    } else {
        format!("{rows} rows")
    }
}

fn sequence_text(value: super::SequenceValue) -> String {
    match value {
        Some(v) => format!("value {v}"),
        None => "not called yet".into(),
    }
}

/// The first 12 hex digits of a SHA-256.
fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

#[cfg(test)]
mod tests;
