//! `state.json`: the journal of a run. Rewritten atomically at every change,
//! so it always says how far the run got, even after a crash.

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use crate::io::files::write_atomically;
use crate::io::sys;

pub const STATE_FILE: &str = "state.json";
pub const STATE_FORMAT: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
    Interrupted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Pending,
    Running,
    Done,
    Failed,
    /// Stopped by SIGINT or SIGTERM.
    Interrupted,
    /// Not run: not selected, or already done and still valid (`--resume`).
    Skipped,
}

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepState {
    pub status: StepStatus,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub duration_ms: Option<u64>,
    pub bytes: Option<u64>,
    /// SHA-256 of every file the step produced, by path in the artifacts folder.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checksums: BTreeMap<String, String>,
    pub error: Option<String>,
    /// `check`: what was compared with the dump, and what differed.
    pub check: Option<CheckRecord>,
    /// How long the target's name could not be reached, in milliseconds
    /// (`swap`; `restore` under `replace` counts from `drop`).
    pub downtime_ms: Option<u64>,
    /// `dump`: the tables whose rows went through a sanitize rule, each
    /// with its rule: the dump is sanitized.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sanitized: Vec<String>,
}

/// What `check` compared, as the journal keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRecord {
    pub tables: u64,
    pub rows: u64,
    pub sequences: u64,
    pub objects: u64,
    /// Each difference found, in words; none when the database equals the dump.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<String>,
}

impl StepState {
    fn pending() -> Self {
        Self {
            status: StepStatus::Pending,
            started_at: None,
            finished_at: None,
            check: None,
            downtime_ms: None,
            sanitized: Vec::new(),
            duration_ms: None,
            bytes: None,
            checksums: BTreeMap::new(),
            error: None,
        }
    }
}

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub format_version: u32,
    pub plan_digest: String,
    pub manifest_sha256: String,
    pub status: RunStatus,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// Each step's state, by its id (`dump`, `restore`).
    pub steps: BTreeMap<String, StepState>,
    /// How long the target's name could not be reached during the run.
    pub downtime_ms: Option<u64>,
    /// What replicate itself and its children used, written at the end.
    pub resources: Option<Resources>,
}

/// CPU time and peak memory, from `getrusage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    /// replicate's own user and system CPU time.
    pub cpu_ms: u64,
    /// replicate's own peak resident set size.
    pub peak_rss_kib: u64,
    /// CPU time of the programs it ran (pg_dump, pg_restore, psql...).
    pub children_cpu_ms: u64,
}

impl Resources {
    pub fn now() -> Option<Self> {
        let (cpu_ms, max_rss_kib, children_cpu_ms) = sys::resource_usage()?;
        Some(Self {
            cpu_ms,
            peak_rss_kib: peak_rss_kib().unwrap_or(max_rss_kib),
            children_cpu_ms,
        })
    }
}

/// `VmHWM` of this process: unlike `ru_maxrss`, it starts afresh at exec,
/// so it is replicate's own peak and not its parent's.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Why an earlier run's journal cannot be read.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[diagnostic(code(replicate::state))]
pub enum ReadError {
    #[error("cannot read {}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is corrupt: {source}", path.display())]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// The journal of the current run, shared by the steps running in parallel.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    state: Mutex<State>,
}

pub fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

impl Journal {
    /// Starts a journal for a run of `steps`.
    pub fn start(
        dir: &Path,
        plan_digest: &str,
        manifest_sha256: &str,
        steps: impl IntoIterator<Item = String>,
    ) -> io::Result<Self> {
        let state = State {
            format_version: STATE_FORMAT,
            plan_digest: plan_digest.to_owned(),
            manifest_sha256: manifest_sha256.to_owned(),
            status: RunStatus::Running,
            started_at: now(),
            finished_at: None,
            steps: steps
                .into_iter()
                .map(|id| (id, StepState::pending()))
                .collect(),
            downtime_ms: None,
            resources: None,
        };
        let journal = Self {
            path: dir.join(STATE_FILE),
            state: Mutex::new(state),
        };
        journal.save()?;
        Ok(journal)
    }

    /// Reads the journal a previous run left, if any.
    pub fn read(dir: &Path) -> Result<Option<State>, ReadError> {
        let path = dir.join(STATE_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(ReadError::Unreadable { path, source }),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|source| ReadError::Corrupt { path, source })
    }

    pub fn update(&self, id: &str, change: impl FnOnce(&mut StepState)) -> io::Result<()> {
        self.change(|state| {
            change(
                state
                    .steps
                    .entry(id.to_owned())
                    .or_insert_with(StepState::pending),
            )
        })
    }

    /// Ends the run: its status, and how long the target was unreachable.
    pub fn finish(&self, status: RunStatus, downtime_ms: Option<u64>) -> io::Result<()> {
        self.change(|state| {
            state.status = status;
            state.downtime_ms = downtime_ms;
            state.finished_at = Some(now());
            state.resources = Resources::now();
        })
    }

    fn save(&self) -> io::Result<()> {
        self.change(|_| {})
    }

    /// Applies `change` and writes the journal, both under the lock, so
    /// parallel steps never write an older state over a newer one.
    fn change(&self, change: impl FnOnce(&mut State)) -> io::Result<()> {
        let mut state = self.state.lock();
        change(&mut state);
        let text = serde_json::to_string_pretty(&*state).map_err(io::Error::other)?;
        write_atomically(&self.path, text.as_bytes())
    }
}
