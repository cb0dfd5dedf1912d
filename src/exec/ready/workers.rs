//! Who runs the ready tasks: `workers` threads, each taking the next task
//! it may take until none is left, with a state of its own (a session
//! kept from one task to the next). The first failure stops the queue;
//! the tasks running finish.

use parking_lot::Mutex;
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::queue::{Key, ReadyQueue};

/// How the workers run: which tasks a worker may take (by its number),
/// the work of a task, the error a panic becomes.
pub(in crate::exec) struct Workers<Take, Run, Panicked> {
    pub count: usize,
    pub may_take: Take,
    pub run: Run,
    pub panicked: Panicked,
}

impl<Take, Run, Panicked> Workers<Take, Run, Panicked> {
    /// Runs the queue's tasks until none is left or the queue stops; the
    /// tasks that failed and why, in the order they failed.
    pub fn run<K, T, S, E>(self, queue: &ReadyQueue<'_, K, T>) -> Vec<(K, E)>
    where
        K: Key,
        T: Send,
        S: Default,
        E: Send,
        Take: Fn(usize, &K, &T) -> bool + Sync,
        Run: Fn(&mut S, &K, T) -> Result<(), E> + Sync,
        Panicked: Fn() -> E + Sync,
    {
        let failures = Mutex::new(Vec::new());
        let this = &self;
        std::thread::scope(|scope| {
            for worker in 0..self.count.max(1) {
                let failures = &failures;
                scope.spawn(move || {
                    let mut state = S::default();
                    while let Some((key, task)) = queue.next(|k, t| (this.may_take)(worker, k, t)) {
                        let ran =
                            catch_unwind(AssertUnwindSafe(|| (this.run)(&mut state, &key, task)))
                                .unwrap_or_else(|_| Err((this.panicked)()));
                        match ran {
                            Ok(()) => queue.done(key),
                            Err(e) => {
                                failures.lock().push((key, e));
                                queue.failed();
                            }
                        }
                    }
                });
            }
        });
        failures.into_inner()
    }
}
