//! The plan as people read it, in the spirit of `terraform plan`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use super::style::{DANGER, DIM, HEADING, STEP, WARN, paint};
use crate::display::shell::shell_line;
use crate::io::compression::Compression;
use crate::io::paths;
use crate::plan::document::PlanDocument;
use crate::plan::{Action, Exec, SanitizedDump, StepId, Stream};

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
        let mut items = vec![side.database.clone()];
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

/// What runs, as lines a person could type or read.
fn action_lines(action: &Action) -> Vec<String> {
    match action {
        Action::Run(exec) => exec_lines(exec),
        Action::Dump(dump) => exec_lines(&dump.dump),
        Action::DropDatabase(drop) => exec_lines(&drop.psql),
        Action::CreateDatabase(create) => exec_lines(&create.psql),
        Action::Archive {
            compression,
            folders,
        } => folders
            .iter()
            .flat_map(|f| {
                let mut lines = match &f.read {
                    Some(read) => {
                        let mut lines = exec_lines(read);
                        lines.push(format!(
                            "replicate: its stream rewritten as a tar{} into {}",
                            compression_note(*compression),
                            shown(&f.to)
                        ));
                        lines
                    }
                    None => vec![format!(
                        "replicate: tar{} {} into {}",
                        compression_note(*compression),
                        f.from.shown(),
                        shown(&f.to)
                    )],
                };
                lines.push(format!(
                    "replicate: SHA-256 of every file into {}",
                    shown(&f.file_sums)
                ));
                lines
            })
            .collect(),
        Action::Verify { sums } => vec![format!(
            "replicate: re-hash every artifact against {}",
            shown(sums)
        )],
        Action::Extract { folders, .. } => {
            let mut lines: Vec<String> = folders
                .iter()
                .map(|f| match &f.next {
                    Some(next) => format!(
                        "replicate: unpack {} into {}, check it against {}",
                        shown(&f.archive),
                        shown(next),
                        shown(&f.file_sums)
                    ),
                    None => format!(
                        "replicate: unpack {} beside {}, check it against {}",
                        shown(&f.archive),
                        shown(&f.into),
                        shown(&f.file_sums)
                    ),
                })
                .collect();
            if folders.iter().any(|f| f.next.is_none()) {
                lines.push("replicate: then swap each one in".to_owned());
            }
            lines
                .push("           (refuses absolute paths, `..` and links leading out)".to_owned());
            lines
        }
        Action::SanitizedDump(sanitized) => {
            let SanitizedDump {
                dump,
                post_data,
                tables,
                folder,
                ..
            } = sanitized.as_ref();
            let mut lines = vec![
                "replicate: psql on the source opens one snapshot (REPEATABLE READ, pg_export_snapshot()); everything below reads it".to_owned(),
            ];
            lines.extend(exec_lines(dump));
            lines.push("  (with --snapshot=<that snapshot>)".to_owned());
            for table in tables {
                let into = match folder {
                    Some(folder) => shown(&folder.join(&table.file)),
                    None => "the dump, before its post-data section".to_owned(),
                };
                lines.push(format!(
                    "replicate: {} ({}) into {into}: {}",
                    table.qualified(),
                    table.rule,
                    table.copy_out()
                ));
            }
            if tables.is_empty() {
                lines.push("replicate: each sanitized table's rows through its rule (resolved against the source when applied)".to_owned());
            }
            if let Some(post) = post_data {
                lines.extend(exec_lines(post));
                lines.push("  (appended to the same file, after the sanitized rows)".to_owned());
            }
            lines
        }
        Action::Restore(restore) => restore.commands.iter().flat_map(exec_lines).collect(),
        Action::AfterCopy { commands, .. } => commands
            .iter()
            .flat_map(|c| {
                let mut lines = vec![format!("# {}", c.what)];
                lines.extend(exec_lines(&c.exec));
                lines
            })
            .collect(),
        Action::StreamDump(stream) => {
            let mut lines = vec![
                "replicate: psql on the source opens one snapshot (REPEATABLE READ, pg_export_snapshot()); everything below reads it".to_owned(),
            ];
            lines.extend(exec_lines(&stream.pre_data));
            lines.push("  (with --snapshot=<that snapshot>, into pre-data.sql)".to_owned());
            lines.push(format!(
                "replicate: {} tables at once, the longest to restore first (rows plus largest index): COPY <table> TO STDOUT into <n>.copy, through SHA-256; sequences into sequences.sql; tables.json",
                stream.contents.jobs
            ));
            for table in &stream.sanitized {
                lines.push(format!(
                    "replicate: {} ({}): {}",
                    table.qualified(),
                    table.rule,
                    table.copy_out()
                ));
            }
            lines.extend(exec_lines(&stream.post_data));
            lines.push(
                "  (with --snapshot=<that snapshot>; printed by pg_restore into post-data.sql, its entries with the catalog's facts into post-data.json)"
                    .to_owned(),
            );
            lines
        }
        Action::StreamRestore(stream) => {
            let mut lines = exec_lines(&stream.psql);
            lines.push(format!(
                "  (one a part: pre-data.sql, then {} tables at once, TRUNCATE and COPY <table> FROM STDIN WITH (FREEZE), beside {} sessions building the indexes and keys of the tables loaded, the foreign keys of the tables complete (NOT VALID, then VALIDATE) and their statistics (ANALYZE), then sequences.sql and the rest of post-data.sql, from {})",
                stream.jobs,
                stream.jobs,
                shown(&stream.dump)
            ));
            lines
        }
        Action::Check {
            catalog,
            database,
            content,
            ..
        } => vec![format!(
            "replicate: read {database}'s catalog{} (libpq), compare it with {}",
            if *content {
                " and every table's COPY text"
            } else {
                " and count its tables"
            },
            shown(catalog)
        )],
        Action::Swap {
            database, folders, ..
        } => {
            let mut lines = Vec::new();
            if let Some(db) = database {
                lines.push(format!(
                    "replicate: in one transaction, {}{} -> {}, {} -> {}",
                    if db.terminate_connections {
                        format!("end the sessions on {}, ", db.target)
                    } else {
                        String::new()
                    },
                    db.target,
                    db.previous,
                    db.next,
                    db.target
                ));
            }
            for folder in folders {
                lines.push(format!(
                    "replicate: exchange {} with {}, the old content kept as {}",
                    shown(&folder.folder),
                    shown(&folder.next),
                    shown(&folder.previous)
                ));
            }
            lines
        }
    }
}

fn exec_lines(exec: &Exec) -> Vec<String> {
    let mut words = vec![exec.display()];
    if let Some(stdin) = &exec.stdin {
        words.push(format!("< {}", stream(stdin)));
    }
    if let Some(stdout) = &exec.stdout {
        words.push(format!("> {}", stream(stdout)));
    }
    let mut lines = vec![format!("$ {}", words.join(" "))];
    if let Some(cwd) = &exec.cwd {
        lines.push(format!("  (in {})", shown(cwd)));
    }
    lines
}

fn stream(stream: &Stream) -> String {
    format!(
        "{}{}",
        shell_line([shown(&stream.path).as_str()]),
        compression_note(stream.compression)
    )
}

fn compression_note(compression: Compression) -> String {
    match compression {
        Compression::None => String::new(),
        other => format!(" ({other})"),
    }
}

fn shown(path: &Path) -> String {
    paths::display(path)
}
