//! `replicate apply` against real PostgreSQL servers: a source and a target,
//! separate clusters, real pg_dump, pg_restore and psql.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::Replicate;
use crate::support::pg::{Cluster, Pair, psql};
use crate::support::scenario::{
    Scenario, TableLock, assert_replica_matches, wait_for_blocked_dump,
};

fn sha256sum_check(dir: &Path) {
    let output = Command::new("sha256sum")
        .args(["--check", "--strict", "SHA256SUMS"])
        .current_dir(dir)
        .output()
        .expect("sha256sum runs");
    assert!(
        output.status.success(),
        "sha256sum -c failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn replicates_with(format: &str) {
    let s = Scenario::new(format, "");
    let run = s.apply(&[]).success();
    run_has_every_step(&run.stdout());
    s.assert_replica_matches();
    sha256sum_check(&s.artifacts());
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s.artifacts().join("state.json")).unwrap())
            .unwrap();
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
    sha256sum_check(&s.artifacts());

    // Schema only: every table, no rows.
    let schema = Scenario::new("custom", "");
    let text = std::fs::read_to_string(schema.manifest()).unwrap();
    schema.write_manifest(&text.replace(
        "[include]\nexclude_table_data = [\"extras_objectchange\", \"core_objectchange\", \"django_session\"]",
        "[include]\ndatabase = \"schema\"",
    ));
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
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("replicate.toml"),
        format!(
            "version = 1\n[source]\ndatabase = \"{}\"\n[target]\ndatabase = \"{}\"\n\
             [include]\nexclude_table_data = [\"extras_cachedvalue\"]\n",
            pair.source.url("netbox"),
            pair.target.url("netbox")
        ),
    )
    .unwrap();
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
fn a_dump_killed_mid_way_fails_at_dump_and_leaves_the_target_untouched() {
    let s = Scenario::new("directory", "");
    let lock = TableLock::hold(&s.pair.source, "dcim_device");
    let child = s.replicate().args(["apply", "--auto-approve"]).spawn();
    let pid = wait_for_blocked_dump(&s.pair.source);
    // The source backend serving pg_dump goes away in the middle of the dump.
    s.pair
        .source
        .sql("postgres", &format!("SELECT pg_terminate_backend({pid})"));
    let run = child.finish().code(1);
    drop(lock);
    let stderr = run.stderr_flat();
    assert!(stderr.contains("step `dump` failed"), "{stderr}");
    assert!(
        stderr.contains("command: PGAPPNAME=replicate pg_dump"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the database netbox was not touched"),
        "{stderr}"
    );
    assert!(!run.stdout().contains("create             started"));
    s.assert_target_untouched();
    // No artifact looks complete.
    assert!(!s.artifacts().join("netbox.dir").exists());
    assert!(!s.artifacts().join("netbox.dir.partial").exists());
    let sums = std::fs::read_to_string(s.artifacts().join("SHA256SUMS")).unwrap_or_default();
    assert!(
        !sums.contains("netbox.dir"),
        "SHA256SUMS lists an incomplete dump:\n{sums}"
    );
}

#[test]
fn a_flipped_byte_fails_verify_and_leaves_the_target_untouched() {
    let s = Scenario::new("custom", "");
    s.apply(&["--steps", "dump"]).success();
    s.assert_target_untouched();
    let dump = s.artifacts().join("netbox.dump");
    let mut bytes = std::fs::read(&dump).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&dump, bytes).unwrap();

    let run = s
        .apply(&["--steps", "verify,create,restore,check,swap"])
        .code(1);
    let stderr = run.stderr_flat();
    assert!(stderr.contains("step `verify` failed"), "{stderr}");
    assert!(
        stderr.contains("netbox.dump does not match SHA256SUMS"),
        "{stderr}"
    );
    s.assert_target_untouched();

    // Without verify in the selection, the destructive steps still refuse.
    let run = s.apply(&["--steps", "create,restore,check,swap"]).code(1);
    assert!(
        run.stderr()
            .contains("netbox.dump does not match SHA256SUMS"),
        "{}",
        run.stderr()
    );
    s.assert_target_untouched();
}

