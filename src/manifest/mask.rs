//! Passwords written into a manifest, masked before any diagnostic quotes
//! the file.

use toml::de::DeTable;

/// The text with every password written into a URL (`user:PASSWORD@`,
/// `password=PASSWORD`) replaced by as many `*`, so spans stay valid.
/// `${NAME}` references are not secrets and stay readable.
pub fn mask_passwords(text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let ends_value = |b: u8| matches!(b, b'"' | b'\'' | b'\n' | b' ' | b'\t');
    let mask = |from: usize, to: usize, bytes: &mut Vec<u8>| {
        let value = &text[from..to];
        if !value.contains("${") {
            for b in &mut bytes[from..to] {
                *b = b'*';
            }
        }
    };
    let mut i = 0;
    while let Some(at) = text[i..].find("://") {
        let start = i + at + 3;
        let end = text[start..]
            .bytes()
            .position(|b| ends_value(b) || b == b'/')
            .map_or(text.len(), |p| start + p);
        if let Some(amp) = text[start..end].rfind('@')
            && let Some(colon) = text[start..start + amp].find(':')
        {
            mask(start + colon + 1, start + amp, &mut bytes);
        }
        i = start;
    }
    let mut i = 0;
    while let Some(at) = text[i..].find("password=") {
        let start = i + at + "password=".len();
        let end = text[start..]
            .bytes()
            .position(|b| ends_value(b) || b == b'&')
            .map_or(text.len(), |p| start + p);
        mask(start, end, &mut bytes);
        i = start;
    }
    mask_logins(text, &mut bytes);
    String::from_utf8(bytes).unwrap_or_else(|_| text.to_owned())
}

/// `[sanitize] logins` values written as plain passwords (which the
/// manifest refuses, quoting the line), masked inside their quotes.
fn mask_logins(text: &str, bytes: &mut [u8]) {
    let Ok(root) = DeTable::parse(text) else {
        return;
    };
    let logins = root
        .get_ref()
        .get("sanitize")
        .and_then(|s| s.get_ref().as_table())
        .and_then(|s| s.get("logins"))
        .and_then(|l| l.get_ref().as_table());
    for value in logins.into_iter().flat_map(|l| l.values()) {
        let span = value.span();
        let Some(written) = text.get(span.clone()) else {
            continue;
        };
        if written.contains("${") || span.len() < 2 {
            continue;
        }
        for b in &mut bytes[span.start + 1..span.end - 1] {
            *b = b'*';
        }
    }
}

#[cfg(test)]
mod tests {
    use super::mask_passwords;

    #[test]
    fn passwords_in_the_text_are_masked_and_references_kept() {
        let text = "a = \"postgresql://u:hunter2@h/db\"\nb = \"postgresql://u:${PW}@h/db\"\nc = \"postgres:///db?host=/s&password=s3cr3t&x=1\"\n";
        let masked = mask_passwords(text);
        assert_eq!(masked.len(), text.len());
        assert!(masked.contains("u:*******@h/db"));
        assert!(masked.contains("u:${PW}@h"));
        assert!(masked.contains("password=******&x=1"));
        assert!(!masked.contains("hunter2") && !masked.contains("s3cr3t"));
    }

    #[test]
    fn a_login_password_written_in_the_manifest_is_masked() {
        let text = "[sanitize]\nlogins = { admin = \"hunter2\", dev = \"${DEV}\" }\n";
        let masked = mask_passwords(text);
        assert_eq!(masked.len(), text.len());
        assert!(masked.contains("admin = \"*******\""), "{masked}");
        assert!(masked.contains("dev = \"${DEV}\""), "{masked}");
    }
}
