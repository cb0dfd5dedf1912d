//! Colours for human output. Text is written with ANSI styles and printed
//! through `anstream`, which drops them when the output is not a terminal or
//! `NO_COLOR` is set.

use anstyle::{AnsiColor, Style};

pub const HEADING: Style = Style::new().bold();
pub const STEP: Style = Style::new().bold();
pub const DANGER: Style = AnsiColor::Red.on_default().bold();
pub const WARN: Style = AnsiColor::Yellow.on_default().bold();
pub const GOOD: Style = AnsiColor::Green.on_default().bold();
pub const DIM: Style = Style::new().dimmed();

/// `text` wrapped in `style`.
pub fn paint(style: Style, text: impl std::fmt::Display) -> String {
    format!("{style}{text}{style:#}")
}
