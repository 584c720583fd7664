//! One request/response exchange over one connection: the client's serving
//! loop, with all parsing left to [`ClientCodec`].
//!
//! # Tornado
//!
//! `simple_httpclient._HTTPConnection` (`_on_connect`, `_write_body`,
//! `headers_received`, `data_received`, `finish`) and the client half of
//! `HTTP1Connection._read_message`, including `_GzipMessageDelegate`.

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::io::{self, Write};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use flate2::write::MultiGzDecoder;

use super::request::{BodyWriter, StreamingCallback};
use super::response::{HTTPClientError, MalformedResponse};
use super::stream::ClientStream;
use super::HTTPRequest;
use crate::gen::moment;
use crate::http1::{
    ClientCodec, ClientEvent, ClientRequest, LocalProtocolError, ParseError, ResponseInfo,
};
use crate::httputil::HTTPHeaders;
use crate::ioloop::noop_waker;

/// Most bytes read from the socket at once, and so the largest body chunk.
pub(crate) const READ_CHUNK_SIZE: usize = 64 * 1024;

/// Body chunks smaller than this are copied before a `streaming_callback`
/// gets them. A chunk is a view into the (at least 64 KiB) buffer it was
/// read into, and would keep all of it alive for as long as the callback
/// keeps the chunk; a chunk this large or larger holds at most a few times
/// its size.
const ZERO_COPY_MIN: usize = 16 * 1024;

/// Most body bytes written to the socket before the loop turns, and so the
/// response is read. A server that answers early and then closes on the
/// unread body sends a reset, which fails the next write; that closes the
/// stream, the answer with it if still unread. Reading between pieces makes
/// that rare: only a reset that comes in the midst of a piece's writes can
/// still lose it (Tornado writes the body in one go, and often loses it).
const SEND_PIECE: usize = 64 * 1024;

/// Most informational (1xx) responses accepted before the final one: a
/// `100 Continue` and a few `103 Early Hints` are what servers send; an
/// endless stream of them would keep the exchange reading (and the loop
/// busy) without ever reaching the request's deadline check.
pub const MAX_INFORMATIONAL: usize = 16;

/// Whether `method` may be sent again after a connection failed with no
/// answer (RFC 9110 §9.2.2).
fn is_idempotent(method: &str) -> bool {
    matches!(
        method,
        "GET" | "HEAD" | "OPTIONS" | "TRACE" | "PUT" | "DELETE"
    )
}

/// A connection and its codec; shared with a request's [`BodyWriter`].
#[derive(Debug)]
pub(crate) struct Connection {
    pub(crate) stream: Box<dyn ClientStream>,
    pub(crate) codec: RefCell<ClientCodec>,
}

/// A request ready to go on the wire.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) target: String,
    pub(crate) headers: HTTPHeaders,
}

/// How an exchange went.
#[derive(Debug)]
pub(crate) struct Exchanged {
    pub(crate) head: ResponseInfo,
    /// The body, unless it was streamed or discarded.
    pub(crate) body: Bytes,
    /// The connection can carry another request.
    pub(crate) reusable: bool,
    /// `Location` of a redirect to follow (its body was discarded).
    pub(crate) redirect: Option<String>,
}

/// An exchange that failed, and whether a retry on a new connection is safe:
/// nothing came back from the server and nothing was handed to callbacks.
#[derive(Debug)]
pub(crate) struct Failed {
    pub(crate) error: HTTPClientError,
    pub(crate) retryable: bool,
}

impl Failed {
    fn new(error: HTTPClientError) -> Failed {
        Failed {
            error,
            retryable: false,
        }
    }
}

/// The request going out (head, then body) while the response is read.
type Sending<'a> = Pin<Box<dyn Future<Output = Result<(), SendError>> + 'a>>;

/// Why sending a request stopped short.
#[derive(Debug)]
pub(crate) enum SendError {
    /// The connection failed; the server may have answered before.
    Io(io::Error),
    /// More body than the request's framing allows.
    Framing(LocalProtocolError),
    /// The body producer failed, or wrote less than its `Content-Length`.
    Producer(io::Error),
}

/// What waiting on the connection brought.
enum Progress {
    /// Bytes read into the codec (0 at EOF), or the read failed.
    Read(io::Result<usize>),
    /// The request went out whole, or failed to.
    Sent(Result<(), SendError>),
}

impl Connection {
    pub(crate) fn new(stream: Box<dyn ClientStream>, codec: ClientCodec) -> Connection {
        Connection {
            stream,
            codec: RefCell::new(codec),
        }
    }

