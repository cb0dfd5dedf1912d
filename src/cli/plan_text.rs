//! The plan as people read it, in the spirit of `terraform plan`.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::action_text::{action_lines, shown};
use super::style::{DANGER, DIM, HEADING, STEP, WARN, paint};
use crate::io::paths;
use crate::plan::StepId;
use crate::plan::document::PlanDocument;

/// The width plans are written for.
pub const WIDTH: usize = 100;

/// How to show a plan.
#[derive(Debug, Clone, Default)]
pub struct Shown {
    /// Every command, folded to the width.
    pub verbose: bool,
    /// Steps that will not run, and why (`apply --steps`, `--resume`).
    pub skipped: BTreeMap<StepId, String>,
}

/// The whole plan as text with ANSI styles (stripped on output when colour
/// is off), in lines of at most [`WIDTH`] characters where words allow.
pub fn render(doc: &PlanDocument, how: &Shown) -> String {
    let mut out = String::new();
    let _ = render_into(&mut out, doc, how);
    out
}

fn render_into(out: &mut String, doc: &PlanDocument, how: &Shown) -> std::fmt::Result {
    writeln!(
        out,
        "{} {}",
        paint(HEADING, "Manifest"),
        paths::display(&doc.manifest.path)
    )?;
    for (name, side) in [("Source", &doc.source), ("Target", &doc.target)] {
        let mut items = vec![match &side.tunnel {
            Some(bastion) => format!("{} through {bastion}", side.database),
            None => side.database.clone(),
        }];
        for (folder, path) in &side.folders {
            items.push(format!("{folder} {}", path.shown()));
        }
        let lines = wrap_words(&items.join(", "), WIDTH, 8, 10);
        for (i, line) in lines.iter().enumerate() {
            if i == 0 {
                writeln!(
                    out,
                    "{}{}",
                    paint(HEADING, format!("{name:<8}")),
                    &line[8..]
                )?;
            } else {
                writeln!(out, "{line}")?;
            }
        }
        if let Some(netbox) = &side.netbox {
            writeln!(out, "        {}, latest migrations:", netbox.release)?;
            let latest: Vec<String> = netbox
                .latest
                .iter()
                .map(|(app, name)| format!("{app} {name}"))
                .collect();
            for line in wrap(&latest, WIDTH - 10) {
                writeln!(out, "          {line}")?;
            }
        }
    }
    if let Some(store) = &doc.artifacts_store {
        writeln!(
            out,
            "{}{store}, cached in {}",
            paint(HEADING, format!("{:<10}", "Artifacts")),
            paths::display(&doc.artifacts_dir)
        )?;
    }
    for note in &doc.notes {
        for line in wrap_words(note, WIDTH, 8, 10) {
            writeln!(out, "{line}")?;
        }
    }
    for warning in &doc.warnings {
        let lines = wrap_words(&format!("Warning: {warning}"), WIDTH, 0, 9);
        for (i, line) in lines.iter().enumerate() {
            match line.strip_prefix("Warning:").filter(|_| i == 0) {
                Some(rest) => writeln!(out, "{}{rest}", paint(WARN, "Warning:"))?,
                None => writeln!(out, "{line}")?,
            }
        }
    }
    if !doc.live {
        writeln!(
            out,
            "{}",
            paint(
                WARN,
                "Offline plan: the source and target were not inspected."
            )
        )?;
    }
    writeln!(out)?;
    writeln!(out, "replicate will run these steps:")?;
    for (number, planned) in doc.steps.iter().enumerate() {
        let step = &planned.step;
        writeln!(out)?;
        let marker = if planned.destructive {
            paint(DANGER, "!")
        } else {
            " ".to_owned()
        };
        write!(
            out,
            "{marker} {:>2}. {}",
            number + 1,
            paint(STEP, step.id.as_str())
        )?;
        if let Some(why) = how.skipped.get(&step.id) {
            write!(out, "{}", paint(DIM, format!("  skipped: {why}")))?;
        } else if !planned.depends_on.is_empty() || !planned.follows.is_empty() {
            let names = |ids: &[StepId]| ids.iter().map(|d| d.as_str()).collect::<Vec<_>>();
            let mut waits = Vec::new();
            if !planned.depends_on.is_empty() {
                waits.push(format!("after {}", names(&planned.depends_on).join(", ")));
            }
            if !planned.follows.is_empty() {
                waits.push(format!("follows {}", names(&planned.follows).join(", ")));
            }
            write!(out, "{}", paint(DIM, format!("  {}", waits.join("; "))))?;
        }
        if let Some(destroys) = &step.destroys {
            write!(
                out,
                "  {}",
                paint(DANGER, format!("DESTRUCTIVE: {destroys}"))
            )?;
        }
        writeln!(out)?;
        for line in wrap_words(&step.description, WIDTH, 7, 7) {
            writeln!(out, "{line}")?;
        }
        if how.verbose {
            for line in action_lines(&step.action) {
                for folded in fold_command(&line, WIDTH, 7) {
                    writeln!(out, "{}", paint(DIM, folded))?;
                }
            }
        }
        for artifact in &step.produces {
            let written = match &doc.artifacts_store {
                Some(store) => format!("{}/{}", store.trim_end_matches('/'), artifact.name),
                None => shown(&doc.artifacts_dir.join(&artifact.name)),
            };
            writeln!(out, "       writes {written}")?;
        }
    }
    writeln!(out)?;
    if !how.verbose {
        writeln!(
            out,
            "{}",
            paint(DIM, "(the commands each step runs: `--verbose`)")
        )?;
    }
    for line in wrap_words(&doc.summary, WIDTH, 0, 2) {
        writeln!(out, "{}", paint(HEADING, line))?;
    }
    Ok(())
}

/// `text` in lines of at most `width` characters, broken at spaces, the
/// first indented by `first`, the others by `next` (a word longer than a
/// line stands alone).
pub fn wrap_words(text: &str, width: usize, first: usize, next: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = " ".repeat(first);
    let mut empty = true;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if !empty && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
            line = " ".repeat(next);
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    lines.push(line);
    lines
}

/// A command line folded the way a shell reads it: lines of at most
/// `width` characters ending in ` \\`, the next ones indented further.
fn fold_command(line: &str, width: usize, indent: usize) -> Vec<String> {
    let mut lines = wrap_words(line, width - 2, indent, indent + 4);
    let last = lines.len().saturating_sub(1);
    for line in &mut lines[..last] {
        line.push_str(" \\");
    }
    lines
}

/// `items` joined with `, ` into lines of at most `width` characters.
fn wrap(items: &[String], width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for (i, item) in items.iter().enumerate() {
        let piece = if i + 1 < items.len() {
            format!("{item},")
        } else {
            item.clone()
        };
        if !line.is_empty() && line.len() + 1 + piece.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&piece);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}
