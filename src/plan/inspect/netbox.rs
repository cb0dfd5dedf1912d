//! NetBox on both sides (the README's "NetBox" section): each side's schema and release
//! from `django_migrations`; a target whose NetBox is older than the data
//! is refused, one that is newer needs `migrate`; the change log's name.

use super::error::InspectError;
use super::found::{Inspection, NetboxSchema};
use crate::manifest::{DatabaseContent, Manifest};
use crate::netbox::{self, Migration, Schema};
use crate::plan::Sides;
use crate::postgres::pattern::matches_pattern;
use crate::postgres::query::QueryError;
use crate::postgres::quote::{sql_identifier, sql_literal};
use crate::postgres::{DbUrl, Secrets, query};
use indicatif::{DecimalBytes, HumanCount};

/// A change log without a row estimate is counted when smaller than this.
const COUNT_BELOW: u64 = 256 << 20;

/// The source's NetBox schema, from its server.
pub(super) fn read_source(
    manifest: &Manifest,
    secrets: &Secrets,
) -> Result<Option<Schema>, InspectError> {
    read_schema(&manifest.source.database, "source", secrets)
}

/// `source` is the source's schema (read live when `live`, else from the
/// producer's record); the target's is read when `sides.target`.
pub(super) fn inspect(
    manifest: &Manifest,
    secrets: &Secrets,
    source: Option<&Schema>,
    live: bool,
    sides: Sides,
    found: &mut Inspection,
) -> Result<(), InspectError> {
    let target = if sides.target && found.target_exists {
        read_schema(&manifest.target.database, "target", secrets)?
    } else {
        None
    };
    found.source_netbox = source.map(summary);
    found.target_netbox = target.as_ref().map(summary);
    let handled = match source {
        Some(s) if live => change_log(manifest, secrets, s, found)?,
        _ => Vec::new(),
    };
    for pattern in std::mem::take(&mut found.unmatched_patterns) {
        if !handled.contains(&pattern) {
            found.warnings.push(format!(
                "exclude_table_data pattern `{pattern}` matches no table in the source"
            ));
        }
    }
    if let (Some(s), Some(t)) = (source, &target) {
        compare(manifest, s, t, found)?;
    }
    if source.is_some() && live && manifest.sanitize.is_none() {
        v2_tokens(manifest, secrets, found);
    }
    if let (Some(source), Some((version, extensions))) = (source, &found.target_server)
        && let Some(release) = source.release().at_least()
    {
        let (major, needed) = netbox::server_needs(release);
        let missing: Vec<&str> = needed
            .iter()
            .copied()
            .filter(|e| !extensions.iter().any(|x| x == e))
            .collect();
        if *version / 10000 < major || !missing.is_empty() {
            let mut lacks = Vec::new();
            if *version / 10000 < major {
                lacks.push(format!(
                    "PostgreSQL {major} or later (it runs {})",
                    version / 10000
                ));
            }
            for extension in &missing {
                lacks.push(format!(
                    "the `{extension}` extension available (PostgreSQL's contrib)"
                ));
            }
            return Err(InspectError::new(
                format!(
                    "the source's data is NetBox {release}, which needs of the target server {}",
                    lacks.join(" and ")
                ),
                "upgrade the target server, or install PostgreSQL's contrib package there",
            )
            .at(
                &manifest.file,
                Some(manifest.spans.target_database.clone()),
                "this server",
            ));
        }
    }
    if let Some(source) = source {
        let target_newer = target
            .as_ref()
            .is_some_and(|t| !t.ahead_of(source).is_empty());
        let release = target
            .as_ref()
            .map_or_else(|| source.release(), Schema::release)
            .at_least();
        found.after_copy = Some(netbox::after_copy(
            release,
            target_newer,
            search_cache_left_out(manifest),
            has_logins(manifest),
        ));
    }
    Ok(())
}

/// What `invalidate-target` ran through `target.manage` after the copy now
/// on the target, as its NetBox schema says (`migrate` left out: it has
/// run): for `verify --target`, which reports the tables those actions
/// rewrite as rebuilt. Empty without `manage` or a NetBox on the target.
pub fn after_copy_on_target(
    manifest: &Manifest,
    secrets: &Secrets,
) -> Result<Vec<netbox::AfterCopy>, InspectError> {
    if manifest.target.manage.is_none() {
        return Ok(Vec::new());
    }
    let Some(schema) = read_schema(&manifest.target.database, "target", secrets)? else {
        return Ok(Vec::new());
    };
    Ok(netbox::after_copy(
        schema.release().at_least(),
        false,
        search_cache_left_out(manifest),
        has_logins(manifest),
    ))
}

