//! replicate's own short queries (live planning, `init`, the database
//! steps' checks), over libpq: values that are names go as parameters,
//! never into the statement's text, and rows come back whole, whatever
//! newlines their values hold.

use super::libpq::Connection;
use super::secrets::Secrets;
use super::url::DbUrl;

/// Why a query gave no rows.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[diagnostic(code(replicate::query))]
pub enum QueryError {
    /// The server's (or libpq's) message, secrets hidden.
    #[error("{0}")]
    Failed(String),
}

/// Runs `sql` with `params` (`$1`, `$2`...) on `url` and returns its rows,
/// `None` for NULL. `origin` names the secret to use (`source.database`,
/// `target.database`).
pub fn rows(
    url: &DbUrl,
    origin: &str,
    secrets: &Secrets,
    sql: &str,
    params: &[&str],
) -> Result<Vec<Vec<Option<String>>>, QueryError> {
    let failed = |e: super::libpq::PqError| QueryError::Failed(secrets.redact(e.0.trim()));
    let mut connection = Connection::to_url(url, origin, secrets).map_err(failed)?;
    if params.is_empty() {
        connection.query(sql).map_err(failed)
    } else {
        connection.query_params(sql, params).map_err(failed)
    }
}

/// [`rows`] with every value as text, NULL as the empty text: for
/// queries whose values are never NULL (or where NULL means nothing).
pub fn texts(
    url: &DbUrl,
    origin: &str,
    secrets: &Secrets,
    sql: &str,
    params: &[&str],
) -> Result<Vec<Vec<String>>, QueryError> {
    Ok(rows(url, origin, secrets, sql, params)?
        .into_iter()
        .map(|row| row.into_iter().map(Option::unwrap_or_default).collect())
        .collect())
}
