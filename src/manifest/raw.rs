//! The manifest as written: every value keeps its place in the file, nothing
//! is checked beyond TOML types. `read` fills it (a value of the wrong type
//! or a missing one is `None`, and reported), `validate` turns it into a
//! [`super::Manifest`].
//!
//! These types are also the source of `replicate schema`: their doc comments
//! are the descriptions editors show.

use schemars::JsonSchema;
use toml::Spanned;

use super::choices::{
    CheckDepth, Compression, DatabaseContent, DumpFormat, Folder, Keep, Preset, Strategy,
};

/// A `replicate` manifest: what to copy from a NetBox (or any PostgreSQL plus
/// folders of files) source to a target.
#[derive(Debug, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "replicate manifest")]
pub struct RawManifest {
    /// The manifest format version. Only 1 exists.
    #[schemars(with = "u32", range(min = 1, max = 1), required)]
    pub version: Option<Spanned<i64>>,
    /// Where the data comes from.
    #[schemars(with = "RawSource", required)]
    pub source: Option<Spanned<RawSource>>,
    /// Where the data goes. Its database is dropped and recreated.
    #[schemars(with = "RawTarget", required)]
    pub target: Option<Spanned<RawTarget>>,
    /// What is copied.
    #[serde(default)]
    #[schemars(with = "Option<RawInclude>")]
    pub include: Option<Spanned<RawInclude>>,
    /// Values that never leave the source: rules that replace columns or
    /// leave rows out of the copy, evaluated by the source server.
    #[serde(default)]
    #[schemars(with = "Option<RawSanitize>")]
    pub sanitize: Option<Spanned<RawSanitize>>,
    /// Where and how the artifacts (dump, folder archives, checksums) are written.
    #[serde(default)]
    #[schemars(with = "Option<RawArtifacts>")]
    pub artifacts: Option<Spanned<RawArtifacts>>,
    /// Where the PostgreSQL client programs live.
    #[serde(default)]
    #[schemars(with = "Option<RawTools>")]
    pub tools: Option<Spanned<RawTools>>,
}

/// The system copied from.
#[derive(Debug, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    /// PostgreSQL URL of the source database, e.g.
    /// `postgresql://netbox@db.prod.example.net:5432/netbox`. `${NAME}` is
    /// replaced by the environment variable NAME.
    #[schemars(with = "String", required)]
    pub database: Option<Spanned<String>>,
    /// The source media folder (NetBox's `MEDIA_ROOT`). Relative paths resolve
    /// against the manifest's folder.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub media: Option<Spanned<String>>,
    /// The source's custom scripts folder (NetBox's `SCRIPTS_ROOT`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub scripts: Option<Spanned<String>>,
    /// The source's reports folder (NetBox's `REPORTS_ROOT`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub reports: Option<Spanned<String>>,
    /// A command (argv, no shell) run on the source before the dump, in the
    /// manifest's folder, e.g. NetBox's `manage.py invalidate all`.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>", length(min = 1))]
    pub invalidate: Option<Spanned<Vec<Spanned<String>>>>,
    /// The command that runs the source's NetBox `manage.py`, as an argv
    /// prefix: `["/opt/netbox/venv/bin/python3", "/opt/netbox/netbox/manage.py"]`,
    /// or a package install's `netbox` command.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>", length(min = 1))]
    pub manage: Option<Spanned<Vec<Spanned<String>>>>,
}

