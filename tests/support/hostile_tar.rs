//! Tar archives built by hand, byte by byte, so that they can hold anything
//! an attacker wants; and the cases of `fixtures/hostile-archives.toml`.

use super::root;

/// An entry: its name, its tar type byte and its link target.
pub type RawEntry<'a> = (&'a [u8], u8, &'a [u8]);

/// A tar entry's header and data, padded to the 512-byte block.
fn raw_entry(out: &mut Vec<u8>, (name, kind, link): RawEntry, data: &[u8]) {
    let mut header = tar::Header::new_gnu();
    {
        let bytes = header.as_mut_bytes();
        bytes[..name.len()].copy_from_slice(name);
        bytes[157..157 + link.len()].copy_from_slice(link);
        bytes[156] = kind;
    }
    header.set_mode(0o644);
    header.set_size(data.len() as u64);
    header.set_mtime(1_700_000_000);
    header.set_cksum();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

/// An archive of a harmless `good.txt` (holding `fine`), then `entries`
/// (the files among them holding `evil`).
pub fn hostile(entries: &[RawEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    raw_entry(&mut out, (b"good.txt", b'0', b""), b"fine");
    for &(name, kind, link) in entries {
        let data: &[u8] = if kind == b'0' { b"evil" } else { b"" };
        raw_entry(&mut out, (name, kind, link), data);
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

/// A case of `fixtures/hostile-archives.toml`.
#[derive(serde::Deserialize)]
pub struct Case {
    /// What the archive tries.
    pub what: String,
    /// Each entry as `[name, kind, link target]`.
    entries: Vec<Vec<String>>,
    /// What the refusal says.
    pub refused: String,
}

impl Case {
    /// The archive of this case.
    pub fn archive(&self) -> Vec<u8> {
        let entries: Vec<RawEntry> = self
            .entries
            .iter()
            .map(|entry| {
                let link = entry.get(2).map_or("", String::as_str);
                (entry[0].as_bytes(), kind(&entry[1]), link.as_bytes())
            })
            .collect();
        hostile(&entries)
    }

    /// The name of the entry the refusal must name: the last one.
    pub fn culprit(&self) -> &str {
        &self.entries.last().expect("an entry")[0]
    }
}

/// The tar type byte of a kind of entry.
fn kind(name: &str) -> u8 {
    match name {
        "file" => b'0',
        "hard-link" => b'1',
        "symlink" => b'2',
        "char-device" => b'3',
        "block-device" => b'4',
        "folder" => b'5',
        "fifo" => b'6',
        other => panic!("no tar kind {other}"),
    }
}

/// Every case of `fixtures/hostile-archives.toml`.
pub fn cases() -> Vec<Case> {
    #[derive(serde::Deserialize)]
    struct Cases {
        case: Vec<Case>,
    }
    let path = root().join("tests/fixtures/hostile-archives.toml");
    let text = std::fs::read_to_string(&path).expect("the hostile archives");
    let cases: Cases = toml::from_str(&text).expect("the hostile archives parse");
    cases.case
}
