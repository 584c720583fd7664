//! [`HTTPRequest`]: what to fetch and how, with Tornado's options.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;

use super::connection::{Connection, SendError};
use crate::httputil::HTTPHeaders;

/// Tornado's default `connect_timeout` and `request_timeout`: 20 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// Tornado's default `max_redirects`.
pub const DEFAULT_MAX_REDIRECTS: u32 = 5;

pub(crate) type StreamingCallback = Rc<RefCell<dyn FnMut(Bytes)>>;
pub(crate) type HeaderCallback = Rc<RefCell<dyn FnMut(&str)>>;
pub(crate) type BodyProducer =
    Rc<dyn Fn(BodyWriter) -> Pin<Box<dyn Future<Output = io::Result<()>>>>>;

/// A request for [`AsyncHTTPClient::fetch`](super::AsyncHTTPClient::fetch),
/// built with chained setters. Cheap to clone: callbacks are shared.
///
/// ```
/// use std::time::Duration;
/// use tornado::httpclient::HTTPRequest;
///
/// let request = HTTPRequest::new("http://example.com/api")
///     .method("POST")
///     .header("Content-Type", "application/json")
///     .body(r#"{"a": 1}"#)
///     .request_timeout(Duration::from_secs(5))
///     .follow_redirects(false);
/// assert_eq!(request.get_method(), "POST");
/// ```
///
/// # Tornado
///
/// `tornado.httpclient.HTTPRequest(url, method="GET", headers=None,
/// body=None, auth_username=None, auth_password=None, connect_timeout=20,
/// request_timeout=20, follow_redirects=True, max_redirects=5,
/// user_agent=None, decompress_response=True, streaming_callback=None,
/// header_callback=None, expect_100_continue=False, body_producer=None,
/// allow_nonstandard_methods=False)`, plus `fetch`'s `raise_error=True`.
/// Not ported: proxies, `network_interface`, `auth_mode` other than basic,
/// TLS options (no TLS yet), `prepare_curl_callback`.
#[derive(Clone)]
pub struct HTTPRequest {
    pub(crate) url: String,
    pub(crate) method: String,
    pub(crate) headers: HTTPHeaders,
    pub(crate) body: Option<Bytes>,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) request_timeout: Option<Duration>,
    pub(crate) follow_redirects: bool,
    pub(crate) max_redirects: u32,
    pub(crate) user_agent: Option<String>,
    pub(crate) decompress_response: bool,
    pub(crate) auth_username: Option<String>,
    pub(crate) auth_password: Option<String>,
    pub(crate) expect_100_continue: bool,
    pub(crate) allow_nonstandard_methods: bool,
    pub(crate) raise_error: bool,
    pub(crate) streaming_callback: Option<StreamingCallback>,
    pub(crate) header_callback: Option<HeaderCallback>,
    pub(crate) body_producer: Option<BodyProducer>,
}

impl HTTPRequest {
    /// A GET of `url` with Tornado's defaults.
    ///
    /// # Tornado
    ///
    /// `HTTPRequest(url)`.
    pub fn new(url: impl Into<String>) -> HTTPRequest {
        HTTPRequest {
            url: url.into(),
            method: "GET".to_owned(),
            headers: HTTPHeaders::new(),
            body: None,
            connect_timeout: Some(DEFAULT_TIMEOUT),
            request_timeout: Some(DEFAULT_TIMEOUT),
            follow_redirects: true,
            max_redirects: DEFAULT_MAX_REDIRECTS,
            user_agent: None,
            decompress_response: true,
            auth_username: None,
            auth_password: None,
            expect_100_continue: false,
            allow_nonstandard_methods: false,
            raise_error: true,
            streaming_callback: None,
            header_callback: None,
            body_producer: None,
        }
    }

    /// The HTTP method (default `GET`).
    ///
    /// # Tornado
    ///
    /// `HTTPRequest(method=...)`.
    pub fn method(mut self, method: impl Into<String>) -> HTTPRequest {
        self.method = method.into();
        self
    }

