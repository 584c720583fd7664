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
//! `Connection: close` is added for an HTTP/1.1 request when the connection
//! will close, and `Connection: Keep-Alive` echoed to an HTTP/1.0 client that
//! asked for it. One deliberate difference: Tornado also echoes `Keep-Alive` on
//! a close-delimited HTTP/1.0 response, whose end only the close can mark; here
//! such a response closes the connection and does not claim keep-alive.
//!
//! The codec owns `Transfer-Encoding`: a caller's value is not written.
//! Validation (status, reason, names, values, `Content-Length`) happens before
//! anything is written, so a refused head leaves the output untouched.

use bytes::BufMut;

use super::date::DateCache;
use super::error::LocalProtocolError;
use super::events::Version;
use super::head::is_tchar;
use crate::httputil::{reason_phrase, HTTPHeaders};

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
        if !self.accepts(chunk.len()) {
            return Err(LocalProtocolError::TooMuchData);
        }
        match self {
            Encoder::Length(remaining) => {
                *remaining = remaining.saturating_sub(chunk.len() as u64);
                out.put_slice(chunk);
            }
            // An empty chunk would read as the end of the body: skip it.
            Encoder::Chunked if chunk.is_empty() => {}
            Encoder::Chunked => {
                put_hex(chunk.len(), out);
                out.put_slice(b"\r\n");
                out.put_slice(chunk);
                out.put_slice(b"\r\n");
            }
            Encoder::CloseDelimited => out.put_slice(chunk),
            Encoder::NoBody | Encoder::Discard => {}
        }
        Ok(())
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
    let fields = scan_fields(head.headers)?;
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
    let keep_alive = keep_alive && !fields.close && encoder != Encoder::CloseDelimited;
    let connection = match (kind, keep_alive, request.version) {
        (HeadKind::Final, false, Version::Http11) => ConnectionField::Close,
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
    })
}

impl HeadPlan<'_> {
    /// Writes the status line and header block.
    pub(crate) fn write(&self, out: &mut impl BufMut) {
        out.put_slice(b"HTTP/1.1 ");
        let mut status = itoa::Buffer::new();
        out.put_slice(status.format(self.head.status).as_bytes());
        out.put_u8(b' ');
        out.put_slice(self.reason.as_bytes());
        out.put_slice(b"\r\n");
        for (name, value) in self.head.headers.iter() {
            let replaced = name.eq_ignore_ascii_case(b"transfer-encoding")
                || (self.connection != ConnectionField::Caller
                    && name.eq_ignore_ascii_case(b"connection"));
            if !replaced {
                put_field(out, name, value);
            }
        }
        if let (true, Some(date)) = (self.add_date, self.head.date) {
            put_field(out, b"Date", date.as_bytes());
        }
        if let Some(n) = self.added_length {
            let mut digits = itoa::Buffer::new();
            put_field(out, b"Content-Length", digits.format(n).as_bytes());
        }
        if self.encoder == Encoder::Chunked {
            out.put_slice(b"Transfer-Encoding: chunked\r\n");
        }
        match self.connection {
            ConnectionField::Close => out.put_slice(b"Connection: close\r\n"),
            ConnectionField::KeepAlive => out.put_slice(b"Connection: Keep-Alive\r\n"),
            ConnectionField::Caller => {}
        }
        out.put_slice(b"\r\n");
    }
}

/// Facts about the caller's header fields, gathered while validating them.
#[derive(Debug, Default)]
struct Fields {
    content_length: Option<u64>,
    date: bool,
    close: bool,
}

fn scan_fields(headers: &HTTPHeaders) -> Result<Fields, LocalProtocolError> {
    let mut fields = Fields::default();
    for (name, value) in headers.iter() {
        if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
            return Err(LocalProtocolError::InvalidHeaderName);
        }
        if value.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0)) {
            return Err(LocalProtocolError::InvalidHeaderValue);
        }
        if name.eq_ignore_ascii_case(b"content-length") {
            let n = parse_length(value).ok_or(LocalProtocolError::InvalidContentLength)?;
            if fields.content_length.is_some_and(|previous| previous != n) {
                return Err(LocalProtocolError::InvalidContentLength);
            }
            fields.content_length = Some(n);
        } else if name.eq_ignore_ascii_case(b"date") {
            fields.date = true;
        } else if name.eq_ignore_ascii_case(b"connection") {
            fields.close |= value
                .split(|&b| b == b',')
                .any(|option| option.trim_ascii().eq_ignore_ascii_case(b"close"));
        }
    }
    Ok(fields)
}

/// A `Content-Length` value: decimal digits, optionally padded with spaces.
fn parse_length(value: &[u8]) -> Option<u64> {
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

fn put_field(out: &mut impl BufMut, name: &[u8], value: &[u8]) {
    out.put_slice(name);
    out.put_slice(b": ");
    out.put_slice(value);
    out.put_slice(b"\r\n");
}

/// Writes `n` in lowercase hexadecimal, without leading zeros.
fn put_hex(n: usize, out: &mut impl BufMut) {
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
