//! Running replicate's scripts (their text in `target_scripts.rs`) where a
//! remote target folder is: what `plan` looks at, the new content unpacked
//! and checked beside the folder, and the renames of `swap`, its undoing
//! and `rollback`. Each works on the folder (its link followed when it is
//! one) and the folders beside it, `<folder>.replicate-next` (the new
//! content), `.replicate-prev` (the previous one) and `.replicate-old` (an
//! older previous content, set aside during a swap); inside it when the
//! folder is a mount point.
//!
//! An exchange of two folders is atomic where the host's `mv` has
//! `--exchange` (GNU coreutils 9.5 and later, on a file system that can);
//! otherwise it is three renames, and the live folder is missing between
//! the second and the third.

use super::command::Reach;
use super::place::Place;
use super::run::{RemoteError, Tree, output};
use super::target_scripts::{
    CHECK, DISCARD, FINISH, LOOK, ROLL_BACK, SUMS, SWAP, SWAP_IN, UNDO, UNPACK, script,
};
use crate::io::sha256sum::{self, FileSums};

/// What lies at a remote target folder, as [`look`] finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TargetLook {
    /// The folder, its new content left by an earlier run, its previous
    /// content: each `None` when missing.
    pub folder: Option<Tree>,
    pub next: Option<Tree>,
    pub previous: Option<Tree>,
    /// Room left on the folder's file system.
    pub free_bytes: u64,
    /// The folder is a mount point: its new and previous contents are
    /// kept inside it (`<folder>/.replicate-next`).
    pub inside: bool,
}

/// How a swap went, to undo or finish it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteSwap {
    /// The folder existed: its content is now the previous one.
    pub had_content: bool,
    /// An older previous content was set aside.
    pub set_aside: bool,
}

/// Looks at a remote target folder (the tools, its parent, what is
/// there and beside it, the room left).
pub fn look(reach: &Reach, place: &Place) -> Result<TargetLook, RemoteError> {
    let out = run(reach, place, LOOK, &[])?;
    let numbers: Vec<u64> = out
        .split_whitespace()
        .map_while(|w| w.parse().ok())
        .collect();
    let [a, af, ab, n, nf, nb, p, pf, pb, free, inside] = numbers[..] else {
        return Err(RemoteError::new(
            reach,
            place,
            &[&place.path_text()],
            format!("it printed {out:?}"),
        ));
    };
    let tree = |there: u64, files, bytes| (there == 1).then_some(Tree { files, bytes });
    Ok(TargetLook {
        folder: tree(a, af, ab),
        next: tree(n, nf, nb),
        previous: tree(p, pf, pb),
        free_bytes: free.saturating_mul(1024),
        inside: inside == 1,
    })
}

/// The command that unpacks a tar stream on its standard input beside the
/// remote folder.
pub fn unpack_argv(reach: &Reach, place: &Place) -> Vec<String> {
    super::script_argv(reach, place, &script(UNPACK), &[&place.path_text()])
}

/// The command that checks the new content beside the remote folder
/// against the sums on its standard input.
pub fn check_argv(reach: &Reach, place: &Place) -> Vec<String> {
    super::script_argv(reach, place, &script(CHECK), &[&place.path_text()])
}

/// Runs `body` on the folder with `more` arguments after its path; what
/// it printed.
fn run(reach: &Reach, place: &Place, body: &str, more: &[&str]) -> Result<String, RemoteError> {
    let path = place.path_text();
    let args: Vec<&str> = [path.as_str()]
        .into_iter()
        .chain(more.iter().copied())
        .collect();
    output(reach, place, &script(body), &args).map(|out| String::from_utf8_lossy(&out).into_owned())
}