    /// Adds a header field (keeping others of the same name).
    ///
    /// # Tornado
    ///
    /// An entry of `HTTPRequest(headers=...)`.
    pub fn header(mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> HTTPRequest {
        self.headers.add(name, value);
        self
    }

    /// Replaces all header fields.
    ///
    /// # Tornado
    ///
    /// `HTTPRequest(headers=...)`.
    pub fn headers(mut self, headers: HTTPHeaders) -> HTTPRequest {
        self.headers = headers;
        self
    }

    /// The request body, sent with a `Content-Length`. POST, PUT and PATCH
    /// need one (an empty body is fine), other methods must not have one,
    /// unless [`allow_nonstandard_methods`](Self::allow_nonstandard_methods).
    ///
    /// # Tornado
    ///
    /// `HTTPRequest(body=...)`; the same method checks as `simple_httpclient`.
    pub fn body(mut self, body: impl Into<Bytes>) -> HTTPRequest {
        self.body = Some(body.into());
        self
    }

    /// Streams the body instead: `producer` gets a [`BodyWriter`] and writes
    /// the body with it; the request ends when its future completes. Without
    /// a `Content-Length` header the body is sent chunked. Called again for
    /// each redirect that keeps the method (307, 308). The response is read
    /// meanwhile: its future is dropped, unfinished, if the response ends
    /// first.
    ///
    /// ```
    /// use tornado::httpclient::HTTPRequest;
    ///
    /// let request = HTTPRequest::new("http://example.com/upload")
    ///     .method("PUT")
    ///     .body_producer(|writer| async move {
    ///         for part in ["a", "b", "c"] {
    ///             writer.write(part).await?;
    ///         }
    ///         Ok(())
    ///     });
    /// # drop(request);
    /// ```
    ///
    /// # Tornado
    ///
    /// `body_producer(write)`, where `write` returns a future.
    pub fn body_producer<F, Fut>(mut self, producer: F) -> HTTPRequest
    where
        F: Fn(BodyWriter) -> Fut + 'static,
        Fut: Future<Output = io::Result<()>> + 'static,
    {
        self.body_producer = Some(Rc::new(move |writer| Box::pin(producer(writer))));
        self
    }

    /// Time allowed to connect (`None`: no limit). Default 20 s.
    ///
    /// # Tornado
    ///
    /// `HTTPRequest(connect_timeout=20.0)`; `None` is Tornado's `0` (no
    /// timeout). As in Tornado, connecting also stops at `request_timeout`.
    pub fn connect_timeout(mut self, timeout: impl Into<Option<Duration>>) -> HTTPRequest {
        self.connect_timeout = timeout.into();
        self
    }

    /// Time allowed for the whole request, from the fetch to the end of the
    /// response, queueing included (`None`: no limit). Default 20 s.
    ///
    /// # Tornado
    ///
    /// `HTTPRequest(request_timeout=20.0)`; `None` is Tornado's `0`. Tornado
    /// starts this clock once the request leaves the `max_clients` queue.
    pub fn request_timeout(mut self, timeout: impl Into<Option<Duration>>) -> HTTPRequest {
        self.request_timeout = timeout.into();
        self
    }

    /// Follow 301, 302, 303, 307 and 308 redirects (default true).
    ///
    /// # Tornado
    ///
    /// `HTTPRequest(follow_redirects=True)`.
    pub fn follow_redirects(mut self, follow: bool) -> HTTPRequest {
        self.follow_redirects = follow;
        self
    }

    /// Most redirects to follow (default 5); past them the 3xx is the response.
    ///
    /// # Tornado
    ///
    /// `HTTPRequest(max_redirects=5)`.
    pub fn max_redirects(mut self, max: u32) -> HTTPRequest {
        self.max_redirects = max;
        self
    }

    /// The `User-Agent` (default `tornado-rs/<version>` unless the headers
    /// set one).
    ///
    /// # Tornado
    ///
    /// `HTTPRequest(user_agent=None)`; Tornado's default is `Tornado/<version>`.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> HTTPRequest {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Ask for gzip (`Accept-Encoding: gzip`) and decompress a gzip body
    /// (default true). The decompressed size counts against the body limit.
    ///
    /// # Tornado
    ///
    /// `HTTPRequest(decompress_response=True)`.
    pub fn decompress_response(mut self, decompress: bool) -> HTTPRequest {
        self.decompress_response = decompress;
        self
    }

    /// Basic authentication (`Authorization: Basic ...`). Credentials in the
    /// URL (`http://user:pass@host/`) take precedence, as in Tornado. Dropped
    /// when a redirect leads to another origin.
    ///
    /// # Tornado
    ///
    /// `HTTPRequest(auth_username=..., auth_password=..., auth_mode="basic")`.
    pub fn auth(mut self, username: impl Into<String>, password: impl Into<String>) -> HTTPRequest {
        self.auth_username = Some(username.into());
        self.auth_password = Some(password.into());
        self
    }

    /// Send `Expect: 100-continue` and the body only after the server's
    /// `100 Continue`; a final status instead means the body is not sent.
    ///
    /// # Tornado
    ///
    /// `HTTPRequest(expect_100_continue=False)`.
    pub fn expect_100_continue(mut self, expect: bool) -> HTTPRequest {
        self.expect_100_continue = expect;
        self
    }

    /// Skip the method/body checks (any method, body or not).
    ///
    /// # Tornado
    ///
    /// `HTTPRequest(allow_nonstandard_methods=False)`.
    pub fn allow_nonstandard_methods(mut self, allow: bool) -> HTTPRequest {
        self.allow_nonstandard_methods = allow;
        self
    }

    /// Whether a non-2xx status is an `Err` (default true). Transport errors
    /// (timeouts, refused connections, malformed responses) always are.
    ///
    /// # Tornado
    ///
    /// `fetch(request, raise_error=True)`; as in Tornado 6, `False` only
    /// affects HTTP status errors.
    pub fn raise_error(mut self, raise: bool) -> HTTPRequest {
        self.raise_error = raise;
        self
    }

    /// Receive the body chunk by chunk as it arrives (decompressed, each at
    /// most 64 KiB) instead of in [`HTTPResponse::body`](super::HTTPResponse::body),
    /// which is then empty: memory stays bounded whatever the body's size.
    /// A chunk kept holds memory in proportion to its size (a small one is a
    /// copy, not a view of the 64 KiB receive buffer).
    /// Not called for the bodies of redirects that are followed.
    ///
    /// # Tornado
    ///
    /// `HTTPRequest(streaming_callback=...)`.
    pub fn streaming_callback(mut self, callback: impl FnMut(Bytes) + 'static) -> HTTPRequest {
        self.streaming_callback = Some(Rc::new(RefCell::new(callback)));
        self
    }

    /// Receive the final response's head line by line, as Tornado passes it:
    /// `"HTTP/1.1 200 OK\r\n"`, then `"Name: value\r\n"` per field, then
    /// `"\r\n"`.
    ///
    /// # Tornado
    ///
    /// `HTTPRequest(header_callback=...)`.
    pub fn header_callback(mut self, callback: impl FnMut(&str) + 'static) -> HTTPRequest {
        self.header_callback = Some(Rc::new(RefCell::new(callback)));
        self
    }

    /// The URL.
    ///
    /// # Tornado
    ///
    /// `HTTPRequest.url`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The method.
    ///
    /// # Tornado
    ///
    /// `HTTPRequest.method`.
    pub fn get_method(&self) -> &str {
        &self.method
    }

    /// The header fields the caller set.
    ///
    /// # Tornado
    ///
    /// `HTTPRequest.headers`.
    pub fn get_headers(&self) -> &HTTPHeaders {
        &self.headers
    }

    /// The body, if one was set with [`body`](Self::body).
    ///
    /// # Tornado
    ///
    /// `HTTPRequest.body`.
    pub fn get_body(&self) -> Option<&Bytes> {
        self.body.as_ref()
    }
}

impl From<&str> for HTTPRequest {
    fn from(url: &str) -> HTTPRequest {
        HTTPRequest::new(url)
    }
}

impl From<String> for HTTPRequest {
    fn from(url: String) -> HTTPRequest {
        HTTPRequest::new(url)
    }
}

impl From<&String> for HTTPRequest {
    fn from(url: &String) -> HTTPRequest {
        HTTPRequest::new(url.as_str())
    }
}

impl fmt::Debug for HTTPRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HTTPRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &self.headers)
            .field("body_len", &self.body.as_ref().map(Bytes::len))
            .field("body_producer", &self.body_producer.is_some())
            .field("streaming_callback", &self.streaming_callback.is_some())
            .finish_non_exhaustive()
    }
}

/// Writes a streamed request body; see [`HTTPRequest::body_producer`].
///
/// # Tornado
///
/// The `write` function passed to a `body_producer`.
pub struct BodyWriter {
    pub(crate) connection: Rc<Connection>,
}

impl BodyWriter {
    /// Sends `chunk` (framed as the request head decided) and waits until
    /// the kernel has taken it: a slow server slows the producer down.
    ///
    /// # Errors
    ///
    /// The connection failed, or more bytes than a `Content-Length` allows.
    ///
    /// # Tornado
    ///
    /// The `write(chunk)` passed to `body_producer`, whose future resolves
    /// when the chunk is written.
    pub async fn write(&self, chunk: impl Into<Bytes>) -> io::Result<()> {
        self.connection
            .send_body_chunk(&chunk.into())
            .await
            .map_err(|err| match err {
                SendError::Io(err) | SendError::Producer(err) => err,
                SendError::Framing(err) => io::Error::new(io::ErrorKind::InvalidInput, err),
            })
    }
}

impl fmt::Debug for BodyWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyWriter").finish_non_exhaustive()
    }
}
