//! Putting a new folder in the place of an old one at once: one atomic
//! exchange (`renameat2(RENAME_EXCHANGE)`) where the file system can, three
//! renames where it cannot. Beside a target folder live its new content
//! (`<folder>.replicate-next`), its previous content (`.replicate-prev`),
//! and for a moment an older previous content set aside (`.replicate-old`).

use std::fs;
use std::path::{Path, PathBuf};

use super::error::{MediaError, io_at};
use crate::io::files::remove_any;
use crate::io::sys::{self, errno};

/// Exchanges the folders (or files) `a` and `b`.
pub fn exchange(a: &Path, b: &Path) -> Result<(), MediaError> {
    match sys::exchange(a, b) {
        Ok(()) => Ok(()),
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(errno::INVALID) | Some(errno::NOT_SUPPORTED)
            ) =>
        {
            // No atomic exchange on this file system: three renames.
            let aside = companion(a, "exchange");
            remove_any(&aside).map_err(io_at(&aside))?;
            fs::rename(a, &aside).map_err(io_at(a))?;
            if let Err(e) = fs::rename(b, a) {
                let _ = fs::rename(&aside, a);
                return Err(io_at(b)(e));
            }
            if let Err(e) = fs::rename(&aside, b) {
                // Back as they were: `b` to its place, `a` from aside.
                let _ = fs::rename(a, b).and_then(|()| fs::rename(&aside, a));
                return Err(io_at(b)(e));
            }
            Ok(())
        }
        Err(e) => Err(io_at(b)(e)),
    }
}

/// Puts `staging` in the place of `into`; the old content is removed.
pub fn swap_in(staging: &Path, into: &Path) -> Result<(), MediaError> {
    if fs::symlink_metadata(into).is_err() {
        return fs::rename(staging, into).map_err(io_at(into));
    }
    exchange(staging, into)?;
    remove_any(staging).map_err(io_at(staging))
}

/// The folder beside `folder` named `<folder>.replicate-<what>` (`next`,
/// `prev`): on the same file system, so it can be exchanged with it.
pub fn companion(folder: &Path, what: &str) -> PathBuf {
    let mut name = folder
        .file_name()
        .map_or_else(|| std::ffi::OsString::from("folder"), ToOwned::to_owned);
    name.push(format!(".replicate-{what}"));
    folder.with_file_name(name)
}

/// The folder `folder` names: when it is a symbolic link to a folder, the
/// folder it points to (that is what is replaced, and the link kept).
pub fn real_folder(folder: &Path) -> PathBuf {
    fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf())
}

/// A folder swapped by [`swap_folder`], until it is finished or undone.
#[derive(Debug, Clone)]
pub struct SwappedFolder {
    folder: PathBuf,
    /// Whether the target folder existed (its content is now previous).
    had_content: bool,
    /// Whether an older previous content was set aside.
    set_aside: bool,
}

fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// Puts `<folder>.replicate-next` in the place of `folder`; the replaced
/// content becomes `<folder>.replicate-prev`, and an older previous
/// content is set aside until [`SwappedFolder::finish`].
pub fn swap_folder(folder: &Path) -> Result<SwappedFolder, MediaError> {
    let folder = real_folder(folder);
    let (next, prev, old) = (
        companion(&folder, "next"),
        companion(&folder, "prev"),
        companion(&folder, "old"),
    );
    if !next.is_dir() {
        return Err(MediaError::NotAFolder(next));
    }
    let set_aside = exists(&prev);
    if set_aside {
        remove_any(&old).map_err(io_at(&old))?;
        fs::rename(&prev, &old).map_err(io_at(&prev))?;
    }
    let had_content = exists(&folder);
    let swapped = if had_content {
        exchange(&next, &folder).and_then(|()| {
            fs::rename(&next, &prev).map_err(|e| {
                // The exchange undone: the live content back in place.
                let _ = exchange(&next, &folder);
                io_at(&next)(e)
            })
        })
    } else {
        fs::rename(&next, &folder).map_err(io_at(&folder))
    };
    let done = SwappedFolder {
        folder,
        had_content,
        set_aside,
    };
    if let Err(e) = swapped {
        // Back to how it was: the older previous content too.
        if set_aside {
            let _ = fs::rename(&old, &prev);
        }
        return Err(e);
    }
    Ok(done)
}

