//! Response encoding: the status line and header block, and the body framing
//! chosen for them.
//!
//! Framing follows Tornado's `HTTP1Connection.write_headers`:
//!
//! * no body for a HEAD request or a 1xx, 204 or 304 status (a HEAD response
//!   keeps the `Content-Length` the caller set, and its body bytes are
//!   discarded, as `RequestHandler.flush` does for HEAD);
//! * otherwise the caller's `Content-Length`, if any;
//! * otherwise, when the whole body is passed at once
//!   ([`Codec::write_response`](super::Codec::write_response)), a
//!   `Content-Length` for it (what `RequestHandler.finish` adds when nothing
//!   was flushed);
//! * otherwise chunked for an HTTP/1.1 request, and close-delimited for
//!   HTTP/1.0.
//!
//! `Connection: close` is added whenever the connection will close, and
//! `Connection: Keep-Alive` echoed to an HTTP/1.0 client that asked for it.
//! Two deliberate differences from Tornado: it echoes `Keep-Alive` on a
//! close-delimited HTTP/1.0 response, whose end only the close can mark (here
//! such a response closes and does not claim keep-alive); and it sends no
//! `Connection: close` to HTTP/1.0 clients, though our status line says
//! HTTP/1.1, from which a client must assume a persistent connection
//! (RFC 9112 §9.3; Python's `http.client` does and then fails).
//!
//! The codec owns `Transfer-Encoding`: a caller's value is not written.
//! Validation (status, reason, names, values, `Content-Length`) happens before
//! anything is written, so a refused head leaves the output untouched.

use bytes::BufMut;

use super::date::DateCache;
use super::error::LocalProtocolError;
use super::events::Version;
use crate::httputil::{is_tchar, names_eq, reason_phrase, FieldName, HTTPHeaders};

/// The response start line and header block to send.
///
/// # Tornado
///
/// `httputil.ResponseStartLine(version, code, reason)` plus the
/// `HTTPHeaders` passed to `HTTPConnection.write_headers`. The version is
/// always written as `HTTP/1.1`, as Tornado does.
#[derive(Clone, Copy, Debug)]
pub struct ResponseHead<'a> {
    /// Status code, 100–999.
    pub status: u16,
    /// Reason phrase; empty means the standard phrase for `status`
    /// ([`reason_phrase`]), or `Unknown`.
    pub reason: &'a str,
    /// Header fields, written in order. `Transfer-Encoding` is skipped (the
    /// codec chooses the framing) and `Connection` may be replaced (see the
    /// module docs of [`http1`](super)).
    pub headers: &'a HTTPHeaders,
    /// When set and `headers` has no `Date`, a `Date` field with this value is
    /// added to final (non-1xx) responses.
    pub date: Option<&'a DateCache>,
}

impl<'a> ResponseHead<'a> {
    /// A head with the standard reason phrase and no `Date`.
    pub fn new(status: u16, headers: &'a HTTPHeaders) -> ResponseHead<'a> {
        ResponseHead {
            status,
            reason: "",
            headers,
            date: None,
        }
    }
}

/// What the writer needs to know about the request it answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RequestInfo {
    pub(crate) is_head: bool,
    /// A `CONNECT`: a 2xx answer turns the connection into a tunnel, which
    /// is not served here, so it closes after the response instead of
    /// reading the tunnel's bytes as requests.
    pub(crate) is_connect: bool,
    pub(crate) version: Version,
}

/// How response body bytes go on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoder {
    /// Exactly this many more bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Raw bytes until the connection closes (HTTP/1.0 without a length).
    CloseDelimited,
    /// The status forbids a body (1xx, 204, 304): any byte is an error.
    NoBody,
    /// A HEAD response: body bytes are dropped.
    Discard,
}

/// How to send one body piece once [`Codec::frame_body`](super::Codec::frame_body)
/// has written what precedes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyFraming {
    /// Whether the body bytes go on the wire (not for HEAD, 204, 304 or an
    /// empty chunk).
    pub send_body: bool,
    /// What must follow the body bytes (`\r\n` after a chunk).
    pub suffix: &'static [u8],
}

impl BodyFraming {
    pub(crate) const SKIP: BodyFraming = BodyFraming {
        send_body: false,
        suffix: b"",
    };
}

