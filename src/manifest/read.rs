//! From TOML text to the manifest as written ([`RawManifest`]): every table
//! is walked key by key, so that every unknown key, wrong type and missing
//! key is reported, not only the first one, and the values that are fine
//! still go on to be checked.

use std::ops::Range;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::diagnostic::ManifestDiagnostic;
use super::raw::{
    RawArtifacts, RawInclude, RawManifest, RawRule, RawSanitize, RawSource, RawTarget, RawTools,
};
use super::raw_table::Values;
use super::source_file::SourceFile;
use super::toml_error::{TABLE_KEYS, did_you_mean, from_toml_error, missing_key, unknown_key};

/// Reads `text` into the manifest as written, with every problem found on
/// the way, pointing into `src` (the same text with its passwords masked).
/// A file that is not TOML gives no manifest at all.
pub fn read(
    text: &str,
    src: &SourceFile,
) -> Result<(RawManifest, Vec<ManifestDiagnostic>), ManifestDiagnostic> {
    // An empty file has nothing to point at: show it as one empty line.
    let padded;
    let src = if text.is_empty() {
        padded = SourceFile::new(src.name(), "\n");
        &padded
    } else {
        src
    };
    let root = DeTable::parse(text).map_err(|e| from_toml_error(src, &e))?;
    let mut reader = Reader {
        src,
        problems: Vec::new(),
    };
    let table = root.get_ref();
    reader.known_keys(table, "the top level");
    let whole = 0..0;
    let version = reader.required(table, "version", &whole);
    let source = reader.table(table, "source", &whole, true, |v| RawSource::read(v));
    let target = reader.table(table, "target", &whole, true, |v| RawTarget::read(v));
    let include = reader.table(table, "include", &whole, false, |v| RawInclude::read(v));
    let sanitize = reader.table(table, "sanitize", &whole, false, |v| RawSanitize {
        preset: v.value("preset"),
        rules: v.reader.rules(v.table),
        logins: v.value("logins"),
    });
    let artifacts = reader.table(table, "artifacts", &whole, false, |v| RawArtifacts::read(v));
    let tools = reader.table(table, "tools", &whole, false, |v| RawTools::read(v));
    let raw = RawManifest {
        version,
        source,
        target,
        include,
        sanitize,
        artifacts,
        tools,
    };
    Ok((raw, reader.problems))
}

struct Reader<'a> {
    src: &'a SourceFile,
    problems: Vec<ManifestDiagnostic>,
}

impl<'a> Reader<'a> {
    /// Reports every key of `table` that its format does not know, in the
    /// order they are written.
    fn known_keys(&mut self, table: &DeTable<'_>, name: &str) {
        let allowed = TABLE_KEYS
            .iter()
            .find(|(table_name, _)| *table_name == name)
            .map_or(&[][..], |(_, keys)| *keys);
        let mut unknown: Vec<(&str, Range<usize>)> = table
            .iter()
            .filter(|(key, _)| !allowed.contains(&key.get_ref().as_ref()))
            .map(|(key, _)| (key.get_ref().as_ref(), key.span()))
            .collect();
        unknown.sort_by_key(|(_, span)| span.start);
        for (key, span) in unknown {
            self.problems
                .push(unknown_key(self.src, span, key, Some(name), allowed));
        }
    }

    /// A sub-table, read by `read` when it is present and is a table.
    fn table<'r, T>(
        &'r mut self,
        parent: &DeTable<'_>,
        key: &str,
        parent_span: &Range<usize>,
        required: bool,
        read: impl FnOnce(&mut TableValues<'r, 'a, '_, '_>) -> T,
    ) -> Option<Spanned<T>> {
        let Some(value) = parent.get(key) else {
            if required {
                self.missing(parent, key, parent_span);
            }
            return None;
        };
        let span = value.span();
        let Some(table) = value.get_ref().as_table() else {
            self.wrong_type(key, span, "a table", value.get_ref());
            return None;
        };
        self.known_keys(table, &format!("[{key}]"));
        let read = read(&mut TableValues {
            reader: self,
            table,
            span: &span,
        });
        Some(Spanned::new(span, read))
    }

    /// `[[sanitize.rules]]`: an array of tables, each read like a table.
    fn rules(&mut self, table: &DeTable<'_>) -> Option<Spanned<Vec<Spanned<RawRule>>>> {
        let value = table.get("rules")?;
        let span = value.span();
        let Some(items) = value.get_ref().as_array() else {
            let expected = "an array of tables (`[[sanitize.rules]]`)";
            self.wrong_type("rules", span, expected, value.get_ref());
            return None;
        };
        let mut rules = Vec::new();
        for item in items.iter() {
            let item_span = item.span();
            let Some(rule) = item.get_ref().as_table() else {
                self.wrong_type("rules", item_span, "a table", item.get_ref());
                continue;
            };
            self.known_keys(rule, "[[sanitize.rules]]");
            let read = RawRule {
                table: self.required(rule, "table", &item_span),
                set: self.value(rule, "set"),
                keep: self.value(rule, "keep"),
                written: rule.iter().map(|(k, _)| k.get_ref().to_string()).collect(),
            };
            rules.push(Spanned::new(item_span, read));
        }
        Some(Spanned::new(span, rules))
    }

    /// Reports `key`'s value at `span` as not `expected`.
    fn wrong_type(&mut self, key: &str, span: Range<usize>, expected: &str, found: &DeValue<'_>) {
        let message = format!("`{key}` must be {expected}, not {}", found.type_str());
        self.problems.push(
            ManifestDiagnostic::error("manifest::wrong-type", self.src, message)
                .with_label(span, format!("expected {expected}")),
        );
    }

    /// A key that must be there.
    fn required<T: DeserializeOwned>(
        &mut self,
        table: &DeTable<'_>,
        key: &str,
        table_span: &Range<usize>,
    ) -> Option<T> {
        if table.get(key).is_none() {
            self.missing(table, key, table_span);
            return None;
        }
        self.value(table, key)
    }

    /// Reports a missing key, unless a misspelling of it was reported as
    /// unknown (with the right name).
    fn missing(&mut self, table: &DeTable<'_>, key: &str, table_span: &Range<usize>) {
        let misspelt = table
            .iter()
            .any(|(k, _)| did_you_mean(k.get_ref(), std::iter::once(key)).is_some());
        if !misspelt {
            self.problems
                .push(missing_key(self.src, table_span.clone(), key));
        }
    }

    /// A key's value, when it is there and of the right type.
    fn value<T: DeserializeOwned>(&mut self, table: &DeTable<'_>, key: &str) -> Option<T> {
        let value = table.get(key)?;
        match T::deserialize(ValueDeserializer::from(value.clone())) {
            Ok(value) => Some(value),
            Err(error) => {
                self.problems.push(from_toml_error(self.src, &error));
                None
            }
        }
    }
}

/// One table being read: its values for [`Values`].
struct TableValues<'r, 'a, 't, 's> {
    reader: &'r mut Reader<'a>,
    table: &'t DeTable<'t>,
    span: &'s Range<usize>,
}

impl Values for TableValues<'_, '_, '_, '_> {
    fn value<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        self.reader.value(self.table, key)
    }

    fn required<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        self.reader.required(self.table, key, self.span)
    }
}
