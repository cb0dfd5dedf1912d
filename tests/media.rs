//! Media: the archive round trip, determinism, GNU tar compatibility,
//! hostile archives, and `apply` with a media folder.

use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use replicate::io::compression::Compression;
use replicate::io::hashing::HashingWriter;
use replicate::io::sha256sum::FileSums;
use replicate::media::{ArchiveCheck, Placement, archive, extract};

use crate::support::media_tree::{build_tree, tree, write};

/// Archives `from` into `dir/media.tar{suffix}`; returns its path, hash and sums.
fn pack(from: &Path, dir: &Path, compression: Compression) -> (PathBuf, String, FileSums) {
    let path = dir.join(format!("media.tar{}", compression.suffix()));
    let file = fs::File::create(&path).unwrap();
    let hashing = HashingWriter::new(std::io::BufWriter::new(file));
    let (report, hashing) = match compression {
        Compression::None => {
            let mut w = hashing;
            let r = archive(from, &mut w).unwrap();
            (r, w)
        }
        Compression::Gzip => {
            let mut w = flate2::write::GzEncoder::new(hashing, flate2::Compression::fast());
            let r = archive(from, &mut w).unwrap();
            (r, w.finish().unwrap())
        }
        Compression::Zstd => {
            let mut w = zstd::stream::write::Encoder::new(hashing, 3).unwrap();
            let r = archive(from, &mut w).unwrap();
            (r, w.finish().unwrap())
        }
    };
    let (mut inner, sha, _) = hashing.finish();
    inner.flush().unwrap();
    (path, sha, report.file_sums)
}

#[test]
fn round_trip_keeps_content_modes_and_links_and_gnu_tar_agrees() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("source");
    build_tree(&source, true);
    let expected = tree(&source);
    assert!(expected.len() >= 15, "{expected:?}");
    for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
        let (archive_path, sha, sums) = pack(&source, work.path(), compression);
        assert_eq!(sums.len(), 7, "{sums:?}");

        // replicate's extract, into a target with stale content.
        let target = work.path().join(format!("target-{compression}"));
        write(&target.join("stale/old.png"), b"old", 0o644, 1);
        let report = extract(
            &archive_path,
            compression,
            &ArchiveCheck::Hash(sha.clone()),
            &sums,
            &target,
            Placement::SwapIn,
        )
        .unwrap();
        assert_eq!(report.files, 7);
        assert_eq!(
            tree(&target),
            expected,
            "{compression}: replicate's extract differs"
        );
        assert!(!target.join("stale").exists());

        // GNU tar reads the same archive into the same tree.
        let by_tar = work.path().join(format!("tar-{compression}"));
        fs::create_dir(&by_tar).unwrap();
        let flag = match compression {
            Compression::None => "-xpf",
            Compression::Gzip => "-xzpf",
            Compression::Zstd => "--zstd",
        };
        let mut tar = Command::new("tar");
        tar.arg(flag);
        if compression == Compression::Zstd {
            tar.arg("-xpf");
        }
        let status = tar
            .arg(&archive_path)
            .arg("-C")
            .arg(&by_tar)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "GNU tar failed on the {compression} archive"
        );
        assert_eq!(
            tree(&by_tar),
            expected,
            "{compression}: GNU tar's extract differs"
        );
        fs::remove_file(&archive_path).unwrap();
    }
}

#[test]
fn the_same_tree_gives_the_same_bytes() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("source");
    build_tree(&source, false);
    for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
        let first = work.path().join("first");
        let second = work.path().join("second");
        fs::create_dir_all(&first).unwrap();
        fs::create_dir_all(&second).unwrap();
        let (a, sha_a, _) = pack(&source, &first, compression);
        let (b, sha_b, _) = pack(&source, &second, compression);
        assert_eq!(fs::read(a).unwrap(), fs::read(b).unwrap(), "{compression}");
        assert_eq!(sha_a, sha_b);
    }
}

