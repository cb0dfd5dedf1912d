//! The steps on the database: `dump`, and on the target `drop`, `create` and
//! `restore`.

use super::context::Planner;
use crate::io::compression::Compression;
use crate::io::files::partial_path;
use crate::manifest::{CheckDepth, DatabaseContent, DumpFormat, Strategy};
use crate::plan::step::{
    Action, Artifact, CreateDatabase, DatabaseRef, DropDatabase, Dump, DumpContents, EnvValue,
    EnvVar, Exec, Restore, RestoreInto, Step, StepId, Stream,
};
use crate::postgres::names::companion;
use crate::postgres::quote::{sql_identifier, sql_literal};

/// The suffix of the database `create` makes under `swap`.
pub const NEXT: &str = "__next";
/// The suffix the replaced target takes under `swap`.
pub const PREVIOUS: &str = "__prev";

/// `PGOPTIONS` for the restore's sessions: commits that do not wait for
/// the disk (a failed restore is started again anyway), and index builds
/// that sort in memory up to 512 MB each (the server's default, 64 MB,
/// spills NetBox's larger indexes to disk; pgcopydb takes 1 GB).
pub const RESTORE_OPTIONS: &str = "-c synchronous_commit=off -c maintenance_work_mem=512MB";

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
            // A file pg_dump can seek in: it writes each table's data
            // offset into the table of contents at the end, which
            // `pg_restore -j` needs to restore entries in its own order.
            DumpFormat::Custom => {
                args.push(compress_arg(a.compression).into());
                args.push("--no-sync".into());
                args.push(
                    format!("--file={}", partial_path(&self.path(artifact)).display()).into(),
                );
            }
            // The stream format plans its own dump (stream.rs).
            DumpFormat::Plain | DumpFormat::Stream => {
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
            action: Action::Dump(Box::new(Dump {
                dump: Exec {
                    program: self.program("pg_dump"),
                    args,
                    env: Self::pg_env(url, "source.database"),
                    cwd: None,
                    stdin: None,
                    stdout,
                },
                contents: self.dump_contents(),
            })),
            produces: vec![artifact.clone()],
            consumes: vec![],
            destroys: None,
            server: None,
        }
    }

    /// `psql` on the target's maintenance database running `statements`,
    /// each on its own (`CREATE DATABASE` and `DROP DATABASE` cannot share
    /// a transaction).
    pub(super) fn maintenance_exec(&self, statements: Vec<String>) -> Exec {
        let url = self.maintenance_url();
        let mut args = vec![Self::dbname(&url)];
        for sql in statements {
            args.push("--command".into());
            args.push(sql.into());
        }
        Exec {
            program: self.program("psql"),
            args: Self::psql_args(args),
            env: Self::pg_env(&url, "target.database"),
            cwd: None,
            stdin: None,
            stdout: None,
        }
    }

    /// The target server's maintenance database, where databases are
    /// created, renamed and dropped.
    fn maintenance_url(&self) -> crate::postgres::DbUrl {
        let t = &self.manifest.target;
        t.database.with_database(&t.maintenance_database)
    }

    /// [`Self::maintenance_url`], for replicate's own queries.
    pub(in crate::plan) fn maintenance(&self) -> DatabaseRef {
        DatabaseRef::new(&self.maintenance_url(), "target.database")
    }

    /// What the dump holds, and how its catalog is read.
    pub(in crate::plan) fn dump_contents(&self) -> DumpContents {
        let m = self.manifest;
        DumpContents {
            format: m.artifacts.format,
            schema_only: m.include.database == DatabaseContent::Schema,
            exclude_table_data: m.include.exclude_table_data.clone(),
            hashed: m.artifacts.check == CheckDepth::Content,
            jobs: m.artifacts.jobs,
            bindir: m.tools.bindir.clone(),
        }
    }

    /// The database the restore fills, and where its size is read.
    pub(in crate::plan) fn restore_into(&self) -> RestoreInto {
        RestoreInto {
            database: self.new_database(),
            maintenance: self.maintenance(),
        }
    }

    /// The database `create` makes and `restore` fills: the target itself
    /// under `replace`, `<target>__next` beside it under `swap`.
    pub(in crate::plan) fn new_database(&self) -> String {
        let target = self.manifest.target.database.database();
        match self.manifest.target.strategy {
            Strategy::Replace => target.to_owned(),
            Strategy::Swap => companion(target, NEXT),
        }
    }

    /// `replace` only: drops the target, first ending its client sessions
    /// when asked (never PostgreSQL's own workers: the server stops those).
    pub(super) fn drop(&self) -> Step {
        let t = &self.manifest.target;
        let name = t.database.database();
        let mut statements = Vec::new();
        if t.terminate_connections {
            statements.push(terminate_sessions_sql(name));
        }
        statements.push(format!("DROP DATABASE IF EXISTS {}", sql_identifier(name)));
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
            action: Action::DropDatabase(DropDatabase {
                psql: self.maintenance_exec(statements),
                database: name.to_owned(),
                maintenance: self.maintenance(),
            }),
            produces: vec![],
            consumes: vec![],
            destroys: Some(format!("drop {name}")),
            server: None,
        }
    }

    pub(super) fn create(&self) -> Step {
        let t = &self.manifest.target;
        let name = self.new_database();
        let mut sql = format!(
            "CREATE DATABASE {} TEMPLATE template0",
            sql_identifier(&name)
        );
        if let Some(owner) = &t.owner {
            sql.push_str(&format!(" OWNER {}", sql_identifier(owner)));
        }
        let mut description = match self.facts {
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
        if let Some(owner) = &t.owner {
            description.push_str(&format!(", owned by {owner}"));
        }
        let mut statements = Vec::new();
        let swap = t.strategy == Strategy::Swap;
        if swap {
            // A leftover of a failed run goes first.
            statements.push(format!("DROP DATABASE IF EXISTS {}", sql_identifier(&name)));
            description.push_str(&format!(
                ", beside {} (a leftover {name} is dropped first)",
                t.database.database()
            ));
        }
        statements.push(sql);
        Step {
            id: StepId::Create,
            kind: StepId::Create.kind(),
            description,
            action: Action::CreateDatabase(CreateDatabase {
                psql: self.maintenance_exec(statements),
                leftover: swap.then_some(name),
                maintenance: self.maintenance(),
            }),
            produces: vec![],
            consumes: vec![],
            destroys: None,
            server: None,
        }
    }

    pub(super) fn restore(&self, dump: &Artifact) -> Step {
        let m = self.manifest;
        let a = &m.artifacts;
        let into = self.new_database();
        let url = &m.target.database.with_database(&into);
        let mut env = Self::pg_env(url, "target.database");
        // Restored objects belong to the owner (with `owners = false`).
        let role = m.target.owner.as_ref().filter(|_| !m.include.owners);
        // Session settings for the restore's connections: index builds sort
        // in memory, and commits do not wait for the disk (a crash midway
        // fails the step anyway, and the database is recreated on resume).
        let mut options = RESTORE_OPTIONS.to_owned();
        if let (Some(role), DumpFormat::Plain) = (role, a.format) {
            // psql has no --role: the session starts as the owner.
            options.push_str(&format!(" -c role={}", pgoptions_word(role)));
        }
        env.push(EnvVar {
            name: "PGOPTIONS".into(),
            value: EnvValue::Value(options),
        });
        let (exec, how) = match a.format {
            // The stream format plans its own restore (stream.rs).
            DumpFormat::Plain | DumpFormat::Stream => (
                Exec {
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
                },
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
                if let Some(role) = role {
                    args.push(format!("--role={role}").into());
                }
                args.push(self.path(dump).display().to_string().into());
                (
                    Exec {
                        program: self.program("pg_restore"),
                        args,
                        env,
                        cwd: None,
                        stdin: None,
                        stdout: None,
                    },
                    format!("pg_restore, {} jobs", a.jobs),
                )
            }
        };
        Step {
            id: StepId::Restore,
            kind: StepId::Restore.kind(),
            description: format!(
                "restore {} into {} ({how}{})",
                dump.name,
                url.database(),
                role.map(|r| format!(", as {r}")).unwrap_or_default()
            ),
            action: Action::Restore(Restore {
                commands: vec![exec],
                into: self.restore_into(),
                bindir: m.tools.bindir.clone(),
            }),
            produces: vec![],
            consumes: vec![dump.clone()],
            destroys: None,
            server: None,
        }
    }
}

/// A value inside `PGOPTIONS`, where spaces and backslashes are escaped
/// with a backslash.
pub(super) fn pgoptions_word(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c == ' ' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// SQL that ends every client session on the database `name` but this
/// one; PostgreSQL's own workers (autovacuum) are left to the server,
/// which stops them itself for a rename or a drop.
pub(super) fn terminate_sessions_sql(name: &str) -> String {
    format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = {} AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
        sql_literal(name)
    )
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
