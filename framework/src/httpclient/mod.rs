//! A non-blocking HTTP/1.1 client on the IOLoop, and a blocking one.
//!
//! ```no_run
//! use tornado::httpclient::{AsyncHTTPClient, HTTPRequest};
//! use tornado::ioloop::IOLoop;
//!
//! IOLoop::current()
//!     .run_sync(async {
//!         let client = AsyncHTTPClient::current();
//!         match client.fetch("http://www.example.com/").await {
//!             Ok(response) => println!("{}", response.text()),
//!             Err(err) => println!("Error: {err}"),
//!         }
//!         let request = HTTPRequest::new("http://www.example.com/missing").raise_error(false);
//!         let response = client.fetch(request).await.unwrap();
//!         assert_eq!(response.code, 404);
//!     })
//!     .unwrap();
//! ```
//!
//! # Tornado
//!
//! `tornado.httpclient` with `simple_httpclient` as the implementation:
//! [`AsyncHTTPClient`], [`HTTPClient`], [`HTTPRequest`], [`HTTPResponse`],
//! [`HTTPClientError`]. Bytes are parsed by the pure client codec
//! ([`http1::ClientCodec`](crate::http1::ClientCodec)), the same rules and
//! body decoders the server uses.
//!
//! Deliberate differences from `simple_httpclient`: connections are kept
//! alive and reused (a pool per scheme, host and port; Tornado sends
//! `Connection: close`), and a reused connection the server closed meanwhile
//! is retried once on a new one (an idempotent request only: a POST is
//! never sent twice). A redirect to another origin drops the credentials
//! (`Authorization`, `auth`, `Cookie`) as Tornado does. The response is
//! read while the request body goes out, as in Tornado, and also while a
//! `body_producer` runs (Tornado reads only once it is done); what of the
//! body is unsent when the response ends is dropped. A `Location` that
//! is UTF-8 is read as UTF-8 (Tornado reads every value as Latin-1). Only
//! plain `http` for now: the stream sits behind
//! [`ClientStream`]/[`Connector`] so that TLS can be added.

mod connection;
mod request;
mod response;
mod stream;
mod url;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::io;
use std::rc::Rc;
use std::time::Instant;

use bytes::Bytes;

use crate::gen::with_deadline;
use crate::http1::{ClientCodec, Config};
use crate::httputil::{reason_phrase, HTTPHeaders};
use crate::ioloop::{IOLoop, WeakIOLoop};
use crate::iostream::DEFAULT_MAX_BUFFER_SIZE;
use crate::locks::Semaphore;

pub use connection::MAX_INFORMATIONAL;
use connection::{Connection, Exchanged, Prepared};

/// Hosts' worth of idle connections a client keeps at most (each host up to
/// `max_clients`).
const IDLE_HOSTS: usize = 4;

/// Most header fields in a response head (its size is bounded by
/// `max_header_size`).
const RESPONSE_MAX_HEADERS: usize = 1000;
pub use request::{BodyWriter, HTTPRequest, DEFAULT_MAX_REDIRECTS, DEFAULT_TIMEOUT};
pub use response::{HTTPClientError, HTTPResponse, MalformedResponse};
pub use stream::{ClientStream, Connector, LocalBoxFuture, TcpConnector};
use url::{base64_encode, percent_decode, urljoin, Url};

/// The `User-Agent` sent when the request sets none.
const DEFAULT_USER_AGENT: &str = concat!("tornado-rs/", env!("CARGO_PKG_VERSION"));

/// Tornado's `max_clients` default.
///
/// # Tornado
///
/// `SimpleAsyncHTTPClient.initialize(max_clients=10)`.
pub const DEFAULT_MAX_CLIENTS: usize = 10;

