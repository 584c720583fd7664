//! A FIFO line of waiting futures, each with the waker of its last poll and
//! an optional value (a queue's putter carries its item).
//!
//! A waiter is named by an id that is never reused, so a future can always
//! tell "still in line" (its id is here) from "taken out by a notify" (it is
//! not). The line is a `BTreeMap` keyed by increasing ids: FIFO order, and a
//! cancelled waiter leaves from the middle in `O(log n)`.

use std::collections::BTreeMap;
use std::task::Waker;

/// The waiting futures of one primitive, oldest first.
#[derive(Debug)]
pub(crate) struct WaitList<V = ()> {
    next_id: u64,
    waiters: BTreeMap<u64, Waiter<V>>,
}

#[derive(Debug)]
struct Waiter<V> {
    /// `None` until the future is first polled (it joined the line at the call).
    waker: Option<Waker>,
    value: V,
}

impl<V> Default for WaitList<V> {
    fn default() -> Self {
        WaitList {
            next_id: 0,
            waiters: BTreeMap::new(),
        }
    }
}

impl<V> WaitList<V> {
    /// A fresh id that no waiter of this list has had or will have.
    pub(crate) fn new_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Joins the back of the line; returns the new waiter's id.
    pub(crate) fn push(&mut self, value: V) -> u64 {
        let id = self.new_id();
        self.waiters.insert(id, Waiter { waker: None, value });
        id
    }

    /// Records `waker` as the one to wake for `id`. Returns `false` if `id` is
    /// no longer in line (a notify took it out).
    pub(crate) fn register(&mut self, id: u64, waker: &Waker) -> bool {
        match self.waiters.get_mut(&id) {
            Some(waiter) => {
                if !waiter.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
                    waiter.waker = Some(waker.clone());
                }
                true
            }
            None => false,
        }
    }

    /// Takes `id` out of the line (its future was dropped); its value if it was in line.
    pub(crate) fn remove(&mut self, id: u64) -> Option<V> {
        self.waiters.remove(&id).map(|waiter| waiter.value)
    }

    /// Takes the oldest waiter out of the line: its id, the waker to wake
    /// (once no borrow is held) and its value.
    pub(crate) fn pop_front(&mut self) -> Option<(u64, Option<Waker>, V)> {
        self.waiters
            .pop_first()
            .map(|(id, waiter)| (id, waiter.waker, waiter.value))
    }

    /// How many futures are in line.
    pub(crate) fn len(&self) -> usize {
        self.waiters.len()
    }
}

/// Wakes each waker. Called after the state's `RefCell` borrow ends, so a
/// waker that runs code touching the same primitive cannot find it borrowed.
pub(crate) fn wake_all(wakers: impl IntoIterator<Item = Waker>) {
    for waker in wakers {
        waker.wake();
    }
}
