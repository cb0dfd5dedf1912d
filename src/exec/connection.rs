//! A libpq connection made from a planned `psql` command: the same URL,
//! password, application name and options the child would have had (its
//! `PG*` variables become the settings the URL may override, as they are
//! for psql), and failures told like a child's; or made from a URL, as
//! replicate's own short queries connect.

use super::scheduler::StepFailure;
use crate::plan::{EnvValue, Exec};
use crate::postgres::libpq::{Connection, CopyError, PqError};
use crate::postgres::{DbUrl, Secrets};

/// The libpq settings the planned variables stand for.
const SETTINGS: [(&str, &str); 3] = [
    ("PGAPPNAME", "application_name"),
    ("PGPASSWORD", "password"),
    ("PGOPTIONS", "options"),
];

/// Connects where `psql` would.
pub fn connect(psql: &Exec, secrets: &Secrets) -> Result<Connection, StepFailure> {
    let mut params: Vec<(&str, String)> = Vec::new();
    for var in &psql.env {
        let Some((_, keyword)) = SETTINGS.iter().find(|(name, _)| *name == var.name) else {
            continue;
        };
        let value = match &var.value {
            EnvValue::Value(v) => v.clone(),
            EnvValue::SecretFrom(origin) => match secrets.get(origin) {
                Some(secret) => secret.expose().to_owned(),
                None => continue,
            },
        };
        params.push((keyword, value));
    }
    let dbname = psql
        .args
        .iter()
        .find_map(|a| a.value().strip_prefix("--dbname=").map(str::to_owned))
        .ok_or_else(|| StepFailure::new("the planned psql names no database"))?;
    // Last: what the URL says wins over the variables, as with psql.
    params.push(("dbname", dbname));
    let refs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Connection::open(&refs).map_err(|e| failed(psql, secrets, "cannot connect", &e))
}

/// Connects to `url` as replicate's own `psql` queries do: application
/// name `replicate`, the password of `origin` if one was given.
pub fn connect_to(url: &DbUrl, origin: &str, secrets: &Secrets) -> Result<Connection, PqError> {
    Connection::to_url(url, origin, secrets)
}

/// Where a connection's failure happened, secrets hidden.
pub fn failed(psql: &Exec, secrets: &Secrets, what: &str, error: &PqError) -> StepFailure {
    StepFailure {
        message: format!("{what}: {}", secrets.redact(&error.0)),
        command: Some(where_to(psql, secrets)),
        ..StepFailure::default()
    }
}

/// A `COPY`'s failure: the server's, or our side's.
pub fn copy_failed(psql: &Exec, secrets: &Secrets, what: &str, error: &CopyError) -> StepFailure {
    let error = match error {
        CopyError::Server(e) => e.clone(),
        CopyError::Local(e) => PqError(crate::io::files::describe_io(e)),
    };
    failed(psql, secrets, what, &error)
}

/// The connection as the plan shows it: libpq, on the URL (shown as written).
fn where_to(psql: &Exec, secrets: &Secrets) -> String {
    let dbname = psql
        .args
        .iter()
        .find(|a| a.value().starts_with("--dbname="))
        .map(|a| a.shown().trim_start_matches("--dbname=").to_owned())
        .unwrap_or_default();
    secrets.redact(&format!("libpq connection to {dbname}"))
}
