//! What live planning found.

use std::collections::BTreeMap;

use crate::plan::step::SanitizedTable;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What live planning learnt about the source database, needed to create the
/// target database like it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFacts {
    pub encoding: String,
    pub lc_collate: String,
    pub lc_ctype: String,
    /// `icu` or `libc` (PostgreSQL 15 and later); `None` on older servers.
    pub locale_provider: Option<String>,
    /// The ICU locale when the provider is ICU.
    pub icu_locale: Option<String>,
    /// The tables copied through sanitize rules, resolved and checked.
    pub sanitized: Vec<SanitizedTable>,
}

/// What live planning found.
#[derive(Debug, Clone, Default)]
pub struct Inspection {
    pub facts: Option<SourceFacts>,
    /// One line each, for the plan's header.
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
    /// Whether the target database exists.
    pub target_exists: bool,
    /// The target server's `server_version_num` and the extensions it can
    /// create, when it was reached.
    pub target_server: Option<(u32, Vec<String>)>,
    /// `exclude_table_data` patterns that match no table of the source.
    pub unmatched_patterns: Vec<String>,
    /// The NetBox schema of each side, when it is a NetBox.
    pub source_netbox: Option<NetboxSchema>,
    pub target_netbox: Option<NetboxSchema>,
    /// What the target's NetBox needs after the copy (through
    /// `target.manage`), when the source is a NetBox.
    pub after_copy: Option<Vec<crate::netbox::AfterCopy>>,
    pub sizes: Sizes,
    /// What was learnt of the source, to keep beside the artifacts; from
    /// `source.json` when the source was not contacted.
    pub source: Option<SourceRecord>,
}

/// What planning learnt about the source, kept beside the artifacts as
/// `source.json`: a machine that restores them without reaching the
/// source plans with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceRecord {
    /// `server_version_num` of the source server.
    pub server_version_num: u32,
    /// The source database's size.
    pub database_size: u64,
    pub facts: SourceFacts,
    pub sizes: Sizes,
    /// The source's NetBox migrations (app, name), when it is a NetBox.
    #[serde(default)]
    pub netbox_migrations: Option<Vec<(String, String)>>,
    /// The plan's notes about the source.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// The name of the record in the artifacts.
pub const SOURCE_RECORD: &str = "source.json";

/// A database's NetBox schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetboxSchema {
    /// `NetBox 4.2.6 to 4.2.8`: the releases whose migrations these are.
    pub release: String,
    /// The latest migration of each NetBox app.
    pub latest: BTreeMap<String, String>,
}

/// How big the source is, as live planning measured it: for the plan's
/// estimate of the artifacts and for progress while applying.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sizes {
    /// The source database, indexes included.
    pub source_database: u64,
    /// The source's table data the dump copies (tables and their TOAST,
    /// without excluded and sanitized-out rows' tables; no indexes).
    pub source_data: u64,
    /// The copied source folders' files.
    pub folders: u64,
}
