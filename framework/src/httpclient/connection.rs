//! One request/response exchange over one connection: the client's serving
//! loop, with all parsing left to [`ClientCodec`].
//!
//! # Tornado
//!
//! `simple_httpclient._HTTPConnection` (`_on_connect`, `_write_body`,
//! `headers_received`, `data_received`, `finish`) and the client half of
//! `HTTP1Connection._read_message`, including `_GzipMessageDelegate`.

use std::cell::RefCell;
use std::future::poll_fn;
use std::io::{self, Write};
use std::rc::Rc;
use std::task::Context;

use bytes::{Bytes, BytesMut};
use flate2::write::MultiGzDecoder;

use super::request::{BodyWriter, StreamingCallback};
use super::response::{HTTPClientError, MalformedResponse};
use super::stream::ClientStream;
use super::HTTPRequest;
use crate::http1::{
    ClientCodec, ClientEvent, ClientRequest, ParseError, ResponseFraming, ResponseInfo,
};
use crate::httputil::HTTPHeaders;
use crate::ioloop::noop_waker;

/// Most bytes read from the socket at once, and so the largest body chunk.
pub(crate) const READ_CHUNK_SIZE: usize = 64 * 1024;

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

    /// Frames and sends one piece of a request body.
    pub(crate) async fn send_body_chunk(&self, chunk: &Bytes) -> io::Result<()> {
        let mut out = Vec::with_capacity(chunk.len() + 16);
        self.codec
            .borrow_mut()
            .write(chunk, &mut out)
            .map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, err))?;
        self.send(out).await
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
    async fn read_more(&self) -> io::Result<usize> {
        let n = poll_fn(|cx| {
            let mut codec = self.codec.borrow_mut();
            self.stream
                .poll_read_into(cx, codec.read_buf(), READ_CHUNK_SIZE)
        })
        .await?;
        if n == 0 {
            self.codec.borrow_mut().receive_eof();
        }
        Ok(n)
    }

    /// Sends the body (whole, or from the producer) and ends the request.
    async fn send_body(self: &Rc<Self>, request: &HTTPRequest) -> Result<(), Failed> {
        let closed = |err: io::Error| Failed::new(HTTPClientError::StreamClosed(Some(err)));
        if let Some(body) = &request.body {
            let framed = {
                let mut out = Vec::with_capacity(body.len() + 8);
                let mut codec = self.codec.borrow_mut();
                codec
                    .write(body, &mut out)
                    .and_then(|()| codec.finish(&mut out))
                    .map(|()| out)
            };
            let out = framed
                .map_err(|err| Failed::new(HTTPClientError::InvalidRequest(err.to_string())))?;
            return self.send(out).await.map_err(closed);
        }
        if let Some(producer) = &request.body_producer {
            let writer = BodyWriter {
                connection: self.clone(),
            };
            producer(writer)
                .await
                .map_err(|err| Failed::new(HTTPClientError::BodyProducer(err)))?;
        }
        let mut out = Vec::new();
        self.codec
            .borrow_mut()
            .finish(&mut out)
            .map_err(|err| Failed::new(HTTPClientError::BodyProducer(io::Error::other(err))))?;
        self.send(out).await.map_err(closed)
    }

    /// Sends `request` and reads its response.
    pub(crate) async fn exchange(
        self: &Rc<Self>,
        request: &HTTPRequest,
        prepared: &Prepared,
        body_limit: u64,
    ) -> Result<Exchanged, Failed> {
        let mut out = Vec::with_capacity(256);
        self.codec
            .borrow_mut()
            .write_request(
                &ClientRequest {
                    method: &request.method,
                    target: &prepared.target,
                    headers: &prepared.headers,
                },
                &mut out,
            )
            .map_err(|err| Failed::new(HTTPClientError::InvalidRequest(err.to_string())))?;
        // A reused connection the server has meanwhile closed fails here or
        // before the first response byte; then a retry is safe.
        // Only a request that may be repeated (RFC 9110 §9.2.2): a POST the
        // server received before it closed must not be sent twice.
        let repeatable = request.body_producer.is_none() && is_idempotent(&request.method);
        let retry = |err: io::Error| Failed {
            error: HTTPClientError::StreamClosed(Some(err)),
            retryable: repeatable,
        };
        self.send(out).await.map_err(retry)?;
        let mut body_sent = false;
        if !request.expect_100_continue {
            self.send_body(request).await?;
            body_sent = true;
        }
        let mut received_any = false;
        let mut informational = 0;
        let mut response: Option<(ResponseInfo, Option<String>)> = None;
        let mut sink = Sink::Discard;
        loop {
            let event = self.codec.borrow_mut().next_event();
            match event {
                Ok(ClientEvent::NeedData) => match self.read_more().await {
                    Ok(n) => received_any |= n > 0,
                    Err(err) => {
                        return Err(Failed {
                            error: HTTPClientError::StreamClosed(Some(err)),
                            retryable: !received_any && repeatable,
                        })
                    }
                },
                Ok(ClientEvent::ConnectionClosed) => {
                    return Err(Failed {
                        error: HTTPClientError::StreamClosed(None),
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
                    if head.code() == 100 && !body_sent {
                        self.send_body(request).await?;
                        body_sent = true;
                    }
                }
                Ok(ClientEvent::Response(mut head)) => {
                    let redirect = redirect_location(request, &head);
                    if redirect.is_none() {
                        if let Some(callback) = &request.header_callback {
                            call_header_callback(&mut *callback.borrow_mut(), &head);
                        }
                        let streaming = request.streaming_callback.clone();
                        let gzip = request.decompress_response
                            && head.framing() != ResponseFraming::NoBody
                            && head
                                .headers()
                                .get("Content-Encoding")
                                .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"));
                        let deliver = Deliver::new(streaming, body_limit);
                        sink = if gzip {
                            let headers = head.headers_mut();
                            headers.add("X-Consumed-Content-Encoding", "gzip");
                            headers.remove("Content-Encoding");
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
        let Some((head, redirect)) = response else {
            return Err(Failed::new(HTTPClientError::StreamClosed(None)));
        };
        let body = sink.finish().map_err(Failed::new)?;
        let reusable = {
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

/// The `Location` to follow, if `request` follows this response.
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
    head.headers().get("Location").map(str::to_owned)
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

    fn push(&mut self, data: Bytes) -> io::Result<()> {
        self.total = self.total.saturating_add(data.len() as u64);
        if self.total > self.limit {
            return Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                ParseError::ResponseBodyTooLarge.as_str(),
            ));
        }
        match &self.callback {
            Some(callback) => (callback.borrow_mut())(data),
            None => self.body.extend_from_slice(&data),
        }
        Ok(())
    }
}

impl Write for Deliver {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.push(Bytes::copy_from_slice(data))?;
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
