//! `pg_dump`'s table patterns (`--exclude-table-data`), matched the way
//! `pg_dump` matches them, to tell which tables a pattern names.

/// Whether a `pg_dump` table pattern matches `schema.table`: `*` and `?`
/// are wildcards, unquoted names fold to lower case, and a pattern without
/// a dot matches the table in any schema.
pub fn matches_pattern(pattern: &str, schema: &str, table: &str) -> bool {
    let fold = |part: &str| -> String {
        if part.starts_with('"') && part.ends_with('"') && part.len() >= 2 {
            part[1..part.len() - 1].replace("\"\"", "\"")
        } else {
            part.to_lowercase()
        }
    };
    match pattern.split_once('.') {
        Some((s, t)) => wildcard(&fold(s), schema) && wildcard(&fold(t), table),
        None => wildcard(&fold(pattern), table),
    }
}

fn wildcard(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_follow_pg_dump() {
        assert!(matches_pattern(
            "extras_objectchange",
            "public",
            "extras_objectchange"
        ));
        assert!(matches_pattern("extras_*", "public", "extras_objectchange"));
        assert!(matches_pattern(
            "public.core_?bjectchange",
            "public",
            "core_objectchange"
        ));
        assert!(!matches_pattern(
            "other.core_objectchange",
            "public",
            "core_objectchange"
        ));
        assert!(matches_pattern(
            "EXTRAS_OBJECTCHANGE",
            "public",
            "extras_objectchange"
        ));
        assert!(!matches_pattern("\"EXTRAS\"", "public", "extras"));
        assert!(matches_pattern("\"Mixed\"", "public", "Mixed"));
        assert!(!matches_pattern("users_token", "public", "users_tokens"));
    }
}