impl Encoder {
    /// Whether `len` more body bytes may be written.
    pub(crate) fn accepts(&self, len: usize) -> bool {
        match *self {
            Encoder::Length(remaining) => len as u64 <= remaining,
            Encoder::NoBody => len == 0,
            Encoder::Chunked | Encoder::CloseDelimited | Encoder::Discard => true,
        }
    }

    /// Frames `chunk` into `out`.
    pub(crate) fn encode(
        &mut self,
        chunk: &[u8],
        out: &mut impl BufMut,
    ) -> Result<(), LocalProtocolError> {
        let framing = self.frame(chunk.len(), out)?;
        if framing.send_body {
            out.put_slice(chunk);
            out.put_slice(framing.suffix);
        }
        Ok(())
    }

    /// Frames a body piece of `len` bytes without touching its bytes: writes
    /// what precedes it into `out` and says whether to send it and what must
    /// follow it. [`encode`](Self::encode) is this plus the copy, so a caller
    /// that sends the body as its own buffer (no copy) frames it identically.
    pub(crate) fn frame(
        &mut self,
        len: usize,
        out: &mut impl BufMut,
    ) -> Result<BodyFraming, LocalProtocolError> {
        if !self.accepts(len) {
            return Err(LocalProtocolError::TooMuchData);
        }
        let send = |suffix| {
            Ok(BodyFraming {
                send_body: true,
                suffix,
            })
        };
        match self {
            Encoder::Length(remaining) => {
                *remaining = remaining.saturating_sub(len as u64);
                send(b"")
            }
            // An empty chunk would read as the end of the body: skip it.
            Encoder::Chunked if len == 0 => Ok(BodyFraming::SKIP),
            Encoder::Chunked => {
                put_hex(len, out);
                out.put_slice(b"\r\n");
                send(b"\r\n")
            }
            Encoder::CloseDelimited => send(b""),
            Encoder::NoBody | Encoder::Discard => Ok(BodyFraming::SKIP),
        }
    }

    /// Ends the body: the last chunk for chunked framing; an error if a
    /// `Content-Length` is not yet satisfied.
    pub(crate) fn finish(&self, out: &mut impl BufMut) -> Result<(), LocalProtocolError> {
        match self {
            Encoder::Length(remaining) if *remaining > 0 => Err(LocalProtocolError::TooLittleData),
            Encoder::Chunked => {
                out.put_slice(b"0\r\n\r\n");
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// What kind of response a status makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeadKind {
    /// 1xx other than 101: more heads follow.
    Informational,
    /// 101: the connection leaves HTTP/1.
    SwitchProtocols,
    /// 2xx–9xx: the response.
    Final,
}

/// Which `Connection` field to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ConnectionField {
    /// The caller's, unchanged.
    Caller,
    /// `Connection: close` instead of the caller's.
    Close,
    /// `Connection: Keep-Alive` instead of the caller's (HTTP/1.0).
    KeepAlive,
}

/// A validated response head and the decisions made for it; writing it
/// cannot fail.
#[derive(Debug)]
pub(crate) struct HeadPlan<'h> {
    head: &'h ResponseHead<'h>,
    reason: &'h str,
    pub(crate) kind: HeadKind,
    pub(crate) encoder: Encoder,
    /// Whether the connection may be reused after this response.
    pub(crate) keep_alive: bool,
    connection: ConnectionField,
    /// A `Content-Length` to add for a body passed whole.
    added_length: Option<usize>,
    add_date: bool,
    /// The caller set `Transfer-Encoding` (always replaced by ours).
    has_transfer_encoding: bool,
    /// The caller set `Connection` (replaced unless `connection` is `Caller`).
    has_connection: bool,
}

/// Validates `head` and decides its framing.
///
/// `keep_alive` is whether the connection could be reused before looking at
/// this response; `whole_body` is the body's length when the caller passes it
/// all at once.
pub(crate) fn plan<'h>(
    head: &'h ResponseHead<'h>,
    request: RequestInfo,
    keep_alive: bool,
    whole_body: Option<usize>,
    check: FieldCheck,
) -> Result<HeadPlan<'h>, LocalProtocolError> {
    if !(100..=999).contains(&head.status) {
        return Err(LocalProtocolError::InvalidStatus);
    }
    let reason = match head.reason {
        "" => reason_phrase(head.status).unwrap_or("Unknown"),
        reason => reason,
    };
    if !reason
        .bytes()
        .all(|b| b == b'\t' || (b >= b' ' && b != 0x7f))
    {
        return Err(LocalProtocolError::InvalidReason);
    }
    let fields = scan_fields(head.headers, check)?;
    let kind = match head.status {
        101 => HeadKind::SwitchProtocols,
        100..=199 => HeadKind::Informational,
        _ => HeadKind::Final,
    };
    let mut added_length = None;
    let encoder = match kind {
        HeadKind::Informational | HeadKind::SwitchProtocols => Encoder::NoBody,
        HeadKind::Final if head.status == 204 || head.status == 304 => Encoder::NoBody,
        HeadKind::Final => {
            if fields.content_length.is_none() {
                added_length = whole_body;
            }
            let length = fields.content_length.or(added_length.map(|n| n as u64));
            match (request.is_head, length, request.version) {
                (true, _, _) => Encoder::Discard,
                (false, Some(n), _) => Encoder::Length(n),
                (false, None, Version::Http11) => Encoder::Chunked,
                (false, None, Version::Http10) => Encoder::CloseDelimited,
            }
        }
    };
    let tunnel = request.is_connect && (200..300).contains(&head.status);
    let keep_alive = keep_alive && !fields.close && encoder != Encoder::CloseDelimited && !tunnel;
    let connection = match (kind, keep_alive, request.version) {
        // Also for HTTP/1.0: the status line says HTTP/1.1, and a client
        // reading it assumes a persistent connection unless told otherwise
        // (RFC 9112 §9.3); Python's http.client does. Tornado omits it.
        (HeadKind::Final, false, _) => ConnectionField::Close,
        (HeadKind::Final, true, Version::Http10) => ConnectionField::KeepAlive,
        _ => ConnectionField::Caller,
    };
    Ok(HeadPlan {
        head,
        reason,
        kind,
        encoder,
        keep_alive,
        connection,
        added_length,
        add_date: kind == HeadKind::Final && head.date.is_some() && !fields.date,
        has_transfer_encoding: fields.transfer_encoding,
        has_connection: fields.connection,
    })
}

