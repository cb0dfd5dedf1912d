//! Asking for approval before a command acts on the target.

use std::io::{BufRead, IsTerminal, Write};

use super::error::Error;

/// A command that asks before it acts.
pub struct Asking {
    /// `apply`, `rollback`.
    pub command: &'static str,
    /// `apply this plan`.
    pub question: &'static str,
    /// What to do without a terminal.
    pub help: &'static str,
}

/// Asks for `yes` on a terminal; without one, only `--auto-approve` will do.
pub fn confirm(auto_approve: bool, asking: &Asking) -> Result<(), Error> {
    if auto_approve {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::NotApproved {
            command: asking.command,
            help: asking.help,
        });
    }
    eprint!(
        "\nDo you want to {}? Only `yes` will be accepted: ",
        asking.question
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(Error::Cancelled {
            command: asking.command,
        })
    }
}
