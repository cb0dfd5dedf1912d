//! `replicate schema`: the manifest's JSON Schema.

use crate::cli::exit;
use crate::error::Error;
use crate::manifest;

pub fn run() -> Result<u8, Error> {
    super::print(&manifest::json_schema());
    Ok(exit::SUCCESS)
}