impl HeadPlan<'_> {
    /// Writes the status line and header block.
    pub(crate) fn write(&self, out: &mut impl BufMut) {
        if self.head.status == 200 && self.reason == "OK" {
            // Most responses: the whole line in one copy.
            out.put_slice(b"HTTP/1.1 200 OK\r\n");
        } else {
            out.put_slice(b"HTTP/1.1 ");
            let mut status = itoa::Buffer::new();
            out.put_slice(status.format(self.head.status).as_bytes());
            out.put_u8(b' ');
            out.put_slice(self.reason.as_bytes());
            out.put_slice(b"\r\n");
        }
        let dropped = self.has_transfer_encoding
            || (self.connection != ConnectionField::Caller && self.has_connection);
        match self.head.headers.encoded() {
            // The usual case: the caller's lines go out as they are, in one copy.
            Some(block) if !dropped => out.put_slice(block),
            _ => {
                for (name, value) in self.head.headers.iter() {
                    let replaced = names_eq(name, b"transfer-encoding")
                        || (self.connection != ConnectionField::Caller
                            && names_eq(name, b"connection"));
                    if !replaced {
                        put_field(out, name, value);
                    }
                }
            }
        }
        if let (true, Some(date)) = (self.add_date, self.head.date) {
            put_field(out, b"Date", date.as_bytes());
        }
        if let Some(n) = self.added_length {
            let mut digits = itoa::Buffer::new();
            put_field(out, b"Content-Length", digits.format(n).as_bytes());
        }
        // Connection before Transfer-Encoding: the order Tornado's
        // `write_headers` adds them in.
        match self.connection {
            ConnectionField::Close => out.put_slice(b"Connection: close\r\n"),
            ConnectionField::KeepAlive => out.put_slice(b"Connection: Keep-Alive\r\n"),
            ConnectionField::Caller => {}
        }
        if self.encoder == Encoder::Chunked {
            out.put_slice(b"Transfer-Encoding: chunked\r\n");
        }
        out.put_slice(b"\r\n");
    }
}

