//! The actions on the target's databases (`drop`, `create`, `restore`,
//! `check`, and the renames of `swap`), and how replicate reaches a
//! database with its own queries.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use super::Exec;
use crate::manifest::Text;
use crate::postgres::{DbUrl, DbUrlError};

/// A database replicate itself connects to (libpq): its URL without the
/// password, shown as written, and the secret the password comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DatabaseRef {
    pub url: Text,
    /// `source.database`, `target.database`.
    pub secret: String,
}

impl DatabaseRef {
    pub fn new(url: &DbUrl, secret: &str) -> Self {
        Self {
            url: Text::new(url.conninfo(), url.conninfo_shown()),
            secret: secret.to_owned(),
        }
    }

    /// The URL as libpq reads it.
    pub fn parse(&self) -> Result<DbUrl, DbUrlError> {
        DbUrl::parse_written(self.url.value(), self.url.shown())
    }
}

/// The server a step talks to, which its errors name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Server {
    /// `source` or `target`.
    pub side: String,
    /// The side's database.
    pub database: DatabaseRef,
}

/// `drop`: `DROP DATABASE` through `psql` on the maintenance database.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DropDatabase {
    pub psql: Exec,
    /// The database dropped: its open sessions are named when they block.
    pub database: String,
    /// Where those sessions are looked up.
    pub maintenance: DatabaseRef,
}

/// `create`: `CREATE DATABASE` through `psql` on the maintenance database.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CreateDatabase {
    pub psql: Exec,
    /// Under `swap`, the database made beside the target: a killed run's
    /// work may still hold it, and its sessions there are ended and the
    /// create tried again.
    pub leftover: Option<String>,
    pub maintenance: DatabaseRef,
}

/// `restore`: programs run one after the other (one, or a restore in
/// sections with the sanitized rows loaded between data and indexes).
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Restore {
    pub commands: Vec<Exec>,
    pub into: RestoreInto,
    /// The folder of the PostgreSQL programs (`None`: on `PATH`): a
    /// parallel `pg_restore` is cut in passes from its archive's list.
    pub bindir: Option<PathBuf>,
}

/// The database a restore fills, and where its growth is watched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RestoreInto {
    /// Its name on the target server: its size is the restore's progress.
    pub database: String,
    /// The target's maintenance database, where the size is read and the
    /// restore's commits are flushed at the end.
    pub maintenance: DatabaseRef,
}

/// The renames of the database swap, all in one transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DatabaseSwap {
    /// The target's name, which clients connect to.
    pub target: String,
    /// The new database, restored and checked.
    pub next: String,
    /// Where the replaced target goes.
    pub previous: String,
    /// End the target's client sessions first.
    pub terminate_connections: bool,
    /// Where the renames run.
    pub maintenance: DatabaseRef,
}