/// The client's limits.
///
/// # Tornado
///
/// `SimpleAsyncHTTPClient.initialize(max_clients=10,
/// max_buffer_size=104857600, max_header_size=None, max_body_size=None)`.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Most requests in flight at once; more wait in a FIFO queue (the wait
    /// counts against their timeouts). Also the most idle connections kept
    /// per host. Default 10.
    pub max_clients: usize,
    /// The body limit when `max_body_size` is `None`. Default 100 MiB.
    /// In Tornado it also bounds one read from the socket; reads here are
    /// at most 64 KiB.
    pub max_buffer_size: usize,
    /// Largest response head. Default 64 KiB.
    pub max_header_size: usize,
    /// Largest response body (decompressed), whether buffered in
    /// [`HTTPResponse::body`] or passed to a `streaming_callback`; `None`:
    /// `max_buffer_size`. A larger body fails the fetch with
    /// [`ParseError::ResponseBodyTooLarge`](crate::http1::ParseError::ResponseBodyTooLarge).
    pub max_body_size: Option<u64>,
}

impl Default for ClientConfig {
    fn default() -> ClientConfig {
        ClientConfig {
            max_clients: DEFAULT_MAX_CLIENTS,
            max_buffer_size: DEFAULT_MAX_BUFFER_SIZE,
            max_header_size: 64 * 1024,
            max_body_size: None,
        }
    }
}

/// Connections are pooled per scheme, host and port.
type PoolKey = (String, String, u16);

/// A non-blocking HTTP client. Cheap to clone (shared).
///
/// # Contract
///
/// Used on one IOLoop: its pooled connections are registered with the loop
/// that was current when they were opened. Many fetches may run at once
/// (spawned tasks); at most `max_clients` are in flight, the rest queue.
///
/// # Tornado
///
/// `tornado.httpclient.AsyncHTTPClient`: [`current`](Self::current) is
/// `AsyncHTTPClient()` (one shared instance per IOLoop), and
/// [`new`](Self::new) / [`with_config`](Self::with_config) are
/// `AsyncHTTPClient(force_instance=True, ...)`.
#[derive(Clone)]
pub struct AsyncHTTPClient {
    inner: Rc<Inner>,
}

struct Inner {
    config: ClientConfig,
    /// `max_clients` permits; a fetch holds one while in flight.
    slots: Semaphore,
    /// Idle keep-alive connections, most recently used last.
    idle: RefCell<HashMap<PoolKey, Vec<Rc<Connection>>>>,
    connector: Box<dyn Connector>,
    /// Connections opened so far.
    opened: Cell<u64>,
}

thread_local! {
    /// The shared client of each IOLoop on this thread ([`AsyncHTTPClient::current`]).
    static CURRENT: RefCell<Vec<(WeakIOLoop, AsyncHTTPClient)>> = const { RefCell::new(Vec::new()) };
}

impl Default for AsyncHTTPClient {
    fn default() -> AsyncHTTPClient {
        AsyncHTTPClient::new()
    }
}

impl AsyncHTTPClient {
    /// A new client with default limits, not shared.
    ///
    /// # Tornado
    ///
    /// `AsyncHTTPClient(force_instance=True)`.
    pub fn new() -> AsyncHTTPClient {
        AsyncHTTPClient::with_config(ClientConfig::default())
    }

    /// A new client with `config`.
    ///
    /// # Tornado
    ///
    /// `AsyncHTTPClient(force_instance=True, max_clients=..., ...)`.
    pub fn with_config(config: ClientConfig) -> AsyncHTTPClient {
        AsyncHTTPClient::with_connector(config, TcpConnector)
    }

    /// A new client whose connections `connector` opens (for TLS, or to
    /// map host names in tests, as Tornado's `hostname_mapping`).
    ///
    /// # Tornado
    ///
    /// `AsyncHTTPClient(force_instance=True, hostname_mapping=..., resolver=...)`.
    pub fn with_connector(
        config: ClientConfig,
        connector: impl Connector + 'static,
    ) -> AsyncHTTPClient {
        AsyncHTTPClient {
            inner: Rc::new(Inner {
                slots: Semaphore::new(config.max_clients.max(1)),
                config,
                idle: RefCell::new(HashMap::new()),
                connector: Box::new(connector),
                opened: Cell::new(0),
            }),
        }
    }

