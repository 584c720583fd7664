//! The loop's clock: read once per iteration, right after the poll returns,
//! so the "now"s a request needs (the `Date` header, the next deadline)
//! cost no clock read each. A value read here is at most one iteration old;
//! outside an iteration (no loop running) it is the system clock's.
//!
//! Timers do not use it: whether a timer is due is always decided on a
//! fresh reading, so a stale clock can make a deadline early, never late.

use std::cell::Cell;
use std::time::{Instant, SystemTime};

thread_local! {
    static NOW: Cell<Option<(Instant, SystemTime)>> = const { Cell::new(None) };
}

/// Holds the loop's clock for the rest of an iteration; dropped at its end.
pub(crate) struct Iteration(());

impl Iteration {
    /// Reads the clock for the iteration that is starting.
    pub(crate) fn start() -> Iteration {
        NOW.with(|now| now.set(Some((Instant::now(), SystemTime::now()))));
        Iteration(())
    }
}

impl Drop for Iteration {
    fn drop(&mut self) {
        NOW.with(|now| now.set(None));
    }
}

/// The monotonic time at the start of this iteration (or now, outside one).
pub(crate) fn now() -> Instant {
    NOW.with(Cell::get)
        .map_or_else(Instant::now, |(now, _)| now)
}

/// The wall-clock time at the start of this iteration (or now, outside one).
pub(crate) fn system_now() -> SystemTime {
    NOW.with(Cell::get)
        .map_or_else(SystemTime::now, |(_, now)| now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_iteration_reads_the_clock_once_and_outside_it_is_live() {
        let iteration = Iteration::start();
        let first = now();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(now(), first);
        drop(iteration);
        assert!(now() >= first + Duration::from_millis(5));
    }
}
