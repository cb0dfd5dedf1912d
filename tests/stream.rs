//! The stream format: the dump's table files loaded into the new database
//! while they are written, with the same artifacts, checks and swap.

mod artifacts;
mod interrupted;
mod keys;