    /// The client shared by everything on the current IOLoop.
    ///
    /// # Tornado
    ///
    /// `AsyncHTTPClient()`, cached per IOLoop.
    pub fn current() -> AsyncHTTPClient {
        let ioloop = IOLoop::current();
        CURRENT.with(|current| {
            let mut current = current.borrow_mut();
            current.retain(|(weak, _)| weak.upgrade().is_some());
            let found = current.iter().find(|(weak, _)| {
                weak.upgrade()
                    .is_some_and(|l| Rc::ptr_eq(&l.inner, &ioloop.inner))
            });
            if let Some((_, client)) = found {
                return client.clone();
            }
            let client = AsyncHTTPClient::new();
            current.push((ioloop.downgrade(), client.clone()));
            client
        })
    }

    /// The client's limits.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// Closes the idle connections. Fetches in flight go on, and later
    /// fetches open new connections.
    ///
    /// # Tornado
    ///
    /// `AsyncHTTPClient.close()`.
    pub fn close(&self) {
        let idle = std::mem::take(&mut *self.inner.idle.borrow_mut());
        for connection in idle.into_values().flatten() {
            connection.stream.close();
        }
    }

    /// Number of idle keep-alive connections in the pool.
    pub fn idle_connections(&self) -> usize {
        self.inner.idle.borrow().values().map(Vec::len).sum()
    }

    /// Number of connections this client has opened.
    pub fn connections_opened(&self) -> u64 {
        self.inner.opened.get()
    }

    /// Fetches `request` (a URL or an [`HTTPRequest`]), following redirects.
    ///
    /// # Errors
    ///
    /// [`HTTPClientError::Http`] for a non-2xx final status when the
    /// request's `raise_error` is true (the default); the other variants for
    /// transport failures, whatever `raise_error` says.
    ///
    /// # Tornado
    ///
    /// `await AsyncHTTPClient().fetch(request, raise_error=True, **kwargs)`.
    pub async fn fetch(
        &self,
        request: impl Into<HTTPRequest>,
    ) -> Result<HTTPResponse, HTTPClientError> {
        let original = request.into();
        let start = Instant::now();
        let mut request = original.clone();
        loop {
            let (mut exchanged, url) = self.fetch_one(&request).await?;
            if let Some(location) = exchanged.redirect.take() {
                request = redirected(request, &url, exchanged.head.code(), &location);
                continue;
            }
            return self.response(original, request, exchanged, start);
        }
    }

    fn response(
        &self,
        original: HTTPRequest,
        last: HTTPRequest,
        exchanged: Exchanged,
        start: Instant,
    ) -> Result<HTTPResponse, HTTPClientError> {
        let Exchanged { mut head, body, .. } = exchanged;
        let code = head.code();
        let mut reason = head.reason();
        if reason.is_empty() {
            reason = reason_phrase(code).unwrap_or("Unknown").to_owned();
        }
        let mut response = HTTPResponse {
            request: original,
            code,
            reason: reason.clone(),
            headers: std::mem::take(head.headers_mut()),
            body,
            effective_url: last.url,
            request_time: start.elapsed(),
            start_time: start,
            error: None,
        };
        if !(200..300).contains(&code) {
            if last.raise_error {
                return Err(HTTPClientError::Http {
                    code,
                    message: reason,
                    response: Some(Box::new(response)),
                });
            }
            response.error = Some(HTTPClientError::Http {
                code,
                message: reason,
                response: None,
            });
        }
        Ok(response)
    }

