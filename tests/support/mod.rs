//! Test support: a builder around the `replicate` binary, and throwaway
//! PostgreSQL servers ([`pg`]).
//!
//! The builder:
//! `Replicate::new().args([...]).run().code(1).stderr_has("...")`.

pub mod artifacts;
pub mod bastion;
pub mod docker;
pub mod fidelity;
pub mod fidelity_copy;
pub mod fidelity_diff;
pub mod hostile_tar;
pub mod interrupt;
pub mod media_tree;
pub mod netbox;
pub mod netbox_live;
pub mod pg;
pub mod s3;
pub mod scenario;
pub mod ssh;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Every step a plan may hold but `drop` (of the replace strategy), in the
/// order a plan lists them: what `tests/manifests/every-step.toml` plans.
pub const EVERY_STEP: [&str; 10] = [
    "invalidate-source",
    "dump",
    "archive",
    "verify",
    "create",
    "restore",
    "check",
    "extract",
    "swap",
    "invalidate-target",
];

/// The repository root: tests name files relative to it.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub struct Replicate {
    command: Command,
}

impl Replicate {
    /// The binary with a clean environment: no `PG*` variables, no manifest
    /// from the environment, no colours.
    pub fn new() -> Self {
        Self::command(env!("CARGO_BIN_EXE_replicate"))
    }

    /// Another program (a shell around replicate) with the same clean environment.
    pub fn command(program: &str) -> Self {
        let mut command = Command::new(program);
        command.current_dir(root());
        for (key, _) in std::env::vars_os() {
            let key_text = key.to_string_lossy();
            if key_text.starts_with("PG") || key_text.starts_with("REPLICATE_") {
                command.env_remove(&key);
            }
        }
        command.env("NO_COLOR", "1");
        command.env_remove("CLICOLOR_FORCE");
        Self { command }
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.command.args(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    pub fn current_dir(mut self, dir: &Path) -> Self {
        self.command.current_dir(dir);
        self
    }

    /// Starts the binary in the background.
    pub fn spawn(mut self) -> Running {
        self.command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .stdin(std::process::Stdio::null());
        Running {
            child: self.command.spawn().expect("the replicate binary starts"),
        }
    }

    pub fn run(mut self) -> Run {
        let output = self.command.output().expect("the replicate binary runs");
        Run { output }
    }
}

pub struct Running {
    child: std::process::Child,
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn is_running(&self) -> bool {
        std::fs::metadata(format!("/proc/{}", self.child.id())).is_ok_and(|_| {
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
                .map(|s| !s.contains(") Z "))
                .unwrap_or(false)
        })
    }

    /// Sends a signal (`libc::SIGKILL`, `SIGINT`, `SIGTERM`).
    pub fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.child.id()).expect("pid");
        // SAFETY: kill has no memory-safety preconditions.
        unsafe {
            libc::kill(pid, signal);
        }
    }

    /// Stops the run (SIGKILL) if it still goes, and returns what it wrote
    /// to its standard error.
    pub fn stop_and_read(&mut self) -> String {
        use std::io::Read;
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut printed = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = stderr.read_to_string(&mut printed);
        }
        printed
    }

    /// Kills the run (SIGKILL) and waits for it, whatever it printed.
    pub fn kill(self) {
        self.signal(libc::SIGKILL);
        let _ = self.finish();
    }

    pub fn finish(self) -> Run {
        Run {
            output: self.child.wait_with_output().expect("replicate ends"),
        }
    }
}

pub struct Run {
    pub output: Output,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Asserts the exit code, showing both streams when it differs.
    #[track_caller]
    pub fn code(self, expected: i32) -> Self {
        let code = self.output.status.code();
        assert_eq!(
            code,
            Some(expected),
            "exit code {code:?}, expected {expected}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }

    #[track_caller]
    pub fn success(self) -> Self {
        self.code(0)
    }

    /// stdout with every run of white space (line breaks of wrapped text
    /// and their indentation too) as one space, for finding a sentence
    /// wherever the plan's text broke it.
    pub fn stdout_flat(&self) -> String {
        words(&self.stdout())
    }

    /// Whether stdout holds `text`, wherever it was wrapped and however
    /// its columns were padded.
    #[track_caller]
    pub fn stdout_has(self, text: &str) -> Self {
        assert!(
            self.stdout_flat().contains(&words(text)),
            "stdout lacks {text:?}:\n{}",
            self.stdout()
        );
        self
    }

    /// Whether a progress line of stdout says `status` (`started`, `done`)
    /// of `step`: the step's name and that word, however the column
    /// between them is padded.
    pub fn step_said(&self, step: &str, status: &str) -> bool {
        self.stdout().lines().any(|line| {
            let mut words = line.split_whitespace();
            words.next() == Some(step) && words.next() == Some(status)
        })
    }

    /// Asserts that stdout has the progress line `STEP STATUS`.
    #[track_caller]
    pub fn step_shows(self, step: &str, status: &str) -> Self {
        assert!(
            self.step_said(step, status),
            "no `{step} {status}` line:\n{}",
            self.stdout()
        );
        self
    }

    /// Asserts that stdout has no progress line `STEP STATUS`.
    #[track_caller]
    pub fn step_never_shows(self, step: &str, status: &str) -> Self {
        assert!(
            !self.step_said(step, status),
            "a `{step} {status}` line:\n{}",
            self.stdout()
        );
        self
    }

    /// stderr with the diagnostic's wrapped lines joined again, so that
    /// tests can look for a sentence wherever the renderer broke it.
    pub fn stderr_flat(&self) -> String {
        let mut out = String::new();
        for line in self.stderr().lines() {
            let trimmed = line.trim_start();
            let continued =
                trimmed.starts_with("│ ") || (line.starts_with("        ") && !out.is_empty());
            if continued {
                out.push(' ');
                out.push_str(trimmed.trim_start_matches("│ "));
            } else {
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(line);
            }
        }
        out
    }

    #[track_caller]
    pub fn stderr_has(self, text: &str) -> Self {
        assert!(
            self.stderr_flat().contains(text),
            "stderr lacks {text:?}:\n{}",
            self.stderr()
        );
        self
    }
}

/// `text` with every run of white space as one space: what a reader sees,
/// whatever the padding of columns or the wrapping of lines.
pub fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Asserts that `text` holds every one of `parts`, showing it when one
/// is missing.
#[track_caller]
pub fn assert_holds(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "lacks {part:?}:\n{text}");
    }
}

