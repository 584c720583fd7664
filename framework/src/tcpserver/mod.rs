//! A non-blocking TCP server: accept loops on the IOLoop, one task per connection.
//!
//! # Tornado
//! `tornado.tcpserver.TCPServer`. Instead of subclassing and overriding
//! `handle_stream`, implement [`StreamHandler`] (or pass a closure).
//! `start(n)` runs `n` threads, each with its own IOLoop and (with
//! `reuse_port`) its own listening socket: the analog of Tornado's
//! `fork_processes`.

mod accept;

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::rc::Rc;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use crate::ioloop::{IOLoop, IOLoopHandle, Task};
use crate::iostream::{IOStream, StreamOptions};
use crate::netutil::{bind_one, bind_sockets, DEFAULT_BACKLOG};

use accept::{accept_loop, Connections};

/// What a server does with each connection.
///
/// # Tornado
/// `TCPServer.handle_stream(stream, address)`, the method a subclass overrides.
/// The returned future need not be `Send`. Any closure
/// `Fn(IOStream, SocketAddr) -> impl Future<Output = ()>` is a `StreamHandler`.
pub trait StreamHandler: 'static {
    /// Serves one connection; the connection is counted as active until the
    /// returned future completes.
    ///
    /// # Tornado
    /// `TCPServer.handle_stream(stream, address)`.
    fn handle_stream(&self, stream: IOStream, address: SocketAddr) -> impl Future<Output = ()>;

    /// Called on each thread [`TCPServer::start`] created when the server
    /// stops, so the handler can wind down connections it keeps open while
    /// idle (the thread ends when its last connection does). Default: nothing.
    fn on_server_stop(&self) {}

    /// Called on each thread [`TCPServer::start`] created once connections
    /// still open after a shutdown's grace period must close, busy or not
    /// (see [`TCPServer::close_workers_after`]). Default: nothing.
    fn on_server_close_now(&self) {}
}

impl<F, Fut> StreamHandler for F
where
    F: Fn(IOStream, SocketAddr) -> Fut + 'static,
    Fut: Future<Output = ()>,
{
    fn handle_stream(&self, stream: IOStream, address: SocketAddr) -> impl Future<Output = ()> {
        self(stream, address)
    }
}

/// A TCP server.
///
/// ```no_run
/// use tornado::ioloop::IOLoop;
/// use tornado::tcpserver::TCPServer;
///
/// let server = TCPServer::new(|stream: tornado::iostream::IOStream, _addr| async move {
///     while let Ok(line) = stream.read_until(b"\n", None).await {
///         if stream.write(line).is_err() || stream.flush().await.is_err() {
///             break;
///         }
///     }
/// });
/// server.listen(9888, "").unwrap();
/// IOLoop::current().start().unwrap();
/// ```
///
/// # Tornado
/// `tornado.tcpserver.TCPServer(ssl_options=None, max_buffer_size=None,
/// read_chunk_size=None)`, without `ssl_options` (no TLS); see the [module
/// docs](self).
pub struct TCPServer<H> {
    handler: Rc<H>,
    options: StreamOptions,
    /// Accept loops running on this thread's loop.
    accepting: RefCell<Vec<Task<()>>>,
    connections: Rc<Connections>,
    /// Sockets from [`bind`](TCPServer::bind), waiting for [`start`](TCPServer::start).
    pending: RefCell<Option<Bound>>,
    workers: RefCell<Vec<Worker>>,
}

/// What `bind` recorded, so each worker thread can bind its own socket.
#[derive(Debug)]
struct Bound {
    sockets: Vec<TcpListener>,
    backlog: i32,
    reuse_port: bool,
}

/// A thread started by [`TCPServer::start`].
#[derive(Debug)]
struct Worker {
    ioloop: IOLoopHandle,
    thread: Option<thread::JoinHandle<()>>,
}

impl<H: StreamHandler> TCPServer<H> {
    /// A server that passes each connection to `handler`, with default stream limits.
    ///
    /// # Tornado
    /// `TCPServer()` with `handle_stream` overridden.
    pub fn new(handler: H) -> TCPServer<H> {
        TCPServer::with_options(handler, StreamOptions::default())
    }

    /// A server whose connections get the given limits.
    ///
    /// # Tornado
    /// `TCPServer(max_buffer_size=..., read_chunk_size=...)`.
    pub fn with_options(handler: H, options: StreamOptions) -> TCPServer<H> {
        TCPServer {
            handler: Rc::new(handler),
            options,
            accepting: Default::default(),
            connections: Rc::new(Connections::default()),
            pending: Default::default(),
            workers: Default::default(),
        }
    }

