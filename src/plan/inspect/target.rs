//! The target server: its version, whether the target database exists, its
//! size and open sessions, what an earlier run left beside it, and whether
//! the role replicate connects as may do every step (create databases,
//! rename or drop the target, end sessions, give the new database its
//! owner). A step that would be refused is an error now, before anything
//! runs.

use super::error::InspectError;
use super::found::Inspection;
use indicatif::DecimalBytes;

use crate::display::units::count;
use crate::manifest::{Manifest, Strategy};
use crate::postgres::names::companion;
use crate::postgres::quote::sql_literal;
use crate::postgres::{Secrets, query};

/// What the target server said, field by field.
struct Target {
    version_num: u32,
    version: String,
    /// The target database's size, when it exists.
    size: Option<u64>,
    sessions: u64,
    /// Sessions of superusers, which only a superuser may end.
    superuser_sessions: u64,
    superuser: bool,
    createdb: bool,
    /// Whether the role may act as the target database's owner.
    owns_target: bool,
    may_signal: bool,
    next_size: Option<u64>,
    previous_size: Option<u64>,
    owns_previous: bool,
    owner_exists: bool,
    may_be_owner: bool,
    /// The role that owns the target database, when it exists.
    target_owner: Option<String>,
    /// The role replicate connects as: the new database's owner when
    /// `owner` is not set.
    current_user: String,
    /// The extensions the server can create.
    available_extensions: Vec<String>,
}

pub(super) fn inspect(
    manifest: &Manifest,
    secrets: &Secrets,
    source_version: u32,
    source_size: u64,
    found: &mut Inspection,
) -> Result<(), InspectError> {
    let target = &manifest.target;
    let maintenance = target.database.with_database(&target.maintenance_database);
    let rows = query::texts(
        &maintenance,
        "target.database",
        secrets,
        &query(manifest),
        &[],
    )
    .map_err(|e| {
        InspectError::new(
            format!("cannot connect to the target server through {maintenance}: {e}"),
            "check target.database, target.maintenance_database, the server, and the password",
        )
        .at(
            &manifest.file,
            Some(manifest.spans.target_database.clone()),
            "connecting to this server failed",
        )
    })?;
    let row = rows.first().cloned().unwrap_or_default();
    let field = |i: usize| row.get(i).cloned().unwrap_or_default();
    let size = |i: usize| field(i).parse::<u64>().ok();
    let yes = |i: usize| field(i) == "t";
    let found_target = Target {
        version_num: field(0).parse().unwrap_or(0),
        version: field(1),
        size: size(2),
        sessions: field(3).parse().unwrap_or(0),
        superuser_sessions: field(4).parse().unwrap_or(0),
        superuser: yes(5),
        createdb: yes(6),
        owns_target: yes(7),
        may_signal: yes(8),
        next_size: size(9),
        previous_size: size(10),
        owns_previous: yes(11),
        owner_exists: yes(12),
        may_be_owner: yes(13),
        target_owner: Some(field(14)).filter(|o| !o.is_empty()),
        current_user: field(15),
        available_extensions: field(16).split(',').map(str::to_owned).collect(),
    };
    found.target_server = Some((
        found_target.version_num,
        found_target.available_extensions.clone(),
    ));
    found.target_exists = found_target.size.is_some();
    notes(manifest, &found_target, source_size, found);
    let problems = permission_problems(manifest, &found_target);
    if !problems.is_empty() {
        let (messages, helps): (Vec<String>, Vec<String>) = problems.into_iter().unzip();
        return Err(InspectError::new(
            if messages.len() == 1 {
                messages[0].clone()
            } else {
                format!(
                    "the target server would refuse {} steps:\n- {}",
                    messages.len(),
                    messages.join("\n- ")
                )
            },
            helps.join("\n"),
        )
        .at(
            &manifest.file,
            Some(manifest.spans.target_database.clone()),
            "as this role, on this server",
        ));
    }
    if let Some(refused) = owner_change(manifest, &found_target) {
        return Err(refused);
    }
    if found_target.sessions > 0 && !target.terminate_connections {
        let step = match target.strategy {
            Strategy::Swap => "swap",
            Strategy::Replace => "drop",
        };
        return Err(InspectError::new(
            format!(
                "the target database {} has {}: `{step}` would fail while they stay",
                target.database.database(),
                count(found_target.sessions, "open session", "open sessions")
            ),
            "stop the application using it (NetBox, its workers), or set `terminate_connections = true` in [target] to end them",
        )
        .at(
            &manifest.file,
            Some(manifest.spans.target_database.clone()),
            "this database is in use",
        ));
    }
    if found_target.version_num > 0 && found_target.version_num / 10000 < source_version / 10000 {
        found.warnings.push(format!(
            "the target server (PostgreSQL {}) is older than the source (major {}): the restore may fail",
            found_target.version,
            source_version / 10000
        ));
    }
    Ok(())
}

