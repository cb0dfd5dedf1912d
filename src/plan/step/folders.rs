//! The copied folders' parts of `archive`, `extract` and `swap`.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use super::Exec;
use crate::manifest::Folder;
use crate::remote::{Place, Reach};

/// One folder packed by `archive`.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FolderArchive {
    pub name: Folder,
    /// The source folder: a path here, `ssh://` or `docker://`.
    pub from: Place,
    /// A remote folder: the command that packs it there (GNU tar, names
    /// sorted), whose stream replicate rewrites as its own archive.
    pub read: Option<Exec>,
    /// The archive.
    pub to: PathBuf,
    /// Every file's SHA-256, `sha256sum` format.
    pub file_sums: PathBuf,
}

/// One folder unpacked by `extract`.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FolderExtract {
    pub name: Folder,
    pub archive: PathBuf,
    pub file_sums: PathBuf,
    /// The target folder: a path here, `ssh://` or `docker://`.
    pub into: Place,
    /// `swap`: the folder the new content is left in, beside `into`.
    pub next: Option<Place>,
    /// A remote folder: how its host or container is reached.
    pub reach: Option<Reach>,
}

/// One folder's exchange.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FolderSwap {
    pub name: Folder,
    /// The target folder.
    pub folder: Place,
    /// The new content, unpacked by `extract`.
    pub next: Place,
    /// Where the replaced content goes.
    pub previous: Place,
    /// A remote folder: how its host or container is reached.
    pub reach: Option<Reach>,
}
