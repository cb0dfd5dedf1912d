//! `replicate init`: write a commented manifest for the systems given.

use super::super::error::Error;
use super::super::exit;
use super::super::output::print;
use crate::display::units::count;
use crate::init::{InitRequest, init};

pub fn run(request: &InitRequest) -> Result<u8, Error> {
    let written = init(request)?;
    let mut text = format!("wrote {} for {}\n", written.path.display(), written.source);
    if written.warnings > 0 {
        text.push_str(&format!(
            "it validates with {}: `replicate validate` shows them\n",
            count(written.warnings as u64, "warning", "warnings")
        ));
    }
    text.push_str("next: read it, then\n");
    for name in &written.variables {
        text.push_str(&format!("  export {name}=...\n"));
    }
    text.push_str(&format!(
        "  replicate plan -m {}\n",
        crate::display::shell::shell_word(&written.path.display().to_string())
    ));
    print(&text);
    Ok(exit::SUCCESS)
}
