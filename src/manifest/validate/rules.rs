//! The rules between values: the same database twice, a maintenance
//! database that is the target, folders that overlap or hold the artifacts,
//! media included without its folders, nothing to do.

use toml::Spanned;

use super::checker::Checker;
use super::values::Values;
use crate::io::paths;
use crate::manifest::choices::{DatabaseContent, Strategy};
use crate::manifest::diagnostic::ManifestDiagnostic;
use crate::manifest::raw::{RawManifest, RawSource, RawTarget};

/// Checks the rules between `values`; whether media is copied.
pub(super) fn check(cx: &mut Checker<'_>, raw: &RawManifest, values: &Values) -> bool {
    let (no_source, no_target) = (RawSource::default(), RawTarget::default());
    let source = raw.source.as_ref().map_or(&no_source, Spanned::get_ref);
    let target = raw.target.as_ref().map_or(&no_target, Spanned::get_ref);
    let include = raw.include.as_ref().map(Spanned::get_ref);
    let artifacts = raw.artifacts.as_ref().map(Spanned::get_ref);
    let explicit_media = include.and_then(|i| i.media.as_ref());
    let Values {
        source_db,
        target_db,
        source_media,
        target_media,
        maintenance_database,
        database,
        exclude,
        artifacts_dir,
        ..
    } = values;
    let database = *database;

    // Rules between values.
    if let (Some(s), Some(t)) = (&source_db, &target_db) {
        if s.same_database_as(t) {
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

    let media = match explicit_media {
        Some(flag) if *flag.get_ref() => {
            let mut missing = Vec::new();
            if source.media.is_none() {
                missing.push("source.media");
            }
            if target.media.is_none() {
                missing.push("target.media");
            }
            if !missing.is_empty() {
                cx.push(
                    ManifestDiagnostic::error(
                        "manifest::media-folders",
                        &cx.file,
                        format!("media is included but {} is not set", missing.join(" and ")),
                    )
                    .with_label(flag.span(), "media included here")
                    .with_help("set `media = \"/path/to/netbox/media\"` in [source] and [target], or write `media = false`"),
                );
            }
            true
        }
        Some(_) => false,
        None => {
            match (&source.media, &target.media) {
                (Some(_), Some(_)) => true,
                (Some(only), None) | (None, Some(only)) => {
                    cx.push(
                        ManifestDiagnostic::warning(
                            "manifest::media-skipped",
                            &cx.file,
                            "only one media folder is set, so media is not copied",
                        )
                        .with_label(only.span(), "this folder is ignored")
                        .with_help("set both source.media and target.media to copy media, or remove this one"),
                    );
                    false
                }
                (None, None) => false,
            }
        }
    };

    if media
        && let (Some(s), Some(t), Some(sm), Some(tm)) =
            (&source_media, &target_media, &source.media, &target.media)
        && (paths::is_within(s, t) || paths::is_within(t, s))
    {
        cx.push(
                    ManifestDiagnostic::error(
                        "manifest::nested-media",
                        &cx.file,
                        "the source and target media folders overlap",
                    )
                    .with_label(sm.span(), "source media")
                    .with_label(tm.span(), "target media: its content is replaced")
                    .with_help("the target media folder is replaced as a whole; give it a folder of its own, outside the source's"),
                );
    }

    if let Some(dir_path) = &artifacts_dir {
        for (folder, raw_folder, role) in [
            (&source_media, &source.media, "source"),
            (&target_media, &target.media, "target"),
        ] {
            if let (Some(folder), Some(raw_folder)) = (folder, raw_folder)
                && media
                && paths::is_within(dir_path, folder)
            {
                let span = artifacts
                    .and_then(|a| a.dir.as_ref())
                    .map_or(raw_folder.span(), Spanned::span);
                cx.push(
                        ManifestDiagnostic::error(
                            "manifest::artifacts-in-media",
                            &cx.file,
                            format!("the artifacts folder lies inside the {role} media folder"),
                        )
                        .with_label(span, "artifacts folder")
                        .with_label(raw_folder.span(), format!("{role} media"))
                        .with_help("put the artifacts (dumps hold password hashes) outside the media folders, e.g. `dir = \".replicate\"`"),
                    );
            }
        }
    }

    if database == Some(DatabaseContent::None) && !media {
        let span = include
            .and_then(|i| i.database.as_ref())
            .map_or(0..0, Spanned::span);
        cx.push(
            ManifestDiagnostic::error(
                "manifest::nothing-to-do",
                &cx.file,
                "nothing to replicate: the database is left out and media is not copied",
            )
            .with_label(span, "no database")
            .with_help("include the database (`database = \"full\"`) or copy media (set both media folders)"),
        );
    }

    if !exclude.is_empty()
        && let Some(content @ (DatabaseContent::Schema | DatabaseContent::None)) = database
    {
        let span = include
            .and_then(|i| i.exclude_table_data.as_ref())
            .map_or(0..0, Spanned::span);
        cx.push(
            ManifestDiagnostic::warning(
                "manifest::exclude-ignored",
                &cx.file,
                format!("`exclude_table_data` has no effect with `database = \"{content}\"`"),
            )
            .with_label(span, "ignored: no table data is copied")
            .with_help(
                "remove `exclude_table_data`, or include the data with `database = \"full\"`",
            ),
        );
    }

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
    media
}

/// Where a value is written, or the start of the file when it is not.
pub(super) fn span_of<T>(value: &Option<Spanned<T>>) -> std::ops::Range<usize> {
    value.as_ref().map_or(0..0, Spanned::span)
}
