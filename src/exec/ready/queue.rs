//! The ready queue: tasks by key, each with the keys it waits for, handed
//! out when they are ready, the lowest rank first and, among equals, the
//! one ready first. Tasks may be added while others run.

use parking_lot::{Condvar, Mutex};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::plan::Edge;

/// A task's key: what other tasks name to wait for it.
pub(in crate::exec) trait Key: Ord + Clone + Send {
    /// Which ready task goes first: the lowest rank; among equal ranks,
    /// the one ready first.
    fn rank(&self) -> u32;
}

/// What a task waits for: the keys that must be done ("after"), and those
/// that must have started ("follows").
pub(in crate::exec) struct Waits<K> {
    pub after: Vec<K>,
    pub follows: Vec<K>,
}

impl<K> Waits<K> {
    pub fn after(after: impl IntoIterator<Item = K>) -> Self {
        Self {
            after: after.into_iter().collect(),
            follows: Vec::new(),
        }
    }
}

/// Tasks by key, shared by the workers that take them.
pub(in crate::exec) struct ReadyQueue<'s, K, T> {
    state: Mutex<State<K, T>>,
    changed: Condvar,
    /// A stop asked from outside (a signal): nothing new is handed out.
    stop: Option<&'s AtomicBool>,
}

/// A task not ready yet (`None`: a milestone, done once it is ready),
/// and how many of its waits are still unmet.
struct Waiting<T> {
    task: Option<T>,
    after: usize,
    follows: usize,
}

struct State<K, T> {
    waiting: BTreeMap<K, Waiting<T>>,
    /// Ready tasks by rank, then by when they became ready.
    ready: BTreeMap<(u32, u64, K), T>,
    readied: u64,
    /// Who waits for a key, and how.
    waiters: BTreeMap<K, Vec<(K, Edge)>>,
    started: BTreeSet<K>,
    /// The keys done, in the order they were.
    done: Vec<K>,
    done_set: BTreeSet<K>,
    running: usize,
    /// A task failed, or a stop was asked: nothing new is handed out.
    stopped: bool,
}

/// What a queue ends with.
pub(in crate::exec) struct Ended<K, T> {
    /// The keys done (milestones among them), in the order they were.
    pub done: Vec<K>,
    /// The tasks never handed out: their waits were not met.
    pub waiting: Vec<(K, Option<T>)>,
}

impl<'s, K: Key, T> ReadyQueue<'s, K, T> {
    pub fn new() -> Self {
        Self {
            state: Mutex::new(State {
                waiting: BTreeMap::new(),
                ready: BTreeMap::new(),
                readied: 0,
                waiters: BTreeMap::new(),
                started: BTreeSet::new(),
                done: Vec::new(),
                done_set: BTreeSet::new(),
                running: 0,
                stopped: false,
            }),
            changed: Condvar::new(),
            stop: None,
        }
    }

    /// Hands out nothing new once `stop` is set.
    pub fn stopping_on(mut self, stop: &'s AtomicBool) -> Self {
        self.stop = Some(stop);
        self
    }

    /// Adds a task; a key it waits for that is not (yet) in the queue
    /// keeps it waiting until that key is added and done (or started).
    pub fn add(&self, key: K, task: T, waits: Waits<K>) {
        self.insert(key, Some(task), waits);
    }

    /// Adds a milestone: a key done, without work, once `after` is.
    pub fn milestone(&self, key: K, after: impl IntoIterator<Item = K>) {
        self.insert(key, None, Waits::after(after));
    }

    fn insert(&self, key: K, task: Option<T>, waits: Waits<K>) {
        let mut state = self.state.lock();
        let mut entry = Waiting {
            task,
            after: 0,
            follows: 0,
        };
        for (deps, kind) in [(waits.after, Edge::After), (waits.follows, Edge::Follows)] {
            for dep in deps {
                let met = state.done_set.contains(&dep)
                    || (kind == Edge::Follows && state.started.contains(&dep));
                if !met {
                    match kind {
                        Edge::After => entry.after += 1,
                        Edge::Follows => entry.follows += 1,
                    }
                    state
                        .waiters
                        .entry(dep)
                        .or_default()
                        .push((key.clone(), kind));
                }
            }
        }
        state.waiting.insert(key.clone(), entry);
        state.release_if_met(key);
        drop(state);
        self.changed.notify_all();
    }

