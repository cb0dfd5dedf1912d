//! Live planning: what the source and target look like right now, and
//! whether the tools on this machine can do the job.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::exec::process::Secrets;
use crate::manifest::{Compression, DatabaseContent, DumpFormat, Manifest};
use crate::plan::SourceFacts;
use crate::psql;
use crate::quote::sql_literal;
use crate::units::{count, human_bytes};

/// What live planning found.
#[derive(Debug, Clone, Default)]
pub struct Inspection {
    pub facts: Option<SourceFacts>,
    /// One line each, for the plan's header.
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
}

/// A problem that stops planning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectError {
    pub message: String,
    pub help: Option<String>,
    /// The manifest value that caused it, and a label for it.
    pub at: Option<(Range<usize>, String)>,
}

impl InspectError {
    fn new(message: impl Into<String>, help: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            help: Some(help.into()),
            at: None,
        }
    }

    fn at(mut self, span: Option<Range<usize>>, label: impl Into<String>) -> Self {
        self.at = span.map(|span| (span, label.into()));
        self
    }
}

/// The secrets a manifest carries, by origin.
pub fn secrets_of(manifest: &Manifest) -> Secrets {
    let mut secrets = Secrets::default();
    if let Some(p) = manifest.source.database.password() {
        secrets.insert("source.database", p.clone());
    }
    if let Some(p) = manifest.target.database.password() {
        secrets.insert("target.database", p.clone());
    }
    for (name, value) in &manifest.variables {
        secrets.insert_variable(name, value.clone());
    }
    secrets
}

pub fn inspect(manifest: &Manifest, secrets: &Secrets) -> Result<Inspection, InspectError> {
    let mut found = Inspection::default();
    if manifest.has_database() {
        inspect_databases(manifest, secrets, &mut found)?;
    }
    for (side, folder) in [
        ("source", &manifest.source.media),
        ("target", &manifest.target.media),
    ] {
        if let Some(folder) = folder {
            found.notes.push(media_note(side, folder));
        }
    }
    Ok(found)
}

/// The PostgreSQL programs the plan runs must be there: a `bindir` that
/// does not exist, or lacks one of them, is named before anything connects.
fn check_tools(manifest: &Manifest) -> Result<(), InspectError> {
    let mut needed = vec!["psql", "pg_dump"];
    if manifest.artifacts.format != DumpFormat::Plain {
        needed.push("pg_restore");
    }
    let found = || format!("pg_dump found on this machine: {}", installed_pg_dumps());
    let span = manifest.spans.bindir.clone();
    match &manifest.tools.bindir {
        Some(dir) if !dir.is_dir() => Err(InspectError::new(
            format!(
                "tools.bindir {} {}",
                dir.display(),
                if dir.exists() { "is not a folder" } else { "does not exist" }
            ),
            format!("point `bindir` in [tools] at the folder holding pg_dump, pg_restore and psql; {}", found()),
        )
        .at(span, "no such folder")),
        Some(dir) => match needed.iter().find(|p| !dir.join(p).is_file()) {
            Some(program) => Err(InspectError::new(
                format!("tools.bindir {} has no {program}", dir.display()),
                format!("point `bindir` in [tools] at the folder holding pg_dump, pg_restore and psql; {}", found()),
            )
            .at(span, format!("no {program} here"))),
            None => Ok(()),
        },
        None => match needed.iter().find(|p| on_path(p).is_none()) {
            Some(program) => Err(InspectError::new(
                format!("{program} is not on PATH"),
                format!("install the PostgreSQL client programs, or set `bindir` in [tools]; {}", found()),
            )),
            None => Ok(()),
        },
    }
}

/// Where `PATH` finds the program `name`.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

