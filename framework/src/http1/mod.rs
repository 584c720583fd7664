//! A pure HTTP/1.x codec: bytes in, events out; responses in, bytes out. The
//! server side is [`Codec`]; the client side, [`ClientCodec`], shares its
//! state machine, buffers and body decoders.
//!
//! This module reads no socket, no clock and spawns nothing. [`Codec`] is a
//! push parser in the style of h11: the connection layer
//! (`http1connection`) feeds it received bytes and asks for [`Event`]s, and
//! hands it responses to encode into its write buffer. Every input gives an
//! event, a request for more bytes, or a [`ParseError`] that knows the status
//! to answer with; no input makes it panic (a fuzz target in `fuzz/` checks).
//!
//! # Files
//!
//! | file | job |
//! | --- | --- |
//! | `codec.rs` | [`Codec`]: glues the parts together |
//! | `state.rs` | [`State`]: every state transition, role-agnostic |
//! | `events.rs` | [`Event`], [`RequestHead`], [`Version`], [`Framing`] |
//! | `receive_buffer.rs` | the receive buffer and its resumable line search |
//! | `head.rs` | request heads: end detection, httparse, header rules |
//! | `readers.rs` | body decoders: `Content-Length` and chunked |
//! | `writers.rs` | response heads and body framing |
//! | `client.rs` | [`ClientCodec`]: request heads out, response events in |
//! | `response_head.rs` | response heads: httparse, RFC 9112 §6.3 framing, keep-alive |
//! | `date.rs` | [`DateCache`] |
//! | `config.rs`, `error.rs` | [`Config`]; [`ParseError`], [`LocalProtocolError`] |
//!
//! # Rules
//!
//! Request heads (RFC 9112 §2–5, RFC 9110):
//!
//! | input | answer |
//! | --- | --- |
//! | request line longer than `max_request_line` | 414 |
//! | head longer than `max_header_size`, or more than `max_headers` fields | 431 |
//! | bad method, target or version syntax; field name not a token; whitespace before a colon; obs-fold; NUL, bare CR or other control byte in a value | 400 |
//! | well-formed version other than HTTP/1.0 and HTTP/1.1 | 505 |
//! | `PRI * HTTP/2.0` (the HTTP/2 preface) | 400 |
//! | HTTP/1.1 without `Host`, several `Host`s, or an invalid `Host` | 400 |
//!
//! Body framing (RFC 9112 §6): `Transfer-Encoding` with `Content-Length` is
//! 400; `Transfer-Encoding` in HTTP/1.0 is 400; a final coding other than
//! `chunked`, or `chunked` twice, is 400; another coding before `chunked` is
//! 501. Several `Content-Length` values are accepted only if they are all the
//! same plain decimal number (`5, 5` is 5); otherwise 400. A body over the
//! limit is 413, before any of it is read when the length is declared.
//!
//! Bare LF: accepted as a line end in the head (RFC 9112 §2.2 allows it, and
//! httparse and the end-of-head scanner agree on it), refused with 400
//! everywhere in chunked framing, so that no two parsers can disagree on where
//! a chunked body ends. Leading empty lines before a request are skipped.
//!
//! Keep-alive: HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with
//! `Connection: keep-alive` (and a known length), as Tornado's
//! `_can_keep_alive`. `Expect: 100-continue` is surfaced as
//! [`RequestHead::expect_continue`]; [`Codec::write_continue`] writes
//! Tornado's `HTTP/1.1 100 (Continue)`.
//!
//! Responses are framed as Tornado's `write_headers` frames them; see
//! [`Codec::write_headers`].
//!
//! Responses, read by [`ClientCodec`] (RFC 9112 §6.3): no body after a HEAD
//! request or for 1xx, 204 and 304; 1xx heads other than 101 are reported and
//! skipped, 101 is an error (the client never asks to upgrade); then chunked,
//! `Content-Length`, or close-delimited (the body ends at EOF and the
//! connection is not reused). `Transfer-Encoding` together with
//! `Content-Length`, or with a coding other than a single final `chunked`, is
//! refused rather than guessed at. A body cut short by EOF is
//! [`ParseError::IncompleteResponseBody`].
//!
//! # Tornado
//!
//! The parsing and framing half of `tornado.http1connection`, separated from
//! the stream so that it can be tested and fuzzed without a socket.

mod client;
mod codec;
mod config;
mod date;
mod error;
mod events;
mod head;
#[cfg(test)]
mod proptests;
mod readers;
mod receive_buffer;
mod response_head;
mod state;
#[cfg(test)]
mod test_util;
mod writers;

pub use client::{ClientCodec, ClientEvent, ClientRequest};
pub use codec::Codec;
pub use config::Config;
pub use date::DateCache;
pub use error::{LocalProtocolError, ParseError};
pub use events::{Event, Framing, RequestHead, Version};
pub use response_head::{ResponseFraming, ResponseInfo};
pub use state::State;
pub(crate) use writers::parse_length;
pub use writers::{BodyFraming, ResponseHead};
