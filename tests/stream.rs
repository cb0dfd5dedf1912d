//! The stream format: the dump's table files loaded into the new database
//! while they are written, with the same artifacts, checks and swap.

use std::fs;

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
        let child = s.replicate().args(["apply", "--auto-approve"]).spawn();
        wait_for_step(&s.artifacts(), step, status, 60);
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
