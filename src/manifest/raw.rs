//! The manifest as written: every value keeps its place in the file, nothing
//! is checked beyond TOML types. `read` fills it (a value of the wrong type
//! or a missing one is `None`, and reported), `validate` turns it into a
//! [`super::Manifest`].
//!
//! These types are also the source of `replicate schema`: their doc comments
//! are the descriptions editors show.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use toml::Spanned;

use super::choices::{
    CheckDepth, Compression, DatabaseContent, DumpFormat, Folder, Keep, Preset, Strategy,
};

raw_table! {
    /// A `replicate` manifest: what to copy from a NetBox (or any PostgreSQL plus
    /// folders of files) source to a target.
    #[schemars(title = "replicate manifest")]
    pub struct RawManifest: read_by_hand {
        @required {
            /// The manifest format version. Only 1 exists.
            version: "u32" [range(min = 1, max = 1)] => i64;
            /// Where the data comes from.
            source: "RawSource" => RawSource;
            /// Where the data goes. Its database is dropped and recreated.
            target: "RawTarget" => RawTarget;
        }
        /// What is copied.
        include: "Option<RawInclude>" => RawInclude;
        /// Values that never leave the source: rules that replace columns or
        /// leave rows out of the copy, evaluated by the source server.
        sanitize: "Option<RawSanitize>" => RawSanitize;
        /// Where and how the artifacts (dump, folder archives, checksums) are written.
        artifacts: "Option<RawArtifacts>" => RawArtifacts;
        /// Where the PostgreSQL client programs live.
        tools: "Option<RawTools>" => RawTools;
    }
}

raw_table! {
    /// The system copied from.
    #[derive(Default)]
    pub struct RawSource: system {}
}

raw_table! {
    /// The system copied to.
    #[derive(Default)]
    pub struct RawTarget: system {
        /// How the target is replaced: `swap` builds the new database and folders
        /// beside the live ones, proves them, and swaps them in at once, keeping
        /// the previous ones for `replicate rollback`; `replace` drops the target
        /// first and rebuilds it in place (less room, no way back).
        strategy: "Option<Strategy>" [extend("default" = "swap")] => String;
        /// `swap` only: keep the replaced database (`<target>__prev`) and folders
        /// (`<folder>.replicate-prev`) for `replicate rollback`.
        keep_previous: "Option<bool>" [extend("default" = true)] => bool;
        /// `true`: end the target's open sessions at `drop` or `swap` (never
        /// PostgreSQL's own workers); `false`: open sessions make them fail.
        terminate_connections: "Option<bool>" [extend("default" = false)] => bool;
        /// The role that owns the new database and, with `owners = false`, every
        /// restored object (default: the role replicate connects as), so that
        /// NetBox's role can migrate and refresh later.
        owner: "Option<String>" => String;
        /// The database `drop` and `create` connect to on the target server.
        maintenance_database: "Option<String>" [extend("default" = "postgres")] => String;
        /// `true`: go on when the source's NetBox schema is newer than the
        /// target's (the target's NetBox would not know some of the data's
        /// migrations); `false`: `plan` refuses.
        allow_older_netbox: "Option<bool>" [extend("default" = false)] => bool;
    }
}

raw_table! {
    /// What is copied.
    pub struct RawInclude {
        /// `full`: schema and data; `schema`: schema only (`pg_dump --schema-only`);
        /// `none`: no database steps at all (folders only).
        database: "Option<DatabaseContent>" [extend("default" = "full")] => String;
        /// Tables whose rows are left out (their definitions are kept), as
        /// `pg_dump --exclude-table-data` patterns, e.g. `extras_objectchange`.
        exclude_table_data: "Option<Vec<String>>" [extend("default" = [])] => Vec<Spanned<String>>;
        /// Copy the media folder. Default: `true` when both media folders are given.
        media: "Option<bool>" => bool;
        /// Copy the scripts folder. Default: `true` when both scripts folders are given.
        scripts: "Option<bool>" => bool;
        /// Copy the reports folder. Default: `true` when both reports folders are given.
        reports: "Option<bool>" => bool;
        /// `false`: `--no-owner --no-privileges`, objects belong to the target
        /// user; `true`: keep owners and grants (the roles must exist on the target).
        owners: "Option<bool>" [extend("default" = false)] => bool;
    }
}

