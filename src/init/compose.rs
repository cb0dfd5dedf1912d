//! The manifest `init` writes: every value chosen for the systems found,
//! each with a comment that says why.

use std::fmt::Write;

use super::systems::{Database, Table};
use crate::netbox::{self, FolderSetting, Install, Origin, Release, Releases, Schema, Version};
use indicatif::{DecimalBytes, HumanCount};

/// Everything the manifest is written from.
#[derive(Debug, Clone)]
pub struct Findings<'a> {
    /// The source URL as written into the manifest (`${NAME}` for its password).
    pub source_url: String,
    /// The target URL as written, or `None` when no `--target` was given.
    pub target_url: Option<String>,
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
    source(out, f)?;
    writeln!(out)?;
    target(out, f)?;
    writeln!(out)?;
    include(out, f)?;
    writeln!(out)?;
    artifacts(out, f.format)
}

/// `[artifacts]`, for the format asked for.
fn artifacts(out: &mut String, format: crate::manifest::DumpFormat) -> std::fmt::Result {
    use crate::manifest::DumpFormat;
    writeln!(out, "[artifacts]")?;
    writeln!(
        out,
        "# Dumps and archives go here, next to this file. They hold the source's data"
    )?;
    writeln!(out, "# (password hashes too): keep the folder private.")?;
    writeln!(out, "dir = \".replicate\"")?;
    let why = match format {
        DumpFormat::Directory => "directory: dumped and restored in parallel (`jobs` at a time).",
        DumpFormat::Custom => "custom: one archive file, restored in parallel (`jobs` at a time).",
        DumpFormat::Plain => "plain: one SQL file, restored by psql in one transaction.",
        DumpFormat::Stream => {
            "stream: each table read by replicate and loaded into the target as it is written."
        }
    };
    writeln!(out, "# {why}")?;
    writeln!(out, "format = \"{}\"", format.word())?;
    writeln!(out, "compression = \"none\"")?;
    writeln!(out, "jobs = 2")?;
    writeln!(
        out,
        "# content: `check` and `verify --target` compare every table's rows, not only"
    )?;
    writeln!(
        out,
        "# their number, so that a row changed on the target afterwards is named."
    )?;
    writeln!(out, "check = \"content\"")
}

const STRATEGY: &str = "\
# swap: the new database and folders are built beside the live ones, proven
# equal to the dump, then swapped in at once; the previous ones are kept for
# `replicate rollback`.
strategy = \"swap\"
keep_previous = true
# A swap ends the sessions NetBox keeps open (CONN_MAX_AGE): set
# CONN_HEALTH_CHECKS = True in its DATABASE settings so that the first request
# after it reconnects, or restart NetBox's processes after the copy:
# invalidate = [\"/usr/bin/systemctl\", \"restart\", \"netbox\", \"netbox-rq\"]
";

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

/// The three folders where NetBox's documentation installs it, commented.
fn documented_folders(out: &mut String) -> std::fmt::Result {
    for (name, _) in netbox::FOLDER_SETTINGS {
        let path = format!("{DOCUMENTED_ROOT}/netbox/{name}");
        line(out, true, name, &quoted(&path))?;
    }
    Ok(())
}

/// Whether the source's `name` folder is written (and exists).
fn source_folder_set(f: &Findings<'_>, name: &str) -> bool {
    f.source_install.is_some_and(|i| {
        i.folders
            .iter()
            .any(|folder| folder.name == name && folder.path.is_dir())
    })
}

