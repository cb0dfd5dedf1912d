//! Quoting for SQL and for showing commands to people.

/// A PostgreSQL identifier in double quotes: `net"box` becomes `"net""box"`.
pub fn sql_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A PostgreSQL string literal: `it's` becomes `'it''s'`.
pub fn sql_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A word as a POSIX shell would need it, so that shown commands can be
/// pasted into a terminal.
pub fn shell_word(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c));
    if safe {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// A whole command line for display.
pub fn shell_line<'a>(words: impl IntoIterator<Item = &'a str>) -> String {
    words
        .into_iter()
        .map(shell_word)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_double_their_quotes() {
        assert_eq!(sql_identifier("netbox"), "\"netbox\"");
        assert_eq!(sql_identifier("net\"box; drop"), "\"net\"\"box; drop\"");
    }

    #[test]
    fn literals_double_their_quotes() {
        assert_eq!(sql_literal("en_US.UTF-8"), "'en_US.UTF-8'");
        assert_eq!(sql_literal("it's"), "'it''s'");
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("--format=directory"), "--format=directory");
        assert_eq!(shell_word("DROP DATABASE x"), "'DROP DATABASE x'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word(""), "''");
    }
}
