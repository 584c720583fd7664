//! A non-blocking HTTP/1.1 server.
//!
//! # Tornado
//! `tornado.httpserver.HTTPServer`: the same options (as
//! [`HTTPServerSettings`] fields), `listen`, `bind` + `start(n)`, `stop` and
//! `close_all_connections`. The delegate is an
//! [`HTTPServerConnectionDelegate`] (what `web::Application` is), or any
//! closure taking an [`HTTPServerRequest`](crate::httputil::HTTPServerRequest) (Tornado's `request_callback`).

mod callback;
mod connections;
mod xheaders;

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::http1connection::{serve_connection, HTTP1Connection, HTTP1ConnectionParameters};
use crate::httputil::HTTPServerConnectionDelegate;
use crate::iostream::{IOStream, StreamOptions};
use crate::tcpserver::{StreamHandler, TCPServer};

pub use callback::CallbackMessage;
use connections::Connections;
use xheaders::{ProxyAdapter, ProxyTrust};

static NEXT_SERVER_ID: AtomicU64 = AtomicU64::new(1);

/// The server's options, named as Tornado names its keyword arguments.
///
/// ```
/// use std::time::Duration;
/// use tornado::httpserver::HTTPServerSettings;
///
/// let settings = HTTPServerSettings {
///     xheaders: true,
///     max_body_size: Some(10 * 1024 * 1024),
///     idle_connection_timeout: Some(Duration::from_secs(60)),
///     ..HTTPServerSettings::default()
/// };
/// assert!(!settings.no_keep_alive);
/// ```
///
/// # Tornado
/// `HTTPServer(request_callback, no_keep_alive=False, xheaders=False,
/// decompress_request=False, chunk_size=None, max_header_size=None,
/// idle_connection_timeout=None, body_timeout=None, max_body_size=None,
/// max_buffer_size=None, trusted_downstream=None)`. `header_timeout` is ours
/// (Tornado reuses `idle_connection_timeout` there); `ssl_options` and
/// `protocol` are not ported (no TLS).
#[derive(Debug, Clone)]
pub struct HTTPServerSettings {
    /// Trust `X-Real-Ip`/`X-Forwarded-For` and `X-Scheme`/`X-Forwarded-Proto`
    /// (set this behind a reverse proxy such as nginx).
    pub xheaders: bool,
    /// Proxies to skip when reading `X-Forwarded-For` from the right.
    pub trusted_downstream: Vec<String>,
    /// Close the connection after each response.
    pub no_keep_alive: bool,
    /// Decompress gzip request bodies.
    pub decompress_request: bool,
    /// Largest body chunk passed to `data_received`. Default 64 KiB.
    pub chunk_size: usize,
    /// Largest request head (431 past it). Default 64 KiB.
    pub max_header_size: usize,
    /// How long a keep-alive connection may sit idle. Default one hour.
    pub idle_connection_timeout: Option<Duration>,
    /// How long a request head may take once started (408 past it). Default 60 s.
    pub header_timeout: Option<Duration>,
    /// How long a request body may take. Default none.
    pub body_timeout: Option<Duration>,
    /// Largest request body (413 past it). `None` (the default):
    /// `max_buffer_size`, as in Tornado.
    pub max_body_size: Option<u64>,
    /// Largest read buffer of a connection's stream, and the body limit
    /// when `max_body_size` is not set. Default 100 MiB.
    pub max_buffer_size: usize,
}

impl Default for HTTPServerSettings {
    fn default() -> Self {
        let params = HTTP1ConnectionParameters::default();
        HTTPServerSettings {
            xheaders: false,
            trusted_downstream: Vec::new(),
            no_keep_alive: params.no_keep_alive,
            decompress_request: params.decompress,
            chunk_size: params.chunk_size,
            max_header_size: params.max_header_size,
            idle_connection_timeout: params.idle_connection_timeout,
            header_timeout: params.header_timeout,
            body_timeout: params.body_timeout,
            max_body_size: None,
            max_buffer_size: crate::iostream::DEFAULT_MAX_BUFFER_SIZE,
        }
    }
}

impl HTTPServerSettings {
    fn params(&self) -> HTTP1ConnectionParameters {
        HTTP1ConnectionParameters {
            no_keep_alive: self.no_keep_alive,
            chunk_size: self.chunk_size.max(1),
            max_header_size: self.max_header_size,
            header_timeout: self.header_timeout,
            idle_connection_timeout: self.idle_connection_timeout,
            // Tornado's `HTTP1Connection`: `max_body_size or
            // stream.max_buffer_size`.
            max_body_size: self
                .max_body_size
                .unwrap_or(u64::try_from(self.max_buffer_size).unwrap_or(u64::MAX)),
            body_timeout: self.body_timeout,
            decompress: self.decompress_request,
        }
    }
}

