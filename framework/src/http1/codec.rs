//! [`Codec`]: the server side of one HTTP/1.x connection, without the I/O.

use bytes::{BufMut, BytesMut};

use super::config::Config;
use super::error::{LocalProtocolError, ParseError};
use super::events::{Event, Framing, Version};
use super::head::HeadReader;
use super::readers::Decoder;
use super::receive_buffer::ReceiveBuffer;
use super::state::{ConnectionState, Side, State, Transition};
use super::writers::{plan, BodyFraming, Encoder, FieldCheck, HeadKind, RequestInfo, ResponseHead};
use crate::httputil::HTTPHeaders;

/// The interim response Tornado sends for `Expect: 100-continue`.
const CONTINUE: &[u8] = b"HTTP/1.1 100 (Continue)\r\n\r\n";

/// The server side of one HTTP/1.x connection as a sans-I/O state machine:
/// bytes in, [`Event`]s out; responses in, bytes out.
///
/// # Contract
///
/// The caller (the connection layer) owns the socket and the clock. It feeds
/// received bytes with [`receive_data`](Self::receive_data) (or appends them to
/// [`read_buf`](Self::read_buf)), reports EOF with
/// [`receive_eof`](Self::receive_eof), and calls
/// [`next_event`](Self::next_event) until it returns [`Event::NeedData`] (read
/// more) or [`Event::Paused`] (answer first). A request is `Request`, then
/// `Data`*, then `EndOfMessage`.
///
/// The response is written with [`write_headers`](Self::write_headers) (with
/// an optional first chunk), [`write`](Self::write) and
/// [`finish`](Self::finish), or all at once with
/// [`write_response`](Self::write_response); each appends wire bytes to a
/// caller-provided buffer. When both sides are done,
/// [`start_next_cycle`](Self::start_next_cycle) readies the codec for the next
/// (possibly already buffered, pipelined) request. When
/// [`our_state`](Self::our_state) is [`State::MustClose`], close the connection
/// once the output is flushed.
///
/// After `next_event` returns a [`ParseError`], answer with its
/// [`status_hint`](ParseError::status_hint) (the writer accepts a response even
/// though no request head was parsed) and close.
///
/// # Tornado
///
/// The protocol half of `tornado.http1connection.HTTP1Connection`:
/// `_read_message`/`_read_body` become `next_event`, and `write_headers`,
/// `write` and `finish` keep their names and framing rules.
///
/// # Examples
///
/// ```
/// use tornado::http1::{Codec, Event, ResponseHead};
/// use tornado::httputil::HTTPHeaders;
///
/// let mut codec = Codec::default();
/// codec.receive_data(b"GET /hello HTTP/1.1\r\nHost: example.com\r\n\r\n");
/// let Ok(Event::Request(head)) = codec.next_event() else { panic!() };
/// assert_eq!(head.uri(), "/hello");
/// assert!(matches!(codec.next_event(), Ok(Event::EndOfMessage { trailers: None })));
/// assert!(matches!(codec.next_event(), Ok(Event::NeedData)));
///
/// let mut out = Vec::new();
/// let headers = HTTPHeaders::new();
/// codec.write_response(&ResponseHead::new(200, &headers), b"hi", &mut out).unwrap();
/// assert_eq!(out, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
/// codec.start_next_cycle().unwrap();
/// ```
#[derive(Debug)]
pub struct Codec {
    config: Config,
    recv: ReceiveBuffer,
    state: ConnectionState,
    /// The head scan; meaningful while the client is `Idle`.
    head_reader: HeadReader,
    /// The body decoder; set while the client is in `SendBody`.
    decoder: Option<Decoder>,
    /// Facts about the request being answered; `None` until its head arrives.
    request: Option<RequestInfo>,
    /// The response body framing; set while the server is in `SendBody`.
    encoder: Option<Encoder>,
    /// The body limit for the current request.
    max_body_size: u64,
    /// A cleared header map handed back by the caller, filled by the next
    /// request head instead of a new allocation.
    spare_headers: Option<HTTPHeaders>,
    /// The error that put the client in `State::Error`, returned again by
    /// every later `next_event`.
    error: Option<ParseError>,
}

