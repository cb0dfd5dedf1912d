//! What a step does: the work named, with the data it needs.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    CreateDatabase, DatabaseRef, DatabaseSwap, DropDatabase, Dump, Exec, FolderArchive,
    FolderExtract, FolderSwap, Labeled, Restore, SanitizedDump, StreamDump, StreamRestore,
};
use crate::manifest::{Compression, Strategy};

/// How a step does its work: each kind of work with what it needs to know,
/// so that the step reads nothing else.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Action {
    /// Runs a program as it is (no shell): `invalidate-source`.
    Run(Exec),
    /// `pg_dump` in a snapshot of the source, and the dump's catalog.
    Dump(Box<Dump>),
    /// `pg_dump` without the sanitized tables' rows, and those rows read
    /// through their rules, all in one snapshot of the source.
    SanitizedDump(Box<SanitizedDump>),
    /// The stream format's dump: the schema from `pg_dump`, every table's
    /// rows read by replicate in one snapshot into a file of their own.
    StreamDump(Box<StreamDump>),
    /// Packs each folder into a tar archive and lists every file's SHA-256.
    Archive {
        compression: Compression,
        folders: Vec<FolderArchive>,
    },
    /// Re-hashes every artifact against the sums file.
    Verify { sums: PathBuf },
    /// Drops the target database.
    DropDatabase(DropDatabase),
    /// Creates the database the dump is restored into.
    CreateDatabase(CreateDatabase),
    /// Restores the dump with PostgreSQL's programs.
    Restore(Restore),
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
        /// The restored database, read by replicate.
        url: DatabaseRef,
        /// Sessions reading it.
        jobs: u32,
        /// Under `swap`: the live target, which a failed check leaves
        /// untouched.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        untouched: Option<String>,
    },
    /// Unpacks each archive beside its target folder, checking every file;
    /// then swaps it in (`replace`), or leaves it at `next` for `swap`.
    Extract {
        compression: Compression,
        folders: Vec<FolderExtract>,
    },
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
    /// `invalidate-target`: commands run in turn, each saying what it does
    /// (NetBox's own actions through `manage`, then the manifest's
    /// `invalidate`).
    AfterCopy {
        commands: Vec<Labeled>,
        /// What a failure leaves: under `swap`, the copy already swapped in.
        strategy: Strategy,
    },
}

impl Action {
    /// The one program the action runs, when it runs exactly one.
    pub fn single_command(&self) -> Option<&Exec> {
        match self {
            Action::Run(exec) => Some(exec),
            Action::Dump(dump) => Some(&dump.dump),
            Action::DropDatabase(drop) => Some(&drop.psql),
            Action::CreateDatabase(create) => Some(&create.psql),
            Action::Restore(Restore { commands, .. }) if commands.len() == 1 => commands.first(),
            _ => None,
        }
    }
}
