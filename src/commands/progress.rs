//! What `apply` shows while it runs, and the journal it keeps: a line per
//! step, spinners on a terminal, or JSON lines with `--json`.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use crate::exec::interrupt;
use crate::exec::scheduler::{Observer, StepResult};
use crate::plan::{Step, StepId};
use crate::state::{Journal, StepStatus, now};
use crate::style::{DANGER, paint};
use crate::units::human_bytes;

use super::apply::seconds;

/// Writes one JSON object as a line on stdout.
pub fn emit(value: &serde_json::Value) {
    let mut line = value.to_string();
    line.push('\n');
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(line.as_bytes());
    let _ = out.flush();
}

enum Display {
    Lines,
    Spinners {
        multi: indicatif::MultiProgress,
        running: Mutex<BTreeMap<StepId, indicatif::ProgressBar>>,
    },
    Json,
}

/// Reports steps as they start and end, and keeps the journal.
pub struct Progress<'a> {
    journal: &'a Journal,
    display: Display,
}

impl<'a> Progress<'a> {
    pub fn new(journal: &'a Journal, json: bool) -> Self {
        let display = if json {
            Display::Json
        } else if std::io::stdout().is_terminal() {
            Display::Spinners {
                multi: indicatif::MultiProgress::new(),
                running: Mutex::new(BTreeMap::new()),
            }
        } else {
            Display::Lines
        };
        Self { journal, display }
    }
}

impl Observer for Progress<'_> {
    fn started(&self, step: &Step) {
        let _ = self.journal.update(step.id, |s| {
            s.status = StepStatus::Running;
            s.started_at = Some(now());
        });
        match &self.display {
            Display::Lines => super::print(&format!("{:<18} started\n", step.id.as_str())),
            Display::Json => emit(&serde_json::json!({
                "event": "step_started",
                "step": step.id,
                "at": now(),
            })),
            Display::Spinners { multi, running } => {
                let bar = multi.add(indicatif::ProgressBar::new_spinner());
                if let Ok(style) =
                    indicatif::ProgressStyle::with_template("{spinner} {msg:18} {elapsed}")
                {
                    bar.set_style(style);
                }
                bar.set_message(step.id.as_str());
                bar.enable_steady_tick(Duration::from_millis(120));
                running
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(step.id, bar);
            }
        }
    }

    fn finished(&self, step: &Step, elapsed: Duration, result: &StepResult) {
        let status = match result {
            Ok(_) => StepStatus::Done,
            Err(_) if interrupt::stop_requested() => StepStatus::Interrupted,
            Err(_) => StepStatus::Failed,
        };
        let duration_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        let _ = self.journal.update(step.id, |s| {
            s.finished_at = Some(now());
            s.duration_ms = Some(duration_ms);
            s.status = status;
            match result {
                Ok(report) => {
                    s.bytes = Some(report.bytes);
                    s.checksums = report.checksums.clone();
                }
                Err(failure) => s.error = Some(failure.message.clone()),
            }
        });
        if let Display::Json = self.display {
            let mut event = serde_json::json!({
                "event": "step_finished",
                "step": step.id,
                "status": status,
                "duration_ms": duration_ms,
            });
            match result {
                Ok(report) => event["bytes"] = report.bytes.into(),
                Err(failure) => event["error"] = failure.message.clone().into(),
            }
            emit(&event);
            return;
        }
        let line = match result {
            Ok(report) => {
                let mut details = vec![seconds(elapsed)];
                if report.bytes > 0 {
                    details.push(human_bytes(report.bytes));
                }
                if let Some(note) = &report.note {
                    details.push(note.clone());
                }
                format!("{:<18} done in {}\n", step.id.as_str(), details.join(", "))
            }
            Err(_) => format!(
                "{:<18} {} after {}\n",
                step.id.as_str(),
                paint(DANGER, "FAILED"),
                seconds(elapsed)
            ),
        };
        match &self.display {
            Display::Spinners { multi, running } => {
                let bar = running
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&step.id);
                if let Some(bar) = bar {
                    bar.finish_and_clear();
                }
                let _ = multi.println(line.trim_end());
            }
            _ => super::print(&line),
        }
    }
}
