//! What `apply` shows while it runs: a line per step, spinners on a
//! terminal, or JSON lines with `--json`.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use super::output::{emit, print, seconds};
use super::report::{Warning, report};
use super::style::{DANGER, paint};
use crate::display::units::human_bytes;
use crate::exec::{Observer, RunEnd, StepResult, step_status};
use crate::plan::{Step, StepId};
use crate::store::journal::now;

enum Display {
    Lines,
    Spinners {
        multi: indicatif::MultiProgress,
        running: Mutex<BTreeMap<StepId, indicatif::ProgressBar>>,
    },
    Json,
}

/// Reports steps as they start and end.
pub struct Progress {
    display: Display,
}

impl Progress {
    pub fn new(json: bool) -> Self {
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
        Self { display }
    }
}

impl Observer for Progress {
    fn warning(&self, message: &str, help: &str) {
        report(&Warning {
            message: message.to_owned(),
            help: help.to_owned(),
        });
    }

    fn run_finished(&self, run: &RunEnd) {
        if let Display::Json = self.display {
            let mut event = serde_json::json!({
                "event": "finished",
                "status": run.status,
                "steps_done": run.steps_done,
                "duration_ms": u64::try_from(run.elapsed.as_millis()).unwrap_or(u64::MAX),
            });
            if let Some(ms) = run.downtime_ms {
                event["downtime_ms"] = ms.into();
            }
            emit(&event);
        }
    }

    fn started(&self, step: &Step) {
        match &self.display {
            Display::Lines => print(&format!("{:<18} started\n", step.id.as_str())),
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
        let status = step_status(result);
        let duration_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        if let Display::Json = self.display {
            let mut event = serde_json::json!({
                "event": "step_finished",
                "step": step.id,
                "status": status,
                "duration_ms": duration_ms,
            });
            match result {
                Ok(report) => {
                    event["bytes"] = report.bytes.into();
                    if let Some(check) = &report.check {
                        event["check"] = serde_json::to_value(check).unwrap_or_default();
                    }
                    if let Some(ms) = report.downtime_ms {
                        event["downtime_ms"] = ms.into();
                    }
                }
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
            _ => print(&line),
        }
    }
}
