//! Readiness tracking for sockets registered with a loop's `mio::Poll`.
//!
//! mio is edge-triggered: after an event, the operation must be retried until it
//! returns `WouldBlock`, or no further event is promised. So each source keeps a
//! readiness flag per direction: set by an event (or at registration, so the
//! first attempt always tries), cleared only when an operation hits
//! `WouldBlock`. Readiness is a hint: spurious events happen and cost one
//! `WouldBlock`.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use mio::event::{Event, Source};
use mio::{Interest, Token};

use super::{IOLoop, WeakIOLoop};

/// A direction of readiness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

/// What the loop knows about one registered source.
#[derive(Default)]
pub(crate) struct ScheduledIo {
    readable: Cell<bool>,
    writable: Cell<bool>,
    /// The peer has closed its side (or the socket failed): final, and what
    /// a drained read must not forget (see [`Registration::poll_read`]).
    read_closed: Cell<bool>,
    read_waker: RefCell<Option<Waker>>,
    write_waker: RefCell<Option<Waker>>,
}

impl ScheduledIo {
    fn new_ready() -> Self {
        let io = ScheduledIo::default();
        io.readable.set(true);
        io.writable.set(true);
        io
    }

    /// Records a poll event and wakes the tasks waiting for it.
    pub(crate) fn dispatch(&self, event: &Event) {
        // A closed or failed socket must wake both sides: the next read or write
        // is what reports the EOF or the error.
        let failed = event.is_error();
        if event.is_read_closed() || failed {
            self.read_closed.set(true);
        }
        if event.is_readable() || event.is_read_closed() || failed {
            self.readable.set(true);
            wake(&self.read_waker);
        }
        if event.is_writable() || event.is_write_closed() || failed {
            self.writable.set(true);
            wake(&self.write_waker);
        }
    }

    fn flag(&self, dir: Direction) -> &Cell<bool> {
        match dir {
            Direction::Read => &self.readable,
            Direction::Write => &self.writable,
        }
    }

    fn waker_slot(&self, dir: Direction) -> &RefCell<Option<Waker>> {
        match dir {
            Direction::Read => &self.read_waker,
            Direction::Write => &self.write_waker,
        }
    }
}

fn wake(slot: &RefCell<Option<Waker>>) {
    let waker = slot.borrow_mut().take();
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// A source's registration with the current loop; deregisters on drop.
///
/// Only one task may wait per direction at a time (the last one to poll wins),
/// which is how `IOStream` uses it: one reader, one writer.
pub(crate) struct Registration {
    token: Token,
    io: Rc<ScheduledIo>,
    /// Weak: the loop owns the task that owns this registration.
    ioloop: WeakIOLoop,
}

impl Registration {
    /// Registers `source` with the current thread's loop for reads and writes.
    pub(crate) fn new(source: &mut impl Source) -> io::Result<Self> {
        Self::with_interest(source, Interest::READABLE | Interest::WRITABLE)
    }

    /// Registers `source` for the given interest.
    pub(crate) fn with_interest(source: &mut impl Source, interest: Interest) -> io::Result<Self> {
        let ioloop = IOLoop::try_current()?;
        let io = Rc::new(ScheduledIo::new_ready());
        let token = Token(ioloop.inner.sources.borrow_mut().insert(io.clone()));
        if let Err(err) = ioloop.inner.registry.register(source, token, interest) {
            ioloop.inner.sources.borrow_mut().remove(token.0);
            return Err(err);
        }
        Ok(Registration {
            token,
            io,
            ioloop: ioloop.downgrade(),
        })
    }

    /// Ready if the last event for `dir` has not yet been consumed by a
    /// `WouldBlock`; otherwise remembers the waker and waits.
    pub(crate) fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<()> {
        if self.io.flag(dir).get() {
            return Poll::Ready(());
        }
        let mut slot = self.io.waker_slot(dir).borrow_mut();
        match &*slot {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Runs `op` when `dir` is ready, clearing readiness on `WouldBlock` and
    /// retrying `Interrupted`, until `op` gives a result or it must wait.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            if self.poll_ready(cx, dir).is_pending() {
                return Poll::Pending;
            }
            match op() {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    self.io.flag(dir).set(false);
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                result => return Poll::Ready(result),
            }
        }
    }

    /// [`poll_io`](Self::poll_io) for a read of at most `len` bytes. A read
    /// that brought fewer drained the socket, so readiness is cleared at
    /// once: the next read waits for the next event instead of spending a
    /// system call on `WouldBlock`. (The poll is edge-triggered, and a
    /// single thread runs both, so bytes arriving after this read raise an
    /// event that the next poll delivers.) Not once the peer has closed:
    /// its EOF is still to be read and no further event would announce it.
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        len: usize,
        op: impl FnMut() -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let polled = self.poll_io(cx, Direction::Read, op);
        if let Poll::Ready(Ok(n)) = polled {
            if n > 0 && n < len && !self.io.read_closed.get() {
                self.io.flag(Direction::Read).set(false);
            }
        }
        polled
    }

    /// Ready once the peer has closed its side or the socket failed (as
    /// the reactor saw it, whether or not everything before it was read);
    /// otherwise waits for the next read event. For a reader that stopped
    /// reading (its buffer full) and must still notice a peer that left.
    pub(crate) fn poll_read_closed(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.io.read_closed.get() {
            return Poll::Ready(());
        }
        // Not `poll_ready`: the socket may well be readable (unread bytes),
        // and that readiness must stay for the reads to come. Every read
        // event wakes this waker; `read_closed` says whether it was the end.
        let mut slot = self.io.read_waker.borrow_mut();
        match &*slot {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Removes `source` from the poll set (before the owner closes it).
    /// The loop this source is registered with, while it exists (not once
    /// its teardown has begun).
    pub(crate) fn ioloop(&self) -> Option<super::IOLoop> {
        self.ioloop.upgrade()
    }

    pub(crate) fn deregister(&self, source: &mut impl Source) -> io::Result<()> {
        match self.ioloop.upgrade() {
            Some(ioloop) => ioloop.inner.registry.deregister(source),
            // The loop and its poll are gone; closing the socket is enough.
            None => Ok(()),
        }
    }

    /// Wakes whatever waits on this source, in both directions, e.g. so a
    /// reader notices that the stream was closed by another task.
    pub(crate) fn wake_all(&self) {
        self.io.readable.set(true);
        self.io.writable.set(true);
        wake(&self.io.read_waker);
        wake(&self.io.write_waker);
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(ioloop) = self.ioloop.upgrade() {
            let removed = ioloop.inner.sources.borrow_mut().try_remove(self.token.0);
            drop(removed);
        }
    }
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("token", &self.token.0)
            .finish()
    }
}
