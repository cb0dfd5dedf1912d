//! SIGINT and SIGTERM: stop scheduling, stop the children and whatever
//! else asked to hear of it (a server's query, cancelled), let the run
//! journal where it stopped. (Children also die with replicate itself:
//! [`super::sys::die_with_parent`].)

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Once};

use parking_lot::Mutex;

static STOP: AtomicBool = AtomicBool::new(false);
static SIGNAL: AtomicI32 = AtomicI32::new(0);
static CHILDREN: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());
static HOOKS: Mutex<BTreeMap<u64, Hook>> = Mutex::new(BTreeMap::new());
static NEXT_HOOK: AtomicU64 = AtomicU64::new(0);

/// What runs when a stop is requested.
pub type Hook = Arc<dyn Fn() + Send + Sync>;

/// Starts listening for SIGINT and SIGTERM (once per process).
pub fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let Ok(mut signals) = signal_hook::iterator::Signals::new([
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
        ]) else {
            return;
        };
        let _ = std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                for signal in signals.forever() {
                    SIGNAL.store(signal, Ordering::SeqCst);
                    STOP.store(true, Ordering::SeqCst);
                    terminate_children();
                    run_hooks();
                }
            });
    });
}

/// The flag the scheduler watches.
pub fn flag() -> &'static AtomicBool {
    &STOP
}

pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// `SIGINT` or `SIGTERM`, once one arrived.
pub fn signal_name() -> Option<&'static str> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s if s == signal_hook::consts::SIGINT => Some("SIGINT"),
        s if s == signal_hook::consts::SIGTERM => Some("SIGTERM"),
        _ => Some("a signal"),
    }
}

fn terminate_children() {
    let children = CHILDREN.lock();
    for &pid in children.iter() {
        super::sys::terminate(pid);
    }
}

fn run_hooks() {
    let hooks = HOOKS.lock();
    for hook in hooks.values() {
        hook();
    }
}

/// Keeps `hook` on the list a stop runs (at once, when a stop came
/// already) until the guard is dropped; once dropped, it never runs.
pub struct StopHook {
    id: u64,
}

impl StopHook {
    pub fn register(hook: Hook) -> Self {
        let id = NEXT_HOOK.fetch_add(1, Ordering::Relaxed);
        HOOKS.lock().insert(id, Arc::clone(&hook));
        if stop_requested() {
            hook();
        }
        Self { id }
    }
}

impl Drop for StopHook {
    fn drop(&mut self) {
        HOOKS.lock().remove(&self.id);
    }
}

/// Keeps child processes on the list that a signal terminates.
pub struct ChildGuard {
    pids: Vec<u32>,
}

impl ChildGuard {
    pub fn register(pids: Vec<u32>) -> Self {
        CHILDREN.lock().extend(pids.iter().copied());
        // A signal that came while the child started still reaches it.
        if stop_requested() {
            terminate_children();
        }
        Self { pids }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let mut children = CHILDREN.lock();
        for pid in &self.pids {
            children.remove(pid);
        }
    }
}
