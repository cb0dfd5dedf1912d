//! `replicate apply` against real PostgreSQL servers: a source and a target,
//! separate clusters, real pg_dump, pg_restore and psql.

mod formats;
mod guards;
mod secrets;
mod split_and_resumed;
