//! [`ClientCodec`]: the client side of one HTTP/1.x connection, without the
//! I/O. Requests in, bytes out; bytes in, response events out.
//!
//! It shares everything it can with the server side: the state machine
//! (`state.rs`, which does not know its role), the receive buffer and its
//! resumable line search, the body decoders (`readers.rs`: `Content-Length`,
//! chunked, and close-delimited, which only responses use) and the body
//! encoders and field checks (`writers.rs`).

use bytes::{BufMut, Bytes, BytesMut};

use super::config::Config;
use super::error::{LocalProtocolError, ParseError};
use super::events::Event;
use super::readers::Decoder;
use super::receive_buffer::ReceiveBuffer;
use super::response_head::{ResponseFraming, ResponseHeadReader, ResponseInfo};
use super::state::{ConnectionState, Side, State, Transition};
use super::writers::{put_field, scan_fields, Encoder, FieldCheck};
use crate::httputil::{is_tchar, HTTPHeaders};

/// The request line and header block to send.
///
/// # Tornado
///
/// `httputil.RequestStartLine(method, path, version)` plus the `HTTPHeaders`
/// the client passes to `HTTP1Connection.write_headers`. The version is
/// always `HTTP/1.1`.
#[derive(Clone, Copy, Debug)]
pub struct ClientRequest<'a> {
    /// The method, a token such as `GET`.
    pub method: &'a str,
    /// The request target, such as `/search?q=x` (origin form).
    pub target: &'a str,
    /// Header fields, written in order. `Transfer-Encoding` is skipped (the
    /// codec chooses the framing; see [`ClientCodec::write_request`]).
    pub headers: &'a HTTPHeaders,
}

/// One step of the incoming response stream, returned by
/// [`ClientCodec::next_event`].
///
/// A response arrives as zero or more `Informational`, then `Response`, then
/// `Data`*, then `EndOfMessage`. `NeedData` and `ConnectionClosed` tell the
/// caller what to do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientEvent {
    /// A 1xx head other than 101, such as `100 Continue`: the final response
    /// is still to come.
    Informational(ResponseInfo),
    /// The final response head. Body events follow, even for a response
    /// without a body (which yields `EndOfMessage` at once).
    Response(ResponseInfo),
    /// A piece of the response body, split from the receive buffer without
    /// copying. Never empty. Chunked framing is already removed.
    Data(Bytes),
    /// The response body is complete.
    EndOfMessage {
        /// Trailer fields sent after the last chunk; `None` when there were none.
        trailers: Option<HTTPHeaders>,
    },
    /// More bytes are needed: read from the socket, pass them to
    /// [`receive_data`](ClientCodec::receive_data) (or append them to
    /// [`read_buf`](ClientCodec::read_buf)), then call `next_event` again.
    NeedData,
    /// The server closed the connection with no response in progress: before
    /// the first byte of the response to the outstanding request (a stale
    /// keep-alive connection; the request may be retried on a new one), or
    /// after a complete response.
    ConnectionClosed,
}

