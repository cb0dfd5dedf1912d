//! The stream format: `dump` writes the schema with `pg_dump` and every
//! table's rows itself, in one snapshot; `restore` loads them table by
//! table, each table's indexes built as soon as its rows are in. Under
//! `swap` the restore follows the dump as it writes (the new database is
//! not the live one): the graph's "follows" edge from `dump` to
//! `restore`; `swap` still waits for `verify` and `check`.

use super::context::Planner;
use super::database::RESTORE_OPTIONS;
use crate::manifest::{DatabaseContent, Strategy, Text};
use crate::plan::step::{
    Action, Artifact, EnvValue, EnvVar, Exec, Step, StepId, StreamDump, StreamRestore,
};

impl Planner<'_> {
    /// Whether the restore follows the dump as it writes: under `swap`,
    /// where it builds a new database beside the live one.
    pub(super) fn restore_follows_dump(&self) -> bool {
        self.manifest.target.strategy == Strategy::Swap
    }

    pub(super) fn stream_dump(&self, artifact: &Artifact) -> Step {
        let m = self.manifest;
        let url = &m.source.database;
        // The post-data section as an archive, whose table of contents
        // lists its entries; printed into post-data.sql by pg_restore.
        let section = |name: &str| {
            let format = if name == "post-data" {
                "--format=custom"
            } else {
                "--format=plain"
            };
            let mut args: Vec<Text> = vec![
                "--no-password".into(),
                Self::dbname(url),
                format.into(),
                format!("--section={name}").into(),
            ];
            if name == "post-data" {
                args.push("--compress=0".into());
            }
            if !m.include.owners {
                args.push("--no-owner".into());
                args.push("--no-privileges".into());
            }
            // Without the data pg_dump puts in these sections: the large
            // objects and the materialized views' refresh.
            if m.include.database == DatabaseContent::Schema {
                args.push("--schema-only".into());
            }
            Exec {
                program: self.program("pg_dump"),
                args,
                env: Self::pg_env(url, "source.database"),
                cwd: None,
                stdin: None,
                stdout: None,
            }
        };
        let schema_only = m.include.database == DatabaseContent::Schema;
        let mut details = vec![format!("{} tables at once", m.artifacts.jobs)];
        if schema_only {
            details = vec!["schema only".to_owned()];
        } else if !m.include.exclude_table_data.is_empty() {
            details.push(format!(
                "without the rows of {}",
                m.include.exclude_table_data.join(", ")
            ));
        }
        let sanitized = self.sanitized_tables().to_vec();
        if m.sanitize.is_some() {
            details.push(if sanitized.is_empty() {
                "sanitized: the rules are resolved against the source when applied".to_owned()
            } else {
                let names: Vec<String> = sanitized
                    .iter()
                    .map(|t| format!("{}.{}", t.schema, t.table))
                    .collect();
                format!("sanitized: {}", names.join(", "))
            });
        }
        Step {
            id: StepId::Dump,
            kind: StepId::Dump.kind(),
            description: format!(
                "dump {} as a stream: the schema with pg_dump, every table's rows as COPY text, in one snapshot ({})",
                url.database(),
                details.join(", ")
            ),
            action: Action::StreamDump(Box::new(StreamDump {
                pre_data: section("pre-data"),
                post_data: section("post-data"),
                psql: self.source_psql(),
                sanitized,
                contents: self.dump_contents(),
            })),
            produces: vec![artifact.clone()],
            consumes: vec![],
            destroys: None,
            server: None,
        }
    }

    pub(super) fn stream_restore(&self, dump: &Artifact) -> Step {
        let m = self.manifest;
        let into = self.new_database();
        let url = m.target.database.with_database(&into);
        let mut env = Self::pg_env(&url, "target.database");
        let role = m.target.owner.as_ref().filter(|_| !m.include.owners);
        let mut options = RESTORE_OPTIONS.to_owned();
        if let Some(role) = role {
            options.push_str(&format!(
                " -c role={}",
                super::database::pgoptions_word(role)
            ));
        }
        env.push(EnvVar {
            name: "PGOPTIONS".into(),
            value: EnvValue::Value(options),
        });
        let follows_dump = self.restore_follows_dump();
        Step {
            id: StepId::Restore,
            kind: StepId::Restore.kind(),
            description: format!(
                "restore {} into {into} ({} tables at once, each table's indexes built when its rows are in{}{})",
                dump.name,
                m.artifacts.jobs,
                if follows_dump {
                    "; follows the dump as it writes, the live target untouched"
                } else {
                    "; under replace nothing streams: it waits for verify"
                },
                role.map(|r| format!(", as {r}")).unwrap_or_default()
            ),
            action: Action::StreamRestore(Box::new(StreamRestore {
                dump: self.path(dump),
                psql: Exec {
                    program: self.program("psql"),
                    args: Self::psql_args(["--quiet".into(), Self::dbname(&url)]),
                    env,
                    cwd: None,
                    stdin: None,
                    stdout: None,
                },
                jobs: m.artifacts.jobs,
                into: self.restore_into(),
                follows_dump,
            })),
            produces: vec![],
            consumes: vec![dump.clone()],
            destroys: None,
            server: None,
        }
    }
}
