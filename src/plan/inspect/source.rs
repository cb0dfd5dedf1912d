//! The source database: its server, size, encoding and locale, and which
//! tables the manifest's patterns name.

use super::error::InspectError;
use super::found::Inspection;
use super::found::SourceFacts;
use super::tools;
use crate::manifest::{DatabaseContent, Manifest};
use crate::postgres::pattern::matches_pattern;
use crate::postgres::{Secrets, query};
use indicatif::DecimalBytes;

/// Returns the source server's `server_version_num` and the database's size.
pub(super) fn inspect(
    manifest: &Manifest,
    secrets: &Secrets,
    found: &mut Inspection,
) -> Result<(u32, u64), InspectError> {
    let source = &manifest.source.database;
    let rows = query::texts(
        source,
        "source.database",
        secrets,
        "SELECT current_setting('server_version_num'), current_setting('server_version'), \
         pg_database_size(d.datname), pg_encoding_to_char(d.encoding), d.datcollate, d.datctype, \
         coalesce(to_jsonb(d)->>'datlocprovider', ''), \
         coalesce(to_jsonb(d)->>'daticulocale', to_jsonb(d)->>'datlocale', '') \
         FROM pg_database d WHERE d.datname = current_database()",
        &[],
    )
    .map_err(|e| {
        let message = format!("cannot connect to the source database {source}: {e}");
        let help = "check source.database, the server, and the password (~/.pgpass, PGPASSWORD or ${NAME} in the URL)";
        let at = Some(manifest.spans.source_database.clone());
        InspectError::new(message, help).at(&manifest.file, at, "connecting here failed")
    })?;
    let row = rows.into_iter().next().unwrap_or_default();
    let field = |i: usize| row.get(i).cloned().unwrap_or_default();
    let source_version: u32 = field(0).parse().unwrap_or(0);
    let size: u64 = field(2).parse().unwrap_or(0);
    found.notes.push(format!(
        "source: PostgreSQL {}, database {} is {}",
        field(1),
        source.database(),
        DecimalBytes(size)
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
        sanitized: Vec::new(),
    });

    tools::check_pg_dump(manifest, source_version, found)?;

    found.sizes.source_database = size;
    if manifest.include.database == DatabaseContent::Full {
        let tables = query::texts(
            source,
            "source.database",
            secrets,
            // Sizes from the catalog's page counts: no lock is taken, so a
            // table locked by someone else does not hold the plan up.
            "SELECT n.nspname, c.relname, \
             (greatest(c.relpages, 0) + coalesce((SELECT greatest(t.relpages, 0) FROM pg_class t WHERE t.oid = c.reltoastrelid), 0))::bigint \
               * current_setting('block_size')::bigint \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p', 'm', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
             AND n.nspname NOT LIKE 'pg\\_toast%'",
            &[],
        )
        .map_err(|e| InspectError::new(format!("cannot list the source's tables: {e}"), "check the source role's privileges"))?;
        let name = |t: &Vec<String>, i: usize| t.get(i).cloned().unwrap_or_default();
        let excluded = |t: &Vec<String>| {
            manifest
                .include
                .exclude_table_data
                .iter()
                .any(|p| matches_pattern(p, &name(t, 0), &name(t, 1)))
        };
        found.sizes.source_data = tables
            .iter()
            .filter(|t| !excluded(t))
            .map(|t| name(t, 2).parse::<u64>().unwrap_or(0))
            .sum();
        // Never analyzed (a fresh load): the whole database will do.
        if found.sizes.source_data == 0 {
            found.sizes.source_data = size;
        }
        for pattern in &manifest.include.exclude_table_data {
            let matches = tables
                .iter()
                .any(|t| matches_pattern(pattern, &name(t, 0), &name(t, 1)));
            if !matches {
                found.unmatched_patterns.push(pattern.clone());
            }
        }
    }

    Ok((source_version, size))
}