impl Default for Codec {
    fn default() -> Codec {
        Codec::new(Config::default())
    }
}

impl Codec {
    /// A codec for a new connection.
    pub fn new(config: Config) -> Codec {
        Codec {
            max_body_size: config.max_body_size,
            config,
            recv: ReceiveBuffer::new(),
            state: ConnectionState::new(),
            head_reader: HeadReader::default(),
            decoder: None,
            request: None,
            encoder: None,
            spare_headers: None,
            error: None,
        }
    }

    /// Adds bytes received from the peer. An empty slice means EOF, as in h11.
    ///
    /// Bytes received after EOF, or after a [`ParseError`], are dropped: they
    /// can never be parsed, and keeping them would let a peer grow the buffer.
    pub fn receive_data(&mut self, data: &[u8]) {
        if data.is_empty() {
            self.receive_eof();
        } else if !self.recv.is_eof() && self.error.is_none() {
            self.recv.extend(data);
        }
    }

    /// Records that the peer closed its sending side.
    pub fn receive_eof(&mut self) {
        self.recv.set_eof();
    }

    /// The receive buffer, for reading from a socket straight into it (for
    /// example with `tokio::io::AsyncReadExt::read_buf`) instead of copying
    /// through [`receive_data`](Self::receive_data).
    ///
    /// Bytes appended here count as received. Only append: removing or
    /// changing buffered bytes corrupts the parse. The buffer holds at most one
    /// incomplete head or chunk line (bounded by [`Config`]) plus whatever the
    /// caller reads in; stop reading while [`Event::Paused`] to bound it.
    pub fn read_buf(&mut self) -> &mut BytesMut {
        self.recv.buf_mut()
    }

    /// Returns the next event parsed from the received bytes.
    ///
    /// # Contract
    ///
    /// Never panics, whatever the bytes. Each call does work proportional to
    /// the bytes it consumes or newly examines. After an `Err`, every later call
    /// returns the same error.
    pub fn next_event(&mut self) -> Result<Event, ParseError> {
        let result = match self.state.client() {
            State::Idle => self.read_head(),
            State::SendBody => self.read_body(),
            State::Done | State::MustClose => Ok(self.after_request()),
            State::Closed => Ok(Event::ConnectionClosed),
            State::SendResponse | State::SwitchedProtocol => Ok(Event::Paused),
            State::Error => Err(self.error.unwrap_or(ParseError::NewLine)),
        };
        if let Err(error) = result {
            if self.error.is_none() {
                self.error = Some(error);
                self.state.process_error(Side::Client);
            }
        }
        result
    }

    fn read_head(&mut self) -> Result<Event, ParseError> {
        let head = self
            .head_reader
            .read(&mut self.recv, &self.config, &mut self.spare_headers)?;
        let Some(head) = head else {
            if !self.recv.is_eof() {
                return Ok(Event::NeedData);
            }
            if !self.recv.is_empty() {
                return Err(ParseError::IncompleteHead);
            }
            self.client_transition(Transition::ConnectionClosed);
            return Ok(Event::ConnectionClosed);
        };
        self.client_transition(Transition::Request);
        if !head.keep_alive() {
            self.state.process_keep_alive_disabled();
        }
        self.request = Some(RequestInfo {
            is_head: head.is_head(),
            is_connect: head.method_bytes() == b"CONNECT",
            version: head.version(),
        });
        self.decoder = Some(match head.framing() {
            Framing::Empty => Decoder::length(0),
            Framing::Length(n) => Decoder::length(n),
            Framing::Chunked => Decoder::chunked(),
        });
        Ok(Event::Request(head))
    }