/// The system copied to.
#[derive(Debug, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    /// PostgreSQL URL of the target database, which is replaced by the replica.
    /// Put the password in an environment variable: `postgresql://netbox:${PGPASS}@host/netbox`.
    #[schemars(with = "String", required)]
    pub database: Option<Spanned<String>>,
    /// The target media folder; required when media is included. Its content
    /// is replaced by the source's.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub media: Option<Spanned<String>>,
    /// The target's custom scripts folder; required when scripts are included.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub scripts: Option<Spanned<String>>,
    /// The target's reports folder; required when reports are included.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub reports: Option<Spanned<String>>,
    /// A command (argv, no shell) run on the target at the very end, e.g.
    /// NetBox's `manage.py reindex --lazy`.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>", length(min = 1))]
    pub invalidate: Option<Spanned<Vec<Spanned<String>>>>,
    /// The command that runs the target's NetBox `manage.py`, as an argv
    /// prefix (`["/opt/netbox/venv/bin/python3", "/opt/netbox/netbox/manage.py"]`).
    /// With it, `invalidate-target` runs what the target's NetBox release
    /// needs after the copy (its cached configuration cleared, `migrate`,
    /// `reindex --lazy` where the search cache was left out), before
    /// `invalidate`; also after `rollback`.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>", length(min = 1))]
    pub manage: Option<Spanned<Vec<Spanned<String>>>>,
    /// How the target is replaced: `swap` builds the new database and folders
    /// beside the live ones, proves them, and swaps them in at once, keeping
    /// the previous ones for `replicate rollback`; `replace` drops the target
    /// first and rebuilds it in place (less room, no way back).
    #[serde(default)]
    #[schemars(with = "Option<Strategy>", extend("default" = "swap"))]
    pub strategy: Option<Spanned<String>>,
    /// `swap` only: keep the replaced database (`<target>__prev`) and folders
    /// (`<folder>.replicate-prev`) for `replicate rollback`.
    #[serde(default)]
    #[schemars(with = "Option<bool>", extend("default" = true))]
    pub keep_previous: Option<Spanned<bool>>,
    /// `true`: end the target's open sessions at `drop` or `swap` (never
    /// PostgreSQL's own workers); `false`: open sessions make them fail.
    #[serde(default)]
    #[schemars(with = "Option<bool>", extend("default" = false))]
    pub terminate_connections: Option<Spanned<bool>>,
    /// The role that owns the new database and, with `owners = false`, every
    /// restored object (default: the role replicate connects as), so that
    /// NetBox's role can migrate and refresh later.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub owner: Option<Spanned<String>>,
    /// The database `drop` and `create` connect to on the target server.
    #[serde(default)]
    #[schemars(with = "Option<String>", extend("default" = "postgres"))]
    pub maintenance_database: Option<Spanned<String>>,
    /// `true`: go on when the source's NetBox schema is newer than the
    /// target's (the target's NetBox would not know some of the data's
    /// migrations); `false`: `plan` refuses.
    #[serde(default)]
    #[schemars(with = "Option<bool>", extend("default" = false))]
    pub allow_older_netbox: Option<Spanned<bool>>,
}

/// What is copied.
#[derive(Debug, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawInclude {
    /// `full`: schema and data; `schema`: schema only (`pg_dump --schema-only`);
    /// `none`: no database steps at all (folders only).
    #[serde(default)]
    #[schemars(with = "Option<DatabaseContent>", extend("default" = "full"))]
    pub database: Option<Spanned<String>>,
    /// Tables whose rows are left out (their definitions are kept), as
    /// `pg_dump --exclude-table-data` patterns, e.g. `extras_objectchange`.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>", extend("default" = []))]
    pub exclude_table_data: Option<Spanned<Vec<Spanned<String>>>>,
    /// Copy the media folder. Default: `true` when both media folders are given.
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub media: Option<Spanned<bool>>,
    /// Copy the scripts folder. Default: `true` when both scripts folders are given.
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub scripts: Option<Spanned<bool>>,
    /// Copy the reports folder. Default: `true` when both reports folders are given.
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub reports: Option<Spanned<bool>>,
    /// `false`: `--no-owner --no-privileges`, objects belong to the target
    /// user; `true`: keep owners and grants (the roles must exist on the target).
    #[serde(default)]
    #[schemars(with = "Option<bool>", extend("default" = false))]
    pub owners: Option<Spanned<bool>>,
}

/// Sanitizing: what never leaves the source server.
#[derive(Debug, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSanitize {
    /// `netbox`: the rules for what a NetBox database holds that must not
    /// reach a development copy (tokens, sessions, password hashes, e-mail
    /// addresses, webhook secrets, credentials, keys, pending jobs, enabled
    /// event rules), adapted to the NetBox version found.
    #[serde(default)]
    #[schemars(with = "Option<Preset>")]
    pub preset: Option<Spanned<String>>,
    /// Rules of your own, one `[[sanitize.rules]]` each. A rule for a
    /// table the preset also covers replaces the preset's `keep` and the
    /// columns it sets.
    #[serde(default)]
    #[schemars(with = "Option<Vec<RawRule>>")]
    pub rules: Option<Spanned<Vec<Spanned<RawRule>>>>,
    /// Users of the copy given a known password, `username =
    /// "${VARIABLE}"`: after the copy, the target's NetBox (through
    /// `[target] manage`) hashes the variable's value with its own hasher
    /// and sets it, so a development copy can be logged into at once. The
    /// password comes from the environment, never from the manifest.
    #[serde(default)]
    #[schemars(with = "Option<std::collections::BTreeMap<String, String>>")]
    pub logins: Option<Spanned<std::collections::BTreeMap<String, Spanned<String>>>>,
}

