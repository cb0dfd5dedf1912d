//! Renaming databases, several at once: one statement, so one transaction,
//! so clients see every rename or none. A rename waits for the sessions on
//! the database to end (up to five seconds), and new sessions wait for the
//! transaction: the time it takes is the time the names cannot be reached.

use super::quote::sql_literal;

/// The dollar-quote tag around a `DO` body: one that no name contains.
fn tag(names: &[&str]) -> String {
    (0..)
        .map(|n| format!("$r{n}$"))
        .find(|t| names.iter().all(|name| !name.contains(t.as_str())))
        .unwrap_or_else(|| "$r$".to_owned())
}

/// SQL renaming `from` to `to` for each pair in order, each only when
/// `from` exists; first ending the client sessions on `terminate`, if any
/// (PostgreSQL's own workers are left to the server, which stops them for
/// the rename).
pub fn renames_sql(renames: &[(&str, &str)], terminate: Option<&str>) -> String {
    let names: Vec<&str> = renames
        .iter()
        .flat_map(|(a, b)| [*a, *b])
        .chain(terminate)
        .collect();
    let tag = tag(&names);
    let mut body = String::new();
    if let Some(name) = terminate {
        body.push_str(&format!(
            "PERFORM pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = {} AND pid <> pg_backend_pid() AND backend_type = 'client backend'; ",
            sql_literal(name)
        ));
    }
    for (from, to) in renames {
        body.push_str(&format!(
            "IF EXISTS (SELECT FROM pg_database WHERE datname = {from}) THEN EXECUTE format('ALTER DATABASE %I RENAME TO %I', {from}, {to}); END IF; ",
            from = sql_literal(from),
            to = sql_literal(to)
        ));
    }
    format!("DO {tag} BEGIN {body}END {tag}")
}

/// Whether a failed rename was refused for the sessions still on the
/// database (worth another try).
pub fn busy(message: &str) -> bool {
    message.contains("is being accessed by other users")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_in_one_statement_in_order() {
        let sql = renames_sql(&[("nb", "nb__prev"), ("nb__next", "nb")], Some("nb"));
        assert!(sql.starts_with("DO $r0$ BEGIN PERFORM pg_terminate_backend"));
        let first = sql.find("'nb', 'nb__prev'").unwrap();
        let second = sql.find("'nb__next', 'nb'").unwrap();
        assert!(first < second);
        assert!(sql.ends_with("END $r0$"));
    }

    #[test]
    fn the_tag_appears_in_no_name() {
        let sql = renames_sql(&[("a$r0$b", "c")], None);
        assert!(sql.starts_with("DO $r1$ "), "{sql}");
    }
}
