//! A string that may hold values from the environment: what is used, and
//! what people are shown.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A string as it is used (every `${NAME}` replaced) and as it is shown (as
/// written, `${NAME}` kept, when it took a value from the environment). It
/// is saved and compared as it is shown: a plan file never holds a value
/// that came from the environment. Read back from a file, the shown text is
/// all there is; replicate runs only plans it made itself.
#[derive(Clone)]
pub struct Text {
    value: String,
    shown: Option<String>,
}

impl Text {
    /// A string that took nothing from the environment.
    pub fn plain(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            shown: None,
        }
    }

    /// `value`, shown as `shown` when the two differ.
    pub fn new(value: impl Into<String>, shown: impl Into<String>) -> Self {
        let (value, shown) = (value.into(), shown.into());
        let shown = (shown != value).then_some(shown);
        Self { value, shown }
    }

    /// The text to use: give it to a child, never to a person.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The text for people, plans and files.
    pub fn shown(&self) -> &str {
        self.shown.as_deref().unwrap_or(&self.value)
    }
}

impl From<String> for Text {
    fn from(value: String) -> Self {
        Self::plain(value)
    }
}

impl From<&str> for Text {
    fn from(value: &str) -> Self {
        Self::plain(value)
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.shown(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.shown())
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.shown() == other.shown()
    }
}

impl Eq for Text {}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.shown())
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Text::plain)
    }
}

impl JsonSchema for Text {
    fn schema_name() -> Cow<'static, str> {
        "String".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        String::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_shown_text_is_saved_compared_and_printed() {
        let text = Text::new("postgresql://u:s3cret@h/db", "postgresql://u:${PW}@h/db");
        assert_eq!(text.value(), "postgresql://u:s3cret@h/db");
        assert_eq!(
            serde_json::to_string(&text).unwrap(),
            "\"postgresql://u:${PW}@h/db\""
        );
        assert!(!format!("{text:?} {text}").contains("s3cret"));
        let back: Text = serde_json::from_str("\"postgresql://u:${PW}@h/db\"").unwrap();
        assert_eq!(back, text);
        assert_eq!(Text::plain("x").shown(), "x");
    }
}