    async fn send(&self, bytes: Vec<u8>) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.stream.write(Bytes::from(bytes))?;
        self.stream.flush().await
    }

    /// Frames and sends part of a request body, [`SEND_PIECE`] bytes at a
    /// time, letting the loop turn between pieces.
    pub(crate) async fn send_body_chunk(&self, chunk: &[u8]) -> Result<(), SendError> {
        for (i, piece) in chunk.chunks(SEND_PIECE).enumerate() {
            let mut out = Vec::with_capacity(piece.len() + 16);
            self.codec
                .borrow_mut()
                .write(piece, &mut out)
                .map_err(SendError::Framing)?;
            if i > 0 {
                // Framed first, so that the write follows the loop's look
                // for response bytes as closely as it can.
                moment().await;
            }
            self.send(out).await.map_err(SendError::Io)?;
        }
        Ok(())
    }

    /// Whether nothing arrived on this idle connection since its last
    /// response: no bytes and no close (polled once, without waiting).
    pub(crate) fn is_quiet(&self) -> bool {
        let waker = noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut codec = self.codec.borrow_mut();
        self.stream
            .poll_read_into(&mut cx, codec.read_buf(), 1)
            .is_pending()
    }

    /// Reads once into the codec; EOF is passed on to it.
    fn poll_read_more(&self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let polled = {
            let mut codec = self.codec.borrow_mut();
            self.stream
                .poll_read_into(cx, codec.read_buf(), READ_CHUNK_SIZE)
        };
        if let Poll::Ready(Ok(0)) = polled {
            self.codec.borrow_mut().receive_eof();
        }
        polled
    }

    /// Waits for response bytes, driving `sending` (if any) meanwhile.
    async fn progress(&self, sending: &mut Option<Sending<'_>>) -> Progress {
        poll_fn(|cx| {
            // Reading comes first: a server that answers and then resets the
            // connection (closing with the body unread) has its answer read
            // before a failing write closes the stream.
            if let Poll::Ready(read) = self.poll_read_more(cx) {
                return Poll::Ready(Progress::Read(read));
            }
            match sending.as_mut().map(|sending| sending.as_mut().poll(cx)) {
                Some(Poll::Ready(sent)) => {
                    *sending = None;
                    Poll::Ready(Progress::Sent(sent))
                }
                _ => Poll::Pending,
            }
        })
        .await
    }

    /// Sends the body (whole, or from the producer) and ends the request.
    async fn send_body(self: &Rc<Self>, request: &HTTPRequest) -> Result<(), SendError> {
        if let Some(body) = &request.body {
            self.send_body_chunk(body).await?;
        } else if let Some(producer) = &request.body_producer {
            let writer = BodyWriter {
                connection: self.clone(),
            };
            producer(writer).await.map_err(SendError::Producer)?;
        }
        let mut out = Vec::new();
        self.codec
            .borrow_mut()
            .finish(&mut out)
            .map_err(|err| SendError::Producer(io::Error::other(err)))?;
        self.send(out).await.map_err(SendError::Io)
    }

    /// Sends `request` and reads its response, reading while the request
    /// is still going out.
    ///
    /// # Tornado
    ///
    /// `_write_body` writes the body without waiting for it and reads the
    /// response meanwhile, so a server that answers before it has read the
    /// body (a 413, a 401), and perhaps never reads it, is heard. Here a
    /// body producer's body is read alongside too (Tornado reads only once
    /// the producer is done).
    pub(crate) async fn exchange(
        self: &Rc<Self>,
        request: &HTTPRequest,
        prepared: &Prepared,
        body_limit: u64,
    ) -> Result<Exchanged, Failed> {
        let mut head = Vec::with_capacity(256);
        self.codec
            .borrow_mut()
            .write_request(
                &ClientRequest {
                    method: &request.method,
                    target: &prepared.target,
                    headers: &prepared.headers,
                },
                &mut head,
            )
            .map_err(|err| Failed::new(HTTPClientError::InvalidRequest(err.to_string())))?;
        // A reused connection the server has meanwhile closed fails before
        // the first response byte; then a retry is safe, but only for a
        // request that may be repeated (RFC 9110 §9.2.2): a POST the server
        // received before it closed must not be sent twice.
        let repeatable = request.body_producer.is_none() && is_idempotent(&request.method);
        let mut body_started = !request.expect_100_continue;
        let mut sending: Option<Sending<'_>> = Some(if body_started {
            Box::pin(async move {
                self.send(head).await.map_err(SendError::Io)?;
                self.send_body(request).await
            })
        } else {
            Box::pin(async move { self.send(head).await.map_err(SendError::Io) })
        });
        // The whole request went out.
        let mut sent = false;
        // Why sending failed, reported if reading fails too (it then does
        // because of it).
        let mut send_failure = None;
        let mut received_any = false;
        let mut informational = 0;
        let mut response: Option<(ResponseInfo, Option<String>)> = None;
        let mut sink = Sink::Discard;
        loop {
            let event = self.codec.borrow_mut().next_event();
            match event {
                Ok(ClientEvent::NeedData) => match self.progress(&mut sending).await {
                    Progress::Read(Ok(n)) => received_any |= n > 0,
                    Progress::Read(Err(err)) => {
                        return Err(Failed {
                            error: HTTPClientError::StreamClosed(Some(
                                send_failure.take().unwrap_or(err),
                            )),
                            retryable: !received_any && repeatable,
                        })
                    }
                    Progress::Sent(Ok(())) => sent = body_started,
                    // Reported only if reading fails too (with `IOStream`,
                    // whose failed write closes it, the next read does).
                    Progress::Sent(Err(SendError::Io(err))) => send_failure = Some(err),
                    Progress::Sent(Err(SendError::Framing(err))) => {
                        return Err(Failed::new(HTTPClientError::InvalidRequest(
                            err.to_string(),
                        )))
                    }
                    Progress::Sent(Err(SendError::Producer(err))) => {
                        return Err(Failed::new(HTTPClientError::BodyProducer(err)))
                    }
                },
                Ok(ClientEvent::ConnectionClosed) => {
                    return Err(Failed {
                        error: HTTPClientError::StreamClosed(send_failure.take()),
                        retryable: !received_any && repeatable,
                    })
                }
                Ok(ClientEvent::Informational(head)) => {
                    informational += 1;
                    if informational > MAX_INFORMATIONAL {
                        return Err(Failed::new(HTTPClientError::MalformedResponse(
                            MalformedResponse::TooManyInformational,
                        )));
                    }
                    if head.code() == 100 && !body_started {
                        body_started = true;
                        // After the head, should it still be going out.
                        let sending_head = sending.take();
                        sending = Some(Box::pin(async move {
                            if let Some(sending_head) = sending_head {
                                sending_head.await?;
                            }
                            self.send_body(request).await
                        }));
                    }
                }
                Ok(ClientEvent::Response(mut head)) => {
                    // The body keeps going out while the response is read: a
                    // server may answer early (a 400 head) and end its
                    // answer only once it has read the whole body. What is
                    // unsent when the response ends is dropped with the
                    // connection.
                    let redirect = redirect_location(request, &head);
                    // Tornado's _GzipMessageDelegate renames the field before
                    // the client sees the head (a header_callback included).
                    let gzip = request.decompress_response && consume_gzip(&mut head);
                    if redirect.is_none() {
                        if let Some(callback) = &request.header_callback {
                            call_header_callback(&mut *callback.borrow_mut(), &head);
                        }
                        let deliver = Deliver::new(request.streaming_callback.clone(), body_limit);
                        sink = if gzip {
                            Sink::Gzip(Box::new(MultiGzDecoder::new(deliver)), false)
                        } else {
                            Sink::Plain(deliver)
                        };
                    }
                    self.codec.borrow_mut().set_max_body_size(body_limit);
                    response = Some((head, redirect));
                }
                Ok(ClientEvent::Data(data)) => sink.push(data).map_err(Failed::new)?,
                Ok(ClientEvent::EndOfMessage { .. }) => break,
                Err(error) => {
                    return Err(Failed::new(HTTPClientError::MalformedResponse(
                        MalformedResponse::Parse(error),
                    )))
                }
            }
        }
        // A request still going out once its response is complete is
        // abandoned with its connection, as Tornado closes the stream after
        // every response.
        drop(sending);
        let Some((head, redirect)) = response else {
            return Err(Failed::new(HTTPClientError::StreamClosed(None)));
        };
        let body = sink.finish().map_err(Failed::new)?;
        let reusable = sent && {
            let mut codec = self.codec.borrow_mut();
            codec.start_next_cycle().is_ok() && codec.read_buf().is_empty()
        };
        Ok(Exchanged {
            head,
            body,
            reusable,
            redirect,
        })
    }
}

