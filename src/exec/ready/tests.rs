use std::sync::atomic::AtomicBool;

use super::*;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct K(u32, &'static str);

impl Key for K {
    fn rank(&self) -> u32 {
        self.0
    }
}

fn taken(queue: &ReadyQueue<'_, K, ()>) -> Option<&'static str> {
    queue.next(|_, _| true).map(|(k, ())| k.1)
}

#[test]
fn the_lowest_rank_goes_first_then_the_first_ready() {
    let queue = ReadyQueue::new();
    queue.add(K(1, "b"), (), Waits::after([]));
    queue.add(K(1, "a"), (), Waits::after([K(0, "first")]));
    queue.add(K(0, "first"), (), Waits::after([]));
    assert_eq!(taken(&queue), Some("first"));
    // "b" was ready before "a" was, both of rank 1.
    queue.done(K(0, "first"));
    assert_eq!(taken(&queue), Some("b"));
    assert_eq!(taken(&queue), Some("a"));
}

#[test]
fn a_follower_is_ready_once_what_it_follows_started() {
    let queue = ReadyQueue::new();
    queue.add(
        K(0, "restore"),
        (),
        Waits {
            after: vec![],
            follows: vec![K(1, "dump")],
        },
    );
    queue.add(K(1, "dump"), (), Waits::after([]));
    assert_eq!(taken(&queue), Some("dump"));
    assert_eq!(taken(&queue), Some("restore"));
    queue.done(K(1, "dump"));
    queue.done(K(0, "restore"));
    assert_eq!(taken(&queue), None);
    assert_eq!(queue.finish().done.len(), 2);
}

#[test]
fn a_milestone_is_done_once_what_it_waits_for_is() {
    let queue = ReadyQueue::new();
    queue.add(K(0, "after"), (), Waits::after([K(9, "milestone")]));
    queue.milestone(K(9, "milestone"), [K(1, "work")]);
    queue.add(K(1, "work"), (), Waits::after([]));
    assert_eq!(taken(&queue), Some("work"));
    queue.done(K(1, "work"));
    assert_eq!(taken(&queue), Some("after"));
    queue.done(K(0, "after"));
    let ended = queue.finish();
    assert_eq!(
        ended.done.iter().map(|k| k.1).collect::<Vec<_>>(),
        ["work", "milestone", "after"]
    );
}

#[test]
fn what_waits_for_a_key_never_added_is_left_waiting() {
    let queue = ReadyQueue::new();
    queue.add(K(0, "orphan"), (), Waits::after([K(0, "never")]));
    assert_eq!(taken(&queue), None);
    let ended = queue.finish();
    assert_eq!(ended.waiting.len(), 1);
}

#[test]
fn workers_stop_at_the_first_failure_and_a_stop_request() {
    let queue = ReadyQueue::new();
    for (n, name) in ["a", "b", "c"].into_iter().enumerate() {
        let after = (n > 0).then(|| K(0, ["a", "b"][n - 1]));
        queue.add(K(0, name), (), Waits::after(after));
    }
    let failures = Workers {
        count: 2,
        may_take: |_, _: &K, _: &()| true,
        run: |_: &mut (), k: &K, ()| if k.1 == "b" { Err("boom") } else { Ok(()) },
        panicked: || "panicked",
    }
    .run(&queue);
    assert_eq!(failures, [(K(0, "b"), "boom")]);
    let ended = queue.finish();
    assert_eq!(ended.done, [K(0, "a")]);
    assert_eq!(ended.waiting.len(), 1);

    let stop = AtomicBool::new(true);
    let queue = ReadyQueue::new().stopping_on(&stop);
    queue.add(K(0, "a"), (), Waits::after([]));
    assert_eq!(taken(&queue), None);
}

#[test]
fn a_panic_is_a_failure() {
    let queue = ReadyQueue::new();
    queue.add(K(0, "a"), (), Waits::after([]));
    let failures = Workers {
        count: 1,
        may_take: |_, _: &K, _: &()| true,
        run: |_: &mut (), _: &K, ()| -> Result<(), &str> { panic!("inside") },
        panicked: || "panicked",
    }
    .run(&queue);
    assert_eq!(failures, [(K(0, "a"), "panicked")]);
}
