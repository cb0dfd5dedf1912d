//! The copies of the fidelity tests (`tests/fidelity.rs`): by hand with
//! pg_dump and pg_restore (or psql), and with `replicate apply`, each into
//! a new database on the target named after its [`Combo`].

use std::path::Path;
use std::process::Command;

use super::pg::{Pair, psql, server_bindir};
use super::{Replicate, root};

/// A source with the corpus loaded into the database `db`, and a target
/// with the same roles.
pub fn corpus_pair(db: &str) -> Pair {
    let fixtures = root().join("tests/fixtures/fidelity");
    let pair = Pair::start();
    for cluster in [&pair.source, &pair.target] {
        cluster.sql_file("postgres", &fixtures.join("roles.sql"));
    }
    pair.source.sql(
        "postgres",
        &format!("CREATE DATABASE {db} TEMPLATE template0 ENCODING 'UTF8'"),
    );
    pair.source.sql_file(db, &fixtures.join("corpus.sql"));
    pair
}

#[derive(Clone, Copy, Debug)]
pub struct Combo {
    pub format: &'static str,
    pub owners: bool,
    /// `true`: schema and rows; `false`: schema only.
    pub data: bool,
}

impl Combo {
    pub fn all(formats: &[&'static str]) -> Vec<Self> {
        let mut combos = Vec::new();
        for &format in formats {
            for owners in [false, true] {
                for data in [true, false] {
                    combos.push(Self {
                        format,
                        owners,
                        data,
                    });
                }
            }
        }
        combos
    }

    /// The target database it makes, and its name in reports.
    pub fn name(&self) -> String {
        let owners = if self.owners { "owners" } else { "no_owners" };
        let data = if self.data { "full" } else { "schema" };
        format!("{}_{owners}_{data}", self.format)
    }
}

/// Runs a PostgreSQL program, the error carrying its output.
fn run(mut command: Command, what: &str) -> Result<(), String> {
    let output = command.output().map_err(|e| format!("{what}: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// The copy with pg_dump and pg_restore (or psql) alone, into a new
/// database made from template0, as replicate does: `-j 2` as replicate's
/// default `jobs`; owners and grants left out at the restore
/// (`--no-owner --no-privileges`, on pg_dump for the plain format).
pub fn copy_by_hand(
    pair: &Pair,
    source_db: &str,
    combo: &Combo,
    work: &Path,
) -> Result<(), String> {
    let target = combo.name();
    pair.target.sql(
        "postgres",
        &format!("CREATE DATABASE {target} TEMPLATE template0 ENCODING 'UTF8'"),
    );
    let bin = server_bindir();
    let dump = work.join(&target);
    let mut pg_dump = Command::new(bin.join("pg_dump"));
    pg_dump
        .args(["--no-password", "-d", &pair.source.url(source_db), "-f"])
        .arg(&dump);
    if !combo.data {
        pg_dump.arg("--schema-only");
    }
    let skip_owners = ["--no-owner", "--no-privileges"];
    match combo.format {
        "directory" => pg_dump.args(["-Fd", "-j", "2"]),
        "custom" => pg_dump.arg("-Fc"),
        _ if combo.owners => pg_dump.arg("-Fp"),
        _ => pg_dump.arg("-Fp").args(skip_owners),
    };
    run(pg_dump, "pg_dump")?;
    if combo.format == "plain" {
        let mut restore = psql(&pair.target.url(&target));
        restore
            .args(["-q", "-v", "ON_ERROR_STOP=1", "-f"])
            .arg(&dump);
        return run(restore, "psql");
    }
    let mut pg_restore = Command::new(bin.join("pg_restore"));
    pg_restore.args([
        "--no-password",
        "--exit-on-error",
        "-j",
        "2",
        "-d",
        &pair.target.url(&target),
    ]);
    if !combo.owners {
        pg_restore.args(skip_owners);
    }
    pg_restore.arg(&dump);
    run(pg_restore, "pg_restore")
}

/// The copy with `replicate apply`, into a database of its own on the
/// target (made by replicate), the manifest in a folder of its own.
pub fn copy_with_replicate(
    pair: &Pair,
    source_db: &str,
    combo: &Combo,
    work: &Path,
) -> Result<(), String> {
    let folder = work.join(combo.name());
    std::fs::create_dir(&folder).unwrap();
    let manifest = folder.join("replicate.toml");
    std::fs::write(
        &manifest,
        format!(
            "version = 1\n\
             [source]\ndatabase = \"{}\"\n\
             [target]\ndatabase = \"{}\"\n\
             [include]\ndatabase = \"{}\"\nowners = {}\n\
             [artifacts]\nformat = \"{}\"\ndir = \"artifacts\"\n",
            pair.source.url(source_db),
            pair.target.url(&combo.name()),
            if combo.data { "full" } else { "schema" },
            combo.owners,
            combo.format
        ),
    )
    .unwrap();
    let run = Replicate::new()
        .current_dir(&folder)
        .args(["apply", "-m", "replicate.toml", "--auto-approve"])
        .run();
    // The corpus has no header inside an entry's text: a stream restore
    // sorts its post-data section by the catalog, not as one script.
    let whole = combo.format == "stream" && !run.stdout_flat().contains("sorted by the catalog");
    if run.output.status.success() && !whole {
        return Ok(());
    }
    if run.output.status.success() {
        return Err(format!(
            "the stream restore did not sort the post-data section:\n{}",
            last_lines(&run.stdout(), 15)
        ));
    }
    Err(format!(
        "replicate apply failed ({}):\n--- stderr\n{}\n--- stdout (last lines)\n{}",
        run.output.status,
        run.stderr().trim_end(),
        last_lines(&run.stdout(), 15)
    ))
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
