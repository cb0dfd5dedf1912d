//! Putting a new folder in the place of an old one at once.

use std::fs;
use std::path::Path;

use super::error::{MediaError, io_at};
use crate::io::files::remove_any;
use crate::io::sys::{self, errno};

/// Puts `staging` in the place of `into`. When `into` exists the two are
/// exchanged atomically and the old content (now at `staging`) removed.
pub fn swap_in(staging: &Path, into: &Path) -> Result<(), MediaError> {
    if fs::symlink_metadata(into).is_err() {
        return fs::rename(staging, into).map_err(io_at(into));
    }
    match sys::exchange(staging, into) {
        Ok(()) => {}
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(errno::INVALID) | Some(errno::NOT_SUPPORTED)
            ) =>
        {
            // No atomic exchange on this file system: two renames.
            let old = staging.with_extension("replicate-old");
            fs::rename(into, &old).map_err(io_at(into))?;
            if let Err(e) = fs::rename(staging, into) {
                let _ = fs::rename(&old, into);
                return Err(io_at(into)(e));
            }
            return remove_any(&old).map_err(io_at(&old));
        }
        Err(e) => return Err(io_at(into)(e)),
    }
    remove_any(staging).map_err(io_at(staging))
}
