//! What planning every step needs: the manifest and what live planning
//! learnt, where artifacts go, which programs run, how they connect; and
//! the steps that are one command (`invalidate-*`) or one check (`verify`).

use std::path::{Path, PathBuf};

use crate::manifest::{CopiedFolder, DumpFormat, Manifest, Text};
use crate::plan::inspect::SourceFacts;
use crate::plan::step::{
    Action, Artifact, ArtifactKind, EnvValue, EnvVar, Exec, Labeled, Step, StepId,
};
use crate::postgres::DbUrl;
use crate::postgres::psql::BASE_ARGS;

pub(in crate::plan) struct Planner<'a> {
    pub(in crate::plan) manifest: &'a Manifest,
    pub(in crate::plan) facts: Option<&'a SourceFacts>,
}

impl Planner<'_> {
    pub(in crate::plan) fn dir(&self) -> &Path {
        &self.manifest.artifacts.dir
    }

    /// The database name as a file name: `/` and NUL cannot be in one.
    pub(in crate::plan) fn file_stem(&self) -> String {
        self.manifest
            .source
            .database
            .database()
            .replace(['/', '\0'], "_")
    }

    pub(in crate::plan) fn path(&self, artifact: &Artifact) -> PathBuf {
        self.dir().join(&artifact.name)
    }

    pub(in crate::plan) fn program(&self, name: &str) -> Text {
        Text::plain(self.manifest.tools.program(name).display().to_string())
    }

    /// `--dbname=URL`, shown as the manifest wrote the URL.
    pub(in crate::plan) fn dbname(url: &DbUrl) -> Text {
        Text::new(
            format!("--dbname={}", url.conninfo()),
            format!("--dbname={}", url.conninfo_shown()),
        )
    }

    pub(in crate::plan) fn dump_artifact(&self) -> Artifact {
        let stem = self.file_stem();
        let a = &self.manifest.artifacts;
        let name = match a.format {
            DumpFormat::Directory => format!("{stem}.dir"),
            DumpFormat::Custom => format!("{stem}.dump"),
            DumpFormat::Plain => format!("{stem}.sql{}", a.compression.suffix()),
            DumpFormat::Stream => format!("{stem}.stream"),
        };
        Artifact {
            name,
            kind: ArtifactKind::Dump,
        }
    }

    /// `<db>.catalog.json`: what the dump holds, from the source's catalog.
    pub(in crate::plan) fn catalog_artifact(&self) -> Artifact {
        Artifact {
            name: format!("{}.catalog.json", self.file_stem()),
            kind: ArtifactKind::Catalog,
        }
    }

    /// Each copied folder's archive and file sums:
    /// `<db>_<folder>.tar[.gz|.zst]` and `<db>_<folder>.sha256`.
    pub(in crate::plan) fn folder_artifacts(&self) -> Vec<(CopiedFolder, Artifact, Artifact)> {
        let stem = self.file_stem();
        let suffix = self.manifest.artifacts.compression.suffix();
        self.manifest
            .folders()
            .into_iter()
            .map(|copied| {
                let name = copied.folder;
                (
                    copied,
                    Artifact {
                        name: format!("{stem}_{name}.tar{suffix}"),
                        kind: ArtifactKind::FolderArchive,
                    },
                    Artifact {
                        name: format!("{stem}_{name}.sha256"),
                        kind: ArtifactKind::FolderSums,
                    },
                )
            })
            .collect()
    }

    /// `psql`'s arguments: replicate's usual options, then `more`.
    pub(in crate::plan) fn psql_args(more: impl IntoIterator<Item = Text>) -> Vec<Text> {
        BASE_ARGS
            .iter()
            .map(|a| Text::plain(*a))
            .chain(more)
            .collect()
    }

    /// `psql` on the source database (it holds the dump's snapshot and
    /// reads tables in it).
    pub(in crate::plan) fn source_psql(&self) -> Exec {
        let url = &self.manifest.source.database;
        Exec {
            program: self.program("psql"),
            args: Self::psql_args(["--quiet".into(), Self::dbname(url)]),
            env: Self::pg_env(url, "source.database"),
            cwd: None,
            stdin: None,
            stdout: None,
        }
    }

    /// `PGPASSWORD` from the URL when it has one, and an application name
    /// that shows in `pg_stat_activity`.
    pub(in crate::plan) fn pg_env(url: &DbUrl, origin: &str) -> Vec<EnvVar> {
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

    pub(in crate::plan) fn invalidate(&self, id: StepId, argv: &[Text], side: &str) -> Step {
        Step {
            id,
            kind: id.kind(),
            description: format!("invalidate the {side}'s cache"),
            action: Action::Run(self.exec_of(argv)),
            produces: vec![],
            consumes: vec![],
            destroys: None,
            server: None,
        }
    }

    /// `invalidate-target`: NetBox's own actions through `target.manage`
    /// (`after_copy`, or clearing its cached configuration when not known),
    /// then the manifest's `invalidate`; `None` when there is neither.
    pub(in crate::plan) fn invalidate_target(
        &self,
        after_copy: Option<&[crate::netbox::AfterCopy]>,
    ) -> Option<Step> {
        let t = &self.manifest.target;
        let mut commands = Vec::new();
        let mut words = Vec::new();
        if let Some(manage) = &t.manage {
            use crate::netbox::AfterCopy;
            let logins = self
                .manifest
                .sanitize
                .as_ref()
                .is_some_and(|s| !s.logins.is_empty());
            let unknown = [AfterCopy::ClearConfig, AfterCopy::SetPasswords];
            let actions = after_copy.unwrap_or(if logins { &unknown[..] } else { &unknown[..1] });
            words.extend(actions.iter().map(|a| a.short()));
            // NetBox's own actions in one process (it takes seconds to
            // start); the logins' passwords in one of their own, which
            // alone gets them in its environment and is not run again
            // after a rollback.
            let (alone, together): (Vec<AfterCopy>, Vec<AfterCopy>) =
                actions.iter().partition(|a| a.on_its_own());
            let with_manage = |args: Vec<String>| {
                let mut argv = manage.clone();
                argv.extend(args.into_iter().map(Text::plain));
                self.exec_of(&argv)
            };
            if !together.is_empty() {
                let whats: Vec<&str> = together.iter().map(|a| a.what()).collect();
                commands.push(Labeled {
                    what: format!("in one NetBox process: {}", whats.join("; ")),
                    exec: with_manage(crate::netbox::in_one_process(&together)),
                    after_rollback: true,
                });
            }
            for action in alone {
                let mut exec = with_manage(action.args());
                if action == AfterCopy::SetPasswords {
                    exec.env.push(EnvVar {
                        name: crate::netbox::LOGINS_VARIABLE.into(),
                        value: EnvValue::SecretFrom(crate::manifest::LOGINS_SECRET.into()),
                    });
                }
                commands.push(Labeled {
                    what: action.what().to_owned(),
                    exec,
                    after_rollback: action.after_rollback(),
                });
            }
        }
        if let Some(argv) = &t.invalidate {
            words.push("target.invalidate");
            commands.push(Labeled {
                what: "the manifest's invalidate".to_owned(),
                exec: self.exec_of(argv),
                after_rollback: true,
            });
        }
        if commands.is_empty() {
            return None;
        }
        let id = StepId::InvalidateTarget;
        Some(Step {
            id,
            kind: id.kind(),
            description: if t.manage.is_some() {
                format!(
                    "make the target's NetBox serve the copy: {}",
                    words.join(", then ")
                )
            } else {
                "invalidate the target's cache".to_owned()
            },
            action: Action::AfterCopy {
                commands,
                strategy: t.strategy,
            },
            produces: vec![],
            consumes: vec![],
            destroys: None,
            server: None,
        })
    }

    /// An argv run in the manifest's folder.
    pub(super) fn exec_of(&self, argv: &[Text]) -> Exec {
        let (program, args) = argv
            .split_first()
            .map_or((Text::plain(""), Vec::new()), |(p, a)| {
                (p.clone(), a.to_vec())
            });
        Exec {
            program,
            args,
            env: vec![],
            cwd: Some(self.manifest.dir.clone()),
            stdin: None,
            stdout: None,
        }
    }

    pub(in crate::plan) fn verify(&self, artifacts: Vec<Artifact>) -> Step {
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
            server: None,
        }
    }
}

/// Every name under which a plan for `manifest` may write an artifact,
/// whatever the format, the compression and the folders copied: what an
/// earlier run in another format may have left (`clean` removes them all).
pub fn every_artifact_name(manifest: &Manifest) -> Vec<String> {
    use crate::io::compression::Compression;
    use crate::manifest::Folder;
    let stem = manifest
        .source
        .database
        .database()
        .replace(['/', '\0'], "_");
    let mut names: Vec<String> = [".dir", ".dump", ".stream", ".catalog.json", ".sanitized"]
        .iter()
        .map(|suffix| format!("{stem}{suffix}"))
        .collect();
    for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
        let suffix = compression.suffix();
        names.push(format!("{stem}.sql{suffix}"));
        for folder in Folder::ALL {
            names.push(format!("{stem}_{folder}.tar{suffix}"));
        }
    }
    for folder in Folder::ALL {
        names.push(format!("{stem}_{folder}.sha256"));
    }
    names
}