/// One query for everything the plan needs to know of the target server.
fn query(manifest: &Manifest) -> String {
    let t = &manifest.target;
    let name = sql_literal(t.database.database());
    let next = sql_literal(&companion(t.database.database(), "__next"));
    let previous = sql_literal(&companion(t.database.database(), "__prev"));
    let owner = sql_literal(t.owner.as_deref().unwrap_or(""));
    let size = |db: &str| {
        format!("(SELECT pg_database_size(datname) FROM pg_database WHERE datname = {db})")
    };
    let owns = |db: &str| {
        format!(
            "coalesce((SELECT pg_has_role(current_user, datdba, 'USAGE') FROM pg_database WHERE datname = {db}), false)"
        )
    };
    let sessions = |only_superusers: bool| {
        format!(
            "(SELECT count(*) FROM pg_stat_activity a {} WHERE a.datname = {name} AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'{})",
            if only_superusers {
                "JOIN pg_roles ar ON ar.oid = a.usesysid"
            } else {
                ""
            },
            if only_superusers {
                " AND ar.rolsuper"
            } else {
                ""
            }
        )
    };
    format!(
        "SELECT current_setting('server_version_num'), current_setting('server_version'), \
         {}, {}, {}, r.rolsuper, r.rolcreatedb, {}, \
         pg_has_role(current_user, 'pg_signal_backend', 'USAGE'), {}, {}, {}, \
         EXISTS (SELECT FROM pg_roles WHERE rolname = {owner}), \
         CASE WHEN EXISTS (SELECT FROM pg_roles WHERE rolname = {owner}) \
              THEN pg_has_role(current_user, (SELECT oid FROM pg_roles WHERE rolname = {owner}), 'MEMBER') ELSE false END, \
         coalesce((SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = {name}), ''), \
         current_user, \
         (SELECT string_agg(name, ',' ORDER BY name) FROM pg_available_extensions) \
         FROM pg_roles r WHERE r.rolname = current_user",
        size(&name),
        sessions(false),
        sessions(true),
        owns(&name),
        size(&next),
        size(&previous),
        owns(&previous),
    )
}

fn notes(manifest: &Manifest, found_target: &Target, source_size: u64, found: &mut Inspection) {
    let t = &manifest.target;
    let db = t.database.database();
    let fate = match t.strategy {
        Strategy::Swap if t.keep_previous => {
            format!(
                "a swap replaces it, and keeps it as {}",
                companion(db, "__prev")
            )
        }
        Strategy::Swap => "a swap replaces it".to_owned(),
        Strategy::Replace => "it will be dropped".to_owned(),
    };
    let state = match found_target.size {
        None => "does not exist yet".to_owned(),
        Some(size) => format!(
            "exists ({}, {}): {fate}",
            DecimalBytes(size),
            count(found_target.sessions, "open session", "open sessions")
        ),
    };
    found.notes.push(format!(
        "target: PostgreSQL {}, database {db} {state}",
        found_target.version
    ));
    if t.strategy == Strategy::Swap {
        let mut room = format!(
            "swap: the new database is built beside the target as {}, which needs room for a second copy (the source is {})",
            companion(db, "__next"),
            DecimalBytes(source_size)
        );
        if let Some(size) = found_target.next_size {
            room.push_str(&format!(
                "; a {} left by an earlier run ({}) is dropped first, or kept by `--resume` when it was checked",
                companion(db, "__next"),
                DecimalBytes(size)
            ));
        }
        found.notes.push(room);
        if let Some(size) = found_target.previous_size {
            found.notes.push(format!(
                "the previous copy {} ({}) {}",
                companion(db, "__prev"),
                DecimalBytes(size),
                if t.keep_previous {
                    "is replaced by the target's current copy"
                } else {
                    "is removed"
                }
            ));
        }
    }
}