/// What each accepted connection runs: the HTTP serving loop for the delegate.
///
/// `Clone + Send` when the delegate is, so `start(n)` can put a copy on every thread.
///
/// # Tornado
/// `HTTPServer.handle_stream(stream, address)`, which starts an
/// `HTTP1ServerConnection` on each stream.
#[derive(Clone)]
pub struct ServeHTTP<D> {
    delegate: D,
    settings: Arc<HTTPServerSettings>,
    params: Arc<HTTP1ConnectionParameters>,
    /// With `xheaders`: which proxies to believe.
    trust: Option<Arc<ProxyTrust>>,
    id: u64,
}

impl<D: HTTPServerConnectionDelegate + 'static> StreamHandler for ServeHTTP<D> {
    async fn handle_stream(&self, stream: IOStream, address: SocketAddr) {
        let connections = Connections::of_server(self.id);
        let connection = HTTP1Connection::new(stream, address, (*self.params).clone());
        let (key, tracked) = connections.open(connection.clone());
        let _open = OpenConnection {
            connections,
            key,
            connection: connection.clone(),
        };
        if let Some(trust) = &self.trust {
            let delegate = WithProxy {
                inner: &self.delegate,
                trust,
            };
            serve_connection(connection, &delegate, &tracked.control).await;
        } else {
            serve_connection(connection, &self.delegate, &tracked.control).await;
        }
    }

    fn on_server_stop(&self) {
        Connections::of_server(self.id).close_all();
    }

    fn on_server_close_now(&self) {
        Connections::of_server(self.id).close_streams();
    }
}

/// A served connection, closed and no longer tracked however serving it
/// ends: returning, unwinding from a delegate's panic (which the loop
/// catches and logs), or its task being dropped. Without this, a panic left
/// the socket open with nothing reading it, and `close_all_connections`
/// waiting for it forever (Tornado closes it in a `finally`).
struct OpenConnection {
    connections: Rc<Connections>,
    key: usize,
    connection: HTTP1Connection,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.connection.close_abandoned();
        self.connections.close(self.key);
    }
}

/// Wraps the delegate so every request's message goes through `xheaders`.
struct WithProxy<'a, D> {
    inner: &'a D,
    trust: &'a Arc<ProxyTrust>,
}

impl<D: HTTPServerConnectionDelegate> HTTPServerConnectionDelegate for WithProxy<'_, D> {
    type Message = ProxyAdapter<D::Message>;

    fn start_request(&self, connection: &HTTP1Connection) -> Self::Message {
        ProxyAdapter {
            inner: self.inner.start_request(connection),
            connection: connection.clone(),
            trust: self.trust.clone(),
        }
    }

    fn on_close(&self, connection: &HTTP1Connection) {
        self.inner.on_close(connection);
    }
}

/// An HTTP server for a delegate (a `web::Application`, or a closure taking
/// an [`HTTPServerRequest`](crate::httputil::HTTPServerRequest)).
///
/// ```no_run
/// use tornado::httpserver::HTTPServer;
/// use tornado::httputil::{HTTPHeaders, HTTPServerRequest};
/// use tornado::ioloop::IOLoop;
///
/// let server = HTTPServer::new(|request: HTTPServerRequest| async move {
///     let Some(conn) = request.connection else { return };
///     let body = format!("You requested {}\n", request.path);
///     let mut headers = HTTPHeaders::new();
///     headers.set("Content-Length", body.len().to_string());
///     let _ = conn.write_headers(200, "", &headers, Some(body.as_bytes()));
///     let _ = conn.finish();
/// });
/// server.listen(8888, "").unwrap();
/// IOLoop::current().start().unwrap();
/// ```
///
/// # Tornado
/// `tornado.httpserver.HTTPServer(request_callback, **kwargs)`; see the
/// [module docs](self).
pub struct HTTPServer<D> {
    tcp: TCPServer<ServeHTTP<D>>,
    id: u64,
}

