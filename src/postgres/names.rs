//! Names of the databases replicate keeps beside the target.

use sha2::{Digest, Sha256};

/// PostgreSQL's limit on a name, in bytes (`NAMEDATALEN - 1`).
pub const MAX_NAME: usize = 63;

/// `NAME` with `suffix` (`__next`, `__prev`), within PostgreSQL's 63-byte
/// limit: a name too long for it is cut (at a character boundary) and given
/// eight hex digits of its SHA-256, so two long names stay apart.
pub fn companion(name: &str, suffix: &str) -> String {
    if name.len() + suffix.len() <= MAX_NAME {
        return format!("{name}{suffix}");
    }
    let hash = hex::encode(Sha256::digest(name.as_bytes()));
    let room = MAX_NAME - suffix.len() - 9;
    let mut cut = room.min(name.len());
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}_{}{suffix}", &name[..cut], &hash[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_keep_their_name() {
        assert_eq!(companion("netbox", "__next"), "netbox__next");
    }

    #[test]
    fn long_names_are_cut_to_fit_and_stay_apart() {
        let a = format!("{}a", "n".repeat(70));
        let b = format!("{}b", "n".repeat(70));
        let (x, y) = (companion(&a, "__next"), companion(&b, "__next"));
        assert!(x.len() <= MAX_NAME && y.len() <= MAX_NAME);
        assert_ne!(x, y);
        assert!(x.ends_with("__next"));
        // Multi-byte characters are never cut in half.
        let wide = "é".repeat(40);
        let z = companion(&wide, "__prev");
        assert!(z.len() <= MAX_NAME && z.ends_with("__prev"));
        // A name that just fits is kept.
        let fits = "x".repeat(MAX_NAME - 6);
        assert_eq!(companion(&fits, "__next"), format!("{fits}__next"));
    }
}
