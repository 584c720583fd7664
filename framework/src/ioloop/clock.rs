//! The loop's wall clock: read once per iteration, right after the poll
//! returns, so the `Date` header of every response written in that
//! iteration costs no clock read. A value read here is at most one
//! iteration old; outside an iteration (no loop running) it is live.
//!
//! Only for `Date` (whole seconds, and nginx stamps its responses the same
//! way). Deadlines and timers read the monotonic clock afresh: a handler
//! that blocks its loop must not make the next deadline start in the past.

use std::cell::Cell;
use std::time::SystemTime;

thread_local! {
    static NOW: Cell<Option<SystemTime>> = const { Cell::new(None) };
}

/// Holds the loop's clock for the rest of an iteration; dropped at its end.
pub(crate) struct Iteration(());

impl Iteration {
    /// Reads the clock for the iteration that is starting.
    pub(crate) fn start() -> Iteration {
        NOW.with(|now| now.set(Some(SystemTime::now())));
        Iteration(())
    }
}

impl Drop for Iteration {
    fn drop(&mut self) {
        NOW.with(|now| now.set(None));
    }
}

/// The wall-clock time at the start of this iteration (or now, outside one).
pub(crate) fn system_now() -> SystemTime {
    NOW.with(Cell::get).unwrap_or_else(SystemTime::now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_iteration_reads_the_clock_once_and_outside_it_is_live() {
        let iteration = Iteration::start();
        let first = system_now();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(system_now(), first);
        drop(iteration);
        assert!(system_now() >= first + Duration::from_millis(5));
    }
}
