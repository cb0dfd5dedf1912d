//! Media: the archive round trip, determinism, GNU tar compatibility,
//! hostile archives, and `apply` with a media folder.

mod apply;
mod archive;
mod folders;
mod hostile;

use std::path::Path;

use replicate::io::compression::Compression;
use replicate::io::sha256sum::FileSums;
use replicate::io::tally::Tally;
use replicate::media::{ArchiveCheck, ExtractReport, MediaError, Placement, extract};

/// replicate's extract of `archive` into `target`, swapped in at once as
/// under `strategy = "replace"`.
fn extract_in_place(
    archive: &Path,
    compression: Compression,
    check: &ArchiveCheck,
    sums: &FileSums,
    target: &Path,
) -> Result<ExtractReport, MediaError> {
    extract(
        archive,
        compression,
        check,
        sums,
        target,
        Placement::SwapIn,
        &Tally::default(),
    )
}
