//! HTTP/1.x over an [`IOStream`]: the one place the pure [`http1`](crate::http1)
//! codec meets a socket.
//!
//! # Tornado
//! `tornado.http1connection`: [`HTTP1Connection`] is what a request's
//! delegate writes its response through; [`HTTP1ConnectionParameters`]
//! keeps its name. The serving loop (`HTTP1ServerConnection`) is internal;
//! [`HTTPServer`](crate::httpserver::HTTPServer) runs it.

mod buffers;
mod close_wait;
mod decompress;
mod params;
mod serve;
mod slot;

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::SystemTime;

use bytes::{Bytes, BytesMut};

use crate::gen::moment;
use crate::http1::{Codec, DateCache, LocalProtocolError, ResponseHead, State};
use crate::httputil::{recycle_header_map, HTTPHeaders};
use crate::ioloop::loop_system_now;
use crate::iostream::{IOStream, StreamError};
use crate::locks::waiters::WaitList;

pub use close_wait::WaitForClose;
pub use params::HTTP1ConnectionParameters;
pub(crate) use serve::{serve_connection, ConnectionControl};

/// Bytes a handler may flush back to back without the socket ever making it
/// wait, before it yields to the loop once: on a fast network a streaming
/// handler would otherwise never give other connections a turn (Tornado
/// #2997; tokio's cooperative budget does the same).
const FLUSH_BUDGET: usize = 1024 * 1024;

/// Body pieces at least this large are queued for the socket without a
/// copy; smaller ones are cheaper to copy into the output buffer than to
/// send as a buffer of their own.
pub(crate) const ZERO_COPY_MIN: usize = 16 * 1024;

thread_local! {
    /// The `Date` header value, formatted at most once a second per thread.
    static DATE: RefCell<DateCache> = RefCell::new(DateCache::new(SystemTime::now()));
}

/// The current `Date` header value (formatted at most once a second per
/// thread; each call copies it).
pub fn http_date() -> Bytes {
    with_http_date(Bytes::copy_from_slice)
}

/// Calls `f` with the current `Date` header value (formatted at most once
/// a second per thread), to copy it where it is needed.
pub(crate) fn with_http_date<R>(f: impl FnOnce(&[u8]) -> R) -> R {
    DATE.with(|date| {
        let mut date = date.borrow_mut();
        date.update(loop_system_now());
        f(date.as_bytes())
    })
}

/// Facts about the client, after `xheaders` were applied.
///
/// # Tornado
/// `HTTP1Connection.context` (`_HTTPRequestContext`).
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The peer's socket address.
    pub address: SocketAddr,
    /// The client's IP: the peer's, or with `xheaders` the one a trusted
    /// proxy reported.
    pub remote_ip: String,
    /// `"http"` or (with `xheaders`, as reported by a proxy) `"https"`.
    pub protocol: &'static str,
}

/// The connection as a request's delegate sees it: where its response goes.
///
/// `write_headers`, `write` and `finish` only encode into the connection's
/// output buffer; [`flush`](HTTP1Connection::flush) sends it. After the
/// delegate's `finish` future completes, the server flushes what is left.
///
/// # Tornado
/// `tornado.http1connection.HTTP1Connection` (the `HTTPConnection`
/// interface): `write_headers(start_line, headers, chunk)`, `write(chunk)`,
/// `finish()`, `set_close_callback`, `set_max_body_size`.
#[derive(Clone)]
pub struct HTTP1Connection {
    shared: Rc<Shared>,
}

/// State shared by the serving loop and the request's delegate.
pub(crate) struct Shared {
    stream: IOStream,
    codec: RefCell<Codec>,
    /// Encoded response bytes not yet handed to the stream.
    out: RefCell<BytesMut>,
    context: RefCell<RequestContext>,
    /// The current request's close callback; cleared when its response ends.
    close_callback: RefCell<Option<Box<dyn FnOnce()>>>,
    /// The [`WaitForClose`] futures waiting for the connection to close
    /// (empty, it allocates nothing).
    close_waiters: RefCell<WaitList>,
    /// How much to read next: grows while reads fill what was asked, shrinks
    /// while they bring little, so small requests cost a small zero-fill.
    read_hint: Cell<usize>,
    /// `TCP_NODELAY` has been set (by the first `finish`).
    nodelay: Cell<bool>,
    /// Bytes flushed since the loop last had to wait (see [`FLUSH_BUDGET`]).
    unyielded: Cell<usize>,
    /// The serving loop's idle, head and body deadlines, one after another.
    deadline: serve::DeadlineTimer,
    /// The handler answers with `101 Switching Protocols` (a WebSocket
    /// upgrade): the codec's end of the response is that head.
    switching: Cell<bool>,
    /// Set by [`HTTP1Connection::detach`]: the stream belongs to another
    /// protocol, and the serving loop ends without closing it.
    detached: Cell<bool>,
    params: HTTP1ConnectionParameters,
}

