//! [`HTTPResponse`] and [`HTTPClientError`].

use std::fmt;
use std::io;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::HTTPRequest;
use crate::http1::ParseError;
use crate::httputil::HTTPHeaders;

/// The response to a fetch.
///
/// # Tornado
///
/// `tornado.httpclient.HTTPResponse(request, code, headers, buffer,
/// effective_url, error, request_time, time_info, reason, start_time)`.
/// `body` is `bytes` already (there is no separate `buffer`); with a
/// `streaming_callback` it is empty, as in Tornado.
pub struct HTTPResponse {
    /// The request as the caller made it (before redirects).
    pub request: HTTPRequest,
    /// The status code; 599 for a response made up for a transport error
    /// (see [`HTTPResponse::from_error`]).
    pub code: u16,
    /// The reason phrase the server sent (or the standard one for `code`).
    pub reason: String,
    /// The response header fields (with `decompress_response`, a gzip body's
    /// `Content-Encoding` is renamed `X-Consumed-Content-Encoding`).
    pub headers: HTTPHeaders,
    /// The body, decompressed; empty with a `streaming_callback`.
    pub body: Bytes,
    /// The final URL, after any redirects.
    pub effective_url: String,
    /// From the start of the fetch to the end of the response.
    pub request_time: Duration,
    /// When the fetch started.
    pub start_time: Instant,
    /// `Some` for a non-2xx status ([`HTTPClientError::Http`], without its
    /// response) or for the transport error of a made-up 599 response.
    pub error: Option<HTTPClientError>,
}

impl HTTPResponse {
    /// A 599 response standing for `error`, as Tornado builds for a
    /// transport failure (the shape `AsyncHTTPTestCase.fetch` returns).
    ///
    /// # Tornado
    ///
    /// `HTTPResponse(request, 599, error=e, request_time=...)`.
    pub fn from_error(
        request: HTTPRequest,
        error: HTTPClientError,
        start_time: Instant,
    ) -> HTTPResponse {
        HTTPResponse {
            effective_url: request.url().to_owned(),
            request,
            code: error.code(),
            reason: "Unknown".to_owned(),
            headers: HTTPHeaders::new(),
            body: Bytes::new(),
            request_time: start_time.elapsed(),
            start_time,
            error: Some(error),
        }
    }

    /// The body as text (UTF-8, invalid bytes replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// `Err` with this response's error, if it has one; else the response.
    ///
    /// # Tornado
    ///
    /// `HTTPResponse.rethrow()`.
    pub fn rethrow(mut self) -> Result<HTTPResponse, HTTPClientError> {
        match self.error.take() {
            Some(HTTPClientError::Http { code, message, .. }) => Err(HTTPClientError::Http {
                code,
                message,
                response: Some(Box::new(self)),
            }),
            Some(error) => Err(error),
            None => Ok(self),
        }
    }
}

impl fmt::Debug for HTTPResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HTTPResponse")
            .field("code", &self.code)
            .field("reason", &self.reason)
            .field("effective_url", &self.effective_url)
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .field("request_time", &self.request_time)
            .field("error", &self.error)
            .finish()
    }
}