raw_table! {
    /// Sanitizing: what never leaves the source server.
    #[derive(Default)]
    pub struct RawSanitize: read_by_hand {
        /// `netbox`: the rules for what a NetBox database holds that must not
        /// reach a development copy (tokens, sessions, password hashes, e-mail
        /// addresses, webhook secrets, credentials, keys, pending jobs, enabled
        /// event rules), adapted to the NetBox version found.
        preset: "Option<Preset>" => String;
        /// Rules of your own, one `[[sanitize.rules]]` each. A rule for a
        /// table the preset also covers replaces the preset's `keep` and the
        /// columns it sets.
        rules: "Option<Vec<RawRule>>" => Vec<Spanned<RawRule>>;
        /// Users of the copy given a known password, `username =
        /// "${VARIABLE}"`: after the copy, the target's NetBox (through
        /// `[target] manage`) hashes the variable's value with its own hasher
        /// and sets it, so a development copy can be logged into at once. The
        /// password comes from the environment, never from the manifest.
        logins: "Option<std::collections::BTreeMap<String, String>>" => BTreeMap<String, Spanned<String>>;
    }
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
    pub set: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
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

raw_table! {
    /// Where and how artifacts are written.
    pub struct RawArtifacts {
        /// The artifacts folder (relative paths resolve against the manifest's
        /// folder), or an object store: `s3://bucket/prefix`, `gs://bucket/prefix`,
        /// `az://container/prefix`, with credentials from the store's
        /// environment variables.
        dir: "Option<String>" [extend("default" = ".replicate")] => String;
        /// With an object store: the local folder artifacts are cached in.
        cache: "Option<String>" [extend("default" = ".replicate-cache")] => String;
        /// The dump format: `directory` (`<db>.dir/`, dumped and restored in
        /// parallel), `custom` (`<db>.dump`) or `plain` (`<db>.sql`, as NetBox's
        /// documentation does it).
        format: "Option<DumpFormat>" [extend("default" = "directory")] => String;
        /// Compression of the dump and the folder archives.
        compression: "Option<Compression>" [extend("default" = "none")] => String;
        /// Parallel jobs for `pg_dump`/`pg_restore` (directory format; custom
        /// format restores only).
        jobs: "Option<u32>" [range(min = 1, max = 64), extend("default" = 2)] => i64;
        /// `all`: the artifacts stay after a run; `none`: a run that completed
        /// the whole plan removes them (they hold production data).
        keep: "Option<Keep>" [extend("default" = "all")] => String;
        /// `rows`: `check` proves every object and every table's row count;
        /// `content`: also every table's content (the SHA-256 of its `COPY`
        /// text), at the cost of reading every table of the copy once more.
        check: "Option<CheckDepth>" [extend("default" = "rows")] => String;
    }
}

raw_table! {
    /// The client programs replicate runs.
    pub struct RawTools {
        /// The folder holding `pg_dump`, `pg_restore` and `psql`. Default: found on `PATH`.
        bindir: "Option<String>" => String;
        /// An OpenSSH client configuration file for `ssh://` folders and
        /// tunnels (`ssh -F`); relative paths resolve against the manifest.
        /// Default: the user's own (`~/.ssh/config`).
        ssh_config: "Option<String>" => String;
    }
}

/// `folder(Folder)`: the value written for the folder's key (`media`,
/// `scripts`, `reports`): a path in `[source]` and `[target]`, whether it is
/// copied in `[include]`.
macro_rules! folder_keys {
    ($($table:ty => $value:ty),*) => {$(
        impl $table {
            /// The value written for `folder`.
            pub fn folder(&self, folder: Folder) -> Option<&Spanned<$value>> {
                match folder {
                    Folder::Media => self.media.as_ref(),
                    Folder::Scripts => self.scripts.as_ref(),
                    Folder::Reports => self.reports.as_ref(),
                }
            }
        }
    )*};
}

folder_keys!(RawSource => String, RawTarget => String, RawInclude => bool);

/// The JSON Schema of the manifest, as `replicate schema` prints it.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(RawManifest);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