/// The SHA-256 of every file below the folder (`replicate verify
/// --media`), by path in the folder.
pub fn file_sums(reach: &Reach, place: &Place) -> Result<FileSums, RemoteError> {
    let path = place.path_text();
    let out = output(reach, place, &script(SUMS), &[&path])?;
    let listed = sha256sum::parse_files(&out)
        .map_err(|e| RemoteError::new(reach, place, &[&path], format!("sha256sum printed {e}")))?;
    // `find .` names them `./a/b`.
    Ok(listed
        .into_iter()
        .map(|(name, hash)| match name.strip_prefix(".") {
            Ok(inside) => (inside.to_path_buf(), hash),
            Err(_) => (name, hash),
        })
        .collect())
}

/// Removes the new content beside the folder.
pub fn discard(reach: &Reach, place: &Place) -> Result<(), RemoteError> {
    run(reach, place, DISCARD, &[]).map(drop)
}

/// `replace`: the new content in the folder's place, the old removed.
pub fn swap_in(reach: &Reach, place: &Place) -> Result<(), RemoteError> {
    run(reach, place, SWAP_IN, &[]).map(drop)
}

/// `swap`: the new content in the folder's place, the replaced content
/// kept beside it.
pub fn swap(reach: &Reach, place: &Place) -> Result<RemoteSwap, RemoteError> {
    let out = run(reach, place, SWAP, &[])?;
    let flags: Vec<&str> = out.split_whitespace().collect();
    match flags[..] {
        [had, aside] => Ok(RemoteSwap {
            had_content: had == "1",
            set_aside: aside == "1",
        }),
        _ => Err(RemoteError::new(
            reach,
            place,
            &[&place.path_text()],
            format!("it printed {out:?}"),
        )),
    }
}

impl RemoteSwap {
    /// Puts the previous content back, as if the swap had not happened.
    pub fn undo(&self, reach: &Reach, place: &Place) -> Result<(), RemoteError> {
        let flag = |on: bool| if on { "1" } else { "0" };
        run(
            reach,
            place,
            UNDO,
            &[flag(self.had_content), flag(self.set_aside)],
        )
        .map(drop)
    }
}

/// Removes what a swap set aside, and the previous content too unless it
/// is kept.
pub fn finish(reach: &Reach, place: &Place, keep_previous: bool) -> Result<(), RemoteError> {
    run(
        reach,
        place,
        FINISH,
        &[if keep_previous { "1" } else { "0" }],
    )
    .map(drop)
}

