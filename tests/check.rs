//! `check` and `verify --target` name what differs, object by object: the
//! fidelity corpus copied (owners kept, content checked), then every kind
//! of object in it removed or altered in the copy; and names that would
//! break any query that put them into SQL text copy and compare as any
//! other.

use std::path::Path;

use crate::support::Replicate;
use crate::support::fidelity_copy::corpus_pair;
use crate::support::pg::{Cluster, Pair};
use crate::support::scenario::{Scenario, TableLock, wait_for_blocked_dump};

/// Writes a manifest into `dir` copying `db` to `target`, owners kept,
/// content checked.
fn manifest(dir: &Path, pair: &Pair, db: &str, target: &str, format: &str) {
    std::fs::write(
        dir.join("replicate.toml"),
        format!(
            "version = 1\n\
             [source]\ndatabase = \"{}\"\n\
             [target]\ndatabase = \"{}\"\n\
             [include]\nowners = true\n\
             [artifacts]\nformat = \"{format}\"\ncheck = \"content\"\ndir = \"artifacts\"\n",
            pair.source.url(db),
            pair.target.url(target),
        ),
    )
    .unwrap();
}

/// `replicate COMMAND -m replicate.toml ARGS...` in `dir`.
fn replicate(dir: &Path, args: &[&str]) -> crate::support::Run {
    let (command, rest) = args.split_first().expect("a command");
    Replicate::new()
        .current_dir(dir)
        .args([*command, "-m", "replicate.toml"].iter().chain(rest))
        .run()
}

/// Every change made to the copy, and what `verify --target` must say of
/// it (its own line).
const CHANGES: &[(&str, &str)] = &[
    (
        "DROP INDEX public.items_attrs",
        "index items_attrs on public.items: expected present, found none",
    ),
    (
        "CREATE INDEX extra_idx ON public.items (id)",
        "index extra_idx on public.items: expected none, found present",
    ),
    (
        "ALTER TABLE public.items DROP CONSTRAINT items_sku_key",
        "constraint items_sku_key on public.items: expected present",
    ),
    (
        "ALTER TABLE public.legacy DROP CONSTRAINT legacy_amount_positive",
        "constraint legacy_amount_positive on public.legacy",
    ),
    (
        "DROP TRIGGER mangled_note ON public.mangled",
        "trigger mangled_note on public.mangled",
    ),
    (
        "ALTER TABLE public.counted DISABLE TRIGGER counted_count",
        "trigger counted_count on public.counted: definition",
    ),
    (
        "DROP RULE audited_log ON public.audited",
        "rule audited_log on public.audited",
    ),
    (
        "DROP POLICY secrets_reader ON app.secrets",
        "policy secrets_reader on app.secrets",
    ),
    (
        "DROP VIEW public.v_ghost",
        "view public.v_ghost: expected present",
    ),
    (
        "REFRESH MATERIALIZED VIEW public.mv_never_filled",
        "materialized view public.mv_never_filled: definition",
    ),
    (
        "ALTER SEQUENCE public.seq_down INCREMENT BY 7",
        "sequence public.seq_down: definition",
    ),
    (
        "SELECT setval('public.seq_big', 12)",
        "sequence public.seq_big: expected value",
    ),
    (
        "ALTER TYPE public.mood ADD VALUE 'zzz'",
        "type public.mood: definition",
    ),
    (
        "ALTER DOMAIN public.us_zip DROP CONSTRAINT us_zip_format",
        "domain constraint us_zip_format on public.us_zip",
    ),
    (
        "ALTER DOMAIN public.short_label SET DEFAULT 'x'",
        "domain public.short_label: definition",
    ),
    (
        "ALTER FUNCTION public.secret_total() SECURITY INVOKER",
        "function public.secret_total(): definition",
    ),
    (
        "ALTER TABLE public.car ADD COLUMN extra integer",
        "table public.car: definition",
    ),
    (
        "DROP STATISTICS public.items_stats",
        "statistics object public.items_stats",
    ),
    (
        "COMMENT ON COLLATION public.c_copy IS 'changed'",
        "collation public.c_copy: comment",
    ),
    (
        "COMMENT ON TABLE public.items IS 'changed'",
        "table public.items: comment",
    ),
    (
        "DROP PUBLICATION fidelity_pub_app",
        "publication fidelity_pub_app",
    ),
    (
        "ALTER EVENT TRIGGER fidelity_log_ddl DISABLE",
        "event trigger fidelity_log_ddl: definition",
    ),
    (
        "ALTER EXTENSION hstore SET SCHEMA ext",
        "extension hstore: definition",
    ),
    (
        "REVOKE UPDATE ON public.shared_notes FROM fidelity_writer CASCADE",
        "table public.shared_notes: grants",
    ),
    (
        "ALTER TABLE public.station OWNER TO fidelity_reader",
        "table public.station: owner",
    ),
    (
        "SELECT lo_put(70001, 0, 'A')",
        "large object 70001: expected 20 bytes",
    ),
    (
        "UPDATE public.station SET name = name || '.' WHERE id = (SELECT min(id) FROM public.station)",
        "table public.station: content",
    ),
    (
        "DELETE FROM public.vehicle WHERE id = (SELECT max(id) FROM ONLY public.vehicle)",
        "table public.vehicle: expected",
    ),
];

