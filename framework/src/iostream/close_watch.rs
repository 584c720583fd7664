//! Noticing the peer's close while nothing reads, so that a close callback
//! runs for an idle stream too: Tornado's `_maybe_add_error_listener`, which
//! listens for reads whenever a close callback is set and no read is
//! pending.

use std::future::poll_fn;
use std::rc::{Rc, Weak};
use std::task::Poll;

use super::{IOStream, Inner};
use crate::ioloop::IOLoop;

impl IOStream {
    /// Starts the stream's watcher, once: a task on the current loop that
    /// holds the stream weakly and is aborted when the stream goes.
    pub(super) fn watch_for_close(&self) {
        if self.inner.watcher.borrow().is_some() {
            return;
        }
        let task = IOLoop::current().spawn(watch(Rc::downgrade(&self.inner)));
        *self.inner.watcher.borrow_mut() = Some(task);
    }

    /// Has the watcher look again: a read has ended, or the stream closed.
    pub(super) fn wake_watcher(&self) {
        if let Some(waker) = &*self.inner.watcher_waker.borrow() {
            waker.wake_by_ref();
        }
    }
}

/// While no read is under way, reads what arrives into the read buffer (for
/// the next read; bounded by `max_buffer_size` as a read is) until the peer
/// closes or fails, which closes the stream and so schedules its close
/// callback. Ends when the stream closes or is dropped.
async fn watch(stream: Weak<Inner>) {
    poll_fn(|cx| {
        let Some(inner) = stream.upgrade() else {
            return Poll::Ready(());
        };
        let stream = IOStream { inner };
        if stream.closed() {
            return Poll::Ready(());
        }
        *stream.inner.watcher_waker.borrow_mut() = Some(cx.waker().clone());
        if stream.inner.reading.get() {
            // That read notices a close itself; its end wakes us.
            return Poll::Pending;
        }
        loop {
            match stream.poll_fill(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(_)) => return Poll::Ready(()),
                Poll::Pending => return Poll::Pending,
            }
        }
    })
    .await;
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(watcher) = self.watcher.get_mut().take() {
            watcher.abort();
        }
    }
}