    fn read_body(&mut self) -> Result<Event, ParseError> {
        let Some(decoder) = &mut self.decoder else {
            return Ok(Event::NeedData);
        };
        let event = decoder.decode(&mut self.recv, &self.config, self.max_body_size)?;
        match event {
            Event::EndOfMessage { .. } => {
                self.decoder = None;
                self.client_transition(Transition::EndOfMessage);
            }
            Event::NeedData if self.recv.is_eof() => return Err(ParseError::IncompleteBody),
            _ => {}
        }
        Ok(event)
    }

    /// The client finished its request: report pipelined bytes, EOF, or wait.
    fn after_request(&mut self) -> Event {
        if !self.recv.is_empty() {
            Event::Paused
        } else if self.recv.is_eof() {
            self.client_transition(Transition::ConnectionClosed);
            Event::ConnectionClosed
        } else {
            Event::NeedData
        }
    }

    /// Applies a client transition that the current state always allows.
    fn client_transition(&mut self, transition: Transition) {
        // Only called from states where the transition is valid, so this
        // cannot fail; there is nothing to report if it somehow did.
        let _ = self.state.process_event(Side::Client, transition);
    }

    /// Hands back the header map of a request that is done with, so that the
    /// next request head reuses its allocation: with it, a keep-alive
    /// connection parses requests without allocating at all.
    ///
    /// The map is cleared at once, which releases its references to the
    /// receive buffer so that the buffer's memory can be reused too.
    pub fn recycle_headers(&mut self, mut headers: HTTPHeaders) {
        headers.clear();
        self.spare_headers = Some(headers);
    }

    /// True if the next request head would need a new header map (none was
    /// handed back with [`recycle_headers`](Self::recycle_headers) since the
    /// last head).
    pub fn wants_headers(&self) -> bool {
        self.spare_headers.is_none()
    }

    /// Takes back a header map handed over with
    /// [`recycle_headers`](Self::recycle_headers) and not used yet, e.g. to
    /// keep it elsewhere while the connection waits idle.
    pub fn take_spare_headers(&mut self) -> Option<HTTPHeaders> {
        self.spare_headers.take()
    }

    /// Changes the body limit for the current request only (until
    /// [`start_next_cycle`](Self::start_next_cycle)).
    ///
    /// Call it after [`Event::Request`] and before the next `next_event`: a
    /// `Content-Length` is checked against the limit when the body starts.
    ///
    /// # Tornado
    ///
    /// `HTTP1Connection.set_max_body_size(max_body_size)`.
    pub fn set_max_body_size(&mut self, max_body_size: u64) {
        self.max_body_size = max_body_size;
    }

    /// The body size limit of the current request: the configured one, or
    /// what [`set_max_body_size`](Self::set_max_body_size) made it.
    pub fn max_body_size(&self) -> u64 {
        self.max_body_size
    }

    /// The client's (peer's) state in the current cycle.
    pub fn their_state(&self) -> State {
        self.state.client()
    }

    /// The server's (our) state in the current cycle.
    pub fn our_state(&self) -> State {
        self.state.server()
    }

    /// Closes the connection after the current cycle: a response head not
    /// yet written will say `Connection: close` (a server shutting down).
    pub fn disable_keep_alive(&mut self) {
        self.state.process_keep_alive_disabled();
    }

    /// Whether the connection can still be reused after the current cycle.
    pub fn keep_alive(&self) -> bool {
        self.state.keep_alive()
    }

