//! The stream format at run time: the dump reads one snapshot of the
//! source into a folder of parts (the schema's sections, each table's rows
//! as COPY text), and the restore loads them, each table's keys built as
//! soon as its rows are in. Under `swap` the restore follows the dump
//! while it writes, through the [`Hub`]; otherwise it reads the folder.
//!
//! - `dump.rs`: the dump step, its snapshot and the schema's sections
//! - `tables.rs`: which tables the dump reads, and their rows read
//! - `post_data.rs`, `sequences.rs`: what the dump writes besides the rows
//! - `hub.rs`: what the dump has written so far, shared with the restore
//! - `input.rs`, `restore.rs`: where the restore reads, and the restore
//! - `work.rs`: the restore's tasks, on the ready queue every run shares

mod dump;
mod hub;
mod input;
mod post_data;
mod restore;
mod sequences;
mod tables;
mod work;

pub(super) use self::hub::Hub;
