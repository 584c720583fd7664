//! Response heads, for the client side: finding where a head ends, parsing it
//! with `httparse`, and deriving the body framing (RFC 9112 §6.3) and the
//! keep-alive decision from its fields.
//!
//! The scan is the request side's (`head.rs`): a resumable search for the
//! empty line, so a head that trickles in costs linear time, then one
//! `httparse` call that must agree on where the head ends. `httparse` runs
//! with its strict defaults for responses: no obs-fold, no whitespace before
//! a colon, `HTTP/1.0` or `HTTP/1.1` only, a three-digit status.

use std::mem::MaybeUninit;

use bytes::Bytes;

use super::config::Config;
use super::error::ParseError;
use super::events::Version;
use super::head::{
    ends_empty_line, header_slots, line_len, receive_fields, sub_bytes, BodyLength, FramingFields,
    STACK_HEADERS,
};
use super::receive_buffer::ReceiveBuffer;
use crate::httputil::HTTPHeaders;

/// How the length of a response body is determined (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResponseFraming {
    /// No body: the answer to a HEAD request, or a 1xx, 204 or 304 status,
    /// whatever the fields say.
    NoBody,
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Neither: the body ends when the server closes the connection, which
    /// therefore cannot be reused.
    CloseDelimited,
}

/// A parsed status line and header block, plus what they imply for framing
/// and the connection.
///
/// The reason phrase and every header name and value are slices of the
/// receive buffer.
///
/// # Tornado
///
/// `httputil.ResponseStartLine(version, code, reason)` plus the
/// `HTTPHeaders` that `HTTP1Connection` passes to the client's
/// `headers_received`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseInfo {
    pub(crate) code: u16,
    /// Checked by httparse: HTAB, SP, visible ASCII or obs-text.
    pub(crate) reason: Bytes,
    pub(crate) version: Version,
    pub(crate) headers: HTTPHeaders,
    pub(crate) framing: ResponseFraming,
    pub(crate) keep_alive: bool,
}

impl ResponseInfo {
    /// The status code, 100–999.
    pub fn code(&self) -> u16 {
        self.code
    }

    /// The reason phrase as sent (may be empty); obs-text bytes that are
    /// not UTF-8 are replaced.
    pub fn reason(&self) -> String {
        String::from_utf8_lossy(&self.reason).into_owned()
    }

    /// The HTTP version of the status line.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The header fields, in the order they were received.
    pub fn headers(&self) -> &HTTPHeaders {
        &self.headers
    }

    /// The header fields, to change before the head is passed on. The
    /// derived facts ([`framing`](Self::framing), ...) are unaffected.
    pub fn headers_mut(&mut self) -> &mut HTTPHeaders {
        &mut self.headers
    }

    /// How the body is framed.
    pub fn framing(&self) -> ResponseFraming {
        self.framing
    }

    /// Whether the server lets the connection carry another request: HTTP/1.1
    /// unless `Connection: close`, HTTP/1.0 only with `Connection:
    /// keep-alive`, and never for a close-delimited body.
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// Whether the status is informational (1xx): more heads follow.
    pub fn is_informational(&self) -> bool {
        (100..200).contains(&self.code)
    }
}

/// Progress of the search for the end of a response head, kept across calls.
#[derive(Debug, Default)]
pub(crate) struct ResponseHeadReader {
    /// Index of the `\n` that ends the status line, once seen.
    first_line_end: Option<usize>,
}

impl ResponseHeadReader {
    /// Returns the next response head, `None` if more bytes are needed, or
    /// the first rule the bytes break. `head_request`: the request was HEAD,
    /// so the response has no body.
    pub(crate) fn read(
        &mut self,
        buf: &mut ReceiveBuffer,
        config: &Config,
        head_request: bool,
    ) -> Result<Option<ResponseInfo>, ParseError> {
        if self.first_line_end.is_none() && !buf.skip_empty_lines() {
            return Ok(None);
        }
        while let Some(newline) = buf.next_newline() {
            let bytes = buf.as_bytes();
            if self.first_line_end.is_none() {
                if line_len(bytes, newline) > config.max_request_line {
                    return Err(ParseError::StatusLineTooLong);
                }
                self.first_line_end = Some(newline);
            } else if ends_empty_line(bytes, newline) {
                let end = newline + 1;
                if end > config.max_header_size {
                    return Err(ParseError::ResponseHeadTooLarge);
                }
                self.first_line_end = None;
                return parse_response(buf.take(end), config, head_request).map(Some);
            }
        }
        if self.first_line_end.is_none() && buf.len() > config.max_request_line.saturating_add(1) {
            return Err(ParseError::StatusLineTooLong);
        }
        if buf.len() > config.max_header_size {
            return Err(ParseError::ResponseHeadTooLarge);
        }
        Ok(None)
    }
}

/// Parses a complete head (status line through the empty line).
fn parse_response(
    head: Bytes,
    config: &Config,
    head_request: bool,
) -> Result<ResponseInfo, ParseError> {
    let mut stack = [const { MaybeUninit::uninit() }; STACK_HEADERS];
    let mut heap = Vec::new();
    let slots = header_slots(&mut stack, &mut heap, config.max_headers);
    let mut res = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut res, &head, slots);
    match parsed {
        Ok(httparse::Status::Complete(n)) if n == head.len() => {}
        Ok(_) => return Err(ParseError::NewLine),
        Err(e) => return Err(classify_error(e)),
    }
    let code = res.code.unwrap_or(0);
    if code < 100 {
        return Err(ParseError::Status);
    }
    if code == 101 {
        return Err(ParseError::UnexpectedSwitchingProtocols);
    }
    let version = match res.version {
        Some(0) => Version::Http10,
        _ => Version::Http11,
    };
    let reason = sub_bytes(&head, res.reason.unwrap_or_default().as_bytes());
    let mut headers = HTTPHeaders::with_capacity(res.headers.len());
    let mut fields = FramingFields::default();
    receive_fields(&mut headers, &head, res.headers);
    for (name, value) in headers.iter_known() {
        fields.observe(name, value)?;
    }
    let no_body = head_request || (100..200).contains(&code) || code == 204 || code == 304;
    let framing = framing(&fields, no_body)?;
    let keep_alive = !fields.connection_close
        && framing != ResponseFraming::CloseDelimited
        // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing;
        // process the message, then close.
        && !(version == Version::Http10 && fields.transfer_encoding)
        && match version {
            Version::Http11 => true,
            Version::Http10 => fields.connection_keep_alive,
        };
    Ok(ResponseInfo {
        code,
        reason,
        version,
        headers,
        framing,
        keep_alive,
    })
}

/// Body framing of a response: none where the status or the request says
/// so, else what its framing fields say, until close when they say nothing.
fn framing(fields: &FramingFields, no_body: bool) -> Result<ResponseFraming, ParseError> {
    if no_body {
        return Ok(ResponseFraming::NoBody);
    }
    Ok(match fields.body_length()? {
        BodyLength::Chunked => ResponseFraming::Chunked,
        BodyLength::Length(n) => ResponseFraming::Length(n),
        BodyLength::Unspecified => ResponseFraming::CloseDelimited,
    })
}

fn classify_error(error: httparse::Error) -> ParseError {
    match error {
        httparse::Error::Version => ParseError::Version,
        httparse::Error::Status | httparse::Error::Token => ParseError::Status,
        httparse::Error::HeaderName => ParseError::HeaderName,
        httparse::Error::HeaderValue => ParseError::HeaderValue,
        httparse::Error::TooManyHeaders => ParseError::TooManyHeaders,
        httparse::Error::NewLine => ParseError::NewLine,
    }
}
