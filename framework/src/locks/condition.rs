//! [`Condition`]: wait until notified.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::timeout_from_now;
use super::waiters::{wake_all, WaitList};

/// A condition lets tasks wait until another task notifies them.
///
/// Unlike a threading condition variable, it has no lock to hold. A
/// notification wakes tasks that are waiting *now*; with nobody waiting it is
/// lost. Clones share one line of waiters, served first come, first served.
/// A wait that was notified and then dropped before it was polled (the other
/// branch of a `select!` won) hands its notification to the next waiter in
/// line, which may have started waiting after the `notify`; Tornado drops
/// such a notification with the cancelled waiter.
///
/// Native, not tokio: `tokio::sync::Notify` stores a permit when nobody
/// waits (so a later `wait` would not block) and cannot wake exactly `n`.
///
/// # Tornado
/// `tornado.locks.Condition()`: `wait(timeout=None)`, `notify(n=1)`, `notify_all()`.
///
/// # Contract
/// A waiter that was notified but dropped before it returned (its task was
/// aborted, say) passes its notification to the next waiter, so
/// `notify(n)` always wakes `n` tasks while `n` are waiting.
///
/// ```
/// use tornado::ioloop::IOLoop;
/// use tornado::locks::Condition;
///
/// let ioloop = IOLoop::current();
/// let log = ioloop
///     .run_sync(async {
///         let condition = Condition::new();
///         let mut log = vec!["I'll wait right here"];
///         let waiting = condition.wait(); // in line from here on
///         log.push("About to notify");
///         condition.notify(1);
///         log.push("Done notifying");
///         waiting.await;
///         log.push("I'm done waiting");
///         log
///     })
///     .unwrap();
/// assert_eq!(log.last(), Some(&"I'm done waiting"));
/// ```
#[derive(Clone, Default)]
pub struct Condition {
    waiters: Rc<RefCell<WaitList>>,
}

impl Condition {
    /// A new condition with nobody waiting.
    ///
    /// # Tornado
    /// `tornado.locks.Condition()`.
    pub fn new() -> Condition {
        Condition::default()
    }

    /// Waits for a [`notify`](Condition::notify).
    ///
    /// # Tornado
    /// `await condition.wait()`.
    pub fn wait(&self) -> impl Future<Output = ()> {
        let id = self.waiters.borrow_mut().push(());
        ConditionWait {
            id,
            waiters: self.waiters.clone(),
            returned: false,
        }
    }

    /// Waits for a notification for at most `timeout`: `true` if notified,
    /// `false` if the time ran out first.
    ///
    /// # Tornado
    /// `await condition.wait(timeout=timedelta(...))`, which resolves `True`
    /// or `False` the same way.
    pub fn wait_timeout(&self, timeout: Duration) -> impl Future<Output = bool> {
        let wait = timeout_from_now(timeout, self.wait());
        async move { wait.await.is_ok() }
    }

    /// Wakes the `n` longest-waiting tasks (fewer if fewer wait).
    ///
    /// # Tornado
    /// `Condition.notify(n=1)`.
    pub fn notify(&self, n: usize) {
        notify(&self.waiters, n);
    }

    /// Wakes every waiting task.
    ///
    /// # Tornado
    /// `Condition.notify_all()`.
    pub fn notify_all(&self) {
        notify(&self.waiters, usize::MAX);
    }
}

fn notify(waiters: &RefCell<WaitList>, n: usize) {
    let wakers: Vec<_> = {
        let mut waiters = waiters.borrow_mut();
        std::iter::from_fn(|| waiters.pop_front())
            .take(n)
            .filter_map(|(_, waker, ())| waker)
            .collect()
    };
    wake_all(wakers);
}

/// The future of [`Condition::wait`].
struct ConditionWait {
    id: u64,
    waiters: Rc<RefCell<WaitList>>,
    /// Set once the notification has been returned to the caller.
    returned: bool,
}

impl Future for ConditionWait {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.waiters.borrow_mut().register(self.id, cx.waker()) {
            return Poll::Pending;
        }
        self.returned = true;
        Poll::Ready(())
    }
}

impl Drop for ConditionWait {
    fn drop(&mut self) {
        if self.returned {
            return;
        }
        let was_waiting = self.waiters.borrow_mut().remove(self.id).is_some();
        if !was_waiting {
            // Notified, but nobody will see it: hand it on.
            notify(&self.waiters, 1);
        }
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("waiters", &self.waiters.borrow().len())
            .finish()
    }
}
