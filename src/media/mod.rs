//! Folders of files (NetBox's media): packed into a tar archive at the
//! source, checked entry by entry, unpacked beside the target and swapped
//! in, compared file by file with their checksums.

mod archive;
mod entries;
mod error;
mod links;
mod repack;
mod send;
mod swap;
mod tree;
mod unpack;

pub use self::archive::{ArchiveReport, archive};
pub use self::entries::ArchiveCheck;
pub use self::error::MediaError;
pub use self::repack::repack;
pub use self::send::send;
pub use self::swap::{
    SwappedFolder, companion, real_folder, roll_back_folder, swap_folder, swap_in,
};
pub use self::tree::{TreeDifferences, compare, compare_sums};
pub use self::unpack::{CheckedArchive, ExtractReport, Placement, check, extract};