/// The client side of one HTTP/1.x connection as a sans-I/O state machine.
///
/// # Contract
///
/// Write a request with [`write_request`](Self::write_request), its body with
/// [`write`](Self::write) and [`finish`](Self::finish) (each appends wire
/// bytes to a caller-provided buffer). Feed received bytes with
/// [`receive_data`](Self::receive_data) and EOF with
/// [`receive_eof`](Self::receive_eof), and call
/// [`next_event`](Self::next_event) until it returns
/// [`ClientEvent::EndOfMessage`] (or an error). Then
/// [`start_next_cycle`](Self::start_next_cycle) succeeds if the connection can
/// carry another request; otherwise close it.
///
/// With `Expect: 100-continue`, write the head only, wait for
/// [`ClientEvent::Informational`] with code 100, then send the body; if the
/// final response comes first, do not send the body (the connection then
/// cannot be reused).
///
/// `next_event` never panics and, after an error, returns the same error
/// forever. Errors about the response carry [`ParseError`] variants; those
/// only a response can cause (e.g. [`ParseError::Status`]) have a status hint
/// of 502.
///
/// # Tornado
///
/// The client half of `tornado.http1connection.HTTP1Connection`
/// (`is_client=True`): `write_headers`, `write`, `finish` and
/// `read_response`, with the parsing separated from the stream.
///
/// # Examples
///
/// ```
/// use tornado::http1::{ClientCodec, ClientEvent, ClientRequest};
/// use tornado::httputil::HTTPHeaders;
///
/// let mut codec = ClientCodec::default();
/// let mut headers = HTTPHeaders::new();
/// headers.add("Host", "example.com");
/// let mut out = Vec::new();
/// let request = ClientRequest { method: "GET", target: "/", headers: &headers };
/// codec.write_request(&request, &mut out).unwrap();
/// codec.finish(&mut out).unwrap();
/// assert_eq!(out, b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
///
/// codec.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
/// let Ok(ClientEvent::Response(head)) = codec.next_event() else { panic!() };
/// assert_eq!(head.code(), 200);
/// assert_eq!(codec.next_event(), Ok(ClientEvent::Data("hi".into())));
/// assert!(matches!(codec.next_event(), Ok(ClientEvent::EndOfMessage { .. })));
/// assert!(codec.start_next_cycle().is_ok());
/// ```
#[derive(Debug)]
pub struct ClientCodec {
    config: Config,
    recv: ReceiveBuffer,
    state: ConnectionState,
    /// The head scan; meaningful while the server is in `SendResponse`.
    head_reader: ResponseHeadReader,
    /// The response body decoder; set while the server is in `SendBody`.
    decoder: Option<Decoder>,
    /// The request body framing; set while the client is in `SendBody`.
    encoder: Option<Encoder>,
    /// The outstanding request is HEAD: its response has no body.
    head_request: bool,
    /// The body limit for the current response.
    max_body_size: u64,
    /// The error that put the server side in `State::Error`, returned again
    /// by every later `next_event`.
    error: Option<ParseError>,
}

impl Default for ClientCodec {
    fn default() -> ClientCodec {
        ClientCodec::new(Config::default())
    }
}

impl ClientCodec {
    /// A codec for a new connection. For responses, `Config::max_request_line`
    /// bounds the status line and `max_body_size` the body; `no_keep_alive`
    /// is not used (send `Connection: close` to ask for it).
    pub fn new(config: Config) -> ClientCodec {
        ClientCodec {
            max_body_size: config.max_body_size,
            config,
            recv: ReceiveBuffer::new(),
            state: ConnectionState::new(),
            head_reader: ResponseHeadReader::default(),
            decoder: None,
            encoder: None,
            head_request: false,
            error: None,
        }
    }

    /// Writes a request line and header block.
    ///
    /// Framing, as Tornado's client chooses it: the caller's
    /// `Content-Length` if set; otherwise chunked (`Transfer-Encoding:
    /// chunked` is added) for POST, PUT and PATCH, or when the caller's
    /// headers ask for chunked; otherwise no body. A `Connection: close`
    /// field makes the connection close after the response.
    ///
    /// # Errors
    ///
    /// [`LocalProtocolError`] for an invalid method, target, name or value,
    /// or a request while another is in progress; nothing is written then.
    ///
    /// # Tornado
    ///
    /// `HTTP1Connection.write_headers(start_line, headers)` on a client
    /// connection.
    pub fn write_request(
        &mut self,
        request: &ClientRequest<'_>,
        out: &mut impl BufMut,
    ) -> Result<(), LocalProtocolError> {
        if self.state.client() != State::Idle {
            return Err(LocalProtocolError::WrongState);
        }
        if request.method.is_empty() || !request.method.bytes().all(is_tchar) {
            return Err(LocalProtocolError::InvalidMethod);
        }
        if request.target.is_empty() || request.target.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(LocalProtocolError::InvalidTarget);
        }
        let fields = scan_fields(request.headers, FieldCheck::All)?;
        let chunked_asked = request
            .headers
            .get_list_bytes("Transfer-Encoding")
            .any(|v| v.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        let encoder = match fields.content_length {
            Some(n) => Encoder::Length(n),
            None if chunked_asked || matches!(request.method, "POST" | "PUT" | "PATCH") => {
                Encoder::Chunked
            }
            None => Encoder::Length(0),
        };
        self.state
            .process_event(Side::Client, Transition::Request)?;
        out.put_slice(request.method.as_bytes());
        out.put_u8(b' ');
        out.put_slice(request.target.as_bytes());
        out.put_slice(b" HTTP/1.1\r\n");
        for (name, value) in request.headers.iter() {
            if !name.eq_ignore_ascii_case(b"transfer-encoding") {
                put_field(out, name, value);
            }
        }
        if encoder == Encoder::Chunked {
            out.put_slice(b"Transfer-Encoding: chunked\r\n");
        }
        out.put_slice(b"\r\n");
        if fields.close {
            self.state.process_keep_alive_disabled();
        }
        self.head_request = request.method == "HEAD";
        self.encoder = Some(encoder);
        Ok(())
    }