    /// The next ready task that `may_take` accepts, marked started; waits
    /// while none is. `None` once the queue is stopped, or when nothing is
    /// ready and nothing runs (what still waits never will).
    pub fn next(&self, may_take: impl Fn(&K, &T) -> bool) -> Option<(K, T)> {
        let mut state = self.state.lock();
        loop {
            if self.stop.is_some_and(|s| s.load(Ordering::SeqCst)) {
                state.stopped = true;
            }
            if state.stopped || (state.ready.is_empty() && state.running == 0) {
                return None;
            }
            let taken = state
                .ready
                .iter()
                .find(|((_, _, key), task)| may_take(key, task))
                .map(|(at, _)| at.clone());
            if let Some(at) = taken {
                let task = state.ready.remove(&at)?;
                let key = at.2;
                state.running += 1;
                state.started.insert(key.clone());
                state.release(&key, Edge::Follows);
                drop(state);
                self.changed.notify_all();
                return Some((key, task));
            }
            self.changed.wait(&mut state);
        }
    }

    /// A task handed out ended well: what waited for it may be ready.
    pub fn done(&self, key: K) {
        let mut state = self.state.lock();
        state.running -= 1;
        state.complete(key);
        drop(state);
        self.changed.notify_all();
    }

    /// A task handed out failed: nothing new is handed out.
    pub fn failed(&self) {
        let mut state = self.state.lock();
        state.running -= 1;
        state.stopped = true;
        drop(state);
        self.changed.notify_all();
    }

    /// The keys of the tasks ready now, in the order they go.
    #[cfg(test)]
    pub fn ready(&self) -> Vec<K> {
        let state = self.state.lock();
        state.ready.keys().map(|(_, _, k)| k.clone()).collect()
    }

    #[cfg(test)]
    pub fn is_done(&self, key: &K) -> bool {
        self.state.lock().done_set.contains(key)
    }

    pub fn finish(self) -> Ended<K, T> {
        let state = self.state.into_inner();
        Ended {
            done: state.done,
            waiting: state
                .waiting
                .into_iter()
                .map(|(key, w)| (key, w.task))
                .chain(
                    state
                        .ready
                        .into_iter()
                        .map(|((_, _, key), t)| (key, Some(t))),
                )
                .collect(),
        }
    }
}

impl<K: Key, T> State<K, T> {
    /// `key` is done: its waiters of both kinds are released.
    fn complete(&mut self, key: K) {
        self.done_set.insert(key.clone());
        self.done.push(key.clone());
        self.release(&key, Edge::Follows);
        self.release(&key, Edge::After);
    }

    /// The waits of `kind` on `key` are met.
    fn release(&mut self, key: &K, kind: Edge) {
        let Some(waiters) = self.waiters.remove(key) else {
            return;
        };
        let (met, left): (Vec<_>, Vec<_>) = waiters.into_iter().partition(|(_, k)| *k == kind);
        if !left.is_empty() {
            self.waiters.insert(key.clone(), left);
        }
        for (waiter, _) in met {
            if let Some(w) = self.waiting.get_mut(&waiter) {
                match kind {
                    Edge::After => w.after -= 1,
                    Edge::Follows => w.follows -= 1,
                }
            }
            self.release_if_met(waiter);
        }
    }

    /// Moves `key` to the ready tasks (a milestone: done) once every wait
    /// of its is met.
    fn release_if_met(&mut self, key: K) {
        let met = self
            .waiting
            .get(&key)
            .is_some_and(|w| w.after == 0 && w.follows == 0);
        if !met {
            return;
        }
        match self.waiting.remove(&key).and_then(|w| w.task) {
            Some(task) => {
                self.readied += 1;
                self.ready.insert((key.rank(), self.readied, key), task);
            }
            None => self.complete(key),
        }
    }
}
