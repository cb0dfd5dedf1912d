//! Hostile archives (`fixtures/hostile-archives.toml`): refused, naming the
//! entry, before anything is written inside the target or beside it.

use std::fs;
use std::path::{Path, PathBuf};

use replicate::io::compression::Compression;
use replicate::io::sha256sum::FileSums;
use replicate::media::ArchiveCheck;

use super::extract_in_place;
use crate::support::artifacts::sha256_hex;
use crate::support::hostile_tar::cases;
use crate::support::media_tree::{tree, write};

/// The names in `folder`.
fn names(folder: &Path) -> Vec<std::ffi::OsString> {
    fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect()
}

#[test]
fn hostile_archives_are_refused_before_anything_is_written() {
    let cases = cases();
    assert_eq!(cases.len(), 17, "cases lost from the fixture");
    for case in cases {
        let what = &case.what;
        let work = tempfile::tempdir().unwrap();
        let archive_path = work.path().join("evil.tar");
        fs::write(&archive_path, case.archive()).unwrap();
        let target = work.path().join("media");
        write(&target.join("kept.png"), b"kept", 0o644, 1);
        let before_inside = tree(&target);
        let before_outside = names(work.path());
        let sums: FileSums = FileSums::from([(PathBuf::from("good.txt"), sha256_hex(b"fine"))]);

        let error = extract_in_place(
            &archive_path,
            Compression::None,
            &ArchiveCheck::VerifiedUnchanged,
            &sums,
            &target,
        )
        .expect_err(what)
        .to_string();
        assert!(error.contains(&case.refused), "{what}: {error}");
        assert!(
            error.contains(&format!("`{}`", case.culprit())),
            "{what}: the entry is not named: {error}"
        );
        assert_eq!(tree(&target), before_inside, "{what}: the target changed");
        assert_eq!(
            names(work.path()),
            before_outside,
            "{what}: something was written beside the target"
        );
        assert!(!Path::new("/tmp/replicate-evil").exists());
    }
}
