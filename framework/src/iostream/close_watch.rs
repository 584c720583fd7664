//! Noticing the peer's close while nothing reads, so that a close callback
//! runs for an idle stream too: Tornado's `_maybe_add_error_listener`, which
//! listens for reads whenever a close callback is set and no read is
//! pending.

use std::future::poll_fn;
use std::rc::{Rc, Weak};
use std::task::{Poll, Waker};

use super::{IOStream, Inner};
use crate::ioloop::{IOLoop, Task};

/// A stream's close callback and its watcher: the task, and the waker
/// to have it look again.
pub(super) struct CloseWatch {
    callback: Option<Box<dyn FnOnce()>>,
    task: Option<Task<()>>,
    waker: Option<Waker>,
}

impl IOStream {
    /// Sets the close callback, and starts the stream's watcher once: a
    /// task on the current loop that holds the stream weakly and is
    /// aborted when the stream goes. (None on a stream read directly.)
    pub(super) fn watch_for_close(&self, callback: Box<dyn FnOnce()>) {
        let mut close_watch = self.inner.close_watch.borrow_mut();
        let watch = close_watch.get_or_insert_with(|| {
            Box::new(CloseWatch {
                callback: None,
                task: None,
                waker: None,
            })
        });
        watch.callback = Some(callback);
        if watch.task.is_none() && !self.inner.direct_reads.get() {
            watch.task = Some(IOLoop::current().spawn(watch_task(Rc::downgrade(&self.inner))));
        }
    }

    /// The close callback, taken out to be run (the watcher stays, to end).
    pub(super) fn take_close_callback(&self) -> Option<Box<dyn FnOnce()>> {
        (self.inner.close_watch.borrow_mut().as_mut()).and_then(|watch| watch.callback.take())
    }

    /// Has the watcher look again: a read has ended, or the stream closed.
    pub(super) fn wake_watcher(&self) {
        let close_watch = self.inner.close_watch.borrow();
        if let Some(waker) = close_watch.as_ref().and_then(|w| w.waker.as_ref()) {
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
async fn watch_task(stream: Weak<Inner>) {
    poll_fn(|cx| {
        let Some(inner) = stream.upgrade() else {
            return Poll::Ready(());
        };
        let stream = IOStream { inner };
        if stream.closed() || stream.inner.direct_reads.get() {
            return Poll::Ready(());
        }
        if let Some(watch) = &mut *stream.inner.close_watch.borrow_mut() {
            watch.waker = Some(cx.waker().clone());
        }
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
        if let Some(task) = self
            .close_watch
            .get_mut()
            .take()
            .and_then(|watch| watch.task)
        {
            task.abort();
        }
    }
}