/// A tar entry built by hand, so that it can be anything an attacker wants.
fn raw_entry(out: &mut Vec<u8>, name: &[u8], kind: u8, link: &[u8], data: &[u8]) {
    let mut header = tar::Header::new_gnu();
    {
        let bytes = header.as_mut_bytes();
        bytes[..name.len()].copy_from_slice(name);
        bytes[157..157 + link.len()].copy_from_slice(link);
        bytes[156] = kind;
    }
    header.set_mode(0o644);
    header.set_size(data.len() as u64);
    header.set_mtime(1_700_000_000);
    header.set_cksum();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

/// A name, a tar type byte and a link target.
type RawEntry = (&'static [u8], u8, &'static [u8]);

fn hostile(entries: &[RawEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    raw_entry(&mut out, b"good.txt", b'0', b"", b"fine");
    for (name, kind, link) in entries {
        raw_entry(
            &mut out,
            name,
            *kind,
            link,
            if *kind == b'0' { b"evil" } else { b"" },
        );
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

#[test]
fn hostile_archives_are_refused_before_anything_is_written() {
    let cases: Vec<(&str, Vec<RawEntry>, &str)> = vec![
        (
            "absolute path",
            vec![(b"/tmp/replicate-evil", b'0', b"")],
            "is an absolute path",
        ),
        (
            "dot-dot",
            vec![(b"a/../../escaped", b'0', b"")],
            "has a `..` component",
        ),
        (
            "link outside",
            vec![(b"escape", b'2', b"../../outside")],
            "outside the folder",
        ),
        (
            "absolute link",
            vec![(b"etc", b'2', b"/etc")],
            "outside the folder",
        ),
        (
            "hard link",
            vec![(b"hard", b'1', b"good.txt")],
            "is a hard link",
        ),
        (
            "character device",
            vec![(b"null", b'3', b"")],
            "is a device",
        ),
        ("block device", vec![(b"disk", b'4', b"")], "is a device"),
        ("fifo", vec![(b"pipe", b'6', b"")], "is a named pipe"),
        (
            "collision",
            vec![(b"./good.txt", b'0', b"")],
            "collides with another entry",
        ),
        (
            "collision by slashes",
            vec![(b"d/x", b'0', b""), (b"d//x", b'0', b"")],
            "collides",
        ),
        (
            "file beneath a link",
            vec![(b"l", b'2', b"d"), (b"l/x", b'0', b"")],
            "lies beneath the link",
        ),
        (
            "link out through another link",
            vec![(b"l2", b'2', b"."), (b"l1", b'2', b"l2/..")],
            "leads outside the folder through the link `l2`",
        ),
        (
            "chain of links, the last one out",
            vec![
                (b"a", b'2', b"."),
                (b"b", b'2', b"a"),
                (b"c", b'2', b"b/a/.."),
            ],
            "leads outside the folder",
        ),
        (
            "link out through a linked folder",
            vec![
                (b"sub/", b'5', b""),
                (b"sub/up", b'2', b".."),
                (b"sub/out", b'2', b"up/.."),
            ],
            "leads outside the folder",
        ),
        (
            "link to a link declared later",
            vec![(b"later", b'2', b"."), (b"first", b'2', b"later/..")],
            "leads outside the folder",
        ),
        (
            "loop of two links",
            vec![(b"pong", b'2', b"ping"), (b"ping", b'2', b"pong")],
            "loop of links",
        ),
        (
            "link to itself",
            vec![(b"self", b'2', b"self/x")],
            "loop of links",
        ),
    ];
    for (what, entries, reason) in cases {
        let work = tempfile::tempdir().unwrap();
        let archive_path = work.path().join("evil.tar");
        fs::write(&archive_path, hostile(&entries)).unwrap();
        let target = work.path().join("media");
        write(&target.join("kept.png"), b"kept", 0o644, 1);
        let before_inside = tree(&target);
        let before_outside: Vec<_> = fs::read_dir(work.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        let sums: FileSums =
            FileSums::from([(PathBuf::from("good.txt"), hash_file_bytes(b"fine"))]);

        let error = extract(
            &archive_path,
            Compression::None,
            &ArchiveCheck::VerifiedUnchanged,
            &sums,
            &target,
            Placement::SwapIn,
        )
        .expect_err(what)
        .to_string();
        assert!(error.contains(reason), "{what}: {error}");
        let name = String::from_utf8_lossy(entries.last().unwrap().0).into_owned();
        assert!(
            error.contains(&format!("`{name}`")),
            "{what}: the entry is not named: {error}"
        );
        assert_eq!(tree(&target), before_inside, "{what}: the target changed");
        let after_outside: Vec<_> = fs::read_dir(work.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            after_outside, before_outside,
            "{what}: something was written beside the target"
        );
        assert!(!Path::new("/tmp/replicate-evil").exists());
    }
}

fn hash_file_bytes(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[test]
fn a_file_that_does_not_match_its_checksum_leaves_the_old_folder() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("source");
    build_tree(&source, false);
    let (archive_path, sha, mut sums) = pack(&source, work.path(), Compression::None);
    let (_, wrong) = sums.iter_mut().next().unwrap();
    *wrong = "0".repeat(64);
    let target = work.path().join("media");
    write(&target.join("kept.png"), b"kept", 0o644, 1);
    let before = tree(&target);
    let error = extract(
        &archive_path,
        Compression::None,
        &ArchiveCheck::Hash(sha.clone()),
        &sums,
        &target,
        Placement::SwapIn,
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("does not match the folder checksums"),
        "{error}"
    );
    assert_eq!(tree(&target), before);
    let leftovers: Vec<_> = fs::read_dir(work.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        3,
        "staging folder left behind: {leftovers:?}"
    );

    // A changed archive is refused before anything is written.
    let error = extract(
        &archive_path,
        Compression::None,
        &ArchiveCheck::Hash("f".repeat(64)),
        &sums,
        &target,
        Placement::SwapIn,
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("does not match SHA256SUMS"),
        "{error}"
    );
    assert_eq!(tree(&target), before);
}

mod with_apply {
    use super::*;
    use crate::support::Replicate;
    use crate::support::scenario::Scenario;

    fn media_scenario() -> (Scenario, PathBuf, PathBuf) {
        let s = Scenario::new("directory", "");
        let (source, target) = s.add_media(0);
        (s, source, target)
    }

    fn state(s: &Scenario) -> serde_json::Value {
        serde_json::from_str(&fs::read_to_string(s.artifacts().join("state.json")).unwrap())
            .unwrap()
    }

    fn time(v: &serde_json::Value) -> std::time::SystemTime {
        humantime::parse_rfc3339(v.as_str().unwrap()).unwrap()
    }

    #[test]
    fn apply_replaces_the_media_folder_and_overlaps_dump_with_archive() {
        let (s, source, target) = media_scenario();
        let run = s.apply(&[]).success();
        assert!(
            run.stdout().contains("Apply complete: 8 steps"),
            "{}",
            run.stdout()
        );
        assert_eq!(tree(&target), tree(&source));
        assert!(!target.join("stale").exists(), "a stale file survived");
        s.assert_replica_matches();
        // The replaced folder is kept beside it for `rollback`.
        let previous = target.with_file_name("target-media.replicate-prev");
        assert!(previous.join("stale/removed-upstream.png").is_file());
        crate::support::assert_no_staging(s.dir.path());

        // dump and archive ran at the same time.
        let st = state(&s);
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
        let all = s.artifacts().join("SHA256SUMS");
        let sealed: String = fs::read_to_string(&all)
            .unwrap()
            .lines()
            .map(|l| {
                if l.ends_with("  netbox_media.sha256") {
                    format!(
                        "{}  netbox_media.sha256\n",
                        hash_file_bytes(broken.as_bytes())
                    )
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        fs::write(&all, sealed).unwrap();
        let before = tree(&target);

        let run = s
            .apply(&["--steps", "verify,create,restore,check,extract,swap"])
            .code(1);
        let stderr = run.stderr_flat();
        assert!(stderr.contains("step `extract` failed"), "{stderr}");
        assert!(
            stderr.contains("does not match the folder checksums"),
            "{stderr}"
        );
        assert!(
            stderr.contains("the database netbox and the media folder were not touched"),
            "{stderr}"
        );
        assert_eq!(tree(&target), before, "the old media folder changed");
        s.assert_target_untouched();
        crate::support::assert_no_staging(s.dir.path());
    }

    #[test]
    fn media_only_never_connects_to_a_database() {
        let work = tempfile::tempdir().unwrap();
        let source = work.path().join("source-media");
        let target = work.path().join("target-media");
        build_tree(&source, false);
        // Nothing listens on port 1: any connection attempt would fail.
        fs::write(
            work.path().join("replicate.toml"),
            "version = 1\n[source]\ndatabase = \"postgresql://nobody@127.0.0.1:1/netbox\"\nmedia = \"source-media\"\n\
             [target]\ndatabase = \"postgresql://nobody@127.0.0.1:1/staging\"\nmedia = \"target-media\"\n\
             [include]\ndatabase = \"none\"\n[artifacts]\ncompression = \"zstd\"\n",
        )
        .unwrap();
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
            crate::support::assert_no_staging(work.path());
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
                format!("{}  good.txt\n", hash_file_bytes(b"fine")),
            )
            .unwrap();
            let sums_text = fs::read_to_string(artifacts.join("netbox_scripts.sha256")).unwrap();
            let sealed: String = fs::read_to_string(artifacts.join("SHA256SUMS"))
                .unwrap()
                .lines()
                .map(|l| {
                    if l.ends_with("  netbox_scripts.tar") {
                        format!("{}  netbox_scripts.tar\n", hash_file_bytes(&evil))
                    } else if l.ends_with("  netbox_scripts.sha256") {
                        format!(
                            "{}  netbox_scripts.sha256\n",
                            hash_file_bytes(sums_text.as_bytes())
                        )
                    } else {
                        format!("{l}\n")
                    }
                })
                .collect();
            fs::write(artifacts.join("SHA256SUMS"), sealed).unwrap();
            let before: Vec<_> = pairs.iter().map(|(_, to)| tree(to)).collect();
            let run = replicate()
                .args(["apply", "--auto-approve", "--steps", "verify,extract"])
                .run()
                .code(1);
            let stderr = run.stderr_flat();
            assert!(stderr.contains("step `extract` failed"), "{stderr}");
            assert!(
                stderr.contains("extracting the scripts folder failed"),
                "{stderr}"
            );
            assert!(stderr.contains("outside the folder"), "{stderr}");
            assert!(stderr.contains("were not touched"), "{stderr}");
            let after: Vec<_> = pairs.iter().map(|(_, to)| tree(to)).collect();
            assert_eq!(after, before, "{strategy}: a target folder changed");
            assert!(!work.path().join("outside").exists());
            crate::support::assert_no_staging(work.path());
        }
    }
}
