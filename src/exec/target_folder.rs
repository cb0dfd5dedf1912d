//! A target folder wherever it is: here, the media module moves it; on a
//! host or in a container, replicate's scripts do the same there. `extract`,
//! `swap` and `rollback` go through this one type.

use crate::io::sha256sum::FileSums;
use crate::media::{self, MediaError, SwappedFolder, TreeDifferences};
use crate::remote::{self, Place, Reach, RemoteError, RemoteSwap};

/// Why a target folder could not be moved or read.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    #[error(transparent)]
    Here(#[from] MediaError),
    #[error(transparent)]
    There(#[from] RemoteError),
}

impl FolderError {
    /// A move failed and putting things back failed too: the folder holds
    /// part of its old and part of its new content, as the message says.
    pub fn is_mixed(&self) -> bool {
        matches!(self, FolderError::There(e) if e.mixed)
    }
}

/// A target folder and how it is reached.
#[derive(Debug, Clone, Copy)]
pub struct TargetFolder<'a> {
    pub place: &'a Place,
    reach: &'a Reach,
}

/// A folder swapped in, until it is finished or undone.
#[derive(Debug, Clone)]
pub enum Swapped<'a> {
    Here(SwappedFolder),
    There(TargetFolder<'a>, RemoteSwap),
}

/// No `[tools] ssh_config`: for a local folder, or a plan that names none.
static PLAIN: Reach = Reach { ssh_config: None };

impl<'a> TargetFolder<'a> {
    pub fn new(place: &'a Place, reach: Option<&'a Reach>) -> Self {
        TargetFolder {
            place,
            reach: reach.unwrap_or(&PLAIN),
        }
    }

    pub fn reach(&self) -> &'a Reach {
        self.reach
    }

    /// Removes the new content left beside the folder.
    pub fn discard_next(&self) -> Result<(), FolderError> {
        match self.place.local() {
            Some(_) => {
                let next = self.next_here();
                crate::io::files::remove_any(&next)
                    .map_err(|source| MediaError::Io { path: next, source }.into())
            }
            None => Ok(remote::discard(self.reach, self.place)?),
        }
    }

    /// `replace`: the new content put in the folder's place, the old
    /// removed.
    pub fn swap_in(&self) -> Result<(), FolderError> {
        match self.place.local() {
            Some(folder) => Ok(media::swap_in(
                &self.next_here(),
                &media::real_folder(folder),
            )?),
            None => Ok(remote::swap_in(self.reach, self.place)?),
        }
    }

    /// `swap`: the new content in the folder's place, the replaced one
    /// kept beside it.
    pub fn swap(&self) -> Result<Swapped<'a>, FolderError> {
        match self.place.local() {
            Some(folder) => Ok(Swapped::Here(media::swap_folder(folder)?)),
            None => Ok(Swapped::There(*self, remote::swap(self.reach, self.place)?)),
        }
    }

    /// `rollback`: the folder exchanged with its previous content.
    pub fn roll_back(&self) -> Result<(), FolderError> {
        match self.place.local() {
            Some(folder) => Ok(media::roll_back_folder(folder)?),
            None => Ok(remote::roll_back(self.reach, self.place)?),
        }
    }

    /// Whether the previous content is there, for `rollback`.
    pub fn has_previous(&self) -> Result<bool, FolderError> {
        match self.place.local() {
            Some(folder) => Ok(media::companion(&media::real_folder(folder), "prev").is_dir()),
            None => Ok(remote::look(self.reach, self.place)?.previous.is_some()),
        }
    }

    /// Compares the folder's files with `sums` (`verify --media`): hashed
    /// here, or by `sha256sum` where the folder is.
    pub fn compare(&self, sums: &FileSums) -> Result<TreeDifferences, FolderError> {
        match self.place.local() {
            Some(folder) => Ok(media::compare(folder, sums)?),
            None => {
                let found = remote::file_sums(self.reach, self.place)?;
                Ok(media::compare_sums(&found, sums))
            }
        }
    }

    /// Where a local folder's new content is unpacked.
    fn next_here(&self) -> std::path::PathBuf {
        let folder = self.place.local().unwrap_or(std::path::Path::new("."));
        media::companion(&media::real_folder(folder), "next")
    }
}

impl Swapped<'_> {
    /// Puts the previous content back, as if the swap had not happened.
    pub fn undo(&self) -> Result<(), FolderError> {
        match self {
            Swapped::Here(done) => Ok(done.undo()?),
            Swapped::There(folder, done) => Ok(done.undo(folder.reach, folder.place)?),
        }
    }

    /// Removes what was set aside, and the previous content too unless it
    /// is kept for `rollback`.
    pub fn finish(&self, keep_previous: bool) -> Result<(), FolderError> {
        match self {
            Swapped::Here(done) => Ok(done.finish(keep_previous)?),
            Swapped::There(folder, _) => {
                Ok(remote::finish(folder.reach, folder.place, keep_previous)?)
            }
        }
    }
}
