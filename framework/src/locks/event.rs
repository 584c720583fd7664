//! [`Event`]: a flag that tasks can wait on.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::timeout_from_now;
use super::waiters::{wake_all, WaitList};
use crate::gen::TimeoutError;

/// An event blocks tasks until its internal flag is set.
///
/// Once set, [`wait`](Event::wait) does not block until the event is
/// [`clear`](Event::clear)ed again. Clones share one flag.
///
/// Native, not tokio: tokio has no event that can be cleared (`Notify` does
/// not latch; a `watch` channel has no waiter line to time out of).
///
/// # Tornado
/// `tornado.locks.Event()`: `is_set()`, `set()`, `clear()`, `wait(timeout=None)`.
///
/// ```
/// use tornado::ioloop::IOLoop;
/// use tornado::locks::Event;
///
/// let ioloop = IOLoop::current();
/// let order = ioloop
///     .run_sync(async {
///         let event = Event::new();
///         let waiter = IOLoop::current().spawn({
///             let event = event.clone();
///             async move {
///                 event.wait().await;
///                 "waited"
///             }
///         });
///         event.set();
///         event.wait().await; // set: does not block
///         waiter.await.unwrap()
///     })
///     .unwrap();
/// assert_eq!(order, "waited");
/// ```
#[derive(Clone, Default)]
pub struct Event {
    state: Rc<RefCell<EventState>>,
}

#[derive(Default)]
struct EventState {
    is_set: bool,
    /// Futures that called `wait` while the flag was clear.
    waiters: WaitList,
}

impl Event {
    /// A new event, clear.
    ///
    /// # Tornado
    /// `tornado.locks.Event()`.
    pub fn new() -> Event {
        Event::default()
    }

    /// True if the flag is set.
    ///
    /// # Tornado
    /// `Event.is_set()`.
    pub fn is_set(&self) -> bool {
        self.state.borrow().is_set
    }

    /// Sets the flag and wakes every waiter. A later [`wait`](Event::wait)
    /// does not block.
    ///
    /// # Tornado
    /// `Event.set()`.
    pub fn set(&self) {
        let wakers: Vec<_> = {
            let mut state = self.state.borrow_mut();
            state.is_set = true;
            std::iter::from_fn(|| state.waiters.pop_front())
                .filter_map(|(_, waker, ())| waker)
                .collect()
        };
        wake_all(wakers);
    }

    /// Clears the flag: [`wait`](Event::wait) blocks until the next
    /// [`set`](Event::set). Waiters already woken by a `set` stay woken.
    ///
    /// # Tornado
    /// `Event.clear()`.
    pub fn clear(&self) {
        self.state.borrow_mut().is_set = false;
    }

    /// Waits until the flag is set; done at once if it is set now.
    ///
    /// # Tornado
    /// `await event.wait()`.
    pub fn wait(&self) -> impl Future<Output = ()> {
        let mut state = self.state.borrow_mut();
        let id = if state.is_set {
            None
        } else {
            Some(state.waiters.push(()))
        };
        EventWait {
            id,
            state: self.state.clone(),
        }
    }

    /// [`wait`](Event::wait), failing with [`TimeoutError`] if the flag is not
    /// set within `timeout`.
    ///
    /// # Tornado
    /// `await event.wait(timeout=timedelta(...))`, which raises `TimeoutError`.
    pub fn wait_timeout(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), TimeoutError>> {
        timeout_from_now(timeout, self.wait())
    }
}

/// The future of [`Event::wait`].
struct EventWait {
    /// `None` if the flag was set at the call.
    id: Option<u64>,
    state: Rc<RefCell<EventState>>,
}

impl Future for EventWait {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.id {
            Some(id) if self.state.borrow_mut().waiters.register(id, cx.waker()) => Poll::Pending,
            _ => Poll::Ready(()),
        }
    }
}

impl Drop for EventWait {
    fn drop(&mut self) {
        // `set` wakes everyone, so a woken waiter has nothing to pass on.
        if let Some(id) = self.id {
            self.state.borrow_mut().waiters.remove(id);
        }
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("Event")
            .field("set", &state.is_set)
            .field("waiters", &state.waiters.len())
            .finish()
    }
}
