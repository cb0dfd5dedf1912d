//! Every value of the manifest checked alone, with its default when it is
//! not written.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::checker::Checker;
use crate::io::paths;
use crate::manifest::choices::{
    CheckDepth, Compression, DatabaseContent, DumpFormat, Folder, Keep, Strategy,
};
use crate::manifest::diagnostic::ManifestDiagnostic;
use crate::manifest::raw::{RawManifest, RawSource, RawTarget};
use crate::manifest::text::Text;
use crate::postgres::DbUrl;
use crate::remote::{Bastion, Place};
use crate::store::remote;

/// Where artifacts in an object store are cached, when `cache` is not written.
const DEFAULT_CACHE: &str = ".replicate-cache";

/// `artifacts.jobs` when not written.
const DEFAULT_JOBS: u32 = 2;

/// Every value, checked alone; `None` where its problem was reported.
pub(super) struct Values {
    pub(super) source_db: Option<DbUrl>,
    pub(super) target_db: Option<DbUrl>,
    /// Each folder written, resolved.
    pub(super) source_folders: BTreeMap<Folder, Place>,
    pub(super) target_folders: BTreeMap<Folder, Place>,
    pub(super) source_invalidate: Option<Vec<Text>>,
    pub(super) target_invalidate: Option<Vec<Text>>,
    pub(super) source_manage: Option<Vec<Text>>,
    pub(super) target_manage: Option<Vec<Text>>,
    pub(super) strategy: Option<Strategy>,
    pub(super) keep_previous: bool,
    pub(super) terminate_connections: bool,
    pub(super) owner: Option<String>,
    pub(super) maintenance_database: Option<String>,
    pub(super) allow_older_netbox: bool,
    pub(super) database: Option<DatabaseContent>,
    pub(super) exclude: Vec<(String, Range<usize>)>,
    pub(super) owners: bool,
    pub(super) artifacts_dir: Option<PathBuf>,
    /// The object store URL, when `artifacts.dir` is one.
    pub(super) artifacts_store: Option<String>,
    pub(super) format: Option<DumpFormat>,
    pub(super) compression: Option<Compression>,
    pub(super) jobs: Option<u32>,
    pub(super) keep: Option<Keep>,
    pub(super) check: Option<CheckDepth>,
    pub(super) bindir: Option<PathBuf>,
    pub(super) ssh_config: Option<PathBuf>,
    /// Each side's bastion.
    pub(super) source_tunnel: Option<Bastion>,
    pub(super) target_tunnel: Option<Bastion>,
}

