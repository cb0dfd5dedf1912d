//! Standard output: text for people (styles dropped when it is not a
//! terminal) and JSON lines for programs.

use std::io::Write;
use std::time::Duration;

/// Writes to stdout, ignoring a closed pipe (`replicate plan | head`).
pub fn print(text: &str) {
    let mut out = anstream::stdout();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Writes one JSON object as a line on stdout.
pub fn emit(value: &serde_json::Value) {
    let mut line = value.to_string();
    line.push('\n');
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(line.as_bytes());
    let _ = out.flush();
}

/// `12.3s`.
pub fn seconds(elapsed: Duration) -> String {
    format!("{:.1}s", elapsed.as_secs_f64())
}
