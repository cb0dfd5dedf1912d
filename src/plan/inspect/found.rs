//! What live planning found.

/// What live planning learnt about the source database, needed to create the
/// target database like it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFacts {
    pub encoding: String,
    pub lc_collate: String,
    pub lc_ctype: String,
    /// `icu` or `libc` (PostgreSQL 15 and later); `None` on older servers.
    pub locale_provider: Option<String>,
    /// The ICU locale when the provider is ICU.
    pub icu_locale: Option<String>,
}

/// What live planning found.
#[derive(Debug, Clone, Default)]
pub struct Inspection {
    pub facts: Option<SourceFacts>,
    /// One line each, for the plan's header.
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
}
