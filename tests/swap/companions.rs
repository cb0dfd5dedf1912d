//! The companions of the target database (`__next`, `__prev`): a leftover
//! one cleared, names that fit however long the target's, and `rollback`
//! to the previous copy and back.

use std::fs;

use crate::support::media_tree::tree;
use crate::support::scenario::{Scenario, marker, place_marker, session_in};

#[test]
fn a_leftover_companion_still_used_by_a_killed_run_is_cleared_but_nobody_elses() {
    let s = Scenario::new("custom", "");
    let target = &s.pair.target;
    target.sql("postgres", "CREATE DATABASE netbox__next");

    // Somebody else's session in a leftover `netbox__next` is not
    // replicate's to end: `create` fails, naming why, and the target is
    // left as it was.
    let mut other = session_in(target, "netbox__next", "someone");
    s.apply(&[])
        .code(1)
        .stderr_has("step `create` failed")
        .stderr_has("being accessed by other users");
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
fn long_database_names_get_companions_that_fit() {
    let s = Scenario::new("custom", "");
    let long = "n".repeat(60);
    s.pair.target.create_database(&long);
    place_marker(&s.pair.target, &long);
    let target = s.pair.target.url("netbox");
    s.edit_manifest(|text| text.replace(&target, &s.pair.target.url(&long)));
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

#[test]
fn rollback_twice_returns_to_the_new_copy_and_keep_previous_false_keeps_nothing() {
    let s = Scenario::new("custom", "");
    let (_, target_media) = s.add_media(0);
    let old_media = tree(&target_media);

    // Nothing to roll back to yet: refused, nothing changed.
    let rollback = || s.replicate().args(["rollback", "--auto-approve"]).run();
    rollback().code(1).stderr_has("there is no previous target");
    s.assert_target_untouched();
    assert_eq!(tree(&target_media), old_media);

    s.apply(&[]).success();
    s.assert_copy_matches();

    // Back to the copy the apply replaced.
    rollback().success().stdout_has("Rollback complete");
    s.assert_target_untouched();
    assert_eq!(tree(&target_media), old_media);
    // And forward again: the replica, equal to its source.
    rollback().success();
    s.assert_copy_matches();
    assert_eq!(marker(&s.pair.target, "netbox__prev"), "before");

    // Without approval on a terminal, nothing happens.
    s.replicate()
        .args(["rollback"])
        .run()
        .code(1)
        .stderr_has("refusing to roll back without approval");

    // keep_previous = false: nothing of the replaced copy is left.
    s.edit_manifest(|text| text.replace("[include]", "keep_previous = false\n[include]"));
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
    rollback().code(1).stderr_has("there is no previous target");
}
