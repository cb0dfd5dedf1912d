//! A folder packed elsewhere (by `tar` on a host or in a container, names
//! sorted) rewritten as replicate's own archive: the same bytes that
//! [`super::archive`] writes for the same tree, every file hashed as it
//! passes.

use std::cmp::Ordering;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use tar::EntryType;

use super::archive::{
    ArchiveReport, CHUNK, append_folder, append_link, copy_content, stable_header_of,
};
use super::entries::safe_relative;
use super::error::MediaError;

/// Reads the tar stream `input` (entries relative to the folder, `./` or
/// not, in the order a sorted walk gives) and writes replicate's archive
/// of the same tree into `out`. `place` names the folder in errors.
pub fn repack(input: impl Read, out: impl Write, place: &str) -> Result<ArchiveReport, MediaError> {
    let at = |path: &Path| PathBuf::from(format!("{place}/{}", path.display()));
    let failed = |path: &Path| {
        let path = at(path);
        move |source: io::Error| MediaError::Io { path, source }
    };
    let mut archive = tar::Archive::new(input);
    let mut builder = tar::Builder::new(out);
    let mut report = ArchiveReport::default();
    let mut buf = vec![0u8; CHUNK];
    let mut previous: Option<PathBuf> = None;
    // GNU tar names the folder itself first (`./`): a stream without it
    // (empty, or not the planned command's) is refused, not taken for an
    // empty folder.
    let mut saw_folder = false;
    let entries = archive.entries().map_err(failed(Path::new("")))?;
    for entry in entries {
        super::error::check_interrupt()?;
        let mut entry = entry.map_err(failed(Path::new("")))?;
        let raw = entry.path().map_err(failed(Path::new("")))?.into_owned();
        let unsafe_entry = |reason: &str| MediaError::Unsafe {
            entry: raw.display().to_string(),
            reason: reason.to_owned(),
        };
        let Some(rel) = safe_relative(&raw).map_err(unsafe_entry)? else {
            saw_folder = entry.header().entry_type() == EntryType::Directory;
            continue;
        };
        if !saw_folder {
            return Err(unsafe_entry(
                "comes before the folder itself (not GNU tar's stream of a folder)",
            ));
        }
        if let Some(before) = &previous
            && walk_order(before, &rel) != Ordering::Less
        {
            return Err(MediaError::Io {
                path: at(&rel),
                source: io::Error::other(format!(
                    "the host's tar wrote it after {}, out of name order (it needs GNU tar's --sort=name)",
                    before.display()
                )),
            });
        }
        previous = Some(rel.clone());
        let header = entry.header();
        let mode = header.mode().map_err(failed(&rel))?;
        let mtime = header.mtime().map_err(failed(&rel))?;
        let mut stable = stable_header_of(mode, mtime);
        match header.entry_type() {
            EntryType::Directory => {
                append_folder(&mut builder, stable, &rel).map_err(failed(&rel))?;
                report.folders += 1;
            }
            EntryType::Symlink => {
                let target = entry
                    .link_name()
                    .map_err(failed(&rel))?
                    .ok_or_else(|| MediaError::Io {
                        path: at(&rel),
                        source: io::Error::other("a symbolic link without a target"),
                    })?
                    .into_owned();
                append_link(&mut builder, stable, &rel, &target).map_err(failed(&rel))?;
                report.links += 1;
            }
            EntryType::Regular | EntryType::Continuous => {
                let size = entry.size();
                stable.set_entry_type(EntryType::Regular);
                stable.set_size(size);
                builder
                    .append_data(&mut stable, &rel, io::empty())
                    .map_err(failed(&rel))?;
                let hash = copy_content(&mut entry, size, builder.get_mut(), &mut buf)
                    .map_err(failed(&rel))?
                    .ok_or_else(|| MediaError::Changed(at(&rel)))?;
                report.files += 1;
                report.bytes += size;
                report.file_sums.insert(rel, hash);
            }
            other => {
                return Err(MediaError::Special {
                    path: at(&rel),
                    kind: kind_of(other),
                });
            }
        }
    }
    if !saw_folder {
        return Err(MediaError::Io {
            path: at(Path::new("")),
            source: io::Error::other("the host's tar wrote no archive of the folder"),
        });
    }
    // Read to the end: the writer is never cut off mid-stream, and what
    // follows the archive's end is its zero padding only.
    let mut rest = archive.into_inner();
    let mut buf = [0u8; 8192];
    loop {
        let n = match rest.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(failed(Path::new(""))(e)),
        };
        if buf[..n].iter().any(|b| *b != 0) {
            return Err(MediaError::Io {
                path: at(Path::new("")),
                source: io::Error::other("the host's tar wrote more after the archive's end"),
            });
        }
    }
    builder
        .into_inner()
        .and_then(|mut out| out.flush())
        .map_err(failed(Path::new("")))?;
    Ok(report)
}