/// Facts about the caller's header fields, gathered while validating them.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    pub(crate) content_length: Option<u64>,
    pub(crate) date: bool,
    pub(crate) close: bool,
    pub(crate) connection: bool,
    pub(crate) transfer_encoding: bool,
}

/// How much of the caller's header fields [`scan_fields`] checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldCheck {
    /// Every name must be a token and no value may hold CR, LF or NUL.
    All,
    /// The caller checked names and values when it set them (at least as
    /// strictly); only the framing fields are read (and Content-Length
    /// still validated).
    FramingOnly,
}

pub(crate) fn scan_fields(
    headers: &HTTPHeaders,
    check: FieldCheck,
) -> Result<Fields, LocalProtocolError> {
    let mut fields = Fields::default();
    if check == FieldCheck::All {
        for (name, value) in headers.iter() {
            check_field(name, value)?;
        }
    }
    for (name, value) in headers.iter_known() {
        match name {
            FieldName::ContentLength => {
                let n = parse_length(value).ok_or(LocalProtocolError::InvalidContentLength)?;
                if fields.content_length.is_some_and(|previous| previous != n) {
                    return Err(LocalProtocolError::InvalidContentLength);
                }
                fields.content_length = Some(n);
            }
            FieldName::Date => fields.date = true,
            FieldName::TransferEncoding => fields.transfer_encoding = true,
            FieldName::Connection => {
                fields.connection = true;
                fields.close |= value
                    .split(|&b| b == b',')
                    .any(|option| option.trim_ascii().eq_ignore_ascii_case(b"close"));
            }
            _ => {}
        }
    }
    Ok(fields)
}

/// A field line's name is a token and its value holds no CR, LF or NUL.
fn check_field(name: &[u8], value: &[u8]) -> Result<(), LocalProtocolError> {
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err(LocalProtocolError::InvalidHeaderName);
    }
    if value
        .iter()
        .fold(false, |bad, &b| bad | matches!(b, b'\r' | b'\n' | 0))
    {
        return Err(LocalProtocolError::InvalidHeaderValue);
    }
    Ok(())
}