/// With `Content-Encoding: gzip`, renames the field
/// `X-Consumed-Content-Encoding` (the body is delivered decoded) and
/// returns true.
///
/// # Tornado
///
/// `_GzipMessageDelegate.headers_received`.
fn consume_gzip(head: &mut ResponseInfo) -> bool {
    let headers = head.headers_mut();
    // Every line, joined, must say just `gzip` (Tornado's `headers.get`
    // joins them): `br` then `gzip` is not decoded at all.
    let value = {
        let mut lines = headers.get_list_bytes("Content-Encoding");
        match (lines.next(), lines.next()) {
            (Some(value), None) if value.trim_ascii().eq_ignore_ascii_case(b"gzip") => {
                Bytes::copy_from_slice(value)
            }
            _ => return false,
        }
    };
    headers.add("X-Consumed-Content-Encoding", value);
    headers.remove("Content-Encoding");
    true
}

/// The `Location` to follow, if `request` follows this response.
///
/// A value that is not UTF-8 is read as Latin-1, as Tornado reads every
/// header value: `/caf\xe9` is `/café`, sent (percent-encoded) as UTF-8.
/// A UTF-8 value is read as UTF-8, where Tornado's Latin-1 would encode it
/// twice.
///
/// # Tornado
///
/// `_HTTPConnection._should_follow_redirect`.
fn redirect_location(request: &HTTPRequest, head: &ResponseInfo) -> Option<String> {
    if !request.follow_redirects || request.max_redirects == 0 {
        return None;
    }
    if !matches!(head.code(), 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let value = head.headers().get_bytes("Location")?;
    Some(match std::str::from_utf8(value) {
        Ok(text) => text.to_owned(),
        Err(_) => value.iter().map(|&b| char::from(b)).collect(),
    })
}

/// Passes the head to a `header_callback` line by line, as Tornado does.
fn call_header_callback(callback: &mut dyn FnMut(&str), head: &ResponseInfo) {
    callback(&format!(
        "{} {} {}\r\n",
        head.version().as_str(),
        head.code(),
        head.reason()
    ));
    for (name, value) in head.headers().iter() {
        callback(&format!(
            "{}: {}\r\n",
            String::from_utf8_lossy(name),
            String::from_utf8_lossy(value)
        ));
    }
    callback("\r\n");
}

/// Where body bytes go: the streaming callback, or a buffer; either way
/// counted against the body limit (after decompression).
struct Deliver {
    callback: Option<StreamingCallback>,
    body: BytesMut,
    limit: u64,
    total: u64,
}

impl Deliver {
    fn new(callback: Option<StreamingCallback>, limit: u64) -> Deliver {
        Deliver {
            callback,
            body: BytesMut::new(),
            limit,
            total: 0,
        }
    }

    /// Counts `len` more body bytes against the limit.
    fn count(&mut self, len: usize) -> io::Result<()> {
        self.total = self.total.saturating_add(len as u64);
        if self.total > self.limit {
            return Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                ParseError::ResponseBodyTooLarge.as_str(),
            ));
        }
        Ok(())
    }

    /// Delivers a chunk that shares the receive buffer.
    fn push(&mut self, data: Bytes) -> io::Result<()> {
        self.count(data.len())?;
        match &self.callback {
            Some(callback) if data.len() < ZERO_COPY_MIN => {
                (callback.borrow_mut())(Bytes::copy_from_slice(&data));
            }
            Some(callback) => (callback.borrow_mut())(data),
            None => self.body.extend_from_slice(&data),
        }
        Ok(())
    }
}