/// The new database would belong to another role than the target database
/// it replaces (`owner` not set, replicate connecting as someone else): the
/// application that used it, NetBox running `migrate` for one, would lose
/// its tables. Refused, with the owner to set.
fn owner_change(manifest: &Manifest, found: &Target) -> Option<InspectError> {
    let t = &manifest.target;
    if t.owner.is_some() {
        return None;
    }
    let owner = found.target_owner.as_deref()?;
    if owner == found.current_user || found.current_user.is_empty() {
        return None;
    }
    let db = t.database.database();
    Some(
        InspectError::new(
            format!(
                "the target database {db} belongs to {owner}, but the copy would belong to {}, the role replicate connects as: {owner} (NetBox, if it connects as {owner}) would lose the right to its own tables",
                found.current_user
            ),
            format!(
                "set `owner = {}` in [target] so that the new database and every restored object belong to it, or connect as {owner}",
                toml::Value::String(owner.to_owned())
            ),
        )
        .at(
            &manifest.file,
            Some(manifest.spans.target_database.clone()),
            "the copy would belong to the role connecting here",
        ),
    )
}

/// Every step the target server would refuse, with what to grant.
fn permission_problems(manifest: &Manifest, found: &Target) -> Vec<(String, String)> {
    let t = &manifest.target;
    let db = t.database.database();
    let role = t
        .database
        .user()
        .unwrap_or("the role replicate connects as");
    let mut problems = Vec::new();
    if found.superuser {
        return problems;
    }
    if !found.createdb {
        problems.push((
            format!(
                "{role} may not create databases: `create`{} needs CREATEDB",
                if t.strategy == Strategy::Swap {
                    " (and the swap's renames)"
                } else {
                    ""
                }
            ),
            format!("ALTER ROLE {role} CREATEDB; (as a superuser)"),
        ));
    }
    if found.size.is_some() && !found.owns_target {
        let what = match t.strategy {
            Strategy::Swap => "rename",
            Strategy::Replace => "drop",
        };
        problems.push((
            format!("{role} does not own the target database {db}, so it may not {what} it"),
            format!("ALTER DATABASE {db} OWNER TO {role}; or connect as its owner"),
        ));
    }
    if t.strategy == Strategy::Swap && found.previous_size.is_some() && !found.owns_previous {
        let previous = companion(db, "__prev");
        problems.push((
            format!("{role} does not own the previous copy {previous}, which the swap replaces"),
            format!("ALTER DATABASE {previous} OWNER TO {role}; or drop it"),
        ));
    }
    if t.terminate_connections {
        if !found.may_signal {
            problems.push((
                format!("{role} may not end other sessions (terminate_connections = true)"),
                format!("GRANT pg_signal_backend TO {role};"),
            ));
        }
        if found.superuser_sessions > 0 {
            problems.push((
                format!(
                    "the target database {db} has {} of superusers, which {role} may not end",
                    count(found.superuser_sessions, "session", "sessions")
                ),
                "close them, or connect as a superuser".to_owned(),
            ));
        }
    }
    if let Some(owner) = &t.owner {
        if !found.owner_exists {
            problems.push((
                format!("the owner role {owner} does not exist on the target server"),
                format!("CREATE ROLE {owner}; or fix target.owner"),
            ));
        } else if !found.may_be_owner {
            problems.push((
                format!("{role} may not give databases to {owner} (target.owner)"),
                format!("GRANT {owner} TO {role};"),
            ));
        }
    }
    problems
}
