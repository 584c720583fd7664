//! The one part of a loop other threads may touch: a queue of callbacks and of
//! woken tasks, and the `mio::Waker` that interrupts the loop's `poll`.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::task::TaskRef;

/// A callback sent from another thread.
pub(crate) type SendCallback = Box<dyn FnOnce() + Send>;

/// Work handed to the loop from outside its thread.
#[derive(Default)]
pub(crate) struct Inbox {
    pub(crate) callbacks: Vec<SendCallback>,
    pub(crate) tasks: Vec<TaskRef>,
    /// An [`IOLoopHandle::stop`] arrived.
    pub(crate) stop: bool,
    /// The loop is gone; nothing more is accepted.
    closed: bool,
}

/// State shared between a loop and every [`IOLoopHandle`] and task waker.
pub(crate) struct Shared {
    /// Unique per loop: a waker compares it with the current thread's loop to
    /// decide between the local run queue and this inbox.
    pub(crate) loop_id: u64,
    inbox: Mutex<Inbox>,
    /// Set by the first sender after the loop last emptied the inbox; later
    /// senders skip the wake syscall. Cleared by the loop before it drains.
    notified: AtomicBool,
    waker: mio::Waker,
}

impl Shared {
    pub(crate) fn new(loop_id: u64, waker: mio::Waker) -> Self {
        Shared {
            loop_id,
            inbox: Mutex::new(Inbox::default()),
            notified: AtomicBool::new(false),
            waker,
        }
    }

    /// Queues work for the loop and wakes it if it may be asleep.
    pub(crate) fn send(&self, push: impl FnOnce(&mut Inbox)) -> bool {
        {
            // A panic while the lock was held cannot leave the queue half-updated
            // (a Vec push either happened or not), so a poisoned lock is still usable.
            let mut inbox = self.inbox.lock().unwrap_or_else(PoisonError::into_inner);
            // Checked under the lock, so nothing is queued after `close` emptied it.
            if inbox.closed {
                return false;
            }
            push(&mut inbox);
        }
        if !self.notified.swap(true, Ordering::AcqRel) {
            if let Err(err) = self.waker.wake() {
                log::error!(target: "tornado.general", "IOLoop wake failed: {err}");
            }
        }
        true
    }

    /// Takes everything queued since the last call, if anything was.
    pub(crate) fn drain(&self) -> Option<Inbox> {
        if !self.notified.swap(false, Ordering::AcqRel) {
            return None;
        }
        let mut inbox = self.inbox.lock().unwrap_or_else(PoisonError::into_inner);
        Some(std::mem::take(&mut *inbox))
    }

    /// Refuses all later sends and returns what was queued, to be dropped.
    pub(crate) fn close(&self) -> Inbox {
        let mut inbox = self.inbox.lock().unwrap_or_else(PoisonError::into_inner);
        let taken = std::mem::take(&mut *inbox);
        inbox.closed = true;
        taken
    }
}

/// A `Send + Clone` handle to an [`IOLoop`](super::IOLoop), for other threads.
///
/// # Tornado
/// `IOLoop.add_callback`, which the docs describe as "the **only** method in
/// `IOLoop` that makes this thread-safety guarantee". Here the guarantee is in
/// the type: [`IOLoop`](super::IOLoop) is `!Send`, and this handle is the only
/// way in from another thread.
///
/// # Contract
/// A callback sent here runs on the loop's thread, on a later iteration, in the
/// order sent. If the loop has been dropped, it is dropped unrun.
#[derive(Clone)]
pub struct IOLoopHandle {
    pub(crate) shared: Arc<Shared>,
}

impl IOLoopHandle {
    /// Runs `callback` on the loop's thread at its next iteration, waking the
    /// loop if it is waiting in `poll`. Returns `false` if the loop is gone.
    /// Called on the loop's own thread, it queues the callback after those
    /// [`IOLoop::add_callback`](super::IOLoop::add_callback) queued before.
    ///
    /// # Tornado
    /// `IOLoop.add_callback(callback)`, from any thread.
    pub fn add_callback(&self, callback: impl FnOnce() + Send + 'static) -> bool {
        match super::add_callback_local(self.shared.loop_id, Box::new(callback)) {
            Ok(()) => true,
            Err(callback) => self.shared.send(|inbox| inbox.callbacks.push(callback)),
        }
    }

    /// Asks the loop to stop after its current iteration (see
    /// [`IOLoop::stop`](super::IOLoop::stop)). Returns `false` if the loop is gone.
    ///
    /// # Tornado
    /// `io_loop.add_callback(io_loop.stop)`, the thread-safe way to stop a
    /// Tornado loop.
    pub fn stop(&self) -> bool {
        self.shared.send(|inbox| inbox.stop = true)
    }
}

impl fmt::Debug for IOLoopHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IOLoopHandle")
            .field("loop_id", &self.shared.loop_id)
            .finish()
    }
}
