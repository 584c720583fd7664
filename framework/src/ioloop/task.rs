//! Tasks: `!Send` futures owned by one loop, and `Send` wakers that find them.
//!
//! A task lives in a slab slot. Its waker carries the slot index plus a unique
//! id, so a waker that outlives its task (or whose slot was reused) does nothing.
//! A `scheduled` flag makes many wakes before one poll cost one poll.

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use super::handle::Shared;
use super::Inner;

/// A spawned future with its output already routed to its [`Task`] handle.
pub(crate) type LocalFuture = Pin<Box<dyn Future<Output = ()>>>;

/// Names a task slot: the index and the id of the task that owns it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TaskRef {
    pub(crate) index: usize,
    pub(crate) id: u64,
}

/// One slot of the task slab.
pub(crate) struct Slot {
    pub(crate) id: u64,
    /// `None` while the task is being polled (it is moved out so the poll can
    /// spawn or abort tasks without a `RefCell` borrow held).
    pub(crate) future: Option<LocalFuture>,
    pub(crate) waker: Arc<TaskWaker>,
    /// Set by [`Task::abort`] when the task aborts itself mid-poll.
    pub(crate) aborted: bool,
}

/// The `Send` half of a task: what a `Waker` holds.
pub(crate) struct TaskWaker {
    pub(crate) task: TaskRef,
    /// True from a wake until the next poll begins.
    pub(crate) scheduled: AtomicBool,
    pub(crate) shared: Arc<Shared>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.scheduled.swap(true, Ordering::AcqRel) {
            return;
        }
        if !super::schedule_local(self.shared.loop_id, self.task) {
            self.shared.send(|inbox| inbox.tasks.push(self.task));
        }
    }
}

impl TaskWaker {
    pub(crate) fn waker(self: &Arc<Self>) -> Waker {
        Waker::from(self.clone())
    }
}

/// Why a [`Task`] produced no value.
#[derive(Debug)]
pub enum JoinError {
    /// [`Task::abort`] was called, or the loop was dropped, before the task finished.
    Cancelled,
    /// The task panicked; the payload's message if it had one.
    Panicked(String),
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Cancelled => f.write_str("task was cancelled"),
            JoinError::Panicked(msg) => write!(f, "task panicked: {msg}"),
        }
    }
}

impl std::error::Error for JoinError {}

/// Turns a panic payload into the message it carried.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// Where a task's output waits for its [`Task`] handle.
pub(crate) enum JoinState<T> {
    Running(Option<Waker>),
    Done(Result<T, JoinError>),
    Taken,
}

impl<T> JoinState<T> {
    /// Stores the outcome and wakes whoever awaits the handle.
    pub(crate) fn complete(cell: &RefCell<Self>, outcome: Result<T, JoinError>) {
        let previous = std::mem::replace(&mut *cell.borrow_mut(), JoinState::Done(outcome));
        if let JoinState::Running(Some(waker)) = previous {
            waker.wake();
        }
    }
}

/// A handle to a spawned task; awaiting it gives the task's output.
///
/// Dropping the handle detaches the task: it keeps running.
///
/// # Tornado
/// The `asyncio.Task` that `IOLoop.spawn_callback` / `asyncio.ensure_future`
/// create; [`abort`](Task::abort) is `Task.cancel()`.
pub struct Task<T> {
    pub(crate) task: TaskRef,
    pub(crate) state: Rc<RefCell<JoinState<T>>>,
    pub(crate) owner: Weak<Inner>,
}

impl<T> Task<T> {
    /// Cancels the task: its future is dropped (releasing what it holds) and
    /// awaiting this handle gives [`JoinError::Cancelled`]. No effect once the
    /// task has finished.
    ///
    /// # Tornado
    /// `Task.cancel()`.
    pub fn abort(&self) {
        if let Some(inner) = self.owner.upgrade() {
            inner.abort_task(self.task);
        }
    }

    /// True once the task has finished, been aborted or panicked.
    ///
    /// # Tornado
    /// `Task.done()`.
    pub fn is_finished(&self) -> bool {
        !matches!(*self.state.borrow(), JoinState::Running(_))
    }
}

impl<T> Future for Task<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.state.borrow_mut();
        match std::mem::replace(&mut *state, JoinState::Taken) {
            JoinState::Done(outcome) => Poll::Ready(outcome),
            JoinState::Running(_) => {
                *state = JoinState::Running(Some(cx.waker().clone()));
                Poll::Pending
            }
            JoinState::Taken => Poll::Ready(Err(JoinError::Cancelled)),
        }
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("index", &self.task.index)
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// A waker for a poll whose wake-up nobody needs: a look at whether a
/// future (or a stream) is ready now, without waiting.
pub(crate) fn noop_waker() -> Waker {
    struct NoopWake;
    impl Wake for NoopWake {
        fn wake(self: Arc<Self>) {}
    }
    Waker::from(Arc::new(NoopWake))
}
