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

pin_project_lite::pin_project! {
    /// A user future plus where its output goes.
    pub(crate) struct Spawned<F: Future> {
        #[pin]
        pub(crate) future: F,
        pub(crate) state: CancelOnDrop<F::Output>,
    }
}

impl<F: Future> Future for Spawned<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        // A panicking task must not take the loop down with it: the panic ends
        // this task only, and its handle reports it.
        let outcome = match catch_unwind(AssertUnwindSafe(|| this.future.poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(value)) => Ok(value),
            Err(payload) => {
                let message = panic_message(payload.as_ref());
                log::error!("Exception in IOLoop task: {message}");
                Err(JoinError::Panicked(message))
            }
        };
        JoinState::complete(&this.state.0, outcome);
        Poll::Ready(())
    }
}