    /// Binds `port` on `address` (`""`: all interfaces) and starts accepting
    /// on the current thread's loop. Returns the bound addresses (useful with
    /// port 0).
    ///
    /// # Tornado
    /// `TCPServer.listen(port, address="")`.
    pub fn listen(&self, port: u16, address: &str) -> io::Result<Vec<SocketAddr>> {
        let sockets = bind_sockets(port, address, DEFAULT_BACKLOG, false)?;
        let addrs = sockets
            .iter()
            .map(TcpListener::local_addr)
            .collect::<io::Result<_>>()?;
        self.add_sockets(sockets)?;
        Ok(addrs)
    }

    /// Starts accepting on already-bound listening sockets, on the current
    /// thread's loop.
    ///
    /// # Tornado
    /// `TCPServer.add_sockets(sockets)`.
    pub fn add_sockets(&self, sockets: Vec<TcpListener>) -> io::Result<()> {
        let ioloop = IOLoop::try_current()?;
        for socket in sockets {
            socket.set_nonblocking(true)?;
            let listener = mio::net::TcpListener::from_std(socket);
            let task = ioloop.spawn(accept_loop(
                listener,
                self.handler.clone(),
                self.options,
                self.connections.clone(),
            ));
            self.accepting.borrow_mut().push(task);
        }
        Ok(())
    }

    /// Starts accepting on one already-bound socket.
    ///
    /// # Tornado
    /// `TCPServer.add_socket(socket)`.
    pub fn add_socket(&self, socket: TcpListener) -> io::Result<()> {
        self.add_sockets(vec![socket])
    }

    /// Binds the listening sockets, to be served once [`start`](TCPServer::start)
    /// is called. Returns the bound addresses.
    ///
    /// With `reuse_port`, each thread `start` runs gets its own socket on the
    /// same port (`SO_REUSEPORT`), and the kernel spreads connections between
    /// them; without it, the threads share one socket.
    ///
    /// # Tornado
    /// `TCPServer.bind(port, address=None, family=AF_UNSPEC, backlog=128, reuse_port=False)`.
    pub fn bind(
        &self,
        port: u16,
        address: &str,
        backlog: i32,
        reuse_port: bool,
    ) -> io::Result<Vec<SocketAddr>> {
        let sockets = bind_sockets(port, address, backlog, reuse_port)?;
        let addrs = sockets
            .iter()
            .map(TcpListener::local_addr)
            .collect::<io::Result<_>>()?;
        *self.pending.borrow_mut() = Some(Bound {
            sockets,
            backlog,
            reuse_port,
        });
        Ok(addrs)
    }

    /// Number of connections whose handler is running on this thread.
    pub fn active_connections(&self) -> usize {
        self.connections.active()
    }

    /// Stops accepting new connections, on this thread and every thread
    /// [`start`](TCPServer::start) created. Connections in progress go on;
    /// each worker thread ends once its last connection does.
    ///
    /// # Tornado
    /// `TCPServer.stop()`.
    pub fn stop(&self) {
        let accepting = std::mem::take(&mut *self.accepting.borrow_mut());
        for task in accepting {
            task.abort(); // drops the listening socket, closing it
        }
        drop(self.pending.borrow_mut().take());
        for worker in self.workers.borrow().iter() {
            worker.ioloop.add_callback(stop_worker);
        }
    }

    /// On every thread [`start`](TCPServer::start) created, has the handler
    /// close what is still open `grace` from now
    /// ([`StreamHandler::on_server_close_now`]), and, once the server is
    /// [stopped](TCPServer::stop), stops the thread's loop `grace` after that
    /// whatever is still running (dropping it), so a connection that cannot
    /// finish (a client that stopped reading, a handler that sleeps on) does
    /// not keep its thread, and [`join_workers`](TCPServer::join_workers),
    /// waiting forever.
    pub fn close_workers_after(&self, grace: Duration) {
        for worker in self.workers.borrow().iter() {
            worker.ioloop.add_callback(move || {
                IOLoop::current().call_later(grace, move || {
                    close_worker_now();
                    IOLoop::current().call_later(grace, stop_stopped_worker);
                });
            });
        }
    }

    /// Waits for the worker threads to end (after [`stop`](TCPServer::stop)
    /// and their last connection).
    pub fn join_workers(&self) {
        let workers = std::mem::take(&mut *self.workers.borrow_mut());
        for mut worker in workers {
            if let Some(thread) = worker.thread.take() {
                if thread.join().is_err() {
                    log::error!(target: "tornado.general", "TCPServer worker thread panicked");
                }
            }
        }
    }
}

