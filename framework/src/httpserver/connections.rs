//! The connections one server serves on one thread, for graceful shutdown.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use slab::Slab;

use crate::gen::with_timeout;
use crate::http1connection::{ConnectionControl, HTTP1Connection};
use crate::locks::Event;

/// One open connection, as the server tracks it.
#[derive(Debug)]
pub(crate) struct Tracked {
    pub(crate) control: ConnectionControl,
    pub(crate) connection: HTTP1Connection,
}

/// The open connections of one server on one thread.
#[derive(Debug, Default)]
pub(crate) struct Connections {
    open: RefCell<Slab<Rc<Tracked>>>,
    /// The `close_all` calls not yet ended by `end_closing` (several may
    /// wait at once): while any is, a connection that comes in is closed
    /// too, as Tornado's `close_all_connections` closes connections until
    /// none is left (one accepted just before `stop` starts serving an
    /// iteration later).
    closing: Cell<usize>,
    /// Set whenever the last connection closes.
    drained: Event,
}

thread_local! {
    /// Each server's connections on this thread, by server id. A server's
    /// delegate is cloned onto every thread `start(n)` runs; the connections
    /// it serves there stay there.
    static BY_SERVER: RefCell<HashMap<u64, Rc<Connections>>> = RefCell::new(HashMap::new());
}

impl Connections {
    /// The connections of server `id` on this thread.
    pub(crate) fn of_server(id: u64) -> Rc<Connections> {
        BY_SERVER.with(|all| all.borrow_mut().entry(id).or_default().clone())
    }

    /// Starts tracking a connection; returns its key and control block.
    pub(crate) fn open(&self, connection: HTTP1Connection) -> (usize, Rc<Tracked>) {
        let tracked = Rc::new(Tracked {
            control: ConnectionControl::default(),
            connection,
        });
        if self.closing.get() > 0 {
            tracked.control.closing.set(true);
            tracked.connection.disable_keep_alive();
        }
        if self.open.borrow().is_empty() {
            self.drained.clear();
        }
        let key = self.open.borrow_mut().insert(tracked.clone());
        (key, tracked)
    }

    /// Stops tracking a connection.
    pub(crate) fn close(&self, key: usize) {
        let removed = self.open.borrow_mut().try_remove(key);
        drop(removed);
        if self.open.borrow().is_empty() {
            self.drained.set();
        }
    }

    /// Number of open connections.
    pub(crate) fn len(&self) -> usize {
        self.open.borrow().len()
    }

    /// Closes idle connections now and has busy ones close after their
    /// current response; so are those that come in until
    /// [`end_closing`](Self::end_closing).
    pub(crate) fn close_all(&self) {
        self.closing.set(self.closing.get().saturating_add(1));
        let open: Vec<Rc<Tracked>> = self.open.borrow().iter().map(|(_, t)| t.clone()).collect();
        for tracked in open {
            tracked.control.closing.set(true);
            if tracked.control.idle.get() {
                tracked.connection.stream().close();
            } else {
                tracked.connection.disable_keep_alive();
            }
        }
    }

    /// Ends what one `close_all` began: once every one has ended, a server
    /// still (or again) listening serves its next connections as usual.
    pub(crate) fn end_closing(&self) {
        self.closing.set(self.closing.get().saturating_sub(1));
    }

    /// Closes every connection's stream, busy or not (what Tornado's
    /// `close_all_connections` does at once): a response being written to
    /// a client that stopped reading, or a body that stopped arriving,
    /// fails now, and its request ends.
    pub(crate) fn close_streams(&self) {
        let open: Vec<Rc<Tracked>> = self.open.borrow().iter().map(|(_, t)| t.clone()).collect();
        for tracked in open {
            tracked.connection.close_abandoned();
        }
    }

    /// Resolves once no connection is open.
    pub(crate) async fn wait_drained(&self) {
        if self.len() == 0 {
            return;
        }
        self.drained.wait().await;
    }

    /// Waits at most `grace` for no connection to be open; whether none is.
    pub(crate) async fn drained_within(&self, grace: Duration) -> bool {
        with_timeout(grace, self.wait_drained()).await.is_ok()
    }
}
