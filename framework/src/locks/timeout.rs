//! Tornado's `timeout=` argument: a timer that starts at the call.
//!
//! [`gen::with_deadline`](crate::gen::with_deadline) starts its timer when
//! first polled and acts only when polled, so a waiter whose future sits
//! unpolled past its deadline would stay in line and could take a
//! notification meant for the next one. Tornado's waiters time out on their
//! own (`io_loop.add_timeout(timeout, on_timeout)`), so this one does too: the
//! loop's timer takes the waiter out of line at the deadline, whether or not
//! anybody is polling it.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::gen::TimeoutError;
use crate::ioloop::{noop_waker, IOLoop, TimeoutHandle, WeakIOLoop};

/// `future`'s output, or [`TimeoutError`] once `timeout` (from now) passes.
///
/// At the deadline the current loop's timer polls `future` once: if it is
/// done (notified, handed an item) it keeps its result, as a resolved Tornado
/// future does; otherwise it is dropped, which takes it out of its line and
/// passes on anything it held. A timeout too large to add to `Instant::now()`
/// means no timeout.
pub(crate) fn timeout_from_now<F>(timeout: Duration, future: F) -> Timeout<F>
where
    F: Future + 'static,
{
    let state = Rc::new(RefCell::new(State::Waiting {
        future: Box::pin(future),
        waker: None,
    }));
    let timer = Instant::now().checked_add(timeout).map(|deadline| {
        let ioloop = IOLoop::current();
        let weak = Rc::downgrade(&state);
        let handle = ioloop.call_at(deadline, move || expire(&weak));
        (ioloop.downgrade(), handle)
    });
    Timeout { state, timer }
}

/// The future of [`timeout_from_now`]. Fused: once it has returned, it stays pending.
pub(crate) struct Timeout<F: Future> {
    state: Rc<RefCell<State<F>>>,
    /// The deadline's timer, removed when the future finishes or is dropped.
    /// The loop is held weakly: a task waiting here lives in the loop, and a
    /// strong handle would keep a dropped loop (its descriptors, its tasks)
    /// alive in a cycle, as `Sleep` and `PeriodicCallback` avoid too.
    timer: Option<(WeakIOLoop, TimeoutHandle)>,
}

enum State<F: Future> {
    Waiting {
        future: Pin<Box<F>>,
        waker: Option<Waker>,
    },
    /// The outcome, until the first poll after it takes it.
    Finished(Option<Result<F::Output, TimeoutError>>),
}

/// The deadline's timer callback.
fn expire<F: Future>(state: &Weak<RefCell<State<F>>>) {
    let Some(state) = state.upgrade() else {
        return;
    };
    let previous = std::mem::replace(&mut *state.borrow_mut(), State::Finished(None));
    let State::Waiting { mut future, waker } = previous else {
        *state.borrow_mut() = previous;
        return;
    };
    let noop = noop_waker();
    let outcome = match future.as_mut().poll(&mut Context::from_waker(&noop)) {
        Poll::Ready(output) => Ok(output),
        Poll::Pending => Err(TimeoutError),
    };
    // Dropped with no borrow held: leaving a line may wake other waiters.
    drop(future);
    *state.borrow_mut() = State::Finished(Some(outcome));
    if let Some(waker) = waker {
        waker.wake();
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, TimeoutError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let outcome = {
            let mut state = this.state.borrow_mut();
            match &mut *state {
                State::Waiting { future, waker } => match future.as_mut().poll(cx) {
                    Poll::Ready(output) => Ok(output),
                    Poll::Pending => {
                        *waker = Some(cx.waker().clone());
                        return Poll::Pending;
                    }
                },
                State::Finished(outcome) => match outcome.take() {
                    Some(outcome) => outcome,
                    None => return Poll::Pending,
                },
            }
        };
        *this.state.borrow_mut() = State::Finished(None);
        this.cancel_timer();
        Poll::Ready(outcome)
    }
}

impl<F: Future> Timeout<F> {
    fn cancel_timer(&mut self) {
        if let Some((ioloop, handle)) = self.timer.take() {
            if let Some(ioloop) = ioloop.upgrade() {
                ioloop.remove_timeout(handle);
            }
        }
    }
}

impl<F: Future> Drop for Timeout<F> {
    fn drop(&mut self) {
        self.cancel_timer();
    }
}
