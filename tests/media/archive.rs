//! The media archive on its own: the round trip, determinism, GNU tar
//! reading what replicate writes, and a file that does not match its sum.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use replicate::io::compression::Compression;
use replicate::io::hashing::HashingWriter;
use replicate::io::sha256sum::FileSums;
use replicate::media::{ArchiveCheck, archive};

use super::extract_in_place;
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
        let report = extract_in_place(
            &archive_path,
            compression,
            &ArchiveCheck::Hash(sha.clone()),
            &sums,
            &target,
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
    let error = extract_in_place(
        &archive_path,
        Compression::None,
        &ArchiveCheck::Hash(sha.clone()),
        &sums,
        &target,
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
    let error = extract_in_place(
        &archive_path,
        Compression::None,
        &ArchiveCheck::Hash("f".repeat(64)),
        &sums,
        &target,
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("does not match SHA256SUMS"),
        "{error}"
    );
    assert_eq!(tree(&target), before);
}
