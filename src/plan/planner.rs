//! From a [`Manifest`] to a [`Plan`]: which steps exist, what each runs, and
//! how they depend on each other (DESIGN section 2).

use std::path::{Path, PathBuf};

use super::step::{Action, Artifact, ArtifactKind, EnvValue, EnvVar, Exec, Step, StepId, Stream};
use super::{Plan, PlanBuilder};
use crate::db_url::DbUrl;
use crate::error::Error;
use crate::manifest::{Compression, DatabaseContent, DumpFormat, Manifest, Text};
use crate::quote::{sql_identifier, sql_literal};

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

/// `PGOPTIONS` for the restore's sessions.
pub const RESTORE_OPTIONS: &str = "-c synchronous_commit=off";

/// The edges of DESIGN section 2. Edges to steps a manifest does not ask for
/// are dropped by the builder.
pub(crate) const EDGES: &[(StepId, StepId)] = &[
    (StepId::InvalidateSource, StepId::Dump),
    (StepId::Dump, StepId::Verify),
    (StepId::Archive, StepId::Verify),
    (StepId::Verify, StepId::Drop),
    (StepId::Drop, StepId::Create),
    (StepId::Create, StepId::Restore),
    (StepId::Restore, StepId::InvalidateTarget),
    (StepId::Verify, StepId::Extract),
    (StepId::Extract, StepId::InvalidateTarget),
];

/// Builds the frozen step graph for `manifest`. `facts` come from live
/// planning; without them (`--offline`) the `create` step shows where the
/// source's encoding and locale will go.
pub fn plan(manifest: &Manifest, facts: Option<&SourceFacts>) -> Result<Plan, Error> {
    let planner = Planner { manifest, facts };
    let mut builder = PlanBuilder::new();

    if let Some(argv) = &manifest.source.invalidate {
        builder.step(planner.invalidate(StepId::InvalidateSource, argv, "source"));
    }
    let dump = manifest.has_database().then(|| planner.dump_artifact());
    let media = planner.media_artifacts();
    if let Some(dump) = &dump {
        builder.step(planner.dump(dump));
    }
    if let Some((archive, sums)) = &media {
        builder.step(planner.archive(archive, sums));
    }
    let mut all_artifacts: Vec<Artifact> = dump.iter().cloned().collect();
    if let Some((archive, sums)) = &media {
        all_artifacts.push(archive.clone());
        all_artifacts.push(sums.clone());
    }
    builder.step(planner.verify(all_artifacts));
    if let Some(dump) = &dump {
        builder.step(planner.drop());
        builder.step(planner.create());
        builder.step(planner.restore(dump));
    }
    if let Some((archive, sums)) = &media {
        builder.step(planner.extract(archive, sums));
    }
    if let Some(argv) = &manifest.target.invalidate {
        builder.step(planner.invalidate(StepId::InvalidateTarget, argv, "target"));
    }

    for &(before, after) in EDGES {
        builder.edge(before, after);
    }
    // Without a dump, the source's cache is still invalidated before anything
    // is checked or touched.
    if !builder.contains(StepId::Dump) {
        builder.edge(StepId::InvalidateSource, StepId::Verify);
    }
    builder.build()
}

struct Planner<'a> {
    manifest: &'a Manifest,
    facts: Option<&'a SourceFacts>,
}

