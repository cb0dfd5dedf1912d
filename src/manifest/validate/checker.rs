//! The checks of single values: interpolation, URLs, paths, commands,
//! enumerations and numbers, each reporting its own problem.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;

use crate::io::paths;
use crate::manifest::SourceFile;
use crate::manifest::choices::Choice;
use crate::manifest::diagnostic::ManifestDiagnostic;
use crate::manifest::interpolate::{InterpolationError, interpolate, references};
use crate::manifest::mask::mask_passwords;
use crate::manifest::text::Text;
use crate::manifest::toml_error::did_you_mean;
use crate::postgres::{DbUrl, DbUrlError, Secret};
use crate::remote::{Bastion, Place};

/// The only manifest version this build reads.
pub const MANIFEST_VERSION: i64 = 1;
/// The most `artifacts.jobs` may be.
const MAX_JOBS: i64 = 64;

/// What the checks share: the file, the environment, the manifest's folder,
/// and every problem found so far.
pub(super) struct Checker<'a> {
    pub(super) file: SourceFile,
    env: &'a dyn Fn(&str) -> Option<String>,
    pub(super) dir: PathBuf,
    pub(super) problems: Vec<ManifestDiagnostic>,
    /// The value of every `${NAME}` used.
    pub(super) variables: BTreeMap<String, Secret>,
}

impl<'a> Checker<'a> {
    pub(super) fn new(
        file: SourceFile,
        env: &'a dyn Fn(&str) -> Option<String>,
        dir: PathBuf,
        problems: Vec<ManifestDiagnostic>,
    ) -> Self {
        Self {
            file,
            env,
            dir,
            problems,
            variables: BTreeMap::new(),
        }
    }
}

impl Checker<'_> {
    pub(super) fn push(&mut self, diagnostic: ManifestDiagnostic) {
        self.problems.push(diagnostic);
    }

    pub(super) fn version(&mut self, version: &Spanned<i64>) {
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
    pub(super) fn string(&mut self, value: &Spanned<String>) -> Option<String> {
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
    pub(super) fn inner_span(&self, value: &Spanned<String>, at: Range<usize>) -> Range<usize> {
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

    pub(super) fn non_empty(&mut self, value: &Spanned<String>, what: &str) -> Option<String> {
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

    pub(super) fn url(&mut self, value: &Spanned<String>, role: &str) -> Option<DbUrl> {
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

    pub(super) fn path(&mut self, value: &Spanned<String>, what: &str) -> Option<PathBuf> {
        let text = self.non_empty(value, what)?;
        Some(paths::resolve(&self.dir, Path::new(&text)))
    }

    /// A folder: a local path (relative to the manifest), or an `ssh://`
    /// or `docker://` URL.
    pub(super) fn place(&mut self, value: &Spanned<String>, what: &str) -> Option<Place> {
        let text = self.non_empty(value, what)?;
        match Place::parse(&text, &self.dir) {
            Ok(place) => Some(place),
            Err(error) => {
                self.push(
                    ManifestDiagnostic::error(
                        "manifest::folder",
                        &self.file,
                        // A password written in the URL is refused, and
                        // not shown.
                        format!(
                            "{what}: {}",
                            mask_passwords(&error.to_string())
                        ),
                    )
                    .with_label(value.span(), "not a folder replicate can reach")
                    .with_help(
                        "write a path on this machine, `ssh://[user@]host[:port]/absolute/path` or `docker://container/absolute/path`",
                    ),
                );
                None
            }
        }
    }

    /// The bastion a side's `tunnel` names, or `None` and an error
    /// pointing at it.
    pub(super) fn bastion(&mut self, value: &Spanned<String>, side: &str) -> Option<Bastion> {
        let text = self.non_empty(value, &format!("{side}.tunnel"))?;
        match Bastion::parse(&text) {
            Ok(bastion) => Some(bastion),
            Err(error) => {
                self.push(
                    ManifestDiagnostic::error(
                        "manifest::tunnel",
                        &self.file,
                        // The label quotes the value with any password
                        // masked; so does the message.
                        format!("{side}.tunnel: {}", mask_passwords(&error.to_string())),
                    )
                    .with_label(value.span(), "not a bastion replicate can reach")
                    .with_help(
                        "write the SSH server the database is reached through: `ssh://[user@]host[:port]`, with plain host and user names and no password (the key comes from ssh's agent or configuration)",
                    ),
                );
                None
            }
        }
    }

    pub(super) fn argv(
        &mut self,
        value: &Spanned<Vec<Spanned<String>>>,
        what: &str,
    ) -> Option<Vec<Text>> {
        let items = value.get_ref();
        if items.is_empty() {
            let message = format!("{what} is an empty command");
            self.push(
                ManifestDiagnostic::error("manifest::empty-command", &self.file, message)
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

    pub(super) fn choice<T: Choice + PartialEq>(
        &mut self,
        value: &Spanned<String>,
        key: &str,
    ) -> Option<T> {
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

    pub(super) fn jobs(&mut self, value: &Spanned<i64>) -> Option<u32> {
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
    pub(super) fn literal_password(&mut self, value: &Spanned<String>, role: &str) {
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
