//! `replicate schema`: the manifest's JSON Schema.

use super::super::error::Error;
use super::super::exit;
use super::super::output::print;
use crate::manifest;

pub fn run() -> Result<u8, Error> {
    print(&manifest::json_schema());
    Ok(exit::SUCCESS)
}
