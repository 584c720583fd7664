//! Coroutine helpers: [`sleep`], [`with_timeout`], [`moment`].
//!
//! # Tornado
//! `tornado.gen.sleep`, `tornado.gen.with_timeout`, `tornado.gen.moment`.
//! They run on the current [`IOLoop`]'s timers.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::ioloop::{deadline_after, IOLoop, TimeoutHandle, WeakIOLoop};

/// Waits for `duration` on the current loop's timers.
///
/// # Tornado
/// `await tornado.gen.sleep(seconds)`.
/// A duration too large for an `Instant` (such as `Duration::MAX`) sleeps forever.
pub fn sleep(duration: Duration) -> Sleep {
    Sleep {
        deadline: Instant::now().checked_add(duration),
        timer: None,
        elapsed: false,
    }
}

/// Waits until `deadline`.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline: Some(deadline),
        timer: None,
        elapsed: false,
    }
}

/// The future returned by [`sleep`]; dropping it cancels its timer.
///
/// It ends once the loop's timer for its deadline has fired. Neither
/// creating one nor arming its timer allocates: the timer holds the
/// waiting task's waker.
pub struct Sleep {
    /// `None`: too far away to represent; the sleep never ends.
    deadline: Option<Instant>,
    /// The loop timer, once a poll armed it. After [`reset`](Sleep::reset)
    /// moved the deadline later it is due before `deadline`, and is re-armed
    /// for it when it fires.
    timer: Option<Armed>,
    /// The timer for `deadline` has fired: the sleep is over (until a reset).
    elapsed: bool,
}

/// A loop timer a [`Sleep`] waits on.
struct Armed {
    /// Weak: a loop owns its tasks, and a task owns its sleeps.
    ioloop: WeakIOLoop,
    handle: TimeoutHandle,
    /// A clone of the waker the timer holds: a poll with the same waker
    /// leaves the timer as it is.
    waker: Waker,
}

impl Armed {
    /// True once the loop has fired this timer.
    fn fired(&self) -> bool {
        // Reading the clock is cheaper than looking in the timer map, and a
        // timer that is not yet due cannot have fired.
        if Instant::now() < self.handle.deadline() {
            return false;
        }
        match self.ioloop.upgrade() {
            Some(ioloop) => !ioloop.timeout_pending(self.handle),
            // The loop and its timers are gone; the deadline has passed.
            None => true,
        }
    }
}

impl Sleep {
    /// Moves the deadline, as if the sleep had been created with this one.
    ///
    /// Moving it later costs nothing now: the timer armed for the earlier
    /// deadline is re-armed for this one when it fires. So a deadline that
    /// keeps moving later (a keep-alive connection's, once per request)
    /// costs one timer per timeout period, not one per move. Moving it
    /// earlier re-arms the timer on the next poll.
    pub(crate) fn reset(&mut self, deadline: Instant) {
        self.deadline = Some(deadline);
        self.elapsed = false;
    }

    /// Cancels the armed timer, if any.
    fn disarm(&mut self) {
        if let Some(armed) = self.timer.take() {
            if let Some(ioloop) = armed.ioloop.upgrade() {
                ioloop.remove_timeout(armed.handle);
            }
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.elapsed {
            return Poll::Ready(());
        }
        let Some(deadline) = this.deadline else {
            return Poll::Pending;
        };
        if let Some(armed) = &this.timer {
            let due = armed.handle.deadline();
            if due <= deadline && armed.fired() {
                this.timer = None;
                if due == deadline {
                    this.elapsed = true;
                    return Poll::Ready(());
                }
                // It fired for a deadline since moved later: arm for this one.
            } else if due <= deadline && armed.waker.will_wake(cx.waker()) {
                return Poll::Pending;
            } else {
                // Due after the deadline (moved earlier), or another task
                // now waits: the timer must be armed anew.
                this.disarm();
            }
        }
        let ioloop = IOLoop::current();
        let handle = ioloop.wake_at(deadline, cx.waker().clone());
        this.timer = Some(Armed {
            ioloop: ioloop.downgrade(),
            handle,
            waker: cx.waker().clone(),
        });
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.disarm();
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("elapsed", &self.elapsed)
            .finish()
    }
}

/// The error [`with_timeout`] gives when the deadline passes first.
///
/// # Tornado
/// `tornado.util.TimeoutError` (an alias of `asyncio.TimeoutError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeoutError;

impl fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Timeout")
    }
}

impl std::error::Error for TimeoutError {}

impl From<TimeoutError> for std::io::Error {
    fn from(err: TimeoutError) -> Self {
        std::io::Error::new(std::io::ErrorKind::TimedOut, err)
    }
}

