//! The checked manifest: what replicate works from once `replicate.toml`
//! was read, interpolated, checked and resolved.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;

use super::choices::{
    CheckDepth, Compression, DatabaseContent, DumpFormat, Folder, Keep, Preset, Strategy,
};
use super::diagnostic::ManifestDiagnostic;
use super::source_file::SourceFile;
use super::text::Text;
use crate::postgres::{DbUrl, Secret, Secrets, Tools};
use crate::remote::{Bastion, Place, Reach};

/// Environment variables of the object stores that hold credentials.
const STORE_SECRETS: [&str; 6] = [
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_SAS_KEY",
    "AZURE_CLIENT_SECRET",
    "GOOGLE_SERVICE_ACCOUNT_KEY",
];

/// A checked manifest: every default applied, every path absolute, every
/// `${NAME}` replaced.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The file as read, for diagnostics found later.
    pub file: SourceFile,
    /// The manifest's absolute path.
    pub path: PathBuf,
    /// The folder holding it: relative paths and commands start here.
    pub dir: PathBuf,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
    pub source: Source,
    pub target: Target,
    pub include: Include,
    /// `[sanitize]`, when the manifest has one.
    pub sanitize: Option<Sanitize>,
    pub artifacts: Artifacts,
    pub tools: Tools,
    /// How folders on other hosts and in containers are reached.
    pub reach: Reach,
    /// Where values came from, for diagnostics found after validation.
    pub spans: Spans,
    /// The value of every `${NAME}` the manifest uses: never shown, and
    /// hidden again wherever a child prints it.
    pub variables: BTreeMap<String, Secret>,
    /// Problems that do not stop the manifest from being used.
    pub warnings: Vec<ManifestDiagnostic>,
}

#[derive(Debug, Clone)]
pub struct Source {
    pub database: DbUrl,
    /// The copied folders at the source: here, on a host or in a container.
    pub folders: BTreeMap<Folder, Place>,
    pub invalidate: Option<Vec<Text>>,
    /// The argv prefix that runs this side's NetBox `manage.py`.
    pub manage: Option<Vec<Text>>,
    /// The bastion every connection to the database goes through.
    pub tunnel: Option<Bastion>,
}

#[derive(Debug, Clone)]
pub struct Target {
    pub database: DbUrl,
    /// The copied folders at the target: here, on a host or in a container.
    pub folders: BTreeMap<Folder, Place>,
    pub invalidate: Option<Vec<Text>>,
    /// The argv prefix that runs this side's NetBox `manage.py`: the
    /// post-copy actions of `invalidate-target` run through it.
    pub manage: Option<Vec<Text>>,
    pub strategy: Strategy,
    /// `swap` only: keep the replaced database and folders for `rollback`.
    pub keep_previous: bool,
    pub terminate_connections: bool,
    /// The role that owns the new database (and, with `owners = false`,
    /// every restored object); `None`: the role replicate connects as.
    pub owner: Option<String>,
    pub maintenance_database: String,
    /// Go on when the source's NetBox schema is newer than the target's.
    pub allow_older_netbox: bool,
    /// The bastion every connection to the database goes through.
    pub tunnel: Option<Bastion>,
}

#[derive(Debug, Clone)]
pub struct Include {
    pub database: DatabaseContent,
    pub exclude_table_data: Vec<String>,
    pub owners: bool,
}

/// `[sanitize]`: a preset and rules of the manifest's own.
#[derive(Debug, Clone)]
pub struct Sanitize {
    pub preset: Option<Preset>,
    /// Where the preset is named.
    pub preset_span: Option<Range<usize>>,
    pub rules: Vec<Rule>,
    /// Users given a password from the environment, by username.
    pub logins: Vec<Login>,
    /// The `[sanitize]` table in the manifest.
    pub span: Range<usize>,
}

/// Where the secrets hold the logins' passwords, as a JSON object of
/// username to password.
pub const LOGINS_SECRET: &str = "sanitize.logins";

/// A user of the copy and the password it is given (`[sanitize] logins`).
#[derive(Debug, Clone)]
pub struct Login {
    pub user: String,
    pub password: Secret,
    /// The environment variables the password is made of.
    pub variables: Vec<String>,
    /// Where the login is written.
    pub span: Range<usize>,
}

