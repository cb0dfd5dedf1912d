//! A NetBox install, on this machine or where replicate reaches it (a
//! host, a container): where `manage.py`, its Python and its
//! `configuration.py` are, and the folders NetBox keeps files in
//! (`MEDIA_ROOT`, `SCRIPTS_ROOT`, `REPORTS_ROOT`).

use std::fs;
use std::path::{Path, PathBuf};

/// What lies at a path of an install.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    File,
    Folder,
    Nothing,
}

/// How an install's files are read, and how its paths and commands are
/// written for the machine replicate runs on.
pub trait InstallFiles {
    fn found(&self, path: &Path) -> Found;
    fn read(&self, path: &Path) -> Option<String>;
    /// A path of the install as a manifest writes it (`ssh://nb1/opt/...`).
    fn written(&self, path: &Path) -> String;
    /// The argv that runs `argv` (paths of the install) where it is, with
    /// more arguments appended as they are; `None` where that cannot be
    /// done faithfully (over SSH, the remote shell splits them).
    fn run_there(&self, argv: Vec<String>) -> Option<Vec<String>>;
}

/// An install on this machine.
struct HereFiles;

impl InstallFiles for HereFiles {
    fn found(&self, path: &Path) -> Found {
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => Found::Folder,
            Ok(_) => Found::File,
            Err(_) => Found::Nothing,
        }
    }

    fn read(&self, path: &Path) -> Option<String> {
        fs::read_to_string(path).ok()
    }

    fn written(&self, path: &Path) -> String {
        path.display().to_string()
    }

    fn run_there(&self, argv: Vec<String>) -> Option<Vec<String>> {
        Some(argv)
    }
}

/// The folders NetBox keeps files in, by replicate's name for them and
/// NetBox's setting.
pub const FOLDER_SETTINGS: [(&str, &str); 3] = [
    ("media", "MEDIA_ROOT"),
    ("scripts", "SCRIPTS_ROOT"),
    ("reports", "REPORTS_ROOT"),
];

/// A NetBox install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    /// The folder as given (`/opt/netbox`).
    pub root: PathBuf,
    /// `manage.py`, when the install has one (a git or release-archive
    /// install does; a 4.6+ package install keeps only its instance folder).
    pub manage: Option<PathBuf>,
    /// The virtual environment's Python, when there is one beside the install.
    pub python: Option<PathBuf>,
    /// A package install's `netbox` command (in its virtual environment),
    /// which takes `manage.py`'s commands given `NETBOX_ROOT`.
    pub command: Option<PathBuf>,
    /// `configuration.py`, when found.
    pub configuration: Option<PathBuf>,
    /// The database role NetBox connects as (`'USER'` in its database
    /// settings), when written as a plain string.
    pub database_user: Option<String>,
    /// Each folder: replicate's name, the path, and where the path came from.
    pub folders: Vec<FolderSetting>,
    /// The argv that runs `manage.py`'s commands, from where replicate
    /// runs, when the install has a way to.
    pub manage_argv: Option<Vec<String>>,
    /// The host or container it is on (`ssh://nb1`); `None` here.
    pub location: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderSetting {
    /// `media`, `scripts` or `reports`.
    pub name: &'static str,
    /// `MEDIA_ROOT`, ...
    pub setting: &'static str,
    pub path: PathBuf,
    pub origin: Origin,
    /// The path as a manifest writes it (a URL for a remote install).
    pub written: String,
    /// Whether the folder exists.
    pub exists: bool,
}

/// Where a folder's path came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A plain string in `configuration.py`.
    Configuration,
    /// NetBox's default: the setting is not in `configuration.py`.
    Default,
    /// `configuration.py` sets it with an expression replicate does not
    /// evaluate: the default is shown, to be checked.
    Expression(String),
}

