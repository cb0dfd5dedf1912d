//! The stream format: the dump's table files loaded into the new database
//! while they are written, with the same artifacts, checks and swap.

use std::fs;
use std::time::{Duration, Instant};

use crate::support::fidelity::{Reading, fingerprint};
use crate::support::fidelity_diff::differences;
use crate::support::media_tree::tree;
use crate::support::scenario::{Scenario, TableLock, wait_for_blocked_dump};
use crate::support::wait_for_step;

#[test]
fn stream_artifacts_open_with_standard_tools_and_restore_elsewhere() {
    let s = Scenario::new("stream", "");
    s.apply(&["--steps", "dump"]).success();
    s.assert_target_untouched();
    let folder = s.artifacts().join("netbox.stream");
    // SQL and COPY text, as pg_dump and psql write and read them.
    let pre = fs::read_to_string(folder.join("pre-data.sql")).unwrap();
    assert!(pre.contains("CREATE TABLE public.dcim_device"), "pre-data");
    let post = fs::read_to_string(folder.join("post-data.sql")).unwrap();
    assert!(post.contains("PRIMARY KEY"), "post-data");
    let listing: serde_json::Value =
        serde_json::from_slice(&fs::read(folder.join("tables.json")).unwrap()).unwrap();
    let device = listing
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "dcim_device")
        .expect("dcim_device in tables.json");
    let rows = s
        .pair
        .source
        .sql("netbox", "SELECT count(*) FROM dcim_device");
    assert_eq!(device["rows"].to_string(), rows);
    let text = fs::read_to_string(folder.join(device["file"].as_str().unwrap())).unwrap();
    assert_eq!(text.lines().count().to_string(), rows);
    // No data for the tables left out.
    assert!(
        !listing
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["table"] == "core_objectchange"),
        "{listing}"
    );

    // Carried to another folder (another machine), they restore there.
    let elsewhere = s.dir.path().join("carried");
    fs::rename(s.artifacts(), &elsewhere).unwrap();
    let text = fs::read_to_string(s.manifest()).unwrap();
    s.write_manifest(&format!("{text}dir = \"carried\"\n"));
    let run = s
        .apply(&["--steps", "verify,create,restore,check,swap"])
        .success();
    assert!(
        run.stdout_flat().contains("equal to the dump"),
        "{}",
        run.stdout()
    );
    s.assert_replica_matches();
}

#[test]
fn a_stream_killed_at_any_point_leaves_the_live_target_and_resume_finishes() {
    let s = Scenario::new("stream", "");
    let (source_media, target_media) = s.add_media(8);
    let before = tree(&target_media);

    // Killed while the dump waits on a locked table (the restore is
    // following it into the new database by then).
    let lock = TableLock::hold(&s.pair.source, "dcim_device");
    let child = s.replicate().args(["apply", "--auto-approve"]).spawn();
    wait_for_blocked_dump(&s.pair.source);
    child.signal(libc::SIGKILL);
    let _ = child.finish();
    drop(lock);
    s.assert_target_untouched();
    assert_eq!(tree(&target_media), before);

    // Killed at later points, as state.json records them: the restore
    // following the dump, the artifacts verified, the new database loaded
    // (`check` under way, `swap` waiting for it).
    for (step, status) in [
        ("restore", "running"),
        ("verify", "done"),
        ("restore", "done"),
    ] {
        // No earlier run's journal may answer for this one.
        let _ = fs::remove_file(s.artifacts().join("state.json"));
        let mut child = s.replicate().args(["apply", "--auto-approve"]).spawn();
        wait_for_step(&mut child, &s.artifacts(), step, status, 120);
        child.signal(libc::SIGKILL);
        let _ = child.finish();
        s.assert_target_untouched();
        assert_eq!(
            tree(&target_media),
            before,
            "killed when {step} was {status}"
        );
    }

    s.apply(&["--resume"]).success();
    s.assert_replica_matches();
    assert_eq!(tree(&target_media), tree(&source_media));
}

#[test]
fn under_replace_nothing_streams() {
    let s = Scenario::new("stream", "");
    let text = fs::read_to_string(s.manifest()).unwrap();
    s.write_manifest(&text.replace("[target]\n", "[target]\nstrategy = \"replace\"\n"));
    let plan = s.replicate().args(["plan"]).run().success();
    let out = plan.stdout_flat();
    assert!(
        out.contains("under replace nothing streams: it waits for verify"),
        "{out}"
    );
    s.apply(&[]).success();
    s.assert_replica_matches();
}