/// `rollback`: exchanges the folder with its previous content.
pub fn roll_back(reach: &Reach, place: &Place) -> Result<(), RemoteError> {
    run(reach, place, ROLL_BACK, &[]).map(drop)
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

    use super::*;

    /// The scripts run here by `sh`, as they would over SSH.
    fn local(folder: &Path) -> Place {
        Place::Local(folder.to_path_buf())
    }

    fn put(path: &Path, text: &str) {
        fs::create_dir_all(path).unwrap();
        fs::write(path.join("f"), text).unwrap();
    }

    fn read(path: &Path) -> String {
        fs::read_to_string(path.join("f")).unwrap()
    }

    fn beside(folder: &Path, what: &str) -> std::path::PathBuf {
        local(folder).beside(what).local().unwrap().to_path_buf()
    }

    #[test]
    fn swap_undo_finish_and_roll_back_move_the_folders_as_the_local_ones_do() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("me dia $(x)\n");
        let (reach, place) = (Reach::default(), local(&folder));
        put(&folder, "live");
        put(&beside(&folder, "prev"), "older");
        put(&beside(&folder, "next"), "new");
        let look_before = look(&reach, &place).unwrap();
        assert_eq!(look_before.folder, Some(Tree { files: 1, bytes: 4 }));
        assert_eq!(look_before.previous, Some(Tree { files: 1, bytes: 5 }));

        let done = swap(&reach, &place).unwrap();
        assert_eq!(
            done,
            RemoteSwap {
                had_content: true,
                set_aside: true
            }
        );
        assert_eq!(read(&folder), "new");
        assert_eq!(read(&beside(&folder, "prev")), "live");
        assert_eq!(read(&beside(&folder, "old")), "older");
        done.undo(&reach, &place).unwrap();
        assert_eq!(read(&folder), "live");
        assert_eq!(read(&beside(&folder, "prev")), "older");
        assert_eq!(read(&beside(&folder, "next")), "new");

        swap(&reach, &place).unwrap();
        finish(&reach, &place, true).unwrap();
        assert!(!beside(&folder, "old").exists());
        roll_back(&reach, &place).unwrap();
        assert_eq!(read(&folder), "live");
        roll_back(&reach, &place).unwrap();
        assert_eq!(read(&folder), "new");
        finish(&reach, &place, false).unwrap();
        assert!(!beside(&folder, "prev").exists());
        let err = roll_back(&reach, &place).unwrap_err();
        assert!(err.missing, "{err}");
    }

    /// A tmpfs mounted on a folder for a test, unmounted when dropped.
    struct Mounted(std::path::PathBuf);

    impl Mounted {
        fn on(folder: &Path) -> Self {
            assert!(
                crate::io::sys::is_root(),
                "this test mounts a tmpfs, as a volume is mounted: run it as root"
            );
            fs::create_dir_all(folder).unwrap();
            let done = std::process::Command::new("mount")
                .args(["-t", "tmpfs", "none"])
                .arg(folder)
                .status()
                .unwrap();
            assert!(done.success(), "mount -t tmpfs failed");
            Mounted(folder.to_path_buf())
        }
    }

    impl Drop for Mounted {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }

    #[test]
    fn a_mount_point_keeps_its_contents_inside_and_a_nested_mount_stops_the_swap() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("media");
        let _volume = Mounted::on(&folder);
        let (reach, place) = (Reach::default(), local(&folder));
        put(&folder, "live");
        put(&folder.join(".replicate-next"), "new");
        let found = look(&reach, &place).unwrap();
        assert!(found.inside, "a mount point not seen as one");
        assert_eq!(found.folder, Some(Tree { files: 1, bytes: 4 }));

        let done = swap(&reach, &place).unwrap();
        assert_eq!(read(&folder), "new");
        assert_eq!(read(&folder.join(".replicate-prev")), "live");
        assert!(!folder.join(".replicate-next").exists());
        done.undo(&reach, &place).unwrap();
        assert_eq!(read(&folder), "live");
        assert_eq!(read(&folder.join(".replicate-next")), "new");
        swap(&reach, &place).unwrap();
        roll_back(&reach, &place).unwrap();
        assert_eq!(read(&folder), "live");
        assert_eq!(read(&folder.join(".replicate-prev")), "new");

        // A mount point inside it cannot be moved: nothing moves.
        let _inner = Mounted::on(&folder.join("sub"));
        put(&folder.join(".replicate-next"), "newer");
        let err = swap(&reach, &place).unwrap_err();
        assert!(err.reason.contains("is a mount point"), "{err}");
        assert!(!err.mixed, "{err}");
        assert_eq!(read(&folder), "live");
        assert_eq!(read(&folder.join(".replicate-prev")), "new");
        assert_eq!(read(&folder.join(".replicate-next")), "newer");
    }

    #[test]
    fn a_missing_folder_is_created_and_replace_removes_the_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("media");
        let (reach, place) = (Reach::default(), local(&folder));
        assert_eq!(look(&reach, &place).unwrap().folder, None);
        put(&beside(&folder, "next"), "new");
        let done = swap(&reach, &place).unwrap();
        assert!(!done.had_content);
        assert_eq!(read(&folder), "new");
        put(&beside(&folder, "next"), "newer");
        swap_in(&reach, &place).unwrap();
        assert_eq!(read(&folder), "newer");
        assert!(!beside(&folder, "next").exists());
        let missing = look(&reach, &local(&dir.path().join("no/media"))).unwrap_err();
        assert!(missing.missing, "{missing}");
    }
}
