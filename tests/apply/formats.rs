//! Successful runs: every artifact format, a socket address, the NetBox
//! demo database, what the run reports as it goes, and what it leaves
//! behind.

use std::path::Path;

use crate::support::artifacts::assert_sums_check;
use crate::support::pg::Pair;
use crate::support::scenario::{Scenario, assert_replica_matches};
use crate::support::{Replicate, manifest_folder};

fn replicates_with(format: &str) {
    let s = Scenario::new(format, "");
    let run = s.apply(&[]).success();
    run_has_every_step(&run.stdout());
    s.assert_replica_matches();
    assert_sums_check(&s.artifacts());
    let state = s.state();
    assert_eq!(state["status"], "succeeded");
    for step in ["dump", "verify", "create", "restore", "check", "swap"] {
        assert_eq!(state["steps"][step]["status"], "done", "{step}");
    }
    // `check` proved the replica against the dump, and says how much.
    let check = &state["steps"]["check"]["check"];
    assert!(check["tables"].as_u64().unwrap() >= 15, "{check}");
    assert!(check["rows"].as_u64().unwrap() > 10_000, "{check}");
    assert!(check["objects"].as_u64().unwrap() > 20, "{check}");
    assert!(state["downtime_ms"].as_u64().is_some(), "{state}");
    // The replaced target is kept for rollback.
    assert_eq!(
        s.pair
            .target
            .sql("netbox__prev", "SELECT note FROM replicate_marker"),
        "before"
    );
}

fn run_has_every_step(stdout: &str) {
    for step in ["dump", "verify", "create", "restore", "check", "swap"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(step) && l.contains("done in")),
            "no line for {step}:\n{stdout}"
        );
    }
    assert!(stdout.contains("Apply complete: 6 steps"), "{stdout}");
    assert!(
        stdout.lines().any(|l| l.starts_with("check")
            && l.contains("tables,")
            && l.contains("equal to the dump")),
        "{stdout}"
    );
    assert!(
        stdout.contains("The target could not be reached for"),
        "{stdout}"
    );
}

#[test]
fn replicates_in_directory_format() {
    replicates_with("directory");
}

#[test]
fn replicates_in_custom_format() {
    replicates_with("custom");
}

#[test]
fn replicates_in_plain_format() {
    replicates_with("plain");
}

#[test]
fn replicates_in_stream_format() {
    replicates_with("stream");
}

#[test]
fn replicates_plain_gzip_and_schema_only() {
    let s = Scenario::new("plain", "compression = \"gzip\"\n");
    s.apply(&[]).success();
    s.assert_replica_matches();
    assert!(s.artifacts().join("netbox.sql.gz").is_file());
    assert_sums_check(&s.artifacts());

    // Schema only: every table, no rows.
    let schema = Scenario::new("custom", "");
    schema.edit_manifest(|text| {
        text.replace(
            "[include]\nexclude_table_data = [\"extras_objectchange\", \"core_objectchange\", \"django_session\"]",
            "[include]\ndatabase = \"schema\"",
        )
    });
    schema.apply(&[]).success();
    let source = schema.pair.source.facts("netbox");
    let target = schema.pair.target.facts("netbox");
    assert_eq!(
        source.rows.keys().collect::<Vec<_>>(),
        target.rows.keys().collect::<Vec<_>>()
    );
    assert!(target.rows.values().all(|&n| n == 0), "{:?}", target.rows);
    assert_eq!(
        (source.indexes, source.triggers, source.views),
        (target.indexes, target.triggers, target.views)
    );
}

#[test]
fn the_netbox_demo_database_replicates() {
    let pair = Pair::start();
    pair.source.sql("postgres", "CREATE ROLE netbox LOGIN");
    pair.source.create_database("netbox");
    pair.source
        .sql_file("netbox", crate::support::pg::netbox_demo_sql());
    let dir = manifest_folder(&format!(
        "version = 1\n[source]\ndatabase = \"{}\"\n[target]\ndatabase = \"{}\"\n\
         [include]\nexclude_table_data = [\"extras_cachedvalue\"]\n",
        pair.source.url("netbox"),
        pair.target.url("netbox")
    ));
    Replicate::new()
        .current_dir(dir.path())
        .args(["apply", "--auto-approve"])
        .run()
        .success();
    assert_replica_matches(
        &pair.source,
        &pair.target,
        "netbox",
        &["extras_cachedvalue"],
    );
    let facts = pair.target.facts("netbox");
    assert!(facts.rows.len() > 100, "{} tables", facts.rows.len());
    assert_eq!(
        pair.target
            .sql("netbox", "SELECT count(*) FROM dcim_device"),
        pair.source
            .sql("netbox", "SELECT count(*) FROM dcim_device")
    );
    assert_ne!(
        pair.target
            .sql("netbox", "SELECT count(*) FROM dcim_device"),
        "0"
    );
}

#[test]
fn socket_urls_with_a_user_replicate() {
    let s = Scenario::new("custom", "");
    let socket = s.pair.source.socket_url("netbox");
    s.edit_manifest(|text| text.replace(&s.pair.source.url("netbox"), &socket));
    s.replicate()
        .args(["plan"])
        .run()
        .success()
        .stdout_has(&socket);
    s.apply(&[]).success();
    s.assert_replica_matches();
}

#[test]
fn json_events_report_the_plan_and_every_step() {
    let s = Scenario::new("custom", "");
    let run = s.apply(&["--json"]).success();
    let events: Vec<serde_json::Value> = run
        .stdout()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert_eq!(events[0]["event"], "plan");
    assert_eq!(events[0]["plan"]["steps"].as_array().unwrap().len(), 6);
    for step in ["dump", "verify", "create", "restore", "check", "swap"] {
        let started = events
            .iter()
            .position(|e| e["event"] == "step_started" && e["step"] == step)
            .unwrap_or_else(|| panic!("no start of {step}"));
        let finished = events
            .iter()
            .position(|e| {
                e["event"] == "step_finished" && e["step"] == step && e["status"] == "done"
            })
            .unwrap_or_else(|| panic!("no end of {step}"));
        assert!(started < finished);
    }
    let finished = |step: &str| {
        events
            .iter()
            .find(|e| e["event"] == "step_finished" && e["step"] == step)
            .unwrap()
    };
    assert!(finished("check")["check"]["rows"].as_u64().unwrap() > 10_000);
    assert!(finished("swap")["downtime_ms"].as_u64().is_some());
    let last = events.last().unwrap();
    assert_eq!(last["event"], "finished");
    assert_eq!(last["status"], "succeeded");
    assert_eq!(last["steps_done"], 6);
    assert!(last["downtime_ms"].as_u64().is_some(), "{last}");
    s.assert_replica_matches();
}

#[test]
fn artifacts_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scenario::new("directory", "");
    s.apply(&["--steps", "dump"]).success();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&s.artifacts()), 0o700);
    for entry in walkdir::WalkDir::new(s.artifacts()).min_depth(1) {
        let entry = entry.unwrap();
        let expected = if entry.file_type().is_dir() {
            0o700
        } else {
            0o600
        };
        assert_eq!(mode(entry.path()), expected, "{}", entry.path().display());
    }
}
