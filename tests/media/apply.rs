//! `apply` with a media folder: the folder replaced while dump and archive
//! run at once, the old one kept for rollback, or left as it was when
//! extracting fails; a media-only copy; the owner of what is extracted.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::Command;

use crate::support::artifacts::reseal;
use crate::support::media_tree::{build_tree, tree};
use crate::support::scenario::Scenario;
use crate::support::{Replicate, assert_no_staging, manifest_folder};

fn media_scenario() -> (Scenario, PathBuf, PathBuf) {
    let s = Scenario::new("directory", "");
    let (source, target) = s.add_media(0);
    (s, source, target)
}

fn time(v: &serde_json::Value) -> std::time::SystemTime {
    humantime::parse_rfc3339(v.as_str().unwrap()).unwrap()
}

#[test]
fn apply_replaces_the_media_folder_and_overlaps_dump_with_archive() {
    let (s, source, target) = media_scenario();
    s.apply(&[]).success().stdout_has("Apply complete: 8 steps");
    assert_eq!(tree(&target), tree(&source));
    assert!(!target.join("stale").exists(), "a stale file survived");
    s.assert_replica_matches();
    // The replaced folder is kept beside it for `rollback`.
    let previous = target.with_file_name("target-media.replicate-prev");
    assert!(previous.join("stale/removed-upstream.png").is_file());
    assert_no_staging(s.dir.path());

    // dump and archive ran at the same time.
    let st = s.state();
    let (dump, archive) = (&st["steps"]["dump"], &st["steps"]["archive"]);
    assert!(
        time(&dump["started_at"]) < time(&archive["finished_at"])
            && time(&archive["started_at"]) < time(&dump["finished_at"]),
        "dump and archive did not overlap: {dump} {archive}"
    );
    let sums = Command::new("sha256sum")
        .args(["--check", "--strict", "--quiet", "SHA256SUMS"])
        .current_dir(s.artifacts())
        .status()
        .unwrap();
    assert!(sums.success());
    let per_file = Command::new("sha256sum")
        .args(["--check", "--strict", "--quiet"])
        .arg(s.artifacts().join("netbox_media.sha256"))
        .current_dir(&source)
        .status()
        .unwrap();
    assert!(
        per_file.success(),
        "the media sums do not check with sha256sum"
    );

    s.replicate()
        .args(["verify", "--media"])
        .run()
        .success()
        .stdout_has("6 files match");
    fs::write(target.join("unexpected.txt"), b"x").unwrap();
    fs::write(target.join("devicetype-images/model-2.png"), b"changed").unwrap();
    fs::remove_file(target.join("empty-file")).unwrap();
    let run = s.replicate().args(["verify", "--media"]).run().code(1);
    let out = run.stdout();
    assert!(
        out.contains("missing") && out.contains("empty-file"),
        "{out}"
    );
    assert!(
        out.contains("changed") && out.contains("model-2.png"),
        "{out}"
    );
    assert!(
        out.contains("unexpected") && out.contains("unexpected.txt"),
        "{out}"
    );
}

#[test]
fn a_failure_during_extract_keeps_the_old_media_folder() {
    let (s, _, target) = media_scenario();
    s.apply(&["--steps", "dump,archive"]).success();
    // Break one file's checksum, and re-seal the sums so verify passes:
    // the mismatch is found only while extracting.
    let sums_path = s.artifacts().join("netbox_media.sha256");
    let text = fs::read_to_string(&sums_path).unwrap();
    let broken = format!("{}{}", "0".repeat(64), &text[64..]);
    fs::write(&sums_path, &broken).unwrap();
    reseal(&s.artifacts(), &["netbox_media.sha256"]);
    let before = tree(&target);

    s.apply(&["--steps", "verify,create,restore,check,extract,swap"])
        .code(1)
        .stderr_has("step `extract` failed")
        .stderr_has("does not match the folder checksums")
        .stderr_has("the database netbox and the media folder were not touched");
    assert_eq!(tree(&target), before, "the old media folder changed");
    s.assert_target_untouched();
    assert_no_staging(s.dir.path());
}

#[test]
fn media_only_never_connects_to_a_database() {
    // Nothing listens on port 1: any connection attempt would fail.
    let work = manifest_folder(
        "version = 1\n[source]\ndatabase = \"postgresql://nobody@127.0.0.1:1/netbox\"\nmedia = \"source-media\"\n\
         [target]\ndatabase = \"postgresql://nobody@127.0.0.1:1/staging\"\nmedia = \"target-media\"\n\
         [include]\ndatabase = \"none\"\n[artifacts]\ncompression = \"zstd\"\n",
    );
    let source = work.path().join("source-media");
    let target = work.path().join("target-media");
    build_tree(&source, false);
    let replicate = || Replicate::new().current_dir(work.path());
    replicate()
        .args(["plan"])
        .run()
        .success()
        .stdout_has("Plan: 4 steps, 1 destructive (replace media)")
        .stdout_has("source media:");
    replicate()
        .args(["apply", "--auto-approve"])
        .run()
        .success()
        .stdout_has("Apply complete: 4 steps");
    assert_eq!(tree(&target), tree(&source));
    assert!(
        work.path()
            .join(".replicate/netbox_media.tar.zst")
            .is_file()
    );
}

#[test]
fn extracted_files_take_the_owner_of_the_folder_they_replace() {
    let is_root = unsafe { libc::geteuid() } == 0;
    let (s, _, target) = media_scenario();
    let owner = if is_root {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&target)
            .status()
            .unwrap();
        assert!(status.success());
        fs::metadata(&target).unwrap().uid()
    } else {
        // Not root: files are ours whatever the folder's owner.
        unsafe { libc::geteuid() }
    };
    s.apply(&[]).success();
    for entry in walkdir::WalkDir::new(&target) {
        let entry = entry.unwrap();
        let meta = entry.path().symlink_metadata().unwrap();
        assert_eq!(
            meta.uid(),
            owner,
            "{} has the wrong owner",
            entry.path().display()
        );
    }
}
