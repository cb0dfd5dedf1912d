//! `replicate`: copy a NetBox instance (a PostgreSQL database and folders of
//! uploaded files) from a source to a target, declaratively.
//!
//! The layers, each depending only on those below it:
//!
//! - [`cli`]: arguments, commands (load, call, print), output and progress;
//! - [`exec`], [`init`]: running a plan (the `apply` operation, scheduler,
//!   steps); writing a manifest for the systems found;
//! - [`plan`]: a manifest (and the live systems) to a frozen step graph;
//! - [`manifest`]: `replicate.toml` to a checked [`manifest::Manifest`];
//! - [`postgres`], [`store`], [`media`], [`netbox`], [`remote`]:
//!   PostgreSQL, the artifacts folder, folders of files, what replicate
//!   knows of NetBox, folders on other hosts and in containers, tunnels to
//!   databases behind a bastion;
//! - [`io`], [`display`]: bytes and files, and how things are written for
//!   people.

#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod cli;
mod display;
mod exec;
mod init;
pub mod io;
pub mod manifest;
pub mod media;
mod netbox;
pub mod plan;
mod postgres;
pub mod remote;
mod store;