    /// One hop: queue, connect (or reuse), exchange.
    async fn fetch_one(&self, request: &HTTPRequest) -> Result<(Exchanged, Url), HTTPClientError> {
        let start = Instant::now();
        let url = Url::parse(&request.url).map_err(HTTPClientError::InvalidRequest)?;
        check_method_and_body(request)?;
        let prepared = prepare(request, &url);
        let connect_timeout = match (request.connect_timeout, request.request_timeout) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let connect_deadline = connect_timeout.and_then(|t| start.checked_add(t));
        let request_deadline = request.request_timeout.and_then(|t| start.checked_add(t));
        let slot = self.inner.slots.acquire();
        let _slot = match connect_deadline {
            Some(deadline) => with_deadline(deadline, slot)
                .await
                .map_err(|_| HTTPClientError::Timeout("in request queue"))?,
            None => slot.await,
        };
        let key: PoolKey = (url.scheme.clone(), url.host.clone(), url.port);
        let limit = self.body_limit();
        loop {
            let (connection, reused) = match self.take_idle(&key) {
                Some(connection) => (connection, true),
                None => (self.connect(&url, connect_deadline).await?, false),
            };
            let exchange = connection.exchange(request, &prepared, limit);
            let result = match request_deadline {
                Some(deadline) => match with_deadline(deadline, exchange).await {
                    Ok(result) => result,
                    Err(_) => {
                        connection.stream.close();
                        return Err(HTTPClientError::Timeout("during request"));
                    }
                },
                None => exchange.await,
            };
            match result {
                Ok(exchanged) => {
                    if exchanged.reusable {
                        self.put_idle(key, connection);
                    } else {
                        connection.stream.close();
                    }
                    return Ok((exchanged, url));
                }
                Err(failed) => {
                    connection.stream.close();
                    if !(reused && failed.retryable) {
                        return Err(failed.error);
                    }
                    log::debug!(target: "tornado.general", "retrying on a new connection: {}", failed.error);
                }
            }
        }
    }

    /// The response body limit. As Tornado's `HTTP1Connection` has it:
    /// `max_body_size`, or the stream's `max_buffer_size` when unset (which
    /// otherwise bounds a read, not the body: its `MaxBufferSizeTest`).
    fn body_limit(&self) -> u64 {
        let config = &self.inner.config;
        config
            .max_body_size
            .unwrap_or(config.max_buffer_size as u64)
    }

    async fn connect(
        &self,
        url: &Url,
        deadline: Option<Instant>,
    ) -> Result<Rc<Connection>, HTTPClientError> {
        let connecting = self
            .inner
            .connector
            .connect(&url.scheme, &url.host, url.port);
        let stream = match deadline {
            Some(deadline) => with_deadline(deadline, connecting)
                .await
                .map_err(|_| HTTPClientError::Timeout("while connecting"))?,
            None => connecting.await,
        }
        .map_err(HTTPClientError::Connect)?;
        self.inner.opened.set(self.inner.opened.get() + 1);
        let config = Config {
            max_header_size: self.inner.config.max_header_size,
            max_body_size: self.inner.config.max_body_size.unwrap_or(u64::MAX),
            // Tornado limits a response head by size only; a server's 150
            // Set-Cookie lines are an answer, not an attack.
            max_headers: RESPONSE_MAX_HEADERS,
            ..Config::default()
        };
        Ok(Rc::new(Connection::new(stream, ClientCodec::new(config))))
    }

    /// An idle connection to `key` that is still quiet: one on which
    /// anything arrived since its last response (stray bytes, which would
    /// be read as the next response, or the server's close) is closed.
    /// The pool is not borrowed while a stream is polled or closed (a
    /// `ClientStream` may be the caller's own code).
    fn take_idle(&self, key: &PoolKey) -> Option<Rc<Connection>> {
        loop {
            let connection = {
                let mut idle = self.inner.idle.borrow_mut();
                let connections = idle.get_mut(key)?;
                let connection = connections.pop();
                if connections.is_empty() {
                    idle.remove(key);
                }
                connection?
            };
            if connection.is_quiet() {
                return Some(connection);
            }
            connection.stream.close();
        }
    }

