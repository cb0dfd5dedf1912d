//! `strategy = "swap"`: the target is replaced only by a replica proven
//! equal to the dump, in one atomic swap, with the previous copy kept for
//! `rollback`; and the plan-time checks of what the target role may do.

use std::fs;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::media_tree::tree;
use crate::support::pg::{Cluster, psql};
use crate::support::scenario::{Scenario, TableLock, wait_for_blocked_dump};

/// The non-superuser role NetBox would connect as on the target.
const ROLE: &str = "nb";

/// Makes the target's `netbox` database belong to a role that may create
/// databases and end sessions, and points the manifest's target at it.
fn as_owner_role(s: &Scenario) {
    let target = &s.pair.target;
    target.sql(
        "postgres",
        &format!("CREATE ROLE {ROLE} LOGIN CREATEDB; GRANT pg_signal_backend TO {ROLE}"),
    );
    target.sql(
        "postgres",
        &format!("ALTER DATABASE netbox OWNER TO {ROLE}"),
    );
    target.sql(
        "netbox",
        &format!("ALTER TABLE replicate_marker OWNER TO {ROLE}"),
    );
    let text = fs::read_to_string(s.manifest()).unwrap();
    s.write_manifest(
        &text.replace(
            &target.url("netbox"),
            &target
                .url("netbox")
                .replace("postgres@", &format!("{ROLE}@")),
        ),
    );
}

fn marker(cluster: &Cluster, db: &str) -> String {
    cluster.sql(db, "SELECT note FROM replicate_marker")
}

#[test]
fn a_failing_create_leaves_the_target_database_and_folders_as_they_were() {
    let s = Scenario::new("directory", "");
    let (_, target) = s.add_media(0);
    as_owner_role(&s);
    let before = tree(&target);
    // The role loses CREATEDB while the dump waits on a lock: `plan` let it
    // through, `create` is refused.
    let lock = TableLock::hold(&s.pair.source, "dcim_device");
    let run = s.replicate().args(["apply", "--auto-approve"]).spawn();
    wait_for_blocked_dump(&s.pair.source);
    s.pair
        .target
        .sql("postgres", &format!("ALTER ROLE {ROLE} NOCREATEDB"));
    drop(lock);
    let run = run.finish().code(1);
    let stderr = run.stderr_flat();
    assert!(stderr.contains("step `create` failed"), "{stderr}");
    assert!(stderr.contains("permission denied"), "{stderr}");
    assert!(
        stderr.contains("the database netbox and the media folder were not touched"),
        "{stderr}"
    );
    s.assert_target_untouched();
    assert_eq!(tree(&target), before);
}

