//! The servers going away under a run, and the disk filling up: each named,
//! nothing of the target lost.

use crate::support::interrupt::assert_not_complete;
use crate::support::media_tree::contents;
use crate::support::scenario::Scenario;
use crate::support::{Replicate, Run, assert_no_staging};

#[test]
fn the_source_server_stopping_during_dump_is_named() {
    let s = Scenario::new("directory", "");
    let blocked = s.apply_blocked_on("dcim_site");
    s.pair.source.stop();
    blocked
        .finish()
        .code(1)
        .stderr_has("step `dump` failed: pg_dump failed")
        .stderr_has(&format!(
            "source server 127.0.0.1:{}, database netbox",
            s.pair.source.port
        ));
    s.assert_target_untouched();
    assert_not_complete(&s.artifacts(), "netbox.dir");
}

#[test]
fn the_target_server_stopping_during_restore_is_named() {
    let s = Scenario::new("directory", "");
    let (gate, run) = s.apply_held_at_restore();
    s.pair.target.stop();
    gate.open();
    run.finish()
        .code(1)
        .stderr_has("step `restore` failed: pg_restore failed")
        .stderr_has(&format!(
            "target server 127.0.0.1:{}, database netbox",
            s.pair.target.port
        ))
        .stderr_has("the database netbox was not touched");
    s.pair.target.start_again();
    s.assert_target_untouched();
}

/// Runs `apply --auto-approve ARGS` with a file size limit (`ulimit -f`,
/// in KiB).
fn with_file_limit(s: &Scenario, kib: u64, args: &[&str]) -> Run {
    let binary = env!("CARGO_BIN_EXE_replicate");
    let mut script = format!("ulimit -f {kib}; exec '{binary}' apply --auto-approve");
    for arg in args {
        script.push_str(&format!(" '{arg}'"));
    }
    Replicate::command("sh")
        .current_dir(s.dir.path())
        .args(["-c", &script])
        .run()
}

#[test]
fn a_full_disk_during_dump_fails_cleanly() {
    // replicate writes a plain dump itself; pg_dump writes a custom one
    // (it seeks back to write the data offsets) and says why it failed.
    for (format, file, why) in [
        ("plain", "netbox.sql", "a file size limit was reached"),
        ("custom", "netbox.dump", "could not write to output file"),
    ] {
        let s = Scenario::new(format, "");
        with_file_limit(&s, 256, &[])
            .code(1)
            .stderr_has("step `dump` failed")
            .stderr_has(why);
        assert!(
            !s.artifacts().join(format!("{file}.partial")).exists(),
            "the partial dump was kept"
        );
        assert_not_complete(&s.artifacts(), file);
        s.assert_target_untouched();
    }
}

#[test]
fn a_full_disk_during_extract_keeps_the_old_media() {
    let s = Scenario::new("custom", "");
    let media = s.add_archived_media(4);
    with_file_limit(&s, 1024, &["--steps", "verify,extract"])
        .code(1)
        .stderr_has("step `extract` failed")
        .stderr_has("a file size limit was reached");
    assert_eq!(
        contents(&media.target),
        media.before,
        "the old media folder changed"
    );
    assert_no_staging(s.dir.path());
}