#[test]
fn check_names_every_kind_of_object_changed_in_the_copy() {
    let pair = corpus_pair("corpus");
    let dir = tempfile::tempdir().unwrap();
    manifest(dir.path(), &pair, "corpus", "copy", "directory");
    let run = replicate(dir.path(), &["apply", "--auto-approve"]);
    assert!(run.output.status.success(), "{}", run.stderr());
    assert!(
        run.stdout().contains("content included"),
        "{}",
        run.stdout()
    );
    let run = replicate(dir.path(), &["verify", "--target"]);
    assert!(
        run.output.status.success(),
        "{}{}",
        run.stdout(),
        run.stderr()
    );

    for (sql, _) in CHANGES {
        pair.target.sql("copy", sql);
    }
    let run = replicate(dir.path(), &["verify", "--target"]).code(1);
    let stdout = run.stdout();
    let mut missing = Vec::new();
    for (sql, said) in CHANGES {
        if !stdout.lines().any(|line| line.contains(said)) {
            missing.push(format!("{sql}\n    expected a line with: {said}"));
        }
    }
    assert!(
        missing.is_empty(),
        "verify --target did not name:\n{}\n--- it said:\n{stdout}",
        missing.join("\n")
    );
}

/// Names made to break a query that splices them: each, spliced unquoted
/// or quoted by hand the wrong way, would end the statement and drop the
/// canary table, or fail the query.
const HOSTILE: &[&str] = &[
    "x'); DROP TABLE public.canary; --",
    "y\"; DROP TABLE public.canary; --",
    "line\nbreak; DROP TABLE public.canary",
    "tab\tand \\ backslash",
    "$$ dollar $$; DROP TABLE public.canary; $$",
    "Ünïcödé ☃ 表",
];

fn load_hostile(cluster: &Cluster) {
    cluster.sql("postgres", "CREATE DATABASE hostile");
    cluster.sql("hostile", "CREATE TABLE public.canary (id integer)");
    for (i, name) in HOSTILE.iter().enumerate() {
        // The names reach the server as a parameter of `format`, quoted
        // there: the harness splices nothing either.
        let sql = format!(
            "DO $do$ DECLARE n text := convert_from(decode('{}', 'hex'), 'UTF8'); BEGIN \
             EXECUTE format('CREATE SCHEMA %I', n); \
             EXECUTE format('CREATE TABLE %I.%I (%I serial PRIMARY KEY, %I text)', n, n, n, n || ' value'); \
             EXECUTE format('CREATE INDEX %I ON %I.%I (%I)', n || ' idx', n, n, n || ' value'); \
             EXECUTE format('INSERT INTO %I.%I (%I) SELECT repeat(%L, g) FROM generate_series(1, {}) g', n, n, n || ' value', n); \
             EXECUTE format('COMMENT ON TABLE %I.%I IS %L', n, n, n); \
             END $do$",
            hex(name),
            i + 2
        );
        cluster.sql("hostile", &sql);
    }
}

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn names_that_would_break_spliced_sql_copy_and_compare() {
    let pair = Pair::start();
    load_hostile(&pair.source);
    for format in ["directory", "custom", "plain", "stream"] {
        let dir = tempfile::tempdir().unwrap();
        let target = format!("hostile_{format}");
        manifest(dir.path(), &pair, "hostile", &target, format);
        let run = replicate(dir.path(), &["apply", "--auto-approve"]);
        assert!(run.output.status.success(), "{format}: {}", run.stderr());
        let run = replicate(dir.path(), &["verify", "--target"]);
        assert!(run.output.status.success(), "{format}: {}", run.stdout());
        for (cluster, db) in [(&pair.source, "hostile"), (&pair.target, target.as_str())] {
            assert_eq!(
                cluster.sql(db, "SELECT count(*) FROM pg_class WHERE relname = 'canary'"),
                "1",
                "{format}: the canary table is gone from {db}"
            );
        }
        // A value changed in the table named with a line break and a
        // semicolon is named, the name shown on one line.
        pair.target.sql(
            &target,
            "DO $do$ DECLARE n text := E'line\\nbreak; DROP TABLE public.canary'; BEGIN \
             EXECUTE format('UPDATE %I.%I SET %I = %L WHERE %I = 1', n, n, n || ' value', 'changed', n); END $do$",
        );
        let run = replicate(dir.path(), &["verify", "--target"]).code(1);
        assert!(
            run.stdout().contains(
                "table \"line\\nbreak; DROP TABLE public.canary\".\"line\\nbreak; DROP TABLE public.canary\": content"
            ),
            "{format}: {}",
            run.stdout()
        );
    }
}

/// Sequences are outside every snapshot: the values `check` expects are
/// the ones the dump carries, not the ones the catalog saw a moment before
/// `pg_dump` read them. Here `pg_dump` waits on a lock (that the catalog
/// query does not need) while the source's sequence moves on.
#[test]
fn sequences_moving_during_the_dump_are_checked_as_dumped() {
    for format in ["directory", "custom", "plain", "stream"] {
        let s = Scenario::new(format, "");
        s.pair
            .source
            .sql("netbox", "CREATE TABLE public.bare (x integer)");
        let lock = TableLock::hold(&s.pair.source, "public.bare");
        let child = s.replicate().args(["apply", "--auto-approve"]).spawn();
        wait_for_blocked_dump(&s.pair.source);
        // The catalog has read the sequences by now.
        std::thread::sleep(std::time::Duration::from_secs(2));
        let moved = s.pair.source.sql(
            "netbox",
            "SELECT max(n) FROM (SELECT nextval(pg_get_serial_sequence('public.dcim_site', 'id')) AS n \
             FROM generate_series(1, 25)) moved",
        );
        drop(lock);
        let run = child.finish();
        assert!(
            run.output.status.success(),
            "{format}: {}\n{}",
            run.stdout(),
            run.stderr()
        );
        assert_eq!(
            s.pair.target.sql(
                "netbox",
                "SELECT last_value FROM pg_sequences WHERE sequencename = 'dcim_site_id_seq'"
            ),
            moved,
            "{format}: the copy's sequence"
        );
    }
}