/// Whether `[sanitize] logins` names users to give passwords.
fn has_logins(manifest: &Manifest) -> bool {
    manifest
        .sanitize
        .as_ref()
        .is_some_and(|s| !s.logins.is_empty())
}

/// NetBox 4.5's v2 API tokens are checked against the configuration's
/// peppers: a note when the copied data holds some.
fn v2_tokens(manifest: &Manifest, secrets: &Secrets, found: &mut Inspection) {
    let sql = "SELECT CASE WHEN EXISTS (SELECT FROM information_schema.columns \
               WHERE table_schema = 'public' AND table_name = 'users_token' AND column_name = 'pepper_id') \
               THEN (SELECT count(*) FROM public.users_token WHERE pepper_id IS NOT NULL) ELSE 0 END";
    let count = query::texts(
        &manifest.source.database,
        "source.database",
        secrets,
        sql,
        &[],
    )
    .ok()
    .and_then(|rows| rows.first()?.first()?.parse::<u64>().ok())
    .unwrap_or(0);
    if count > 0 {
        found.notes.push(format!(
            "the data holds {}: they work on the target only when its NetBox configuration has the source's API_TOKEN_PEPPERS",
            plural(count as usize, "v2 API token", "v2 API tokens")
        ));
    }
}

/// Whether the copy leaves the search cache's rows out: excluded, a
/// schema-only copy, or emptied by the `netbox` sanitize preset.
fn search_cache_left_out(manifest: &Manifest) -> bool {
    manifest.include.database == DatabaseContent::Schema
        || manifest
            .include
            .exclude_table_data
            .iter()
            .any(|p| matches_pattern(p, "public", netbox::SEARCH_CACHE))
        || manifest
            .sanitize
            .as_ref()
            .is_some_and(|s| s.preset.is_some())
}

fn summary(schema: &Schema) -> NetboxSchema {
    NetboxSchema {
        release: schema.release().to_string(),
        latest: schema.latest(),
    }
}

/// The side's NetBox schema; `None` when its database is no NetBox.
fn read_schema(url: &DbUrl, side: &str, secrets: &Secrets) -> Result<Option<Schema>, InspectError> {
    read_netbox_schema(url, &format!("{side}.database"), secrets).map_err(|e| {
        InspectError::new(
            format!("cannot read the {side}'s django_migrations: {e}"),
            format!("check that the {side} role may read the database's tables"),
        )
    })
}

/// A database's NetBox schema from its `django_migrations`; `None` when it
/// has no such table or is no NetBox.
pub fn read_netbox_schema(
    url: &DbUrl,
    origin: &str,
    secrets: &Secrets,
) -> Result<Option<Schema>, QueryError> {
    let rows = query::texts(
        url,
        origin,
        secrets,
        "SELECT to_regclass('django_migrations') IS NOT NULL",
        &[],
    )?;
    if rows.first().and_then(|r| r.first()).map(String::as_str) != Some("t") {
        return Ok(None);
    }
    let rows = query::texts(
        url,
        origin,
        secrets,
        "SELECT app, name FROM django_migrations",
        &[],
    )?;
    Ok(Schema::from_rows(rows.into_iter().filter_map(|r| {
        let mut fields = r.into_iter();
        Some((fields.next()?, fields.next()?))
    })))
}

