//! From the manifest as written ([`RawManifest`]) to a checked [`Manifest`]:
//! interpolation, defaults, path resolution and every rule of the manifest
//! format. All problems found are reported together: each value is checked
//! alone ([`checker`]), then the rules between values ([`rules`]).

mod checker;
mod rules;
mod sanitize;
mod tunnel;
mod values;

use std::collections::BTreeMap;
use std::path::Path;

use toml::Spanned;

use self::checker::Checker;
use self::rules::span_of;
use super::choices::{DatabaseContent, Folder};
use super::diagnostic::ManifestDiagnostic;
use super::model::{Artifacts, Include, Manifest, Source, Spans, Target};
use super::raw::{RawManifest, RawSource, RawTarget};
use super::source_file::SourceFile;
use crate::postgres::Tools;
use crate::remote::{Place, Reach};

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
    let values = values::read(&mut cx, &raw);
    let included = rules::check(&mut cx, &raw, &values);
    let sanitize = sanitize::read(&mut cx, raw.sanitize.as_ref());
    if let (Some(s), Some(content @ (DatabaseContent::Schema | DatabaseContent::None))) =
        (&sanitize, values.database)
    {
        cx.push(
            ManifestDiagnostic::warning(
                "manifest::sanitize-ignored",
                &cx.file,
                format!("[sanitize] has no effect with `database = \"{content}\"`"),
            )
            .with_label(s.span.clone(), "ignored: no rows are copied")
            .with_help("remove [sanitize], or copy the data with `database = \"full\"`"),
        );
    }
    if let Some(login) = sanitize.as_ref().and_then(|s| s.logins.first())
        && values.target_manage.is_none()
    {
        cx.push(
            ManifestDiagnostic::error(
                "manifest::login-needs-manage",
                &cx.file,
                "[sanitize] logins need the target's NetBox to hash their passwords",
            )
            .with_label(login.span.clone(), "set by the target's NetBox after the copy")
            .with_help("set `manage` in [target]: the command that runs the target's manage.py (or its `netbox` command)"),
        );
    }
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
        compression: artifacts
            .and_then(|a| a.compression.as_ref())
            .map(Spanned::span),
        bindir: raw
            .tools
            .as_ref()
            .and_then(|t| t.get_ref().bindir.as_ref())
            .map(Spanned::span),
        exclude_table_data: values
            .exclude
            .iter()
            .map(|(_, span)| span.clone())
            .collect(),
        source_folders: Folder::ALL
            .into_iter()
            .filter_map(|f| Some((f, source.folder(f)?.span())))
            .collect(),
        target_folders: Folder::ALL
            .into_iter()
            .filter_map(|f| Some((f, target.folder(f)?.span())))
            .collect(),
        source_tunnel: source.tunnel.as_ref().map(Spanned::span),
        target_tunnel: target.tunnel.as_ref().map(Spanned::span),
    };
    let copied = |folders: BTreeMap<Folder, Place>| -> BTreeMap<Folder, Place> {
        folders
            .into_iter()
            .filter(|(folder, _)| included.contains(folder))
            .collect()
    };
    Ok(Manifest {
        path: path.to_path_buf(),
        dir,
        sha256,
        source: Source {
            database: values.source_db.ok_or_else(broken)?,
            folders: copied(values.source_folders),
            invalidate: values.source_invalidate,
            manage: values.source_manage,
            tunnel: values.source_tunnel,
        },
        target: Target {
            database: values.target_db.ok_or_else(broken)?,
            folders: copied(values.target_folders),
            invalidate: values.target_invalidate,
            manage: values.target_manage,
            strategy: values.strategy.ok_or_else(broken)?,
            keep_previous: values.keep_previous,
            terminate_connections: values.terminate_connections,
            owner: values.owner,
            maintenance_database: values.maintenance_database.ok_or_else(broken)?,
            allow_older_netbox: values.allow_older_netbox,
            tunnel: values.target_tunnel,
        },
        include: Include {
            database: values.database.ok_or_else(broken)?,
            exclude_table_data: values.exclude.into_iter().map(|(s, _)| s).collect(),
            owners: values.owners,
        },
        sanitize: sanitize.filter(|_| values.database == Some(DatabaseContent::Full)),
        artifacts: Artifacts {
            dir: values.artifacts_dir.ok_or_else(broken)?,
            store: values.artifacts_store,
            format: values.format.ok_or_else(broken)?,
            compression: values.compression.ok_or_else(broken)?,
            jobs: values.jobs.ok_or_else(broken)?,
            keep: values.keep.ok_or_else(broken)?,
            check: values.check.ok_or_else(broken)?,
        },
        tools: Tools {
            bindir: values.bindir,
        },
        reach: Reach {
            ssh_config: values.ssh_config,
        },
        spans,
        variables,
        warnings,
        file,
    })
}
