//! What the decoder hands the connection: [`Event`]s, and the [`RequestHead`]
//! with the facts derived from its fields.

use std::ops::Range;

use bytes::Bytes;

use crate::httputil::HTTPHeaders;

/// One step of the incoming request stream, returned by
/// [`Codec::next_event`](super::Codec::next_event).
///
/// A request arrives as `Request`, then zero or more `Data`, then
/// `EndOfMessage`. `NeedData` and `Paused` are not part of the message: they
/// tell the caller what to do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A complete request head. Body events follow, even for a request
    /// without a body (which yields `EndOfMessage` at once).
    Request(RequestHead),
    /// A piece of the request body, split from the receive buffer without
    /// copying. Never empty. Chunked framing is already removed.
    Data(Bytes),
    /// The request body is complete. `trailers` holds the trailer fields of a
    /// chunked body, if it had any.
    EndOfMessage {
        /// Trailer fields sent after the last chunk; `None` when there were none.
        trailers: Option<HTTPHeaders>,
    },
    /// More bytes are needed: read from the socket, pass them to
    /// [`receive_data`](super::Codec::receive_data) (or append them to
    /// [`read_buf`](super::Codec::read_buf)), then call `next_event` again.
    NeedData,
    /// The request is complete and bytes of the next request (pipelining) are
    /// already buffered. Finish the response, then call
    /// [`start_next_cycle`](super::Codec::start_next_cycle) to parse them.
    Paused,
    /// The peer closed the connection cleanly between requests (or after a
    /// complete request: it may still be waiting for the response).
    ConnectionClosed,
}

/// The HTTP version of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// `HTTP/1.0`
    Http10,
    /// `HTTP/1.1`
    Http11,
}

impl Version {
    /// `"HTTP/1.0"` or `"HTTP/1.1"`, as Tornado's `request.version`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

/// How the length of a request body is determined (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Framing {
    /// Neither `Content-Length` nor `Transfer-Encoding`: no body.
    Empty,
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed request line and header block, plus what they imply for framing
/// and the connection.
///
/// The method and target are slices of the receive buffer ([`Bytes`]); the
/// header lines are copied into the header map in one piece. A head parsed
/// into a recycled map allocates nothing.
///
/// # Tornado
///
/// `httputil.RequestStartLine(method, path, version)` plus the
/// `HTTPHeaders` passed to `HTTPMessageDelegate.headers_received`.
#[derive(Clone, Debug)]
pub struct RequestHead {
    /// The head's bytes, split off the receive buffer: one reference for
    /// the method and the target, which are ranges of it.
    pub(crate) head: Bytes,
    /// A token, so ASCII (httparse checked it).
    pub(crate) method: Range<usize>,
    /// Valid UTF-8 (httparse checked it).
    pub(crate) target: Range<usize>,
    pub(crate) version: Version,
    pub(crate) headers: HTTPHeaders,
    pub(crate) framing: Framing,
    pub(crate) keep_alive: bool,
    pub(crate) expect_continue: bool,
}

impl RequestHead {
    /// The request method, e.g. `"GET"`. Case-sensitive, as RFC 9110 says.
    pub fn method(&self) -> &str {
        // The common methods need no UTF-8 check.
        match self.method_bytes() {
            b"GET" => "GET",
            b"HEAD" => "HEAD",
            b"POST" => "POST",
            b"PUT" => "PUT",
            b"DELETE" => "DELETE",
            b"PATCH" => "PATCH",
            b"OPTIONS" => "OPTIONS",
            other => std::str::from_utf8(other).unwrap_or_default(),
        }
    }

    /// The request target exactly as sent, e.g. `"/search?q=tornado"`
    /// (Tornado's `request.uri`).
    pub fn uri(&self) -> &str {
        let target = self.head.get(self.target.clone()).unwrap_or_default();
        std::str::from_utf8(target).unwrap_or_default()
    }

    pub(crate) fn method_bytes(&self) -> &[u8] {
        self.head.get(self.method.clone()).unwrap_or_default()
    }

    /// The HTTP version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The header fields, in the order they were received.
    pub fn headers(&self) -> &HTTPHeaders {
        &self.headers
    }

    /// The header fields, to change before the head is passed on (as the
    /// gzip-decompressing delegate does with `Content-Encoding`). The derived
    /// facts ([`framing`](Self::framing), ...) are unaffected.
    pub fn headers_mut(&mut self) -> &mut HTTPHeaders {
        &mut self.headers
    }

    /// Takes the header fields out of the head, leaving it with none.
    ///
    /// The derived facts ([`framing`](Self::framing),
    /// [`keep_alive`](Self::keep_alive), ...) are unaffected.
    pub fn take_headers(&mut self) -> HTTPHeaders {
        std::mem::take(&mut self.headers)
    }

    /// How the body is framed.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// Whether the client wants the connection kept open after the response:
    /// HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with
    /// `Connection: keep-alive` on a request whose length is known (a
    /// `Content-Length`, or a GET or HEAD), exactly as Tornado's
    /// `_can_keep_alive`. Always false with `Config::no_keep_alive`.
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// Whether an HTTP/1.1 client sent `Expect: 100-continue` and waits for
    /// `100 Continue` (or a final status) before sending the body.
    /// RFC 9110 §10.1.1 has servers ignore the expectation in HTTP/1.0.
    pub fn expect_continue(&self) -> bool {
        self.expect_continue
    }

    /// Whether the method is `HEAD`, whose response carries no body.
    pub fn is_head(&self) -> bool {
        self.method_bytes() == b"HEAD"
    }
}

/// Heads are equal when what they say is: the same method, target and
/// fields (not necessarily the same bytes, spacing aside).
impl PartialEq for RequestHead {
    fn eq(&self, other: &RequestHead) -> bool {
        self.method_bytes() == other.method_bytes()
            && self.uri() == other.uri()
            && self.version == other.version
            && self.headers == other.headers
            && self.framing == other.framing
            && self.keep_alive == other.keep_alive
            && self.expect_continue == other.expect_continue
    }
}

impl Eq for RequestHead {}
