//! `psql` as replicate runs it for scripts (a plain dump's restore, the
//! database steps): the options every one takes.

/// The options every `psql` replicate runs takes: no `.psqlrc`, never a
/// password prompt, stop at the first error.
pub const BASE_ARGS: [&str; 3] = ["--no-psqlrc", "--no-password", "--set=ON_ERROR_STOP=1"];