#[test]
fn split_runs_produce_then_consume() {
    let s = Scenario::new("directory", "");
    s.apply(&["--steps", "dump"]).success();
    s.assert_target_untouched();
    sha256sum_check(&s.artifacts());
    s.apply(&["--steps", "verify,create,restore,check,swap"])
        .success();
    s.assert_replica_matches();
}

#[test]
fn passwords_never_reach_command_lines_output_or_files() {
    // psql and pg_restore take it from their environment; the stream
    // format's own connections from libpq's settings.
    for format in ["plain", "stream"] {
        passwords_never_leak_in(format);
    }
}

fn passwords_never_leak_in(format: &str) {
    let password = "s3cr3t-Horse-7f2a";
    let s = Scenario::new(format, "");
    s.pair.target.add_password_role(password);
    s.pair.target.sql("postgres", "DROP DATABASE netbox");
    s.pair
        .target
        .sql("postgres", "CREATE DATABASE netbox OWNER replicator");
    let source = s.pair.source.url("netbox");
    let target = s.pair.target.password_url("netbox", "${TARGET_PASSWORD}");
    s.write_manifest(&format!(
        "version = 1\n[source]\ndatabase = \"{source}\"\n[target]\ndatabase = \"{target}\"\n\
         [include]\nexclude_table_data = [\"extras_objectchange\"]\n[artifacts]\nformat = \"{format}\"\n"
    ));
    let child = s
        .replicate()
        .env("TARGET_PASSWORD", password)
        .args(["apply", "--auto-approve"])
        .spawn();
    let mut seen = 0;
    while child.is_running() {
        seen += assert_no_cmdline_contains(password);
        std::thread::sleep(Duration::from_millis(2));
    }
    let run = child.finish().success();
    assert!(seen > 0, "no process was observed");
    for text in [run.stdout(), run.stderr()] {
        assert!(
            !text.contains(password),
            "the password was printed:\n{text}"
        );
    }
    assert!(run.stdout().contains("replicator:***@"), "{}", run.stdout());
    for entry in walkdir::WalkDir::new(s.dir.path()).into_iter().flatten() {
        if entry.file_type().is_file() {
            let bytes = std::fs::read(entry.path()).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(password),
                "{} holds the password",
                entry.path().display()
            );
        }
    }
    // The password really was used: the replica is owned by the role.
    assert_eq!(
        s.pair.target.sql(
            "postgres",
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'netbox'"
        ),
        "replicator"
    );
}

/// Scans every process's command line; returns how many were read.
fn assert_no_cmdline_contains(secret: &str) -> usize {
    let mut read = 0;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            read += 1;
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            assert!(
                !text.contains(secret),
                "a command line holds the password: {text}"
            );
        }
    }
    read
}

#[test]
fn a_second_apply_on_the_same_artifacts_fails_at_once() {
    let s = Scenario::new("directory", "");
    let lock = TableLock::hold(&s.pair.source, "dcim_site");
    let first = s.replicate().args(["apply", "--auto-approve"]).spawn();
    wait_for_blocked_dump(&s.pair.source);
    let started = Instant::now();
    let second = s.apply(&[]).code(1);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the second apply waited"
    );
    let stderr = second.stderr_flat();
    assert!(stderr.contains("another run holds"), "{stderr}");
    assert!(
        stderr.contains(&format!("process {}", first.pid())),
        "{stderr}"
    );
    drop(lock);
    first.finish().success();
    s.assert_replica_matches();
}

