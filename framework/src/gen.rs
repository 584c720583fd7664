//! Coroutine helpers: [`sleep`], [`with_timeout`], [`moment`].
//!
//! # Tornado
//! `tornado.gen.sleep`, `tornado.gen.with_timeout`, `tornado.gen.moment`.
//! They run on the current [`IOLoop`]'s timers.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::ioloop::{IOLoop, TimeoutHandle, WeakIOLoop};

/// Waits for `duration` on the current loop's timers.
///
/// # Tornado
/// `await tornado.gen.sleep(seconds)`.
/// A duration too large for an `Instant` (such as `Duration::MAX`) sleeps forever.
pub fn sleep(duration: Duration) -> Sleep {
    Sleep {
        deadline: Instant::now().checked_add(duration),
        timer: None,
        state: Rc::new(SleepState::default()),
    }
}

/// Waits until `deadline`.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline: Some(deadline),
        timer: None,
        state: Rc::new(SleepState::default()),
    }
}

#[derive(Default)]
struct SleepState {
    fired: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

/// The future returned by [`sleep`]; dropping it cancels its timer.
pub struct Sleep {
    /// `None`: too far away to represent; the sleep never ends.
    deadline: Option<Instant>,
    /// The timer, once the first poll registered it. The loop is held
    /// weakly: a loop owns its tasks, and a task owns its sleeps.
    timer: Option<(WeakIOLoop, TimeoutHandle)>,
    state: Rc<SleepState>,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.state.fired.get() {
            return Poll::Ready(());
        }
        *self.state.waker.borrow_mut() = Some(cx.waker().clone());
        let Some(deadline) = self.deadline else {
            return Poll::Pending;
        };
        if self.timer.is_none() {
            let ioloop = IOLoop::current();
            let state = self.state.clone();
            let handle = ioloop.call_at(deadline, move || {
                state.fired.set(true);
                let waker = state.waker.borrow_mut().take();
                if let Some(waker) = waker {
                    waker.wake();
                }
            });
            self.timer = Some((ioloop.downgrade(), handle));
        }
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some((ioloop, handle)) = self.timer.take() {
            if let Some(ioloop) = ioloop.upgrade() {
                ioloop.remove_timeout(handle);
            }
        }
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("fired", &self.state.fired.get())
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
pub async fn with_timeout<F: Future>(
    timeout: Duration,
    future: F,
) -> Result<F::Output, TimeoutError> {
    with_deadline(Instant::now() + timeout, future).await
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
