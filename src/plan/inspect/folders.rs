//! The folders on both sides: how many files, how many bytes; and beside a
//! target folder, what an earlier run left (a new folder not swapped in,
//! the previous copy).

use std::path::Path;

use super::error::InspectError;
use indicatif::DecimalBytes;

use crate::display::units::count;
use crate::manifest::{Folder, Manifest};
use crate::media;
use crate::remote::{self, Place, RemoteError, Tree};

/// Files and bytes below `folder`.
fn measure(folder: &Path) -> Tree {
    let mut tree = Tree::default();
    for entry in walkdir::WalkDir::new(folder).into_iter().flatten() {
        if entry.file_type().is_file() {
            tree.files += 1;
            tree.bytes += entry.metadata().map_or(0, |m| m.len());
        }
    }
    tree
}

/// `12 files, 3.0 MB`.
fn holds(tree: Tree) -> String {
    format!(
        "{}, {}",
        count(tree.files, "file", "files"),
        DecimalBytes(tree.bytes)
    )
}

/// A source folder, here or remote: its bytes and a note on what it
/// holds; an error when it is missing or cannot be reached (`archive`
/// would fail), pointing at the place in the manifest.
pub(super) fn source(
    manifest: &Manifest,
    name: Folder,
    place: &Place,
) -> Result<(u64, String), InspectError> {
    let tree = match place.local() {
        Some(folder) => {
            check_source(manifest, name, folder)?;
            measure(folder)
        }
        None => remote::measure(&manifest.reach, place)
            .map_err(|e| unreachable_source(manifest, name, place, &e))?,
    };
    Ok((
        tree.bytes,
        format!("source {name}: {place} holds {}", holds(tree)),
    ))
}

/// A remote source folder missing, or a host or container that the
/// script could not run on.
fn unreachable_source(
    manifest: &Manifest,
    name: Folder,
    place: &Place,
    error: &RemoteError,
) -> InspectError {
    let (message, help, label) = if error.missing {
        (
            format!("the source {name} folder {place} does not exist"),
            format!(
                "fix source.{name}, or leave the folder out with `{name} = false` in [include]"
            ),
            "no such folder",
        )
    } else {
        (
            format!("cannot reach the source {name} folder {place}: {error}"),
            REACH_HELP.to_owned(),
            "not reached",
        )
    };
    InspectError::new(message, help).at(
        &manifest.file,
        manifest.spans.source_folders.get(&name).cloned(),
        label,
    )
}

/// A target folder, here or remote: what it holds and what lies beside
/// it; for a remote one, the room left there, and a warning when it is
/// less than the `needed` bytes of the source folder. An error when its
/// host or container cannot be reached or lacks a tool, pointing at the
/// place in the manifest.
pub(super) fn target(
    manifest: &Manifest,
    name: Folder,
    place: &Place,
    needed: Option<u64>,
) -> Result<(Vec<String>, Option<String>), InspectError> {
    if let Some(folder) = place.local() {
        let mut notes = vec![note("target", name, folder)];
        notes.extend(companions(folder));
        return Ok((notes, None));
    }
    let found = remote::look(&manifest.reach, place).map_err(|e| {
        let (message, label) = if e.missing {
            (
                format!("the folder that would hold the target {name} folder {place} does not exist: {e}"),
                "no such parent folder",
            )
        } else {
            (
                format!("cannot reach the target {name} folder {place}: {e}"),
                "not reached",
            )
        };
        InspectError::new(message, REACH_HELP.to_owned()).at(
            &manifest.file,
            manifest.spans.target_folders.get(&name).cloned(),
            label,
        )
    })?;
    let mut notes = vec![match found.folder {
        Some(tree) => format!(
            "target {name}: {place} holds {}; {} free there",
            holds(tree),
            DecimalBytes(found.free_bytes)
        ),
        None => format!(
            "target {name}: {place} does not exist yet; {} free there",
            DecimalBytes(found.free_bytes)
        ),
    }];
    if found.inside {
        notes.push(format!(
            "target {name}: {place} is a mount point: its new and previous contents are kept inside it (.replicate-next, .replicate-prev), and the swap moves its entries"
        ));
    }
    for (tree, what, fate) in [
        (found.next, "next", NEXT_FATE),
        (found.previous, "prev", PREV_FATE),
    ] {
        if let Some(tree) = tree {
            let at = if found.inside {
                format!("{place}/.replicate-{what}")
            } else {
                place.beside(what).to_string()
            };
            notes.push(format!("{at} ({}): {fate}", holds(tree)));
        }
    }
    let short = needed.filter(|bytes| *bytes > found.free_bytes).map(|bytes| {
        format!(
            "target {name}: {place} has {} free, less than the source's {}: the new content is unpacked beside the live one there, so extract will run out of room",
            DecimalBytes(found.free_bytes),
            DecimalBytes(bytes)
        )
    });
    Ok((notes, short))
}

/// What becomes of a new folder an earlier run left.
const NEXT_FATE: &str = "left by an earlier run; extract replaces it";
/// What becomes of the previous copy.
const PREV_FATE: &str = "the previous copy; the swap replaces it";

/// How to reach a remote folder.
const REACH_HELP: &str = "check that the host or container is up and that replicate may reach it (for ssh://, a key in the agent or the configuration, and the host in known_hosts: it never asks)";

/// `source media: /srv/media holds 12 files, 3.0 MiB`.
fn note(side: &str, name: Folder, folder: &Path) -> String {
    if !folder.is_dir() {
        return format!("{side} {name}: {} does not exist yet", folder.display());
    }
    format!(
        "{side} {name}: {} holds {}",
        folder.display(),
        holds(measure(folder))
    )
}

/// A source folder that is missing: `archive` would fail, so planning
/// stops now, pointing at the path in the manifest.
fn check_source(manifest: &Manifest, name: Folder, folder: &Path) -> Result<(), InspectError> {
    if folder.is_dir() {
        return Ok(());
    }
    Err(InspectError::new(
        format!(
            "the source {name} folder {} does not exist",
            folder.display()
        ),
        format!("fix source.{name}, or leave the folder out with `{name} = false` in [include]"),
    )
    .at(
        &manifest.file,
        manifest.spans.source_folders.get(&name).cloned(),
        "no such folder",
    ))
}

/// What lies beside a target folder: a new folder an earlier run left
/// (the next `extract` replaces it) and the previous copy.
fn companions(folder: &Path) -> Vec<String> {
    let real = media::real_folder(folder);
    [("next", NEXT_FATE), ("prev", PREV_FATE)]
        .into_iter()
        .filter_map(|(what, fate)| {
            let path = media::companion(&real, what);
            path.is_dir()
                .then(|| format!("{} ({}): {fate}", path.display(), holds(measure(&path))))
        })
        .collect()
}
