//! The accept loop: one task per listening socket.

use std::cell::Cell;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use mio::net::TcpListener;
use mio::Interest;

use super::StreamHandler;
use crate::gen::{moment, sleep};
use crate::ioloop::reactor::{Direction, Registration};
use crate::ioloop::IOLoop;
use crate::iostream::{IOStream, StreamOptions};

/// First pause after running out of descriptors or memory; doubles up to
/// [`MAX_BACKOFF`] while accepting keeps failing.
const MIN_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Connections accepted in a row before yielding, so a flood of new
/// connections cannot starve the ones already open (Tornado accepts up to
/// its backlog per event for the same reason).
const ACCEPT_BUDGET: usize = 128;

/// Connections in progress on one thread, and what to do when they end.
#[derive(Debug, Default)]
pub(crate) struct Connections {
    active: Cell<usize>,
    /// Set on worker threads once the server stops: the thread's loop ends
    /// when the last connection does.
    stop_loop_when_idle: Cell<bool>,
}

impl Connections {
    pub(crate) fn active(&self) -> usize {
        self.active.get()
    }

    /// Whether the server stopped (its worker thread ends when idle).
    pub(crate) fn stopping(&self) -> bool {
        self.stop_loop_when_idle.get()
    }

    pub(crate) fn stop_loop_when_idle(&self) {
        self.stop_loop_when_idle.set(true);
        self.maybe_stop_loop();
    }

    fn maybe_stop_loop(&self) {
        if self.stop_loop_when_idle.get() && self.active.get() == 0 {
            // Called from `Counted::drop`: no loop is created, and none is
            // found while the thread is being torn down (a panic there aborts).
            if let Some(ioloop) = IOLoop::existing() {
                ioloop.stop();
            }
        }
    }
}

/// Counts a connection for as long as its handler runs (even if it panics
/// or is aborted).
struct Counted(Rc<Connections>);

impl Counted {
    fn new(connections: &Rc<Connections>) -> Counted {
        connections.active.set(connections.active.get() + 1);
        Counted(connections.clone())
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.active.set(self.0.active.get().saturating_sub(1));
        self.0.maybe_stop_loop();
    }
}

/// Accepts connections on `listener` forever, spawning `handler.handle_stream`
/// for each. Ends (closing the socket) when its task is aborted.
pub(crate) async fn accept_loop<H: StreamHandler>(
    mut listener: TcpListener,
    handler: Rc<H>,
    options: StreamOptions,
    connections: Rc<Connections>,
) {
    let registration = match Registration::with_interest(&mut listener, Interest::READABLE) {
        Ok(registration) => registration,
        Err(err) => {
            log::error!(target: "tornado.general", "Cannot register listening socket: {err}");
            return;
        }
    };
    let ioloop = IOLoop::current();
    let mut backoff = MIN_BACKOFF;
    let mut accepted_in_a_row = 0;
    loop {
        let accepted =
            poll_fn(|cx| registration.poll_io(cx, Direction::Read, || listener.accept())).await;
        match accepted {
            Ok((socket, address)) => {
                backoff = MIN_BACKOFF;
                start_connection(&ioloop, socket, address, &handler, options, &connections);
                accepted_in_a_row += 1;
                if accepted_in_a_row >= ACCEPT_BUDGET {
                    accepted_in_a_row = 0;
                    moment().await;
                }
            }
            Err(err) if is_transient(&err) => {
                // The peer gave up before we accepted it: nothing to do.
            }
            Err(err) => {
                // Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM)
                // or worse: the listener stays readable, so retrying at once
                // would spin. Pause, keep serving the open connections, retry.
                log::warn!(target: "tornado.general", "Error accepting connection ({err}); retrying in {backoff:?}");
                accepted_in_a_row = 0;
                sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

fn is_transient(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    ) || err.raw_os_error() == Some(libc::EPROTO)
}

fn start_connection<H: StreamHandler>(
    ioloop: &IOLoop,
    socket: mio::net::TcpStream,
    address: SocketAddr,
    handler: &Rc<H>,
    options: StreamOptions,
    connections: &Rc<Connections>,
) {
    let stream = match IOStream::with_options(socket, options) {
        Ok(stream) => stream,
        Err(err) => {
            log::warn!(target: "tornado.general", "Cannot register connection from {address}: {err}");
            return;
        }
    };
    let counted = Counted::new(connections);
    let handler = handler.clone();
    ioloop.spawn(async move {
        let _counted = counted;
        handler.handle_stream(stream, address).await;
    });
}