#[test]
fn apply_without_approval_touches_nothing_and_stale_plans_are_refused() {
    let s = Scenario::new("custom", "");
    let run = s.replicate().args(["apply"]).run().code(1);
    assert!(
        run.stderr_flat()
            .contains("refusing to apply without approval"),
        "{}",
        run.stderr()
    );
    assert!(!s.artifacts().exists(), "the artifacts folder was created");
    s.assert_target_untouched();

    s.replicate()
        .args(["plan", "--out", "plan.json"])
        .run()
        .success()
        .stdout_has("target: PostgreSQL");
    let text = std::fs::read_to_string(s.manifest()).unwrap();
    s.write_manifest(&format!("{text}# edited after planning\n"));
    let run = s.replicate().args(["apply", "plan.json"]).run().code(1);
    assert!(run.stderr_flat().contains("is stale"), "{}", run.stderr());
    s.assert_target_untouched();

    // A fresh plan file applies without asking.
    s.replicate()
        .args(["plan", "--out", "plan.json"])
        .run()
        .success();
    s.replicate().args(["apply", "plan.json"]).run().success();
    s.assert_replica_matches();
}

#[test]
fn socket_urls_with_a_user_replicate() {
    let s = Scenario::new("custom", "");
    let text = std::fs::read_to_string(s.manifest()).unwrap();
    let socket = s.pair.source.socket_url("netbox");
    s.write_manifest(&text.replace(&s.pair.source.url("netbox"), &socket));
    s.replicate()
        .args(["plan"])
        .run()
        .success()
        .stdout_has(&socket);
    s.apply(&[]).success();
    s.assert_replica_matches();
}

#[test]
fn a_saved_plan_means_the_same_from_any_folder() {
    let s = Scenario::new("custom", "");
    s.add_media(0);
    let elsewhere = s.dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    s.replicate()
        .current_dir(&elsewhere)
        .args(["plan", "-m", "../replicate.toml", "--out", "p.json"])
        .run()
        .success();
    let plan = elsewhere.join("p.json");
    s.replicate()
        .current_dir(Path::new("/"))
        .args(["apply".as_ref(), plan.as_os_str()])
        .run()
        .success();
    s.assert_replica_matches();
}

