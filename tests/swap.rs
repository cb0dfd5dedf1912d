//! `strategy = "swap"`: the target is replaced only by a replica proven
//! equal to the dump, in one atomic swap, with the previous copy kept for
//! `rollback`; and the plan-time checks of what the target role may do.

mod atomic;
mod companions;
mod roles;

/// The non-superuser role NetBox would connect as on the target.
const ROLE: &str = "nb";
