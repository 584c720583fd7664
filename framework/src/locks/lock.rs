//! [`Lock`]: mutual exclusion for tasks.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, OwnedMutexGuard};

use super::{poll_now, timeout_from_now};
use crate::gen::TimeoutError;

/// A lock for tasks: [`acquire`](Lock::acquire) gives a [`LockGuard`], and
/// the lock is held until the guard is dropped. Waiters get the lock in the
/// order they called `acquire`. Clones share one lock.
///
/// A thin wrapper over `tokio::sync::Mutex<()>`, whose semantics are
/// Tornado's: a FIFO line, a guard, and an acquire that leaves the line
/// cleanly when dropped.
///
/// # Tornado
/// `tornado.locks.Lock()`. `async with lock:` is holding the guard:
///
/// ```python
/// async with lock:
///     ...  # do something holding the lock
/// # now the lock is released
/// ```
///
/// Deliberate difference: there is no `Lock.release()`; drop the guard. The
/// guard makes Tornado's `RuntimeError("release unlocked lock")` impossible.
///
/// ```
/// use tornado::ioloop::IOLoop;
/// use tornado::locks::Lock;
///
/// IOLoop::current()
///     .run_sync(async {
///         let lock = Lock::new();
///         {
///             let _guard = lock.acquire().await;
///             assert!(lock.try_acquire().is_none()); // held
///         } // released here
///         assert!(lock.try_acquire().is_some());
///     })
///     .unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct Lock {
    mutex: Arc<Mutex<()>>,
}

/// Holds a [`Lock`] until dropped.
///
/// # Tornado
/// The context manager that `with (yield lock.acquire()):` enters; dropping it
/// is `Lock.release()`.
#[derive(Debug)]
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard {
    _guard: OwnedMutexGuard<()>,
}

impl Lock {
    /// A new lock, unlocked.
    ///
    /// # Tornado
    /// `tornado.locks.Lock()`.
    pub fn new() -> Lock {
        Lock::default()
    }

    /// Waits for the lock; holds it until the returned guard drops.
    ///
    /// # Tornado
    /// `await lock.acquire()` / `async with lock`.
    pub fn acquire(&self) -> impl Future<Output = LockGuard> {
        let lock = poll_now(self.mutex.clone().lock_owned());
        async move { LockGuard { _guard: lock.await } }
    }

    /// [`acquire`](Lock::acquire), failing with [`TimeoutError`] (the lock
    /// not taken) if it is not acquired within `timeout`.
    ///
    /// # Tornado
    /// `await lock.acquire(timeout=timedelta(...))`.
    pub fn acquire_timeout(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = Result<LockGuard, TimeoutError>> {
        timeout_from_now(timeout, self.acquire())
    }

    /// Takes the lock if it is free now, without waiting.
    pub fn try_acquire(&self) -> Option<LockGuard> {
        let guard = self.mutex.clone().try_lock_owned().ok()?;
        Some(LockGuard { _guard: guard })
    }
}