impl Install {
    /// Finds the install in `root`: an install folder (`/opt/netbox`, with
    /// `netbox/manage.py`), its project folder (with `manage.py`), or a
    /// package install's instance folder (with `conf/configuration.py`).
    pub fn find(root: &Path) -> Result<Install, String> {
        Self::find_in(root, &HereFiles)
    }

    /// [`Self::find`], reading the install through `files`.
    pub fn find_in(root: &Path, files: &dyn InstallFiles) -> Result<Install, String> {
        let is_file = |path: &Path| files.found(path) == Found::File;
        let (project, configuration, data, venv) = if is_file(&root.join("netbox/manage.py")) {
            let project = root.join("netbox");
            (
                Some(project.clone()),
                project.join("netbox/configuration.py"),
                project,
                root.join("venv"),
            )
        } else if is_file(&root.join("manage.py")) {
            (
                Some(root.to_path_buf()),
                root.join("netbox/configuration.py"),
                root.to_path_buf(),
                root.parent().unwrap_or(root).join("venv"),
            )
        } else if is_file(&root.join("conf/configuration.py")) {
            (
                None,
                root.join("conf/configuration.py"),
                root.to_path_buf(),
                root.join("venv"),
            )
        } else {
            return Err(format!(
                "no NetBox install in {}: found neither netbox/manage.py, manage.py nor conf/configuration.py",
                files.written(root)
            ));
        };
        let text = files.read(&configuration);
        let folders = FOLDER_SETTINGS
            .iter()
            .map(|&(name, setting)| {
                let default = data.join(name);
                let (path, origin) = match text.as_deref().and_then(|t| setting_value(t, setting)) {
                    Some(Value::Plain(path)) => (PathBuf::from(path), Origin::Configuration),
                    Some(Value::Expression(expr)) => (default, Origin::Expression(expr)),
                    None => (default, Origin::Default),
                };
                FolderSetting {
                    name,
                    setting,
                    written: files.written(&path),
                    exists: files.found(&path) == Found::Folder,
                    path,
                    origin,
                }
            })
            .collect();
        let python = venv.join("bin/python3");
        let command = venv.join("bin/netbox");
        let mut install = Install {
            root: root.to_path_buf(),
            command: (project.is_none() && is_file(&command)).then_some(command),
            manage: project.map(|p| p.join("manage.py")),
            python: is_file(&python).then_some(python),
            database_user: text.as_deref().and_then(database_user),
            configuration: text.is_some().then_some(configuration),
            folders,
            manage_argv: None,
            location: None,
        };
        install.manage_argv = install
            .local_manage_argv()
            .and_then(|argv| files.run_there(argv));
        Ok(install)
    }

    /// The argv prefix that runs this install's `manage.py` commands where
    /// it is: its own Python with `manage.py` (never the system's), or a
    /// package install's `netbox` command with `NETBOX_ROOT` set to its
    /// root. `None` when neither is there.
    fn local_manage_argv(&self) -> Option<Vec<String>> {
        let shown = |p: &Path| p.display().to_string();
        if let (Some(python), Some(manage)) = (&self.python, &self.manage) {
            return Some(vec![shown(python), shown(manage)]);
        }
        let command = self.command.as_ref()?;
        Some(vec![
            "/usr/bin/env".to_owned(),
            format!("NETBOX_ROOT={}", shown(&self.root)),
            shown(command),
        ])
    }
}

/// The first `'USER': '...'` in `configuration.py` (the `DATABASE` or
/// `DATABASES['default']` settings), when a plain string.
fn database_user(text: &str) -> Option<String> {
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .find_map(|line| {
            let at = line.find("'USER'").or_else(|| line.find("\"USER\""))?;
            let value = line[at + 6..].trim_start().strip_prefix(':')?.trim();
            let value = value.trim_end_matches(',').trim_end();
            string_literal(value.split(',').next()?.trim()).filter(|u| !u.is_empty())
        })
}

#[derive(Debug, PartialEq, Eq)]
enum Value {
    Plain(String),
    Expression(String),
}