    /// Writes `HTTP/1.1 100 (Continue)`, Tornado's exact interim response to
    /// `Expect: 100-continue`.
    ///
    /// Allowed after a request head and before the final response head; send
    /// it only if the body is wanted (otherwise answer with the final status,
    /// e.g. 413, which closes the connection if the body is still unread).
    ///
    /// The flow for a head with [`expect_continue`](super::RequestHead::expect_continue):
    /// call [`next_event`](Self::next_event) once. An error (such as
    /// [`ParseError::BodyTooLarge`] for a `Content-Length` over the limit,
    /// reported before any body byte) is answered with its status; `NeedData`
    /// means the client is waiting: write `100 Continue`, then read the body;
    /// `Data` means the client did not wait, and no `100` is needed.
    pub fn write_continue(&mut self, out: &mut impl BufMut) -> Result<(), LocalProtocolError> {
        if self.state.server() != State::SendResponse {
            return Err(LocalProtocolError::WrongState);
        }
        self.state
            .process_event(Side::Server, Transition::InformationalResponse)?;
        out.put_slice(CONTINUE);
        Ok(())
    }

    /// Writes a response head, and `chunk` as the first piece of its body.
    ///
    /// Framing follows Tornado (see [`http1`](super)): the caller's
    /// `Content-Length` if set, else chunked for HTTP/1.1 and close-delimited
    /// for HTTP/1.0, and no body for HEAD, 1xx, 204 and 304. A 1xx head other
    /// than 101 may be followed by another head; after 101 the connection
    /// belongs to the new protocol (see [`into_read_buf`](Self::into_read_buf)).
    ///
    /// # Errors
    ///
    /// [`LocalProtocolError`] for a head that is invalid or sent in the wrong
    /// state, or a chunk that does not fit the framing; nothing is written
    /// and the state is unchanged, so a different (error) response can still
    /// be sent.
    ///
    /// # Tornado
    ///
    /// `HTTPConnection.write_headers(start_line, headers, chunk=None)`.
    pub fn write_headers(
        &mut self,
        head: &ResponseHead<'_>,
        chunk: Option<&[u8]>,
        out: &mut impl BufMut,
    ) -> Result<(), LocalProtocolError> {
        self.send_head(
            head,
            chunk.unwrap_or_default(),
            0,
            None,
            FieldCheck::All,
            out,
        )
        .map(drop)
    }

    /// [`write_headers`](Self::write_headers) for header fields the caller
    /// already checked when they were set, at least as strictly (every name
    /// a token, no CR, LF or NUL in any value), so they are not scanned
    /// again; the framing fields are still read and `Content-Length` still
    /// validated. `web::Handler`'s `set_header` checks every field it takes.
    /// `then` more bytes of body are to follow at once (a piece the caller
    /// queues without copying it here): the framing is checked for them
    /// too, so that a body it refuses leaves nothing written.
    ///
    /// # Errors
    ///
    /// As [`write_headers`](Self::write_headers).
    pub fn write_checked_headers(
        &mut self,
        head: &ResponseHead<'_>,
        chunk: Option<&[u8]>,
        then: usize,
        out: &mut impl BufMut,
    ) -> Result<(), LocalProtocolError> {
        let chunk = chunk.unwrap_or_default();
        self.send_head(head, chunk, then, None, FieldCheck::FramingOnly, out)
            .map(drop)
    }

    /// Writes a complete response: head, `body`, and the end of the message.
    ///
    /// Adds `Content-Length: body.len()` unless the head has one (or the status
    /// forbids a body), as Tornado's `RequestHandler.finish` does when nothing
    /// was flushed. For a HEAD request the length is announced and the body is
    /// not sent. If the request body has not been read to the end, the
    /// response says `Connection: close` and the connection must close. For a
    /// 1xx status only the head is written, as with `write_headers`.
    pub fn write_response(
        &mut self,
        head: &ResponseHead<'_>,
        body: &[u8],
        out: &mut impl BufMut,
    ) -> Result<(), LocalProtocolError> {
        match self.send_head(head, body, 0, Some(body.len()), FieldCheck::All, out)? {
            HeadKind::Final => self.finish(out),
            HeadKind::Informational | HeadKind::SwitchProtocols => Ok(()),
        }
    }

