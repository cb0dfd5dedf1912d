//! What `apply` shows while it runs: on a terminal, a bar a running step
//! with bytes done, rate and time left; elsewhere, a line a step start and
//! end and a progress line every 10 seconds for long steps; with `--json`,
//! events (progress ones every 2 seconds).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::DecimalBytes;
use parking_lot::Mutex;

use super::output::{emit, print, seconds};
use super::report::{Warning, report};
use super::style::{DANGER, DIM, paint};
use crate::exec::{Meter, Observer, RunEnd, StepResult, step_status};
use crate::plan::{Step, StepId};
use crate::store::journal::now;

/// How often the ticker looks at the meters.
const TICK: Duration = Duration::from_millis(250);
/// How often a progress line is printed without a terminal, unless
/// `REPLICATE_PROGRESS_SECONDS` says otherwise.
const LINE_EVERY_SECONDS: u64 = 10;

fn line_every() -> Duration {
    let seconds = std::env::var("REPLICATE_PROGRESS_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|s| *s > 0)
        .unwrap_or(LINE_EVERY_SECONDS);
    Duration::from_secs(seconds)
}
/// How often a progress event is emitted with `--json`.
const EVENT_EVERY: Duration = Duration::from_secs(2);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Lines,
    Bars,
    Json,
}

/// A running step: its meter, and what was last shown of it.
struct Running {
    meter: Arc<Meter>,
    started: Instant,
    last_shown: Instant,
    bar: Option<indicatif::ProgressBar>,
}

struct Shared {
    mode: Mode,
    line_every: Duration,
    multi: indicatif::MultiProgress,
    running: Mutex<BTreeMap<StepId, Running>>,
    stop: AtomicBool,
}

/// Reports steps as they start, progress and end.
pub struct Progress {
    shared: Arc<Shared>,
    ticker: Option<JoinHandle<()>>,
}

impl Progress {
    pub fn new(json: bool) -> Self {
        let mode = if json {
            Mode::Json
        } else if std::io::stdout().is_terminal() {
            Mode::Bars
        } else {
            Mode::Lines
        };
        let shared = Arc::new(Shared {
            mode,
            line_every: line_every(),
            multi: indicatif::MultiProgress::new(),
            running: Mutex::new(BTreeMap::new()),
            stop: AtomicBool::new(false),
        });
        let ticking = shared.clone();
        let ticker = std::thread::spawn(move || {
            while !ticking.stop.load(Ordering::Acquire) {
                std::thread::sleep(TICK);
                ticking.tick();
            }
        });
        Self {
            shared,
            ticker: Some(ticker),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.join();
        }
    }
}

/// `1.2 GiB of ~2.3 GiB, 45.3 MiB/s, about 25s left`.
pub fn progress_words(done: u64, total: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
    let mut words = DecimalBytes(done).to_string();
    if total > 0 {
        words.push_str(&format!(" of ~{}", DecimalBytes(total.max(done))));
    }
    if rate > 0.0 {
        words.push_str(&format!(", {}/s", DecimalBytes(rate as u64)));
        if total > done {
            let left = Duration::from_secs_f64((total - done) as f64 / rate);
            words.push_str(&format!(", about {} left", seconds(left)));
        }
    }
    words
}

impl Shared {
    fn tick(&self) {
        let mut running = self.running.lock();
        for (id, step) in running.iter_mut() {
            let (done, total) = (step.meter.done.get(), step.meter.total());
            match self.mode {
                Mode::Bars => {
                    if let Some(bar) = &step.bar {
                        if total > 0 {
                            if bar.length().is_none() {
                                bar.set_style(bar_style());
                            }
                            bar.set_length(total.max(done));
                        }
                        bar.set_position(done);
                    }
                }
                Mode::Lines => {
                    if step.last_shown.elapsed() >= self.line_every && (done > 0 || total > 0) {
                        step.last_shown = Instant::now();
                        print(&format!(
                            "{:<18} {}\n",
                            id.as_str(),
                            progress_words(done, total, step.started.elapsed())
                        ));
                    }
                }
                Mode::Json => {
                    if step.last_shown.elapsed() >= EVENT_EVERY {
                        step.last_shown = Instant::now();
                        emit(&serde_json::json!({
                            "event": "progress",
                            "step": id,
                            "done_bytes": done,
                            "total_bytes": (total > 0).then_some(total.max(done)),
                            "at": now(),
                        }));
                    }
                }
            }
        }
    }
}

/// A bar with bytes, rate and time left, for a step whose total is known.
fn bar_style() -> indicatif::ProgressStyle {
    indicatif::ProgressStyle::with_template(
        "{spinner} {prefix:18} [{bar:24}] {bytes}/{total_bytes} {bytes_per_sec} ~{eta} left",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
    .progress_chars("=> ")
}

/// A spinner with bytes and rate, for a step whose total is unknown.
fn spinner_style() -> indicatif::ProgressStyle {
    indicatif::ProgressStyle::with_template("{spinner} {prefix:18} {elapsed} {msg}")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner())
}

impl Observer for Progress {
    fn warning(&self, message: &str, help: &str) {
        report(&Warning {
            message: message.to_owned(),
            help: help.to_owned(),
        });
    }

    fn run_finished(&self, run: &RunEnd) {
        if self.shared.mode == Mode::Json {
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

    fn skipped(&self, step: &Step, why: &str) {
        match self.shared.mode {
            Mode::Json => emit(&serde_json::json!({
                "event": "step_skipped",
                "step": step.id,
                "reason": why,
            })),
            Mode::Lines => print(&format!("{:<18} skipped: {why}\n", step.id.as_str())),
            Mode::Bars => {
                let _ = self.shared.multi.println(format!(
                    "{:<18} {}",
                    step.id.as_str(),
                    paint(DIM, format!("skipped: {why}"))
                ));
            }
        }
    }

    fn started(&self, step: &Step) {
        match self.shared.mode {
            Mode::Lines => print(&format!("{:<18} started\n", step.id.as_str())),
            Mode::Json => emit(&serde_json::json!({
                "event": "step_started",
                "step": step.id,
                "at": now(),
            })),
            Mode::Bars => {}
        }
    }

    fn metering(&self, step: &Step, meter: Arc<Meter>) {
        let bar = (self.shared.mode == Mode::Bars).then(|| {
            let bar = self.shared.multi.add(indicatif::ProgressBar::no_length());
            bar.set_style(spinner_style());
            bar.set_prefix(step.id.as_str().to_owned());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        self.shared.running.lock().insert(
            step.id,
            Running {
                meter,
                started: Instant::now(),
                last_shown: Instant::now(),
                bar,
            },
        );
    }

    fn finished(&self, step: &Step, elapsed: Duration, result: &StepResult) {
        let running = self.shared.running.lock().remove(&step.id);
        if let Some(bar) = running.and_then(|r| r.bar) {
            bar.finish_and_clear();
        }
        let status = step_status(result);
        let duration_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        if self.shared.mode == Mode::Json {
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
                    details.push(DecimalBytes(report.bytes).to_string());
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
        match self.shared.mode {
            Mode::Bars => {
                let _ = self.shared.multi.println(line.trim_end());
            }
            _ => print(&line),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_words_say_done_total_rate_and_time_left() {
        let words = progress_words(50_000_000, 100_000_000, Duration::from_secs(5));
        assert_eq!(words, "50.00 MB of ~100.00 MB, 10.00 MB/s, about 5.0s left");
        assert_eq!(
            progress_words(3_000_000, 0, Duration::from_secs(1)),
            "3.00 MB, 3.00 MB/s"
        );
    }
}
