//! Whether the PostgreSQL programs the plan runs are there, and new enough.

use super::error::InspectError;
use super::found::Inspection;
use crate::manifest::{Compression, DumpFormat, Manifest};
use crate::postgres::tools::{installed_pg_dumps, on_path, pg_dump_major};

/// The PostgreSQL programs the plan runs must be there: a `bindir` that
/// does not exist, or lacks one of them, is named before anything connects.
pub(super) fn check_tools(manifest: &Manifest) -> Result<(), InspectError> {
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
        .at(&manifest.file, span, "no such folder")),
        Some(dir) => match needed.iter().find(|p| !dir.join(p).is_file()) {
            Some(program) => Err(InspectError::new(
                format!("tools.bindir {} has no {program}", dir.display()),
                format!("point `bindir` in [tools] at the folder holding pg_dump, pg_restore and psql; {}", found()),
            )
            .at(&manifest.file, span.clone(), format!("no {program} here"))),
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

/// `pg_dump` must be at least as new as the source server.
pub(super) fn check_pg_dump(
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
        )
        .at(&manifest.file, manifest.spans.bindir.clone(), "too old"));
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
        )
        .at(
            &manifest.file,
            manifest.spans.bindir.clone(),
            format!("pg_dump {major} here"),
        ));
    }
    if manifest.artifacts.compression == Compression::Zstd
        && manifest.artifacts.format != DumpFormat::Plain
        && major < 16
    {
        return Err(InspectError::new(
            format!("pg_dump {major} cannot compress with zstd (pg_dump 16 or later can)"),
            "use `compression = \"gzip\"`, `format = \"plain\"` (replicate compresses the stream itself), or a newer pg_dump",
        )
        .at(
            &manifest.file,
            manifest.spans.compression.clone(),
            format!("pg_dump {major} cannot do this"),
        ));
    }
    found
        .notes
        .push(format!("pg_dump: {major} ({})", program.display()));
    Ok(())
}
