//! A step of the plan and the command it runs, as plain data.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::display::shell::shell_line;
use crate::manifest::{Compression, Folder, Text};
use crate::postgres::quote::{sql_identifier, sql_qualified};

/// The fixed step names users write in `--steps` and scripts read in plans.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum StepId {
    InvalidateSource,
    Dump,
    Archive,
    Verify,
    Drop,
    Create,
    Restore,
    Check,
    Extract,
    Swap,
    InvalidateTarget,
}

impl StepId {
    /// Every step in its canonical order, which is also a valid run order.
    pub const ALL: [StepId; 11] = [
        StepId::InvalidateSource,
        StepId::Dump,
        StepId::Archive,
        StepId::Verify,
        StepId::Drop,
        StepId::Create,
        StepId::Restore,
        StepId::Check,
        StepId::Extract,
        StepId::Swap,
        StepId::InvalidateTarget,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StepId::InvalidateSource => "invalidate-source",
            StepId::Dump => "dump",
            StepId::Archive => "archive",
            StepId::Verify => "verify",
            StepId::Drop => "drop",
            StepId::Create => "create",
            StepId::Restore => "restore",
            StepId::Check => "check",
            StepId::Extract => "extract",
            StepId::Swap => "swap",
            StepId::InvalidateTarget => "invalidate-target",
        }
    }

    /// The kind of work: both invalidate steps are of kind `invalidate`.
    pub fn kind(self) -> StepKind {
        match self {
            StepId::InvalidateSource | StepId::InvalidateTarget => StepKind::Invalidate,
            StepId::Dump => StepKind::Dump,
            StepId::Archive => StepKind::Archive,
            StepId::Verify => StepKind::Verify,
            StepId::Drop => StepKind::Drop,
            StepId::Create => StepKind::Create,
            StepId::Restore => StepKind::Restore,
            StepId::Check => StepKind::Check,
            StepId::Extract => StepKind::Extract,
            StepId::Swap => StepKind::Swap,
        }
    }
}

impl fmt::Display for StepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StepId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StepId::ALL
            .into_iter()
            .find(|id| id.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = StepId::ALL.iter().map(|id| id.as_str()).collect();
                format!("unknown step `{s}` (steps: {})", names.join(", "))
            })
    }
}

/// What kind of work a step does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum StepKind {
    Invalidate,
    Dump,
    Archive,
    Verify,
    Drop,
    Create,
    Restore,
    Check,
    Extract,
    Swap,
}

/// One step: what it does, how, what it reads and writes, and what it destroys.
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destroys: Option<String>,
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
        }
    }
}

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

/// A command and what it does, for the plan and for its failure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Labeled {
    pub what: String,
    pub exec: Exec,
    /// Whether `rollback` runs it again after putting the previous copy
    /// back.
    #[serde(default = "run_after_rollback", skip_serializing_if = "Clone::clone")]
    pub after_rollback: bool,
}

fn run_after_rollback() -> bool {
    true
}

/// A sanitized dump's programs and tables.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SanitizedDump {
    /// `pg_dump` (plain format: its pre-data and data sections); it is
    /// given the snapshot when it runs.
    pub dump: Exec,
    /// Plain format only: `pg_dump` of the post-data section, written
    /// after the sanitized rows so that indexes and constraints are
    /// built over them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_data: Option<Exec>,
    /// `psql` on the source: holds the snapshot, and reads each table.
    pub psql: Exec,
    /// Empty in an offline plan: rules are resolved against the source.
    pub tables: Vec<SanitizedTable>,
    /// Directory and custom formats: the folder of the sanitized rows
    /// (`<db>.sanitized`); plain: `None`, the rows are in the dump.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<PathBuf>,
}

/// The stream format's dump (`<db>.stream/`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StreamDump {
    /// `pg_dump --section=pre-data` into `pre-data.sql`; given the
    /// snapshot when it runs.
    pub pre_data: Exec,
    /// `pg_dump --section=post-data` as an archive, printed by
    /// `pg_restore` into `post-data.sql`, its entries and the catalog's
    /// facts about them into `post-data.json`.
    pub post_data: Exec,
    /// `psql` on the source: holds the snapshot, lists the tables and
    /// sequences, and reads each table.
    pub psql: Exec,
    /// `include.exclude_table_data`: these tables get no rows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_table_data: Vec<String>,
    /// `include.database = "schema"`: no table's rows.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub schema_only: bool,
    /// Tables read through sanitize rules (empty offline).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sanitized: Vec<SanitizedTable>,
    /// Tables read at once.
    pub jobs: u32,
}

