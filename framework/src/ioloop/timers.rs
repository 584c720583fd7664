//! The timer heap: deadlines ordered in a `BTreeMap`, ties broken by a sequence id.
//!
//! Insert, cancel and pop are O(log n). A cancelled timer's closure is removed
//! (and so dropped) at once, not left behind as a tombstone.

use std::collections::BTreeMap;
use std::task::Waker;
use std::time::{Duration, Instant};

/// A century: the deadline of a delay too long for an `Instant`.
const NEVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The instant `delay` from now. A delay too large for an `Instant` (such
/// as `Duration::MAX`, Tornado's `float("inf")`) is a century away, which
/// for a timer is never; adding it outright would panic.
pub(crate) fn deadline_after(delay: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(delay)
        .or_else(|| now.checked_add(NEVER))
        .unwrap_or(now)
}

/// What a timer does at its deadline.
pub(crate) enum TimerCallback {
    /// Runs a callback ([`IOLoop::call_at`](super::IOLoop::call_at)).
    Call(Box<dyn FnOnce()>),
    /// Wakes a task waiting in a [`Sleep`](crate::gen::Sleep): arming it
    /// clones a waker, where a callback would be boxed.
    Wake(Waker),
}

/// Identifies one scheduled timeout; pass it to [`IOLoop::remove_timeout`](super::IOLoop::remove_timeout).
///
/// # Tornado
/// The opaque handle returned by `IOLoop.call_later` / `IOLoop.call_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeoutHandle {
    deadline: Instant,
    id: u64,
}

impl TimeoutHandle {
    /// When the timer fires.
    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }
}

/// Pending timers of one loop.
#[derive(Default)]
pub(crate) struct Timers {
    /// Keyed by `(deadline, id)`: the id makes equal deadlines distinct and keeps
    /// them in insertion order.
    map: BTreeMap<(Instant, u64), TimerCallback>,
    next_id: u64,
}

impl Timers {
    /// Schedules `callback` at `deadline`.
    pub(crate) fn insert(&mut self, deadline: Instant, callback: TimerCallback) -> TimeoutHandle {
        let id = self.next_id;
        self.next_id += 1;
        self.map.insert((deadline, id), callback);
        TimeoutHandle { deadline, id }
    }

    /// Cancels a timer; returns its callback (for the caller to drop outside any borrow).
    pub(crate) fn remove(&mut self, handle: TimeoutHandle) -> Option<TimerCallback> {
        self.map.remove(&(handle.deadline, handle.id))
    }

    /// True while the timer has neither fired nor been cancelled.
    pub(crate) fn contains(&self, handle: TimeoutHandle) -> bool {
        self.map.contains_key(&(handle.deadline, handle.id))
    }

    /// The earliest deadline, if any timer is pending.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.map.keys().next().map(|(deadline, _)| *deadline)
    }

    /// The id the next inserted timer will get: timers with an id at or past a
    /// cutoff taken before firing began were added by the callbacks being fired.
    pub(crate) fn cutoff(&self) -> u64 {
        self.next_id
    }

    /// Removes and returns the first timer due at `now` (deadline `<= now`) that
    /// was scheduled before `cutoff`.
    ///
    /// Timers added while firing wait for the next iteration, so a callback that
    /// re-arms itself with a zero delay cannot starve I/O.
    pub(crate) fn pop_due(&mut self, now: Instant, cutoff: u64) -> Option<TimerCallback> {
        let entry = self.map.first_entry()?;
        let (deadline, id) = *entry.key();
        if deadline <= now && id < cutoff {
            Some(entry.remove())
        } else {
            None
        }
    }

    /// Number of pending timers.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Removes every pending timer, returning them to be dropped outside any borrow.
    pub(crate) fn take_all(&mut self) -> BTreeMap<(Instant, u64), TimerCallback> {
        std::mem::take(&mut self.map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::time::Duration;

    /// A callback that appends `n` to `log`.
    fn recorder(log: &Rc<RefCell<Vec<u32>>>, n: u32) -> TimerCallback {
        let log = log.clone();
        TimerCallback::Call(Box::new(move || log.borrow_mut().push(n)))
    }

    /// A callback that does nothing.
    fn nothing() -> TimerCallback {
        TimerCallback::Call(Box::new(|| {}))
    }

    /// Does what the loop does with a due timer.
    fn run(callback: TimerCallback) {
        match callback {
            TimerCallback::Call(callback) => callback(),
            TimerCallback::Wake(waker) => waker.wake(),
        }
    }

    #[test]
    fn pops_in_deadline_then_insertion_order() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut timers = Timers::default();
        let t0 = Instant::now();
        timers.insert(t0 + Duration::from_millis(2), recorder(&log, 3));
        timers.insert(t0, recorder(&log, 1));
        timers.insert(t0, recorder(&log, 2));
        let cutoff = timers.cutoff();
        while let Some(cb) = timers.pop_due(t0 + Duration::from_millis(5), cutoff) {
            run(cb);
        }
        assert_eq!(*log.borrow(), vec![1, 2, 3]);
    }

    #[test]
    fn not_due_and_late_additions_wait() {
        let mut timers = Timers::default();
        let t0 = Instant::now();
        timers.insert(t0 + Duration::from_secs(1), nothing());
        assert!(timers.pop_due(t0, timers.cutoff()).is_none());
        let cutoff = timers.cutoff();
        timers.insert(t0, nothing());
        assert!(
            timers.pop_due(t0, cutoff).is_none(),
            "added after the cutoff"
        );
        assert!(timers.pop_due(t0, timers.cutoff()).is_some());
    }

    #[test]
    fn removed_timer_is_dropped_at_once() {
        let token = Rc::new(());
        let mut timers = Timers::default();
        let held = token.clone();
        let handle = timers.insert(
            Instant::now(),
            TimerCallback::Call(Box::new(move || drop(held))),
        );
        assert_eq!(Rc::strong_count(&token), 2);
        assert!(timers.contains(handle));
        drop(timers.remove(handle));
        assert!(!timers.contains(handle));
        assert_eq!(Rc::strong_count(&token), 1);
        assert!(timers.remove(handle).is_none());
        assert_eq!(timers.len(), 0);
    }
}
