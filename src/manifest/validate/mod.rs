//! From the manifest as written ([`RawManifest`]) to a checked [`Manifest`]:
//! interpolation, defaults, path resolution and every rule of the manifest
//! format. All problems found are reported together: each value is checked
//! alone ([`checker`]), then the rules between values ([`rules`]).

mod checker;
mod rules;

use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;

use self::checker::Checker;
use self::rules::span_of;
use super::choices::{Compression, DatabaseContent, DumpFormat};
use super::diagnostic::ManifestDiagnostic;
use super::raw::{RawManifest, RawSource, RawTarget};
use super::text::Text;
use super::{Artifacts, Include, Manifest, Source, SourceFile, Spans, Target};
use crate::io::paths;
use crate::postgres::{DbUrl, Tools};

/// The only manifest version this build reads.
pub const MANIFEST_VERSION: i64 = 1;
const DEFAULT_JOBS: u32 = 2;
const MAX_JOBS: i64 = 64;

/// Every value, checked alone; `None` where its problem was reported.
struct Values {
    source_db: Option<DbUrl>,
    target_db: Option<DbUrl>,
    source_media: Option<PathBuf>,
    target_media: Option<PathBuf>,
    source_invalidate: Option<Vec<Text>>,
    target_invalidate: Option<Vec<Text>>,
    terminate_connections: bool,
    maintenance_database: Option<String>,
    database: Option<DatabaseContent>,
    exclude: Vec<(String, Range<usize>)>,
    owners: bool,
    artifacts_dir: Option<PathBuf>,
    format: Option<DumpFormat>,
    compression: Option<Compression>,
    jobs: Option<u32>,
    bindir: Option<PathBuf>,
}

