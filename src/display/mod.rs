//! How replicate writes things for people: quantities (`1.23 MB`, `1 file`)
//! and commands (quoted as a shell would need them).

pub mod shell;
pub mod units;
