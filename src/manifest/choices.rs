//! The manifest's enumerated values.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::io::compression::Compression;
pub use crate::postgres::DumpFormat;

/// A value chosen from a fixed list of words.
pub trait Choice: Copy + Sized + 'static {
    /// Every value with the word that spells it in a manifest.
    const ALL: &'static [(&'static str, Self)];

    fn parse(word: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(name, _)| *name == word)
            .map(|(_, value)| *value)
    }

    fn word(self) -> &'static str
    where
        Self: PartialEq,
    {
        Self::ALL
            .iter()
            .find(|(_, value)| *value == self)
            .map(|(name, _)| *name)
            .unwrap_or("?")
    }

    /// "`a`, `b` or `c`", for help texts.
    fn allowed() -> String {
        let words: Vec<String> = Self::ALL.iter().map(|(n, _)| format!("`{n}`")).collect();
        match words.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }
}

/// `Display` as the word the manifest writes (`word`, or the method named).
macro_rules! display_as_word {
    ($t:ty) => {
        display_as_word!($t, word);
    };
    ($t:ty, $word:ident) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.$word())
            }
        }
    };
}

/// How much of the database is copied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseContent {
    /// Schema and data.
    Full,
    /// Schema only (`pg_dump --schema-only`).
    Schema,
    /// No database steps at all: folders only.
    None,
}

impl Choice for DatabaseContent {
    const ALL: &'static [(&'static str, Self)] = &[
        ("full", Self::Full),
        ("schema", Self::Schema),
        ("none", Self::None),
    ];
}
display_as_word!(DatabaseContent);

/// How the target is replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Build the new database and folders beside the live ones, prove them,
    /// swap them in at once, keep the previous ones for `rollback`.
    Swap,
    /// Drop the target first and rebuild it in place: less room, no way back.
    Replace,
}

impl Choice for Strategy {
    const ALL: &'static [(&'static str, Self)] =
        &[("swap", Self::Swap), ("replace", Self::Replace)];
}
display_as_word!(Strategy);

impl Choice for DumpFormat {
    const ALL: &'static [(&'static str, Self)] = &[
        ("directory", Self::Directory),
        ("custom", Self::Custom),
        ("plain", Self::Plain),
        ("stream", Self::Stream),
    ];
}

impl Choice for Compression {
    const ALL: &'static [(&'static str, Self)] = &[
        ("none", Self::None),
        ("gzip", Self::Gzip),
        ("zstd", Self::Zstd),
    ];
}

/// A folder of files copied beside the database: NetBox's `MEDIA_ROOT`,
/// `SCRIPTS_ROOT` and `REPORTS_ROOT`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Folder {
    Media,
    Scripts,
    Reports,
}

impl Folder {
    /// Every folder, in the order they are archived, extracted and swapped.
    pub const ALL: [Folder; 3] = [Folder::Media, Folder::Scripts, Folder::Reports];

    /// The manifest key and artifact name part: `media`, `scripts`, `reports`.
    pub fn as_str(self) -> &'static str {
        match self {
            Folder::Media => "media",
            Folder::Scripts => "scripts",
            Folder::Reports => "reports",
        }
    }
}

display_as_word!(Folder, as_str);

/// A set of sanitizing rules replicate knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// NetBox's secrets, tokens, sessions and actions (README, "Sanitized copies").
    Netbox,
}

impl Choice for Preset {
    const ALL: &'static [(&'static str, Self)] = &[("netbox", Self::Netbox)];
}
display_as_word!(Preset);

/// What becomes of the artifacts after a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Keep {
    /// Every artifact stays (for `--steps`, `--resume`, another target).
    All,
    /// A run that completed the whole plan removes the dump and archives.
    None,
}

impl Choice for Keep {
    const ALL: &'static [(&'static str, Self)] = &[("all", Self::All), ("none", Self::None)];
}
display_as_word!(Keep);

/// How much `check` proves of each table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckDepth {
    /// Every object, and every table's row count.
    Rows,
    /// Also every table's content: the SHA-256 of its `COPY` text.
    Content,
}

impl Choice for CheckDepth {
    const ALL: &'static [(&'static str, Self)] =
        &[("rows", Self::Rows), ("content", Self::Content)];
}
display_as_word!(CheckDepth);
