//! One module per subcommand. Each takes plain values, loads the manifest
//! (showing its warnings), calls one operation of the layer below, renders
//! its report, and returns the exit code or an error for [`crate::cli`] to
//! report.

pub(super) mod apply;
pub(super) mod clean;
pub(super) mod graph;
pub(super) mod init;
pub(super) mod plan;
pub(super) mod rollback;
pub(super) mod schema;
pub(super) mod shell;
pub(super) mod show;
pub(super) mod unlock;
pub(super) mod validate;
pub(super) mod verify;
