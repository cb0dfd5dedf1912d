//! The swap itself: clients see the old database or the whole new one, the
//! name is never missing long, and `check` and `verify --target` name a
//! table that differs from the dump.

use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::pg::psql;
use crate::support::scenario::{Scenario, session_in};

#[test]
fn clients_see_the_old_or_the_whole_new_database_and_the_name_is_never_missing_long() {
    let s = Scenario::new("directory", "");
    s.edit_manifest(|text| text.replace("[include]", "terminate_connections = true\n[include]"));
    let rows = s
        .pair
        .source
        .sql("netbox", "SELECT count(*) FROM dcim_device");
    // A NetBox-like client holding a connection to the target.
    let mut client = session_in(&s.pair.target, "netbox", "netbox-web");
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
    let verify = || s.replicate().args(["verify", "--target"]).run();
    verify().success().stdout_has("ok netbox equals the dump");
    s.pair.target.sql(
        "netbox",
        "INSERT INTO dcim_region (name, slug) VALUES ('new', 'new')",
    );
    verify()
        .code(1)
        .stdout_has("changed table public.dcim_region: expected");
}
