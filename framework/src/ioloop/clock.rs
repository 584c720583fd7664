//! The loop's wall clock: read once per iteration, right after the poll
//! returns, so the `Date` header of every response written in that
//! iteration costs no clock read. A value read here is at most one
//! iteration old; outside an iteration (no loop running) it is live.
//!
//! Only for `Date` (whole seconds, and nginx stamps its responses the same
//! way) and for when a request started (its `request_time`): the monotonic
//! clock is read the first time an iteration asks for it, so a burst of
//! pipelined requests reads it once. Deadlines and timers read the
//! monotonic clock afresh: a handler that blocks its loop must not make the
//! next deadline start in the past.

use std::cell::Cell;
use std::time::{Instant, SystemTime};

thread_local! {
    static NOW: Cell<Option<SystemTime>> = const { Cell::new(None) };
    /// The monotonic clock, once read in this iteration.
    static INSTANT: Cell<Option<Instant>> = const { Cell::new(None) };
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
        INSTANT.with(|instant| instant.set(None));
    }
}

/// The wall-clock time at the start of this iteration (or now, outside one).
pub(crate) fn system_now() -> SystemTime {
    NOW.with(Cell::get).unwrap_or_else(SystemTime::now)
}

/// The monotonic time of this iteration: read the first time it is asked
/// for in an iteration, then the same until the iteration ends (live outside
/// one). A request that started later in the iteration than that read was
/// waiting behind the earlier ones: its bytes had arrived before the
/// iteration began.
pub(crate) fn instant_now() -> Instant {
    if NOW.with(Cell::get).is_none() {
        return Instant::now();
    }
    INSTANT.with(|instant| match instant.get() {
        Some(now) => now,
        None => {
            let now = Instant::now();
            instant.set(Some(now));
            now
        }
    })
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

    #[test]
    fn the_monotonic_clock_is_read_once_an_iteration_and_live_outside() {
        let outside = instant_now();
        std::thread::sleep(Duration::from_millis(2));
        let iteration = Iteration::start();
        let first = instant_now();
        assert!(first >= outside + Duration::from_millis(2));
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(instant_now(), first);
        drop(iteration);
        assert!(instant_now() >= first + Duration::from_millis(5));
        let next = Iteration::start();
        assert!(instant_now() >= first + Duration::from_millis(5));
        drop(next);
    }
}