/// The gzip decoder's output, in pieces of its own buffer.
impl Write for Deliver {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.count(data.len())?;
        match &self.callback {
            Some(callback) => (callback.borrow_mut())(Bytes::copy_from_slice(data)),
            None => self.body.extend_from_slice(data),
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The body consumer chosen by the response head.
enum Sink {
    /// A redirect's body (or no response yet).
    Discard,
    Plain(Deliver),
    /// The decoder writes its output to the `Deliver` in pieces of at most
    /// its buffer size, so memory stays bounded even for a gzip bomb; the
    /// flag records whether any compressed byte arrived.
    Gzip(Box<MultiGzDecoder<Deliver>>, bool),
}

impl Sink {
    fn push(&mut self, data: Bytes) -> Result<(), HTTPClientError> {
        match self {
            Sink::Discard => Ok(()),
            Sink::Plain(deliver) => deliver.push(data).map_err(body_error),
            Sink::Gzip(decoder, started) => {
                *started = true;
                decoder.write_all(&data).map_err(body_error)
            }
        }
    }

    fn finish(self) -> Result<Bytes, HTTPClientError> {
        match self {
            Sink::Discard => Ok(Bytes::new()),
            Sink::Plain(deliver) => Ok(deliver.body.freeze()),
            Sink::Gzip(mut decoder, started) => {
                if started {
                    decoder.try_finish().map_err(body_error)?;
                }
                Ok(std::mem::take(&mut decoder.get_mut().body).freeze())
            }
        }
    }
}

fn body_error(err: io::Error) -> HTTPClientError {
    if err.kind() == io::ErrorKind::OutOfMemory {
        HTTPClientError::MalformedResponse(MalformedResponse::Parse(
            ParseError::ResponseBodyTooLarge,
        ))
    } else {
        HTTPClientError::MalformedResponse(MalformedResponse::Gzip(err))
    }
}
