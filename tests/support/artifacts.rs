//! The artifacts folder as the tests check and tamper with it: its
//! SHA256SUMS checked by `sha256sum`, and sealed again over files changed
//! on purpose.

use std::path::Path;
use std::process::Command;

use super::assert_succeeded;

/// `sha256sum --check --strict SHA256SUMS` passes in `dir`.
#[track_caller]
pub fn assert_sums_check(dir: &Path) {
    let output = Command::new("sha256sum")
        .args(["--check", "--strict", "SHA256SUMS"])
        .current_dir(dir)
        .output()
        .expect("sha256sum runs");
    assert_succeeded(output, "sha256sum -c");
}

/// The SHA-256 of `bytes`, in hex, as SHA256SUMS writes it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Rewrites the lines of `artifacts/SHA256SUMS` for the files in `sealed`
/// with the sums of their bytes now, as if they had been produced so.
pub fn reseal(artifacts: &Path, sealed: &[&str]) {
    let path = artifacts.join("SHA256SUMS");
    let text: String = std::fs::read_to_string(&path)
        .expect("SHA256SUMS")
        .lines()
        .map(
            |line| match sealed.iter().find(|n| line.ends_with(&format!("  {n}"))) {
                Some(name) => {
                    let bytes = std::fs::read(artifacts.join(name)).expect("a sealed file");
                    format!("{}  {name}\n", sha256_hex(&bytes))
                }
                None => format!("{line}\n"),
            },
        )
        .collect();
    std::fs::write(path, text).expect("SHA256SUMS written");
}