impl<D: HTTPServerConnectionDelegate + 'static> HTTPServer<D> {
    /// A server with default settings.
    ///
    /// # Tornado
    /// `HTTPServer(request_callback)`.
    pub fn new(delegate: D) -> HTTPServer<D> {
        HTTPServer::with_settings(delegate, HTTPServerSettings::default())
    }

    /// A server with the given settings.
    ///
    /// # Tornado
    /// `HTTPServer(request_callback, no_keep_alive=..., xheaders=..., ...)`.
    pub fn with_settings(delegate: D, settings: HTTPServerSettings) -> HTTPServer<D> {
        let id = NEXT_SERVER_ID.fetch_add(1, Ordering::Relaxed);
        let options = StreamOptions {
            max_buffer_size: settings.max_buffer_size,
            read_chunk_size: settings.chunk_size.max(1),
            max_write_buffer_size: None,
        };
        let trust = settings.xheaders.then(|| {
            Arc::new(ProxyTrust {
                trusted_downstream: settings.trusted_downstream.clone(),
            })
        });
        let serve = ServeHTTP {
            delegate,
            trust,
            params: Arc::new(settings.params()),
            settings: Arc::new(settings),
            id,
        };
        HTTPServer {
            tcp: TCPServer::with_options(serve, options),
            id,
        }
    }

    /// Listens on `port` at `address` (`""`: all interfaces) on this thread's
    /// loop; returns the bound addresses.
    ///
    /// # Tornado
    /// `HTTPServer.listen(port, address="")`.
    pub fn listen(&self, port: u16, address: &str) -> io::Result<Vec<SocketAddr>> {
        self.tcp.listen(port, address)
    }

    /// Serves already-bound sockets on this thread's loop.
    ///
    /// # Tornado
    /// `HTTPServer.add_sockets(sockets)`.
    pub fn add_sockets(&self, sockets: Vec<TcpListener>) -> io::Result<()> {
        self.tcp.add_sockets(sockets)
    }

    /// Binds sockets for [`start`](HTTPServer::start).
    ///
    /// # Tornado
    /// `HTTPServer.bind(port, address, backlog=128, reuse_port=False)`.
    pub fn bind(
        &self,
        port: u16,
        address: &str,
        backlog: i32,
        reuse_port: bool,
    ) -> io::Result<Vec<SocketAddr>> {
        self.tcp.bind(port, address, backlog, reuse_port)
    }

    /// Stops accepting connections. Requests in progress go on. On the
    /// threads `start(n)` created, idle keep-alive connections are closed too
    /// (so those threads can end); on this thread, that is
    /// [`close_all_connections`](HTTPServer::close_all_connections)'s job.
    ///
    /// # Tornado
    /// `HTTPServer.stop()`.
    pub fn stop(&self) {
        self.tcp.stop();
    }

    /// Closes this thread's connections: idle ones at once, busy ones after
    /// their current response (sent with `Connection: close` where it is not
    /// yet started). Resolves when all are closed.
    ///
    /// # Tornado
    /// `HTTPServer.close_all_connections()`. Tornado closes busy connections
    /// at once; here in-flight requests are allowed to finish.
    pub async fn close_all_connections(&self) {
        let connections = Connections::of_server(self.id);
        connections.close_all();
        connections.wait_drained().await;
        connections.end_closing();
    }

    /// [`close_all_connections`](HTTPServer::close_all_connections), giving
    /// requests in flight at most `grace` to finish; then every remaining
    /// connection is closed as Tornado closes them, so a client that stopped
    /// reading its response (or sending its body) cannot hold the shutdown
    /// up. Resolves when all of this thread's requests have ended, or at the
    /// latest `grace` after that close: a handler still busy then (sleeping,
    /// computing) is left running, as Tornado leaves its coroutine, and is
    /// dropped with its loop. The threads [`start`](HTTPServer::start)
    /// created close theirs after `grace` too and stop at the latest `grace`
    /// later (after [`stop`](HTTPServer::stop) they end with their last
    /// connection), so [`join_workers`](HTTPServer::join_workers) returns.
    ///
    /// # Tornado
    /// `HTTPServer.close_all_connections()` after a grace period.
    pub async fn close_all_connections_within(&self, grace: Duration) {
        self.tcp.close_workers_after(grace);
        let connections = Connections::of_server(self.id);
        connections.close_all();
        if !connections.drained_within(grace).await {
            log::info!(target: "tornado.general",
                "Closing {} connections of this thread still busy after {grace:?}",
                connections.len()
            );
            connections.close_streams();
            // Handlers that were waiting on their connection end now; one
            // busy elsewhere is not waited for past another `grace`.
            if !connections.drained_within(grace).await {
                log::info!(target: "tornado.general",
                    "{} handlers still running {grace:?} after their connections closed",
                    connections.len()
                );
            }
        }
        connections.end_closing();
    }

    /// Closes every connection of this thread at once, busy or not, as
    /// Tornado's `close_all_connections` closes their streams: what a test
    /// teardown wants, where a handler still waiting must not hold it up.
    /// The handlers still running are dropped with their loop.
    pub(crate) fn close_all_connections_now(&self) {
        let connections = Connections::of_server(self.id);
        connections.close_all();
        connections.close_streams();
    }

    /// Number of open connections on this thread.
    pub fn open_connections(&self) -> usize {
        Connections::of_server(self.id).len()
    }
}

impl<D: HTTPServerConnectionDelegate + Clone + Send + 'static> HTTPServer<D> {
    /// Serves the bound sockets on `n` threads (`0`: one per core), each with
    /// its own loop and its own copy of the delegate; this thread is one of
    /// them, and its loop is started by the caller.
    ///
    /// # Tornado
    /// `HTTPServer.start(num_processes)`, with threads instead of processes.
    pub fn start(&self, n: usize) -> io::Result<()> {
        self.tcp.start(n)
    }

    /// Waits for the threads `start` created to end (after `stop`).
    pub fn join_workers(&self) {
        self.tcp.join_workers();
    }
}

impl<D> fmt::Debug for HTTPServer<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HTTPServer")
            .field("id", &self.id)
            .field("tcp", &self.tcp)
            .finish()
    }
}

impl<D> fmt::Debug for ServeHTTP<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServeHTTP")
            .field("id", &self.id)
            .field("settings", &self.settings)
            .finish()
    }
}
