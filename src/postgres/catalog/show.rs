//! Names as messages show them: quoted where SQL would need quotes, and
//! always on one line (a newline in a name is shown as `\n`). This is for
//! people only; no name shown here goes into SQL.

use super::Key;

/// `schema.name`, each part quoted when it needs to be.
pub fn shown(schema: &str, name: &str) -> String {
    if schema.is_empty() {
        return part(name);
    }
    format!("{}.{}", part(schema), part(name))
}

/// An object as messages name it: `index public.x_idx on public.x`,
/// `function public.f(integer)`.
pub fn shown_key(key: &Key) -> String {
    let noun = key.kind.noun();
    let mut text = match &key.table {
        Some(table) => format!(
            "{noun} {} on {}",
            part(&key.name),
            shown(&key.schema, table)
        ),
        None => format!("{noun} {}", shown(&key.schema, &key.name)),
    };
    if let Some(arguments) = &key.arguments {
        text.push_str(&format!("({})", one_line(arguments)));
    }
    text
}

/// One part of a name: as it is when SQL would take it unquoted, in
/// double quotes (and escaped) otherwise.
fn part(name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if plain {
        name.to_owned()
    } else {
        format!("\"{}\"", one_line(&name.replace('"', "\"\"")))
    }
}

fn one_line(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_debug().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::Kind;
    use super::*;

    #[test]
    fn names_stay_on_one_line() {
        assert_eq!(shown("public", "dcim_device"), "public.dcim_device");
        assert_eq!(shown("public", "a\nb"), "public.\"a\\nb\"");
        assert_eq!(shown("My Schema", "x\"y"), "\"My Schema\".\"x\"\"y\"");
        assert_eq!(shown("", "plpgsql"), "plpgsql");
    }

    #[test]
    fn objects_name_their_table_and_arguments() {
        let key = Key {
            kind: Kind::Function,
            schema: "public".into(),
            table: None,
            name: "f".into(),
            arguments: Some("integer, text".into()),
        };
        assert_eq!(shown_key(&key), "function public.f(integer, text)");
        let key = Key {
            kind: Kind::Constraint,
            schema: "public".into(),
            table: Some("t".into()),
            name: "t_pkey".into(),
            arguments: None,
        };
        assert_eq!(shown_key(&key), "constraint t_pkey on public.t");
    }
}