fn inspect_databases(
    manifest: &Manifest,
    secrets: &Secrets,
    found: &mut Inspection,
) -> Result<(), InspectError> {
    check_tools(manifest)?;
    let tools = &manifest.tools;
    let source = &manifest.source.database;
    let rows = psql::query(
        tools,
        source,
        "source.database",
        secrets,
        "SELECT current_setting('server_version_num'), current_setting('server_version'), \
         pg_database_size(d.datname), pg_encoding_to_char(d.encoding), d.datcollate, d.datctype, \
         coalesce(to_jsonb(d)->>'datlocprovider', ''), \
         coalesce(to_jsonb(d)->>'daticulocale', to_jsonb(d)->>'datlocale', '') \
         FROM pg_database d WHERE d.datname = current_database()",
    )
    .map_err(|e| {
        InspectError::new(
            format!("cannot connect to the source database {source}: {e}"),
            "check source.database, the server, and the password (~/.pgpass, PGPASSWORD or ${NAME} in the URL)",
        )
    })?;
    let row = rows.first().cloned().unwrap_or_default();
    let field = |i: usize| row.get(i).cloned().unwrap_or_default();
    let source_version: u32 = field(0).parse().unwrap_or(0);
    let size: u64 = field(2).parse().unwrap_or(0);
    found.notes.push(format!(
        "source: PostgreSQL {}, database {} is {}",
        field(1),
        source.database(),
        human_bytes(size)
    ));
    let provider = match field(6).as_str() {
        "i" => Some("icu".to_owned()),
        "c" => Some("libc".to_owned()),
        "b" => Some("builtin".to_owned()),
        _ => None,
    };
    found.facts = Some(SourceFacts {
        encoding: field(3),
        lc_collate: field(4),
        lc_ctype: field(5),
        icu_locale: Some(field(7)).filter(|l| !l.is_empty()),
        locale_provider: provider,
    });

    check_pg_dump(manifest, source_version, found)?;

    if manifest.include.database == DatabaseContent::Full
        && !manifest.include.exclude_table_data.is_empty()
    {
        let tables = psql::query(
            tools,
            source,
            "source.database",
            secrets,
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p', 'm', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
             AND n.nspname NOT LIKE 'pg\\_toast%'",
        )
        .map_err(|e| InspectError::new(format!("cannot list the source's tables: {e}"), "check the source role's privileges"))?;
        for pattern in &manifest.include.exclude_table_data {
            let matches = tables.iter().any(|t| {
                matches_pattern(
                    pattern,
                    t.first().map_or("", String::as_str),
                    t.get(1).map_or("", String::as_str),
                )
            });
            if !matches {
                found.warnings.push(format!(
                    "exclude_table_data pattern `{pattern}` matches no table in the source"
                ));
            }
        }
    }

    inspect_target(manifest, secrets, source_version, found)
}

fn inspect_target(
    manifest: &Manifest,
    secrets: &Secrets,
    source_version: u32,
    found: &mut Inspection,
) -> Result<(), InspectError> {
    let target = &manifest.target;
    let maintenance = target.database.with_database(&target.maintenance_database);
    let name = sql_literal(target.database.database());
    let rows = psql::query(
        &manifest.tools,
        &maintenance,
        "target.database",
        secrets,
        &format!(
            "SELECT current_setting('server_version_num'), current_setting('server_version'), \
             (SELECT pg_database_size(datname) FROM pg_database WHERE datname = {name}), \
             (SELECT count(*) FROM pg_stat_activity WHERE datname = {name} AND pid <> pg_backend_pid())"
        ),
    )
    .map_err(|e| {
        InspectError::new(
            format!("cannot connect to the target server through {maintenance}: {e}"),
            "check target.database, target.maintenance_database, the server, and the password",
        )
    })?;
    let row = rows.first().cloned().unwrap_or_default();
    let field = |i: usize| row.get(i).cloned().unwrap_or_default();
    let target_version: u32 = field(0).parse().unwrap_or(0);
    let size = field(2);
    let sessions: u64 = field(3).parse().unwrap_or(0);
    let state = if size.is_empty() {
        "does not exist yet".to_owned()
    } else {
        format!(
            "exists ({}, {}): it will be dropped",
            human_bytes(size.parse().unwrap_or(0)),
            count(sessions, "open session", "open sessions")
        )
    };
    found.notes.push(format!(
        "target: PostgreSQL {}, database {} {state}",
        field(1),
        target.database.database()
    ));
    if sessions > 0 && !target.terminate_connections {
        found.warnings.push(format!(
            "the target database {} has {}: `drop` will fail unless they close; set `terminate_connections = true` in [target] to end them",
            target.database.database(),
            count(sessions, "open session", "open sessions")
        ));
    }
    if target.terminate_connections && target_version > 0 && target_version < 130000 {
        return Err(InspectError::new(
            format!(
                "terminate_connections needs PostgreSQL 13 or later on the target, which runs {}",
                field(1)
            ),
            "set `terminate_connections = false` and close the sessions yourself",
        ));
    }
    if target_version > 0 && target_version / 10000 < source_version / 10000 {
        found.warnings.push(format!(
            "the target server (PostgreSQL {}) is older than the source (major {}): the restore may fail",
            field(1),
            source_version / 10000
        ));
    }
    Ok(())
}