    /// Writes a piece of the request body, framed as the head decided.
    ///
    /// # Errors
    ///
    /// [`LocalProtocolError::TooMuchData`] past the `Content-Length`;
    /// [`LocalProtocolError::WrongState`] outside a request body.
    ///
    /// # Tornado
    ///
    /// `HTTP1Connection.write(chunk)`.
    pub fn write(&mut self, chunk: &[u8], out: &mut impl BufMut) -> Result<(), LocalProtocolError> {
        match &mut self.encoder {
            Some(encoder) if self.state.client() == State::SendBody => encoder.encode(chunk, out),
            _ => Err(LocalProtocolError::WrongState),
        }
    }

    /// Ends the request body (the last chunk, for chunked framing).
    ///
    /// # Errors
    ///
    /// [`LocalProtocolError::TooLittleData`] before `Content-Length` bytes
    /// were written; [`LocalProtocolError::WrongState`] outside a request.
    ///
    /// # Tornado
    ///
    /// `HTTP1Connection.finish()`.
    pub fn finish(&mut self, out: &mut impl BufMut) -> Result<(), LocalProtocolError> {
        let Some(encoder) = self
            .encoder
            .filter(|_| self.state.client() == State::SendBody)
        else {
            return Err(LocalProtocolError::WrongState);
        };
        encoder.finish(out)?;
        self.state
            .process_event(Side::Client, Transition::EndOfMessage)?;
        self.encoder = None;
        Ok(())
    }

    /// Adds bytes received from the server. An empty slice means EOF.
    ///
    /// Bytes received after EOF, or after a [`ParseError`], are dropped.
    pub fn receive_data(&mut self, data: &[u8]) {
        if data.is_empty() {
            self.receive_eof();
        } else if !self.recv.is_eof() && self.error.is_none() {
            self.recv.extend(data);
        }
    }

    /// Records that the server closed its sending side.
    pub fn receive_eof(&mut self) {
        self.recv.set_eof();
    }

    /// The receive buffer, for reading from a socket straight into it. Only
    /// append: bytes appended here count as received.
    pub fn read_buf(&mut self) -> &mut BytesMut {
        self.recv.buf_mut()
    }

    /// Changes the body limit for the current response only (until
    /// [`start_next_cycle`](Self::start_next_cycle)). Call it before the
    /// response body starts.
    pub fn set_max_body_size(&mut self, max_body_size: u64) {
        self.max_body_size = max_body_size;
    }

    /// Returns the next event parsed from the received bytes.
    ///
    /// # Contract
    ///
    /// Never panics, whatever the bytes. Each call does work proportional to
    /// the bytes it consumes or newly examines. After an `Err`, every later
    /// call returns the same error.
    pub fn next_event(&mut self) -> Result<ClientEvent, ParseError> {
        let result = match self.state.server() {
            State::Idle => self.idle(),
            State::SendResponse => self.read_head(),
            State::SendBody => self.read_body(),
            State::Done | State::MustClose | State::Closed | State::SwitchedProtocol => {
                Ok(if self.recv.is_eof() {
                    ClientEvent::ConnectionClosed
                } else {
                    ClientEvent::NeedData
                })
            }
            State::Error => Err(self.error.unwrap_or(ParseError::NewLine)),
        };
        if let Err(error) = result {
            if self.error.is_none() {
                self.error = Some(error);
                self.state.process_error(Side::Server);
            }
        }
        result
    }