/// A session in the database `db` of `cluster`, named `app`, that sleeps
/// until killed.
fn session_in(cluster: &Cluster, db: &str, app: &str) -> std::process::Child {
    let child = psql(&cluster.url(db))
        .env("PGAPPNAME", app)
        .args(["-c", "SELECT pg_sleep(120)"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("psql runs");
    let deadline = Instant::now() + Duration::from_secs(20);
    while cluster.sql(
        "postgres",
        &format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}' AND application_name = '{app}'"),
    ) == "0"
    {
        assert!(Instant::now() < deadline, "the session did not open");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

#[test]
fn a_leftover_companion_still_used_by_a_killed_run_is_cleared_but_nobody_elses() {
    let s = Scenario::new("custom", "");
    let target = &s.pair.target;
    target.sql("postgres", "CREATE DATABASE netbox__next");

    // Somebody else's session in a leftover `netbox__next` is not
    // replicate's to end: `create` fails, naming why, and the target is
    // left as it was.
    let mut other = session_in(target, "netbox__next", "someone");
    let run = s
        .replicate()
        .args(["apply", "--auto-approve"])
        .run()
        .code(1);
    let stderr = run.stderr_flat();
    assert!(stderr.contains("step `create` failed"), "{stderr}");
    assert!(stderr.contains("being accessed by other users"), "{stderr}");
    s.assert_target_untouched();
    // Killing psql would leave its backend sleeping: end it on the server.
    target.sql(
        "postgres",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'someone'",
    );
    let _ = other.wait();

    // A run killed outright leaves its load connected there: that one is
    // replicate's own, ended, and the copy goes on.
    let mut leftover = session_in(target, "netbox__next", "replicate");
    s.apply(&[]).success();
    s.assert_replica_matches();
    let _ = leftover.wait();
}

#[test]
fn check_names_a_table_that_differs_from_the_dump_in_every_format() {
    for format in ["directory", "custom", "plain", "stream"] {
        let s = Scenario::new(format, "");
        s.apply(&["--steps", "dump,verify,create,restore"])
            .success();
        // The restored table changes before `check` looks at it.
        s.pair.target.sql(
            "netbox__next",
            "DELETE FROM ipam_ipaddress WHERE id = (SELECT min(id) FROM ipam_ipaddress)",
        );
        let rows: u64 = s
            .pair
            .source
            .sql("netbox", "SELECT count(*) FROM ipam_ipaddress")
            .parse()
            .unwrap();
        let run = s.apply(&["--steps", "check,swap"]).code(1);
        let stderr = run.stderr_flat();
        assert!(stderr.contains("step `check` failed"), "{format}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "table public.ipam_ipaddress: expected {rows} rows, found {} rows",
                rows - 1
            )),
            "{format}: {stderr}"
        );
        assert!(
            stderr.contains("the database netbox was not touched"),
            "{format}: {stderr}"
        );
        s.assert_target_untouched();
    }
}

#[test]
fn verify_target_names_a_table_changed_after_the_run() {
    let s = Scenario::new("custom", "");
    s.apply(&[]).success();
    s.replicate()
        .args(["verify", "--target"])
        .run()
        .success()
        .stdout_has("ok      netbox equals the dump");
    s.pair.target.sql(
        "netbox",
        "INSERT INTO dcim_region (name, slug) VALUES ('new', 'new')",
    );
    let run = s.replicate().args(["verify", "--target"]).run().code(1);
    assert!(
        run.stdout()
            .contains("changed     table public.dcim_region: expected"),
        "{}",
        run.stdout()
    );
}

/// What a client connecting to the target's name saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Old,
    /// The new database, and whether it held every row.
    New {
        complete: bool,
    },
    Missing,
}

/// Connects to `url` once: is it the old database, or the new one with
/// all `rows` of `dcim_device`?
fn probe(url: &str, rows: &str) -> Seen {
    let output = psql(url)
        .args([
            "-At",
            "-c",
            "SELECT to_regclass('public.replicate_marker') IS NOT NULL",
            "-c",
            "SELECT count(*) FROM ONLY public.dcim_device",
        ])
        .stderr(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = text.lines().collect();
    match lines.as_slice() {
        ["t", ..] => Seen::Old,
        ["f", count] => Seen::New {
            complete: *count == rows,
        },
        _ => Seen::Missing,
    }
}

#[test]
fn clients_see_the_old_or_the_whole_new_database_and_the_name_is_never_missing_long() {
    let s = Scenario::new("directory", "");
    let text = fs::read_to_string(s.manifest()).unwrap();
    s.write_manifest(&text.replace("[include]", "terminate_connections = true\n[include]"));
    let rows = s
        .pair
        .source
        .sql("netbox", "SELECT count(*) FROM dcim_device");
    // A NetBox-like client holding a connection to the target.
    let mut client = psql(&s.pair.target.url("netbox"))
        .args(["-c", "SELECT pg_sleep(120)"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // A probe connecting as often as it can for the whole run.
    let stop = Arc::new(AtomicBool::new(false));
    let seen: Arc<Mutex<Vec<(Instant, Seen)>>> = Arc::new(Mutex::new(Vec::new()));
    let prober = {
        let (stop, seen, rows) = (stop.clone(), seen.clone(), rows.clone());
        let url = s.pair.target.url("netbox");
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let at = Instant::now();
                let what = probe(&url, &rows);
                seen.lock().unwrap().push((at, what));
                std::thread::sleep(Duration::from_millis(3));
            }
        })
    };
    s.apply(&[]).success();
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::SeqCst);
    prober.join().unwrap();

    // The client's connection was ended by the swap; its next one reaches
    // the new database, whole.
    let ended = client.wait().unwrap();
    assert!(!ended.success(), "the client's session was not ended");
    assert_eq!(
        probe(&s.pair.target.url("netbox"), &rows),
        Seen::New { complete: true }
    );

    let seen = seen.lock().unwrap();
    assert!(
        seen.len() > 20,
        "the probe connected only {} times",
        seen.len()
    );
    assert_eq!(seen.first().unwrap().1, Seen::Old, "{seen:?}");
    assert_eq!(seen.last().unwrap().1, Seen::New { complete: true });
    assert!(
        seen.iter()
            .all(|(_, w)| *w != Seen::New { complete: false }),
        "a client saw a half-restored database"
    );
    // Old, then new: never back.
    let first_new = seen
        .iter()
        .position(|(_, w)| matches!(w, Seen::New { .. }))
        .unwrap();
    assert!(
        seen[first_new..].iter().all(|(_, w)| *w != Seen::Old),
        "the old database came back"
    );
    // The name was missing for less than a second at a time.
    let mut longest = Duration::ZERO;
    let mut missing_since: Option<Instant> = None;
    for (at, what) in seen.iter() {
        match (what, missing_since) {
            (Seen::Missing, None) => missing_since = Some(*at),
            (Seen::Missing, Some(_)) => {}
            (_, Some(since)) => {
                longest = longest.max(*at - since);
                missing_since = None;
            }
            _ => {}
        }
    }
    assert!(
        longest < Duration::from_secs(1),
        "the target name was missing for {longest:?}"
    );
}

