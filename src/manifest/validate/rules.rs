//! The rules between values: the same database twice, a maintenance
//! database that is the target, folders that overlap or hold the artifacts,
//! a folder included without its paths, nothing to do.

use crate::remote::{Bastion, Place};
use std::collections::BTreeSet;
use std::ops::Range;

use toml::Spanned;

use super::checker::Checker;
use super::tunnel;
use super::values::Values;
use crate::io::paths;
use crate::manifest::choices::{DatabaseContent, Folder, Strategy};
use crate::manifest::diagnostic::ManifestDiagnostic;
use crate::manifest::raw::{RawInclude, RawManifest, RawSource, RawTarget};

/// Checks the rules between `values`; which folders are copied.
pub(super) fn check(cx: &mut Checker<'_>, raw: &RawManifest, values: &Values) -> BTreeSet<Folder> {
    let (no_source, no_target) = (RawSource::default(), RawTarget::default());
    let source = raw.source.as_ref().map_or(&no_source, Spanned::get_ref);
    let target = raw.target.as_ref().map_or(&no_target, Spanned::get_ref);
    let include = raw.include.as_ref().map(Spanned::get_ref);
    let artifacts = raw.artifacts.as_ref().map(Spanned::get_ref);
    let Values {
        source_db,
        target_db,
        source_folders,
        target_folders,
        maintenance_database,
        database,
        exclude,
        artifacts_dir,
        ..
    } = values;
    let database = *database;

    // Rules between values.
    let machine = |tunnel: &Option<Bastion>| tunnel.as_ref().map(Bastion::machine);
    let (source_machine, target_machine) = (
        machine(&values.source_tunnel),
        machine(&values.target_tunnel),
    );
    if let (Some(s), Some(t)) = (&source_db, &target_db) {
        if s.same_database_from(source_machine.as_deref(), t, target_machine.as_deref()) {
            cx.push(
                ManifestDiagnostic::error(
                    "manifest::same-database",
                    &cx.file,
                    format!(
                        "source and target are the same database (`{}` on the same server)",
                        s.database()
                    ),
                )
                .with_label(span_of(&source.database), "source")
                .with_label(span_of(&target.database), "target: would be dropped")
                .with_help("point the target at another database or another server; replicate drops the target before restoring"),
            );
        }
        if let Some(maint) = &maintenance_database
            && maint == t.database()
        {
            let span = target
                .maintenance_database
                .as_ref()
                .map_or(span_of(&target.database), Spanned::span);
            cx.push(
                    ManifestDiagnostic::error(
                        "manifest::maintenance-database",
                        &cx.file,
                        format!("the maintenance database is the target database `{maint}`"),
                    )
                    .with_label(span, "drop connects here to drop the target")
                    .with_help("a database cannot be dropped from a connection to itself; use `postgres` or `template1`"),
                );
        }
    }

    let included = included_folders(cx, source, target, include);
    check_overlaps(cx, source, target, &included, values);

    if let Some(dir_path) = &artifacts_dir {
        for (side, folders, raw_side) in [
            ("source", source_folders, Side::Source(source)),
            ("target", target_folders, Side::Target(target)),
        ] {
            for folder in &included {
                if let (Some(path), Some(raw_folder)) =
                    (folders.get(folder), raw_side.folder(*folder))
                    && path.local().is_some_and(|p| paths::is_within(dir_path, p))
                {
                    let span = artifacts
                        .and_then(|a| a.dir.as_ref())
                        .map_or(raw_folder.span(), Spanned::span);
                    cx.push(
                        ManifestDiagnostic::error(
                            "manifest::artifacts-in-folder",
                            &cx.file,
                            format!("the artifacts folder lies inside the {side} {folder} folder"),
                        )
                        .with_label(span, "artifacts folder")
                        .with_label(raw_folder.span(), format!("{side}.{folder}"))
                        .with_help("put the artifacts (dumps hold password hashes) outside the copied folders, e.g. `dir = \".replicate\"`"),
                    );
                }
            }
        }
    }

    if database == Some(DatabaseContent::None) && included.is_empty() {
        let span = include.map_or(0..0, |i| span_of(&i.database));
        let message = "nothing to replicate: the database is left out and no folder is copied";
        cx.push(
            ManifestDiagnostic::error("manifest::nothing-to-do", &cx.file, message)
                .with_label(span, "no database")
                .with_help("include the database (`database = \"full\"`) or copy a folder (set both paths of media, scripts or reports)"),
        );
    }

    if !exclude.is_empty()
        && let Some(content @ (DatabaseContent::Schema | DatabaseContent::None)) = database
    {
        let span = include.map_or(0..0, |i| span_of(&i.exclude_table_data));
        let message = format!("`exclude_table_data` has no effect with `database = \"{content}\"`");
        cx.push(
            ManifestDiagnostic::warning("manifest::exclude-ignored", &cx.file, message)
                .with_label(span, "ignored: no table data is copied")
                .with_help(
                    "remove `exclude_table_data`, or include the data with `database = \"full\"`",
                ),
        );
    }

    tunnel::check(cx, (source, target), values);

    for (url_text, role) in [(&source.database, "source"), (&target.database, "target")] {
        if let Some(url_text) = url_text {
            cx.literal_password(url_text, role);
        }
    }

    if values.strategy == Some(Strategy::Replace)
        && let Some(keep) = &target.keep_previous
    {
        cx.push(
            ManifestDiagnostic::warning(
                "manifest::keep-previous-ignored",
                &cx.file,
                "`keep_previous` has no effect with `strategy = \"replace\"`",
            )
            .with_label(keep.span(), "ignored: replace keeps no previous copy")
            .with_help("remove `keep_previous`, or use `strategy = \"swap\"` to keep the replaced target for `replicate rollback`"),
        );
    }
    included
}