/// The folder lines of one side; `left_out` says why a folder is written
/// commented out, if it is.
fn folders(
    out: &mut String,
    install: Option<&Install>,
    side: &str,
    left_out: &dyn Fn(&FolderSetting) -> Option<String>,
) -> std::fmt::Result {
    let Some(install) = install else {
        writeln!(
            out,
            "# NetBox's folders (MEDIA_ROOT, SCRIPTS_ROOT, REPORTS_ROOT) on the {side}: give"
        )?;
        writeln!(
            out,
            "# `--netbox-root` (source first, then target) to fill them in, or set them here."
        )?;
        return documented_folders(out);
    };
    for folder in &install.folders {
        let FolderSetting {
            name,
            setting,
            path,
            origin,
        } = folder;
        let path_text = path.display().to_string();
        let from = match origin {
            Origin::Configuration => format!(
                "from {}",
                install
                    .configuration
                    .as_ref()
                    .map_or("configuration.py".to_owned(), |c| c.display().to_string())
            ),
            Origin::Default => "NetBox's default: configuration.py does not set it".to_owned(),
            Origin::Expression(expr) => format!(
                "configuration.py sets it to `{expr}`, which replicate does not evaluate: check this path"
            ),
        };
        writeln!(out, "# NetBox's {setting} ({from}).")?;
        let why = left_out(folder);
        if let Some(why) = &why {
            writeln!(out, "# {why}, so it is left out:")?;
        }
        line(out, why.is_some(), name, &quoted(&path_text))?;
    }
    Ok(())
}

fn source(out: &mut String, f: &Findings<'_>) -> std::fmt::Result {
    writeln!(out, "[source]")?;
    writeln!(out, "database = {}", quoted(&f.source_url))?;
    folders(out, f.source_install, "source", &|folder| {
        (!folder.path.is_dir()).then(|| "It does not exist on this machine".to_owned())
    })?;
    if f.source.netbox.is_some() {
        writeln!(
            out,
            "# No command runs on the source first: NetBox keeps its caches in Redis, not in"
        )?;
        writeln!(out, "# the database, so the dump does not depend on them.")?;
    }
    Ok(())
}

fn target(out: &mut String, f: &Findings<'_>) -> std::fmt::Result {
    writeln!(out, "[target]")?;
    match &f.target_url {
        Some(url) => {
            writeln!(out, "# replicate replaces this database.")?;
            writeln!(out, "database = {}", quoted(url))?;
        }
        None => {
            writeln!(
                out,
                "# The database replicate replaces: no --target was given, so this placeholder"
            )?;
            writeln!(out, "# reaches nothing until you write yours.")?;
            writeln!(out, "database = {}", quoted(PLACEHOLDER_TARGET))?;
        }
    }
    match f.target_install {
        Some(install) => folders(out, Some(install), "target", &|folder| {
            (!source_folder_set(f, folder.name))
                .then(|| format!("The source's {} folder is not set", folder.name))
        })?,
        None if f.source_install.is_some() => {
            writeln!(
                out,
                "# The target's folders: the source's are set above, but without a second"
            )?;
            writeln!(
                out,
                "# `--netbox-root` they are not copied until you set these (and [include] below)."
            )?;
            documented_folders(out)?;
        }
        None => folders(out, None, "target", &|_| None)?,
    }
    manage(out, f)?;
    owner(out, f)?;
    out.push_str(STRATEGY);
    // A NetBox serving the target holds sessions open: the swap ends them.
    let netbox = f.target_install.is_some() || f.target.is_some_and(|t| t.netbox.is_some());
    writeln!(
        out,
        "# false: `plan` refuses while anything is connected to the target; true: the"
    )?;
    writeln!(
        out,
        "# swap ends those sessions{}.",
        if netbox {
            " (NetBox's: it reconnects, see CONN_HEALTH_CHECKS above)"
        } else {
            ""
        }
    )?;
    writeln!(out, "terminate_connections = {netbox}")?;
    Ok(())
}

/// `manage`: how replicate runs the target's NetBox after the copy, from
/// the target's install (its own Python, or a package install's `netbox`
/// command); commented with the documented paths when it was not given.
fn manage(out: &mut String, f: &Findings<'_>) -> std::fmt::Result {
    if f.source.netbox.is_none() {
        return Ok(());
    }
    let release = f.command_release();
    let shown = release.map_or("the target's NetBox".to_owned(), |v| format!("NetBox {v}"));
    writeln!(
        out,
        "# After the copy, replicate runs through `manage` (one `shell`) what {shown} needs to serve it:"
    )?;
    for action in netbox::after_copy(release, f.target_newer(), false, false) {
        writeln!(out, "#   {}", action.what())?;
    }
    match f.target_install.and_then(Install::manage_argv) {
        Some(argv) => line(out, false, "manage", &array(&argv)),
        None => {
            writeln!(
                out,
                "# Give the target's install as a second `--netbox-root` to fill this in:"
            )?;
            let argv = [
                format!("{DOCUMENTED_ROOT}/venv/bin/python3"),
                format!("{DOCUMENTED_ROOT}/netbox/manage.py"),
            ];
            line(out, true, "manage", &array(&argv))
        }
    }
}

