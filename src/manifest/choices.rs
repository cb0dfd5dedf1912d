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

/// A manifest's choice of words: the enum (its words serde's and the
/// schema's too), its `Choice` list and its `Display`.
macro_rules! choice {
    (
        $(#[doc = $doc:tt])*
        pub enum $name:ident {
            $($(#[doc = $vdoc:tt])* $variant:ident = $word:literal,)*
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
        #[serde(rename_all = "lowercase")]
        pub enum $name {
            $($(#[doc = $vdoc])* $variant,)*
        }

        impl Choice for $name {
            const ALL: &'static [(&'static str, Self)] = &[$(($word, Self::$variant)),*];
        }

        display_as_word!($name);
    };
}

choice! {
    /// How much of the database is copied.
    pub enum DatabaseContent {
        /// Schema and data.
        Full = "full",
        /// Schema only (`pg_dump --schema-only`).
        Schema = "schema",
        /// No database steps at all: folders only.
        None = "none",
    }
}

choice! {
    /// How the target is replaced.
    pub enum Strategy {
        /// Build the new database and folders beside the live ones, prove them,
        /// swap them in at once, keep the previous ones for `rollback`.
        Swap = "swap",
        /// Drop the target first and rebuild it in place: less room, no way back.
        Replace = "replace",
    }
}

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

choice! {
    /// A set of sanitizing rules replicate knows.
    pub enum Preset {
        /// NetBox's secrets, tokens, sessions and actions (README, "Sanitized copies").
        Netbox = "netbox",
    }
}

choice! {
    /// What becomes of the artifacts after a run.
    pub enum Keep {
        /// Every artifact stays (for `--steps`, `--resume`, another target).
        All = "all",
        /// A run that completed the whole plan removes the dump and archives.
        None = "none",
    }
}

choice! {
    /// How much `check` proves of each table.
    pub enum CheckDepth {
        /// Every object, and every table's row count.
        Rows = "rows",
        /// Also every table's content: the SHA-256 of its `COPY` text.
        Content = "content",
    }
}