/// `pg_dump` must be at least as new as the source server.
fn check_pg_dump(
    manifest: &Manifest,
    source_version: u32,
    found: &mut Inspection,
) -> Result<(), InspectError> {
    let program = manifest.tools.program("pg_dump");
    // A bare name is looked up on PATH; duct takes a `Path` as a file path.
    let major = pg_dump_major(&program).ok_or_else(|| {
        InspectError::new(
            format!("cannot run {}", program.display()),
            format!(
                "install the PostgreSQL client programs, or set `bindir` in [tools]; found on this machine: {}",
                installed_pg_dumps()
            ),
        )
    })?;
    if major < 10 {
        return Err(InspectError::new(
            format!(
                "pg_dump {major} ({}) is too old: replicate needs pg_dump 10 or later",
                program.display()
            ),
            format!(
                "set `bindir` in [tools] to a newer one; found on this machine: {}",
                installed_pg_dumps()
            ),
        ));
    }
    let source_major = source_version / 10000;
    if source_major > 0 && major < source_major {
        return Err(InspectError::new(
            format!(
                "pg_dump {major} ({}) cannot dump the source, which runs PostgreSQL {source_major}",
                program.display()
            ),
            format!(
                "use pg_dump {source_major} or later: set `bindir` in [tools]; found on this machine: {}",
                installed_pg_dumps()
            ),
        ));
    }
    if manifest.artifacts.compression == Compression::Zstd
        && manifest.artifacts.format != DumpFormat::Plain
        && major < 16
    {
        return Err(InspectError::new(
            format!("pg_dump {major} cannot compress with zstd (pg_dump 16 or later can)"),
            "use `compression = \"gzip\"`, `format = \"plain\"` (replicate compresses the stream itself), or a newer pg_dump",
        ));
    }
    found
        .notes
        .push(format!("pg_dump: {major} ({})", program.display()));
    Ok(())
}

fn pg_dump_major(program: &Path) -> Option<u32> {
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

/// Whether a `pg_dump` table pattern matches `schema.table`: `*` and `?`
/// are wildcards, unquoted names fold to lower case, and a pattern without
/// a dot matches the table in any schema.
pub fn matches_pattern(pattern: &str, schema: &str, table: &str) -> bool {
    let fold = |part: &str| -> String {
        if part.starts_with('"') && part.ends_with('"') && part.len() >= 2 {
            part[1..part.len() - 1].replace("\"\"", "\"")
        } else {
            part.to_lowercase()
        }
    };
    match pattern.split_once('.') {
        Some((s, t)) => wildcard(&fold(s), schema) && wildcard(&fold(t), table),
        None => wildcard(&fold(pattern), table),
    }
}

fn wildcard(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

fn media_note(side: &str, folder: &Path) -> String {
    if !folder.is_dir() {
        return format!("{side} media: {} does not exist", folder.display());
    }
    let (mut files, mut bytes) = (0u64, 0u64);
    for entry in walkdir::WalkDir::new(folder).into_iter().flatten() {
        if entry.file_type().is_file() {
            files += 1;
            bytes += entry.metadata().map_or(0, |m| m.len());
        }
    }
    format!(
        "{side} media: {} holds {}, {}",
        folder.display(),
        count(files, "file", "files"),
        human_bytes(bytes)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_follow_pg_dump() {
        assert!(matches_pattern(
            "extras_objectchange",
            "public",
            "extras_objectchange"
        ));
        assert!(matches_pattern("extras_*", "public", "extras_objectchange"));
        assert!(matches_pattern(
            "public.core_?bjectchange",
            "public",
            "core_objectchange"
        ));
        assert!(!matches_pattern(
            "other.core_objectchange",
            "public",
            "core_objectchange"
        ));
        assert!(matches_pattern(
            "EXTRAS_OBJECTCHANGE",
            "public",
            "extras_objectchange"
        ));
        assert!(!matches_pattern("\"EXTRAS\"", "public", "extras"));
        assert!(matches_pattern("\"Mixed\"", "public", "Mixed"));
        assert!(!matches_pattern("users_token", "public", "users_tokens"));
    }
}