/// Why a fetch failed.
///
/// [`code`](Self::code) is the status for [`HTTPClientError::Http`] and 599
/// (Tornado's code for "no HTTP response") for everything else.
///
/// # Tornado
///
/// `tornado.httpclient.HTTPClientError(code, message, response)` for a
/// non-2xx status, and the errors `simple_httpclient` raises otherwise:
/// `HTTPTimeoutError` (599), `HTTPStreamClosedError` (599), the socket's
/// `OSError` (connection refused), `ValueError` for a bad request.
#[derive(Debug)]
#[non_exhaustive]
pub enum HTTPClientError {
    /// The server answered with a status outside 200–299 (and, after the
    /// redirects were used up or not followed, 3xx). Only returned when the
    /// request's `raise_error` is true; `response` is then set.
    Http {
        /// The status code.
        code: u16,
        /// The reason phrase.
        message: String,
        /// The whole response.
        response: Option<Box<HTTPResponse>>,
    },
    /// A timeout fired: "while connecting", "during request" or "in request
    /// queue" (Tornado's `HTTPTimeoutError`, 599).
    Timeout(&'static str),
    /// The connection could not be made (refused, unreachable, name not
    /// resolved, or a scheme with no connector).
    Connect(io::Error),
    /// The connection closed (or failed) before the response was complete
    /// (Tornado's `HTTPStreamClosedError`, "Stream closed").
    StreamClosed(Option<io::Error>),
    /// The server's bytes are not a valid HTTP/1.x response: a garbage
    /// status line, a body shorter than its `Content-Length`, a body over the
    /// size limit, a broken gzip stream ...
    MalformedResponse(MalformedResponse),
    /// The request cannot be sent: a bad URL or header, a body where the
    /// method allows none (Tornado's `ValueError`).
    InvalidRequest(String),
    /// The request's `body_producer` failed.
    BodyProducer(io::Error),
    /// The blocking client's own IOLoop failed.
    Io(io::Error),
}

/// What was wrong with a response.
#[derive(Debug)]
#[non_exhaustive]
pub enum MalformedResponse {
    /// The codec refused the bytes.
    Parse(ParseError),
    /// `Content-Encoding: gzip`, but the body does not decompress.
    Gzip(io::Error),
    /// More informational (1xx) responses before the final one than any
    /// server sends ([`MAX_INFORMATIONAL`](super::MAX_INFORMATIONAL)): a
    /// server that never answers, but keeps the request's time running.
    TooManyInformational,
}

impl fmt::Display for MalformedResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MalformedResponse::Parse(error) => error.fmt(f),
            MalformedResponse::Gzip(error) => write!(f, "bad gzip body: {error}"),
            MalformedResponse::TooManyInformational => {
                f.write_str("too many informational (1xx) responses")
            }
        }
    }
}

impl HTTPClientError {
    /// The status code, or 599 when there was no (acceptable) HTTP response.
    ///
    /// # Tornado
    ///
    /// `HTTPClientError.code`.
    pub fn code(&self) -> u16 {
        match self {
            HTTPClientError::Http { code, .. } => *code,
            _ => 599,
        }
    }

    /// The response of an [`HTTPClientError::Http`].
    ///
    /// # Tornado
    ///
    /// `HTTPClientError.response`.
    pub fn response(&self) -> Option<&HTTPResponse> {
        match self {
            HTTPClientError::Http { response, .. } => response.as_deref(),
            _ => None,
        }
    }

    /// Whether a timeout fired.
    ///
    /// # Tornado
    ///
    /// `isinstance(e, tornado.simple_httpclient.HTTPTimeoutError)`.
    pub fn is_timeout(&self) -> bool {
        matches!(self, HTTPClientError::Timeout(_))
    }

    /// Whether the server refused the connection.
    pub fn is_connection_refused(&self) -> bool {
        matches!(self, HTTPClientError::Connect(err) if err.kind() == io::ErrorKind::ConnectionRefused)
    }

    /// Whether the response was malformed.
    pub fn is_malformed(&self) -> bool {
        matches!(self, HTTPClientError::MalformedResponse(_))
    }
}

impl fmt::Display for HTTPClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HTTPClientError::Http { code, message, .. } => write!(f, "HTTP {code}: {message}"),
            HTTPClientError::Timeout(what) => write!(f, "HTTP 599: Timeout {what}"),
            HTTPClientError::Connect(err) => write!(f, "connection failed: {err}"),
            HTTPClientError::StreamClosed(None) => f.write_str("HTTP 599: Stream closed"),
            HTTPClientError::StreamClosed(Some(err)) => {
                write!(f, "HTTP 599: Stream closed: {err}")
            }
            HTTPClientError::MalformedResponse(what) => {
                write!(f, "malformed HTTP response: {what}")
            }
            HTTPClientError::InvalidRequest(message) => write!(f, "invalid request: {message}"),
            HTTPClientError::BodyProducer(err) => write!(f, "body_producer failed: {err}"),
            HTTPClientError::Io(err) => write!(f, "IOLoop failed: {err}"),
        }
    }
}

impl std::error::Error for HTTPClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HTTPClientError::Connect(err)
            | HTTPClientError::BodyProducer(err)
            | HTTPClientError::Io(err)
            | HTTPClientError::StreamClosed(Some(err)) => Some(err),
            HTTPClientError::MalformedResponse(MalformedResponse::Parse(err)) => Some(err),
            HTTPClientError::MalformedResponse(MalformedResponse::Gzip(err)) => Some(err),
            _ => None,
        }
    }
}
