//! [`WaitForClose`]: a future that resolves when a connection closes, for a
//! handler that waits on something else (a long poll) and must stop when
//! its client leaves.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::HTTP1Connection;

/// Resolves when the connection closes: the client went away (or the
/// server closed it). Never resolves without a connection.
///
/// It is `'static` (it holds its own handle on the connection), so it can
/// be raced against other work while the handler keeps using its context.
/// Dropping it before it resolves takes it out of the connection's list of
/// waiters.
///
/// # Tornado
/// What `on_connection_close` is for while a coroutine is suspended: Tornado
/// calls that method in the middle of the `await`; here the method itself
/// waits for this (see [`Handler::wait_for_close`](crate::web::Handler::wait_for_close)).
#[derive(Debug)]
#[must_use = "a future does nothing unless awaited"]
pub struct WaitForClose {
    conn: Option<HTTP1Connection>,
    /// Its place in the connection's waiters, once polled while open.
    id: Option<u64>,
}

impl WaitForClose {
    pub(crate) fn new(conn: Option<HTTP1Connection>) -> WaitForClose {
        WaitForClose { conn, id: None }
    }
}

impl Future for WaitForClose {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let Some(conn) = &this.conn else {
            return Poll::Pending;
        };
        let mut waiters = conn.shared.close_waiters.borrow_mut();
        if conn.closed() {
            if let Some(id) = this.id.take() {
                waiters.remove(id);
            }
            return Poll::Ready(());
        }
        let id = *this.id.get_or_insert_with(|| waiters.push(()));
        if waiters.register(id, cx.waker()) {
            Poll::Pending
        } else {
            // Taken out of the line by `wake_close_waiters`: closed.
            this.id = None;
            Poll::Ready(())
        }
    }
}

impl Drop for WaitForClose {
    fn drop(&mut self) {
        if let (Some(conn), Some(id)) = (&self.conn, self.id) {
            // Not while the list is borrowed (a drop inside another waiter's
            // removal): the entry then stays, and the close wakes a waker
            // nobody waits on.
            if let Ok(mut waiters) = conn.shared.close_waiters.try_borrow_mut() {
                waiters.remove(id);
            }
        }
    }
}

impl HTTP1Connection {
    /// A future that resolves when this connection closes.
    ///
    /// # Tornado
    /// Tornado has a close callback instead
    /// ([`set_close_callback`](HTTP1Connection::set_close_callback) here).
    pub fn wait_for_close(&self) -> WaitForClose {
        WaitForClose::new(Some(self.clone()))
    }

    /// Wakes every [`WaitForClose`] of this connection (it has closed).
    pub(super) fn wake_close_waiters(&self) {
        loop {
            // The borrow ends before the wake: a waker may run code that
            // polls a waiter of this connection again.
            let next = self.shared.close_waiters.borrow_mut().pop_front();
            let Some((_, waker, ())) = next else {
                break;
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}
