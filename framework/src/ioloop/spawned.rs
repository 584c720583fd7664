//! The wrapper every spawned future runs in: it routes the output (or a panic)
//! to the task's [`Task`](super::Task) handle.

use std::cell::RefCell;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::task::{panic_message, JoinError, JoinState};

/// Marks the join state cancelled if the task is dropped before it finished
/// (aborted, or its loop dropped).
pub(crate) struct CancelOnDrop<T>(pub(crate) Rc<RefCell<JoinState<T>>>);

impl<T> Drop for CancelOnDrop<T> {
    fn drop(&mut self) {
        if matches!(*self.0.borrow(), JoinState::Running(_)) {
            JoinState::complete(&self.0, Err(JoinError::Cancelled));
        }
    }
}

/// Runs `work`, turning a panic inside it into an `Err` with the panic's
/// message: [`CatchUnwind`] for code that does not wait.
pub(crate) fn catch_panic<R>(work: impl FnOnce() -> R) -> Result<R, String> {
    catch_unwind(AssertUnwindSafe(work)).map_err(|payload| panic_message(payload.as_ref()))
}

pin_project_lite::pin_project! {
    /// Polls a future, turning a panic inside it into an `Err` with the panic's
    /// message, so one failing piece of user code ends only itself.
    pub(crate) struct CatchUnwind<F> {
        #[pin]
        future: F,
    }
}

impl<F> CatchUnwind<F> {
    pub(crate) fn new(future: F) -> Self {
        CatchUnwind { future }
    }
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, String>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = self.project().future;
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Err(payload) => Poll::Ready(Err(panic_message(payload.as_ref()))),
        }
    }
}

pin_project_lite::pin_project! {
    /// A user future plus where its output goes.
    pub(crate) struct Spawned<F: Future> {
        #[pin]
        pub(crate) future: CatchUnwind<F>,
        pub(crate) state: CancelOnDrop<F::Output>,
    }
}

impl<F: Future> Future for Spawned<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        // A panicking task must not take the loop down with it: the panic ends
        // this task only, and its handle reports it.
        let outcome = match this.future.poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(value)) => Ok(value),
            Poll::Ready(Err(message)) => {
                log::error!(target: "tornado.application", "Exception in IOLoop task: {message}");
                Err(JoinError::Panicked(message))
            }
        };
        JoinState::complete(&this.state.0, outcome);
        Poll::Ready(())
    }
}
