//! `replicate`: copy a NetBox instance (a PostgreSQL database and folders of
//! uploaded files) from a source to a target, declaratively.
//!
//! The layers, each depending only on those below it:
//!
//! - [`cli`]: arguments, commands (load, call, print), output and progress;
//! - [`exec`]: running a plan (the `apply` operation, scheduler, steps);
//! - [`plan`]: a manifest (and the live systems) to a frozen step graph;
//! - [`manifest`]: `replicate.toml` to a checked [`manifest::Manifest`];
//! - [`postgres`], [`store`], [`media`]: PostgreSQL, the artifacts folder,
//!   folders of files;
//! - [`io`], [`display`]: bytes and files, and how things are written for
//!   people.

#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod cli;
mod display;
mod exec;
pub mod io;
pub mod manifest;
pub mod media;
pub mod plan;
mod postgres;
mod store;