#[test]
fn a_stopped_stream_cancels_its_queries_journals_and_resumes() {
    let s = Scenario::new("stream", "");
    // Two large tables keep both loaders busy while a small one, waiting
    // its turn, is locked in the new database: its load then waits on the
    // lock, in a query only a cancel ends (no child to stop).
    add_big_table(&s, "big_history", 600_000, 2);
    add_big_table(&s, "big_journal", 600_000, 2);
    let run = s.replicate().args(["apply", "--auto-approve"]).spawn();
    let deadline = Instant::now() + Duration::from_secs(60);
    while s.pair.target.sql(
        "postgres",
        "SELECT count(*) FROM pg_database WHERE datname = 'netbox__next'",
    ) != "1"
        || s.pair.target.sql(
            "netbox__next",
            "SELECT to_regclass('public.dcim_site') IS NOT NULL",
        ) != "t"
    {
        assert!(
            Instant::now() < deadline,
            "the new database never got its tables"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let lock = TableLock::hold_in(&s.pair.target, "netbox__next", "dcim_site");
    let deadline = Instant::now() + Duration::from_secs(60);
    while s.pair.target.sql(
        "postgres",
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'replicate' \
         AND wait_event_type = 'Lock' AND (query LIKE 'COPY%' OR query LIKE 'TRUNCATE%')",
    ) == "0"
    {
        assert!(Instant::now() < deadline, "no load waited on the lock");
        std::thread::sleep(Duration::from_millis(20));
    }
    let asked = Instant::now();
    run.signal(libc::SIGINT);
    let run = run.finish().code(1);
    assert!(
        asked.elapsed() < Duration::from_secs(20),
        "the stop took {:?}",
        asked.elapsed()
    );
    let stderr = run.stderr_flat();
    assert!(
        stderr.contains("apply stopped by SIGINT during") && stderr.contains("restore"),
        "{stderr}"
    );
    assert!(stderr.contains("replicate apply --resume"), "{stderr}");
    // Its sessions are gone from the target while the lock is still held.
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.pair.target.sql(
        "postgres",
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'replicate'",
    ) != "0"
    {
        assert!(Instant::now() < deadline, "replicate's sessions stayed");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(lock);
    s.assert_target_untouched();
    let state: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(s.artifacts().join("state.json")).unwrap())
            .unwrap();
    assert_eq!(state["status"], "interrupted");
    assert_eq!(state["steps"]["restore"]["status"], "interrupted");
    s.apply(&["--resume"]).success();
    s.assert_replica_matches();
}

#[test]
fn keys_come_out_as_pg_dump_wrote_them() {
    keys_come_out_as_written("stream");
}

#[test]
fn keys_come_out_as_pg_dump_wrote_them_in_directory_format() {
    keys_come_out_as_written("directory");
}

fn keys_come_out_as_written(format: &str) {
    let s = Scenario::new(format, "");
    // Keys of every shape: some the restore builds as unique indexes
    // first (deferrable ones too, odd names), some it must leave as they
    // are (INCLUDE, NULLS NOT DISTINCT, WITH, a CLUSTER ON, a check, a
    // foreign key not valid), and foreign keys of and to a partitioned
    // table, and a row trigger on it.
    s.pair.source.sql(
        "netbox",
        "ALTER TABLE dcim_site ADD CONSTRAINT \"site key (1)\" UNIQUE (slug, id) DEFERRABLE INITIALLY DEFERRED;
         ALTER TABLE dcim_site ADD CONSTRAINT site_name_later UNIQUE (name, id) DEFERRABLE;
         ALTER TABLE dcim_site ADD CONSTRAINT site_included UNIQUE (id) INCLUDE (name);
         ALTER TABLE dcim_site ADD CONSTRAINT site_nulls UNIQUE NULLS NOT DISTINCT (description, id);
         ALTER TABLE dcim_site ADD CONSTRAINT site_filled UNIQUE (slug) WITH (fillfactor = 70);
         ALTER TABLE dcim_site CLUSTER ON site_filled;
         ALTER TABLE dcim_site ADD CONSTRAINT site_checked CHECK (id > 0) NOT VALID;
         ALTER TABLE dcim_device ADD CONSTRAINT device_site_later FOREIGN KEY (site_id) REFERENCES dcim_site (id) NOT VALID;
         CREATE TABLE site_log (id bigint NOT NULL, at date NOT NULL, site_id bigint REFERENCES dcim_site (id), PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
         CREATE TABLE site_log_2026 PARTITION OF site_log FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
         INSERT INTO site_log SELECT g, '2026-06-01', (SELECT min(id) FROM dcim_site) FROM generate_series(1, 50) g;
         CREATE TABLE site_log_note (id serial PRIMARY KEY, log_id bigint, log_at date, FOREIGN KEY (log_id, log_at) REFERENCES site_log (id, at));
         INSERT INTO site_log_note (log_id, log_at) VALUES (1, '2026-06-01');
         CREATE FUNCTION site_log_kept() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
         CREATE TRIGGER site_log_kept BEFORE INSERT ON site_log FOR EACH ROW EXECUTE FUNCTION site_log_kept();",
    );
    s.apply(&[]).success();
    // The definitions, flags and constraint indexes compared one by one.
    s.assert_replica_matches();
    let keys = s.pair.target.facts("netbox").keys;
    assert!(
        keys["constraint dcim_site site key (1)"].ends_with(
            "UNIQUE (slug, id) DEFERRABLE INITIALLY DEFERRED deferrable=true deferred=true index=\"site key (1)\""
        ),
        "{keys:?}"
    );
    let clustered = s.pair.target.sql(
        "netbox",
        "SELECT indisclustered FROM pg_index WHERE indexrelid = 'site_filled'::regclass",
    );
    assert_eq!(clustered, "t");
    // A key not validated on the source stays so; the others (added, then
    // validated apart) are validated as there.
    assert!(
        keys["constraint dcim_device device_site_later"]
            .ends_with("NOT VALID deferrable=false deferred=false"),
        "{keys:?}"
    );
    let unvalidated = s.pair.target.sql(
        "netbox",
        "SELECT string_agg(conname, ' ' ORDER BY conname) FROM pg_constraint WHERE NOT convalidated",
    );
    assert_eq!(unvalidated, "device_site_later site_checked");
}

/// A header of pg_dump's, as a comment, a function or a rule may hold it.
const FAKE_HEADER: &str =
    r"E'\n--\n-- Name: ghost; Type: INDEX; Schema: public; Owner: postgres\n--\n'";

/// Names that hold what a reader of the SQL would take for its syntax,
/// keys of every kind between them, and fake headers in the pre-data
/// section (a table's comment, a function's body).
fn add_hostile_names(s: &Scenario) {
    s.pair.source.sql(
        "netbox",
        &format!(
            r#"CREATE SCHEMA "odd ON ""s""
REFERENCES; ü";
CREATE TABLE "odd ON ""s""
REFERENCES; ü"."t ON x REFERENCES y; ""q""
nl 表" (
    id integer CONSTRAINT "pk ON x REFERENCES y ""q""
nl; ü" PRIMARY KEY,
    code text,
    CONSTRAINT "uq ON ""later""; ü" UNIQUE (code) DEFERRABLE INITIALLY DEFERRED
);
INSERT INTO "odd ON ""s""
REFERENCES; ü"."t ON x REFERENCES y; ""q""
nl 表" SELECT g, 'c' || g FROM generate_series(1, 200) g;
COMMENT ON TABLE "odd ON ""s""
REFERENCES; ü"."t ON x REFERENCES y; ""q""
nl 表" IS {FAKE_HEADER};
CREATE FUNCTION public.ghost_maker() RETURNS text LANGUAGE sql AS $$ SELECT {FAKE_HEADER}::text $$;
CREATE TABLE public."child REFERENCES public.dcim_site(id) ON x" (
    id integer PRIMARY KEY,
    parent integer CONSTRAINT "fk ON ""x""
REFERENCES; ü" REFERENCES "odd ON ""s""
REFERENCES; ü"."t ON x REFERENCES y; ""q""
nl 表" (id),
    later integer,
    note text
);
INSERT INTO public."child REFERENCES public.dcim_site(id) ON x"
    SELECT g, 1 + g % 200, 99999, 'n' || g FROM generate_series(1, 300) g;
ALTER TABLE public."child REFERENCES public.dcim_site(id) ON x"
    ADD CONSTRAINT "not valid ON x" FOREIGN KEY (later) REFERENCES "odd ON ""s""
REFERENCES; ü"."t ON x REFERENCES y; ""q""
nl 表" (id) NOT VALID;
CREATE INDEX "idx ON public.dcim_site (id)" ON public."child REFERENCES public.dcim_site(id) ON x" (later, note);
CREATE TABLE public."log ON x" (
    id bigint NOT NULL,
    at date NOT NULL,
    t_id integer CONSTRAINT "log fk REFERENCES x" REFERENCES "odd ON ""s""
REFERENCES; ü"."t ON x REFERENCES y; ""q""
nl 表" (id),
    CONSTRAINT "log pk ON x" PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE TABLE public."log ON x 2026" PARTITION OF public."log ON x" FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO public."log ON x" SELECT g, '2026-06-01', 1 + g % 200 FROM generate_series(1, 50) g;"#
        ),
    );
}

/// The source and the replica read independently (the fidelity
/// comparison: schema as pg_dump prints it, every row hashed).
#[track_caller]
fn assert_same_as_the_source(s: &Scenario) {
    let reading = Reading {
        database_level_ignored: true,
        ..Reading::default()
    };
    let diff = differences(
        &fingerprint(&s.pair.source, "netbox", &reading),
        &fingerprint(&s.pair.target, "netbox", &reading),
    );
    assert!(diff.is_empty(), "the replica differs:\n{diff}");
}

#[test]
fn post_data_is_sorted_by_the_catalog_and_runs_whole_when_a_header_is_not_an_entrys() {
    let s = Scenario::new("stream", "");
    // Every table's rows, so that the replica is the source.
    let text = fs::read_to_string(s.manifest()).unwrap();
    s.write_manifest(&text.replace(
        "exclude_table_data = [\"extras_objectchange\", \"core_objectchange\", \"django_session\"]\n",
        "",
    ));
    add_hostile_names(&s);
    let run = s.apply(&[]).success();
    let out = run.stdout_flat();
    assert!(out.contains("entries sorted by the catalog"), "{out}");
    assert_same_as_the_source(&s);
    // The key not valid on the source stays so; the others are validated.
    let unvalidated = s.pair.target.sql(
        "netbox",
        "SELECT string_agg(conname, ' ' ORDER BY conname) FROM pg_constraint WHERE NOT convalidated",
    );
    assert_eq!(unvalidated, "not valid ON x");
    let recorded: serde_json::Value = serde_json::from_slice(
        &fs::read(s.artifacts().join("netbox.stream/post-data.json")).unwrap(),
    )
    .unwrap();
    let fk = recorded["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["constraint"]["name"] == "\"fk ON \"\"x\"\"\nREFERENCES; ü\"")
        .expect("the foreign key in post-data.json");
    assert_eq!(fk["desc"], "FK CONSTRAINT");
    assert_eq!(
        fk["constraint"]["references"]["name"],
        "t ON x REFERENCES y; \"q\"\nnl 表"
    );

    // A rule's text holds a header: the section is not cut, it runs whole
    // after the loads, and the replica is the same.
    s.pair.source.sql(
        "netbox",
        &format!(
            r#"CREATE RULE "ghost ON x" AS ON INSERT TO public."child REFERENCES public.dcim_site(id) ON x"
                WHERE new.note = {FAKE_HEADER} DO INSTEAD NOTHING"#
        ),
    );
    let run = s.apply(&[]).success();
    let out = run.stdout_flat();
    assert!(
        out.contains("post-data run whole in one session, in the dump's order"),
        "{out}"
    );
    assert_same_as_the_source(&s);
}

#[test]
fn a_stream_dump_without_post_data_json_restores_its_post_data_whole() {
    let s = Scenario::new("stream", "");
    s.apply(&["--steps", "dump"]).success();
    // As an older replicate left it: no post-data.json, nor its sum.
    fs::remove_file(s.artifacts().join("netbox.stream/post-data.json")).unwrap();
    let sums = s.artifacts().join("SHA256SUMS");
    let kept: String = fs::read_to_string(&sums)
        .unwrap()
        .lines()
        .filter(|l| !l.ends_with("/post-data.json"))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(&sums, kept).unwrap();
    let run = s
        .apply(&["--steps", "verify,create,restore,check,swap"])
        .success();
    let out = run.stdout_flat();
    assert!(out.contains("no post-data.json beside it"), "{out}");
    s.assert_replica_matches();
}

#[test]
fn the_replica_comes_with_the_statistics_of_its_tables() {
    let s = Scenario::new("stream", "");
    s.apply(&[]).success();
    // What the planner knows of each table: the rows ANALYZE counted
    // (every row, in tables this small).
    let analyzed = s.pair.target.sql(
        "netbox",
        "SELECT string_agg(format('%s.%s=%s', n.nspname, c.relname, c.reltuples::bigint), ' ') \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind = 'r' AND n.nspname <> 'pg_catalog' AND EXISTS (SELECT 1 FROM pg_statistic WHERE starelid = c.oid)",
    );
    let analyzed: Vec<&str> = analyzed.split(' ').collect();
    let listing: serde_json::Value =
        serde_json::from_slice(&fs::read(s.artifacts().join("netbox.stream/tables.json")).unwrap())
            .unwrap();
    let mut loaded = 0;
    for table in listing.as_array().unwrap() {
        let rows = table["rows"].as_u64().unwrap();
        if rows > 0 {
            let expected = format!(
                "{}.{}={rows}",
                table["schema"].as_str().unwrap(),
                table["table"].as_str().unwrap()
            );
            assert!(
                analyzed.contains(&expected.as_str()),
                "{expected} in {analyzed:?}"
            );
            loaded += 1;
        }
    }
    assert!(loaded > 10, "{listing}");
}

#[test]
fn a_table_with_a_large_index_is_read_before_a_larger_table_without() {
    let s = Scenario::new("stream", "");
    // `plain` has more rows; `keyed` fewer, but an index as large as its
    // rows, which its restore must build after loading them.
    add_big_table(&s, "plain", 12_000, 2);
    add_big_table(&s, "keyed", 8_000, 2);
    s.pair.source.sql(
        "netbox",
        "CREATE INDEX keyed_body ON public.keyed (body, id)",
    );
    let size = |sql: &str| -> i64 { s.pair.source.sql("netbox", sql).parse().unwrap() };
    let plain = size("SELECT pg_relation_size('public.plain')");
    let keyed_rows = size("SELECT pg_relation_size('public.keyed')");
    let keyed_index = size("SELECT pg_relation_size('public.keyed_body')");
    assert!(
        keyed_rows < plain && keyed_rows + keyed_index > plain,
        "the sizes do not test the order: plain {plain}, keyed {keyed_rows} + {keyed_index}"
    );

    s.apply(&["--steps", "dump"]).success();
    let listing: serde_json::Value =
        serde_json::from_slice(&fs::read(s.artifacts().join("netbox.stream/tables.json")).unwrap())
            .unwrap();
    let order: Vec<&str> = listing
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["table"].as_str())
        .filter(|t| ["plain", "keyed"].contains(t))
        .collect();
    assert_eq!(order, ["keyed", "plain"], "{listing}");
}

/// A table large enough that its `COPY` is seen running: `rows` rows of
/// `width` times 32 characters.
fn add_big_table(s: &Scenario, name: &str, rows: u32, width: u32) {
    s.pair.source.sql(
        "netbox",
        &format!(
            "CREATE TABLE public.{name} AS SELECT i AS id, repeat(md5(i::text), {width}) AS body \
             FROM generate_series(1, {rows}) i"
        ),
    );
}

/// The pid of replicate's session running `COPY ...` on `big_history`
/// in `direction` (`TO STDOUT`, `FROM STDIN`), if one is running.
fn big_copy(cluster: &crate::support::pg::Cluster, direction: &str) -> String {
    cluster.sql(
        "postgres",
        &format!(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'replicate' \
             AND query LIKE 'COPY public.big_history (id, body) {direction}%' AND state = 'active' LIMIT 1"
        ),
    )
}

#[test]
fn the_restore_loads_a_table_while_the_dump_reads_it() {
    let s = Scenario::new("stream", "");
    // About 256 MB: read for long enough that the restore, which starts
    // once the schema is in, finds it still being read.
    add_big_table(&s, "big_history", 1_000_000, 8);
    let run = s.replicate().args(["apply", "--auto-approve"]).spawn();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            Instant::now() < deadline,
            "the table was never loaded while it was read"
        );
        if !big_copy(&s.pair.source, "TO STDOUT").is_empty()
            && !big_copy(&s.pair.target, "FROM STDIN").is_empty()
            && !big_copy(&s.pair.source, "TO STDOUT").is_empty()
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    run.finish().success();
    s.assert_replica_matches();
}

#[test]
fn a_table_read_cut_off_by_the_source_is_named_with_its_connection() {
    let s = Scenario::new("stream", "");
    add_big_table(&s, "big_history", 600_000, 2);
    let run = s.replicate().args(["apply", "--auto-approve"]).spawn();
    let deadline = Instant::now() + Duration::from_secs(60);
    let pid = loop {
        let pid = big_copy(&s.pair.source, "TO STDOUT");
        if !pid.is_empty() {
            break pid;
        }
        assert!(Instant::now() < deadline, "the table's COPY was never seen");
        std::thread::sleep(Duration::from_millis(5));
    };
    s.pair
        .source
        .sql("postgres", &format!("SELECT pg_terminate_backend({pid})"));
    let run = run.finish().code(1);
    let stderr = run.stderr_flat();
    assert!(
        stderr.contains("step `dump` failed: reading public.big_history failed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("terminating connection")
            || stderr.contains("server closed the connection unexpectedly"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "libpq connection to postgresql://postgres@127.0.0.1:{}/netbox",
            s.pair.source.port
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("the database netbox was not touched"),
        "{stderr}"
    );
    s.assert_target_untouched();
    assert!(
        !s.artifacts().join("netbox.stream").exists(),
        "an incomplete stream took the final name"
    );
}
