//! The scripts and reports folders beside media: each arrives byte for
//! byte under both strategies, rolls back, and a hostile archive of one
//! touches none of them.

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::artifacts::{reseal, sha256_hex};
use crate::support::hostile_tar::hostile;
use crate::support::media_tree::{tree, write};
use crate::support::{Replicate, assert_no_staging};

/// A folder of `files` under `root`.
fn folder(root: &Path, files: &[(&str, &[u8])]) {
    for (path, bytes) in files {
        write(&root.join(path), bytes, 0o644, 1_700_000_000);
    }
}

/// A media-only manifest copying media, scripts and reports, with
/// stale files in each target folder.
fn three_folders(work: &Path, strategy: &str) -> Vec<(PathBuf, PathBuf)> {
    let mut pairs = Vec::new();
    for name in ["media", "scripts", "reports"] {
        let (from, to) = (
            work.join(format!("src-{name}")),
            work.join(format!("dst-{name}")),
        );
        folder(
            &from,
            &[
                (&format!("{name}-one.py"), b"one\n"),
                ("nested/two.py", b"two\n"),
                ("__init__.py", b""),
            ],
        );
        folder(&to, &[("stale.py", b"old"), ("nested/two.py", b"old two")]);
        pairs.push((from, to));
    }
    fs::write(
        work.join("replicate.toml"),
        format!(
            "version = 1\n[source]\ndatabase = \"postgresql://nobody@127.0.0.1:1/netbox\"\n\
             media = \"src-media\"\nscripts = \"src-scripts\"\nreports = \"src-reports\"\n\
             [target]\ndatabase = \"postgresql://nobody@127.0.0.1:1/staging\"\n\
             media = \"dst-media\"\nscripts = \"dst-scripts\"\nreports = \"dst-reports\"\n\
             strategy = \"{strategy}\"\n[include]\ndatabase = \"none\"\n"
        ),
    )
    .unwrap();
    pairs
}

#[test]
fn scripts_and_reports_arrive_byte_for_byte_under_both_strategies() {
    for (strategy, steps) in [("swap", 4), ("replace", 3)] {
        let work = tempfile::tempdir().unwrap();
        let pairs = three_folders(work.path(), strategy);
        let replicate = || Replicate::new().current_dir(work.path());
        replicate()
            .args(["plan"])
            .run()
            .success()
            .stdout_has("source scripts:")
            .stdout_has("replace media, scripts and reports");
        replicate()
            .args(["apply", "--auto-approve"])
            .run()
            .success()
            .stdout_has(&format!("Apply complete: {steps} steps"));
        for (from, to) in &pairs {
            assert_eq!(tree(to), tree(from), "{strategy}: {}", to.display());
            assert!(
                !to.join("stale.py").exists(),
                "{strategy}: a stale file survived"
            );
        }
        for name in ["media", "scripts", "reports"] {
            let artifacts = work.path().join(".replicate");
            assert!(artifacts.join(format!("netbox_{name}.tar")).is_file());
            assert!(artifacts.join(format!("netbox_{name}.sha256")).is_file());
        }
        replicate()
            .args(["verify", "--folders"])
            .run()
            .success()
            .stdout_has("dst-reports (3 files match)");
        fs::write(pairs[1].1.join("added.py"), b"x").unwrap();
        let run = replicate().args(["verify", "--media"]).run().code(1);
        assert!(run.stdout().contains("unexpected") && run.stdout().contains("added.py"));
        if strategy == "swap" {
            // The previous content of every folder is kept, and
            // rollback puts it back.
            replicate()
                .args(["rollback", "--auto-approve"])
                .run()
                .success();
            for (_, to) in &pairs {
                assert!(
                    to.join("stale.py").is_file(),
                    "{} not rolled back",
                    to.display()
                );
            }
        }
        assert_no_staging(work.path());
    }
}

#[test]
fn a_hostile_scripts_archive_is_refused_and_touches_no_folder() {
    for strategy in ["swap", "replace"] {
        let work = tempfile::tempdir().unwrap();
        let pairs = three_folders(work.path(), strategy);
        let replicate = || Replicate::new().current_dir(work.path());
        replicate()
            .args(["apply", "--auto-approve", "--steps", "archive"])
            .run()
            .success();
        // A scripts archive with a link out of the folder, sealed into
        // SHA256SUMS as if it had been produced so.
        let artifacts = work.path().join(".replicate");
        let evil = hostile(&[(b"escape", b'2', b"../../outside")]);
        fs::write(artifacts.join("netbox_scripts.tar"), &evil).unwrap();
        fs::write(
            artifacts.join("netbox_scripts.sha256"),
            format!("{}  good.txt\n", sha256_hex(b"fine")),
        )
        .unwrap();
        reseal(&artifacts, &["netbox_scripts.tar", "netbox_scripts.sha256"]);
        let before: Vec<_> = pairs.iter().map(|(_, to)| tree(to)).collect();
        replicate()
            .args(["apply", "--auto-approve", "--steps", "verify,extract"])
            .run()
            .code(1)
            .stderr_has("step `extract` failed")
            .stderr_has("extracting the scripts folder failed")
            .stderr_has("outside the folder")
            .stderr_has("were not touched");
        let after: Vec<_> = pairs.iter().map(|(_, to)| tree(to)).collect();
        assert_eq!(after, before, "{strategy}: a target folder changed");
        assert!(!work.path().join("outside").exists());
        assert_no_staging(work.path());
    }
}
