//! Test helpers: a server for your application on an ephemeral port with a
//! client to fetch from it ([`AsyncHTTPTestCase`]), and a way to run an async
//! test body on a fresh IOLoop with a timeout ([`gen_test`],
//! [`run_async_test`]).
//!
//! ```
//! use tornado::testing::AsyncHTTPTestCase;
//! use tornado::web::{url, Application, Handler, RequestHandler, Result};
//!
//! struct MainHandler;
//!
//! impl RequestHandler for MainHandler {
//!     async fn get(&mut self, cx: &mut Handler) -> Result {
//!         cx.write("Hello, world")
//!     }
//! }
//!
//! let app = Application::new([url(r"/", || MainHandler)]);
//! let test = AsyncHTTPTestCase::new(app).unwrap();
//! let response = test.fetch("/");
//! assert_eq!(response.code, 200);
//! assert_eq!(response.text(), "Hello, world");
//! assert_eq!(test.fetch("/missing").code, 404);
//! ```
//!
//! # Tornado
//!
//! `tornado.testing`: `AsyncHTTPTestCase` (`get_app` is the value passed to
//! [`AsyncHTTPTestCase::new`]; `setUp`/`tearDown` are `new` and drop) and
//! `gen_test`, here a function rather than a decorator;
//! `get_async_test_timeout` reads `ASYNC_TEST_TIMEOUT` as Tornado does;
//! [`ExpectLog`].

use std::fmt;
use std::future::Future;
use std::io;
use std::time::{Duration, Instant};

use crate::httpclient::{AsyncHTTPClient, HTTPClientError, HTTPRequest, HTTPResponse};
use crate::httpserver::{HTTPServer, HTTPServerSettings};
use crate::httputil::HTTPServerConnectionDelegate;
use crate::ioloop::IOLoop;

mod expect_log;

pub use expect_log::{ExpectLog, ExpectLogError};

/// Tornado's default async test timeout: 5 seconds.
///
/// # Tornado
///
/// `get_async_test_timeout()` when `ASYNC_TEST_TIMEOUT` is not set.
pub const DEFAULT_ASYNC_TEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The timeout for async tests: `ASYNC_TEST_TIMEOUT` (seconds, may be
/// fractional; `inf` for none) from the environment, else 5 seconds.
///
/// # Tornado
///
/// `tornado.testing.get_async_test_timeout()`.
pub fn get_async_test_timeout() -> Duration {
    std::env::var("ASYNC_TEST_TIMEOUT")
        .ok()
        .and_then(|value| parse_timeout(&value))
        .unwrap_or(DEFAULT_ASYNC_TEST_TIMEOUT)
}

/// `ASYNC_TEST_TIMEOUT`'s value as a timeout, read as Python's `float`;
/// `None` for what is not one.
fn parse_timeout(value: &str) -> Option<Duration> {
    match value.trim().parse::<f64>().ok()? {
        // float("inf"): no timeout (the loop takes Duration::MAX as never).
        f64::INFINITY => Some(Duration::MAX),
        secs => Duration::try_from_secs_f64(secs).ok(),
    }
}

/// A listening socket on 127.0.0.1 and a port no one else uses, for a
/// server a test starts itself (`server.add_socket(socket)`).
///
/// ```
/// let (socket, port) = tornado::testing::bind_unused_port().unwrap();
/// assert_eq!(socket.local_addr().unwrap().port(), port);
/// ```
///
/// # Errors
/// The OS refused a socket.
///
/// # Tornado
/// `tornado.testing.bind_unused_port()`.
pub fn bind_unused_port() -> io::Result<(std::net::TcpListener, u16)> {
    let socket =
        crate::netutil::bind_sockets(0, "127.0.0.1", crate::netutil::DEFAULT_BACKLOG, false)?
            .into_iter()
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::AddrNotAvailable, "no socket bound"))?;
    let port = socket.local_addr()?.port();
    Ok((socket, port))
}

