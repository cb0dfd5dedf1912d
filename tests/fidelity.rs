//! The fidelity corpus (`tests/fixtures/fidelity/`): a schema written to
//! trip dump and restore tools up, copied in every format, with and without
//! owners, whole and schema only, and compared with its source by an
//! independent reading (`support::fidelity`), not by replicate's `check`.
//!
//! `pg_dump_and_pg_restore_by_hand` copies it with the PostgreSQL tools
//! alone: it proves the corpus and the comparison right, and is where the
//! differences that pg_dump itself leaves (listed in [`reading`]) were found.
//! The `replicate_*` tests copy it with `replicate apply`.

use std::sync::Mutex;

use crate::support::fidelity::{Fingerprint, Reading, fingerprint, schema_only};
use crate::support::fidelity_copy::{Combo, copy_by_hand, copy_with_replicate, corpus_pair};
use crate::support::fidelity_diff::differences;
use crate::support::pg::Pair;

const DB: &str = "corpus";
const BY_HAND: &str = "by hand";

/// How the copies are read: with owners and grants or without, and with the
/// differences that pg_dump and pg_restore themselves leave in a copy of
/// this corpus left out of both sides. Each is named here:
fn reading(owners: bool, by_hand: bool) -> Reading {
    Reading {
        owners,
        // 1. pg_dump writes an inheritance child as `CREATE TABLE public.car
        //    (doors ...) INHERITS (public.vehicle)`: the parent's column
        //    `wheels`, added to `vehicle` after `car` was made (so last in
        //    `car` on the source), comes before `doors` in every copy. The
        //    rows are still compared, column by column.
        column_order_ignored: vec!["public.car"],
        // 2. pg_restore creates event triggers before it refreshes the
        //    materialized views (pg_dump sorts the refreshes last), so an
        //    event trigger that acts on `REFRESH MATERIALIZED VIEW` acts
        //    during every restore. The corpus's leaves that command out of
        //    its log; any other DDL run after it was made shows there.
        rows_kept: vec![],
        // 3. Without `--create`, pg_dump writes no `COMMENT ON DATABASE`,
        //    `ALTER DATABASE ... SET`, `ALTER ROLE ... IN DATABASE ... SET`
        //    or `GRANT ... ON DATABASE`: a restore into a database made
        //    beforehand has none of them. (Encoding and locale are compared.)
        database_level_ignored: true,
        // 4. `pg_restore -j` can leave a partitioned index that has
        //    partitioned partitions (`public.events_kind`) marked not valid
        //    although every partition's index is attached: PostgreSQL 15
        //    decides validity as each attachment commits, and two sessions
        //    attaching at two levels at once can each miss the other's
        //    (about one restore in 60 by hand at `-j 6`). replicate attaches
        //    partitions' indexes one at a time, so its copies are compared.
        index_validity_ignored: by_hand,
    }
}

/// Runs every combination (two at a time), compares each copy with the
/// source, prints one line per combination and fails naming every one that
/// differs, with its differences. A copy that failed but left its new
/// database (`<name>__next`: replicate's `check` failed) has that database
/// compared too, so that the report says whether the restore itself was
/// right.
fn run_all(
    pair: &Pair,
    by: &str,
    combos: Vec<Combo>,
    copy: &(dyn Fn(&Combo) -> Result<(), String> + Sync),
) {
    let sources: Vec<(bool, Fingerprint)> = [false, true]
        .into_iter()
        .map(|owners| {
            let read = reading(owners, by == BY_HAND);
            (owners, fingerprint(&pair.source, DB, &read))
        })
        .collect();
    sanity(&sources[0].1);
    let compare = |combo: &Combo, db: &str| {
        let source = &sources.iter().find(|(o, _)| *o == combo.owners).unwrap().1;
        let expected = if combo.data {
            source.clone()
        } else {
            schema_only(source)
        };
        let found = fingerprint(&pair.target, db, &reading(combo.owners, by == BY_HAND));
        let diff = differences(&expected, &found);
        match (diff.is_empty(), expected == found) {
            (true, true) => Ok(()),
            _ => Err(format!("{db} differs from the source:\n{diff}")),
        }
    };
    let queue = Mutex::new(combos);
    let outcomes = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                while let Some(combo) = queue.lock().unwrap().pop() {
                    let name = combo.name();
                    let outcome = copy(&combo)
                        .map_err(|e| {
                            let next = format!("{name}__next");
                            let left =
                                format!("SELECT 1 FROM pg_database WHERE datname = '{next}'");
                            if pair.target.sql("postgres", &left).is_empty() {
                                return e;
                            }
                            let verdict = match compare(&combo, &next) {
                                Ok(()) => format!(
                                    "{next}, the database it left, is the same as the source"
                                ),
                                Err(diff) => first_lines(&diff, 60),
                            };
                            format!("{e}\n--- what it restored\n{verdict}")
                        })
                        .and_then(|()| compare(&combo, &name));
                    let verdict = if outcome.is_ok() {
                        "same as the source"
                    } else {
                        "FAILED"
                    };
                    eprintln!("fidelity, {by}, {name}: {verdict}");
                    outcomes.lock().unwrap().push((name, outcome));
                }
            });
        }
    });
    let mut failed: Vec<(String, String)> = outcomes
        .into_inner()
        .unwrap()
        .into_iter()
        .filter_map(|(name, outcome)| outcome.err().map(|e| (name, e)))
        .collect();
    failed.sort();
    let report: Vec<String> = failed
        .iter()
        .map(|(n, e)| format!("=== {n}\n{e}"))
        .collect();
    assert!(
        failed.is_empty(),
        "{} copies {by} failed:\n{}",
        failed.len(),
        report.join("\n")
    );
}

