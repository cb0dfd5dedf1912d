//! Quoting for SQL: names and text put into statements replicate writes.

/// A PostgreSQL identifier in double quotes: `net"box` becomes `"net""box"`.
pub fn sql_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A table's name qualified by its schema, both quoted: `"public"."t"`.
pub fn sql_qualified(schema: &str, table: &str) -> String {
    format!("{}.{}", sql_identifier(schema), sql_identifier(table))
}

/// A PostgreSQL string literal: `it's` becomes `'it''s'`.
pub fn sql_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_double_their_quotes() {
        assert_eq!(sql_identifier("netbox"), "\"netbox\"");
        assert_eq!(sql_identifier("net\"box; drop"), "\"net\"\"box; drop\"");
        assert_eq!(sql_qualified("public", "T t"), "\"public\".\"T t\"");
    }

    #[test]
    fn literals_double_their_quotes() {
        assert_eq!(sql_literal("en_US.UTF-8"), "'en_US.UTF-8'");
        assert_eq!(sql_literal("it's"), "'it''s'");
    }
}
