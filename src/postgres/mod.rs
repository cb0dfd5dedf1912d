//! PostgreSQL as replicate reaches it: connection URLs, secrets, the client
//! programs, small queries through `psql`, SQL quoting and `pg_dump`'s
//! table patterns.

pub mod pattern;
pub mod psql;
pub mod quote;
pub mod secrets;
pub mod tools;
pub mod url;

pub use secrets::{Secret, Secrets};
pub use tools::Tools;
pub use url::{DbUrl, DbUrlError};