fn first_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let more = if lines.len() > n { "\n(...)" } else { "" };
    format!("{}{more}", lines[..n.min(lines.len())].join("\n"))
}

/// The source holds what the corpus promises, so that an equal copy proves
/// something (and a corpus broken by an edit is noticed).
fn sanity(source: &Fingerprint) {
    use crate::support::fidelity::Rows;
    let rows = |name: &str| source.tables.get(name).map(|t| t.rows.clone());
    assert!(matches!(
        rows("public.items"),
        Some(Rows::Copied { count: 3000, .. })
    ));
    assert_eq!(rows("public.no_columns_rows"), Some(Rows::Counted(3)));
    assert_eq!(rows("public.mv_never_filled"), Some(Rows::NotPopulated));
    assert!(matches!(
        rows("public.mv_of_mv"),
        Some(Rows::Copied { count: 1, .. })
    ));
    assert!(!source.sequences["public.seq_never_called"].is_called);
    let sizes: Vec<u64> = source.large_objects.values().map(|o| o.size).collect();
    assert_eq!(sizes, [20, 0, 96_000, 5, 100_000]);
    assert!(source.large_objects[&70001].comment.is_some());
    assert!(source.tables.len() > 50 && source.sequences.len() > 10);
}

#[test]
fn pg_dump_and_pg_restore_by_hand() {
    let pair = corpus_pair(DB);
    let work = tempfile::tempdir().unwrap();
    let combos = Combo::all(&["directory", "custom", "plain"]);
    run_all(&pair, BY_HAND, combos, &|combo| {
        copy_by_hand(&pair, DB, combo, work.path())
    });
}

fn replicates(format: &'static str) {
    let pair = corpus_pair(DB);
    let work = tempfile::tempdir().unwrap();
    run_all(&pair, "with replicate", Combo::all(&[format]), &|combo| {
        copy_with_replicate(&pair, DB, combo, work.path())
    });
}

#[test]
fn replicate_directory() {
    replicates("directory");
}

#[test]
fn replicate_custom() {
    replicates("custom");
}

#[test]
fn replicate_plain() {
    replicates("plain");
}

#[test]
fn replicate_stream() {
    replicates("stream");
}

/// The comparison is not blind: read without the filters of [`reading`], a
/// copy by hand shows the differences pg_dump leaves; and each change made
/// to a copy afterwards shows up where it should.
#[test]
fn the_comparison_sees_differences() {
    let pair = corpus_pair(DB);
    let work = tempfile::tempdir().unwrap();
    // Plain: one session, so the event trigger is made before both refreshes.
    let combo = Combo {
        format: "plain",
        owners: true,
        data: true,
    };
    copy_by_hand(&pair, DB, &combo, work.path()).unwrap();
    let copy = combo.name();
    let raw = Reading {
        owners: true,
        ..Reading::default()
    };
    let diff = differences(
        &fingerprint(&pair.source, DB, &raw),
        &fingerprint(&pair.target, &copy, &raw),
    );
    for shown in ["table public.car\n", "database\n"] {
        assert!(diff.contains(shown), "{shown:?} not in:\n{diff}");
    }
    assert_eq!(diff.matches("\n  expected").count(), 2, "{diff}");

    let source = fingerprint(&pair.source, DB, &reading(true, false));
    let changes = [
        (
            "UPDATE public.items SET name = name || ' ' WHERE id = 1000",
            "table public.items\n",
        ),
        (
            "UPDATE public.odd_values SET b = b || '\\x00' WHERE id = 2",
            "table public.odd_values\n",
        ),
        (
            "INSERT INTO public.no_columns_rows DEFAULT VALUES",
            "table public.no_columns_rows\n",
        ),
        (
            "REFRESH MATERIALIZED VIEW public.mv_never_filled",
            "table public.mv_never_filled\n",
        ),
        (
            "SELECT nextval('public.seq_never_called')",
            "sequence public.seq_never_called\n",
        ),
        (
            "SELECT lo_put(70003, 95999, '\\x00')",
            "large object 70003\n",
        ),
        (
            "COMMENT ON LARGE OBJECT 70001 IS 'changed'",
            "large object 70001\n",
        ),
        (
            "ALTER LARGE OBJECT 70004 OWNER TO fidelity_reader",
            "large object 70004\n",
        ),
        (
            "GRANT SELECT ON public.legacy TO fidelity_reader",
            "+ GRANT SELECT ON TABLE public.legacy TO fidelity_reader;",
        ),
        (
            "UPDATE pg_index SET indisvalid = false \
             WHERE indexrelid = 'public.events_kind'::regclass",
            "indexes not valid\n",
        ),
        (
            "ALTER TABLE public.car ALTER COLUMN doors SET DEFAULT 4",
            "+     doors integer DEFAULT 4,",
        ),
    ];
    for (change, shown) in changes {
        pair.target.sql(&copy, change);
        let diff = differences(
            &source,
            &fingerprint(&pair.target, &copy, &reading(true, false)),
        );
        assert!(
            diff.contains(shown),
            "after {change}: {shown:?} not in:\n{diff}"
        );
    }
}
