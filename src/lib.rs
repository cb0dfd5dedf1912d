//! `replicate`: copy a NetBox instance (a PostgreSQL database and a media
//! folder) from a source to a target, declaratively.
//!
//! The layers, each usable alone: [`manifest`] (text to a checked
//! [`manifest::Manifest`]), [`plan`] (manifest to a frozen step graph), and
//! the command line in [`cli`] over them.

#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod arguments;
pub mod artifacts;
pub mod cli;
pub mod commands;
pub mod db_url;
pub mod error;
pub mod exec;
pub mod hashing;
pub mod inspect;
pub mod lock;
pub mod manifest;
pub mod media;
pub mod paths;
pub mod plan;
pub mod psql;
pub mod quote;
pub mod source_file;
pub mod state;
pub mod style;
pub mod units;
pub mod writeback;

pub use error::Error;
