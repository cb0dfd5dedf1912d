//! The manifest `init` writes: every value chosen for the systems found,
//! each with a comment that says why. One file a part of it: `folders`
//! (each side's folders, and `[source]`), `target`, `include` (and
//! `[artifacts]`).

mod folders;
mod include;
mod target;

use std::fmt::Write;

use super::systems::{Database, Table};
use crate::netbox::{Install, Release, Schema, Version};

/// Everything the manifest is written from.
#[derive(Debug, Clone)]
pub struct Findings<'a> {
    /// The source URL as written into the manifest (`${NAME}` for its password).
    pub source_url: String,
    /// The target URL as written, or `None` when no `--target` was given.
    pub target_url: Option<String>,
    /// The SSH servers the databases are reached through (`tunnel`).
    pub source_tunnel: Option<String>,
    pub target_tunnel: Option<String>,
    /// The variables the URLs' passwords come from.
    pub variables: Vec<(&'static str, &'static str)>,
    pub source: &'a Database,
    /// `None` when no `--target` was given.
    pub target: Option<&'a Database>,
    /// The source's change log and search cache tables.
    pub tables: &'a [Table],
    pub source_install: Option<&'a Install>,
    pub target_install: Option<&'a Install>,
    pub format: crate::manifest::DumpFormat,
    /// `--ssh-config`: the OpenSSH client configuration the installs were
    /// read through, written as `[tools] ssh_config`.
    pub ssh_config: Option<String>,
    /// Today, for the header.
    pub date: String,
}

/// A target URL that cannot reach anything, for the user to replace.
pub const PLACEHOLDER_TARGET: &str = "postgresql://netbox@target.invalid/netbox";
/// Where NetBox is installed by its documentation, for commented examples.
const DOCUMENTED_ROOT: &str = "/opt/netbox";

/// `"text"` as a TOML string.
fn quoted(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// `["a", "b"]`.
fn array(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|i| quoted(i)).collect();
    format!("[{}]", items.join(", "))
}

impl Findings<'_> {
    fn source_release(&self) -> Option<Release> {
        self.source.netbox.as_ref().map(|s| s.release())
    }

    fn target_release(&self) -> Option<Release> {
        self.target
            .and_then(|t| t.netbox.as_ref())
            .map(|s| s.release())
    }

    /// The release the target's commands are chosen for: the target's
    /// NetBox when it has one, else the source's.
    fn command_release(&self) -> Option<Version> {
        self.target_release()
            .or(self.source_release())
            .and_then(|r| r.at_least())
    }

    /// Whether both sides are NetBox and `ahead(source, target)` holds.
    fn both(&self, ahead: impl Fn(&Schema, &Schema) -> bool) -> bool {
        match (
            self.source.netbox.as_ref(),
            self.target.and_then(|t| t.netbox.as_ref()),
        ) {
            (Some(s), Some(t)) => ahead(s, t),
            _ => false,
        }
    }

    /// Whether the target has migrations the source's data lacks.
    fn target_newer(&self) -> bool {
        self.both(|s, t| !t.ahead_of(s).is_empty())
    }

    /// Whether the source's data has migrations the target lacks.
    fn target_older(&self) -> bool {
        self.both(|s, t| !s.ahead_of(t).is_empty())
    }

    fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }
}

/// The manifest text.
pub fn compose(f: &Findings<'_>) -> String {
    let mut out = String::new();
    let _ = write_manifest(&mut out, f);
    out
}

fn write_manifest(out: &mut String, f: &Findings<'_>) -> std::fmt::Result {
    header(out, f)?;
    writeln!(out, "version = 1")?;
    writeln!(out)?;
    folders::source(out, f)?;
    writeln!(out)?;
    target::target(out, f)?;
    writeln!(out)?;
    include::include(out, f)?;
    writeln!(out)?;
    include::artifacts(out, f.format)?;
    if let Some(config) = &f.ssh_config {
        writeln!(out)?;
        writeln!(out, "[tools]")?;
        writeln!(
            out,
            "# The OpenSSH client configuration `init` reached the installs and the"
        )?;
        writeln!(out, "# tunnels' SSH servers with (ssh -F).")?;
        writeln!(out, "ssh_config = {}", quoted(config))?;
    }
    Ok(())
}

/// `tunnel = "..."` under a side's database, when it has one.
fn tunnel(out: &mut String, bastion: Option<&String>) -> std::fmt::Result {
    if let Some(bastion) = bastion {
        writeln!(
            out,
            "# Reached through this SSH server (ssh -L, for each run); the URL above is"
        )?;
        writeln!(
            out,
            "# the database's host and port as that server reaches them."
        )?;
        writeln!(out, "tunnel = {}", quoted(bastion))?;
    }
    Ok(())
}

fn describe(database: Option<&Database>, release: Option<Release>) -> String {
    match (database, release) {
        (None, _) => "not given".to_owned(),
        (Some(d), _) if !d.exists => "does not exist yet; the first apply creates it".to_owned(),
        (Some(_), Some(r)) => format!("{r}, from its django_migrations"),
        (Some(_), None) => "no NetBox schema".to_owned(),
    }
}

fn header(out: &mut String, f: &Findings<'_>) -> std::fmt::Result {
    writeln!(
        out,
        "# replicate manifest, written by `replicate init` on {}.",
        f.date
    )?;
    writeln!(
        out,
        "# Source: {}.",
        describe(Some(f.source), f.source_release())
    )?;
    writeln!(out, "# Target: {}.", describe(f.target, f.target_release()))?;
    if f.target_older() {
        writeln!(
            out,
            "# The target's NetBox looks older than the source's data: `replicate plan`"
        )?;
        writeln!(
            out,
            "# refuses until it is upgraded (or `allow_older_netbox = true` in [target])."
        )?;
    }
    if !f.variables.is_empty() {
        writeln!(
            out,
            "# Passwords come from the environment, never from this file:"
        )?;
        for (name, what) in &f.variables {
            writeln!(out, "#   export {name}=...   # {what}")?;
        }
    }
    writeln!(
        out,
        "# Check every value, then run `replicate plan` to see what `apply` would do."
    )?;
    writeln!(out)?;
    Ok(())
}

/// `key = value`, or `# key = value` when `commented`.
fn line(out: &mut String, commented: bool, key: &str, value: &str) -> std::fmt::Result {
    let hash = if commented { "# " } else { "" };
    writeln!(out, "{hash}{key} = {value}")
}
