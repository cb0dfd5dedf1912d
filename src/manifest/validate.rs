//! From the manifest as written ([`RawManifest`]) to a checked [`Manifest`]:
//! interpolation, defaults, path resolution and every rule of the manifest
//! format. All problems found are reported together.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::choices::{Choice, DatabaseContent, DumpFormat};
use super::diagnostic::ManifestDiagnostic;
use super::interpolate::{InterpolationError, interpolate, references};
use super::raw::{RawManifest, RawSource, RawTarget};
use super::text::Text;
use super::toml_error::did_you_mean;
use super::{Artifacts, Include, Manifest, Source, Spans, Target, Tools};
use crate::db_url::{DbUrl, DbUrlError, Secret};
use crate::paths;
use crate::source_file::SourceFile;

/// The only manifest version this build reads.
pub const MANIFEST_VERSION: i64 = 1;
const DEFAULT_JOBS: u32 = 2;
const MAX_JOBS: i64 = 64;

struct Checker<'a> {
    file: SourceFile,
    env: &'a dyn Fn(&str) -> Option<String>,
    dir: PathBuf,
    problems: Vec<ManifestDiagnostic>,
    /// The value of every `${NAME}` used.
    variables: BTreeMap<String, Secret>,
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
    let mut cx = Checker {
        file: file.clone(),
        env,
        dir: dir.clone(),
        problems,
        variables: BTreeMap::new(),
    };

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
    let explicit_media = include.and_then(|i| i.media.as_ref());

    let artifacts = raw.artifacts.as_ref().map(Spanned::get_ref);
    let artifacts_dir = match artifacts.and_then(|a| a.dir.as_ref()) {
        Some(d) => cx.path(d, "artifacts.dir"),
        None => Some(paths::resolve(&dir, Path::new(".replicate"))),
    };
    let format = artifacts
        .and_then(|a| a.format.as_ref())
        .map_or(Some(DumpFormat::Directory), |f| {
            cx.choice(f, "artifacts.format")
        });
    let compression = artifacts
        .and_then(|a| a.compression.as_ref())
        .map_or(Some(super::Compression::None), |c| {
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
                &file,
                format!("tools.bindir {} does not exist on this machine", dir.display()),
            )
            .with_label(raw_dir.span(), "no such folder here")
            .with_help("point `bindir` at the folder holding pg_dump, pg_restore and psql, or leave it out to use PATH"),
        );
    }

    // Rules between values.
    if let (Some(s), Some(t)) = (&source_db, &target_db) {
        if s.same_database_as(t) {
            cx.problems.push(
                ManifestDiagnostic::error(
                    "manifest::same-database",
                    &file,
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
            cx.problems.push(
                    ManifestDiagnostic::error(
                        "manifest::maintenance-database",
                        &file,
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
                cx.problems.push(
                    ManifestDiagnostic::error(
                        "manifest::media-folders",
                        &file,
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
                    cx.problems.push(
                        ManifestDiagnostic::warning(
                            "manifest::media-skipped",
                            &file,
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
        cx.problems.push(
                    ManifestDiagnostic::error(
                        "manifest::nested-media",
                        &file,
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
                cx.problems.push(
                        ManifestDiagnostic::error(
                            "manifest::artifacts-in-media",
                            &file,
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
        cx.problems.push(
            ManifestDiagnostic::error(
                "manifest::nothing-to-do",
                &file,
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
        cx.problems.push(
            ManifestDiagnostic::warning(
                "manifest::exclude-ignored",
                &file,
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

    let (errors, warnings): (Vec<_>, Vec<_>) = cx
        .problems
        .into_iter()
        .partition(ManifestDiagnostic::is_error);
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
        variables: cx.variables,
        warnings,
        file,
    })
}

/// Where a value is written, or the start of the file when it is not.
fn span_of<T>(value: &Option<Spanned<T>>) -> Range<usize> {
    value.as_ref().map_or(0..0, Spanned::span)
}

impl Checker<'_> {
    fn push(&mut self, diagnostic: ManifestDiagnostic) {
        self.problems.push(diagnostic);
    }

    fn version(&mut self, version: &Spanned<i64>) {
        let found = *version.get_ref();
        if found == MANIFEST_VERSION {
            return;
        }
        let help = if found > MANIFEST_VERSION {
            "this manifest was written for a newer replicate: upgrade replicate, or write `version = 1`"
        } else {
            "write `version = 1`"
        };
        let diagnostic = ManifestDiagnostic::error(
            "manifest::version",
            &self.file,
            format!("unsupported manifest version {found}"),
        )
        .with_label(
            version.span(),
            format!("this replicate reads version {MANIFEST_VERSION}"),
        )
        .with_help(help);
        self.push(diagnostic);
    }

    /// The string with `${NAME}` replaced; `None` (and an error) when a
    /// reference cannot be replaced.
    fn string(&mut self, value: &Spanned<String>) -> Option<String> {
        let text = value.get_ref();
        match interpolate(text, self.env) {
            Ok(s) => {
                for name in references(text) {
                    if let Some(value) = (self.env)(&name) {
                        self.variables.insert(name, Secret::new(value));
                    }
                }
                Some(s)
            }
            Err(error) => {
                let (at, message, label, help) = match error {
                    InterpolationError::Unset { name, at } => (
                        at,
                        format!("the environment variable `{name}` is not set"),
                        format!("`{name}` is not set"),
                        format!(
                            "export {name} before running replicate; to write a literal `${{`, double the dollar sign"
                        ),
                    ),
                    InterpolationError::Malformed { at } => (
                        at,
                        "a malformed `${...}` reference".to_owned(),
                        "expected `${NAME}` with a name of letters, digits and `_`".to_owned(),
                        "to write a literal `${`, double the dollar sign: `$${`".to_owned(),
                    ),
                };
                let span = self.inner_span(value, at);
                self.push(
                    ManifestDiagnostic::error("manifest::interpolation", &self.file, message)
                        .with_label(span, label)
                        .with_help(help),
                );
                None
            }
        }
    }

    /// The span of `at` (a range inside the string's value) in the file, when
    /// the string is written without escapes; else the whole value.
    fn inner_span(&self, value: &Spanned<String>, at: Range<usize>) -> Range<usize> {
        let span = value.span();
        let written = self
            .file
            .text()
            .get(span.start + 1..span.end.saturating_sub(1));
        if written == Some(value.get_ref().as_str()) {
            span.start + 1 + at.start..span.start + 1 + at.end
        } else {
            span
        }
    }

    fn non_empty(&mut self, value: &Spanned<String>, what: &str) -> Option<String> {
        let text = self.string(value)?;
        if text.trim().is_empty() {
            self.push(
                ManifestDiagnostic::error(
                    "manifest::empty",
                    &self.file,
                    format!("{what} is empty"),
                )
                .with_label(value.span(), "empty"),
            );
            return None;
        }
        Some(text)
    }

    fn url(&mut self, value: &Spanned<String>, role: &str) -> Option<DbUrl> {
        let text = self.string(value)?;
        match DbUrl::parse_written(&text, value.get_ref()) {
            Ok(url) => Some(url),
            Err(error) => {
                let help = match error {
                    DbUrlError::NoDatabase => format!(
                        "name the {role} database at the end: `postgresql://user@host:5432/netbox`"
                    ),
                    _ => "write a PostgreSQL URL: `postgresql://user[:password]@host[:port]/database`; percent-encode special characters (`@` is `%40`)".to_owned(),
                };
                self.push(
                    ManifestDiagnostic::error(
                        "manifest::database-url",
                        &self.file,
                        format!("bad {role} database URL: {error}"),
                    )
                    .with_label(value.span(), "not a usable PostgreSQL URL")
                    .with_help(help),
                );
                None
            }
        }
    }

    fn path(&mut self, value: &Spanned<String>, what: &str) -> Option<PathBuf> {
        let text = self.non_empty(value, what)?;
        Some(paths::resolve(&self.dir, Path::new(&text)))
    }

    fn argv(&mut self, value: &Spanned<Vec<Spanned<String>>>, what: &str) -> Option<Vec<Text>> {
        let items = value.get_ref();
        if items.is_empty() {
            self.push(
                ManifestDiagnostic::error(
                    "manifest::empty-command",
                    &self.file,
                    format!("{what} is an empty command"),
                )
                .with_label(value.span(), "no program to run")
                .with_help("write the program and its arguments, e.g. [\"/opt/netbox/venv/bin/python3\", \"/opt/netbox/netbox/manage.py\", \"invalidate\", \"all\"], or remove the key"),
            );
            return None;
        }
        let mut argv = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let expanded = if i == 0 {
                self.non_empty(item, &format!("the program of {what}"))
            } else {
                self.string(item)
            };
            match expanded {
                Some(s) => argv.push(Text::new(s, item.get_ref().as_str())),
                None => ok = false,
            }
        }
        ok.then_some(argv)
    }

    fn choice<T: Choice + PartialEq>(&mut self, value: &Spanned<String>, key: &str) -> Option<T> {
        let text = self.string(value)?;
        if let Some(choice) = T::parse(&text) {
            return Some(choice);
        }
        let mut help = format!("allowed values: {}", T::allowed());
        if let Some(best) = did_you_mean(&text, T::ALL.iter().map(|(w, _)| *w)) {
            help = format!("did you mean `{best}`? {help}");
        }
        self.push(
            ManifestDiagnostic::error(
                "manifest::bad-value",
                &self.file,
                format!("`{text}` is not a valid value for {key}"),
            )
            .with_label(value.span(), format!("expected {}", T::allowed()))
            .with_help(help),
        );
        None
    }

    fn jobs(&mut self, value: &Spanned<i64>) -> Option<u32> {
        let jobs = *value.get_ref();
        if (1..=MAX_JOBS).contains(&jobs) {
            return u32::try_from(jobs).ok();
        }
        self.push(
            ManifestDiagnostic::error(
                "manifest::bad-value",
                &self.file,
                format!("artifacts.jobs must be between 1 and {MAX_JOBS}, not {jobs}"),
            )
            .with_label(value.span(), format!("expected 1 to {MAX_JOBS}"))
            .with_help("2 suits a small machine; more helps only with many large tables and free cores on both servers"),
        );
        None
    }

    /// Warns about a password written into the manifest itself.
    fn literal_password(&mut self, value: &Spanned<String>, role: &str) {
        let text = value.get_ref();
        let Ok(url) = DbUrl::parse(text) else {
            return;
        };
        if url.password().is_some_and(|p| !p.expose().contains("${")) && !text.contains("${") {
            self.push(
                ManifestDiagnostic::warning(
                    "manifest::literal-password",
                    &self.file,
                    format!("the {role} database password is written in the manifest"),
                )
                .with_label(value.span(), "password in plain text")
                .with_help("manifests live in version control: use an environment variable, `postgresql://user:${DB_PASSWORD}@host/db`"),
            );
        }
    }
}