impl Planner<'_> {
    fn dir(&self) -> &Path {
        &self.manifest.artifacts.dir
    }

    /// The database name as a file name: `/` and NUL cannot be in one.
    fn file_stem(&self) -> String {
        self.manifest
            .source
            .database
            .database()
            .replace(['/', '\0'], "_")
    }

    fn path(&self, artifact: &Artifact) -> PathBuf {
        self.dir().join(&artifact.name)
    }

    fn program(&self, name: &str) -> Text {
        Text::plain(self.manifest.tools.program(name).display().to_string())
    }

    /// `--dbname=URL`, shown as the manifest wrote the URL.
    fn dbname(url: &DbUrl) -> Text {
        Text::new(
            format!("--dbname={}", url.conninfo()),
            format!("--dbname={}", url.conninfo_shown()),
        )
    }

    fn dump_artifact(&self) -> Artifact {
        let stem = self.file_stem();
        let a = &self.manifest.artifacts;
        let name = match a.format {
            DumpFormat::Directory => format!("{stem}.dir"),
            DumpFormat::Custom => format!("{stem}.dump"),
            DumpFormat::Plain => format!("{stem}.sql{}", a.compression.suffix()),
        };
        Artifact {
            name,
            kind: ArtifactKind::Dump,
        }
    }

    fn media_artifacts(&self) -> Option<(Artifact, Artifact)> {
        if !self.manifest.include.media {
            return None;
        }
        let stem = self.file_stem();
        Some((
            Artifact {
                name: format!(
                    "{stem}_media.tar{}",
                    self.manifest.artifacts.compression.suffix()
                ),
                kind: ArtifactKind::MediaArchive,
            },
            Artifact {
                name: format!("{stem}_media.sha256"),
                kind: ArtifactKind::MediaSums,
            },
        ))
    }

    /// `PGPASSWORD` from the URL when it has one, and an application name
    /// that shows in `pg_stat_activity`.
    fn pg_env(url: &DbUrl, origin: &str) -> Vec<EnvVar> {
        let mut env = vec![EnvVar {
            name: "PGAPPNAME".into(),
            value: EnvValue::Value("replicate".into()),
        }];
        if url.password().is_some() {
            env.push(EnvVar {
                name: "PGPASSWORD".into(),
                value: EnvValue::SecretFrom(origin.into()),
            });
        }
        env
    }

    fn invalidate(&self, id: StepId, argv: &[Text], side: &str) -> Step {
        let (program, args) = argv
            .split_first()
            .map_or((Text::plain(""), Vec::new()), |(p, a)| {
                (p.clone(), a.to_vec())
            });
        Step {
            id,
            kind: id.kind(),
            description: format!("invalidate the {side}'s cache"),
            action: Action::Exec(Exec {
                program,
                args,
                env: vec![],
                cwd: Some(self.manifest.dir.clone()),
                stdin: None,
                stdout: None,
            }),
            produces: vec![],
            consumes: vec![],
            destroys: None,
        }
    }

    fn dump(&self, artifact: &Artifact) -> Step {
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
                    format!(
                        "--file={}",
                        crate::artifacts::partial_path(&self.path(artifact)).display()
                    )
                    .into(),
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

    fn archive(&self, archive: &Artifact, sums: &Artifact) -> Step {
        let from = self.manifest.source.media.clone().unwrap_or_default();
        Step {
            id: StepId::Archive,
            kind: StepId::Archive.kind(),
            description: format!("archive the source media folder {}", from.display()),
            action: Action::Archive {
                from,
                to: self.path(archive),
                compression: self.manifest.artifacts.compression,
                file_sums: self.path(sums),
            },
            produces: vec![archive.clone(), sums.clone()],
            consumes: vec![],
            destroys: None,
        }
    }

    fn verify(&self, artifacts: Vec<Artifact>) -> Step {
        Step {
            id: StepId::Verify,
            kind: StepId::Verify.kind(),
            description: "check every artifact against SHA256SUMS".into(),
            action: Action::Verify {
                sums: self.dir().join("SHA256SUMS"),
            },
            produces: vec![],
            consumes: artifacts,
            destroys: None,
        }
    }

    fn maintenance_exec(&self, sql: String) -> Action {
        let t = &self.manifest.target;
        let url = t.database.with_database(&t.maintenance_database);
        Action::Exec(Exec {
            program: self.program("psql"),
            args: vec![
                "--no-psqlrc".into(),
                "--no-password".into(),
                "--set=ON_ERROR_STOP=1".into(),
                Self::dbname(&url),
                "--command".into(),
                sql.into(),
            ],
            env: Self::pg_env(&url, "target.database"),
            cwd: None,
            stdin: None,
            stdout: None,
        })
    }

    fn drop(&self) -> Step {
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

    fn create(&self) -> Step {
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

    fn restore(&self, dump: &Artifact) -> Step {
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
                    args: vec![
                        "--no-psqlrc".into(),
                        "--no-password".into(),
                        "--set=ON_ERROR_STOP=1".into(),
                        "--single-transaction".into(),
                        "--quiet".into(),
                        Self::dbname(url),
                    ],
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

    fn extract(&self, archive: &Artifact, sums: &Artifact) -> Step {
        let into = self.manifest.target.media.clone().unwrap_or_default();
        Step {
            id: StepId::Extract,
            kind: StepId::Extract.kind(),
            description: format!(
                "replace the target media folder {} with the archive's files",
                into.display()
            ),
            action: Action::Extract {
                archive: self.path(archive),
                compression: self.manifest.artifacts.compression,
                into,
                file_sums: self.path(sums),
            },
            produces: vec![],
            consumes: vec![archive.clone(), sums.clone()],
            destroys: Some("replace media".into()),
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