    /// Keeps `connection` for reuse: at most `max_clients` per host, and
    /// `max_clients` times [`IDLE_HOSTS`] in all, so a client that visits
    /// many hosts holds a bounded number of sockets (and pool entries).
    fn put_idle(&self, key: PoolKey, connection: Rc<Connection>) {
        let per_host = self.inner.config.max_clients.max(1);
        let refused = {
            let mut idle = self.inner.idle.borrow_mut();
            let total: usize = idle.values().map(Vec::len).sum();
            let for_host = idle.get(&key).map_or(0, Vec::len);
            if for_host < per_host && total < per_host.saturating_mul(IDLE_HOSTS) {
                idle.entry(key).or_default().push(connection);
                None
            } else {
                Some(connection)
            }
        };
        if let Some(connection) = refused {
            connection.stream.close();
        }
    }
}

impl fmt::Debug for AsyncHTTPClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncHTTPClient")
            .field("config", &self.inner.config)
            .field("idle", &self.idle_connections())
            .field("opened", &self.inner.opened.get())
            .finish()
    }
}

/// Tornado's method and body checks (`ValueError` there).
fn check_method_and_body(request: &HTTPRequest) -> Result<(), HTTPClientError> {
    if request.allow_nonstandard_methods {
        return Ok(());
    }
    let method = request.method.as_str();
    if !matches!(
        method,
        "GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "PATCH" | "OPTIONS"
    ) {
        return Err(HTTPClientError::InvalidRequest(format!(
            "unknown method {method}"
        )));
    }
    let body_expected = matches!(method, "POST" | "PATCH" | "PUT");
    let body_present = request.body.is_some() || request.body_producer.is_some();
    if body_expected != body_present {
        return Err(HTTPClientError::InvalidRequest(format!(
            "Body must {}be None for method {method} (unless allow_nonstandard_methods is true)",
            if body_expected { "not " } else { "" }
        )));
    }
    Ok(())
}

/// The request's header fields plus the ones the client adds.
///
/// # Tornado
///
/// `_HTTPConnection._on_connect`: `Host`, `Authorization` (URL userinfo
/// first, then `auth_username`), `User-Agent`, `Expect`, `Content-Length`,
/// a default `Content-Type` for POST, and `Accept-Encoding: gzip`.
fn prepare(request: &HTTPRequest, url: &Url) -> Prepared {
    let mut headers = HTTPHeaders::with_capacity(request.headers.len() + 6);
    if !request.headers.contains("Host") {
        headers.add("Host", url.netloc.clone());
    }
    headers.extend(
        request
            .headers
            .iter()
            .map(|(n, v)| (Bytes::copy_from_slice(n), Bytes::copy_from_slice(v))),
    );
    let credentials = match &url.userinfo {
        Some(userinfo) => {
            let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            Some((percent_decode(user), percent_decode(password)))
        }
        None => request
            .auth_username
            .clone()
            .map(|user| (user, request.auth_password.clone().unwrap_or_default())),
    };
    if let Some((user, password)) = credentials {
        let token = base64_encode(format!("{user}:{password}").as_bytes());
        headers.set("Authorization", format!("Basic {token}"));
    }
    match &request.user_agent {
        Some(agent) => headers.set("User-Agent", agent.clone()),
        None if !headers.contains("User-Agent") => headers.set("User-Agent", DEFAULT_USER_AGENT),
        None => {}
    }
    if request.expect_100_continue {
        headers.set("Expect", "100-continue");
    }
    if let Some(body) = &request.body {
        headers.set("Content-Length", body.len().to_string());
    }
    if request.method == "POST" && !headers.contains("Content-Type") {
        headers.set("Content-Type", "application/x-www-form-urlencoded");
    }
    if request.decompress_response {
        headers.set("Accept-Encoding", "gzip");
    }
    Prepared {
        target: escape_non_ascii(&url.target),
        headers,
    }
}

