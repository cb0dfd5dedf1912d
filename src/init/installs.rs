//! The NetBox installs `--netbox-root` names: a folder here, or one on a
//! host (`ssh://`) or in a container (`docker://`), read through
//! replicate's scripts there.

use std::path::Path;

use crate::netbox::{Found, Install, InstallFiles};
use crate::remote::{self, PathKind, Place, Reach};

/// Finds the install `root` names.
pub(super) fn find(root: &str, reach: &Reach) -> Result<Install, String> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let place = Place::parse(root, &cwd).map_err(|e| e.to_string())?;
    if let Some(folder) = place.local() {
        return Install::find(folder);
    }
    let files = There {
        place: &place,
        reach,
    };
    // Reached at all? An unreachable host is named, not taken for an
    // empty folder.
    let root_path = place.path_text();
    match remote::path_kind(reach, &place, &root_path) {
        Ok(PathKind::Folder) => {}
        Ok(_) => return Err(format!("{place} is not a folder")),
        Err(e) => return Err(format!("cannot read the NetBox install {place}: {e}")),
    }
    let mut install = Install::find_in(Path::new(&root_path), &files)?;
    install.location = place.remote_name();
    Ok(install)
}

/// An install on a host or in a container.
struct There<'a> {
    place: &'a Place,
    reach: &'a Reach,
}

impl There<'_> {
    fn text(path: &Path) -> String {
        path.to_string_lossy().into_owned()
    }
}

impl InstallFiles for There<'_> {
    fn found(&self, path: &Path) -> Found {
        match remote::path_kind(self.reach, self.place, &Self::text(path)) {
            Ok(PathKind::File) => Found::File,
            Ok(PathKind::Folder) => Found::Folder,
            _ => Found::Nothing,
        }
    }

    fn read(&self, path: &Path) -> Option<String> {
        remote::read_file(self.reach, self.place, &Self::text(path))
            .ok()
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
    }

    fn written(&self, path: &Path) -> String {
        self.place.with_path(&Self::text(path)).to_string()
    }

    fn run_there(&self, argv: Vec<String>) -> Option<Vec<String>> {
        // `ssh` joins its words into one line for the remote shell: the
        // arguments replicate appends (a script) would be split there.
        matches!(self.place, Place::Docker(_))
            .then(|| remote::program_argv(self.reach, self.place, argv))
    }
}