/// `owner`: the role that owns the target database now, or the one the
/// target's NetBox connects as, so that NetBox keeps its tables.
fn owner(out: &mut String, f: &Findings<'_>) -> std::fmt::Result {
    let found = f
        .target
        .and_then(|t| t.owner.clone())
        .map(|o| (o, "the role that owns the target database now"))
        .or_else(|| {
            f.target_install
                .and_then(|i| i.database_user.clone())
                .map(|u| (u, "the USER of the target's NetBox configuration"))
        });
    writeln!(
        out,
        "# The role that owns the new database and every restored object; NetBox"
    )?;
    writeln!(out, "# must own its tables to run `migrate`.")?;
    match found {
        Some((role, why)) => {
            writeln!(out, "# This is {why}.")?;
            line(out, false, "owner", &quoted(&role))
        }
        None => {
            writeln!(
                out,
                "# Neither the target database nor its NetBox configuration was found: set it."
            )?;
            line(out, true, "owner", &quoted("netbox"))
        }
    }
}

/// `key = value`, or `# key = value` when `commented`.
fn line(out: &mut String, commented: bool, key: &str, value: &str) -> std::fmt::Result {
    let hash = if commented { "# " } else { "" };
    writeln!(out, "{hash}{key} = {value}")
}

fn include(out: &mut String, f: &Findings<'_>) -> std::fmt::Result {
    writeln!(out, "[include]")?;
    writeln!(out, "database = \"full\"")?;
    let mut excluded: Vec<String> = Vec::new();
    if f.source.netbox.is_some() {
        writeln!(
            out,
            "# Rows left out of the copy (the tables themselves are kept, empty):"
        )?;
        let newest = Releases::shipped().all().last().copied();
        let change_log = if f.table(netbox::CHANGE_LOG).is_some() {
            netbox::CHANGE_LOG
        } else if f.table(netbox::OLD_CHANGE_LOG).is_some() {
            netbox::OLD_CHANGE_LOG
        } else {
            f.source_release()
                .and_then(|r| r.at_least())
                .or(newest)
                .map_or(netbox::CHANGE_LOG, netbox::change_log)
        };
        let size = |name: &str| {
            f.table(name).map_or(String::new(), |t| {
                format!(
                    ", about {} rows, {}",
                    HumanCount(t.rows),
                    DecimalBytes(t.bytes)
                )
            })
        };
        let other = netbox::other_change_log(change_log).unwrap_or_default();
        let when = netbox::change_log_releases(other).unwrap_or_default();
        let this_when = netbox::change_log_releases(change_log).unwrap_or_default();
        writeln!(
            out,
            "# - {change_log}: NetBox's change log ({this_when}; {when}: {other}){}",
            size(change_log)
        )?;
        excluded.push(change_log.to_owned());
        if f.table(netbox::SEARCH_CACHE).is_some() {
            writeln!(
                out,
                "# The search cache ({}{}) is copied with the rest: no `reindex` after.",
                netbox::SEARCH_CACHE,
                size(netbox::SEARCH_CACHE)
            )?;
        }
    } else {
        writeln!(
            out,
            "# The source has no NetBox schema: nothing NetBox-specific is left out."
        )?;
    }
    writeln!(out, "exclude_table_data = {}", array(&excluded))?;
    if f.source_install.is_some() && f.target_install.is_none() {
        writeln!(
            out,
            "# The target's folders are not set above: make these true once they are."
        )?;
        for (name, _) in netbox::FOLDER_SETTINGS {
            writeln!(out, "{name} = false")?;
        }
    }
    writeln!(
        out,
        "# false: objects belong to the target's role; true: keep owners and grants."
    )?;
    writeln!(out, "owners = false")?;
    Ok(())
}
