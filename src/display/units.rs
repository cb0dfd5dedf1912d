//! Nouns with their number: `1 file`, `3 files`. Bytes and large counts
//! are indicatif's `DecimalBytes` and `HumanCount`.

/// `1 file`, `0 files`, `2 open sessions`: `n` and the noun in the number
/// it takes. `many` is the plural form.
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nouns_agree_with_their_number() {
        assert_eq!(count(1u64, "file", "files"), "1 file");
        assert_eq!(count(0u64, "file", "files"), "0 files");
        assert_eq!(
            count(2u64, "open session", "open sessions"),
            "2 open sessions"
        );
    }
}