    fn send_head(
        &mut self,
        head: &ResponseHead<'_>,
        chunk: &[u8],
        then: usize,
        whole_body: Option<usize>,
        check: FieldCheck,
        out: &mut impl BufMut,
    ) -> Result<HeadKind, LocalProtocolError> {
        let request = self.request.unwrap_or(RequestInfo {
            is_head: false,
            is_connect: false,
            version: Version::Http11,
        });
        // Tornado's `finish` before the request body was read: closing is the
        // only way not to read the rest of it, so say so in this head.
        let finishing_early = whole_body.is_some() && self.state.client() == State::SendBody;
        let keep_alive = self.state.keep_alive() && !finishing_early;
        let plan = plan(head, request, keep_alive, whole_body, check)?;
        if !plan.encoder.accepts(chunk.len().saturating_add(then)) {
            return Err(LocalProtocolError::TooMuchData);
        }
        let transition = match plan.kind {
            HeadKind::Informational => Transition::InformationalResponse,
            HeadKind::SwitchProtocols => Transition::SwitchProtocols,
            HeadKind::Final => Transition::Response,
        };
        self.state.process_event(Side::Server, transition)?;
        if !plan.keep_alive {
            self.state.process_keep_alive_disabled();
        }
        plan.write(out);
        if plan.kind == HeadKind::Final {
            let mut encoder = plan.encoder;
            encoder.encode(chunk, out)?;
            self.encoder = Some(encoder);
        }
        Ok(plan.kind)
    }

    /// Writes a piece of the response body, framed for the response.
    ///
    /// # Errors
    ///
    /// [`LocalProtocolError::WrongState`] before `write_headers` or after
    /// `finish`; [`LocalProtocolError::TooMuchData`] past the `Content-Length`
    /// or on a response that cannot have a body. After `TooMuchData` the
    /// response cannot be completed: close the connection.
    ///
    /// # Tornado
    ///
    /// `HTTPConnection.write(chunk)`.
    pub fn write(&mut self, chunk: &[u8], out: &mut impl BufMut) -> Result<(), LocalProtocolError> {
        let result = match (&mut self.encoder, self.state.server()) {
            (Some(encoder), State::SendBody) => encoder.encode(chunk, out),
            _ => Err(LocalProtocolError::WrongState),
        };
        self.check_local(result)
    }

