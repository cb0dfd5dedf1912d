//! A stream under way: the restore loading a table while the dump reads it,
//! and the run killed, stopped or cut off at any point of it.

use std::fs;
use std::time::{Duration, Instant};

use crate::support::media_tree::tree;
use crate::support::pg::Cluster;
use crate::support::scenario::{Scenario, TableLock};
use crate::support::wait_until;

#[test]
fn a_stream_killed_at_any_point_leaves_the_live_target_and_resume_finishes() {
    let s = Scenario::new("stream", "");
    let (_, target_media) = s.add_media(8);
    let before = tree(&target_media);

    // Killed while the dump waits on a locked table (the restore is
    // following it into the new database by then).
    s.apply_blocked_on("dcim_device").kill();
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
        s.apply_until(&[], step, status).kill();
        s.assert_target_untouched();
        assert_eq!(
            tree(&target_media),
            before,
            "killed when {step} was {status}"
        );
    }

    s.resume();
    s.assert_copy_matches();
}

#[test]
fn a_stopped_stream_cancels_its_queries_journals_and_resumes() {
    let s = Scenario::new("stream", "");
    // Two large tables keep both loaders busy while a small one, waiting
    // its turn, is locked in the new database: its load then waits on the
    // lock, in a query only a cancel ends (no child to stop).
    s.add_big_table("big_history", 600_000, 2);
    s.add_big_table("big_journal", 600_000, 2);
    let run = s.spawn_apply(&[]);
    let target = &s.pair.target;
    wait_until(60, 5, "the new database never got its tables", || {
        target.sql(
            "postgres",
            "SELECT count(*) FROM pg_database WHERE datname = 'netbox__next'",
        ) == "1"
            && target.sql(
                "netbox__next",
                "SELECT to_regclass('public.dcim_site') IS NOT NULL",
            ) == "t"
    });
    let lock = TableLock::hold_in(target, "netbox__next", "dcim_site");
    wait_until(60, 20, "no load waited on the lock", || {
        target.sql(
            "postgres",
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'replicate' \
             AND wait_event_type = 'Lock' AND (query LIKE 'COPY%' OR query LIKE 'TRUNCATE%')",
        ) != "0"
    });
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
    wait_until(10, 20, "replicate's sessions stayed", || {
        target.sql(
            "postgres",
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'replicate'",
        ) == "0"
    });
    drop(lock);
    s.assert_target_untouched();
    let state = s.state();
    assert_eq!(state["status"], "interrupted");
    assert_eq!(state["steps"]["restore"]["status"], "interrupted");
    s.resume();
    s.assert_replica_matches();
}

/// The pid of replicate's session running `COPY ...` on `big_history`
/// in `direction` (`TO STDOUT`, `FROM STDIN`), if one is running.
fn big_copy(cluster: &Cluster, direction: &str) -> String {
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
    s.add_big_table("big_history", 1_000_000, 8);
    let run = s.spawn_apply(&[]);
    let (source, target) = (&s.pair.source, &s.pair.target);
    wait_until(
        60,
        5,
        "the table was never loaded while it was read",
        || {
            !big_copy(source, "TO STDOUT").is_empty()
                && !big_copy(target, "FROM STDIN").is_empty()
                && !big_copy(source, "TO STDOUT").is_empty()
        },
    );
    run.finish().success();
    s.assert_replica_matches();
}

#[test]
fn a_table_read_cut_off_by_the_source_is_named_with_its_connection() {
    let s = Scenario::new("stream", "");
    s.add_big_table("big_history", 600_000, 2);
    let run = s.spawn_apply(&[]);
    let mut pid = String::new();
    wait_until(60, 5, "the table's COPY was never seen", || {
        pid = big_copy(&s.pair.source, "TO STDOUT");
        !pid.is_empty()
    });
    s.pair
        .source
        .sql("postgres", &format!("SELECT pg_terminate_backend({pid})"));
    let run = run
        .finish()
        .code(1)
        .stderr_has("step `dump` failed: reading public.big_history failed");
    let stderr = run.stderr_flat();
    assert!(
        stderr.contains("terminating connection")
            || stderr.contains("server closed the connection unexpectedly"),
        "{stderr}"
    );
    run.stderr_has(&format!(
        "libpq connection to postgresql://postgres@127.0.0.1:{}/netbox",
        s.pair.source.port
    ))
    .stderr_has("the database netbox was not touched");
    s.assert_target_untouched();
    assert!(
        !s.artifacts().join("netbox.stream").exists(),
        "an incomplete stream took the final name"
    );
}
