//! Exit codes (the README's "Exit codes").

pub const SUCCESS: u8 = 0;
pub const ERROR: u8 = 1;
/// `plan --detailed-exitcode` with steps to apply.
pub const CHANGES: u8 = 2;
/// Bad command line (sysexits' `EX_USAGE`).
pub const USAGE: u8 = 64;