/// Runs `future` with a time limit: its output, or [`TimeoutError`] (and the
/// future dropped) once `timeout` has passed.
///
/// # Tornado
/// `tornado.gen.with_timeout(timeout, future)`. Unlike Tornado, the future is
/// cancelled on timeout, since a Rust future only runs while it is polled.
///
/// ```
/// use std::time::Duration;
/// use tornado::gen::{sleep, with_timeout, TimeoutError};
/// use tornado::ioloop::IOLoop;
///
/// let result = IOLoop::current()
///     .run_sync(with_timeout(Duration::from_millis(5), sleep(Duration::from_secs(10))))
///     .unwrap();
/// assert_eq!(result, Err(TimeoutError));
/// ```
pub fn with_timeout<F: Future>(
    timeout: Duration,
    future: F,
) -> impl Future<Output = Result<F::Output, TimeoutError>> {
    // Taken at the call, as Tornado's is, not when the result is first
    // awaited; a timeout too large for an `Instant` is never.
    with_deadline(deadline_after(timeout), future)
}

/// [`with_timeout`] with an absolute deadline.
///
/// # Tornado
/// `tornado.gen.with_timeout(timeout, future)` with `timeout` an absolute
/// `IOLoop.time()`.
pub async fn with_deadline<F: Future>(
    deadline: Instant,
    future: F,
) -> Result<F::Output, TimeoutError> {
    let mut future = std::pin::pin!(future);
    let mut timer = std::pin::pin!(sleep_until(deadline));
    std::future::poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Ok(output));
        }
        timer.as_mut().poll(cx).map(|()| Err(TimeoutError))
    })
    .await
}

/// Yields to the loop once: the task is polled again on the next iteration,
/// after the I/O and other tasks that are ready now.
///
/// # Tornado
/// `await tornado.gen.moment` (or `asyncio.sleep(0)`).
pub fn moment() -> Moment {
    Moment { yielded: false }
}

/// The future returned by [`moment`].
#[derive(Debug)]
pub struct Moment {
    yielded: bool,
}

impl Future for Moment {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::poll_fn;

    /// `n` milliseconds.
    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Polls `sleep` once; true if it ended.
    async fn poll_once(sleep: &mut Sleep) -> bool {
        poll_fn(|cx| Poll::Ready(Pin::new(&mut *sleep).poll(cx).is_ready())).await
    }

    /// The loop timer `sleep` has armed, if any.
    fn timer(sleep: &Sleep) -> Option<TimeoutHandle> {
        sleep.timer.as_ref().map(|armed| armed.handle)
    }

    #[test]
    fn moving_the_deadline_later_keeps_the_timer_until_it_fires() {
        let ioloop = IOLoop::new().unwrap();
        ioloop
            .run_sync(async {
                let start = Instant::now();
                let mut sleep = sleep_until(start + ms(20));
                assert!(!poll_once(&mut sleep).await);
                let first = timer(&sleep);
                assert!(first.is_some());
                for i in 1..=4 {
                    sleep.reset(start + ms(20 + 10 * i));
                    assert!(!poll_once(&mut sleep).await);
                    assert_eq!(timer(&sleep), first, "no new timer for a later deadline");
                }
                (&mut sleep).await;
                assert!(start.elapsed() >= ms(60), "ended at the last deadline");
                assert_eq!(IOLoop::current().pending_timeouts(), 0);
            })
            .unwrap();
    }

    #[test]
    fn moving_the_deadline_earlier_rearms() {
        let ioloop = IOLoop::new().unwrap();
        ioloop
            .run_sync(async {
                let start = Instant::now();
                let mut sleep = sleep_until(start + Duration::from_secs(10));
                assert!(!poll_once(&mut sleep).await);
                sleep.reset(start + ms(10));
                (&mut sleep).await;
                assert!(start.elapsed() >= ms(10));
                assert!(start.elapsed() < Duration::from_secs(5));
                assert_eq!(IOLoop::current().pending_timeouts(), 0);
            })
            .unwrap();
    }

    #[test]
    fn an_ended_sleep_reset_waits_again_and_drop_cancels() {
        let ioloop = IOLoop::new().unwrap();
        ioloop
            .run_sync(async {
                let mut sleep = sleep(ms(1));
                (&mut sleep).await;
                assert!(poll_once(&mut sleep).await, "stays ended");
                let restart = Instant::now();
                sleep.reset(restart + ms(20));
                assert!(!poll_once(&mut sleep).await);
                (&mut sleep).await;
                assert!(restart.elapsed() >= ms(20));
                sleep.reset(Instant::now() + Duration::from_secs(10));
                assert!(!poll_once(&mut sleep).await);
                assert_eq!(IOLoop::current().pending_timeouts(), 1);
                drop(sleep);
                assert_eq!(IOLoop::current().pending_timeouts(), 0);
            })
            .unwrap();
    }
}