/// Runs `future` on a fresh IOLoop (current while it runs) and returns its
/// output; everything it left on the loop is dropped afterwards.
///
/// # Panics
///
/// If `timeout` passes first, if the future panics (with its message), or
/// if no IOLoop can be created: this is how the test fails.
///
/// # Tornado
///
/// `@tornado.testing.gen_test(timeout=...)`.
///
/// ```
/// use std::time::Duration;
/// use tornado::testing::run_async_test;
///
/// let n = run_async_test(Duration::from_secs(1), async {
///     tornado::gen::sleep(Duration::from_millis(1)).await;
///     42
/// });
/// assert_eq!(n, 42);
/// ```
pub fn run_async_test<F>(timeout: Duration, future: F) -> F::Output
where
    F: Future + 'static,
    F::Output: 'static,
{
    let io_loop = match IOLoop::new() {
        Ok(io_loop) => io_loop,
        Err(err) => panic!("cannot create an IOLoop for the test: {err}"),
    };
    let result = io_loop.run_sync_with_timeout(future, timeout);
    io_loop.close();
    match result {
        Ok(output) => output,
        Err(err) if err.kind() == io::ErrorKind::TimedOut => {
            panic!("async test timed out after {timeout:?}")
        }
        Err(err) => panic!("async test failed: {err}"),
    }
}

/// [`run_async_test`] with [`get_async_test_timeout`].
///
/// The body runs on a fresh loop of its own: an [`AsyncHTTPTestCase`]'s
/// server does not serve meanwhile, so a `gen_test` method of such a test
/// case becomes [`AsyncHTTPTestCase::run_sync`], not this.
///
/// # Tornado
///
/// `@tornado.testing.gen_test` without arguments.
pub fn gen_test<F>(future: F) -> F::Output
where
    F: Future + 'static,
    F::Output: 'static,
{
    run_async_test(get_async_test_timeout(), future)
}

/// A server for `D` (usually a `web::Application`) on 127.0.0.1 and an
/// ephemeral port, on a fresh IOLoop, with a client to fetch from it.
///
/// The loop only runs during [`fetch`](Self::fetch),
/// [`fetch_with`](Self::fetch_with) and [`run_sync`](Self::run_sync), so the
/// test body itself is plain synchronous code. Dropping the test case (or
/// [`close`](Self::close)) stops the server, closes every connection and
/// drops what is left on the loop: no thread is started, and no socket or
/// port outlives it.
///
/// # Tornado
///
/// `tornado.testing.AsyncHTTPTestCase`. Its `fetch` defaults to
/// `raise_error=False`, and so does this one: a 404 is a response with
/// `code == 404`. A transport failure (timeout, closed connection) comes
/// back as a 599 response with [`HTTPResponse::error`] set, as in Tornado 5.
pub struct AsyncHTTPTestCase<D: HTTPServerConnectionDelegate + 'static> {
    io_loop: IOLoop,
    /// `None` once torn down.
    server: Option<HTTPServer<D>>,
    client: AsyncHTTPClient,
    port: u16,
    timeout: Duration,
}

