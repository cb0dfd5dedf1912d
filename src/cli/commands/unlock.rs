//! `replicate force-unlock LOCK_ID`: remove the lock a lost run left in
//! an object store.

use std::path::Path;

use super::super::error::Error;
use super::super::exit;
use super::super::load::load_manifest;
use super::super::output::print;
use crate::exec;

pub fn run(path: &Path, id: &str) -> Result<u8, Error> {
    let manifest = load_manifest(path)?;
    let unlocked = exec::force_unlock(&manifest, id)?;
    print(&format!(
        "Removed the lock {id} from {} (it was held by {}).\n",
        unlocked.location, unlocked.holder
    ));
    Ok(exit::SUCCESS)
}
