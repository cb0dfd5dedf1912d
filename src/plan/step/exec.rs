//! A child program as the plan holds it: its arguments, environment
//! (secrets only named) and the files at the ends of its pipes.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use crate::display::shell::shell_line;
use crate::manifest::{Compression, Text};

/// A child program to run. Secrets appear only as a reference to where they
/// come from; their values are filled in when the step runs.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Exec {
    /// The program to run.
    pub program: Text,
    /// Its arguments; one that took a value from `${NAME}` is saved and
    /// shown as written.
    pub args: Vec<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    pub cwd: Option<PathBuf>,
    /// A file streamed into the program's standard input.
    pub stdin: Option<Stream>,
    /// A file the program's standard output is streamed into (through SHA-256).
    pub stdout: Option<Stream>,
}

impl Exec {
    /// The command as a shell line for people: environment first, secrets
    /// as `***`.
    pub fn display(&self) -> String {
        let mut words: Vec<String> = self
            .env
            .iter()
            .map(|v| match &v.value {
                EnvValue::Value(value) => format!("{}={}", v.name, shell_line([value.as_str()])),
                EnvValue::SecretFrom(_) => format!("{}=***", v.name),
            })
            .collect();
        words.push(shell_line(
            std::iter::once(self.program.shown()).chain(self.args.iter().map(Text::shown)),
        ));
        words.join(" ")
    }
}

/// A file at one end of a pipe, compressed or not on disk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Stream {
    pub path: PathBuf,
    pub compression: Compression,
}

/// An environment variable for a child.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EnvVar {
    pub name: String,
    #[serde(flatten)]
    pub value: EnvValue,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EnvValue {
    /// A plain value.
    Value(String),
    /// A secret, named by where it comes from (`source.database`,
    /// `target.database`); never written down.
    SecretFrom(String),
}

/// A command and what it does, for the plan and for its failure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Labeled {
    pub what: String,
    pub exec: Exec,
    /// Whether `rollback` runs it again after putting the previous copy
    /// back.
    #[serde(default = "run_after_rollback", skip_serializing_if = "Clone::clone")]
    pub after_rollback: bool,
}

fn run_after_rollback() -> bool {
    true
}
