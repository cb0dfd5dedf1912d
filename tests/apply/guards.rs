//! What stops a run before it harms the target: a dump cut off, an artifact
//! changed, another run at work, no approval, a stale plan, open sessions,
//! a pg_dump too old.

use std::time::{Duration, Instant};

use crate::support::assert_holds;
use crate::support::pg::server_bindir;
use crate::support::scenario::{Scenario, session_in};

#[test]
fn a_dump_killed_mid_way_fails_at_dump_and_leaves_the_target_untouched() {
    let s = Scenario::new("directory", "");
    let blocked = s.apply_blocked_on("dcim_device");
    // The source backend serving pg_dump goes away in the middle of the dump.
    s.pair.source.sql(
        "postgres",
        &format!("SELECT pg_terminate_backend({})", blocked.backend),
    );
    blocked
        .finish()
        .code(1)
        .stderr_has("step `dump` failed")
        .stderr_has("command: PGAPPNAME=replicate pg_dump")
        .stderr_has("the database netbox was not touched")
        .step_never_shows("create", "started");
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
    s.dump_only();
    let dump = s.artifacts().join("netbox.dump");
    let mut bytes = std::fs::read(&dump).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&dump, bytes).unwrap();

    s.apply(&["--steps", "verify,create,restore,check,swap"])
        .code(1)
        .stderr_has("step `verify` failed")
        .stderr_has("netbox.dump does not match SHA256SUMS");
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
fn a_second_apply_on_the_same_artifacts_fails_at_once() {
    let s = Scenario::new("directory", "");
    let first = s.apply_blocked_on("dcim_site");
    let started = Instant::now();
    let second = s.apply(&[]).code(1);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the second apply waited"
    );
    second
        .stderr_has("another run holds")
        .stderr_has(&format!("process {}", first.run.pid()));
    first.release().finish().success();
    s.assert_replica_matches();
}

#[test]
fn apply_without_approval_touches_nothing_and_stale_plans_are_refused() {
    let s = Scenario::new("custom", "");
    s.replicate()
        .args(["apply"])
        .run()
        .code(1)
        .stderr_has("refusing to apply without approval");
    assert!(!s.artifacts().exists(), "the artifacts folder was created");
    s.assert_target_untouched();

    s.replicate()
        .args(["plan", "--out", "plan.json"])
        .run()
        .success()
        .stdout_has("target: PostgreSQL");
    s.edit_manifest(|text| format!("{text}# edited after planning\n"));
    s.replicate()
        .args(["apply", "plan.json"])
        .run()
        .code(1)
        .stderr_has("is stale");
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
fn open_sessions_are_refused_at_plan_time_unless_terminated() {
    let s = Scenario::new("custom", "");
    let mut session = session_in(&s.pair.target, "netbox", "netbox-web");
    s.replicate()
        .args(["plan"])
        .run()
        .code(1)
        .stderr_has(
            "the target database netbox has 1 open session: `swap` would fail while they stay",
        )
        .stderr_has("terminate_connections = true");
    s.apply(&[]).code(1);
    assert!(!s.artifacts().exists(), "something ran");
    s.assert_target_untouched();

    s.edit_manifest(|text| text.replace("[include]", "terminate_connections = true\n[include]"));
    s.apply(&[]).success();
    s.assert_replica_matches();
    // The session was ended by the swap.
    assert!(session.wait().is_ok());
}

#[test]
fn live_plan_reports_the_systems_and_checks_pg_dump() {
    let s = Scenario::new("directory", "");
    s.edit_manifest(|text| {
        text.replace("\"django_session\"]", "\"django_session\", \"no_such_*\"]")
    });
    let run = s.replicate().args(["plan"]).run().success();
    let stdout = run.stdout();
    assert_holds(
        &stdout,
        &[
            "source: PostgreSQL",
            "database netbox exists",
            "`no_such_*` matches no table",
            "create database netbox__next (UTF8 encoding",
        ],
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
        std::os::unix::fs::symlink(server_bindir().join(program), bindir.join(program)).unwrap();
    }
    s.edit_manifest(|text| format!("{text}[tools]\nbindir = \"old-bin\"\n"));
    s.replicate()
        .args(["plan"])
        .run()
        .code(1)
        .stderr_has("pg_dump 12")
        .stderr_has("cannot dump the source, which runs PostgreSQL")
        .stderr_has("found on this machine: pg_dump");

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
