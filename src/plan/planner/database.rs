//! The steps on the database: `dump`, and on the target `drop`, `create` and
//! `restore`.

use super::context::Planner;
use crate::io::compression::Compression;
use crate::io::files::partial_path;
use crate::manifest::{DatabaseContent, DumpFormat};
use crate::plan::step::{Action, Artifact, EnvValue, EnvVar, Exec, Step, StepId, Stream};
use crate::postgres::quote::{sql_identifier, sql_literal};

/// `PGOPTIONS` for the restore's sessions.
pub const RESTORE_OPTIONS: &str = "-c synchronous_commit=off";

impl Planner<'_> {
    pub(super) fn dump(&self, artifact: &Artifact) -> Step {
        let m = self.manifest;
        let a = &m.artifacts;
        let url = &m.source.database;
        let mut args = vec![
            "--no-password".into(),
            Self::dbname(url),
            format!("--format={}", a.format).into(),
        ];
        let mut details = vec![format!("{} format", a.format)];
        let mut stdout = None;
        match a.format {
            DumpFormat::Directory => {
                args.push(format!("--jobs={}", a.jobs).into());
                args.push(compress_arg(a.compression).into());
                // replicate flushes the files itself, as they are written.
                args.push("--no-sync".into());
                args.push(
                    format!("--file={}", partial_path(&self.path(artifact)).display()).into(),
                );
                details.push(format!("{} jobs", a.jobs));
            }
            DumpFormat::Custom => {
                args.push(compress_arg(a.compression).into());
                stdout = Some(Stream {
                    path: self.path(artifact),
                    compression: Compression::None,
                });
            }
            DumpFormat::Plain => {
                if !m.include.owners {
                    args.push("--no-owner".into());
                    args.push("--no-privileges".into());
                }
                stdout = Some(Stream {
                    path: self.path(artifact),
                    compression: a.compression,
                });
            }
        }
        if a.compression != Compression::None {
            details.push(a.compression.to_string());
        }
        if m.include.database == DatabaseContent::Schema {
            args.push("--schema-only".into());
            details.push("schema only".into());
        } else {
            for pattern in &m.include.exclude_table_data {
                args.push(format!("--exclude-table-data={pattern}").into());
            }
            if !m.include.exclude_table_data.is_empty() {
                details.push(format!(
                    "without the rows of {}",
                    m.include.exclude_table_data.join(", ")
                ));
            }
        }
        Step {
            id: StepId::Dump,
            kind: StepId::Dump.kind(),
            description: format!("dump {} ({})", url.database(), details.join(", ")),
            action: Action::Exec(Exec {
                program: self.program("pg_dump"),
                args,
                env: Self::pg_env(url, "source.database"),
                cwd: None,
                stdin: None,
                stdout,
            }),
            produces: vec![artifact.clone()],
            consumes: vec![],
            destroys: None,
        }
    }

    pub(super) fn maintenance_exec(&self, sql: String) -> Action {
        let t = &self.manifest.target;
        let url = t.database.with_database(&t.maintenance_database);
        Action::Exec(Exec {
            program: self.program("psql"),
            args: Self::psql_args([Self::dbname(&url), "--command".into(), sql.into()]),
            env: Self::pg_env(&url, "target.database"),
            cwd: None,
            stdin: None,
            stdout: None,
        })
    }

    pub(super) fn drop(&self) -> Step {
        let t = &self.manifest.target;
        let name = t.database.database();
        let mut sql = format!("DROP DATABASE IF EXISTS {}", sql_identifier(name));
        if t.terminate_connections {
            sql.push_str(" WITH (FORCE)");
        }
        let server = t.database.server_label();
        Step {
            id: StepId::Drop,
            kind: StepId::Drop.kind(),
            description: format!(
                "drop database {name} on {server}{}",
                if t.terminate_connections {
                    ", ending its open sessions"
                } else {
                    ""
                }
            ),
            action: self.maintenance_exec(sql),
            produces: vec![],
            consumes: vec![],
            destroys: Some(format!("drop {name}")),
        }
    }

    pub(super) fn create(&self) -> Step {
        let name = self.manifest.target.database.database();
        let mut sql = format!(
            "CREATE DATABASE {} TEMPLATE template0",
            sql_identifier(name)
        );
        let description = match self.facts {
            Some(f) => {
                sql.push_str(&format!(" ENCODING {}", sql_literal(&f.encoding)));
                if let (Some(provider), Some(icu)) = (&f.locale_provider, &f.icu_locale)
                    && provider == "icu"
                {
                    sql.push_str(&format!(
                        " LOCALE_PROVIDER icu ICU_LOCALE {}",
                        sql_literal(icu)
                    ));
                }
                sql.push_str(&format!(
                    " LC_COLLATE {} LC_CTYPE {}",
                    sql_literal(&f.lc_collate),
                    sql_literal(&f.lc_ctype)
                ));
                format!(
                    "create database {name} ({} encoding, {} collation, like the source)",
                    f.encoding, f.lc_collate
                )
            }
            None => {
                sql.push_str(
                    " ENCODING '<source encoding>' LC_COLLATE '<source collation>' LC_CTYPE '<source ctype>'",
                );
                format!(
                    "create database {name} with the source's encoding and locale (read when applied)"
                )
            }
        };
        Step {
            id: StepId::Create,
            kind: StepId::Create.kind(),
            description,
            action: self.maintenance_exec(sql),
            produces: vec![],
            consumes: vec![],
            destroys: None,
        }
    }

    pub(super) fn restore(&self, dump: &Artifact) -> Step {
        let m = self.manifest;
        let a = &m.artifacts;
        let url = &m.target.database;
        let mut env = Self::pg_env(url, "target.database");
        // Session settings for the restore's connections: index builds sort
        // in memory, and commits do not wait for the disk (a crash midway
        // fails the step anyway, and the database is recreated on resume).
        env.push(EnvVar {
            name: "PGOPTIONS".into(),
            value: EnvValue::Value(RESTORE_OPTIONS.into()),
        });
        let (action, how) = match a.format {
            DumpFormat::Plain => (
                Action::Exec(Exec {
                    program: self.program("psql"),
                    args: Self::psql_args([
                        "--single-transaction".into(),
                        "--quiet".into(),
                        Self::dbname(url),
                    ]),
                    env,
                    cwd: None,
                    stdin: Some(Stream {
                        path: self.path(dump),
                        compression: a.compression,
                    }),
                    stdout: None,
                }),
                "psql, in one transaction".to_owned(),
            ),
            DumpFormat::Custom | DumpFormat::Directory => {
                let mut args = vec![
                    "--no-password".into(),
                    "--exit-on-error".into(),
                    format!("--jobs={}", a.jobs).into(),
                    Self::dbname(url),
                ];
                if !m.include.owners {
                    args.push("--no-owner".into());
                    args.push("--no-privileges".into());
                }
                args.push(self.path(dump).display().to_string().into());
                (
                    Action::Exec(Exec {
                        program: self.program("pg_restore"),
                        args,
                        env,
                        cwd: None,
                        stdin: None,
                        stdout: None,
                    }),
                    format!("pg_restore, {} jobs", a.jobs),
                )
            }
        };
        Step {
            id: StepId::Restore,
            kind: StepId::Restore.kind(),
            description: format!("restore {} into {} ({how})", dump.name, url.database()),
            action,
            produces: vec![],
            consumes: vec![dump.clone()],
            destroys: None,
        }
    }
}

/// `pg_dump --compress` for a compression; a bare level means gzip on every
/// pg_dump version, `zstd` needs pg_dump 16.
fn compress_arg(compression: Compression) -> String {
    match compression {
        Compression::None => "--compress=0".into(),
        Compression::Gzip => "--compress=6".into(),
        Compression::Zstd => "--compress=zstd".into(),
    }
}