/// The stream format's restore.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StreamRestore {
    /// The folder the dump writes.
    pub dump: PathBuf,
    /// `psql` on the new database (as the owner, with the restore's
    /// session settings); each part runs through one.
    pub psql: Exec,
    /// Tables loaded at once.
    pub jobs: u32,
    /// Whether it follows the dump as it writes, when both run together
    /// (under `swap`); otherwise it waits for the complete artifacts.
    pub follows_dump: bool,
}

/// A table whose rows are copied through a sanitize rule: read by the
/// source server as `COPY (SELECT <select> FROM ONLY <table> WHERE <keep>)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SanitizedTable {
    pub schema: String,
    pub table: String,
    /// Every copied column, in the table's order.
    pub columns: Vec<String>,
    /// For each column, the SQL giving its value: the column itself, or the
    /// rule's expression.
    pub select: Vec<String>,
    /// The columns a rule sets.
    pub set: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep: Option<String>,
    /// Which rule: `preset netbox`, `rule 2`.
    pub rule: String,
    /// The file of its rows in the sanitized folder (`3.copy`).
    pub file: String,
}

impl SanitizedTable {
    /// `"schema"."table"`.
    pub fn qualified(&self) -> String {
        sql_qualified(&self.schema, &self.table)
    }

    /// The statement that reads the sanitized rows on the source.
    pub fn copy_out(&self) -> String {
        let select: Vec<String> = self
            .select
            .iter()
            .zip(&self.columns)
            .map(|(sql, column)| {
                if *sql == sql_identifier(column) {
                    sql.clone()
                } else {
                    format!("({sql}) AS {}", sql_identifier(column))
                }
            })
            .collect();
        format!(
            "COPY (SELECT {} FROM ONLY {}{}) TO STDOUT",
            select.join(", "),
            self.qualified(),
            self.keep
                .as_ref()
                .map(|k| format!(" WHERE ({k})"))
                .unwrap_or_default()
        )
    }

    /// The statement that loads them on the target.
    pub fn copy_in(&self) -> String {
        let columns: Vec<String> = self.columns.iter().map(|c| sql_identifier(c)).collect();
        format!(
            "COPY {} ({}) FROM STDIN",
            self.qualified(),
            columns.join(", ")
        )
    }
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

/// One folder packed by `archive`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FolderArchive {
    pub name: Folder,
    /// The source folder.
    pub from: PathBuf,
    /// The archive.
    pub to: PathBuf,
    /// Every file's SHA-256, `sha256sum` format.
    pub file_sums: PathBuf,
}

/// One folder unpacked by `extract`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FolderExtract {
    pub name: Folder,
    pub archive: PathBuf,
    pub file_sums: PathBuf,
    /// The target folder.
    pub into: PathBuf,
    /// `swap`: the folder the new content is left in, beside `into`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<PathBuf>,
}

/// One folder's exchange.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FolderSwap {
    pub name: Folder,
    /// The target folder.
    pub folder: PathBuf,
    /// The new content, unpacked by `extract`.
    pub next: PathBuf,
    /// Where the replaced content goes.
    pub previous: PathBuf,
}

/// A child program to run. Secrets appear only as a reference to where they
/// come from; their values are filled in when the step runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Exec {
    /// The program to run.
    pub program: Text,
    /// Its arguments; one that took a value from `${NAME}` is saved and
    /// shown as written.
    pub args: Vec<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<PathBuf>,
    /// A file streamed into the program's standard input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<Stream>,
    /// A file the program's standard output is streamed into (through SHA-256).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout: Option<Stream>,
}

impl Exec {
    /// The command as a shell line for people: environment first, secrets
    /// as `***`.
    pub fn display(&self) -> String {
        let mut words: Vec<String> = self
            .env
            .iter()
            .map(|v| match &v.value {
                EnvValue::Value(value) => format!("{}={}", v.name, shell_line([value.as_str()])),
                EnvValue::SecretFrom(_) => format!("{}=***", v.name),
            })
            .collect();
        words.push(shell_line(
            std::iter::once(self.program.shown()).chain(self.args.iter().map(Text::shown)),
        ));
        words.join(" ")
    }
}

/// A file at one end of a pipe, compressed or not on disk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Stream {
    pub path: PathBuf,
    pub compression: Compression,
}

/// An environment variable for a child.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EnvVar {
    pub name: String,
    #[serde(flatten)]
    pub value: EnvValue,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EnvValue {
    /// A plain value.
    Value(String),
    /// A secret, named by where it comes from (`source.database`,
    /// `target.database`); never written down.
    SecretFrom(String),
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
