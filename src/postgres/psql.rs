//! Small queries through `psql`, for live planning and for messages: no
//! PostgreSQL driver, the same client programs and credentials as the steps.

use super::secrets::Secrets;
use super::tools::Tools;
use super::url::DbUrl;

/// Field and record separators unlikely to appear in catalog values.
const FIELD: char = '\u{1f}';

/// Runs `sql` on `url` and returns its rows, each a list of text fields.
/// `origin` names the secret to use (`source.database`, `target.database`).
pub fn query(
    tools: &Tools,
    url: &DbUrl,
    origin: &str,
    secrets: &Secrets,
    sql: &str,
) -> Result<Vec<Vec<String>>, String> {
    let program = tools.program("psql").display().to_string();
    let mut expression = duct::cmd(
        &program,
        [
            "--no-psqlrc".to_owned(),
            "--no-password".to_owned(),
            "--set=ON_ERROR_STOP=1".to_owned(),
            "--tuples-only".to_owned(),
            "--no-align".to_owned(),
            format!("--field-separator={FIELD}"),
            format!("--dbname={}", url.conninfo()),
            "--command".to_owned(),
            sql.to_owned(),
        ],
    )
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
    let output = expression
        .run()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(secrets.redact(stderr.trim()));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split(FIELD).map(str::to_owned).collect())
        .collect())
}
