//! What a person sees: progress on a terminal and in logs, the summary at
//! the end, and the artifacts cleaned up.

use std::fs;
use std::path::Path;

use crate::support::Replicate;
use crate::support::pg::Pair;
use crate::support::scenario::{Scenario, TableLock, wait_for_blocked_dump};

/// The output with terminal escapes dropped and every redrawn line apart.
fn screen_lines(raw: &str) -> Vec<String> {
    let mut text = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte.
            if chars.peek() == Some(&'[') {
                chars.next();
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() || d == '~' {
                        break;
                    }
                }
            }
            text.push('\n');
        } else if c == '\r' {
            text.push('\n');
        } else {
            text.push(c);
        }
    }
    text.lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

/// The `done/total` figures a step's bar showed, in order.
fn figures(lines: &[String], step: &str) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.contains(&format!(" {step} ")) && l.contains(" left"))
        .filter_map(|l| {
            let slash = l.find("B/")?;
            let start = l[..slash].rfind(']')? + 1;
            Some(l[start..slash + 1].trim().to_owned())
        })
        .collect()
}

fn big_source(pair: &Pair) {
    pair.source.create_database("netbox");
    pair.source.sql(
        "netbox",
        "CREATE TABLE big AS SELECT g AS id, repeat(md5(g::text), 8) AS payload \
         FROM generate_series(1, 1000000) g; \
         ALTER TABLE big ADD PRIMARY KEY (id); ANALYZE big;",
    );
}

#[test]
fn progress_shows_bytes_rate_and_time_left_on_a_terminal_and_in_logs() {
    let pair = Pair::start();
    big_source(&pair);
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("replicate.toml"),
        format!(
            "version = 1\n[source]\ndatabase = \"{}\"\n[target]\ndatabase = \"{}\"\n",
            pair.source.url("netbox"),
            pair.target.url("netbox")
        ),
    )
    .unwrap();
    // Under a pseudo-terminal (script), wide enough for the bars.
    let command = format!(
        "stty cols 200 rows 40; cd '{}' && '{}' apply --auto-approve",
        dir.path().display(),
        env!("CARGO_BIN_EXE_replicate")
    );
    let run = Replicate::command("script")
        .args(["-qfec", &command, "/dev/null"])
        .run()
        .success();
    let lines = screen_lines(&run.stdout());
    for step in ["dump", "restore"] {
        let seen = figures(&lines, step);
        let mut distinct = seen.clone();
        distinct.dedup();
        assert!(
            distinct.len() >= 2,
            "{step}: the bar never moved: {seen:?}\n{}",
            lines.join("\n")
        );
        assert!(
            seen.iter().all(|f| f.contains("B/") || f.ends_with('B')),
            "{seen:?}"
        );
    }
    assert!(
        lines.iter().any(|l| l.starts_with("Apply complete:")),
        "{}",
        lines.join("\n")
    );

    // Without a terminal: a line a step start and end, and progress lines
    // for long steps (every second here, every 10 by default).
    let run = Replicate::new()
        .current_dir(dir.path())
        .env("REPLICATE_PROGRESS_SECONDS", "1")
        .args(["apply", "--auto-approve"])
        .run()
        .success();
    let out = run.stdout();
    for step in ["dump", "restore"] {
        let progress: Vec<&str> = out
            .lines()
            .filter(|l| l.starts_with(step) && l.contains(" of ~") && l.contains("/s"))
            .collect();
        assert!(!progress.is_empty(), "no progress line for {step}:\n{out}");
    }
    assert!(out.contains("about") && out.contains("left"), "{out}");
}

