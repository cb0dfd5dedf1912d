//! What a step does: the work named, with the data it needs.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    Exec, FolderArchive, FolderExtract, FolderSwap, Labeled, SanitizedDump, StreamDump,
    StreamRestore,
};
use crate::manifest::Compression;

/// How a step does its work: a child program, or work done by replicate itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Action {
    /// Runs a program (no shell).
    Exec(Exec),
    /// Packs each folder into a tar archive and lists every file's SHA-256.
    Archive {
        compression: Compression,
        folders: Vec<FolderArchive>,
    },
    /// Re-hashes every artifact against the sums file.
    Verify { sums: PathBuf },
    /// Unpacks each archive beside its target folder, checking every file;
    /// then swaps it in (`replace`), or leaves it at `next` for `swap`.
    Extract {
        compression: Compression,
        folders: Vec<FolderExtract>,
    },
    /// `pg_dump` without the sanitized tables' rows, and those rows read
    /// through their rules, all in one snapshot of the source.
    SanitizedDump(Box<SanitizedDump>),
    /// Programs run one after the other (a restore in sections, with the
    /// sanitized rows loaded between data and indexes).
    Commands { commands: Vec<Exec> },
    /// The stream format's dump: the schema from `pg_dump`, every table's
    /// rows read by replicate in one snapshot into a file of their own.
    StreamDump(Box<StreamDump>),
    /// The stream format's restore: the schema, every table loaded in
    /// parallel with its indexes built as soon as its rows are in, then
    /// the rest; following the dump as it writes when both run together.
    StreamRestore(Box<StreamRestore>),
    /// Compares a restored database with what the dump holds.
    Check {
        /// The dump's catalog (`<db>.catalog.json`): what it holds.
        catalog: PathBuf,
        /// The restored database's name on the target server.
        database: String,
        /// Owners and grants are compared (the copy keeps them).
        owners: bool,
        /// Every table's content is compared (`check = "content"`).
        content: bool,
    },
    /// `invalidate-target`: commands run in turn, each saying what it does
    /// (NetBox's own actions through `manage`, then the manifest's
    /// `invalidate`).
    AfterCopy { commands: Vec<Labeled> },
    /// Puts the new database and folders in the place of the live ones at
    /// once, keeping the replaced ones (or not).
    Swap {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        database: Option<DatabaseSwap>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        folders: Vec<FolderSwap>,
        /// Keep the replaced database and folders for `rollback`.
        keep_previous: bool,
    },
}

/// The renames of the database swap, all in one transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DatabaseSwap {
    /// The target's name, which clients connect to.
    pub target: String,
    /// The new database, restored and checked.
    pub next: String,
    /// Where the replaced target goes.
    pub previous: String,
    /// End the target's client sessions first.
    pub terminate_connections: bool,
}
