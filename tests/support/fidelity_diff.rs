//! How two fingerprints of the fidelity comparison differ, readably: each
//! table, sequence and large object that differs, and a unified-ish diff of
//! the two schema dumps.

use std::collections::BTreeMap;
use std::fmt;

use super::fidelity::Fingerprint;

/// The differences between `expected` and `found`, readably: each table,
/// sequence and large object that differs, and the schema's differing lines
/// with a little context. Empty when they are equal.
pub fn differences(expected: &Fingerprint, found: &Fingerprint) -> String {
    let mut out = String::new();
    let mut section = |title: &str, want: &dyn fmt::Debug, have: &dyn fmt::Debug| {
        out.push_str(&format!(
            "{title}\n  expected {want:?}\n  found    {have:?}\n"
        ));
    };
    for name in keys(&expected.tables, &found.tables) {
        let (want, have) = (expected.tables.get(&name), found.tables.get(&name));
        if want != have {
            section(&format!("table {name}"), &want, &have);
        }
    }
    for name in keys(&expected.sequences, &found.sequences) {
        let (want, have) = (expected.sequences.get(&name), found.sequences.get(&name));
        if want != have {
            section(&format!("sequence {name}"), &want, &have);
        }
    }
    for oid in keys(&expected.large_objects, &found.large_objects) {
        let (want, have) = (
            expected.large_objects.get(&oid),
            found.large_objects.get(&oid),
        );
        if want != have {
            section(&format!("large object {oid}"), &want, &have);
        }
    }
    if expected.database != found.database {
        section("database", &expected.database, &found.database);
    }
    if expected.invalid_indexes != found.invalid_indexes {
        section(
            "indexes not valid",
            &expected.invalid_indexes,
            &found.invalid_indexes,
        );
    }
    if expected.schema != found.schema {
        out.push_str(&format!(
            "schema (pg_dump --schema-only) differs:\n{}",
            line_diff(&expected.schema.0, &found.schema.0)
        ));
    }
    out
}

fn keys<K: Ord + Clone, V>(a: &BTreeMap<K, V>, b: &BTreeMap<K, V>) -> Vec<K> {
    let mut all: Vec<K> = a.keys().chain(b.keys()).cloned().collect();
    all.sort();
    all.dedup();
    all
}

/// A unified-ish diff of two texts: `-` lines only in `expected`, `+` lines
/// only in `found`, each change with up to three lines of context (at most
/// 300 lines shown).
pub fn line_diff(expected: &str, found: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), found.lines().collect());
    let ops = shortest_edit(&a, &b, 1500).unwrap_or_else(|| {
        // Too different to align: all of one, then all of the other.
        let gone = a.iter().map(|l| ('-', *l));
        gone.chain(b.iter().map(|l| ('+', *l))).collect()
    });
    let near_change = |k: usize| {
        ops[k.saturating_sub(3)..(k + 4).min(ops.len())]
            .iter()
            .any(|(op, _)| *op != ' ')
    };
    let mut out = String::new();
    let (mut line, mut shown, mut skipped) = (0, 0, true);
    for (k, (op, text)) in ops.iter().enumerate() {
        if *op != '+' {
            line += 1;
        }
        if !near_change(k) {
            skipped = true;
            continue;
        }
        if skipped {
            out.push_str(&format!("@@ line {line} of the expected text @@\n"));
            skipped = false;
        }
        if shown == 300 {
            out.push_str("  (more lines differ)\n");
            break;
        }
        out.push_str(&format!("{op} {text}\n"));
        shown += 1;
    }
    out
}

/// Myers' shortest edit script from `a` to `b` (`' '` kept, `'-'` only in
/// `a`, `'+'` only in `b`), or `None` past `limit` differing lines.
fn shortest_edit<'t>(a: &[&'t str], b: &[&'t str], limit: usize) -> Option<Vec<(char, &'t str)>> {
    let (n, m) = (a.len() as isize, b.len() as isize);
    let offset = n + m + 1;
    let mut v = vec![0isize; (2 * offset + 1) as usize];
    // For each d, the furthest x on diagonals -d-1..=d+1 before step d.
    let mut trace: Vec<Vec<isize>> = Vec::new();
    let at = |k: isize| (k + offset) as usize;
    let mut end = None;
    'search: for d in 0..=(n + m).min(limit as isize) {
        trace.push(v[at(-d - 1)..=at(d + 1)].to_vec());
        for k in (-d..=d).step_by(2) {
            let mut x = if k == -d || (k != d && v[at(k - 1)] < v[at(k + 1)]) {
                v[at(k + 1)]
            } else {
                v[at(k - 1)] + 1
            };
            let mut y = x - k;
            while x < n && y < m && a[x as usize] == b[y as usize] {
                (x, y) = (x + 1, y + 1);
            }
            v[at(k)] = x;
            if x >= n && y >= m {
                end = Some(d);
                break 'search;
            }
        }
    }
    end?;
    let mut ops = Vec::new();
    let (mut x, mut y) = (n, m);
    for (d, saved) in trace.iter().enumerate().rev() {
        let d = d as isize;
        let old = |k: isize| saved[(k + d + 1) as usize];
        let k = x - y;
        let prev_k = if k == -d || (k != d && old(k - 1) < old(k + 1)) {
            k + 1
        } else {
            k - 1
        };
        let prev_x = if d == 0 { 0 } else { old(prev_k) };
        let prev_y = if d == 0 { 0 } else { prev_x - prev_k };
        while x > prev_x && y > prev_y {
            ops.push((' ', a[(x - 1) as usize]));
            (x, y) = (x - 1, y - 1);
        }
        if d > 0 {
            if x == prev_x {
                ops.push(('+', b[(y - 1) as usize]));
            } else {
                ops.push(('-', a[(x - 1) as usize]));
            }
        }
        (x, y) = (prev_x, prev_y);
    }
    ops.reverse();
    Some(ops)
}

#[test]
fn line_diff_shows_each_change_with_its_context() {
    let a: Vec<String> = (0..100).map(|i| format!("line {i}")).collect();
    let mut b = a.clone();
    b.remove(10);
    b[50] = "changed".to_owned();
    b.push("added".to_owned());
    let diff = line_diff(&a.join("\n"), &b.join("\n"));
    let changed: Vec<&str> = diff.lines().filter(|l| !l.starts_with("  ")).collect();
    assert_eq!(
        changed,
        [
            "@@ line 8 of the expected text @@",
            "- line 10",
            "@@ line 49 of the expected text @@",
            "- line 51",
            "+ changed",
            "@@ line 98 of the expected text @@",
            "+ added"
        ],
        "{diff}"
    );
    assert_eq!(line_diff("same", "same"), "");
}
