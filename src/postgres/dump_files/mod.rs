//! What a dump's own files say, read without parsing SQL: the stream
//! folder's and the sanitized folder's listings (written by replicate),
//! an archive's table of contents (`pg_restore --list`, which names each
//! entry by its catalog id) and the rows of its data files.

pub mod data;
pub mod sanitized;
pub mod stream;
pub mod toc;
