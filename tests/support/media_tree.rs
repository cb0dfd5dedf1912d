//! Folders of files for the media tests: a NetBox-like tree with every
//! awkward case, and a way to compare two trees.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use replicate::io::hashing::hash_file;

pub const LONG: usize = 200;

pub fn write(path: &Path, bytes: &[u8], mode: u32, mtime: i64) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    let t = filetime::FileTime::from_unix_time(mtime, 0);
    filetime::set_file_times(path, t, t).unwrap();
}

/// Deterministic bytes that do not compress (like real images).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A NetBox-like media tree with every awkward case.
pub fn build_tree(root: &Path, big: bool) {
    write(
        &root.join("devicetype-images/model-1.png"),
        &noise(10_000, 1),
        0o644,
        1_700_000_000,
    );
    write(
        &root.join("devicetype-images/model-2.png"),
        &noise(20_000, 2),
        0o600,
        1_700_000_100,
    );
    write(
        &root.join("image-attachments/ünïcødé-名前.jpg"),
        &noise(3_000, 3),
        0o644,
        1_700_000_200,
    );
    let long = format!("{}.png", "l".repeat(LONG - 4));
    write(
        &root.join("image-attachments").join(&long),
        &noise(500, 4),
        0o644,
        1_700_000_300,
    );
    write(
        &root.join("scripts/nested/deeper/report.py"),
        b"print('hi')\n",
        0o755,
        1_700_000_400,
    );
    write(&root.join("empty-file"), b"", 0o644, 1_700_000_500);
    fs::create_dir_all(root.join("empty-folder")).unwrap();
    fs::set_permissions(root.join("scripts"), fs::Permissions::from_mode(0o750)).unwrap();
    symlink("devicetype-images/model-1.png", root.join("latest.png")).unwrap();
    symlink(
        "../../image-attachments",
        root.join("scripts/nested/attachments"),
    )
    .unwrap();
    if big {
        write(
            &root.join("large/firmware.bin"),
            &noise(64 * 1024 * 1024 + 12_345, 5),
            0o644,
            1_700_000_600,
        );
    }
    for dir in [
        "empty-folder",
        "scripts/nested/deeper",
        "scripts/nested",
        "scripts",
        "devicetype-images",
        "image-attachments",
        "large",
    ] {
        let t = filetime::FileTime::from_unix_time(1_690_000_000, 0);
        let _ = filetime::set_file_times(root.join(dir), t, t);
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Node {
    Folder {
        mode: u32,
        mtime: i64,
    },
    File {
        mode: u32,
        mtime: i64,
        sha256: String,
    },
    Link {
        target: PathBuf,
    },
}

/// Everything below `root` that must survive a round trip.
pub fn tree(root: &Path) -> BTreeMap<PathBuf, Node> {
    walkdir::WalkDir::new(root)
        .min_depth(1)
        .into_iter()
        .map(|e| e.unwrap())
        .map(|e| {
            let meta = e.path().symlink_metadata().unwrap();
            let rel = e.path().strip_prefix(root).unwrap().to_path_buf();
            let node = if meta.file_type().is_symlink() {
                Node::Link {
                    target: fs::read_link(e.path()).unwrap(),
                }
            } else if meta.is_dir() {
                Node::Folder {
                    mode: meta.mode() & 0o7777,
                    mtime: meta.mtime(),
                }
            } else {
                Node::File {
                    mode: meta.mode() & 0o7777,
                    mtime: meta.mtime(),
                    sha256: hash_file(e.path()).unwrap().0,
                }
            };
            (rel, node)
        })
        .collect()
}

/// The files below `root` and their bytes, in name order: what a reader
/// of the folder gets, leaving modes and times aside.
pub fn contents(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path().strip_prefix(root).unwrap().to_path_buf(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// A NetBox-like tree at `root` with files whose names carry shell syntax
/// that would create `marker`; and a target folder beside `root`'s parent
/// holding a stale file. Returns the target.
pub fn hostile_tree(root: &Path, marker: &Path) -> PathBuf {
    hostile_names(root, marker);
    let target = marker.with_file_name("target media");
    write(&target.join("stale.txt"), b"old", 0o644, 1);
    target
}

/// A NetBox-like tree at `root` with files whose names carry shell syntax
/// that would create `marker`.
pub fn hostile_names(root: &Path, marker: &Path) {
    let m = marker.display();
    build_tree(root, false);
    for name in [
        format!("$(touch {m}).png"),
        format!("`touch {m}`; it's.txt"),
        "a\nnew line.txt".to_owned(),
    ] {
        write(&root.join(&name), name.as_bytes(), 0o644, 1_700_000_500);
    }
}

/// What `apply --auto-approve`, run now in the manifest folder `dir`, must
/// give for the remote folder whose content is `source`: the target the
/// same tree (nothing stale), `marker` never made, and the archive the
/// bytes replicate writes for the same folder on this machine.
#[track_caller]
pub fn assert_applied_as_here(dir: &Path, source: &Path, target: &Path, marker: &Path) {
    super::Replicate::new()
        .current_dir(dir)
        .args(["apply", "--auto-approve"])
        .run()
        .success();
    assert_eq!(tree(target), tree(source), "the copy differs");
    assert!(!marker.exists(), "a name ran as a command");
    let mut own = Vec::new();
    replicate::media::archive(source, &mut own).unwrap();
    let archived = fs::read(dir.join(".replicate/netbox_media.tar")).unwrap();
    assert!(archived == own, "the archive differs from this machine's");
}

/// `len` bytes that do not repeat, differing with `seed`.
pub fn unique_bytes(len: u32, seed: u32) -> Vec<u8> {
    (0..len)
        .map(|b| (b.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 24) as u8)
        .collect()
}

/// [`build_tree`] at `root` with `count` more files of 8 MiB in `big/`:
/// enough that a step copying it is still running when a test stops it.
pub fn big_tree(root: &Path, count: u32) {
    build_tree(root, false);
    for i in 0..count {
        write(
            &root.join(format!("big/{i}.bin")),
            &unique_bytes(8 << 20, i),
            0o644,
            1,
        );
    }
}

/// A target folder `target` in `work` holding one file, and its tree.
pub fn kept_target(work: &Path) -> (PathBuf, BTreeMap<PathBuf, Node>) {
    let target = work.join("target");
    write(&target.join("kept.txt"), b"kept", 0o644, 1);
    let before = tree(&target);
    (target, before)
}

/// A folder in `work` whose own name carries shell syntax that would
/// create `marker`.
pub fn hostile_path(work: &Path, marker: &Path) -> PathBuf {
    let m = marker.display();
    work.join(format!(
        "it's a \"folder\" $(touch {m}) `touch {m}`; touch {m}\nnext"
    ))
}