/// The change log: an exclusion that names the other NetBox layout's table
/// is a warning that says so; a change log copied in full is a note with
/// its size. Returns the patterns it warned about.
fn change_log(
    manifest: &Manifest,
    secrets: &Secrets,
    source: &Schema,
    found: &mut Inspection,
) -> Result<Vec<String>, InspectError> {
    if manifest.include.database != DatabaseContent::Full {
        return Ok(Vec::new());
    }
    // Whichever change log the source has: 4.1 moved it (in a migration
    // numbered 0116 in the first pre-release, 0117 since).
    let rows = query::texts(
        &manifest.source.database,
        "source.database",
        secrets,
        &format!(
            "SELECT c.relname, n.nspname, c.reltuples::bigint, pg_total_relation_size(c.oid) \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relname IN ({}, {}) AND c.relkind = 'r' AND pg_table_is_visible(c.oid) \
             ORDER BY c.relname = {} DESC",
            sql_literal(netbox::CHANGE_LOG),
            sql_literal(netbox::OLD_CHANGE_LOG),
            sql_literal(netbox::CHANGE_LOG),
        ),
        &[],
    )
    .map_err(|e| {
        InspectError::new(
            format!("cannot measure the source's change log: {e}"),
            "check the source role's privileges",
        )
    })?;
    let Some(row) = rows.first() else {
        return Ok(Vec::new());
    };
    let field = |i: usize| row.get(i).map_or("", String::as_str);
    let table = if field(0) == netbox::CHANGE_LOG {
        netbox::CHANGE_LOG
    } else {
        netbox::OLD_CHANGE_LOG
    };
    let (schema, estimate, bytes) = (
        field(1).to_owned(),
        field(2).parse::<i64>().unwrap_or(-1),
        field(3).parse::<u64>().unwrap_or(0),
    );
    // A table never analyzed has no estimate: count it when that is cheap.
    let rows = match u64::try_from(estimate) {
        Ok(n) => Some(n),
        Err(_) if bytes < COUNT_BELOW => query::texts(
            &manifest.source.database,
            "source.database",
            secrets,
            &format!("SELECT count(*) FROM {}", sql_identifier(table)),
            &[],
        )
        .ok()
        .and_then(|r| r.first()?.first()?.parse().ok()),
        Err(_) => None,
    };
    let size = match rows {
        Some(n) => format!("about {} rows, {}", HumanCount(n), DecimalBytes(bytes)),
        None => DecimalBytes(bytes).to_string(),
    };
    let schema = schema.as_str();
    let patterns = &manifest.include.exclude_table_data;
    if patterns.iter().any(|p| matches_pattern(p, schema, table)) {
        return Ok(Vec::new());
    }
    let release = source.release();
    let mut handled = Vec::new();
    for pattern in &found.unmatched_patterns {
        if let (Some(other), Some(when)) = (
            netbox::other_change_log(pattern),
            netbox::change_log_releases(pattern),
        ) && other == table
        {
            handled.push(pattern.clone());
            found.warnings.push(format!(
                "exclude_table_data names `{pattern}`, NetBox's change log {when}; this source ({release}) keeps its change log in `{table}`, which is copied in full ({size}): exclude `{table}` instead"
            ));
        }
    }
    if handled.is_empty() {
        found.notes.push(format!(
            "the change log {table} ({size}) is copied in full; add it to include.exclude_table_data to leave its rows out"
        ));
    }
    Ok(handled)
}

/// A target whose NetBox lacks migrations the data has is refused (unless
/// allowed); one that has migrations the data lacks needs `migrate`.
fn compare(
    manifest: &Manifest,
    source: &Schema,
    target: &Schema,
    found: &mut Inspection,
) -> Result<(), InspectError> {
    let (source_release, target_release) = (source.release(), target.release());
    let newer = source.ahead_of(target);
    if !newer.is_empty() {
        let message = format!(
            "the target's NetBox looks older than the source's data: the source ({source_release}) has {} that the target ({target_release}) lacks: {}",
            plural(newer.len(), "migration", "migrations"),
            listed(&newer)
        );
        if !manifest.target.allow_older_netbox {
            return Err(InspectError::new(
                message,
                "upgrade the target's NetBox to the source's release first, or set `allow_older_netbox = true` in [target] to copy anyway (the target's NetBox may then fail on renamed tables)",
            )
            .at(
                &manifest.file,
                Some(manifest.spans.target_database.clone()),
                "this database's NetBox",
            ));
        }
        found
            .warnings
            .push(format!("{message} (allowed by allow_older_netbox)"));
    }
    let older = target.ahead_of(source);
    if !older.is_empty() {
        let runs_migrate = manifest.target.manage.is_some()
            || manifest
                .target
                .invalidate
                .as_ref()
                .is_some_and(|argv| argv.iter().any(|a| a.value().contains("migrate")));
        let message = format!(
            "the target's NetBox is newer than the source's data: the target ({target_release}) has {} that the source ({source_release}) lacks: {}",
            plural(older.len(), "migration", "migrations"),
            listed(&older)
        );
        if runs_migrate {
            found.notes.push(format!(
                "{message}; invalidate-target runs `migrate` after the copy"
            ));
        } else {
            found.warnings.push(format!(
                "{message}; run `manage.py migrate` on the target after the copy, or set target.manage so that invalidate-target runs it"
            ));
        }
    }
    Ok(())
}

/// The newest migration of each app (`ahead_of` lists each app's newest
/// first): `the newest of each app: dcim 0200_x, extras 0122_y`.
fn listed(migrations: &[Migration]) -> String {
    let mut apps = std::collections::BTreeSet::new();
    let newest: Vec<String> = migrations
        .iter()
        .filter(|m| apps.insert(m.app.as_str()))
        .map(ToString::to_string)
        .collect();
    if newest.len() == migrations.len() {
        newest.join(", ")
    } else {
        format!("the newest of each app: {}", newest.join(", "))
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    crate::display::units::count(n as u64, one, many)
}
