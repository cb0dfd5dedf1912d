//! Small queries through `psql`, for live planning and for messages: no
//! PostgreSQL driver, the same client programs and credentials as the steps.

use super::secrets::Secrets;
use super::tools::Tools;
use super::url::DbUrl;

/// Field and record separators unlikely to appear in catalog values.
const FIELD: char = '\u{1f}';

/// The options every `psql` replicate runs takes: no `.psqlrc`, never a
/// password prompt, stop at the first error.
pub const BASE_ARGS: [&str; 3] = ["--no-psqlrc", "--no-password", "--set=ON_ERROR_STOP=1"];

/// Why a query gave no rows.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[diagnostic(code(replicate::psql))]
pub enum QueryError {
    #[error("cannot run {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// The server's (or psql's) message, secrets hidden.
    #[error("{0}")]
    Failed(String),
}

/// Runs `sql` on `url` and returns its rows, each a list of text fields.
/// `origin` names the secret to use (`source.database`, `target.database`).
pub fn query(
    tools: &Tools,
    url: &DbUrl,
    origin: &str,
    secrets: &Secrets,
    sql: &str,
) -> Result<Vec<Vec<String>>, QueryError> {
    let program = tools.program("psql").display().to_string();
    let args = BASE_ARGS.iter().map(|a| (*a).to_owned()).chain([
        "--tuples-only".to_owned(),
        "--no-align".to_owned(),
        format!("--field-separator={FIELD}"),
        format!("--dbname={}", url.conninfo()),
        "--command".to_owned(),
        sql.to_owned(),
    ]);
    let mut expression = duct::cmd(&program, args)
        .env("PGAPPNAME", "replicate")
        .before_spawn(|command| {
            crate::io::sys::die_with_parent(command);
            Ok(())
        })
        .stdin_null()
        .stdout_capture()
        .stderr_capture()
        .unchecked();
    if let Some(secret) = secrets.get(origin) {
        expression = expression.env("PGPASSWORD", secret.expose());
    }
    let output = expression.run().map_err(|source| QueryError::Spawn {
        program: program.clone(),
        source,
    })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(QueryError::Failed(secrets.redact(stderr.trim())));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split(FIELD).map(str::to_owned).collect())
        .collect())
}
