//! From a [`Manifest`] to a [`Plan`]: which steps exist, what each runs, and
//! how they depend on each other (DESIGN section 2).

mod database;
mod folders;

use std::path::{Path, PathBuf};

use super::error::PlanError;
use super::inspect::SourceFacts;
use super::step::{Action, Artifact, ArtifactKind, EnvValue, EnvVar, Exec, Step, StepId};
use super::{Plan, PlanBuilder};
use crate::manifest::{DumpFormat, Manifest, Text};
use crate::postgres::DbUrl;

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
pub fn plan(manifest: &Manifest, facts: Option<&SourceFacts>) -> Result<Plan, PlanError> {
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

pub(super) struct Planner<'a> {
    pub(super) manifest: &'a Manifest,
    pub(super) facts: Option<&'a SourceFacts>,
}

impl Planner<'_> {
    pub(super) fn dir(&self) -> &Path {
        &self.manifest.artifacts.dir
    }

    /// The database name as a file name: `/` and NUL cannot be in one.
    pub(super) fn file_stem(&self) -> String {
        self.manifest
            .source
            .database
            .database()
            .replace(['/', '\0'], "_")
    }

    pub(super) fn path(&self, artifact: &Artifact) -> PathBuf {
        self.dir().join(&artifact.name)
    }

    pub(super) fn program(&self, name: &str) -> Text {
        Text::plain(self.manifest.tools.program(name).display().to_string())
    }

    /// `--dbname=URL`, shown as the manifest wrote the URL.
    pub(super) fn dbname(url: &DbUrl) -> Text {
        Text::new(
            format!("--dbname={}", url.conninfo()),
            format!("--dbname={}", url.conninfo_shown()),
        )
    }

    pub(super) fn dump_artifact(&self) -> Artifact {
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

    pub(super) fn media_artifacts(&self) -> Option<(Artifact, Artifact)> {
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
    pub(super) fn pg_env(url: &DbUrl, origin: &str) -> Vec<EnvVar> {
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

    pub(super) fn invalidate(&self, id: StepId, argv: &[Text], side: &str) -> Step {
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

    pub(super) fn verify(&self, artifacts: Vec<Artifact>) -> Step {
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
}