/// Checks every value alone.
pub(super) fn read(cx: &mut Checker<'_>, raw: &RawManifest) -> Values {
    if let Some(version) = &raw.version {
        cx.version(version);
    }

    let (no_source, no_target) = (RawSource::default(), RawTarget::default());
    let source = raw.source.as_ref().map_or(&no_source, Spanned::get_ref);
    let target = raw.target.as_ref().map_or(&no_target, Spanned::get_ref);
    let source_db = source.database.as_ref().and_then(|d| cx.url(d, "source"));
    let target_db = target.database.as_ref().and_then(|d| cx.url(d, "target"));
    let source_tunnel = source.tunnel.as_ref().and_then(|t| cx.bastion(t, "source"));
    let target_tunnel = target.tunnel.as_ref().and_then(|t| cx.bastion(t, "target"));
    let mut source_folders = BTreeMap::new();
    let mut target_folders = BTreeMap::new();
    for folder in Folder::ALL {
        if let Some(place) = source
            .folder(folder)
            .and_then(|p| cx.place(p, &format!("source.{folder}")))
        {
            source_folders.insert(folder, place);
        }
        if let Some(place) = target
            .folder(folder)
            .and_then(|p| cx.place(p, &format!("target.{folder}")))
        {
            target_folders.insert(folder, place);
        }
    }
    let mut argv = |value: &Option<Spanned<Vec<Spanned<String>>>>, key: &str| {
        value.as_ref().and_then(|a| cx.argv(a, key))
    };
    let source_invalidate = argv(&source.invalidate, "source.invalidate");
    let target_invalidate = argv(&target.invalidate, "target.invalidate");
    let source_manage = argv(&source.manage, "source.manage");
    let target_manage = argv(&target.manage, "target.manage");
    let strategy = target
        .strategy
        .as_ref()
        .map_or(Some(Strategy::Swap), |s| cx.choice(s, "target.strategy"));
    let keep_previous = target.keep_previous.as_ref().is_none_or(|b| *b.get_ref());
    let terminate_connections = target
        .terminate_connections
        .as_ref()
        .is_some_and(|b| *b.get_ref());
    let owner = target
        .owner
        .as_ref()
        .and_then(|o| cx.non_empty(o, "target.owner"));
    let maintenance_database = match &target.maintenance_database {
        Some(name) => cx.non_empty(name, "target.maintenance_database"),
        None => Some("postgres".to_owned()),
    };
    let allow_older_netbox = target
        .allow_older_netbox
        .as_ref()
        .is_some_and(|b| *b.get_ref());

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
    // The artifacts folder, or an object store and the local cache.
    let mut artifacts_store = None;
    let artifacts_dir = match artifacts.and_then(|a| a.dir.as_ref()) {
        Some(d) if d.get_ref().contains("://") => {
            let url = cx.non_empty(d, "artifacts.dir").unwrap_or_default();
            if remote::is_store_url(&url) {
                artifacts_store = Some(url);
                match artifacts.and_then(|a| a.cache.as_ref()) {
                    Some(c) => cx.path(c, "artifacts.cache"),
                    None => Some(paths::resolve(&cx.dir, Path::new(DEFAULT_CACHE))),
                }
            } else {
                cx.push(
                    ManifestDiagnostic::error(
                        "manifest::bad-value",
                        &cx.file,
                        format!("`{url}` is not a folder nor an object store replicate knows"),
                    )
                    .with_label(d.span(), "unknown scheme")
                    .with_help(format!(
                        "write a folder, or an object store URL starting with {}",
                        remote::SCHEMES.join(", ")
                    )),
                );
                None
            }
        }
        Some(d) => cx.path(d, "artifacts.dir"),
        None => Some(paths::resolve(&cx.dir, Path::new(".replicate"))),
    };
    if let (None, Some(cache)) = (&artifacts_store, artifacts.and_then(|a| a.cache.as_ref())) {
        cx.push(
            ManifestDiagnostic::warning(
                "manifest::cache-ignored",
                &cx.file,
                "`cache` has no effect when the artifacts are in a local folder",
            )
            .with_label(cache.span(), "ignored")
            .with_help(
                "a cache is for artifacts in an object store (`dir = \"s3://bucket/prefix\"`)",
            ),
        );
    }
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
    if let (Some(DumpFormat::Stream), Some(Some(compression)), Some(raw)) = (
        format,
        compression.map(|c| (c != Compression::None).then_some(c)),
        artifacts.and_then(|a| a.compression.as_ref()),
    ) {
        cx.push(
            ManifestDiagnostic::warning(
                "manifest::stream-compression",
                &cx.file,
                format!("the stream format writes its table files uncompressed; {compression} applies to the folder archives only"),
            )
            .with_label(raw.span(), "not for the stream's files")
            .with_help("the restore reads each table's file while the dump writes it, as COPY text; leave `compression` out, or keep it for the archives"),
        );
    }
    let jobs = artifacts
        .and_then(|a| a.jobs.as_ref())
        .map_or(Some(DEFAULT_JOBS), |j| cx.jobs(j));
    let keep = artifacts
        .and_then(|a| a.keep.as_ref())
        .map_or(Some(Keep::All), |k| cx.choice(k, "artifacts.keep"));
    let check = artifacts
        .and_then(|a| a.check.as_ref())
        .map_or(Some(CheckDepth::Rows), |k| cx.choice(k, "artifacts.check"));
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

    let ssh_config = raw
        .tools
        .as_ref()
        .and_then(|t| t.get_ref().ssh_config.as_ref())
        .and_then(|c| cx.path(c, "tools.ssh_config"));

    Values {
        source_db,
        target_db,
        source_folders,
        target_folders,
        source_invalidate,
        target_invalidate,
        source_manage,
        target_manage,
        strategy,
        keep_previous,
        terminate_connections,
        owner,
        maintenance_database,
        allow_older_netbox,
        database,
        exclude,
        owners,
        artifacts_dir,
        artifacts_store,
        format,
        compression,
        jobs,
        keep,
        check,
        bindir,
        ssh_config,
        source_tunnel,
        target_tunnel,
    }
}
