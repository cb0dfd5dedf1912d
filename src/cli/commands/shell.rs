//! `replicate completions SHELL` and `replicate man`: both generated from
//! the command line's own definition, so they never drift from it.

use clap::CommandFactory;

use super::super::arguments::Arguments;
use super::super::error::Error;
use super::super::exit;

pub fn completions(shell: clap_complete::Shell) -> Result<u8, Error> {
    let mut command = Arguments::command();
    clap_complete::generate(shell, &mut command, "replicate", &mut std::io::stdout());
    Ok(exit::SUCCESS)
}

pub fn man() -> Result<u8, Error> {
    let page = clap_mangen::Man::new(Arguments::command());
    let mut out = Vec::new();
    page.render(&mut out)
        .map_err(|source| Error::ManualPage { source })?;
    super::super::output::print(&String::from_utf8_lossy(&out));
    Ok(exit::SUCCESS)
}