/// Why a response could not be written.
///
/// # Tornado
/// `httputil.HTTPOutputError` (our own misuse of the protocol) and
/// `iostream.StreamClosedError` (the client is gone).
#[derive(Debug)]
pub enum HTTPOutputError {
    /// The response broke HTTP/1.1 (e.g. a write after `finish`, or more
    /// bytes than the `Content-Length` announced).
    Protocol(LocalProtocolError),
    /// The connection is closed.
    Stream(StreamError),
}

impl fmt::Display for HTTPOutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HTTPOutputError::Protocol(err) => write!(f, "HTTP output error: {err}"),
            HTTPOutputError::Stream(err) => err.fmt(f),
        }
    }
}

impl std::error::Error for HTTPOutputError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HTTPOutputError::Protocol(err) => Some(err),
            HTTPOutputError::Stream(err) => Some(err),
        }
    }
}

impl From<LocalProtocolError> for HTTPOutputError {
    fn from(err: LocalProtocolError) -> Self {
        HTTPOutputError::Protocol(err)
    }
}

impl From<StreamError> for HTTPOutputError {
    fn from(err: StreamError) -> Self {
        HTTPOutputError::Stream(err)
    }
}

impl HTTP1Connection {
    pub(crate) fn new(
        stream: IOStream,
        address: SocketAddr,
        params: HTTP1ConnectionParameters,
    ) -> Self {
        let codec = Codec::new(params.codec_config());
        HTTP1Connection {
            shared: Rc::new(Shared {
                stream,
                codec: RefCell::new(codec),
                out: RefCell::new(BytesMut::new()), // taken from the pool on first use
                context: RefCell::new(RequestContext {
                    address,
                    remote_ip: address.ip().to_string(),
                    protocol: "http",
                }),
                close_callback: RefCell::new(None),
                close_waiters: RefCell::default(),
                read_hint: Cell::new(buffers::INITIAL_READ),
                nodelay: Cell::new(false),
                unyielded: Cell::new(0),
                deadline: serve::DeadlineTimer::default(),
                switching: Cell::new(false),
                detached: Cell::new(false),
                params,
            }),
        }
    }

