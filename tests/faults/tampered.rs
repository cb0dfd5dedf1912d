//! Artifacts, plans and journals changed behind replicate's back, and an
//! artifacts folder it should not trust: refused, named, nothing run.

use std::fs;

use crate::support::scenario::Scenario;

#[test]
fn deleted_and_truncated_artifacts_are_named_by_verify() {
    let s = Scenario::new("directory", "");
    s.apply(&["--steps", "dump"]).success();
    let file = fs::read_dir(s.artifacts().join("netbox.dir"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "dat") && fs::metadata(p).unwrap().len() > 100)
        .unwrap();
    let name = format!("netbox.dir/{}", file.file_name().unwrap().to_string_lossy());
    let f = fs::OpenOptions::new().write(true).open(&file).unwrap();
    f.set_len(10).unwrap();
    let after_dump = ["--steps", "verify,create,restore,check,swap"];
    s.apply(&after_dump)
        .code(1)
        .stderr_has(&format!("{name} does not match SHA256SUMS"));
    fs::remove_file(&file).unwrap();
    s.apply(&after_dump)
        .code(1)
        .stderr_has(&format!("{name} is missing"));
    s.assert_target_untouched();
}

#[test]
fn hand_edited_newer_and_foreign_plans_are_refused() {
    let s = Scenario::new("custom", "");
    s.replicate()
        .args(["plan", "--out", "plan.json"])
        .run()
        .success();
    let plan = fs::read_to_string(s.dir.path().join("plan.json")).unwrap();
    let refused = |name: &str, text: &str| {
        fs::write(s.dir.path().join(name), text).unwrap();
        s.replicate().args(["apply", name]).run().code(1)
    };

    let edited = plan.replace("--exit-on-error", "--single-transaction");
    assert_ne!(edited, plan);
    refused("edited.json", &edited)
        .stderr_has("is stale: its steps differ")
        // The message names the step and shows what changed.
        .stderr_has(
            "step `restore`: its command has `--single-transaction` where the manifest now plans `--exit-on-error`",
        );

    let newer = plan.replace("\"format_version\": 3", "\"format_version\": 4");
    assert_ne!(newer, plan);
    refused("newer.json", &newer).stderr_has("has plan format version 4");

    refused("broken.json", &plan[..plan.len() / 2]).stderr_has("is not a replicate plan file");

    fs::copy(s.manifest(), s.dir.path().join("other.toml")).unwrap();
    s.replicate()
        .args(["apply", "plan.json", "-m", "other.toml"])
        .run()
        .code(1)
        .stderr_has("was made for");
    assert!(!s.artifacts().exists(), "something was written");
    s.assert_target_untouched();
}

#[test]
fn corrupt_or_foreign_state_stops_resume() {
    let s = Scenario::new("custom", "");
    s.apply(&["--steps", "dump"]).success();
    let state = s.artifacts().join("state.json");
    let good = fs::read_to_string(&state).unwrap();
    fs::write(&state, &good[..good.len() / 3]).unwrap();
    s.apply(&["--resume"])
        .code(1)
        .stderr_has("cannot resume")
        .stderr_has("state.json is corrupt");

    let mut value: serde_json::Value = serde_json::from_str(&good).unwrap();
    value["plan_digest"] = "0".repeat(64).into();
    fs::write(&state, value.to_string()).unwrap();
    s.apply(&["--resume"])
        .code(1)
        .stderr_has("the earlier run followed another plan");
    s.assert_target_untouched();
}

#[test]
fn a_symlinked_artifacts_folder_is_refused_and_a_readable_one_warned_about() {
    let s = Scenario::new("custom", "");
    let elsewhere = s.dir.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, s.artifacts()).unwrap();
    s.apply(&[]).code(1).stderr_has("is a symbolic link");
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
    s.assert_target_untouched();

    fs::remove_file(s.artifacts()).unwrap();
    fs::create_dir(s.artifacts()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(s.artifacts(), fs::Permissions::from_mode(0o755)).unwrap();
    s.apply(&["--steps", "dump"])
        .success()
        .stderr_has("can be read by other users (mode 755)");
}