/// Percent-encodes the bytes of `target` that are not ASCII.
fn escape_non_ascii(target: &str) -> String {
    if target.is_ascii() {
        return target.to_owned();
    }
    let mut out = String::with_capacity(target.len() * 2);
    for &b in target.as_bytes() {
        if b.is_ascii() {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The request for the next hop of a redirect.
///
/// # Tornado
///
/// `_HTTPConnection.finish` when `_should_follow_redirect()`: the `Location`
/// joined to the URL, one redirect fewer, no `Host`; a 303 (but not for
/// HEAD), or a 301/302 answering a POST, becomes a body-less GET.
fn redirected(mut request: HTTPRequest, from: &Url, code: u16, location: &str) -> HTTPRequest {
    request.url = urljoin(&request.url, location);
    request.max_redirects = request.max_redirects.saturating_sub(1);
    request.headers.remove("Host");
    let method = request.method.as_str();
    if (code == 303 && method != "HEAD") || (matches!(code, 301 | 302) && method == "POST") {
        request.method = "GET".to_owned();
        request.body = None;
        request.body_producer = None;
        for name in [
            "Content-Length",
            "Content-Type",
            "Content-Encoding",
            "Transfer-Encoding",
        ] {
            request.headers.remove(name);
        }
    }
    let same_origin = Url::parse(&request.url).is_ok_and(|to| to.origin() == from.origin());
    if !same_origin {
        request.headers.remove("Cookie");
        request.headers.remove("Authorization");
        request.auth_username = None;
        request.auth_password = None;
    }
    request
}

/// A blocking HTTP client, for scripts and examples: each fetch runs a
/// private IOLoop on the calling thread until the response is in.
///
/// Do not use it on a thread whose IOLoop is running (inside a handler):
/// the loop would stall for the whole fetch. Use [`AsyncHTTPClient`] there.
///
/// ```no_run
/// use tornado::httpclient::HTTPClient;
///
/// let client = HTTPClient::new()?;
/// let response = client.fetch("http://www.example.com/")?;
/// println!("{}", response.text());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Tornado
///
/// `tornado.httpclient.HTTPClient().fetch(request, **kwargs)`, which also
/// runs its own IOLoop.
pub struct HTTPClient {
    io_loop: IOLoop,
    client: AsyncHTTPClient,
}

impl HTTPClient {
    /// A client with default limits and its own IOLoop.
    ///
    /// # Errors
    ///
    /// If the IOLoop cannot be created (out of file descriptors).
    ///
    /// # Tornado
    ///
    /// `HTTPClient()`.
    pub fn new() -> io::Result<HTTPClient> {
        HTTPClient::with_config(ClientConfig::default())
    }

    /// A client with `config`.
    ///
    /// # Errors
    ///
    /// If the IOLoop cannot be created.
    ///
    /// # Tornado
    ///
    /// `HTTPClient(max_clients=..., ...)`.
    pub fn with_config(config: ClientConfig) -> io::Result<HTTPClient> {
        Ok(HTTPClient {
            io_loop: IOLoop::new()?,
            client: AsyncHTTPClient::with_config(config),
        })
    }

    /// Fetches `request`, blocking until the response is in.
    ///
    /// # Errors
    ///
    /// As [`AsyncHTTPClient::fetch`], plus [`HTTPClientError::Io`] if the
    /// private IOLoop fails.
    ///
    /// # Tornado
    ///
    /// `HTTPClient.fetch(request, raise_error=True, **kwargs)`.
    pub fn fetch(&self, request: impl Into<HTTPRequest>) -> Result<HTTPResponse, HTTPClientError> {
        let client = self.client.clone();
        let request = request.into();
        self.io_loop
            .run_sync(async move { client.fetch(request).await })
            .map_err(HTTPClientError::Io)?
    }

    /// The asynchronous client underneath (its connections belong to the
    /// private IOLoop).
    pub fn async_client(&self) -> &AsyncHTTPClient {
        &self.client
    }

    /// Closes idle connections and drops whatever the private loop holds.
    ///
    /// # Tornado
    ///
    /// `HTTPClient.close()`.
    pub fn close(&self) {
        self.client.close();
        self.io_loop.close();
    }
}

impl Drop for HTTPClient {
    fn drop(&mut self) {
        self.close();
    }
}

impl fmt::Debug for HTTPClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HTTPClient")
            .field("client", &self.client)
            .finish()
    }
}