/// A program's output, once it is known to have succeeded: else fails the
/// test with `what`, its exit status and everything it printed.
#[track_caller]
pub fn assert_succeeded(output: Output, what: &str) -> Output {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Waits until `done` says yes, checking every `every` milliseconds; past
/// `seconds`, fails the test saying `what` never happened.
#[track_caller]
pub fn wait_until(seconds: u64, every: u64, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "{what}");
        std::thread::sleep(std::time::Duration::from_millis(every));
    }
}

/// A loopback port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A fresh folder holding `replicate.toml` with `text`.
pub fn manifest_folder(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary folder");
    std::fs::write(dir.path().join("replicate.toml"), text).expect("manifest written");
    dir
}

/// Replaces the repository's absolute path, which differs between machines.
pub fn redact_root(text: &str) -> String {
    text.replace(&root().display().to_string(), "[ROOT]")
}

/// A command running `words` (a program and its first arguments) in the
/// network namespace `netns` when one is given, here otherwise.
pub fn in_netns<S: AsRef<std::ffi::OsStr>>(netns: Option<&str>, words: &[S]) -> Command {
    let mut all: Vec<&std::ffi::OsStr> = Vec::new();
    if let Some(netns) = netns {
        all.extend(["ip", "netns", "exec", netns].map(std::ffi::OsStr::new));
    }
    all.extend(words.iter().map(AsRef::as_ref));
    let mut command = Command::new(all[0]);
    command.args(&all[1..]);
    command
}

/// Starts `apply --auto-approve` in the manifest folder `dir` and kills
/// it (SIGKILL) as soon as `state.json` says `step` is running.
#[track_caller]
pub fn apply_killed_during(dir: &Path, step: &str, seconds: u64) {
    let mut run = Replicate::new()
        .current_dir(dir)
        .args(["apply", "--auto-approve"])
        .spawn();
    wait_for_step(&mut run, &dir.join(".replicate"), step, "running", seconds);
    run.kill();
}

/// Waits until `state.json` in `artifacts` says `step` has `status`, while
/// `run` goes on: a run that ends first, or a wait past `seconds`, fails
/// the test with what the run printed and the journal as it stands.
#[track_caller]
pub fn wait_for_step(run: &mut Running, artifacts: &Path, step: &str, status: &str, seconds: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        let journal = std::fs::read_to_string(artifacts.join("state.json")).unwrap_or_default();
        if let Ok(state) = serde_json::from_str::<serde_json::Value>(&journal)
            && state["steps"][step]["status"] == status
        {
            return;
        }
        let ended = !run.is_running();
        if ended || std::time::Instant::now() >= deadline {
            let why = if ended {
                "the run ended first"
            } else {
                "timed out"
            };
            let printed = run.stop_and_read();
            panic!("{step} never became {status} ({why}):\n{printed}\n--- state.json\n{journal}");
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// Process ids whose command line contains every one of `words`.
pub fn processes_with(words: &[&str]) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if words.iter().all(|w| text.contains(w)) {
                found.push(pid);
            }
        }
    }
    found
}

/// Reads every process's command line, failing the test when one holds
/// `secret`; returns how many were read.
#[track_caller]
pub fn assert_no_cmdline_contains(secret: &str) -> usize {
    let mut read = 0;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            read += 1;
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            assert!(
                !text.contains(secret),
                "a command line holds the secret: {text}"
            );
        }
    }
    read
}

/// Waits until no process has all of `words` on its command line.
#[track_caller]
pub fn wait_until_gone(words: &[&str]) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !processes_with(words).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "still running: {words:?} {:?}",
            processes_with(words)
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// No staging folder (`.NAME.replicate-new`, `-old`) is left in `dir`.
#[track_caller]
pub fn assert_no_staging(dir: &Path) {
    let leftovers: Vec<String> = std::fs::read_dir(dir)
        .expect("a folder")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        // `.replicate-prev` is the previous copy a swap keeps on purpose.
        .filter(|n| {
            [
                "replicate-new",
                ".replicate-next",
                ".replicate-old",
                ".replicate-exchange",
            ]
            .iter()
            .any(|part| n.contains(part))
        })
        .collect();
    assert!(leftovers.is_empty(), "staging left behind: {leftovers:?}");
}
