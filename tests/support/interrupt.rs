//! Runs of `apply` stopped at a chosen point: while the dump waits on a
//! source table the test holds locked, once the journal says a step got
//! somewhere, or while a gated `pg_restore` waits to be let through. And
//! what the tests check after such a stop.

use std::fs;
use std::path::{Path, PathBuf};

use super::pg::server_bindir;
use super::scenario::{Scenario, TableLock, wait_for_blocked_dump};
use super::{Run, Running, wait_for_step, wait_until, wait_until_gone};

impl Scenario {
    /// Starts `apply --auto-approve ARGS` in the background.
    pub fn spawn_apply(&self, args: &[&str]) -> Running {
        self.replicate()
            .args(["apply", "--auto-approve"])
            .args(args)
            .spawn()
    }

    /// Starts `apply --auto-approve` with the source table `table` locked,
    /// and returns once the dump waits on it.
    pub fn apply_blocked_on(&self, table: &str) -> Blocked {
        let lock = TableLock::hold(&self.pair.source, table);
        let run = self.spawn_apply(&[]);
        let backend = wait_for_blocked_dump(&self.pair.source);
        Blocked {
            run,
            backend,
            lock,
            source_port: self.pair.source.port.to_string(),
        }
    }

    /// Starts `apply --auto-approve ARGS` and returns once state.json says
    /// `step` is `status`.
    pub fn apply_until(&self, args: &[&str], step: &str, status: &str) -> Running {
        let mut run = self.spawn_apply(args);
        wait_for_step(&mut run, &self.artifacts(), step, status, 120);
        run
    }

    /// `apply --auto-approve --resume`, which must succeed.
    #[track_caller]
    pub fn resume(&self) -> Run {
        self.apply(&["--resume"]).success()
    }

    /// Starts `apply --auto-approve` with the restore gated
    /// ([`Scenario::gate_restore`]), and returns once it waits at the gate.
    pub fn apply_held_at_restore(&self) -> (Gate, Running) {
        let gate = self.gate_restore();
        let run = self.spawn_apply(&[]);
        gate.wait();
        (gate, run)
    }

    /// Points the manifest at programs whose `pg_restore` into a database
    /// waits for the returned gate to open.
    pub fn gate_restore(&self) -> Gate {
        let bin = self.dir.path().join("gated-bin");
        fs::create_dir(&bin).unwrap();
        let real = server_bindir();
        for tool in ["pg_dump", "psql"] {
            std::os::unix::fs::symlink(real.join(tool), bin.join(tool)).unwrap();
        }
        let started = self.dir.path().join("restore-started");
        let release = self.dir.path().join("restore-release");
        // A `pg_restore` that reads the dump (its table of contents, its
        // sequence values) passes; the one that restores into a database
        // waits.
        let script = format!(
            "#!/bin/sh\ncase \"$*\" in *--dbname=*) ;; *) exec '{real}' \"$@\";; esac\ntouch '{}'\nwhile [ ! -e '{}' ]; do sleep 0.05; done\nexec '{real}' \"$@\"\n",
            started.display(),
            release.display(),
            real = real.join("pg_restore").display()
        );
        fs::write(bin.join("pg_restore"), script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(bin.join("pg_restore"), fs::Permissions::from_mode(0o755)).unwrap();
        let text = fs::read_to_string(self.manifest()).unwrap();
        self.write_manifest(&format!("{text}[tools]\nbindir = \"{}\"\n", bin.display()));
        Gate { started, release }
    }
}

/// A run of `apply` whose dump waits on a source table held locked.
pub struct Blocked {
    pub run: Running,
    /// The pid of the source's backend serving the waiting dump.
    pub backend: String,
    lock: TableLock,
    source_port: String,
}

impl Blocked {
    /// Frees the table: the dump goes on.
    pub fn release(self) -> Running {
        drop(self.lock);
        self.run
    }

    /// Waits for the run to end, then frees the table.
    pub fn finish(self) -> Run {
        let run = self.run.finish();
        drop(self.lock);
        run
    }

    /// Sends `signal`, waits for the run to end and for its `pg_dump` to
    /// be gone (not finished: the table is still locked), then frees the
    /// table.
    pub fn stop(self, signal: i32) -> Run {
        self.run.signal(signal);
        let run = self.run.finish();
        wait_until_gone(&["pg_dump", &self.source_port]);
        drop(self.lock);
        run
    }

    /// Kills the run outright (SIGKILL), then frees the table.
    pub fn kill(self) {
        self.run.kill();
        drop(self.lock);
    }
}

/// The gate of [`Scenario::gate_restore`].
pub struct Gate {
    started: PathBuf,
    release: PathBuf,
}

impl Gate {
    /// Waits until a restore into a database waits at the gate.
    #[track_caller]
    pub fn wait(&self) {
        let what = format!("{} never appeared", self.started.display());
        wait_until(30, 10, &what, || self.started.exists());
    }

    /// Lets the waiting restore (and every later one) through.
    pub fn open(&self) {
        fs::write(&self.release, b"").unwrap();
    }
}

/// No artifact of `name` looks complete: no final file, no SHA256SUMS line.
#[track_caller]
pub fn assert_not_complete(artifacts: &Path, name: &str) {
    assert!(!artifacts.join(name).exists(), "{name} looks complete");
    let sums = fs::read_to_string(artifacts.join("SHA256SUMS")).unwrap_or_default();
    assert!(
        !sums
            .lines()
            .any(|l| l.ends_with(&format!("  {name}")) || l.contains(&format!("  {name}/"))),
        "SHA256SUMS lists {name}:\n{sums}"
    );
}