#[test]
fn rollback_twice_returns_to_the_new_copy_and_keep_previous_false_keeps_nothing() {
    let s = Scenario::new("custom", "");
    let (source_media, target_media) = s.add_media(0);
    let old_media = tree(&target_media);

    // Nothing to roll back to yet: refused, nothing changed.
    let run = s
        .replicate()
        .args(["rollback", "--auto-approve"])
        .run()
        .code(1);
    assert!(
        run.stderr_flat().contains("there is no previous target"),
        "{}",
        run.stderr()
    );
    s.assert_target_untouched();
    assert_eq!(tree(&target_media), old_media);

    s.apply(&[]).success();
    s.assert_replica_matches();
    assert_eq!(tree(&target_media), tree(&source_media));

    // Back to the copy the apply replaced.
    s.replicate()
        .args(["rollback", "--auto-approve"])
        .run()
        .success()
        .stdout_has("Rollback complete");
    s.assert_target_untouched();
    assert_eq!(tree(&target_media), old_media);
    // And forward again: the replica, equal to its source.
    s.replicate()
        .args(["rollback", "--auto-approve"])
        .run()
        .success();
    s.assert_replica_matches();
    assert_eq!(tree(&target_media), tree(&source_media));
    assert_eq!(marker(&s.pair.target, "netbox__prev"), "before");

    // Without approval on a terminal, nothing happens.
    s.replicate()
        .args(["rollback"])
        .run()
        .code(1)
        .stderr_has("refusing to roll back without approval");

    // keep_previous = false: nothing of the replaced copy is left.
    let text = fs::read_to_string(s.manifest()).unwrap();
    s.write_manifest(&text.replace("[include]", "keep_previous = false\n[include]"));
    s.apply(&[]).success();
    assert_eq!(
        s.pair.target.sql(
            "postgres",
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'netbox\\_\\_%'"
        ),
        "0"
    );
    let beside: Vec<String> = fs::read_dir(target_media.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".replicate-"))
        .collect();
    assert!(beside.is_empty(), "{beside:?}");
    s.replicate()
        .args(["rollback", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("there is no previous target");
}

#[test]
fn two_applies_in_a_row_as_the_owner_role_end_sessions_but_never_autovacuum() {
    let s = Scenario::new("directory", "");
    as_owner_role(&s);
    let text = fs::read_to_string(s.manifest()).unwrap();
    s.write_manifest(&text.replace(
        "[include]",
        &format!("terminate_connections = true\nowner = \"{ROLE}\"\n[include]"),
    ));
    // Autovacuum wakes up at once on a freshly restored database.
    s.pair
        .target
        .sql("postgres", "ALTER SYSTEM SET autovacuum_naptime = '1s'");
    s.pair.target.sql("postgres", "SELECT pg_reload_conf()");
    s.apply(&[]).success();
    s.apply(&[]).success();
    s.assert_replica_matches();
    // The new database and its objects belong to the owner role.
    assert_eq!(
        s.pair.target.sql(
            "postgres",
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'netbox'"
        ),
        ROLE
    );
    assert_eq!(
        s.pair.target.sql(
            "netbox",
            "SELECT tableowner FROM pg_tables WHERE tablename = 'dcim_device'"
        ),
        ROLE
    );
}

#[test]
fn every_permission_problem_is_named_at_plan_time_before_anything_runs() {
    let s = Scenario::new("custom", "");
    as_owner_role(&s);
    let target = &s.pair.target;
    let refused = |what: &str| {
        let run = s.apply(&[]).code(1);
        let stderr = run.stderr_flat();
        assert!(stderr.contains(what), "{what}: {stderr}");
        assert!(!s.artifacts().exists(), "{what}: a step ran");
        s.assert_target_untouched();
    };
    target.sql("postgres", &format!("ALTER ROLE {ROLE} NOCREATEDB"));
    refused("nb may not create databases: `create` (and the swap's renames) needs CREATEDB");
    target.sql("postgres", &format!("ALTER ROLE {ROLE} CREATEDB"));

    target.sql("postgres", "ALTER DATABASE netbox OWNER TO postgres");
    refused("nb does not own the target database netbox, so it may not rename it");
    target.sql(
        "postgres",
        &format!("ALTER DATABASE netbox OWNER TO {ROLE}"),
    );

    let text = fs::read_to_string(s.manifest()).unwrap();
    s.write_manifest(&text.replace("[include]", "terminate_connections = true\n[include]"));
    target.sql("postgres", &format!("REVOKE pg_signal_backend FROM {ROLE}"));
    refused("nb may not end other sessions");
    target.sql("postgres", &format!("GRANT pg_signal_backend TO {ROLE}"));

    let text = fs::read_to_string(s.manifest()).unwrap();
    s.write_manifest(&text.replace("[include]", "owner = \"nobody_here\"\n[include]"));
    refused("the owner role nobody_here does not exist on the target server");

    s.write_manifest(&text.replace("[include]", "owner = \"postgres\"\n[include]"));
    refused("nb may not give databases to postgres");

    // All fixed: it runs.
    s.write_manifest(&text);
    s.apply(&[]).success();
    s.assert_replica_matches();
}

#[test]
fn long_database_names_get_companions_that_fit() {
    let s = Scenario::new("custom", "");
    let long = "n".repeat(60);
    s.pair.target.create_database(&long);
    s.pair.target.sql(
        &long,
        "CREATE TABLE replicate_marker (note text); INSERT INTO replicate_marker VALUES ('before')",
    );
    let text = fs::read_to_string(s.manifest()).unwrap();
    let target = s.pair.target.url("netbox");
    s.write_manifest(&text.replace(&target, &s.pair.target.url(&long)));
    s.apply(&[]).success();
    let names = s.pair.target.sql(
        "postgres",
        "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE datname LIKE 'nnnnnnnnnn%'",
    );
    let names: Vec<&str> = names.split(',').collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.iter().all(|n| n.len() <= 63), "{names:?}");
    let previous = names.iter().find(|n| **n != long).unwrap();
    assert!(previous.ends_with("__prev"), "{previous}");
    assert_eq!(marker(&s.pair.target, previous), "before");
    assert!(
        s.pair
            .target
            .try_sql(&long, "SELECT 1 FROM dcim_device LIMIT 1")
            .is_ok()
    );
}

