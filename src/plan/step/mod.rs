//! A step of the plan and the work it does, as plain data.

mod action;
mod database;
mod dump;
mod exec;
mod folders;
mod id;
mod sanitized;
mod stream;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

pub use self::action::Action;
pub use self::database::{
    CreateDatabase, DatabaseRef, DatabaseSwap, DropDatabase, Restore, RestoreInto, Server,
};
pub use self::dump::{Dump, DumpContents};
pub use self::exec::{EnvValue, EnvVar, Exec, Labeled, Stream};
pub use self::folders::{FolderArchive, FolderExtract, FolderSwap};
pub use self::id::{StepId, StepKind};
pub use self::sanitized::{SanitizedDump, SanitizedTable};
pub use self::stream::{StreamDump, StreamRestore};

/// One step: what it does, how, what it reads and writes, and what it destroys.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Step {
    pub id: StepId,
    pub kind: StepKind,
    /// One line for people.
    pub description: String,
    pub action: Action,
    /// Artifacts this step writes into the artifacts folder.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub produces: Vec<Artifact>,
    /// Artifacts this step reads.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consumes: Vec<Artifact>,
    /// What the step destroys, in a few words (`drop netbox`), if anything.
    pub destroys: Option<String>,
    /// The database server the step talks to, which its errors name.
    pub server: Option<Server>,
}

impl Step {
    pub fn is_destructive(&self) -> bool {
        self.destroys.is_some()
    }

    /// A step that does nothing, for tests of the graph and the scheduler.
    #[cfg(test)]
    pub fn fake(id: StepId) -> Self {
        Step {
            id,
            kind: id.kind(),
            description: String::new(),
            action: Action::Verify {
                sums: "SHA256SUMS".into(),
            },
            produces: vec![],
            consumes: vec![],
            destroys: None,
            server: None,
        }
    }
}

/// A file or folder in the artifacts folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Artifact {
    /// The name inside the artifacts folder (`netbox.dir`, `netbox_media.tar`).
    pub name: String,
    pub kind: ArtifactKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ArtifactKind {
    /// The database dump: a file, or a folder for the directory format.
    Dump,
    /// A folder as a tar archive.
    FolderArchive,
    /// SHA-256 of every file of a folder, `sha256sum` format.
    FolderSums,
    /// The sanitized tables' rows, beside a directory or custom dump.
    Sanitized,
    /// What the dump holds, read from the source's catalog in the dump's
    /// snapshot (`<db>.catalog.json`).
    Catalog,
}
