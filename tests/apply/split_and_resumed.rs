//! A copy in several runs: steps split between runs, a run resumed, a saved
//! plan applied from elsewhere, and `verify` of the artifacts in between.

use std::path::Path;

use crate::support::artifacts::assert_sums_check;
use crate::support::scenario::Scenario;

#[test]
fn split_runs_produce_then_consume() {
    let s = Scenario::new("directory", "");
    s.dump_only();
    assert_sums_check(&s.artifacts());
    s.apply(&["--steps", "verify,create,restore,check,swap"])
        .success();
    s.assert_replica_matches();
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

    let run = s.resume();
    for step in ["dump", "create", "restore", "check"] {
        assert!(
            !run.step_said(step, "started"),
            "{step} ran again:\n{}",
            run.stdout()
        );
    }
    for step in ["verify", "swap"] {
        assert!(
            run.step_said(step, "done"),
            "{step} did not run:\n{}",
            run.stdout()
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
    let run = s.resume();
    for step in ["create", "restore", "check", "swap"] {
        assert!(
            run.step_said(step, "done"),
            "{step} did not run:\n{}",
            run.stdout()
        );
    }

    // A dump that no longer verifies is produced again on resume.
    std::fs::write(&toc, b"tampered").unwrap();
    s.resume().step_shows("dump", "done");
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
fn verify_command_names_missing_and_changed_artifacts() {
    let s = Scenario::new("custom", "");
    s.apply(&["--steps", "dump"]).success();
    let verify = || s.replicate().args(["verify"]).run();
    verify().success().stdout_has("ok netbox.dump");
    let dump = s.artifacts().join("netbox.dump");
    let len = std::fs::metadata(&dump).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&dump).unwrap();
    file.set_len(len / 2).unwrap();
    verify()
        .code(1)
        .stdout_has("FAILED netbox.dump does not match SHA256SUMS");
    std::fs::remove_file(&dump).unwrap();
    verify().code(1).stdout_has("FAILED netbox.dump is missing");
}