/// Where a value is written, or the start of the file when it is not.
pub(super) fn span_of<T>(value: &Option<Spanned<T>>) -> std::ops::Range<usize> {
    value.as_ref().map_or(0..0, Spanned::span)
}

/// One side's folders as written.
#[derive(Clone, Copy)]
enum Side<'a> {
    Source(&'a RawSource),
    Target(&'a RawTarget),
}

impl<'a> Side<'a> {
    fn folder(self, folder: Folder) -> Option<&'a Spanned<String>> {
        match self {
            Side::Source(s) => s.folder(folder),
            Side::Target(t) => t.folder(folder),
        }
    }
}

/// Which folders are copied: each one written `true`, or, when not
/// written, each whose both paths are given.
fn included_folders(
    cx: &mut Checker<'_>,
    source: &RawSource,
    target: &RawTarget,
    include: Option<&RawInclude>,
) -> BTreeSet<Folder> {
    let mut included = BTreeSet::new();
    for folder in Folder::ALL {
        let (from, to) = (source.folder(folder), target.folder(folder));
        match include.and_then(|i| i.folder(folder)) {
            Some(flag) if *flag.get_ref() => {
                let missing: Vec<String> = [("source", from.is_none()), ("target", to.is_none())]
                    .into_iter()
                    .filter(|(_, missing)| *missing)
                    .map(|(side, _)| format!("{side}.{folder}"))
                    .collect();
                if !missing.is_empty() {
                    cx.push(
                        ManifestDiagnostic::error(
                            "manifest::folder-paths",
                            &cx.file,
                            format!("{folder} is included but {} is not set", missing.join(" and ")),
                        )
                        .with_label(flag.span(), format!("{folder} included here"))
                        .with_help(format!("set `{folder} = \"/path/to/netbox/{folder}\"` in [source] and [target], or write `{folder} = false`")),
                    );
                }
                included.insert(folder);
            }
            Some(_) => {}
            None => match (from, to) {
                (Some(_), Some(_)) => {
                    included.insert(folder);
                }
                (Some(only), None) | (None, Some(only)) => {
                    cx.push(
                        ManifestDiagnostic::warning(
                            "manifest::folder-skipped",
                            &cx.file,
                            format!("only one {folder} folder is set, so it is not copied"),
                        )
                        .with_label(only.span(), "this folder is ignored")
                        .with_help(format!("set both source.{folder} and target.{folder} to copy it, or remove this one")),
                    );
                }
                (None, None) => {}
            },
        }
    }
    included
}

/// The copied folders must not overlap: no target folder inside a source
/// folder or the other way round, and no two folders of one side inside
/// each other.
fn check_overlaps(
    cx: &mut Checker<'_>,
    source: &RawSource,
    target: &RawTarget,
    included: &BTreeSet<Folder>,
    values: &Values,
) {
    let mut folders: Vec<(String, &Place, Range<usize>, &str)> = Vec::new();
    for folder in included {
        for (side, resolved, raw) in [
            ("source", &values.source_folders, Side::Source(source)),
            ("target", &values.target_folders, Side::Target(target)),
        ] {
            if let (Some(path), Some(written)) = (resolved.get(folder), raw.folder(*folder)) {
                folders.push((format!("{side}.{folder}"), path, written.span(), side));
            }
        }
    }
    for (i, (a_name, a, a_span, a_side)) in folders.iter().enumerate() {
        for (b_name, b, b_span, b_side) in &folders[i + 1..] {
            if !(a.is_within(b) || b.is_within(a)) {
                continue;
            }
            let help = if a_side == b_side {
                "each copied folder is archived (source) or replaced (target) as a whole; give each one a folder of its own"
            } else {
                "the target folder is replaced as a whole; give it a folder of its own, outside the source's"
            };
            let label = |name: &str, side: &str| {
                if side == "target" {
                    format!("{name}: its content is replaced")
                } else {
                    name.to_owned()
                }
            };
            cx.push(
                ManifestDiagnostic::error(
                    "manifest::folders-overlap",
                    &cx.file,
                    format!("the folders {a_name} and {b_name} overlap"),
                )
                .with_label(a_span.clone(), label(a_name, a_side))
                .with_label(b_span.clone(), label(b_name, b_side))
                .with_help(help),
            );
        }
    }
}
