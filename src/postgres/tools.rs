//! The PostgreSQL client programs: where they are, and which version.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Where the client programs are taken from.
#[derive(Debug, Clone, Default)]
pub struct Tools {
    /// A folder holding them; `None` looks them up on `PATH`.
    pub bindir: Option<PathBuf>,
}

impl Tools {
    /// The program `name` (`pg_dump`, `psql`): in `bindir`, or a bare name
    /// looked up on `PATH`.
    pub fn program(&self, name: &str) -> PathBuf {
        match &self.bindir {
            Some(dir) => dir.join(name),
            None => PathBuf::from(name),
        }
    }
}

/// The major version `program --version` reports (`pg_dump (PostgreSQL)
/// 15.18` is 15), or `None` when it does not run.
pub fn pg_dump_major(program: &Path) -> Option<u32> {
    let output = duct::cmd(program.as_os_str(), ["--version"])
        .stdout_capture()
        .stderr_null()
        .unchecked()
        .run()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout);
    // "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
    let version = text.split_whitespace().nth(2)?;
    version.split('.').next()?.parse().ok()
}

/// Every `pg_dump` this machine has, with its major version, for messages.
pub fn installed_pg_dumps() -> String {
    let mut candidates: BTreeSet<PathBuf> = BTreeSet::new();
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        for entry in entries.flatten() {
            candidates.insert(entry.path().join("bin/pg_dump"));
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            candidates.insert(dir.join("pg_dump"));
        }
    }
    let real: BTreeSet<PathBuf> = candidates
        .iter()
        .filter(|p| p.is_file())
        .filter_map(|p| p.canonicalize().ok())
        .collect();
    let found: Vec<String> = real
        .iter()
        .filter_map(|p| pg_dump_major(p).map(|m| format!("pg_dump {m} ({})", p.display())))
        .collect();
    if found.is_empty() {
        "none".to_owned()
    } else {
        found.join(", ")
    }
}

/// Where `PATH` finds the program `name`.
pub fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}