impl SwappedFolder {
    /// Puts the previous content back, as if the swap had not happened.
    pub fn undo(&self) -> Result<(), MediaError> {
        let (next, prev, old) = (
            companion(&self.folder, "next"),
            companion(&self.folder, "prev"),
            companion(&self.folder, "old"),
        );
        if self.had_content {
            fs::rename(&prev, &next).map_err(io_at(&prev))?;
            exchange(&next, &self.folder)?;
        } else {
            fs::rename(&self.folder, &next).map_err(io_at(&self.folder))?;
        }
        if self.set_aside {
            fs::rename(&old, &prev).map_err(io_at(&old))?;
        }
        Ok(())
    }

    /// Removes what was set aside, and the previous content too unless it
    /// is kept for `rollback`.
    pub fn finish(&self, keep_previous: bool) -> Result<(), MediaError> {
        let old = companion(&self.folder, "old");
        remove_any(&old).map_err(io_at(&old))?;
        if !keep_previous {
            let prev = companion(&self.folder, "prev");
            remove_any(&prev).map_err(io_at(&prev))?;
        }
        Ok(())
    }
}

/// Exchanges `folder` with `<folder>.replicate-prev` (`rollback`; a second
/// one undoes the first).
pub fn roll_back_folder(folder: &Path) -> Result<(), MediaError> {
    let folder = real_folder(folder);
    let prev = companion(&folder, "prev");
    if !prev.is_dir() {
        return Err(MediaError::NotAFolder(prev));
    }
    if exists(&folder) {
        exchange(&prev, &folder)
    } else {
        fs::rename(&prev, &folder).map_err(io_at(&folder))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::scratch;

    fn put(path: &Path, text: &str) {
        fs::create_dir_all(path).unwrap();
        fs::write(path.join("f"), text).unwrap();
    }

    fn read(path: &Path) -> String {
        fs::read_to_string(path.join("f")).unwrap()
    }

    #[test]
    fn swap_keeps_the_previous_and_undo_restores_it() {
        let (_dir, folder) = scratch::path("media");
        put(&folder, "live");
        put(&companion(&folder, "prev"), "older");
        put(&companion(&folder, "next"), "new");
        let done = swap_folder(&folder).unwrap();
        assert_eq!(read(&folder), "new");
        assert_eq!(read(&companion(&folder, "prev")), "live");
        assert_eq!(read(&companion(&folder, "old")), "older");
        done.undo().unwrap();
        assert_eq!(read(&folder), "live");
        assert_eq!(read(&companion(&folder, "prev")), "older");
        assert_eq!(read(&companion(&folder, "next")), "new");

        let done = swap_folder(&folder).unwrap();
        done.finish(true).unwrap();
        assert!(!companion(&folder, "old").exists());
        assert_eq!(read(&companion(&folder, "prev")), "live");
        roll_back_folder(&folder).unwrap();
        assert_eq!(read(&folder), "live");
        roll_back_folder(&folder).unwrap();
        assert_eq!(read(&folder), "new");
    }

    #[test]
    fn a_missing_target_folder_is_created_and_previous_can_go() {
        let (_dir, folder) = scratch::path("media");
        put(&companion(&folder, "next"), "new");
        let done = swap_folder(&folder).unwrap();
        assert_eq!(read(&folder), "new");
        done.finish(false).unwrap();
        assert!(!companion(&folder, "prev").exists());
        assert!(swap_folder(&folder).is_err(), "no next folder");
        assert_eq!(read(&folder), "new");
    }
}
