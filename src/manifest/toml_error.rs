//! Turns `toml`'s deserialization errors into manifest diagnostics with a
//! label under the offending text and a helpful hint.

use std::ops::Range;

use super::diagnostic::ManifestDiagnostic;
use super::raw::{
    RawArtifacts, RawInclude, RawManifest, RawSanitize, RawSource, RawTarget, RawTools,
};
use super::source_file::SourceFile;

/// The keys each table allows, to name the table in messages and to suggest
/// the key that was probably meant.
pub const TABLE_KEYS: &[(&str, &[&str])] = &[
    ("the top level", RawManifest::KEYS),
    ("[source]", RawSource::KEYS),
    ("[target]", RawTarget::KEYS),
    ("[include]", RawInclude::KEYS),
    ("[sanitize]", RawSanitize::KEYS),
    ("[[sanitize.rules]]", &["table", "set", "keep"]),
    ("[artifacts]", RawArtifacts::KEYS),
    ("[tools]", RawTools::KEYS),
];

pub fn from_toml_error(src: &SourceFile, error: &toml::de::Error) -> ManifestDiagnostic {
    let message = error.message().trim().to_owned();
    let span = error.span().unwrap_or(0..0);

    if message.starts_with("invalid type: ") || message.starts_with("invalid value: ") {
        return wrong_type(src, span, &message);
    }
    if message == "duplicate key" {
        let key = src.text().get(span.clone()).unwrap_or("").to_owned();
        return ManifestDiagnostic::error(
            "manifest::duplicate-key",
            src,
            format!("the key `{key}` is set twice"),
        )
        .with_label(span, "set again here")
        .with_help("keep one of the two values");
    }
    ManifestDiagnostic::error("manifest::syntax", src, "the manifest is not valid TOML")
        .with_label(span, message)
        .with_help("see https://toml.io for the syntax")
}

/// A key that `table` (`[source]`, `the top level`) does not allow.
pub fn unknown_key(
    src: &SourceFile,
    span: Range<usize>,
    found: &str,
    table: Option<&str>,
    allowed: &[&str],
) -> ManifestDiagnostic {
    let message = match table {
        Some(table) => format!("unknown key `{found}` in {table}"),
        None => format!("unknown key `{found}`"),
    };
    let mut help = match did_you_mean(found, allowed.iter().copied()) {
        Some(best) => format!("did you mean `{best}`? "),
        None => String::new(),
    };
    if !allowed.is_empty() {
        let list: Vec<String> = allowed.iter().map(|k| format!("`{k}`")).collect();
        help.push_str(&format!("allowed keys here: {}", list.join(", ")));
    }
    let diagnostic = ManifestDiagnostic::error("manifest::unknown-key", src, message)
        .with_label(span, "unknown key");
    if help.is_empty() {
        diagnostic
    } else {
        diagnostic.with_help(help)
    }
}

/// A required key that is not there; `span` is the table's (empty at the
/// top level).
pub fn missing_key(src: &SourceFile, span: Range<usize>, key: &str) -> ManifestDiagnostic {
    let at_top = span.is_empty();
    let (message, label, help) = match (at_top, key) {
        (true, "version") => (
            "the manifest has no `version`".to_owned(),
            "expected `version = 1` at the top".to_owned(),
            "add `version = 1` as the first line of the manifest".to_owned(),
        ),
        (true, "source" | "target") => (
            format!("the manifest has no [{key}] table"),
            format!("[{key}] is required"),
            format!("add a [{key}] table with at least `database = \"postgresql://user@host/db\"`"),
        ),
        (true, _) => (
            format!("the manifest has no `{key}`"),
            "required".to_owned(),
            format!("add `{key}`"),
        ),
        (false, "database") => (
            "this table has no `database`".to_owned(),
            "needs `database`".to_owned(),
            "add `database = \"postgresql://user@host:5432/dbname\"` to this table".to_owned(),
        ),
        (false, _) => (
            format!("this table has no `{key}`"),
            format!("needs `{key}`"),
            format!("add `{key}` to this table"),
        ),
    };
    ManifestDiagnostic::error("manifest::missing-key", src, message)
        .with_label(span, label)
        .with_help(help)
}

/// "invalid type: integer `3`, expected a string".
fn wrong_type(src: &SourceFile, span: Range<usize>, message: &str) -> ManifestDiagnostic {
    let expected = message
        .split_once(", expected ")
        .map(|(_, e)| e.to_owned())
        .unwrap_or_default();
    let found = message
        .split_once(": ")
        .map(|(_, rest)| rest.split(", expected ").next().unwrap_or(rest).to_owned())
        .unwrap_or_default();
    let expected = match expected.as_str() {
        "u32" | "i64" | "u64" => "a whole number".to_owned(),
        "a boolean" => "`true` or `false`".to_owned(),
        "a sequence" => "an array of strings, like [\"a\", \"b\"]".to_owned(),
        other => other.to_owned(),
    };
    let message = match key_before(src.text(), span.start) {
        Some(key) => format!("`{key}` must be {expected}, not {found}"),
        None => format!("expected {expected}, found {found}"),
    };
    ManifestDiagnostic::error("manifest::wrong-type", src, message)
        .with_label(span, format!("expected {expected}"))
}

/// The key of a `key = value` line whose value starts at `offset`.
fn key_before(text: &str, offset: usize) -> Option<&str> {
    let line_start = text.get(..offset)?.rfind('\n').map_or(0, |i| i + 1);
    let (key, _) = text.get(line_start..offset)?.split_once('=')?;
    let key = key.trim();
    (!key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.'))
    .then_some(key)
}

/// The closest of `candidates` to `word`, if any is close enough to be a typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_words_only() {
        let keys = ["database", "media", "invalidate"];
        assert_eq!(did_you_mean("databse", keys.into_iter()), Some("database"));
        assert_eq!(did_you_mean("medias", keys.into_iter()), Some("media"));
        assert_eq!(did_you_mean("zzz", keys.into_iter()), None);
    }
}