/// One `[[sanitize.rules]]`, as written (checked against the source when
/// planning live).
#[derive(Debug, Clone)]
pub struct Rule {
    /// Its place among the rules, from 1.
    pub number: usize,
    /// The table, schema-qualified or not.
    pub table: String,
    /// Column and SQL expression, in the order written.
    pub set: Vec<(String, String)>,
    /// The SQL condition that keeps rows.
    pub keep: Option<String>,
    pub spans: RuleSpans,
}

/// Where a rule's parts are written.
#[derive(Debug, Clone)]
pub struct RuleSpans {
    pub rule: Range<usize>,
    pub table: Range<usize>,
    /// Each column's expression.
    pub set: BTreeMap<String, Range<usize>>,
    pub keep: Option<Range<usize>>,
}

/// A folder copied from the source to the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopiedFolder {
    pub folder: Folder,
    pub source: Place,
    pub target: Place,
}

#[derive(Debug, Clone)]
pub struct Artifacts {
    /// The artifacts folder; with an object store, the local cache.
    pub dir: PathBuf,
    /// The object store URL (`s3://bucket/prefix`), when `dir` names one.
    pub store: Option<String>,
    pub format: DumpFormat,
    pub compression: Compression,
    pub jobs: u32,
    pub keep: Keep,
    /// How much `check` proves of each table.
    pub check: CheckDepth,
}

/// Byte ranges in the manifest of the values that later checks (live
/// planning, apply) may complain about.
#[derive(Debug, Clone, Default)]
pub struct Spans {
    pub source_database: Range<usize>,
    pub target_database: Range<usize>,
    pub compression: Option<Range<usize>>,
    pub bindir: Option<Range<usize>>,
    /// `exclude_table_data`'s patterns, in order.
    pub exclude_table_data: Vec<Range<usize>>,
    /// Each copied folder's source path.
    pub source_folders: BTreeMap<Folder, Range<usize>>,
    /// Each copied folder's target path.
    pub target_folders: BTreeMap<Folder, Range<usize>>,
    /// Each side's `tunnel`, when written.
    pub source_tunnel: Option<Range<usize>>,
    pub target_tunnel: Option<Range<usize>>,
}

impl Manifest {
    /// Whether any step touches a database.
    pub fn has_database(&self) -> bool {
        self.include.database != DatabaseContent::None
    }

    /// The folders copied, in [`Folder::ALL`]'s order.
    pub fn folders(&self) -> Vec<CopiedFolder> {
        self.source
            .folders
            .iter()
            .filter_map(|(folder, source)| {
                let target = self.target.folders.get(folder)?;
                Some(CopiedFolder {
                    folder: *folder,
                    source: source.clone(),
                    target: target.clone(),
                })
            })
            .collect()
    }

    /// The secrets the manifest carries: the databases' passwords, by
    /// origin, and every value taken from the environment.
    pub fn secrets(&self) -> Secrets {
        let mut secrets = Secrets::default();
        if let Some(p) = self.source.database.password() {
            secrets.insert("source.database", p.clone());
        }
        if let Some(p) = self.target.database.password() {
            secrets.insert("target.database", p.clone());
        }
        // The logins' passwords, handed to the target's NetBox at once.
        if let Some(logins) = self.sanitize.as_ref().map(|s| &s.logins)
            && !logins.is_empty()
        {
            let by_user: BTreeMap<&str, &str> = logins
                .iter()
                .map(|l| (l.user.as_str(), l.password.expose()))
                .collect();
            secrets.insert(
                LOGINS_SECRET,
                Secret::new(serde_json::to_string(&by_user).unwrap_or_default()),
            );
        }
        for (name, value) in &self.variables {
            secrets.insert_variable(name, value.clone());
        }
        // An object store's credentials, from the environment: never shown.
        if self.artifacts.store.is_some() {
            for name in STORE_SECRETS {
                if let Ok(value) = std::env::var(name)
                    && !value.is_empty()
                {
                    secrets.insert_variable(name, Secret::new(value));
                }
            }
        }
        secrets
    }
}