/// A `Content-Length` value: decimal digits, optionally padded with spaces.
pub(crate) fn parse_length(value: &[u8]) -> Option<u64> {
    let digits = value.trim_ascii();
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &b| {
        if !b.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

pub(crate) fn put_field(out: &mut impl BufMut, name: &[u8], value: &[u8]) {
    out.put_slice(name);
    out.put_slice(b": ");
    out.put_slice(value);
    out.put_slice(b"\r\n");
}

/// Writes `n` in lowercase hexadecimal, without leading zeros.
pub(crate) fn put_hex(n: usize, out: &mut impl BufMut) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [b'0'; 16];
    let mut start = buf.len();
    let mut rest = n;
    loop {
        start -= 1;
        if let Some(slot) = buf.get_mut(start) {
            *slot = DIGITS.get(rest & 0xf).copied().unwrap_or(b'0');
        }
        rest >>= 4;
        if rest == 0 || start == 0 {
            break;
        }
    }
    out.put_slice(buf.get(start..).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::http1::{Codec, Event, State};

    /// A codec that has read `request` up to its `EndOfMessage`.
    fn after(request: &[u8]) -> Codec {
        let mut codec = Codec::default();
        codec.receive_data(request);
        loop {
            match codec.next_event() {
                Ok(Event::EndOfMessage { .. }) => return codec,
                Ok(Event::Request(_) | Event::Data(_)) => {}
                other => panic!("{other:?}"),
            }
        }
    }

    fn headers(fields: &[(&'static str, &'static str)]) -> HTTPHeaders {
        fields.iter().copied().collect()
    }

    const GET11: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    const GET10: &[u8] = b"GET / HTTP/1.0\r\n\r\n";
    const GET10_KA: &[u8] = b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    const HEAD11: &[u8] = b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n";
    const CLOSE11: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";

    /// How a case writes its response.
    enum Write {
        /// `write_response(head, body)`.
        Whole(&'static [u8]),
        /// `write_headers(head, first)`, then `write` each piece, then `finish`.
        Streamed(Option<&'static [u8]>, &'static [&'static [u8]]),
    }

    struct Case {
        request: &'static [u8],
        status: u16,
        fields: &'static [(&'static str, &'static str)],
        write: Write,
        wire: &'static [u8],
        keep_alive: bool,
    }

    #[test]
    fn framing_follows_tornado() {
        let cases = [
            Case {
                request: GET11,
                status: 200,
                fields: &[("Content-Type", "text/plain")],
                write: Write::Whole(b"hi"),
                wire: b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi",
                keep_alive: true,
            },
            Case {
                request: GET11,
                status: 200,
                fields: &[],
                write: Write::Streamed(Some(b"hello"), &[b"", b" world"]),
                wire: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                    5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
                keep_alive: true,
            },
            Case {
                request: GET11,
                status: 200,
                fields: &[("Content-Length", "5")],
                write: Write::Streamed(None, &[b"hel", b"lo"]),
                wire: b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
                keep_alive: true,
            },
            Case {
                request: GET11,
                status: 200,
                fields: &[("Transfer-Encoding", "gzip"), ("Content-Length", "2")],
                write: Write::Whole(b"hi"),
                wire: b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
                keep_alive: true,
            },
            Case {
                request: CLOSE11,
                status: 200,
                fields: &[("Connection", "keep-alive")],
                write: Write::Whole(b"hi"),
                wire: b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
                keep_alive: false,
            },
            Case {
                request: GET11,
                status: 200,
                fields: &[("Connection", "close")],
                write: Write::Whole(b""),
                wire: b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                keep_alive: false,
            },
            Case {
                request: GET10,
                status: 200,
                fields: &[],
                write: Write::Streamed(Some(b"raw"), &[b" bytes"]),
                wire: b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nraw bytes",
                keep_alive: false,
            },
            Case {
                request: GET10,
                status: 200,
                fields: &[],
                write: Write::Whole(b"hi"),
                wire: b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
                keep_alive: false,
            },
            Case {
                request: GET10_KA,
                status: 200,
                fields: &[("Connection", "other")],
                write: Write::Whole(b"hi"),
                wire: b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: Keep-Alive\r\n\r\nhi",
                keep_alive: true,
            },
            Case {
                // Close-delimited: the close ends the body, so no keep-alive claim.
                request: GET10_KA,
                status: 200,
                fields: &[],
                write: Write::Streamed(Some(b"raw"), &[]),
                wire: b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nraw",
                keep_alive: false,
            },
            Case {
                request: HEAD11,
                status: 200,
                fields: &[],
                write: Write::Whole(b"not sent"),
                wire: b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n",
                keep_alive: true,
            },
            Case {
                request: HEAD11,
                status: 200,
                fields: &[("Content-Length", "100")],
                write: Write::Streamed(Some(b"dropped"), &[b"too"]),
                wire: b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
                keep_alive: true,
            },
            Case {
                request: HEAD11,
                status: 200,
                fields: &[],
                write: Write::Streamed(None, &[]),
                wire: b"HTTP/1.1 200 OK\r\n\r\n",
                keep_alive: true,
            },
            Case {
                request: GET11,
                status: 204,
                fields: &[],
                write: Write::Whole(b""),
                wire: b"HTTP/1.1 204 No Content\r\n\r\n",
                keep_alive: true,
            },
            Case {
                request: GET11,
                status: 304,
                fields: &[("ETag", "\"x\"")],
                write: Write::Streamed(None, &[]),
                wire: b"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n",
                keep_alive: true,
            },
            Case {
                request: GET11,
                status: 299,
                fields: &[],
                write: Write::Whole(b""),
                wire: b"HTTP/1.1 299 Unknown\r\nContent-Length: 0\r\n\r\n",
                keep_alive: true,
            },
        ];
        for (i, case) in cases.iter().enumerate() {
            let mut codec = after(case.request);
            let fields = headers(case.fields);
            let head = ResponseHead::new(case.status, &fields);
            let mut out = Vec::new();
            match case.write {
                Write::Whole(body) => codec.write_response(&head, body, &mut out).unwrap(),
                Write::Streamed(first, rest) => {
                    codec.write_headers(&head, first, &mut out).unwrap();
                    for piece in rest {
                        codec.write(piece, &mut out).unwrap();
                    }
                    codec.finish(&mut out).unwrap();
                }
            }
            assert_eq!(
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(case.wire),
                "case {i}"
            );
            assert_eq!(codec.keep_alive(), case.keep_alive, "case {i}");
            let expected = if case.keep_alive {
                State::Done
            } else {
                State::MustClose
            };
            assert_eq!(codec.our_state(), expected, "case {i}");
            assert_eq!(
                codec.start_next_cycle().is_ok(),
                case.keep_alive,
                "case {i}"
            );
        }
    }

    #[test]
    fn custom_reason_and_date() {
        let mut codec = after(GET11);
        let fields = HTTPHeaders::new();
        let date = DateCache::new(UNIX_EPOCH + Duration::from_secs(1_359_312_200));
        let head = ResponseHead {
            status: 404,
            reason: "Nope",
            headers: &fields,
            date: Some(&date),
        };
        let mut out = Vec::new();
        codec.write_response(&head, b"", &mut out).unwrap();
        assert_eq!(
            out,
            b"HTTP/1.1 404 Nope\r\nDate: Sun, 27 Jan 2013 18:43:20 GMT\r\nContent-Length: 0\r\n\r\n"
        );

        // A Date set by the caller wins.
        let mut codec = after(GET11);
        let fields = headers(&[("date", "yesterday")]);
        let head = ResponseHead {
            date: Some(&date),
            ..ResponseHead::new(200, &fields)
        };
        let mut out = Vec::new();
        codec.write_response(&head, b"", &mut out).unwrap();
        assert_eq!(
            out,
            b"HTTP/1.1 200 OK\r\ndate: yesterday\r\nContent-Length: 0\r\n\r\n"
        );
    }

    #[test]
    fn invalid_heads_write_nothing_and_leave_the_state() {
        let cases: &[(u16, &str, HTTPHeaders, LocalProtocolError)] = &[
            (
                99,
                "",
                HTTPHeaders::new(),
                LocalProtocolError::InvalidStatus,
            ),
            (
                1000,
                "",
                HTTPHeaders::new(),
                LocalProtocolError::InvalidStatus,
            ),
            (
                200,
                "O\r\nK",
                HTTPHeaders::new(),
                LocalProtocolError::InvalidReason,
            ),
            (
                200,
                "",
                headers(&[("Bad Name", "v")]),
                LocalProtocolError::InvalidHeaderName,
            ),
            (
                200,
                "",
                headers(&[("", "v")]),
                LocalProtocolError::InvalidHeaderName,
            ),
            (
                200,
                "",
                headers(&[("X", "a\r\nSet-Cookie: evil")]),
                LocalProtocolError::InvalidHeaderValue,
            ),
            (
                200,
                "",
                headers(&[("X", "a\nb")]),
                LocalProtocolError::InvalidHeaderValue,
            ),
            (
                200,
                "",
                headers(&[("X", "a\0b")]),
                LocalProtocolError::InvalidHeaderValue,
            ),
            (
                200,
                "",
                headers(&[("Content-Length", "x")]),
                LocalProtocolError::InvalidContentLength,
            ),
            (
                200,
                "",
                headers(&[("Content-Length", "1"), ("Content-Length", "2")]),
                LocalProtocolError::InvalidContentLength,
            ),
        ];
        for (status, reason, fields, error) in cases {
            let mut codec = after(GET11);
            let head = ResponseHead {
                reason,
                ..ResponseHead::new(*status, fields)
            };
            let mut out = Vec::new();
            assert_eq!(codec.write_headers(&head, None, &mut out), Err(*error));
            assert!(out.is_empty());
            assert_eq!(codec.our_state(), State::SendResponse);
            // A 500 can still be sent instead.
            let empty = HTTPHeaders::new();
            codec
                .write_response(&ResponseHead::new(500, &empty), b"", &mut out)
                .unwrap();
            assert!(out.starts_with(b"HTTP/1.1 500 Internal Server Error\r\n"));
        }
    }

    #[test]
    fn body_misuse() {
        let fields = headers(&[("Content-Length", "3")]);
        let head = ResponseHead::new(200, &fields);
        let mut out = Vec::new();

        let mut codec = after(GET11);
        codec.write_headers(&head, Some(b"ab"), &mut out).unwrap();
        assert_eq!(
            codec.write(b"cd", &mut out),
            Err(LocalProtocolError::TooMuchData)
        );
        assert_eq!(codec.our_state(), State::Error);
        assert_eq!(codec.finish(&mut out), Err(LocalProtocolError::WrongState));

        let mut codec = after(GET11);
        codec.write_headers(&head, Some(b"ab"), &mut out).unwrap();
        assert_eq!(
            codec.finish(&mut out),
            Err(LocalProtocolError::TooLittleData)
        );
        assert_eq!(codec.our_state(), State::Error);

        // A first chunk that does not fit is refused before anything is written.
        let mut codec = after(GET11);
        out.clear();
        assert_eq!(
            codec.write_headers(&head, Some(b"abcd"), &mut out),
            Err(LocalProtocolError::TooMuchData)
        );
        assert!(out.is_empty());
        assert_eq!(codec.our_state(), State::SendResponse);

        let mut codec = after(GET11);
        assert_eq!(
            codec.write(b"x", &mut out),
            Err(LocalProtocolError::WrongState)
        );
        assert_eq!(codec.finish(&mut out), Err(LocalProtocolError::WrongState));
        let empty = HTTPHeaders::new();
        codec
            .write_response(&ResponseHead::new(204, &empty), b"", &mut out)
            .unwrap();
        assert_eq!(
            codec.write(b"", &mut out),
            Err(LocalProtocolError::WrongState)
        );
        assert_eq!(
            codec.write_headers(&ResponseHead::new(200, &empty), None, &mut out),
            Err(LocalProtocolError::WrongState)
        );

        let mut codec = after(GET11);
        codec
            .write_headers(&ResponseHead::new(204, &empty), None, &mut out)
            .unwrap();
        assert_eq!(
            codec.write(b"x", &mut out),
            Err(LocalProtocolError::TooMuchData)
        );
    }

    #[test]
    fn informational_responses() {
        let mut codec = Codec::default();
        codec.receive_data(
            b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
        );
        let Ok(Event::Request(head)) = codec.next_event() else {
            panic!()
        };
        assert!(head.expect_continue());
        assert!(matches!(codec.next_event(), Ok(Event::NeedData)));
        let mut out = Vec::new();
        codec.write_continue(&mut out).unwrap();
        assert_eq!(out, b"HTTP/1.1 100 (Continue)\r\n\r\n");
        let hints = headers(&[("Link", "</style.css>; rel=preload")]);
        codec
            .write_headers(&ResponseHead::new(103, &hints), None, &mut out)
            .unwrap();
        assert!(
            out.ends_with(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
        );
        assert_eq!(codec.our_state(), State::SendResponse);
        assert_eq!(
            codec.write_headers(&ResponseHead::new(103, &hints), Some(b"x"), &mut out),
            Err(LocalProtocolError::TooMuchData)
        );
        // write_response with a 1xx status writes just the head.
        out.clear();
        codec
            .write_response(&ResponseHead::new(102, &HTTPHeaders::new()), b"", &mut out)
            .unwrap();
        assert_eq!(out, b"HTTP/1.1 102 Processing\r\n\r\n");
        codec.receive_data(b"ok");
        assert!(matches!(codec.next_event(), Ok(Event::Data(_))));
        assert!(matches!(codec.next_event(), Ok(Event::EndOfMessage { .. })));
        out.clear();
        codec
            .write_response(&ResponseHead::new(200, &hints), b"", &mut out)
            .unwrap();
        assert!(out.starts_with(b"HTTP/1.1 200 OK\r\n"));
        assert_eq!(
            codec.write_continue(&mut out),
            Err(LocalProtocolError::WrongState)
        );
    }

    #[test]
    fn rejecting_an_unread_body_closes_the_connection() {
        let mut codec = Codec::default();
        codec.receive_data(
            b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 99\r\n\r\n",
        );
        assert!(matches!(codec.next_event(), Ok(Event::Request(_))));
        let empty = HTTPHeaders::new();
        let mut out = Vec::new();
        codec
            .write_response(&ResponseHead::new(413, &empty), b"", &mut out)
            .unwrap();
        assert_eq!(
            out,
            b"HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        assert_eq!(codec.our_state(), State::MustClose);

        // Streaming responses learn it only at finish (as in Tornado).
        let mut codec = Codec::default();
        codec.receive_data(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99\r\n\r\n");
        assert!(matches!(codec.next_event(), Ok(Event::Request(_))));
        codec
            .write_headers(&ResponseHead::new(200, &empty), None, &mut out)
            .unwrap();
        codec.finish(&mut out).unwrap();
        assert_eq!(codec.our_state(), State::MustClose);
    }

    #[test]
    fn switching_protocols_hands_over_the_buffer() {
        let mut codec = Codec::default();
        codec.receive_data(b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05hello");
        assert!(matches!(codec.next_event(), Ok(Event::Request(_))));
        assert!(matches!(codec.next_event(), Ok(Event::EndOfMessage { .. })));
        let fields = headers(&[("Upgrade", "websocket"), ("Connection", "Upgrade")]);
        let mut out = Vec::new();
        codec
            .write_headers(&ResponseHead::new(101, &fields), None, &mut out)
            .unwrap();
        assert_eq!(
            out,
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
        );
        assert_eq!(codec.our_state(), State::SwitchedProtocol);
        assert!(matches!(codec.next_event(), Ok(Event::Paused)));
        assert_eq!(
            codec.start_next_cycle(),
            Err(LocalProtocolError::NotReusable)
        );
        assert_eq!(&codec.into_read_buf()[..], b"\x81\x05hello");
    }

    #[test]
    fn error_responses_after_a_parse_error() {
        let mut codec = Codec::default();
        codec.receive_data(b"GET / HTTP/2.0\r\n\r\n");
        let error = codec.next_event().unwrap_err();
        assert_eq!(error.status_hint(), 505);
        let empty = HTTPHeaders::new();
        let mut out = Vec::new();
        codec
            .write_response(
                &ResponseHead::new(error.status_hint(), &empty),
                b"",
                &mut out,
            )
            .unwrap();
        assert_eq!(
            out,
            b"HTTP/1.1 505 HTTP Version Not Supported\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        assert_eq!(codec.our_state(), State::MustClose);
    }

    #[test]
    fn bytes_mut_output_and_hex_sizes() {
        let mut codec = after(GET11);
        let mut out = bytes::BytesMut::new();
        let empty = HTTPHeaders::new();
        codec
            .write_headers(&ResponseHead::new(200, &empty), None, &mut out)
            .unwrap();
        codec.write(&[b'x'; 0x1234], &mut out).unwrap();
        assert!(out.ends_with(&[b"1234\r\n".as_slice(), &[b'x'; 0x1234], b"\r\n"].concat()));
        for (n, hex) in [
            (0, "0"),
            (9, "9"),
            (10, "a"),
            (255, "ff"),
            (4096, "1000"),
            (usize::MAX, "ffffffffffffffff"),
        ] {
            let mut buf = Vec::new();
            put_hex(n, &mut buf);
            assert_eq!(buf, hex.as_bytes());
        }
    }

    #[test]
    fn framing_a_body_apart_gives_the_bytes_write_gives() {
        let empty = HTTPHeaders::new();
        let mut length = HTTPHeaders::new();
        length.set("Content-Length", "9");
        for (request, fields) in [
            (GET11, &empty),
            (GET10, &empty),
            (HEAD11, &empty),
            (GET11, &length),
        ] {
            let pieces: [&[u8]; 3] = [b"abc", b"", b"defghi"];
            let mut copied = Vec::new();
            let mut codec = after(request);
            codec
                .write_headers(&ResponseHead::new(200, fields), None, &mut copied)
                .unwrap();
            for piece in pieces {
                codec.write(piece, &mut copied).unwrap();
            }
            codec.finish(&mut copied).unwrap();

            let mut framed = Vec::new();
            let mut codec = after(request);
            codec
                .write_headers(&ResponseHead::new(200, fields), None, &mut framed)
                .unwrap();
            for piece in pieces {
                let framing = codec.frame_body(piece.len(), &mut framed).unwrap();
                if framing.send_body {
                    framed.extend_from_slice(piece);
                    framed.extend_from_slice(framing.suffix);
                }
            }
            codec.finish(&mut framed).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&framed),
                String::from_utf8_lossy(&copied)
            );
        }
        let mut codec = after(GET11);
        let mut out = Vec::new();
        codec
            .write_headers(&ResponseHead::new(200, &length), None, &mut out)
            .unwrap();
        assert_eq!(
            codec.frame_body(10, &mut out),
            Err(LocalProtocolError::TooMuchData)
        );
    }
}
