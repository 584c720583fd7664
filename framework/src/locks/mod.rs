//! Synchronization primitives for tasks on one loop: [`Lock`], [`Event`],
//! [`Condition`], [`Semaphore`] and [`BoundedSemaphore`].
//!
//! # Tornado
//! `tornado.locks`. Each type keeps its Tornado name and methods:
//!
//! | Tornado | tornado-rs | built on |
//! | --- | --- | --- |
//! | `Lock()` | [`Lock`] | `tokio::sync::Mutex<()>` |
//! | `Semaphore(value=1)` | [`Semaphore`] | `tokio::sync::Semaphore` |
//! | `BoundedSemaphore(value=1)` | [`BoundedSemaphore`] | `tokio::sync::Semaphore` plus the bound check |
//! | `Event()` | [`Event`] | its own waiter list |
//! | `Condition()` | [`Condition`] | its own waiter list |
//!
//! tokio's `Mutex` and `Semaphore` already have Tornado's semantics (a FIFO
//! line of waiters, a guard that releases on drop, cancel-safe acquires), and
//! they only use `Waker`s, so they run on the [`IOLoop`](crate::ioloop::IOLoop)
//! as they do on tokio's scheduler. tokio has no resettable event, and its
//! `Notify` keeps a permit when nobody waits and cannot wake exactly `n`
//! waiters, so [`Event`] and [`Condition`] are small single-threaded
//! implementations (`Rc<RefCell<..>>` and a FIFO list of wakers).
//!
//! # Contract
//! * **In line when called.** Every waiting method (`wait`, `acquire`) joins
//!   the line when it is *called*, not when its future is first polled, as a
//!   Tornado method returns a `Future` that is already waiting. So
//!   `let w = condition.wait(); condition.notify(1); w.await` does not hang.
//! * **Timeouts.** Where Tornado takes `timeout=`, there is a `*_timeout`
//!   method taking a [`Duration`](std::time::Duration) that fails with
//!   [`TimeoutError`](crate::gen::TimeoutError) (or, for
//!   [`Condition::wait_timeout`], returns `false`). As in Tornado, the timer
//!   starts at the call, on the current loop, and takes the waiter out of line
//!   at the deadline even if nobody is polling it; a waiter that was already
//!   notified (or handed its permit) by then keeps it. For Tornado's absolute
//!   deadline (`timeout=io_loop.time() + 1`), wrap the plain future in
//!   `gen::with_deadline(deadline, lock.acquire())`, which times out when polled.
//! * **Cancel-safe.** Dropping a waiting future (a timeout, an aborted task)
//!   takes it out of the line, and whatever it had been handed but not yet
//!   returned (a notification, a permit) passes to the next waiter. Nothing
//!   meant for another waiter is lost.
//! * **Single-threaded.** [`Event`] and [`Condition`] are `!Send`, as
//!   Tornado's are not thread-safe; use them from tasks of one loop.

mod condition;
mod event;
mod lock;
mod semaphore;
mod timeout;
pub(crate) mod waiters;

use std::fmt;
use std::future::Future;
use std::task::{Context, Poll};

use crate::ioloop::noop_waker;

pub use condition::Condition;
pub use event::Event;
pub use lock::{Lock, LockGuard};
pub use semaphore::{BoundedSemaphore, Semaphore, SemaphoreGuard};

pub(crate) use timeout::timeout_from_now;

/// The error [`BoundedSemaphore::release`] gives when the release would
/// raise the value above the initial one.
///
/// # Tornado
/// The `ValueError("Semaphore released too many times")` that
/// `BoundedSemaphore.release()` raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReleaseError;

impl fmt::Display for ReleaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Semaphore released too many times")
    }
}

impl std::error::Error for ReleaseError {}

/// Polls `future` once now, so that a tokio acquire joins its line at the
/// call, then gives a future of its output. The first poll's waker does
/// nothing; tokio replaces it with the real one on the next poll.
fn poll_now<F: Future>(future: F) -> impl Future<Output = F::Output> {
    let mut future = Box::pin(future);
    let waker = noop_waker();
    let first = future.as_mut().poll(&mut Context::from_waker(&waker));
    async move {
        match first {
            Poll::Ready(output) => output,
            Poll::Pending => future.await,
        }
    }
}
