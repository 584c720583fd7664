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
        if self.inner.watcher.borrow().is_some() || self.inner.direct_reads.get() {
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

/// While no read is under way and nothing is buffered, reads what arrives
/// into the read buffer (one chunk, for the next read), and so sees the peer
/// close or fail, which closes the stream and schedules its close callback.
/// As in Tornado, it does not look while bytes wait in the buffer: the
/// kernel's window, not our memory, holds back a peer that keeps sending.
/// Ends when the stream closes or is dropped, or once something reads the
/// socket directly.
async fn watch(stream: Weak<Inner>) {
    poll_fn(|cx| {
        let Some(inner) = stream.upgrade() else {
            return Poll::Ready(());
        };
        let stream = IOStream { inner };
        if stream.closed() || stream.inner.direct_reads.get() {
            return Poll::Ready(());
        }
        *stream.inner.watcher_waker.borrow_mut() = Some(cx.waker().clone());
        // A read under way notices a close itself; the end of any read
        // wakes us to look again.
        if stream.inner.reading.get() || !stream.inner.read_buffer.borrow().is_empty() {
            return Poll::Pending;
        }
        match stream.poll_fill(cx) {
            Poll::Ready(Err(_)) => Poll::Ready(()),
            Poll::Ready(Ok(())) | Poll::Pending => Poll::Pending,
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