    /// The output buffer, taken from the pool if the connection had
    /// given it back while idle.
    pub(crate) fn out(&self) -> std::cell::RefMut<'_, BytesMut> {
        let mut out = self.shared.out.borrow_mut();
        if out.capacity() == 0 {
            *out = buffers::acquire();
        }
        out
    }

    /// Gives both buffers back to the pool while waiting for the next
    /// request; `false` (keeping them) if either still holds data.
    pub(crate) fn release_buffers(&self) -> bool {
        let mut codec = self.shared.codec.borrow_mut();
        let mut out = self.shared.out.borrow_mut();
        if !codec.read_buf().is_empty() || !out.is_empty() {
            return false;
        }
        buffers::release(std::mem::take(codec.read_buf()));
        buffers::release(std::mem::take(&mut *out));
        if let Some(headers) = codec.take_spare_headers() {
            recycle_header_map(headers);
        }
        true
    }

    /// Response bytes not yet taken by the kernel: those still in the output
    /// buffer and those queued on the stream (where `write_bytes` puts large
    /// body pieces). The serving loop flushes by this, so nothing queued is
    /// held back or dropped at close.
    pub(crate) fn pending_output(&self) -> usize {
        self.shared.out.borrow().len() + self.shared.stream.write_buffer_size()
    }

    /// Hands bytes read elsewhere to the codec (taking a pooled buffer).
    pub(crate) fn receive(&self, bytes: &[u8]) {
        let mut codec = self.shared.codec.borrow_mut();
        let buffer = codec.read_buf();
        if buffer.capacity() == 0 {
            *buffer = buffers::acquire();
        }
        buffer.extend_from_slice(bytes);
    }

    /// Reads once from the socket into the codec's buffer (taking a pooled
    /// buffer if it has none), at most `chunk_size` bytes.
    pub(crate) fn poll_read(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<usize, StreamError>> {
        let mut codec = self.shared.codec.borrow_mut();
        let buffer = codec.read_buf();
        if buffer.capacity() == 0 {
            *buffer = buffers::acquire();
        }
        let hint = self.shared.read_hint.get();
        let want = buffers::read_size(buffer, hint.min(self.shared.params.chunk_size));
        let polled = self.shared.stream.poll_read_into(cx, buffer, want);
        if let std::task::Poll::Ready(Ok(n)) = polled {
            let next = buffers::next_read_hint(hint, want, n);
            self.shared
                .read_hint
                .set(next.min(self.shared.params.chunk_size));
        }
        polled
    }

    /// The client's address, IP and protocol for the current request.
    ///
    /// # Tornado
    /// `HTTP1Connection.context`.
    pub fn context(&self) -> RequestContext {
        self.shared.context.borrow().clone()
    }

    /// Runs `f` on the request context, without cloning it.
    pub(crate) fn with_context<R>(&self, f: impl FnOnce(&RequestContext) -> R) -> R {
        f(&self.shared.context.borrow())
    }

    pub(crate) fn set_context(&self, context: RequestContext) {
        *self.shared.context.borrow_mut() = context;
    }

    /// The connection's parameters.
    ///
    /// # Tornado
    /// `HTTP1Connection.params`.
    pub fn params(&self) -> &HTTP1ConnectionParameters {
        &self.shared.params
    }

    /// The underlying stream.
    ///
    /// # Tornado
    /// `HTTP1Connection.stream`.
    pub fn stream(&self) -> &IOStream {
        &self.shared.stream
    }

    /// Encodes the response status line and headers, and `chunk` as the first
    /// piece of the body. Framing is chosen as Tornado chooses it: the
    /// `Content-Length` in `headers` if there is one, else chunked (HTTP/1.1)
    /// or close-delimited (HTTP/1.0); no body for HEAD, 1xx, 204, 304.
    /// A `Date` header is added unless `headers` has one.
    ///
    /// # Tornado
    /// `HTTP1Connection.write_headers(start_line, headers, chunk=None)`.
    pub fn write_headers(
        &self,
        status: u16,
        reason: &str,
        headers: &HTTPHeaders,
        chunk: Option<&[u8]>,
    ) -> Result<(), HTTPOutputError> {
        self.encode_head(status, reason, headers, chunk, None)
    }

    /// [`write_headers`](Self::write_headers) for fields checked when they
    /// were set (see `Codec::write_checked_headers`), with the first piece
    /// of the body encoded in the same pass and `then` more bytes of it
    /// checked against the framing (to be written next, without a copy).
    pub(crate) fn write_checked_headers(
        &self,
        status: u16,
        reason: &str,
        headers: &HTTPHeaders,
        chunk: &[u8],
        then: usize,
    ) -> Result<(), HTTPOutputError> {
        self.encode_head(status, reason, headers, Some(chunk), Some(then))
    }

    fn encode_head(
        &self,
        status: u16,
        reason: &str,
        headers: &HTTPHeaders,
        chunk: Option<&[u8]>,
        // `Some(then)`: the fields were checked when set (see above).
        checked: Option<usize>,
    ) -> Result<(), HTTPOutputError> {
        self.check_open()?;
        DATE.with(|date| {
            let mut date = date.borrow_mut();
            date.update(loop_system_now());
            let head = ResponseHead {
                status,
                reason,
                headers,
                date: Some(&date),
            };
            let mut out = self.out();
            let mut codec = self.shared.codec.borrow_mut();
            match checked {
                Some(then) => codec.write_checked_headers(&head, chunk, then, &mut *out),
                None => codec.write_headers(&head, chunk, &mut *out),
            }
        })?;
        Ok(())
    }

    /// Encodes a piece of the response body.
    ///
    /// # Tornado
    /// `HTTP1Connection.write(chunk)`.
    pub fn write(&self, chunk: &[u8]) -> Result<(), HTTPOutputError> {
        self.check_open()?;
        let mut out = self.out();
        self.shared.codec.borrow_mut().write(chunk, &mut *out)?;
        Ok(())
    }

    /// Encodes a piece of the response body given as `Bytes`: a large piece
    /// is queued for the socket as it is, beside its framing, instead of
    /// being copied into the output buffer (a streamed 64 KiB chunk costs no
    /// copy here). The bytes on the wire are [`write`](Self::write)'s.
    ///
    /// # Tornado
    /// `HTTP1Connection.write(chunk)`, as [`write`](Self::write).
    pub fn write_bytes(&self, chunk: Bytes) -> Result<(), HTTPOutputError> {
        if chunk.len() < ZERO_COPY_MIN {
            return self.write(&chunk);
        }
        self.check_open()?;
        let mut out = self.out();
        let framing = self
            .shared
            .codec
            .borrow_mut()
            .frame_body(chunk.len(), &mut *out)?;
        if framing.send_body {
            // Everything encoded so far, then the piece itself, in order.
            let before = out.split().freeze();
            self.shared.stream.write(before)?;
            self.shared.stream.write(chunk)?;
            out.extend_from_slice(framing.suffix);
        }
        Ok(())
    }

    /// Ends the response (the last chunk, for a chunked one). The current
    /// request's close callback is dropped: the request is over.
    ///
    /// # Tornado
    /// `HTTP1Connection.finish()`.
    pub fn finish(&self) -> Result<(), HTTPOutputError> {
        self.check_open()?;
        if self.shared.switching.get() {
            // A `101` head has no body to end. The new protocol's messages
            // go out as they are written, as Tornado's `finish` arranges
            // for every stream.
            if !self.shared.nodelay.replace(true) {
                let _ = self.shared.stream.set_nodelay(true);
            }
            return Ok(());
        }
        {
            let mut out = self.out();
            self.shared.codec.borrow_mut().finish(&mut *out)?;
        }
        drop(self.shared.close_callback.borrow_mut().take());
        // No more data is coming, so have TCP send what remains at once
        // (Tornado's `finish` does the same, on every response; once per
        // connection is enough). A failure only costs latency.
        if !self.shared.nodelay.replace(true) {
            let _ = self.shared.stream.set_nodelay(true);
        }
        Ok(())
    }

    /// Sends everything encoded so far; resolves when the kernel holds it.
    ///
    /// While the client reads slowly this waits (backpressure); if the client
    /// has gone it fails. A handler that keeps flushing on a fast network
    /// yields to the loop every MiB it sends, so it cannot starve
    /// other connections.
    ///
    /// # Tornado
    /// No `flush` in Tornado: the future that `HTTP1Connection.write(chunk)`
    /// returns resolves once the chunk is sent.
    pub async fn flush(&self) -> Result<(), HTTPOutputError> {
        // Pieces `write_bytes` queued on the stream count too: a stream of
        // large pieces leaves almost nothing in `out`.
        let sending = self.pending_output();
        // Straight from the output buffer to the socket, unless `write_bytes`
        // queued pieces on the stream ahead of it.
        let mut flush = std::pin::pin!(self.shared.stream.flush_from(&self.shared.out));
        let mut waited = false;
        std::future::poll_fn(|cx| {
            let poll = flush.as_mut().poll(cx);
            waited |= poll.is_pending();
            poll
        })
        .await?;
        if waited {
            self.shared.unyielded.set(0);
        } else {
            let sent = self.shared.unyielded.get().saturating_add(sending);
            self.shared.unyielded.set(sent);
            if sent >= FLUSH_BUDGET {
                self.shared.unyielded.set(0);
                moment().await;
            }
        }
        Ok(())
    }

    /// Lets the current response be `101 Switching Protocols` (`true`):
    /// the handler is about to [`detach`](Self::detach) the stream.
    pub(crate) fn set_switching_protocols(&self, switching: bool) {
        self.shared.switching.set(switching);
    }

    /// True if the current response may be (or is) `101 Switching Protocols`.
    pub(crate) fn switching_protocols(&self) -> bool {
        self.shared.switching.get()
    }

    /// Takes the stream away from HTTP, after a `101 Switching Protocols`
    /// head: returns the stream and the bytes already read past the
    /// request (the new protocol's first bytes). The response head still in
    /// the output buffer is queued on the stream, for the new protocol's
    /// first flush to send. The serving loop then ends without closing the
    /// stream, reading no more from it, and the server no longer counts
    /// the connection among its own.
    ///
    /// # Tornado
    /// `HTTP1Connection.detach()`.
    pub fn detach(&self) -> Result<(IOStream, BytesMut), HTTPOutputError> {
        self.check_open()?;
        self.shared.detached.set(true);
        let head = self.shared.out.borrow_mut().split().freeze();
        if !head.is_empty() {
            self.shared.stream.write(head)?;
        }
        let rest = std::mem::take(self.shared.codec.borrow_mut().read_buf());
        Ok((self.shared.stream.clone(), rest))
    }

    /// True once [`detach`](Self::detach) has handed the stream over.
    pub(crate) fn detached(&self) -> bool {
        self.shared.detached.get()
    }

    /// Calls `callback` if the connection closes before the current
    /// response is finished.
    ///
    /// # Tornado
    /// `HTTP1Connection.set_close_callback(callback)`.
    pub fn set_close_callback(&self, callback: impl FnOnce() + 'static) {
        *self.shared.close_callback.borrow_mut() = Some(Box::new(callback));
    }

    /// Changes the body limit for the current request.
    ///
    /// # Tornado
    /// `HTTP1Connection.set_max_body_size(max_body_size)`.
    pub fn set_max_body_size(&self, max_body_size: u64) {
        self.shared
            .codec
            .borrow_mut()
            .set_max_body_size(max_body_size);
    }

    /// The current request's body size limit (see
    /// [`set_max_body_size`](Self::set_max_body_size)).
    pub(crate) fn max_body_size(&self) -> u64 {
        self.shared.codec.borrow().max_body_size()
    }

    /// Ends the connection after the current response, which (if its head is
    /// not yet written) says `Connection: close`.
    pub(crate) fn disable_keep_alive(&self) {
        self.shared.codec.borrow_mut().disable_keep_alive();
    }

    /// Answers with a bodiless `status` response (`Content-Length: 0`,
    /// `Connection: close`) unless a response was already started; used for
    /// requests the server refuses.
    #[cold]
    pub(crate) fn respond_with_status(&self, status: u16) {
        if self.response_started() || self.closed() {
            return;
        }
        // A refusal after the request was read to its end (a gzip body that
        // does not decode) would otherwise leave the connection open.
        self.disable_keep_alive();
        let headers = HTTPHeaders::new();
        let mut out = self.out();
        DATE.with(|date| {
            let mut date = date.borrow_mut();
            date.update(loop_system_now());
            let head = ResponseHead {
                status,
                reason: "",
                headers: &headers,
                date: Some(&date),
            };
            // Refused only if the state allows no response, and then none is sent.
            let _ = self
                .shared
                .codec
                .borrow_mut()
                .write_response(&head, b"", &mut *out);
        });
    }

    /// True once the response has been finished.
    pub fn response_finished(&self) -> bool {
        matches!(
            self.shared.codec.borrow().our_state(),
            State::Done | State::MustClose | State::Closed
        )
    }

    /// True once any of the response (its head) has been encoded.
    pub fn response_started(&self) -> bool {
        !matches!(
            self.shared.codec.borrow().our_state(),
            State::Idle | State::SendResponse
        )
    }

    /// True once the connection is closed.
    pub fn closed(&self) -> bool {
        self.shared.stream.closed()
    }

    fn check_open(&self) -> Result<(), HTTPOutputError> {
        if self.shared.stream.closed() {
            return Err(HTTPOutputError::Stream(StreamError::Closed(
                crate::iostream::StreamClosedError {
                    real_error: self.shared.stream.error(),
                },
            )));
        }
        Ok(())
    }

    /// Closes the stream and wakes what waits for the close, without the
    /// close callback (user code): for a connection whose serving ended
    /// without `serve_connection`'s own close, by a panic or a dropped task.
    pub(crate) fn close_abandoned(&self) {
        if self.detached() {
            return; // another protocol's stream now
        }
        self.shared.stream.close();
        self.wake_close_waiters();
    }

    /// Runs the close callback, if one is set (the connection closed early).
    fn fire_close_callback(&self) {
        let callback = self.shared.close_callback.borrow_mut().take();
        if let Some(callback) = callback {
            callback();
        }
        self.wake_close_waiters();
    }
}

impl fmt::Debug for HTTP1Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HTTP1Connection")
            .field("context", &*self.shared.context.borrow())
            .field("closed", &self.closed())
            .finish()
    }
}
