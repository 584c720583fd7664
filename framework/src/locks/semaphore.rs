//! [`Semaphore`] and [`BoundedSemaphore`]: a counter of permits.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore as Permits};

use super::{poll_now, timeout_from_now, ReleaseError};
use crate::gen::TimeoutError;

/// A lock that can be acquired a fixed number of times before blocking.
///
/// The counter is the initial value, plus the [`release`](Semaphore::release)
/// calls, minus the acquires. [`acquire`](Semaphore::acquire) waits, in line
/// behind earlier callers, until it can decrement the counter without making
/// it negative, and gives a [`SemaphoreGuard`] that increments it again when
/// dropped. Clones share one counter.
///
/// A thin wrapper over `tokio::sync::Semaphore`, whose semantics are
/// Tornado's: a FIFO line, a release that goes to the first waiter, and an
/// acquire that gives back a permit it was handed if dropped before returning.
///
/// # Tornado
/// `tornado.locks.Semaphore(value=1)`. `async with sem:` is holding the
/// guard; the explicit style maps as:
///
/// | Tornado | tornado-rs |
/// | --- | --- |
/// | `await sem.acquire()` ... `sem.release()` | `sem.acquire().await.forget()` ... `sem.release()` |
/// | `async with sem:` | `let _guard = sem.acquire().await;` |
///
/// ```
/// use std::time::Duration;
/// use tornado::gen::sleep;
/// use tornado::ioloop::IOLoop;
/// use tornado::locks::Semaphore;
///
/// let ioloop = IOLoop::current();
/// let log = ioloop
///     .run_sync(async {
///         let sem = Semaphore::new(2); // two workers at a time
///         let log = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
///         let workers: Vec<_> = (0..3)
///             .map(|id| {
///                 let (sem, log) = (sem.clone(), log.clone());
///                 IOLoop::current().spawn(async move {
///                     let _guard = sem.acquire().await;
///                     log.borrow_mut().push(format!("Worker {id} is working"));
///                     sleep(Duration::from_millis(10)).await;
///                     log.borrow_mut().push(format!("Worker {id} is done"));
///                 })
///             })
///             .collect();
///         for worker in workers {
///             worker.await.unwrap();
///         }
///         log.take()
///     })
///     .unwrap();
/// // Workers 0 and 1 run at once; worker 2 waits until worker 0 releases.
/// let at = |line: &str| log.iter().position(|l| l == line).unwrap();
/// assert_eq!(log[..2], ["Worker 0 is working", "Worker 1 is working"]);
/// assert!(at("Worker 0 is done") < at("Worker 2 is working"));
/// ```
#[derive(Clone)]
pub struct Semaphore {
    permits: Arc<Permits>,
}

/// A [`Semaphore`] whose [`release`](BoundedSemaphore::release) fails if it
/// would raise the counter above its initial value: a semaphore guards a
/// resource of fixed capacity, so releasing it too often is a bug.
///
/// `tokio::sync::Semaphore` with the bound checked before each release.
///
/// # Tornado
/// `tornado.locks.BoundedSemaphore(value=1)`; its `ValueError` is
/// [`ReleaseError`].
///
/// A guard dropped after an explicit `release` already brought the counter
/// back to its initial value does not raise it further (Tornado's `__aexit__`
/// would raise `ValueError` there; a `Drop` cannot fail).
///
/// ```
/// use tornado::ioloop::IOLoop;
/// use tornado::locks::{BoundedSemaphore, ReleaseError};
///
/// IOLoop::current()
///     .run_sync(async {
///         let sem = BoundedSemaphore::new(1);
///         assert_eq!(sem.release(), Err(ReleaseError)); // never acquired
///         sem.acquire().await.forget();
///         assert_eq!(sem.release(), Ok(()));
///         assert_eq!(sem.release(), Err(ReleaseError));
///     })
///     .unwrap();
/// ```
#[derive(Clone)]
pub struct BoundedSemaphore {
    permits: Arc<Permits>,
    initial: usize,
}

/// One acquired permit of a [`Semaphore`] or [`BoundedSemaphore`], released
/// when dropped.
///
/// # Tornado
/// The context manager that `with (yield sem.acquire()):` enters.
#[derive(Debug)]
#[must_use = "the permit is released as soon as the guard is dropped"]
pub struct SemaphoreGuard {
    /// `None` only once [`forget`](SemaphoreGuard::forget) took it.
    permit: Option<OwnedSemaphorePermit>,
    /// The counter's ceiling for a [`BoundedSemaphore`].
    bound: Option<usize>,
}

impl SemaphoreGuard {
    /// Keeps the permit acquired after the guard is gone; give it back with
    /// `release()`. This is Tornado's explicit `acquire()` / `release()` style.
    pub fn forget(mut self) {
        if let Some(permit) = self.permit.take() {
            permit.forget();
        }
    }
}

impl Drop for SemaphoreGuard {
    fn drop(&mut self) {
        let Some(permit) = self.permit.take() else {
            return;
        };
        let at_bound = self
            .bound
            .is_some_and(|bound| permit.semaphore().available_permits() >= bound);
        if at_bound {
            permit.forget();
        }
        // Otherwise dropping the permit gives it back (to the first waiter, if any).
    }
}