/// Connecting as a superuser to replace a database that NetBox's own role
/// owns: without `owner`, the copy would belong to the superuser and NetBox
/// could no longer run `migrate`. `plan` refuses, naming the owner to set;
/// with it set, the role owns the copy and every table in it.
#[test]
fn a_copy_that_would_lock_the_owner_out_is_refused_until_owner_is_set() {
    let s = Scenario::new("custom", "");
    let target = &s.pair.target;
    target.sql("postgres", &format!("CREATE ROLE {ROLE} LOGIN"));
    target.sql(
        "postgres",
        &format!("ALTER DATABASE netbox OWNER TO {ROLE}"),
    );
    let refused = s.replicate().args(["plan"]).run().code(1);
    refused
        .stderr_has(&format!("the target database netbox belongs to {ROLE}"))
        .stderr_has(&format!("set `owner = \"{ROLE}\"` in [target]"));
    s.assert_target_untouched();

    let text = fs::read_to_string(s.manifest()).unwrap();
    s.write_manifest(&text.replace("[target]\n", &format!("[target]\nowner = \"{ROLE}\"\n")));
    s.apply(&[]).success();
    s.assert_replica_matches();
    assert_eq!(
        target.sql(
            "postgres",
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'netbox'"
        ),
        ROLE
    );
    assert_eq!(
        target.sql(
            "netbox",
            &format!("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner <> '{ROLE}'")
        ),
        "0"
    );
}
