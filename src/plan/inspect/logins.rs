//! `[sanitize] logins` checked against the source: every user named is
//! there, and active, so the password the target's NetBox sets after the
//! copy lets someone in.

use super::error::InspectError;
use crate::manifest::Manifest;
use crate::postgres::{Secrets, query};

/// NetBox's user tables, newest first (4.0 moved users to its own model).
const USER_TABLES: [&str; 2] = ["users_user", "auth_user"];

pub(super) fn inspect(manifest: &Manifest, secrets: &Secrets) -> Result<(), InspectError> {
    let Some(logins) = manifest.sanitize.as_ref().map(|s| &s.logins) else {
        return Ok(());
    };
    let Some(first) = logins.first() else {
        return Ok(());
    };
    let ask = |sql: &str, params: &[&str]| {
        query::texts(
            &manifest.source.database,
            "source.database",
            secrets,
            sql,
            params,
        )
        .map_err(|e| {
            InspectError::new(
                format!("cannot read the source's users: {e}"),
                "check that the source role may read NetBox's user table",
            )
        })
    };
    let mut table = None;
    for candidate in USER_TABLES {
        let found = ask("SELECT to_regclass($1) IS NOT NULL", &[candidate])?;
        if found.first().and_then(|r| r.first()).map(String::as_str) == Some("t") {
            table = Some(candidate);
            break;
        }
    }
    let Some(table) = table else {
        return Err(InspectError::new(
            "[sanitize] logins: the source has no NetBox user table (users_user or auth_user)",
            "logins are for NetBox databases; remove them for any other",
        )
        .at(
            &manifest.file,
            Some(first.span.clone()),
            "no user table to find this user in",
        ));
    };
    let users: Vec<&str> = logins.iter().map(|l| l.user.as_str()).collect();
    let names = serde_json::to_string(&users).unwrap_or_default();
    // `table` is one of the constant names above, never the manifest's.
    let rows = ask(
        &format!(
            "SELECT wanted, CASE WHEN u.username IS NULL THEN 'missing' \
             ELSE coalesce(to_jsonb(u)->>'is_active', 'true') END \
             FROM json_array_elements_text($1::json) AS wanted \
             LEFT JOIN {table} u ON u.username = wanted"
        ),
        &[&names],
    )?;
    for row in rows {
        let (Some(user), Some(state)) = (row.first(), row.get(1)) else {
            continue;
        };
        let span = logins
            .iter()
            .find(|l| &l.user == user)
            .map(|l| l.span.clone());
        let (message, label, help) = match state.as_str() {
            "missing" => (
                format!("[sanitize] logins: the source has no user `{user}`"),
                "no such user on the source",
                "name a user of the source's NetBox (its username)",
            ),
            "false" => (
                format!("[sanitize] logins: the user `{user}` is not active on the source"),
                "an inactive user cannot log in",
                "name an active user, or make this one active on the source",
            ),
            _ => continue,
        };
        return Err(InspectError::new(message, help).at(&manifest.file, span, label));
    }
    Ok(())
}
