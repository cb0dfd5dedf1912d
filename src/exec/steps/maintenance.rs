//! The target server's maintenance database, where replicate's own
//! statements create, rename and drop databases and look at sessions.

use std::time::{Duration, Instant};

use crate::exec::connection;
use crate::exec::scheduler::StepFailure;
use crate::plan::DatabaseRef;
use crate::postgres::libpq::{Connection, PqError};
use crate::postgres::query::{self, QueryError};
use crate::postgres::quote::sql_identifier;
use crate::postgres::rename::busy;
use crate::postgres::{DbUrl, Secrets};

/// How often a rename refused for sessions that came back is tried.
const ATTEMPTS: u32 = 3;

/// The URL of a database the plan names.
pub(in crate::exec) fn parsed(database: &DatabaseRef) -> Result<DbUrl, StepFailure> {
    database.parse().map_err(|e| {
        StepFailure::new(format!(
            "the plan's URL {} does not parse: {e}",
            database.url.shown()
        ))
    })
}

/// A server's maintenance database, with the secrets to reach it.
pub(in crate::exec) struct Maintenance<'a> {
    url: DbUrl,
    secret: String,
    secrets: &'a Secrets,
}

impl<'a> Maintenance<'a> {
    /// The maintenance database the plan names.
    pub(in crate::exec) fn planned(
        database: &DatabaseRef,
        secrets: &'a Secrets,
    ) -> Result<Self, StepFailure> {
        Ok(Self::at(parsed(database)?, &database.secret, secrets))
    }

    /// The maintenance database at `url`, its password from `secret`.
    pub(crate) fn at(url: DbUrl, secret: &str, secrets: &'a Secrets) -> Self {
        Self {
            url,
            secret: secret.to_owned(),
            secrets,
        }
    }

    /// Rows of `sql`, every value as text.
    pub(in crate::exec) fn query(&self, sql: &str) -> Result<Vec<Vec<String>>, QueryError> {
        query::texts(&self.url, &self.secret, self.secrets, sql, &[])
    }

    /// A session held open, for queries repeated while a step runs.
    pub(in crate::exec) fn connect(&self) -> Result<Connection, PqError> {
        connection::connect_to(&self.url, &self.secret, self.secrets)
    }

    /// `DROP DATABASE IF EXISTS name`.
    pub(crate) fn drop_database(&self, name: &str) -> Result<(), QueryError> {
        self.query(&format!("DROP DATABASE IF EXISTS {}", sql_identifier(name)))
            .map(|_| ())
    }

    /// Runs a renames statement, trying again while sessions hold on; how
    /// long the names were locked.
    pub(crate) fn renames(&self, sql: &str) -> Result<Duration, QueryError> {
        let mut spent = Duration::ZERO;
        let mut attempt = 1;
        loop {
            let started = Instant::now();
            let result = self.query(sql);
            spent += started.elapsed();
            match result {
                Ok(_) => return Ok(spent),
                Err(e) if attempt < ATTEMPTS && busy(&e.to_string()) => attempt += 1,
                Err(e) => return Err(e),
            }
        }
    }
}