#[test]
fn open_sessions_are_refused_at_plan_time_unless_terminated() {
    let s = Scenario::new("custom", "");
    let mut session = hold_session(&s.pair.target);
    let run = s.replicate().args(["plan"]).run().code(1);
    let stderr = run.stderr_flat();
    assert!(
        stderr.contains(
            "the target database netbox has 1 open session: `swap` would fail while they stay"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("terminate_connections = true"), "{stderr}");
    s.apply(&[]).code(1);
    assert!(!s.artifacts().exists(), "something ran");
    s.assert_target_untouched();

    let text = std::fs::read_to_string(s.manifest()).unwrap();
    s.write_manifest(&text.replace("[include]", "terminate_connections = true\n[include]"));
    s.apply(&[]).success();
    s.assert_replica_matches();
    // The session was ended by the swap.
    assert!(session.wait().is_ok());
}

#[test]
fn live_plan_reports_the_systems_and_checks_pg_dump() {
    let s = Scenario::new("directory", "");
    let text = std::fs::read_to_string(s.manifest()).unwrap();
    s.write_manifest(&text.replace("\"django_session\"]", "\"django_session\", \"no_such_*\"]"));
    let run = s.replicate().args(["plan"]).run().success();
    let stdout = run.stdout();
    assert!(stdout.contains("source: PostgreSQL"), "{stdout}");
    assert!(stdout.contains("database netbox exists"), "{stdout}");
    assert!(stdout.contains("`no_such_*` matches no table"), "{stdout}");
    assert!(
        stdout.contains("create database netbox__next (UTF8 encoding"),
        "{stdout}"
    );
    assert!(!stdout.contains("Offline plan"), "{stdout}");

    // A pg_dump older than the source server is refused, naming what is installed.
    let bindir = s.dir.path().join("old-bin");
    std::fs::create_dir(&bindir).unwrap();
    let fake = bindir.join("pg_dump");
    std::fs::write(&fake, "#!/bin/sh\necho 'pg_dump (PostgreSQL) 12.22'\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    for program in ["psql", "pg_restore"] {
        std::os::unix::fs::symlink(
            crate::support::pg::server_bindir().join(program),
            bindir.join(program),
        )
        .unwrap();
    }
    let text = std::fs::read_to_string(s.manifest()).unwrap();
    s.write_manifest(&format!("{text}[tools]\nbindir = \"old-bin\"\n"));
    let run = s.replicate().args(["plan"]).run().code(1);
    let stderr = run.stderr_flat();
    assert!(stderr.contains("pg_dump 12"), "{stderr}");
    assert!(
        stderr.contains("cannot dump the source, which runs PostgreSQL"),
        "{stderr}"
    );
    assert!(
        stderr.contains("found on this machine: pg_dump"),
        "{stderr}"
    );

    // One without `--no-sync` is refused whatever the source.
    std::fs::write(&fake, "#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n").unwrap();
    let run = s.replicate().args(["plan"]).run().code(1);
    let stderr = run.stderr_flat();
    assert!(
        stderr.contains("pg_dump 9 (") && stderr.contains("replicate needs pg_dump 10 or later"),
        "{stderr}"
    );
    s.assert_target_untouched();
}

#[test]
fn resume_keeps_verified_artifacts_and_a_checked_new_database() {
    let s = Scenario::new("directory", "");
    // A run that stops after `check`, before the swap.
    s.apply(&["--steps", "dump,verify,create,restore,check"])
        .success();
    s.assert_target_untouched();
    let toc = s.artifacts().join("netbox.dir/toc.dat");
    let dumped_at = std::fs::metadata(&toc).unwrap().modified().unwrap();

    let run = s.apply(&["--resume"]).success();
    let stdout = run.stdout();
    for step in ["dump", "create", "restore", "check"] {
        assert!(
            !stdout.contains(&format!("{step:<18} started")),
            "{step} ran again:\n{stdout}"
        );
    }
    for step in ["verify", "swap"] {
        assert!(
            stdout.contains(&format!("{step:<18} done")),
            "{step} did not run:\n{stdout}"
        );
    }
    assert_eq!(
        std::fs::metadata(&toc).unwrap().modified().unwrap(),
        dumped_at
    );
    s.assert_replica_matches();

    // Without a checked new database, the chain restarts at `create`.
    s.apply(&["--steps", "dump,verify,create,restore,check"])
        .success();
    s.pair.target.sql("postgres", "DROP DATABASE netbox__next");
    let run = s.apply(&["--resume"]).success();
    for step in ["create", "restore", "check", "swap"] {
        assert!(
            run.stdout().contains(&format!("{step:<18} done")),
            "{step} did not run:\n{}",
            run.stdout()
        );
    }

    // A dump that no longer verifies is produced again on resume.
    std::fs::write(&toc, b"tampered").unwrap();
    let run = s.apply(&["--resume"]).success();
    assert!(
        run.stdout().contains("dump               done"),
        "{}",
        run.stdout()
    );
    s.assert_replica_matches();
}

#[test]
fn verify_command_names_missing_and_changed_artifacts() {
    let s = Scenario::new("custom", "");
    s.apply(&["--steps", "dump"]).success();
    s.replicate()
        .args(["verify"])
        .run()
        .success()
        .stdout_has("ok      netbox.dump");
    let dump = s.artifacts().join("netbox.dump");
    let len = std::fs::metadata(&dump).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&dump).unwrap();
    file.set_len(len / 2).unwrap();
    let run = s.replicate().args(["verify"]).run().code(1);
    assert!(
        run.stdout()
            .contains("FAILED  netbox.dump does not match SHA256SUMS"),
        "{}",
        run.stdout()
    );
    std::fs::remove_file(&dump).unwrap();
    let run = s.replicate().args(["verify"]).run().code(1);
    assert!(
        run.stdout().contains("FAILED  netbox.dump is missing"),
        "{}",
        run.stdout()
    );
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

#[test]
fn invalidate_commands_run_in_the_manifest_folder_and_fail_the_run() {
    let s = Scenario::new("custom", "");
    let text = std::fs::read_to_string(s.manifest()).unwrap();
    let with = |source: &str, target: &str| {
        text.replace(
            "[target]\n",
            &format!("invalidate = {source}\n[target]\ninvalidate = {target}\n"),
        )
    };
    s.write_manifest(&with(
        r#"["sh", "-c", "pwd > source-cache-cleared"]"#,
        r#"["sh", "-c", "pwd > target-reindexed; printf %s \"$1\" > token", "sh", "${CACHE_TOKEN}"]"#,
    ));
    let token = "tok-5ecret-value";
    let plan = s
        .replicate()
        .env("CACHE_TOKEN", token)
        .args(["plan", "--verbose", "--out", "plan.json"])
        .run()
        .success();
    let run = s
        .replicate()
        .env("CACHE_TOKEN", token)
        .args(["apply", "plan.json"])
        .run()
        .success();
    assert!(
        run.stdout().contains("Apply complete: 8 steps"),
        "{}",
        run.stdout()
    );
    let folder = s.dir.path().canonicalize().unwrap();
    for file in ["source-cache-cleared", "target-reindexed"] {
        let written = std::fs::read_to_string(s.dir.path().join(file)).unwrap();
        assert_eq!(Path::new(written.trim()).canonicalize().unwrap(), folder);
    }
    // Only the child got the value; plans and output show `${CACHE_TOKEN}`.
    assert_eq!(
        std::fs::read_to_string(s.dir.path().join("token")).unwrap(),
        token
    );
    assert!(
        plan.stdout().contains("sh '${CACHE_TOKEN}'"),
        "{}",
        plan.stdout()
    );
    for text in [
        plan.stdout(),
        run.stdout(),
        run.stderr(),
        std::fs::read_to_string(s.dir.path().join("plan.json")).unwrap(),
        std::fs::read_to_string(s.artifacts().join("state.json")).unwrap(),
    ] {
        assert!(!text.contains(token), "the value leaked:\n{text}");
    }
    s.assert_replica_matches();

    // A failing invalidation stops the run before anything is dumped.
    let t = Scenario::new("custom", "");
    let text = std::fs::read_to_string(t.manifest()).unwrap();
    t.write_manifest(&text.replace(
        "[target]\n",
        "invalidate = [\"sh\", \"-c\", \"echo cache is locked for $1 >&2; exit 3\", \"sh\", \"${CACHE_TOKEN}\"]\n[target]\n",
    ));
    let run = t
        .replicate()
        .env("CACHE_TOKEN", token)
        .args(["apply", "--auto-approve"])
        .run()
        .code(1);
    let stderr = run.stderr_flat();
    assert!(
        stderr.contains("step `invalidate-source` failed: sh failed (exit status 3)"),
        "{stderr}"
    );
    // What the child printed hides the value again.
    assert!(
        stderr.contains("cache is locked for ${CACHE_TOKEN}"),
        "{stderr}"
    );
    assert!(!run.stdout().contains(token) && !stderr.contains(token));
    t.assert_target_untouched();
    assert!(!t.artifacts().join("netbox.dump").exists());
}

/// An idle session on the target's `netbox` database, there once this returns.
fn hold_session(cluster: &Cluster) -> std::process::Child {
    let session = psql(&cluster.url("netbox"))
        .args(["-c", "SELECT pg_sleep(60)"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while cluster.sql(
        "postgres",
        "SELECT count(*) FROM pg_stat_activity WHERE datname = 'netbox'",
    ) == "0"
    {
        assert!(Instant::now() < deadline, "the session did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    session
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