impl<D: HTTPServerConnectionDelegate + 'static> AsyncHTTPTestCase<D> {
    /// Serves `app` with default server settings.
    ///
    /// # Errors
    ///
    /// If the IOLoop cannot be created or the port bound.
    ///
    /// # Tornado
    ///
    /// `AsyncHTTPTestCase.setUp()`, with `app` as `get_app()` returns.
    pub fn new(app: D) -> io::Result<AsyncHTTPTestCase<D>> {
        AsyncHTTPTestCase::with_settings(app, HTTPServerSettings::default())
    }

    /// Serves `app` with `settings`.
    ///
    /// # Tornado
    ///
    /// `get_httpserver_options()`.
    ///
    /// # Errors
    ///
    /// If the IOLoop cannot be created or the port bound.
    pub fn with_settings(app: D, settings: HTTPServerSettings) -> io::Result<AsyncHTTPTestCase<D>> {
        let io_loop = IOLoop::new()?;
        let server = HTTPServer::with_settings(app, settings);
        // Listening registers the accept loop with the current loop: do it
        // while ours is current.
        let (server, bound) = io_loop.run_sync(async move {
            let bound = server.listen(0, "127.0.0.1");
            (server, bound)
        })?;
        let port = bound?
            .first()
            .map(|addr| addr.port())
            .ok_or_else(|| io::Error::new(io::ErrorKind::AddrNotAvailable, "no address bound"))?;
        Ok(AsyncHTTPTestCase {
            io_loop,
            server: Some(server),
            client: AsyncHTTPClient::new(),
            port,
            timeout: get_async_test_timeout(),
        })
    }

    /// Changes how long `fetch` and `run_sync` may take (default
    /// [`get_async_test_timeout`]).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The port the server listens on.
    ///
    /// # Tornado
    ///
    /// `get_http_port()`.
    pub fn get_http_port(&self) -> u16 {
        self.port
    }

    /// The absolute URL of `path` on the test server.
    ///
    /// # Tornado
    ///
    /// `get_url(path)`.
    pub fn get_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The test's IOLoop.
    ///
    /// # Tornado
    ///
    /// `self.io_loop`.
    pub fn io_loop(&self) -> &IOLoop {
        &self.io_loop
    }

    /// The test's client.
    ///
    /// # Tornado
    ///
    /// `self.http_client`.
    pub fn http_client(&self) -> &AsyncHTTPClient {
        &self.client
    }

    /// The server, until teardown.
    ///
    /// # Tornado
    ///
    /// `self.http_server`.
    pub fn http_server(&self) -> Option<&HTTPServer<D>> {
        self.server.as_ref()
    }

    /// GETs `path` (relative to the server, or an absolute URL) and returns
    /// the response, whatever its status.
    ///
    /// # Tornado
    ///
    /// `AsyncHTTPTestCase.fetch(path, raise_error=False)`.
    pub fn fetch(&self, path: &str) -> HTTPResponse {
        self.fetch_with(HTTPRequest::new(path).raise_error(false))
    }

    /// Fetches `request`, whose URL may be a path on the test server. A
    /// non-2xx status comes back as the response either way; with the
    /// default `raise_error(true)` its `error` holds the
    /// [`HTTPClientError::Http`] (Tornado's fetch raises it). A failure with
    /// no HTTP response (a closed connection, a timeout, the test's own
    /// timeout) comes back as a 599 response holding the error, where
    /// Tornado raises.
    ///
    /// # Tornado
    ///
    /// `AsyncHTTPTestCase.fetch(path, **kwargs)`.
    pub fn fetch_with(&self, mut request: HTTPRequest) -> HTTPResponse {
        let lower = request.url().to_ascii_lowercase();
        if !lower.starts_with("http://") && !lower.starts_with("https://") {
            request.url = self.get_url(&request.url);
        }
        let start = Instant::now();
        let client = self.client.clone();
        let sent = request.clone();
        let outcome = self
            .io_loop
            .run_sync_with_timeout(async move { client.fetch(request).await }, self.timeout);
        let error = match outcome {
            Ok(Ok(response)) => return response,
            Ok(Err(HTTPClientError::Http {
                code,
                message,
                response: Some(mut response),
            })) => {
                response.error = Some(HTTPClientError::Http {
                    code,
                    message,
                    response: None,
                });
                return *response;
            }
            Ok(Err(error)) => error,
            Err(err) if err.kind() == io::ErrorKind::TimedOut => {
                HTTPClientError::Timeout("in test (async test timeout)")
            }
            Err(err) => HTTPClientError::Io(err),
        };
        HTTPResponse::from_error(sent, error, start)
    }

    /// Runs `future` on the test's IOLoop (the server serves meanwhile).
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::TimedOut`] past the test timeout; another error if
    /// the future panics or the loop fails.
    ///
    /// # Tornado
    ///
    /// `self.io_loop.run_sync(func, timeout=get_async_test_timeout())`.
    pub fn run_sync<F>(&self, future: F) -> io::Result<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.io_loop.run_sync_with_timeout(future, self.timeout)
    }

    /// Tears down: stops the server, closes the client's and the server's
    /// connections at once (a handler still waiting does not hold it up),
    /// and drops everything left on the IOLoop. Called on drop.
    ///
    /// # Tornado
    ///
    /// `AsyncHTTPTestCase.tearDown()`.
    pub fn close(&mut self) {
        self.client.close();
        if let Some(server) = self.server.take() {
            server.stop();
            // With the test's loop current: closing runs close callbacks.
            let closed = self
                .io_loop
                .run_sync(async move { server.close_all_connections_now() });
            if let Err(err) = closed {
                log::warn!(target: "tornado.general", "AsyncHTTPTestCase teardown: {err}");
            }
        }
        self.io_loop.close();
    }
}

impl<D: HTTPServerConnectionDelegate + 'static> Drop for AsyncHTTPTestCase<D> {
    fn drop(&mut self) {
        self.close();
    }
}

impl<D: HTTPServerConnectionDelegate + 'static> fmt::Debug for AsyncHTTPTestCase<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncHTTPTestCase")
            .field("port", &self.port)
            .field("open", &self.server.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn async_test_timeout_values_read_as_python_floats() {
        assert_eq!(parse_timeout("2.5"), Some(Duration::from_millis(2500)));
        assert_eq!(parse_timeout(" 10 "), Some(Duration::from_secs(10)));
        assert_eq!(parse_timeout("inf"), Some(Duration::MAX));
        assert_eq!(parse_timeout("nan"), None);
        assert_eq!(parse_timeout("-1"), None);
        assert_eq!(parse_timeout("soon"), None);
    }
}