pub fn validate(
    raw: RawManifest,
    problems: Vec<ManifestDiagnostic>,
    file: SourceFile,
    path: &Path,
    sha256: String,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Manifest, ManifestDiagnostic> {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut cx = Checker::new(file.clone(), env, dir, problems);
    let values = read(&mut cx, &raw);
    let media = rules::check(&mut cx, &raw, &values);
    let Values {
        source_db,
        target_db,
        source_media,
        target_media,
        source_invalidate,
        target_invalidate,
        terminate_connections,
        maintenance_database,
        database,
        exclude,
        owners,
        artifacts_dir,
        format,
        compression,
        jobs,
        bindir,
    } = values;
    let (no_source, no_target) = (RawSource::default(), RawTarget::default());
    let source = raw.source.as_ref().map_or(&no_source, Spanned::get_ref);
    let target = raw.target.as_ref().map_or(&no_target, Spanned::get_ref);
    let artifacts = raw.artifacts.as_ref().map(Spanned::get_ref);

    let Checker {
        problems,
        variables,
        dir,
        ..
    } = cx;
    let (errors, warnings): (Vec<_>, Vec<_>) =
        problems.into_iter().partition(ManifestDiagnostic::is_error);
    if let Some(report) = ManifestDiagnostic::combine(errors) {
        return Err(report);
    }

    // Every `None` below has pushed an error above.
    let broken = || {
        ManifestDiagnostic::error(
            "manifest::internal",
            &file,
            "the manifest could not be read",
        )
    };
    let spans = Spans {
        source_database: span_of(&source.database),
        target_database: span_of(&target.database),
        exclude_table_data: exclude.iter().map(|(_, s)| s.clone()).collect(),
        compression: artifacts
            .and_then(|a| a.compression.as_ref())
            .map(Spanned::span),
        format: artifacts.and_then(|a| a.format.as_ref()).map(Spanned::span),
        bindir: raw
            .tools
            .as_ref()
            .and_then(|t| t.get_ref().bindir.as_ref())
            .map(Spanned::span),
    };
    Ok(Manifest {
        path: path.to_path_buf(),
        dir,
        sha256,
        source: Source {
            database: source_db.ok_or_else(broken)?,
            media: if media { source_media } else { None },
            invalidate: source_invalidate,
        },
        target: Target {
            database: target_db.ok_or_else(broken)?,
            media: if media { target_media } else { None },
            invalidate: target_invalidate,
            terminate_connections,
            maintenance_database: maintenance_database.ok_or_else(broken)?,
        },
        include: Include {
            database: database.ok_or_else(broken)?,
            exclude_table_data: exclude.into_iter().map(|(s, _)| s).collect(),
            media,
            owners,
        },
        artifacts: Artifacts {
            dir: artifacts_dir.ok_or_else(broken)?,
            format: format.ok_or_else(broken)?,
            compression: compression.ok_or_else(broken)?,
            jobs: jobs.ok_or_else(broken)?,
        },
        tools: Tools { bindir },
        spans,
        variables,
        warnings,
        file,
    })
}

/// Checks every value alone.
fn read(cx: &mut Checker<'_>, raw: &RawManifest) -> Values {
    if let Some(version) = &raw.version {
        cx.version(version);
    }

    let (no_source, no_target) = (RawSource::default(), RawTarget::default());
    let source = raw.source.as_ref().map_or(&no_source, Spanned::get_ref);
    let target = raw.target.as_ref().map_or(&no_target, Spanned::get_ref);
    let source_db = source.database.as_ref().and_then(|d| cx.url(d, "source"));
    let target_db = target.database.as_ref().and_then(|d| cx.url(d, "target"));
    let source_media = source
        .media
        .as_ref()
        .and_then(|m| cx.path(m, "source.media"));
    let target_media = target
        .media
        .as_ref()
        .and_then(|m| cx.path(m, "target.media"));
    let source_invalidate = source
        .invalidate
        .as_ref()
        .and_then(|a| cx.argv(a, "source.invalidate"));
    let target_invalidate = target
        .invalidate
        .as_ref()
        .and_then(|a| cx.argv(a, "target.invalidate"));
    let terminate_connections = target
        .terminate_connections
        .as_ref()
        .is_some_and(|b| *b.get_ref());
    let maintenance_database = match &target.maintenance_database {
        Some(name) => cx.non_empty(name, "target.maintenance_database"),
        None => Some("postgres".to_owned()),
    };

    let include = raw.include.as_ref().map(Spanned::get_ref);
    let database = include
        .and_then(|i| i.database.as_ref())
        .map_or(Some(DatabaseContent::Full), |d| {
            cx.choice(d, "include.database")
        });
    let exclude: Vec<(String, Range<usize>)> = include
        .and_then(|i| i.exclude_table_data.as_ref())
        .map(|list| {
            list.get_ref()
                .iter()
                .filter_map(|p| cx.non_empty(p, "a table pattern").map(|s| (s, p.span())))
                .collect()
        })
        .unwrap_or_default();
    let owners = include
        .and_then(|i| i.owners.as_ref())
        .is_some_and(|b| *b.get_ref());

    let artifacts = raw.artifacts.as_ref().map(Spanned::get_ref);
    let artifacts_dir = match artifacts.and_then(|a| a.dir.as_ref()) {
        Some(d) => cx.path(d, "artifacts.dir"),
        None => Some(paths::resolve(&cx.dir, Path::new(".replicate"))),
    };
    let format = artifacts
        .and_then(|a| a.format.as_ref())
        .map_or(Some(DumpFormat::Directory), |f| {
            cx.choice(f, "artifacts.format")
        });
    let compression = artifacts
        .and_then(|a| a.compression.as_ref())
        .map_or(Some(Compression::None), |c| {
            cx.choice(c, "artifacts.compression")
        });
    let jobs = artifacts
        .and_then(|a| a.jobs.as_ref())
        .map_or(Some(DEFAULT_JOBS), |j| cx.jobs(j));
    let raw_bindir = raw.tools.as_ref().and_then(|t| t.get_ref().bindir.as_ref());
    let bindir = raw_bindir.and_then(|b| cx.path(b, "tools.bindir"));
    if let (Some(dir), Some(raw_dir)) = (&bindir, raw_bindir)
        && !dir.is_dir()
    {
        // Only a warning: a manifest may be checked on another machine
        // than the one that runs it; `plan` refuses it.
        cx.push(
            ManifestDiagnostic::warning(
                "manifest::bindir",
                &cx.file,
                format!("tools.bindir {} does not exist on this machine", dir.display()),
            )
            .with_label(raw_dir.span(), "no such folder here")
            .with_help("point `bindir` at the folder holding pg_dump, pg_restore and psql, or leave it out to use PATH"),
        );
    }

    Values {
        source_db,
        target_db,
        source_media,
        target_media,
        source_invalidate,
        target_invalidate,
        terminate_connections,
        maintenance_database,
        database,
        exclude,
        owners,
        artifacts_dir,
        format,
        compression,
        jobs,
        bindir,
    }
}
