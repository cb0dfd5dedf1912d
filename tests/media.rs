//! Media: the archive round trip, determinism, GNU tar compatibility,
//! hostile archives, and `apply` with a media folder.

mod apply;
mod archive;
mod folders;
mod hostile;