/// One sanitizing rule.
#[derive(Debug, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    /// The table, schema-qualified or not (`users_user`, `public.users_user`).
    #[schemars(with = "String", required)]
    pub table: Option<Spanned<String>>,
    /// Column = SQL expression over the row, evaluated by the source server:
    /// `{ email = "'user' || id || '@example.invalid'" }`.
    #[serde(default)]
    #[schemars(with = "Option<std::collections::BTreeMap<String, String>>")]
    pub set: Option<Spanned<std::collections::BTreeMap<String, Spanned<String>>>>,
    /// An SQL condition over the row: only the rows it holds for are
    /// copied; `"false"` copies none.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub keep: Option<Spanned<String>>,
    /// Every key written in the rule, known or not.
    #[serde(skip)]
    #[schemars(skip)]
    pub written: Vec<String>,
}

/// Where and how artifacts are written.
#[derive(Debug, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawArtifacts {
    /// The artifacts folder (relative paths resolve against the manifest's
    /// folder), or an object store: `s3://bucket/prefix`, `gs://bucket/prefix`,
    /// `az://container/prefix`, with credentials from the store's
    /// environment variables.
    #[serde(default)]
    #[schemars(with = "Option<String>", extend("default" = ".replicate"))]
    pub dir: Option<Spanned<String>>,
    /// With an object store: the local folder artifacts are cached in.
    #[serde(default)]
    #[schemars(with = "Option<String>", extend("default" = ".replicate-cache"))]
    pub cache: Option<Spanned<String>>,
    /// The dump format: `directory` (`<db>.dir/`, dumped and restored in
    /// parallel), `custom` (`<db>.dump`) or `plain` (`<db>.sql`, as NetBox's
    /// documentation does it).
    #[serde(default)]
    #[schemars(with = "Option<DumpFormat>", extend("default" = "directory"))]
    pub format: Option<Spanned<String>>,
    /// Compression of the dump and the folder archives.
    #[serde(default)]
    #[schemars(with = "Option<Compression>", extend("default" = "none"))]
    pub compression: Option<Spanned<String>>,
    /// Parallel jobs for `pg_dump`/`pg_restore` (directory format; custom
    /// format restores only).
    #[serde(default)]
    #[schemars(with = "Option<u32>", range(min = 1, max = 64), extend("default" = 2))]
    pub jobs: Option<Spanned<i64>>,
    /// `all`: the artifacts stay after a run; `none`: a run that completed
    /// the whole plan removes them (they hold production data).
    #[serde(default)]
    #[schemars(with = "Option<Keep>", extend("default" = "all"))]
    pub keep: Option<Spanned<String>>,
    /// `rows`: `check` proves every object and every table's row count;
    /// `content`: also every table's content (the SHA-256 of its `COPY`
    /// text), at the cost of reading every table of the copy once more.
    #[serde(default)]
    #[schemars(with = "Option<CheckDepth>", extend("default" = "rows"))]
    pub check: Option<Spanned<String>>,
}

/// PostgreSQL client programs.
#[derive(Debug, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTools {
    /// The folder holding `pg_dump`, `pg_restore` and `psql`. Default: found on `PATH`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub bindir: Option<Spanned<String>>,
}

impl RawSource {
    /// The path written for `folder`.
    pub fn folder(&self, folder: Folder) -> Option<&Spanned<String>> {
        match folder {
            Folder::Media => self.media.as_ref(),
            Folder::Scripts => self.scripts.as_ref(),
            Folder::Reports => self.reports.as_ref(),
        }
    }
}

impl RawTarget {
    /// The path written for `folder`.
    pub fn folder(&self, folder: Folder) -> Option<&Spanned<String>> {
        match folder {
            Folder::Media => self.media.as_ref(),
            Folder::Scripts => self.scripts.as_ref(),
            Folder::Reports => self.reports.as_ref(),
        }
    }
}

impl RawInclude {
    /// Whether `folder` is included, as written.
    pub fn folder(&self, folder: Folder) -> Option<&Spanned<bool>> {
        match folder {
            Folder::Media => self.media.as_ref(),
            Folder::Scripts => self.scripts.as_ref(),
            Folder::Reports => self.reports.as_ref(),
        }
    }
}

/// The JSON Schema of the manifest, as `replicate schema` prints it.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(RawManifest);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