/// The value `configuration.py` gives `setting` at the top level: a plain
/// string literal, or the expression as written.
fn setting_value(text: &str, setting: &str) -> Option<Value> {
    let mut found = None;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(setting) else {
            continue;
        };
        let Some(value) = rest.trim_start().strip_prefix('=') else {
            continue;
        };
        if value.starts_with('=') {
            continue;
        }
        let value = value.trim();
        // The last assignment wins, as in Python.
        found = Some(match string_literal(value) {
            Some(s) => Value::Plain(s),
            None => Value::Expression(value.to_owned()),
        });
    }
    found
}

/// `'/srv/media'`, `"/srv/media"` or `r'/srv/media'`, with an optional
/// trailing comment; no escapes, no concatenation.
fn string_literal(value: &str) -> Option<String> {
    let value = value.strip_prefix('r').unwrap_or(value);
    let quote = value.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let body = &value[1..];
    let end = body.find(quote)?;
    let (content, rest) = (&body[..end], body[end + 1..].trim());
    if content.contains('\\') || !(rest.is_empty() || rest.starts_with('#')) {
        return None;
    }
    // NetBox strips a trailing slash.
    Some(content.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_plain_settings_and_keeps_expressions_as_written() {
        let text = "import os\nMEDIA_ROOT = '/data/media/'  # uploads\nSCRIPTS_ROOT = os.path.join(BASE, 'scripts')\n# REPORTS_ROOT = '/x'\nMEDIA_ROOT_EXTRA = 1\n";
        assert_eq!(
            setting_value(text, "MEDIA_ROOT"),
            Some(Value::Plain("/data/media".into()))
        );
        assert_eq!(
            setting_value(text, "SCRIPTS_ROOT"),
            Some(Value::Expression("os.path.join(BASE, 'scripts')".into()))
        );
        assert_eq!(setting_value(text, "REPORTS_ROOT"), None);
        assert_eq!(
            setting_value("MEDIA_ROOT = \"/a\"\nMEDIA_ROOT = r'/b'\n", "MEDIA_ROOT"),
            Some(Value::Plain("/b".into()))
        );
    }

    #[test]
    fn reads_the_database_user() {
        let text = "DATABASE = {\n    'NAME': 'netbox',\n    'USER': 'nb_app',  # the role\n    'PASSWORD': 'x',\n}\n";
        assert_eq!(database_user(text), Some("nb_app".into()));
        assert_eq!(
            database_user("DATABASES = {'default': {\"USER\": \"netbox\", 'HOST': ''}}"),
            Some("netbox".into())
        );
        assert_eq!(
            database_user("# 'USER': 'old'\n'USER': os.environ['U']\n"),
            None
        );
    }

    #[test]
    fn finds_an_install_folder_and_its_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("netbox/netbox")).unwrap();
        fs::create_dir_all(root.join("venv/bin")).unwrap();
        fs::write(root.join("netbox/manage.py"), "").unwrap();
        fs::write(root.join("venv/bin/python3"), "").unwrap();
        fs::write(
            root.join("netbox/netbox/configuration.py"),
            "REPORTS_ROOT = '/srv/reports'\n",
        )
        .unwrap();
        let install = Install::find(root).unwrap();
        assert_eq!(install.manage, Some(root.join("netbox/manage.py")));
        assert_eq!(install.python, Some(root.join("venv/bin/python3")));
        let paths: Vec<(&str, PathBuf, Origin)> = install
            .folders
            .iter()
            .map(|f| (f.name, f.path.clone(), f.origin.clone()))
            .collect();
        assert_eq!(
            paths,
            vec![
                ("media", root.join("netbox/media"), Origin::Default),
                ("scripts", root.join("netbox/scripts"), Origin::Default),
                (
                    "reports",
                    PathBuf::from("/srv/reports"),
                    Origin::Configuration
                ),
            ]
        );
        assert!(Install::find(&root.join("venv")).is_err());
    }
}
