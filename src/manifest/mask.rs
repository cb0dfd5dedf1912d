//! Passwords written into a manifest, masked before any diagnostic quotes
//! the file.

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
    String::from_utf8(bytes).unwrap_or_else(|_| text.to_owned())
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
}
