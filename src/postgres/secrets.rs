//! Secrets: passwords, and values taken from the environment. They are
//! never shown; children get them through their environment, and whatever
//! a child prints is searched for them before anyone reads it.

use std::collections::BTreeMap;
use std::fmt;

/// A password. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Secrets by origin (`source.database`, `target.database`), and the values
/// the manifest took from the environment.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    by_origin: BTreeMap<String, Secret>,
    /// `(NAME, value)` of every `${NAME}`, longest value first.
    variables: Vec<(String, Secret)>,
}

/// Values shorter than this are not hidden again in output: they would
/// hide ordinary words and numbers.
const SHORTEST_HIDDEN: usize = 4;

impl Secrets {
    pub fn insert(&mut self, origin: &str, secret: Secret) {
        self.by_origin.insert(origin.to_owned(), secret);
    }

    /// A value that came from the environment variable `name`.
    pub fn insert_variable(&mut self, name: &str, value: Secret) {
        self.variables.push((name.to_owned(), value));
        self.variables
            .sort_by_key(|(_, v)| std::cmp::Reverse(v.expose().len()));
    }

    pub fn get(&self, origin: &str) -> Option<&Secret> {
        self.by_origin.get(origin)
    }

    /// `text` with every password replaced by `***` and every value from
    /// the environment by the `${NAME}` that wrote it.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in self.by_origin.values() {
            if !secret.expose().is_empty() {
                out = out.replace(secret.expose(), "***");
            }
        }
        for (name, value) in &self.variables {
            if value.expose().len() >= SHORTEST_HIDDEN {
                out = out.replace(value.expose(), &format!("${{{name}}}"));
            }
        }
        out
    }
}
