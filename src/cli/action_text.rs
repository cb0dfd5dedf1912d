//! What each step's action does, as `plan --verbose` lists it: the
//! programs it runs (shell lines, secrets hidden) and replicate's own work.

use std::path::Path;

use crate::display::shell::shell_line;
use crate::io::compression::Compression;
use crate::io::paths;
use crate::plan::{Action, Exec, SanitizedDump, Stream};

/// What runs, as lines a person could type or read.
pub(super) fn action_lines(action: &Action) -> Vec<String> {
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
                .map(|f| {
                    let (how, place) = match &f.next {
                        Some(next) => ("into", next.shown()),
                        None => ("beside", f.into.shown()),
                    };
                    let there = match f.into.remote_name() {
                        Some(name) => format!(
                            " (checked here first, unpacked by tar on {name}, checked there by sha256sum -c)"
                        ),
                        None => String::new(),
                    };
                    format!(
                        "replicate: unpack {} {how} {place}, check it against {}{there}",
                        shown(&f.archive),
                        shown(&f.file_sums)
                    )
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
                    folder.folder.shown(),
                    folder.next.shown(),
                    folder.previous.shown()
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

pub(super) fn shown(path: &Path) -> String {
    paths::display(path)
}