    /// Frames a body piece of `len` bytes that the caller sends itself,
    /// as its own buffer (so a large piece is never copied): writes what
    /// precedes it into `out`, and returns whether to send it and what to
    /// write after it. The result on the wire is exactly [`write`](Self::write)'s.
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write).
    pub fn frame_body(
        &mut self,
        len: usize,
        out: &mut impl BufMut,
    ) -> Result<BodyFraming, LocalProtocolError> {
        let result = match (&mut self.encoder, self.state.server()) {
            (Some(encoder), State::SendBody) => encoder.frame(len, out),
            _ => Err(LocalProtocolError::WrongState),
        };
        match result {
            Ok(framing) => Ok(framing),
            // The same failure handling as `write`'s (it always returns the error).
            Err(err) => self.check_local(Err(err)).map(|()| BodyFraming::SKIP),
        }
    }

    /// Ends the response: writes the last chunk if chunked, and checks that a
    /// `Content-Length` was honoured. If the request body was not read to the
    /// end, the connection must close afterwards.
    ///
    /// # Tornado
    ///
    /// `HTTPConnection.finish()`.
    pub fn finish(&mut self, out: &mut impl BufMut) -> Result<(), LocalProtocolError> {
        let result = match (self.encoder.take(), self.state.server()) {
            (Some(encoder), State::SendBody) => encoder.finish(out),
            _ => Err(LocalProtocolError::WrongState),
        };
        let result = result.and_then(|()| {
            if self.state.client() == State::SendBody {
                self.state.process_keep_alive_disabled();
            }
            self.state
                .process_event(Side::Server, Transition::EndOfMessage)
        });
        self.check_local(result)
    }

    /// Once bytes of a response are out, a local error leaves it unfinishable.
    fn check_local(
        &mut self,
        result: Result<(), LocalProtocolError>,
    ) -> Result<(), LocalProtocolError> {
        if result.is_err() && self.state.server() == State::SendBody {
            self.encoder = None;
            self.state.process_error(Side::Server);
        }
        result
    }

    /// Readies the codec for the next request on this connection, once both
    /// the request and the response are complete and the connection can be
    /// kept alive. Pipelined bytes already received are parsed by the next
    /// `next_event`.
    ///
    /// # Errors
    ///
    /// [`LocalProtocolError::NotReusable`] if either side is not done, or the
    /// connection must close.
    pub fn start_next_cycle(&mut self) -> Result<(), LocalProtocolError> {
        self.state.start_next_cycle()?;
        self.request = None;
        self.max_body_size = self.config.max_body_size;
        Ok(())
    }

    /// Gives up the codec and returns the bytes received but not parsed: after
    /// `101 Switching Protocols` they belong to the new protocol.
    ///
    /// # Tornado
    ///
    /// Part of `HTTP1Connection.detach()`.
    pub fn into_read_buf(self) -> BytesMut {
        self.recv.into_inner()
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::http1::test_util::{check_incremental, drive};
    use crate::httputil::HTTPHeaders;

    fn respond(codec: &mut Codec) -> Vec<u8> {
        let empty = HTTPHeaders::new();
        let mut out = Vec::new();
        codec
            .write_response(&ResponseHead::new(200, &empty), b"ok", &mut out)
            .unwrap();
        out
    }

    #[test]
    fn pipelined_requests_wait_for_start_next_cycle() {
        let mut codec = Codec::default();
        codec.receive_data(
            b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n\
              POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc\
              GET /3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        );
        let mut uris = Vec::new();
        loop {
            match codec.next_event().unwrap() {
                Event::Request(head) => uris.push(head.uri().to_owned()),
                Event::Data(data) => assert_eq!(data, Bytes::from_static(b"abc")),
                Event::EndOfMessage { .. } => {
                    // Nothing more is parsed until the response is done.
                    let expected = if codec.read_buf().is_empty() {
                        Event::NeedData
                    } else {
                        Event::Paused
                    };
                    assert_eq!(codec.next_event(), Ok(expected));
                    respond(&mut codec);
                    if codec.start_next_cycle().is_err() {
                        break;
                    }
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(uris, ["/1", "/2", "/3"]);
        assert_eq!(codec.our_state(), State::MustClose);
        assert_eq!(codec.next_event(), Ok(Event::NeedData));
        codec.receive_eof();
        assert_eq!(codec.next_event(), Ok(Event::ConnectionClosed));
        assert_eq!(codec.their_state(), State::Closed);
    }

    #[test]
    fn a_2xx_answer_to_connect_closes_instead_of_tunnelling() {
        // What follows a CONNECT is the tunnel's, not requests: with no
        // tunnel served here, a 2xx ends the connection (a refusal does not).
        for (status, closes) in [(200, true), (204, true), (405, false)] {
            let mut codec = Codec::default();
            codec.receive_data(
                b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
            );
            assert!(matches!(codec.next_event(), Ok(Event::Request(_))));
            assert!(matches!(codec.next_event(), Ok(Event::EndOfMessage { .. })));
            let empty = HTTPHeaders::new();
            let mut out = Vec::new();
            codec
                .write_response(&ResponseHead::new(status, &empty), b"", &mut out)
                .unwrap();
            let head = String::from_utf8_lossy(&out);
            assert_eq!(
                head.contains("Connection: close"),
                closes,
                "{status}: {head}"
            );
            assert_eq!(codec.start_next_cycle().is_err(), closes, "{status}");
        }
    }

    #[test]
    fn checked_headers_skip_the_field_scan_but_not_the_framing_rules() {
        let request = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        let head_with = |fields: &[(&'static str, &'static str)]| {
            let mut codec = Codec::default();
            codec.receive_data(request);
            assert!(matches!(codec.next_event(), Ok(Event::Request(_))));
            let headers: HTTPHeaders = fields.iter().copied().collect();
            let mut out = Vec::new();
            let head = ResponseHead::new(200, &headers);
            let checked = codec.write_checked_headers(&head, None, 0, &mut out);
            (checked, out)
        };
        let (checked, out) = head_with(&[("Content-Length", "2")]);
        assert_eq!(checked, Ok(()));
        assert!(out.starts_with(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"));
        // Still validated: a Content-Length decides the framing.
        let (checked, _) = head_with(&[("Content-Length", "2x")]);
        assert_eq!(checked, Err(LocalProtocolError::InvalidContentLength));
        // Not scanned: the caller vouched for names and values.
        let (checked, _) = head_with(&[("Bad Name", "1")]);
        assert_eq!(checked, Ok(()));
        let mut codec = Codec::default();
        codec.receive_data(request);
        assert!(matches!(codec.next_event(), Ok(Event::Request(_))));
        let headers: HTTPHeaders = [("Bad Name", "1")].into_iter().collect();
        let head = ResponseHead::new(200, &headers);
        assert_eq!(
            codec.write_headers(&head, None, &mut Vec::new()),
            Err(LocalProtocolError::InvalidHeaderName)
        );
    }

    #[test]
    fn pipelining_survives_every_split() {
        let input = b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n\
              POST /2 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\
              GET /3 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n\
              PUT /4 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nxy";
        let outcome = check_incremental(&Config::default(), input, false);
        let uris: Vec<_> = outcome.messages.iter().map(|m| m.head.uri()).collect();
        assert_eq!(uris, ["/1", "/2", "/3", "/4"]);
        assert_eq!(outcome.messages[1].body, b"abc");
        assert_eq!(outcome.messages[3].body, b"xy");
        assert!(outcome.messages.iter().all(|m| m.complete));
    }

    #[test]
    fn a_client_that_half_closes_after_its_request_still_gets_an_answer() {
        let mut codec = Codec::default();
        codec.receive_data(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        codec.receive_data(b"");
        assert!(matches!(codec.next_event(), Ok(Event::Request(_))));
        assert!(matches!(codec.next_event(), Ok(Event::EndOfMessage { .. })));
        assert_eq!(codec.next_event(), Ok(Event::ConnectionClosed));
        assert_eq!(codec.our_state(), State::SendResponse);
        assert!(respond(&mut codec).starts_with(b"HTTP/1.1 200 OK\r\n"));
        assert_eq!(codec.our_state(), State::MustClose);
        assert_eq!(codec.next_event(), Ok(Event::ConnectionClosed));
    }

    #[test]
    fn errors_are_sticky() {
        let mut codec = Codec::default();
        codec.receive_data(b"BAD\x00 / HTTP/1.1\r\n\r\n");
        let error = codec.next_event().unwrap_err();
        assert_eq!(error, ParseError::Method);
        codec.receive_data(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(codec.next_event(), Err(error));
        assert!(
            codec.read_buf().is_empty(),
            "bytes after the error are dropped"
        );
        assert_eq!(codec.their_state(), State::Error);
        assert!(!codec.keep_alive());
    }

    #[test]
    fn set_max_body_size_applies_to_the_current_request_only() {
        let config = Config {
            max_body_size: 2,
            ..Config::default()
        };
        let mut codec = Codec::new(config);
        let request = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello";
        codec.receive_data(request);
        assert!(matches!(codec.next_event(), Ok(Event::Request(_))));
        codec.set_max_body_size(5);
        assert_eq!(
            codec.next_event(),
            Ok(Event::Data(Bytes::from_static(b"hello")))
        );
        assert!(matches!(codec.next_event(), Ok(Event::EndOfMessage { .. })));
        respond(&mut codec);
        codec.start_next_cycle().unwrap();
        codec.receive_data(request);
        assert!(matches!(codec.next_event(), Ok(Event::Request(_))));
        assert_eq!(codec.next_event(), Err(ParseError::BodyTooLarge));
    }

    #[test]
    fn expect_continue_flow() {
        let config = Config {
            max_body_size: 4,
            ..Config::default()
        };
        let empty = HTTPHeaders::new();
        // Too large: answered with 413 before the client sends the body.
        let mut codec = Codec::new(config.clone());
        codec.receive_data(
            b"PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
        );
        let Ok(Event::Request(head)) = codec.next_event() else {
            panic!()
        };
        assert!(head.expect_continue());
        let error = codec.next_event().unwrap_err();
        let mut out = Vec::new();
        let status = ResponseHead::new(error.status_hint(), &empty);
        codec.write_response(&status, b"", &mut out).unwrap();
        assert!(out.starts_with(b"HTTP/1.1 413 Request Entity Too Large\r\n"));
        assert_eq!(codec.our_state(), State::MustClose);
        // Small enough: 100 Continue, then the body.
        let mut codec = Codec::new(config);
        codec.receive_data(
            b"PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
        );
        assert!(matches!(codec.next_event(), Ok(Event::Request(_))));
        assert_eq!(codec.next_event(), Ok(Event::NeedData));
        let mut out = Vec::new();
        codec.write_continue(&mut out).unwrap();
        assert_eq!(out, b"HTTP/1.1 100 (Continue)\r\n\r\n");
        codec.receive_data(b"body");
        assert_eq!(
            codec.next_event(),
            Ok(Event::Data(Bytes::from_static(b"body")))
        );
        assert!(matches!(
            codec.next_event(),
            Ok(Event::EndOfMessage { trailers: None })
        ));
    }

    #[test]
    fn recycled_headers_are_cleared_and_reused() {
        let mut codec = Codec::default();
        let mut old = HTTPHeaders::with_capacity(32);
        old.add("Stale", "1");
        codec.recycle_headers(old);
        codec.receive_data(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        let Ok(Event::Request(mut head)) = codec.next_event() else {
            panic!()
        };
        let headers = head.take_headers();
        assert_eq!(headers.get_all().collect::<Vec<_>>(), [("Host", "a")]);
    }

    #[test]
    fn read_buf_appends_count_as_received() {
        let mut codec = Codec::default();
        codec.read_buf().extend_from_slice(b"GET / HTTP/1.1\r\nHo");
        assert_eq!(codec.next_event(), Ok(Event::NeedData));
        codec.read_buf().extend_from_slice(b"st: a\r\n\r\n");
        assert!(matches!(codec.next_event(), Ok(Event::Request(_))));
    }

    #[test]
    fn data_after_eof_is_ignored() {
        let (outcome, mut codec) = drive(&Config::default(), [&b""[..]], true);
        assert!(outcome.closed);
        codec.receive_data(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(codec.next_event(), Ok(Event::ConnectionClosed));
        assert!(codec.read_buf().is_empty());
    }

    #[test]
    fn responding_before_the_request_is_an_error() {
        let mut codec = Codec::default();
        let empty = HTTPHeaders::new();
        let mut out = Vec::new();
        assert_eq!(
            codec.write_response(&ResponseHead::new(200, &empty), b"", &mut out),
            Err(LocalProtocolError::WrongState)
        );
        assert_eq!(
            codec.write_continue(&mut out),
            Err(LocalProtocolError::WrongState)
        );
        assert_eq!(
            codec.start_next_cycle(),
            Err(LocalProtocolError::NotReusable)
        );
        assert!(out.is_empty());
        assert_eq!(codec.our_state(), State::Idle);
    }
}
