//! The artifacts folder's lock: one `apply` at a time. The operating system
//! releases it when the process ends, however it ends.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::ArtifactsDir;
use super::error::StoreError;
use super::remote::Remote;

pub const LOCK_FILE: &str = "lock";

/// Held while an apply runs; dropping it releases the lock.
#[derive(Debug)]
pub struct RunLock {
    file: File,
}

impl RunLock {
    /// Takes the lock in `dir` at once, or fails naming the process that holds it.
    pub fn acquire(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(LOCK_FILE);
        let io_error = |source| StoreError::Io {
            path: path.clone(),
            source,
        };
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&path).map_err(io_error)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(StoreError::Locked {
                    path: path.display().to_string(),
                    holder: holder.trim().to_owned(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io_error(e)),
        }
        let holder = format!(
            "replicate apply, process {}, started {}",
            std::process::id(),
            humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        );
        file.set_len(0).map_err(io_error)?;
        file.seek(SeekFrom::Start(0)).map_err(io_error)?;
        file.write_all(holder.as_bytes()).map_err(io_error)?;
        file.flush().map_err(io_error)?;
        Ok(Self { file })
    }
}

/// The lock of an artifacts folder: its local lock file, and in an object
/// store an object created only if absent, naming the holder.
#[derive(Debug)]
pub struct FolderLock<'a> {
    _local: RunLock,
    remote: Option<(&'a Remote, String)>,
}

/// What the store's lock object says.
#[derive(Debug, Serialize, Deserialize)]
struct LockObject {
    id: String,
    holder: String,
}

impl ArtifactsDir {
    /// Takes the folder's lock (and the store's), or fails naming the holder.
    pub fn lock(&self) -> Result<FolderLock<'_>, StoreError> {
        let local = RunLock::acquire(self.path())?;
        let Some(remote) = self.remote() else {
            return Ok(FolderLock {
                _local: local,
                remote: None,
            });
        };
        let id = lock_id();
        let object = LockObject {
            id: id.clone(),
            holder: format!(
                "replicate, process {} on {}, started {}",
                std::process::id(),
                hostname(),
                humantime::format_rfc3339_seconds(std::time::SystemTime::now())
            ),
        };
        let bytes = serde_json::to_vec(&object).unwrap_or_default();
        let failed = |e: std::io::Error| StoreError::Remote {
            message: e.to_string(),
        };
        if remote.create(LOCK_FILE, &bytes).map_err(failed)? {
            return Ok(FolderLock {
                _local: local,
                remote: Some((remote, id)),
            });
        }
        let held: Option<LockObject> = remote
            .get_bytes(LOCK_FILE)
            .map_err(failed)?
            .and_then(|b| serde_json::from_slice(&b).ok());
        Err(StoreError::Locked {
            path: remote.url_of(LOCK_FILE),
            holder: match held {
                Some(h) => format!(
                    "{} (lock id {}: if that run is gone, `replicate force-unlock {}` removes the lock)",
                    h.holder, h.id, h.id
                ),
                None => "another run".to_owned(),
            },
        })
    }

    /// Removes the store's lock if its id is `id` (a run that will never
    /// release it); what it said of its holder.
    pub fn force_unlock(&self, id: &str) -> Result<String, StoreError> {
        let Some(remote) = self.remote() else {
            return Err(StoreError::Folder {
                message: "the artifacts are in a local folder, whose lock ends with its process"
                    .to_owned(),
                help: "nothing to unlock: a local run that is gone holds no lock".to_owned(),
            });
        };
        let failed = |e: std::io::Error| StoreError::Remote {
            message: e.to_string(),
        };
        let held: Option<LockObject> = remote
            .get_bytes(LOCK_FILE)
            .map_err(failed)?
            .and_then(|b| serde_json::from_slice(&b).ok());
        match held {
            None => Err(StoreError::Folder {
                message: format!("{} holds no lock", remote.url_of("")),
                help: "nothing to unlock".to_owned(),
            }),
            Some(h) if h.id != id => Err(StoreError::Folder {
                message: format!(
                    "the lock in {} has the id {}, not {id}",
                    remote.url_of(""),
                    h.id
                ),
                help: format!(
                    "it is held by {}; check that this run is gone first",
                    h.holder
                ),
            }),
            Some(h) => {
                remote.delete(LOCK_FILE).map_err(failed)?;
                Ok(h.holder)
            }
        }
    }
}

impl Drop for FolderLock<'_> {
    fn drop(&mut self) {
        if let Some((remote, id)) = &self.remote {
            // Only our own lock: never one a force-unlock handed to another run.
            let ours = remote
                .get_bytes(LOCK_FILE)
                .ok()
                .flatten()
                .and_then(|b| serde_json::from_slice::<LockObject>(&b).ok())
                .is_some_and(|h| &h.id == id);
            if ours {
                let _ = remote.delete(LOCK_FILE);
            }
        }
    }
}

/// A lock's id: hard to guess, easy to type.
fn lock_id() -> String {
    let seed = format!(
        "{}-{:?}-{}",
        std::process::id(),
        std::time::SystemTime::now(),
        hostname()
    );
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(seed.as_bytes()))[..12].to_owned()
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "this machine".to_owned())
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_fails_naming_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunLock::acquire(dir.path()).unwrap();
        let err = RunLock::acquire(dir.path()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("process {}", std::process::id())),
            "{text}"
        );
        drop(first);
        RunLock::acquire(dir.path()).unwrap();
    }
}
