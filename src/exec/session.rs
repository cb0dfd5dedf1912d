//! A PostgreSQL session held open by a `psql` child that reads statements
//! from a pipe: the source's snapshot lives as long as it does.

use std::io::{self, BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use super::scheduler::StepFailure;
use crate::io::interrupt::ChildGuard;
use crate::io::sys;
use crate::manifest::Text;
use crate::plan::{EnvValue, Exec};
use crate::postgres::Secrets;
use crate::postgres::quote::sql_literal;

pub struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    _guard: ChildGuard,
    shown: String,
}

impl Session {
    /// Starts `exec` (a `psql` without `--command`) with pipes to talk to it.
    pub fn open(exec: &Exec, secrets: &Secrets) -> Result<Self, StepFailure> {
        let mut command = Command::new(exec.program.value());
        command
            .args(exec.args.iter().map(Text::value))
            .args(["--tuples-only", "--no-align"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for var in &exec.env {
            match &var.value {
                EnvValue::Value(v) => {
                    command.env(&var.name, v);
                }
                EnvValue::SecretFrom(origin) => {
                    if let Some(secret) = secrets.get(origin) {
                        command.env(&var.name, secret.expose());
                    }
                }
            }
        }
        sys::die_with_parent(&mut command);
        let shown = secrets.redact(&exec.display());
        let mut child = command.spawn().map_err(|e| StepFailure {
            message: format!("cannot run psql: {e}"),
            command: Some(shown.clone()),
            ..StepFailure::default()
        })?;
        let guard = ChildGuard::register(vec![child.id()]);
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            return Err(StepFailure::new("psql started without its pipes"));
        };
        Ok(Self {
            child,
            stdin: Some(stdin),
            stdout: BufReader::new(stdout),
            _guard: guard,
            shown,
        })
    }

    /// Sends `sql` and returns the first line it prints.
    pub fn ask(&mut self, sql: &str) -> Result<String, StepFailure> {
        let sent = self
            .stdin
            .as_mut()
            .map(|s| s.write_all(sql.as_bytes()).and_then(|()| s.flush()));
        if let Some(Err(e)) = sent {
            return Err(self.failed(&format!("cannot talk to psql: {e}")));
        }
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) | Err(_) => Err(self.failed("psql ended before it answered")),
            Ok(_) => Ok(line.trim().to_owned()),
        }
    }

    /// Opens a read-only snapshot and exports it: its id, for other
    /// sessions (`pg_dump --snapshot`, [`in_snapshot`]).
    pub fn export_snapshot(&mut self) -> Result<String, StepFailure> {
        let snapshot = self.ask(
            "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\nSELECT pg_export_snapshot();\n",
        )?;
        if snapshot.is_empty() || !snapshot.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(StepFailure::new(format!(
                "the source gave no snapshot to share (psql said `{snapshot}`)"
            )));
        }
        Ok(snapshot)
    }

    /// Ends the session (its transaction with it) and waits for psql.
    pub fn close(mut self) -> io::Result<()> {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.write_all(b"COMMIT;\n");
        }
        self.child.wait().map(|_| ())
    }

    fn failed(&mut self, message: &str) -> StepFailure {
        self.stdin.take();
        let _ = self.child.kill();
        let stderr = self
            .child
            .stderr
            .take()
            .and_then(|mut e| {
                let mut text = String::new();
                io::Read::read_to_string(&mut e, &mut text)
                    .ok()
                    .map(|_| text)
            })
            .unwrap_or_default();
        let _ = self.child.wait();
        StepFailure {
            message: message.to_owned(),
            command: Some(self.shown.clone()),
            stderr_tail: Some(stderr.trim().to_owned()).filter(|t| !t.is_empty()),
            ..StepFailure::default()
        }
    }
}

/// `psql` (another session) running `sql` in the exported `snapshot`.
pub fn in_snapshot(psql: &Exec, snapshot: &str, sql: &str) -> Exec {
    let mut exec = psql.clone();
    for sql in [
        "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY".to_owned(),
        format!("SET TRANSACTION SNAPSHOT {}", sql_literal(snapshot)),
        sql.to_owned(),
        "COMMIT".to_owned(),
    ] {
        exec.args.push("--command".into());
        exec.args.push(sql.into());
    }
    exec
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.stdin.take().is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
