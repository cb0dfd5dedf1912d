//! `${NAME}` references to environment variables inside manifest strings.

use std::ops::Range;

/// Why a string could not be expanded; `at` is the byte range of the
/// offending reference inside the string.
#[derive(Debug, PartialEq, Eq)]
pub enum InterpolationError {
    /// `${NAME}` names a variable that is not set.
    Unset { name: String, at: Range<usize> },
    /// `${` without a valid name and a closing `}`.
    Malformed { at: Range<usize> },
}

/// Replaces every `${NAME}` with `lookup(NAME)`; `$${` stands for a literal `${`.
pub fn interpolate(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, InterpolationError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut offset = 0;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let tail = &rest[dollar..];
        let start = offset + dollar;
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
            offset = start + 3;
        } else if let Some(body) = tail.strip_prefix("${") {
            let Some(close) = body.find('}') else {
                return Err(InterpolationError::Malformed {
                    at: start..offset + rest.len(),
                });
            };
            let name = &body[..close];
            let end = start + 2 + close + 1;
            if !is_variable_name(name) {
                return Err(InterpolationError::Malformed { at: start..end });
            }
            match lookup(name) {
                Some(value) => out.push_str(&value),
                None => {
                    return Err(InterpolationError::Unset {
                        name: name.to_owned(),
                        at: start..end,
                    });
                }
            }
            rest = &body[close + 1..];
            offset = end;
        } else {
            out.push('$');
            rest = &tail[1..];
            offset = start + 1;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The names of the variables `text` refers to (`$${` escapes left out).
pub fn references(text: &str) -> Vec<String> {
    let names = std::cell::RefCell::new(Vec::new());
    let _ = interpolate(text, &|name| {
        names.borrow_mut().push(name.to_owned());
        Some(String::new())
    });
    names.into_inner()
}

/// The variables referred to only inside the manifest tables `tables`
/// (`source`, `target`), nowhere else: a run that never reaches those
/// systems may leave them unset. Empty when the text is no valid TOML
/// (loading it reports why).
pub fn variables_only_in(text: &str, tables: &[&str]) -> std::collections::BTreeSet<String> {
    fn collect(value: &toml::Value, into: &mut Vec<String>) {
        match value {
            toml::Value::String(s) => into.extend(references(s)),
            toml::Value::Array(items) => items.iter().for_each(|v| collect(v, into)),
            toml::Value::Table(t) => t.values().for_each(|v| collect(v, into)),
            _ => {}
        }
    }
    let Ok(document) = text.parse::<toml::Table>() else {
        return Default::default();
    };
    let (mut inside, mut outside) = (Vec::new(), Vec::new());
    for (key, value) in &document {
        if tables.contains(&key.as_str()) {
            collect(value, &mut inside);
        } else {
            collect(value, &mut outside);
        }
    }
    inside
        .into_iter()
        .filter(|n| !outside.contains(n))
        .collect()
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    #[test]
    fn variables_of_one_side_are_told_from_shared_ones() {
        let text = r#"
[source]
database = "postgresql://u:${PROD}@db/netbox"
media = "${ROOT}/media"
[target]
database = "postgresql://u:${STAGING}@localhost/netbox"
media = "${ROOT}/media"
invalidate = [["${MANAGE}", "x"]]
"#;
        let only = |tables: &[&str]| {
            super::variables_only_in(text, tables)
                .into_iter()
                .collect::<Vec<_>>()
        };
        assert_eq!(only(&["source"]), ["PROD"]);
        assert_eq!(only(&["target"]), ["MANAGE", "STAGING"]);
        assert!(super::variables_only_in("not [toml", &["source"]).is_empty());
    }

    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "PASS" => Some("s3cret".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn replaces_set_variables() {
        assert_eq!(
            interpolate("postgresql://u:${PASS}@h/db", &env),
            Ok("postgresql://u:s3cret@h/db".into())
        );
        assert_eq!(interpolate("a${EMPTY}b", &env), Ok("ab".into()));
        assert_eq!(
            interpolate("${PASS}${PASS}", &env),
            Ok("s3crets3cret".into())
        );
    }

    #[test]
    fn keeps_plain_dollars_and_escapes() {
        assert_eq!(interpolate("cost $5", &env), Ok("cost $5".into()));
        assert_eq!(interpolate("$${PASS}", &env), Ok("${PASS}".into()));
        assert_eq!(interpolate("$$x", &env), Ok("$$x".into()));
        assert_eq!(interpolate("end$", &env), Ok("end$".into()));
    }

    #[test]
    fn references_are_listed_without_escapes() {
        assert_eq!(references("a ${X} $${Y} ${Z}"), vec!["X", "Z"]);
        assert!(references("plain").is_empty());
    }

    #[test]
    fn unset_variable_names_itself_and_its_place() {
        assert_eq!(
            interpolate("x ${NOPE} y", &env),
            Err(InterpolationError::Unset {
                name: "NOPE".into(),
                at: 2..9
            })
        );
    }

    #[test]
    fn malformed_references_are_errors() {
        assert_eq!(
            interpolate("a ${PASS", &env),
            Err(InterpolationError::Malformed { at: 2..8 })
        );
        assert_eq!(
            interpolate("${1X}", &env),
            Err(InterpolationError::Malformed { at: 0..5 })
        );
        assert_eq!(
            interpolate("${}", &env),
            Err(InterpolationError::Malformed { at: 0..3 })
        );
    }
}
