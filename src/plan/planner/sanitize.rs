//! `[sanitize]` in the steps: `dump` leaves the sanitized tables' rows out
//! of `pg_dump` and reads them through their rules in the same snapshot;
//! `restore` loads them between the data and the indexes; `check` counts
//! them.

use super::context::Planner;
use crate::manifest::DumpFormat;
use crate::plan::step::{
    Action, Artifact, ArtifactKind, Dump, Exec, Restore, SanitizedDump, SanitizedTable, Step,
    Stream,
};
use crate::postgres::quote::sql_identifier;

impl Planner<'_> {
    /// The tables live planning resolved (none offline).
    pub(super) fn sanitized_tables(&self) -> &[SanitizedTable] {
        self.facts.map_or(&[][..], |f| f.sanitized.as_slice())
    }

    /// `<db>.sanitized`, the folder of sanitized rows beside a directory or
    /// custom dump; a plain dump holds them itself.
    pub(super) fn sanitized_artifact(&self) -> Option<Artifact> {
        let m = self.manifest;
        let own_folder = matches!(
            m.artifacts.format,
            DumpFormat::Directory | DumpFormat::Custom
        );
        (m.sanitize.is_some() && own_folder).then(|| Artifact {
            name: format!("{}.sanitized", self.file_stem()),
            kind: ArtifactKind::Sanitized,
        })
    }

    /// Turns the dump step into a sanitized one.
    pub(super) fn sanitize_dump(&self, mut step: Step, folder: Option<&Artifact>) -> Step {
        let Action::Dump(planned) = step.action else {
            return step;
        };
        let Dump { mut dump, contents } = *planned;
        let tables = self.sanitized_tables().to_vec();
        for table in &tables {
            dump.args
                .push(format!("--exclude-table-data={}", table.qualified()).into());
        }
        let post_data = (self.manifest.artifacts.format == DumpFormat::Plain).then(|| {
            let mut post = dump.clone();
            post.args.push("--section=post-data".into());
            post.stdout = None;
            post
        });
        if post_data.is_some() {
            dump.args.push("--section=pre-data".into());
            dump.args.push("--section=data".into());
        }
        let psql = self.source_psql();
        let names: Vec<String> = tables
            .iter()
            .map(|t| format!("{}.{}", t.schema, t.table))
            .collect();
        step.description.push_str(&if names.is_empty() {
            "; sanitized: the rules are resolved against the source when applied".to_owned()
        } else {
            format!(
                "; sanitized, in one snapshot of the source: {}",
                names.join(", ")
            )
        });
        if let Some(folder) = folder {
            step.produces.push(folder.clone());
        }
        step.action = Action::SanitizedDump(Box::new(SanitizedDump {
            dump,
            post_data,
            psql,
            tables,
            folder: folder.map(|f| self.path(f)),
            contents,
        }));
        step
    }

    /// Turns a directory or custom restore into sections, with the
    /// sanitized rows loaded after the data and before the indexes and
    /// constraints, so that those are built over them like over any row.
    pub(super) fn sanitize_restore(&self, mut step: Step, folder: &Artifact) -> Step {
        let Action::Restore(Restore { commands, .. }) = &mut step.action else {
            return step;
        };
        let Some(restore) = commands.first().cloned() else {
            return step;
        };
        let section = |name: &str, parallel: bool| {
            let mut exec = restore.clone();
            if !parallel {
                exec.args.retain(|a| !a.value().starts_with("--jobs="));
            }
            let at = exec.args.len().saturating_sub(1);
            exec.args.insert(at, format!("--section={name}").into());
            exec
        };
        let url_arg = restore
            .args
            .iter()
            .find(|a| a.value().starts_with("--dbname="))
            .cloned();
        let mut sections = vec![section("pre-data", false), section("data", true)];
        let role = self
            .manifest
            .target
            .owner
            .as_ref()
            .filter(|_| !self.manifest.include.owners);
        for table in self.sanitized_tables() {
            let mut args: Vec<crate::manifest::Text> = vec!["--quiet".into()];
            args.extend(url_arg.clone());
            if let Some(role) = role {
                args.push("--command".into());
                args.push(format!("SET ROLE {}", sql_identifier(role)).into());
            }
            args.push("--command".into());
            args.push(table.copy_in().into());
            sections.push(Exec {
                program: self.program("psql"),
                args: Self::psql_args(args),
                env: restore.env.clone(),
                cwd: None,
                stdin: Some(Stream {
                    path: self.path(folder).join(&table.file),
                    compression: crate::io::compression::Compression::None,
                }),
                stdout: None,
            });
        }
        sections.push(section("post-data", true));
        *commands = sections;
        step.description
            .push_str(", in sections with the sanitized rows loaded before the indexes");
        step.consumes.push(folder.clone());
        step
    }
}