    /// No request outstanding: anything but empty lines is an error.
    fn idle(&mut self) -> Result<ClientEvent, ParseError> {
        if !self.recv.skip_empty_lines() || self.recv.is_empty() {
            return Ok(if self.recv.is_eof() {
                ClientEvent::ConnectionClosed
            } else {
                ClientEvent::NeedData
            });
        }
        Err(ParseError::UnsolicitedResponse)
    }

    fn read_head(&mut self) -> Result<ClientEvent, ParseError> {
        let head = self
            .head_reader
            .read(&mut self.recv, &self.config, self.head_request)?;
        let Some(head) = head else {
            if !self.recv.is_eof() {
                return Ok(ClientEvent::NeedData);
            }
            if self.recv.is_empty() {
                return Ok(ClientEvent::ConnectionClosed);
            }
            return Err(ParseError::IncompleteResponseHead);
        };
        if head.is_informational() {
            self.server_transition(Transition::InformationalResponse);
            return Ok(ClientEvent::Informational(head));
        }
        self.server_transition(Transition::Response);
        if !head.keep_alive() {
            self.state.process_keep_alive_disabled();
        }
        self.decoder = Some(match head.framing() {
            ResponseFraming::NoBody => Decoder::length(0),
            ResponseFraming::Length(n) => Decoder::length(n),
            ResponseFraming::Chunked => Decoder::chunked(),
            ResponseFraming::CloseDelimited => Decoder::close_delimited(),
        });
        Ok(ClientEvent::Response(head))
    }

    fn read_body(&mut self) -> Result<ClientEvent, ParseError> {
        let Some(decoder) = &mut self.decoder else {
            return Ok(ClientEvent::NeedData);
        };
        let event = decoder
            .decode(&mut self.recv, &self.config, self.max_body_size)
            .map_err(for_response)?;
        Ok(match event {
            Event::Data(data) => ClientEvent::Data(data),
            Event::EndOfMessage { trailers } => {
                self.decoder = None;
                self.server_transition(Transition::EndOfMessage);
                ClientEvent::EndOfMessage { trailers }
            }
            Event::NeedData if self.recv.is_eof() => {
                return Err(ParseError::IncompleteResponseBody)
            }
            _ => ClientEvent::NeedData,
        })
    }

    /// Applies a server transition that the current state always allows.
    fn server_transition(&mut self, transition: Transition) {
        // Only called from states where the transition is valid.
        let _ = self.state.process_event(Side::Server, transition);
    }

    /// Our (the client's) state in the current cycle.
    pub fn our_state(&self) -> State {
        self.state.client()
    }

    /// The server's state in the current cycle.
    pub fn their_state(&self) -> State {
        self.state.server()
    }

    /// Whether the connection can still be reused after the current cycle.
    pub fn keep_alive(&self) -> bool {
        self.state.keep_alive()
    }

    /// Readies the codec for the next request on the same connection.
    ///
    /// # Errors
    ///
    /// [`LocalProtocolError::NotReusable`] unless both the request and the
    /// response are complete, the connection is keep-alive, and the server
    /// has not closed it: then close the connection instead.
    ///
    /// Bytes already received after the response stay buffered and are read
    /// as the next response. A client that does not pipeline should not
    /// reuse a connection whose [`read_buf`](Self::read_buf) is not empty:
    /// the server sent something nobody asked for.
    pub fn start_next_cycle(&mut self) -> Result<(), LocalProtocolError> {
        if self.recv.is_eof() {
            return Err(LocalProtocolError::NotReusable);
        }
        self.state.start_next_cycle()?;
        self.head_request = false;
        self.max_body_size = self.config.max_body_size;
        Ok(())
    }
}

/// The decoders speak of requests; on this side the body is a response's.
fn for_response(error: ParseError) -> ParseError {
    match error {
        ParseError::BodyTooLarge => ParseError::ResponseBodyTooLarge,
        ParseError::IncompleteBody => ParseError::IncompleteResponseBody,
        other => other,
    }
}

#[cfg(test)]
mod tests;