/// The summary's lines with numbers and the test's folder made stable.
fn redacted_summary(stdout: &str, dir: &Path) -> String {
    let from = stdout.find("Apply complete:").expect("a summary");
    let text = stdout[from..].replace(&dir.display().to_string(), "[DIR]");
    let mut out = String::new();
    let mut in_number = false;
    for c in text.chars() {
        if c.is_ascii_digit() || (in_number && (c == '.' || c == ',')) {
            if !in_number {
                out.push('N');
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(c);
        }
    }
    out
}

#[test]
fn the_end_of_apply_says_what_was_copied_and_where_things_are() {
    let s = Scenario::new("directory", "");
    s.add_media(0);
    let run = s.apply(&[]).success();
    insta::assert_snapshot!(redacted_summary(&run.stdout(), s.dir.path()));
    let out = run.stdout_flat();
    assert!(out.contains("tables,"), "{out}");
    assert!(out.contains("replicate rollback"), "{out}");
    assert!(out.contains("replicate clean"), "{out}");
}

#[test]
fn clean_removes_the_artifacts_and_never_while_a_run_holds_them() {
    let s = Scenario::new("directory", "");
    s.apply(&["--steps", "dump"]).success();
    assert!(s.artifacts().join("netbox.dir").is_dir());

    // A run holds the folder: clean is refused, and removes nothing.
    let lock = TableLock::hold(&s.pair.source, "dcim_device");
    let running = s.replicate().args(["apply", "--auto-approve"]).spawn();
    wait_for_blocked_dump(&s.pair.source);
    s.replicate()
        .args(["clean"])
        .run()
        .code(1)
        .stderr_has("another run holds");
    assert!(s.artifacts().join("SHA256SUMS").is_file());
    drop(lock);
    running.finish().success();

    s.replicate()
        .args(["clean"])
        .run()
        .success()
        .stdout_has("netbox.dir")
        .stdout_has("SHA256SUMS");
    for name in ["netbox.dir", "SHA256SUMS", "state.json"] {
        assert!(!s.artifacts().join(name).exists(), "{name} is still there");
    }
    s.replicate()
        .args(["clean"])
        .run()
        .success()
        .stdout_has("Nothing to remove");
}

/// Runs in four formats leave four dumps: `clean` removes every one (and
/// every other file replicate wrote), whichever format the manifest names
/// now, so that no copy of the source stays behind.
#[test]
fn clean_removes_what_every_format_left() {
    let s = Scenario::new("custom", "");
    let manifest = std::fs::read_to_string(s.manifest()).unwrap();
    let runs = [
        ("custom", "", "netbox.dump"),
        ("directory", "", "netbox.dir"),
        ("plain", "compression = \"gzip\"\n", "netbox.sql.gz"),
        ("stream", "", "netbox.stream"),
    ];
    for (format, extra, _) in runs {
        s.write_manifest(&manifest.replace(
            "format = \"custom\"\n",
            &format!("format = \"{format}\"\n{extra}"),
        ));
        s.apply(&["--steps", "dump"]).success();
    }
    for (_, _, name) in runs {
        assert!(s.artifacts().join(name).exists(), "{name} was not written");
    }
    s.replicate()
        .args(["plan"])
        .run()
        .success()
        .stdout_has("also holds netbox.dir, netbox.dump, netbox.sql.gz of an earlier run");
    // A restore's list left by a killed run.
    fs::write(
        s.artifacts().join(".netbox.dump.restore-2.list"),
        "1; 0 0 X\n",
    )
    .unwrap();

    s.replicate().args(["clean"]).run().success();
    let left: Vec<String> = fs::read_dir(s.artifacts())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != "lock")
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn keep_none_leaves_no_copy_of_the_source_behind() {
    let s = Scenario::new("custom", "keep = \"none\"\n");
    s.add_media(0);
    let run = s.apply(&[]).success();
    assert!(
        run.stdout_flat()
            .contains("Artifacts: removed after the run"),
        "{}",
        run.stdout()
    );
    s.assert_replica_matches();
    let left: Vec<String> = fs::read_dir(s.artifacts())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for name in &left {
        assert!(
            ["state.json", "lock", "SHA256SUMS"].contains(&name.as_str()),
            "{name} was left behind: {left:?}"
        );
    }
    let sums = fs::read_to_string(s.artifacts().join("SHA256SUMS")).unwrap_or_default();
    assert!(sums.trim().is_empty(), "{sums}");
}