thread_local! {
    /// The server a worker thread runs, so `stop` can reach it there.
    static WORKER: RefCell<Option<Box<dyn WorkerControl>>> = const { RefCell::new(None) };
}

/// What `stop` needs of a worker thread's server, without knowing its handler type.
trait WorkerControl {
    fn stop_when_idle(&self);
    fn close_now(&self);
    fn stopping(&self) -> bool;
}

impl<H: StreamHandler> WorkerControl for TCPServer<H> {
    fn stop_when_idle(&self) {
        let accepting = std::mem::take(&mut *self.accepting.borrow_mut());
        for task in accepting {
            task.abort();
        }
        self.handler.on_server_stop();
        self.connections.stop_loop_when_idle();
    }

    fn close_now(&self) {
        self.handler.on_server_close_now();
    }

    fn stopping(&self) -> bool {
        self.connections.stopping()
    }
}

fn close_worker_now() {
    WORKER.with(|worker| {
        if let Some(server) = &*worker.borrow() {
            server.close_now();
        }
    });
}

/// Ends a worker thread's loop if its server was stopped (not one that
/// only closed its connections and serves on).
fn stop_stopped_worker() {
    WORKER.with(|worker| {
        if let Some(server) = &*worker.borrow() {
            if server.stopping() {
                IOLoop::current().stop();
            }
        }
    });
}

fn stop_worker() {
    WORKER.with(|worker| {
        if let Some(server) = &*worker.borrow() {
            server.stop_when_idle();
        }
    });
}

impl<H: StreamHandler + Clone + Send> TCPServer<H> {
    /// Serves the sockets from [`bind`](TCPServer::bind) on `n` threads
    /// (`0`: one per CPU core): this thread (whose loop the caller then
    /// starts, as in Tornado) plus `n - 1` new threads, each running its own
    /// IOLoop with its own clone of the handler.
    ///
    /// # Tornado
    /// `TCPServer.start(num_processes=1)`, with threads instead of forked processes.
    pub fn start(&self, n: usize) -> io::Result<()> {
        let Some(bound) = self.pending.borrow_mut().take() else {
            return Err(io::Error::other("TCPServer.start called before bind"));
        };
        let n = match n {
            0 => thread::available_parallelism().map_or(1, usize::from),
            n => n,
        };
        for index in 1..n {
            let sockets = worker_sockets(&bound)?;
            self.workers
                .borrow_mut()
                .push(self.spawn_worker(index, sockets)?);
        }
        self.add_sockets(bound.sockets)
    }

    fn spawn_worker(&self, index: usize, sockets: Vec<TcpListener>) -> io::Result<Worker> {
        let handler = (*self.handler).clone();
        let options = self.options;
        let (ready_tx, ready_rx) = mpsc::channel();
        let thread = thread::Builder::new()
            .name(format!("tornado-worker-{index}"))
            .spawn(move || {
                let started = IOLoop::try_current().and_then(|ioloop| {
                    let server = TCPServer::with_options(handler, options);
                    server.add_sockets(sockets)?;
                    WORKER.with(|worker| *worker.borrow_mut() = Some(Box::new(server)));
                    Ok(ioloop)
                });
                let ioloop = match started {
                    Ok(ioloop) => {
                        let _ = ready_tx.send(Ok(ioloop.handle()));
                        ioloop
                    }
                    Err(err) => {
                        let _ = ready_tx.send(Err(err));
                        return;
                    }
                };
                if let Err(err) = ioloop.start() {
                    log::error!(target: "tornado.general", "Worker IOLoop failed: {err}");
                }
                WORKER.with(|worker| drop(worker.borrow_mut().take()));
            })?;
        let ioloop = ready_rx
            .recv()
            .map_err(|_| io::Error::other("worker thread ended before starting"))??;
        Ok(Worker {
            ioloop,
            thread: Some(thread),
        })
    }
}

/// The sockets one worker thread listens on: its own `SO_REUSEPORT` sockets
/// on the same addresses, or clones of the shared ones.
fn worker_sockets(bound: &Bound) -> io::Result<Vec<TcpListener>> {
    if !bound.reuse_port {
        return bound.sockets.iter().map(TcpListener::try_clone).collect();
    }
    bound
        .sockets
        .iter()
        .map(|socket| bind_one(socket.local_addr()?, bound.backlog, true))
        .collect()
}

impl<H> fmt::Debug for TCPServer<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TCPServer")
            .field("listening", &self.accepting.borrow().len())
            .field("active_connections", &self.connections.active())
            .field("workers", &self.workers.borrow().len())
            .finish()
    }
}
