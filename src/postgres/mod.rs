//! PostgreSQL as replicate reaches it: connection URLs, secrets, the client
//! programs, small queries through `psql`, SQL quoting, `pg_dump`'s formats
//! and table patterns, the names kept beside a database, and the facts a
//! dump or a database holds (what `check` compares).

pub mod catalog;
pub mod dump_files;
mod format;
pub mod libpq;
pub mod names;
pub mod pattern;
pub mod post_data;
pub mod psql;
pub mod query;
pub mod quote;
pub mod rename;
pub mod secrets;
pub mod tools;
pub mod url;

pub use format::DumpFormat;
pub use secrets::{Secret, Secrets};
pub use tools::Tools;
pub use url::{DbUrl, DbUrlError};