impl Semaphore {
    /// A semaphore whose counter starts at `value`.
    ///
    /// # Panics
    /// If `value` exceeds `tokio::sync::Semaphore::MAX_PERMITS` (`usize::MAX >> 3`).
    /// (Tornado raises `ValueError` for a negative value, which `usize` rules out.)
    ///
    /// # Tornado
    /// `tornado.locks.Semaphore(value=1)`; `value` has no default here.
    pub fn new(value: usize) -> Semaphore {
        Semaphore {
            permits: Arc::new(Permits::new(value)),
        }
    }

    /// Waits to decrement the counter; the guard increments it when dropped.
    ///
    /// # Tornado
    /// `await sem.acquire()` / `async with sem`.
    pub fn acquire(&self) -> impl Future<Output = SemaphoreGuard> {
        acquire(&self.permits, None)
    }

    /// [`acquire`](Semaphore::acquire), failing with [`TimeoutError`] (the
    /// counter untouched) if no permit comes within `timeout`.
    ///
    /// # Tornado
    /// `await sem.acquire(timeout=timedelta(...))`.
    pub fn acquire_timeout(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = Result<SemaphoreGuard, TimeoutError>> {
        timeout_from_now(timeout, self.acquire())
    }

    /// Decrements the counter if that is possible now, without waiting.
    pub fn try_acquire(&self) -> Option<SemaphoreGuard> {
        try_acquire(&self.permits, None)
    }

    /// Increments the counter and wakes the first waiter. Allowed without a
    /// matching acquire: the counter just grows (it saturates at
    /// `tokio::sync::Semaphore::MAX_PERMITS`).
    ///
    /// # Tornado
    /// `Semaphore.release()`.
    pub fn release(&self) {
        if self.permits.available_permits() < Permits::MAX_PERMITS {
            self.permits.add_permits(1);
        }
    }
}

impl Default for Semaphore {
    /// `Semaphore::new(1)`, Tornado's default `value`.
    fn default() -> Semaphore {
        Semaphore::new(1)
    }
}

impl BoundedSemaphore {
    /// A bounded semaphore whose counter starts, and is capped, at `value`.
    ///
    /// # Panics
    /// If `value` exceeds `tokio::sync::Semaphore::MAX_PERMITS` (`usize::MAX >> 3`).
    ///
    /// # Tornado
    /// `tornado.locks.BoundedSemaphore(value=1)`; `value` has no default here.
    pub fn new(value: usize) -> BoundedSemaphore {
        BoundedSemaphore {
            permits: Arc::new(Permits::new(value)),
            initial: value,
        }
    }

    /// Waits to decrement the counter; the guard increments it when dropped.
    ///
    /// # Tornado
    /// `await sem.acquire()` / `async with sem`.
    pub fn acquire(&self) -> impl Future<Output = SemaphoreGuard> {
        acquire(&self.permits, Some(self.initial))
    }

    /// [`acquire`](BoundedSemaphore::acquire), failing with [`TimeoutError`]
    /// if no permit comes within `timeout`.
    ///
    /// # Tornado
    /// `await sem.acquire(timeout=timedelta(...))`.
    pub fn acquire_timeout(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = Result<SemaphoreGuard, TimeoutError>> {
        timeout_from_now(timeout, self.acquire())
    }

    /// Decrements the counter if that is possible now, without waiting.
    pub fn try_acquire(&self) -> Option<SemaphoreGuard> {
        try_acquire(&self.permits, Some(self.initial))
    }

    /// Increments the counter and wakes the first waiter; [`ReleaseError`]
    /// (the counter unchanged) if it is already at its initial value.
    ///
    /// # Tornado
    /// `BoundedSemaphore.release()`, which raises `ValueError`.
    pub fn release(&self) -> Result<(), ReleaseError> {
        if self.permits.available_permits() >= self.initial {
            return Err(ReleaseError);
        }
        self.permits.add_permits(1);
        Ok(())
    }
}

impl Default for BoundedSemaphore {
    /// `BoundedSemaphore::new(1)`, Tornado's default `value`.
    fn default() -> BoundedSemaphore {
        BoundedSemaphore::new(1)
    }
}

impl fmt::Debug for Semaphore {
    /// Tornado's `repr`: the counter's value (permits free now).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("value", &self.permits.available_permits())
            .finish()
    }
}

impl fmt::Debug for BoundedSemaphore {
    /// Tornado's `repr`: the counter's value, and its ceiling.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedSemaphore")
            .field("value", &self.permits.available_permits())
            .field("initial", &self.initial)
            .finish()
    }
}

fn acquire(permits: &Arc<Permits>, bound: Option<usize>) -> impl Future<Output = SemaphoreGuard> {
    let acquire = poll_now(permits.clone().acquire_owned());
    async move {
        match acquire.await {
            Ok(permit) => SemaphoreGuard {
                permit: Some(permit),
                bound,
            },
            Err(closed) => unreachable!("locks never close their tokio semaphore: {closed}"),
        }
    }
}

fn try_acquire(permits: &Arc<Permits>, bound: Option<usize>) -> Option<SemaphoreGuard> {
    let permit = permits.clone().try_acquire_owned().ok()?;
    Some(SemaphoreGuard {
        permit: Some(permit),
        bound,
    })
}