/// The order of a walk that sorts each folder's entries by name and goes
/// into a folder right after naming it.
fn walk_order(a: &Path, b: &Path) -> Ordering {
    a.components()
        .map(|c| c.as_os_str().as_encoded_bytes().to_vec())
        .cmp(
            b.components()
                .map(|c| c.as_os_str().as_encoded_bytes().to_vec()),
        )
}

fn kind_of(entry: EntryType) -> &'static str {
    match entry {
        EntryType::Fifo => "named pipe",
        EntryType::Block | EntryType::Char => "device",
        EntryType::Link => "hard link",
        _ => "special file",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn a_sorted_tar_of_a_tree_repacks_to_the_bytes_of_its_own_archive() {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("media");
        for (file, body) in [
            ("b/z.txt", "z"),
            ("b/a b.png", "picture"),
            ("a.b", "dot"),
            ("a/deep/x", "deep"),
            ("a-", "dash"),
        ] {
            let path = tree.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, body).unwrap();
        }
        std::os::unix::fs::symlink("a.b", tree.join("link")).unwrap();
        let mut own = Vec::new();
        let expected = super::super::archive(&tree, &mut own).unwrap();
        let tar = Command::new("tar")
            .args(["--sort=name", "--hard-dereference", "-C"])
            .arg(&tree)
            .args(["-cf", "-", "."])
            .output()
            .unwrap();
        assert!(tar.status.success());
        let mut repacked = Vec::new();
        let report = repack(&tar.stdout[..], &mut repacked, "ssh://h/srv/media").unwrap();
        assert_eq!(report.file_sums, expected.file_sums);
        assert_eq!(
            (report.files, report.links),
            (expected.files, expected.links)
        );
        assert!(repacked == own, "the repacked archive differs");
    }

    /// A tar stream of `names` (empty files), the folder itself first.
    fn stream(names: &[&str]) -> Vec<u8> {
        let mut tar = tar::Builder::new(Vec::new());
        let mut folder = tar::Header::new_gnu();
        folder.set_entry_type(EntryType::Directory);
        folder.set_size(0);
        folder.set_mode(0o755);
        tar.append_data(&mut folder, "./", io::empty()).unwrap();
        for name in names {
            let mut header = tar::Header::new_gnu();
            header.set_size(0);
            header.set_mode(0o644);
            // Written raw: the tar crate refuses `..` when it writes.
            header.set_path("x").unwrap();
            header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            header.as_old_mut().name[name.len()..].fill(0);
            header.set_cksum();
            tar.append(&header, io::empty()).unwrap();
        }
        tar.into_inner().unwrap()
    }

    #[test]
    fn escaping_names_empty_streams_and_trailing_bytes_are_refused() {
        let error = repack(&stream(&["./a", "./a/../../etc/x"])[..], Vec::new(), "h").unwrap_err();
        assert!(error.to_string().contains("`..`"), "{error}");
        let error = repack(&b""[..], Vec::new(), "h").unwrap_err();
        assert!(
            error.to_string().contains("no archive of the folder"),
            "{error}"
        );
        let mut trailing = stream(&["./a"]);
        trailing.extend_from_slice(&[0u8; 1024]);
        trailing.extend_from_slice(b"more");
        let error = repack(&trailing[..], Vec::new(), "h").unwrap_err();
        assert!(
            error.to_string().contains("after the archive's end"),
            "{error}"
        );
        let mut padded = stream(&["./a"]);
        padded.extend_from_slice(&[0u8; 10240]);
        assert_eq!(repack(&padded[..], Vec::new(), "h").unwrap().files, 1);
    }

    #[test]
    fn names_out_of_order_are_refused() {
        let mut tar = tar::Builder::new(Vec::new());
        let mut folder = tar::Header::new_gnu();
        folder.set_entry_type(EntryType::Directory);
        folder.set_size(0);
        tar.append_data(&mut folder, "./", io::empty()).unwrap();
        for name in ["b", "a"] {
            let mut header = tar::Header::new_gnu();
            header.set_size(0);
            header.set_mode(0o644);
            tar.append_data(&mut header, name, io::empty()).unwrap();
        }
        let input = tar.into_inner().unwrap();
        let error = repack(&input[..], Vec::new(), "ssh://h/m").unwrap_err();
        assert!(error.to_string().contains("out of name order"), "{error}");
    }
}
