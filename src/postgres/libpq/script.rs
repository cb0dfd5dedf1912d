//! pg_dump's plain SQL made fit for libpq.

/// pg_dump's plain SQL as libpq can run it: without the psql commands
/// it may hold (`\restrict KEY`, `\unrestrict KEY`, which only psql reads).
pub fn without_psql_commands(sql: &str) -> String {
    sql.split_inclusive('\n')
        .filter(|line| {
            let line = line.trim_end();
            !["\\restrict ", "\\unrestrict "].iter().any(|command| {
                line.strip_prefix(command).is_some_and(|key| {
                    !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric())
                })
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psql_commands_of_pg_dump_are_left_out() {
        let sql = "\\restrict Ab12\nSET x = 1;\nCREATE INDEX i ON t (a);\n\\unrestrict Ab12\n";
        assert_eq!(
            without_psql_commands(sql),
            "SET x = 1;\nCREATE INDEX i ON t (a);\n"
        );
        // A line of a statement that only looks like one stays.
        let literal = "COMMENT ON TABLE t IS 'a\n\\restrict this, please\n';\n";
        assert_eq!(without_psql_commands(literal), literal);
    }
}
