//! replicate killed or interrupted at each step, then resumed.

use crate::support::interrupt::assert_not_complete;
use crate::support::media_tree::contents;
use crate::support::scenario::Scenario;
use crate::support::{assert_holds, assert_no_staging, wait_until_gone};

#[test]
fn killed_during_dump_then_resumed() {
    let s = Scenario::new("directory", "");
    // pg_dump dies with replicate instead of writing on.
    let _ = s.apply_blocked_on("dcim_interface").stop(libc::SIGKILL);
    assert_not_complete(&s.artifacts(), "netbox.dir");
    s.assert_target_untouched();

    s.resume().step_shows("dump", "done");
    s.assert_replica_matches();
}

#[test]
fn killed_during_archive_then_resumed() {
    let s = Scenario::new("custom", "compression = \"gzip\"\n");
    let (_, target) = s.add_media(96);
    s.apply_until(&[], "archive", "running").kill();
    assert_not_complete(&s.artifacts(), "netbox_media.tar.gz");
    assert_not_complete(&s.artifacts(), "netbox_media.sha256");
    s.assert_target_untouched();
    assert!(target.join("stale/removed-upstream.png").exists());

    s.resume();
    s.assert_copy_matches();
}

#[test]
fn killed_during_restore_then_resumed() {
    let s = Scenario::new("directory", "");
    let (gate, run) = s.apply_held_at_restore();
    run.kill();
    wait_until_gone(&["gated-bin/pg_restore"]);
    // The restore went into netbox__next: the target was not touched.
    s.assert_target_untouched();
    gate.open();
    s.resume()
        .step_never_shows("dump", "started")
        .step_shows("create", "done");
    s.assert_replica_matches();
}

#[test]
fn killed_during_extract_leaves_old_or_new_media_never_a_mix() {
    let s = Scenario::new("custom", "");
    let media = s.add_archived_media(128);
    let run = s.apply_until(
        &["--steps", "verify,create,restore,check,extract,swap"],
        "extract",
        "running",
    );
    std::thread::sleep(std::time::Duration::from_millis(50));
    run.kill();
    let now = contents(&media.target);
    assert!(
        now == media.before || now == contents(&media.source),
        "the media folder is a mix"
    );

    s.resume().step_never_shows("archive", "started");
    s.assert_copy_matches();
    assert_no_staging(s.dir.path());
}

#[test]
fn sigint_and_sigterm_stop_children_journal_and_release_the_lock() {
    for (signal, name) in [(libc::SIGINT, "SIGINT"), (libc::SIGTERM, "SIGTERM")] {
        let s = Scenario::new("directory", "");
        let run = s.apply_blocked_on("dcim_device").stop(signal).code(1);
        assert_holds(
            &run.stderr_flat(),
            &[
                &format!("apply stopped by {name} during dump"),
                "replicate apply --resume",
                "the database netbox was not touched",
            ],
        );
        let state = s.state();
        assert_eq!(state["status"], "interrupted");
        assert_eq!(state["steps"]["dump"]["status"], "interrupted");
        assert_eq!(state["steps"]["create"]["status"], "pending");
        // The lock is free: the next run starts at once and finishes.
        s.resume();
        s.assert_replica_matches();
    }
}
