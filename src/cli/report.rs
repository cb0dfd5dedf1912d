//! Diagnostics on stderr: errors and warnings rendered by miette, with
//! colours only on a terminal and never with `NO_COLOR`.

use std::io::{IsTerminal, Write};

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};

/// A warning shown on stderr; it does not stop the command.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{message}")]
#[diagnostic(code(replicate::warning), severity(Warning))]
pub struct Warning {
    pub message: String,
    #[help]
    pub help: String,
}

/// Whether stderr may carry colours.
fn stderr_colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Renders a diagnostic (error or warning) on stderr.
pub fn report(diagnostic: &dyn Diagnostic) {
    let theme = if stderr_colour() {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let width = terminal_width().unwrap_or(100);
    let mut handler = GraphicalReportHandler::new_themed(theme)
        .with_width(width)
        .with_links(false);
    if !causes_add_to(diagnostic) {
        handler = handler.without_cause_chain();
    }
    let mut text = String::new();
    if handler.render_report(&mut text, diagnostic).is_err() {
        text = format!("Error: {diagnostic}\n");
    }
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// Whether the errors that caused `diagnostic` say more than its message:
/// replicate's messages end with their cause's text, which is then not
/// repeated on a line of its own.
fn causes_add_to(diagnostic: &dyn Diagnostic) -> bool {
    if diagnostic.diagnostic_source().is_some() {
        return true;
    }
    let message = diagnostic.to_string();
    let mut cause = diagnostic.source();
    while let Some(error) = cause {
        if !message.contains(&error.to_string()) {
            return true;
        }
        cause = error.source();
    }
    false
}

fn terminal_width() -> Option<usize> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    terminal_size::terminal_size_of(std::io::stderr()).map(|(w, _)| usize::from(w.0))
}
