//! Request heads: finding where a head ends, parsing it with `httparse`, and
//! deriving framing and connection facts from its fields.
//!
//! Strategy. A head usually arrives whole (with pipelined ones behind it):
//! the first time a head's bytes are there, `httparse` parses the buffer as
//! it is and, if the head is complete, finds its end itself
//! ([`parse_whole`]). Otherwise the scanner ([`HeadReader::read`]) looks for
//! the first empty line with [`ReceiveBuffer::next_newline`], which resumes
//! where the last call stopped, so a head that trickles in one byte at a
//! time costs linear time; only once the empty line is there is `httparse`
//! called again, once.
//!
//! Line endings. RFC 9112 §2.2 lets a recipient accept a bare LF as a line
//! terminator in the head, and `httparse` does. The scanner recognises exactly
//! the same terminators (`CRLF` or `LF`; a CR anywhere else is an error to
//! httparse), so the two always agree on where the head ends, and the
//! `Complete(n)` from httparse is checked against the scanner's answer. Inside
//! a chunked body the codec is strict instead (see `readers.rs`).
//!
//! Few copies. The head is split off the receive buffer as one [`Bytes`]; the
//! method and target are sub-slices of it, and the field lines are copied
//! into the header map in one piece (no reference count per field).

use std::mem::MaybeUninit;
use std::ops::Range;

use bytes::Bytes;

use super::config::Config;
use super::error::ParseError;
use super::events::{Framing, RequestHead, Version};
use super::receive_buffer::ReceiveBuffer;
use crate::httputil::{is_tchar, FieldName, HTTPHeaders};

/// Up to this many header slots live on the stack during a parse.
pub(crate) const STACK_HEADERS: usize = 128;

/// Progress of the search for the end of a head, kept across calls.
#[derive(Debug, Default)]
pub(crate) struct HeadReader {
    /// Index of the `\n` that ends the request line, once seen.
    first_line_end: Option<usize>,
    /// The head being read was already tried whole and was not complete:
    /// the line scanner takes it from here (see [`parse_whole`]).
    tried_whole: bool,
}

impl HeadReader {
    /// Returns the next request head, `None` if more bytes are needed, or the
    /// first rule the bytes break. The head's fields go into `spare` if it
    /// holds a recycled (empty) map, so that its allocation is reused.
    pub(crate) fn read(
        &mut self,
        buf: &mut ReceiveBuffer,
        config: &Config,
        spare: &mut Option<HTTPHeaders>,
    ) -> Result<Option<RequestHead>, ParseError> {
        if self.first_line_end.is_none() {
            if !buf.skip_empty_lines() {
                return Ok(None);
            }
            // A request starts with a method token: anything else (a TLS
            // ClientHello sent to a plain port, say) is refused on its first
            // byte rather than after a line or a timeout.
            if buf
                .as_bytes()
                .first()
                .is_some_and(|&b| !is_tchar(b) && b != b'\r')
            {
                return Err(ParseError::Method);
            }
        }
        if !self.tried_whole && !buf.is_empty() {
            self.tried_whole = true;
            if let Some(parsed) = parse_whole(buf, config, spare) {
                self.tried_whole = false;
                return parsed.map(Some);
            }
        }
        while let Some(newline) = buf.next_newline() {
            let bytes = buf.as_bytes();
            if self.first_line_end.is_none() {
                let line_len = line_len(bytes, newline);
                if line_len > config.max_request_line {
                    return Err(ParseError::RequestLineTooLong);
                }
                self.first_line_end = Some(newline);
            } else if ends_empty_line(bytes, newline) {
                let end = newline + 1;
                if end > config.max_header_size {
                    return Err(ParseError::HeadTooLarge);
                }
                self.first_line_end = None;
                self.tried_whole = false;
                let headers = spare.take().unwrap_or_default();
                return parse_head(buf.take(end), config, headers).map(Some);
            }
        }
        if self.first_line_end.is_none() && buf.len() > config.max_request_line.saturating_add(1) {
            return Err(ParseError::RequestLineTooLong);
        }
        if buf.len() > config.max_header_size {
            return Err(ParseError::HeadTooLarge);
        }
        Ok(None)
    }
}

/// Length of the line ending at `newline`, without its `CR`.
pub(crate) fn line_len(bytes: &[u8], newline: usize) -> usize {
    match newline.checked_sub(1).and_then(|i| bytes.get(i)) {
        Some(b'\r') => newline - 1,
        _ => newline,
    }
}

/// Whether the `\n` at `newline` ends an empty line (`LF` or `CRLF` right
/// after the previous line's `\n`).
pub(crate) fn ends_empty_line(bytes: &[u8], newline: usize) -> bool {
    let before = |back: usize| {
        newline
            .checked_sub(back)
            .and_then(|i| bytes.get(i))
            .copied()
    };
    match before(1) {
        Some(b'\n') => true,
        Some(b'\r') => before(2) == Some(b'\n'),
        _ => false,
    }
}

/// The `max` field slots httparse fills: on the stack when they fit (no
/// allocation per head), else in `heap`. Shared by request and response heads.
pub(crate) fn header_slots<'s, 'h>(
    stack: &'s mut [MaybeUninit<httparse::Header<'h>>; STACK_HEADERS],
    heap: &'s mut Vec<MaybeUninit<httparse::Header<'h>>>,
    max: usize,
) -> &'s mut [MaybeUninit<httparse::Header<'h>>] {
    match stack.get_mut(..max) {
        Some(slots) => slots,
        None => {
            heap.resize_with(max, MaybeUninit::uninit);
            &mut heap[..]
        }
    }
}

/// The usual case, a whole head already in the buffer (often with more
/// pipelined behind it): httparse finds its end while parsing it, so the
/// line scanner's pass is not needed. The scanner's limits are checked in
/// its order. `None` (nothing consumed) if the head is not complete or
/// httparse refuses it: the scanner then reads it, and reports what is
/// wrong as it would have. Tried once per head, so a head trickling in is
/// not parsed again on every read.
fn parse_whole(
    buf: &mut ReceiveBuffer,
    config: &Config,
    spare: &mut Option<HTTPHeaders>,
) -> Option<Result<RequestHead, ParseError>> {
    let bytes = buf.as_bytes();
    let mut stack = [const { MaybeUninit::uninit() }; STACK_HEADERS];
    let mut heap = Vec::new();
    let slots = header_slots(&mut stack, &mut heap, config.max_headers);
    let mut req = httparse::Request::new(&mut []);
    let Ok(httparse::Status::Complete(end)) = req.parse_with_uninit_headers(bytes, slots) else {
        return None;
    };
    // The request line is within the head: only a head longer than the
    // line limit needs its first line measured.
    if end > config.max_request_line {
        let first_line = memchr::memchr(b'\n', bytes)?;
        if line_len(bytes, first_line) > config.max_request_line {
            return Some(Err(ParseError::RequestLineTooLong));
        }
    }
    if end > config.max_header_size {
        return Some(Err(ParseError::HeadTooLarge));
    }
    let headers = spare.take().unwrap_or_default();
    let parsed = describe_head(&req, bytes, config, headers);
    Some(parsed.map(|mut head| {
        head.head = buf.take(end);
        head
    }))
}

/// Parses a complete head (request line through the empty line).
fn parse_head(
    head: Bytes,
    config: &Config,
    headers: HTTPHeaders,
) -> Result<RequestHead, ParseError> {
    let mut stack = [const { MaybeUninit::uninit() }; STACK_HEADERS];
    let mut heap = Vec::new();
    let slots = header_slots(&mut stack, &mut heap, config.max_headers);
    let mut req = httparse::Request::new(&mut []);
    match req.parse_with_uninit_headers(&head, slots) {
        Ok(httparse::Status::Complete(n)) if n == head.len() => {}
        // The scanner found the empty line where httparse would have: any
        // other answer means the bytes are malformed in a way both must refuse.
        Ok(_) => return Err(ParseError::NewLine),
        Err(e) => return Err(classify_error(e, &head)),
    }
    let mut parsed = describe_head(&req, &head, config, headers)?;
    parsed.head = head;
    Ok(parsed)
}

/// The [`RequestHead`] httparse's `req` found in `bytes` (its `head` bytes
/// left empty for the caller to set to `bytes`): the fields copied into
/// `headers`, the framing and connection facts checked.
fn describe_head(
    req: &httparse::Request<'_, '_>,
    bytes: &[u8],
    config: &Config,
    mut headers: HTTPHeaders,
) -> Result<RequestHead, ParseError> {
    let version = match req.version {
        Some(0) => Version::Http10,
        _ => Version::Http11,
    };
    let method = sub_range(bytes, req.method.unwrap_or_default().as_bytes());
    let target = sub_range(bytes, req.path.unwrap_or_default().as_bytes());
    let is_get_or_head = matches!(req.method, Some("GET" | "HEAD"));
    headers.reserve(req.headers.len());
    receive_fields(&mut headers, bytes, req.headers);
    let mut facts = Facts::default();
    for (name, value) in headers.iter_known() {
        facts.observe(name, value)?;
    }
    let framing = facts.framing(version)?;
    let has_length = matches!(framing, Framing::Length(_));
    let keep_alive = !config.no_keep_alive
        && !facts.framing.connection_close
        && match version {
            Version::Http11 => true,
            Version::Http10 => {
                facts.framing.connection_keep_alive && (has_length || is_get_or_head)
            }
        };
    Ok(RequestHead {
        head: Bytes::new(),
        method,
        target,
        version,
        headers,
        framing,
        keep_alive,
        expect_continue: version == Version::Http11 && facts.expect_continue,
    })
}

/// What a head's framing fields (`Content-Length`, `Transfer-Encoding`,
/// `Connection`) say, gathered in one pass. Requests and responses read them
/// by the same rules, so both parsers share this.
#[derive(Debug, Default)]
pub(crate) struct FramingFields {
    content_length: Option<u64>,
    /// A `Transfer-Encoding` field was present.
    pub(crate) transfer_encoding: bool,
    /// The last transfer coding seen was `chunked`.
    chunked_last: bool,
    chunked_count: usize,
    other_codings: usize,
    /// A `Transfer-Encoding` line named no coding.
    empty_coding_line: bool,
    pub(crate) connection_close: bool,
    pub(crate) connection_keep_alive: bool,
}

/// How long a body is, by its framing fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyLength {
    Chunked,
    Length(u64),
    /// Neither field: no body for a request, until close for a response.
    Unspecified,
}

impl FramingFields {
    /// Records `name: value` if it is a framing field; `Ok(false)` if not.
    pub(crate) fn observe(&mut self, name: FieldName, value: &[u8]) -> Result<bool, ParseError> {
        if name == FieldName::ContentLength {
            // RFC 9110 §8.6: a list of identical values ("5, 5", or repeated
            // lines) is one length; anything else is an error.
            for element in list_elements(value) {
                let n = parse_decimal(element).ok_or(ParseError::InvalidContentLength)?;
                if self.content_length.is_some_and(|previous| previous != n) {
                    return Err(ParseError::ConflictingContentLength);
                }
                self.content_length = Some(n);
            }
        } else if name == FieldName::TransferEncoding {
            self.transfer_encoding = true;
            self.empty_coding_line |= list_elements(value).all(<[u8]>::is_empty);
            for coding in list_elements(value).filter(|c| !c.is_empty()) {
                self.chunked_last = coding.eq_ignore_ascii_case(b"chunked");
                if self.chunked_last {
                    self.chunked_count += 1;
                } else {
                    self.other_codings += 1;
                }
            }
        } else if name == FieldName::Connection {
            for option in list_elements(value) {
                self.connection_close |= option.eq_ignore_ascii_case(b"close");
                self.connection_keep_alive |= option.eq_ignore_ascii_case(b"keep-alive");
            }
        } else {
            return Ok(false);
        }
        Ok(true)
    }

    /// The body length per RFC 9112 §6.3, strictest reading: where the RFC
    /// lets a recipient guess (both fields, or a coding it cannot undo), the
    /// message is refused instead.
    pub(crate) fn body_length(&self) -> Result<BodyLength, ParseError> {
        if !self.transfer_encoding {
            return Ok(self
                .content_length
                .map_or(BodyLength::Unspecified, BodyLength::Length));
        }
        if self.content_length.is_some() {
            return Err(ParseError::TransferEncodingAndContentLength);
        }
        // A line naming no coding: a front end that reads only the last
        // line would see no body where we read one. (Asked only of a message
        // with a body: a HEAD or 304 answer is not refused for it.)
        if self.empty_coding_line {
            return Err(ParseError::TransferEncodingNotChunked);
        }
        // §6.3: chunked not final means the length cannot be determined:
        // 400. Applying chunked twice is forbidden to senders: 400.
        if !self.chunked_last || self.chunked_count > 1 {
            return Err(ParseError::TransferEncodingNotChunked);
        }
        // §6.1: a coding we do not implement (gzip, ...) before chunked: 501.
        if self.other_codings > 0 {
            return Err(ParseError::UnsupportedTransferEncoding);
        }
        Ok(BodyLength::Chunked)
    }
}

/// Facts gathered from a request's header fields in one pass.
#[derive(Debug, Default)]
struct Facts {
    host_count: usize,
    expect_continue: bool,
    framing: FramingFields,
}

impl Facts {
    fn observe(&mut self, name: FieldName, value: &[u8]) -> Result<(), ParseError> {
        if self.framing.observe(name, value)? {
            return Ok(());
        }
        if name == FieldName::Host {
            self.host_count += 1;
            if self.host_count > 1 || !is_valid_host(value) {
                return Err(ParseError::InvalidHost);
            }
        } else if name == FieldName::Expect {
            self.expect_continue |= trim_ows(value).eq_ignore_ascii_case(b"100-continue");
        }
        Ok(())
    }

    /// Body framing of the request.
    fn framing(&self, version: Version) -> Result<Framing, ParseError> {
        if version == Version::Http11 && self.host_count == 0 {
            return Err(ParseError::MissingHost);
        }
        if version == Version::Http10 && self.framing.transfer_encoding {
            return Err(ParseError::TransferEncodingInHttp10);
        }
        Ok(match self.framing.body_length()? {
            BodyLength::Chunked => Framing::Chunked,
            BodyLength::Length(n) => Framing::Length(n),
            BodyLength::Unspecified => Framing::Empty,
        })
    }
}

/// Splits a field value on commas and trims optional whitespace around each
/// element; empty elements are kept (callers decide what they mean).
pub(crate) fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(trim_ows)
}

pub(crate) fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Parses `1*DIGIT` into a `u64`, refusing signs, spaces and overflow.
pub(crate) fn parse_decimal(digits: &[u8]) -> Option<u64> {
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

/// `Host = uri-host [ ":" port ]`, with Tornado's simplification: any mix of
/// unreserved, sub-delims, percent-encoded octets, `[`, `]` and `:`; but no
/// comma, which Tornado refuses too: a proxy may have joined two `Host`
/// lines with one, and which of the two a server then reads is a
/// difference to exploit between it and the proxy.
fn is_valid_host(value: &[u8]) -> bool {
    // Most hosts: only bytes taken as they are, checked without a branch per byte.
    if value
        .iter()
        .fold(true, |plain, &b| plain & HOST_BYTE[usize::from(b)])
    {
        return true;
    }
    let mut i = 0;
    while let Some(&b) = value.get(i) {
        if HOST_BYTE[usize::from(b)] {
            i += 1;
        } else if b == b'%' {
            let hex = value.get(i + 1..i + 3).unwrap_or_default();
            if hex.len() != 2 || !hex.iter().all(u8::is_ascii_hexdigit) {
                return false;
            }
            i += 3;
        } else {
            return false;
        }
    }
    true
}

/// The bytes [`is_valid_host`] takes as they are, as a table: one load per
/// byte (a `match` compiled to a jump per byte, mispredicted on every
/// request's `Host`).
const HOST_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = matches!(b as u8,
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9'
            | b'-' | b'.' | b'_' | b'~' | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+'
            | b';' | b'=' | b':' | b'[' | b']');
        b += 1;
    }
    table
};

/// Maps an httparse error to ours, looking at the request line where httparse
/// does not say enough (which token was bad; which kind of version error).
fn classify_error(error: httparse::Error, head: &[u8]) -> ParseError {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut parts = line.split(|&b| b == b' ');
    let method = parts.next().unwrap_or_default();
    match error {
        httparse::Error::Token => {
            let method_ok = !method.is_empty() && method.iter().all(|&b| is_tchar(b));
            if method_ok {
                ParseError::Target
            } else {
                ParseError::Method
            }
        }
        httparse::Error::Version => {
            // Skip the target; the version is the third part.
            let version = parts.nth(1).unwrap_or_default();
            let well_formed = matches!(version, [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
                if major.is_ascii_digit() && minor.is_ascii_digit());
            if method == b"PRI" && version == b"HTTP/2.0" {
                ParseError::Http2Preface
            } else if well_formed && parts.next().is_none() {
                ParseError::UnsupportedVersion
            } else {
                ParseError::Version
            }
        }
        httparse::Error::HeaderName => ParseError::HeaderName,
        httparse::Error::HeaderValue => ParseError::HeaderValue,
        httparse::Error::TooManyHeaders => ParseError::TooManyHeaders,
        httparse::Error::NewLine | httparse::Error::Status => ParseError::NewLine,
    }
}

/// Copies the field lines httparse found in `head` into `headers`, in one
/// piece: from the first name to the end of the head.
pub(crate) fn receive_fields(
    headers: &mut HTTPHeaders,
    head: &[u8],
    fields: &[httparse::Header<'_>],
) {
    let Some(first) = fields.first() else {
        return;
    };
    let Some(Range { start: from, .. }) = offset_in(head, first.name.as_bytes()) else {
        return;
    };
    // Where `part` is in the block that starts at `from`.
    let relative = |part: &[u8]| {
        let Range { start, end } = offset_in(head, part)?;
        Some(start.checked_sub(from)?..end - from)
    };
    if let Some(block) = head.get(from..) {
        headers.extend_received(
            block,
            fields.iter().filter_map(|field| {
                Some((relative(field.name.as_bytes())?, relative(field.value)?))
            }),
        );
    }
}

/// Where the sub-slice `part` lies in `parent` (httparse returns slices of
/// the buffer it was given); `None` if it is not within it.
fn offset_in(parent: &[u8], part: &[u8]) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).wrapping_sub(parent.as_ptr() as usize);
    let end = start.checked_add(part.len())?;
    (end <= parent.len()).then_some(start..end)
}

/// [`offset_in`], or an empty range.
fn sub_range(parent: &[u8], part: &[u8]) -> Range<usize> {
    offset_in(parent, part).unwrap_or(0..0)
}

/// The sub-slice `part` of `parent` as a `Bytes` sharing `parent`'s memory
/// (empty if `part` is not within `parent`; `Bytes::slice_ref` would panic).
pub(crate) fn sub_bytes(parent: &Bytes, part: &[u8]) -> Bytes {
    parent.slice(sub_range(parent, part))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http1::test_util::{check_incremental, drive, error_of};
    use crate::http1::Event;

    fn head_of(input: &[u8]) -> RequestHead {
        check_incremental(&Config::default(), input, false)
            .messages
            .into_iter()
            .next()
            .expect("a request")
            .head
    }

    #[test]
    fn common_and_other_methods_read_back_as_sent() {
        for method in [
            "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND", "get", "G",
        ] {
            let request = format!("{method} / HTTP/1.1\r\nHost: x\r\n\r\n");
            assert_eq!(head_of(request.as_bytes()).method(), method);
        }
    }

    #[test]
    fn parses_a_browser_request() {
        let input = b"GET /search?q=tornado&lang=en HTTP/1.1\r\n\
            Host: www.example.com\r\n\
            User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n\
            Accept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.8\r\n\
            Accept-Language: en-US,en;q=0.5\r\n\
            Cookie: a=1; b=2\r\n\
            \r\n";
        let outcome = check_incremental(&Config::default(), input, false);
        let message = outcome.single();
        let head = &message.head;
        assert_eq!(head.method(), "GET");
        assert_eq!(head.uri(), "/search?q=tornado&lang=en");
        assert_eq!(head.version(), Version::Http11);
        assert_eq!(head.framing(), Framing::Empty);
        assert!(head.keep_alive());
        assert!(!head.expect_continue());
        assert!(!head.is_head());
        assert_eq!(head.headers().len(), 5);
        assert_eq!(head.headers().get("host"), Some("www.example.com"));
        assert_eq!(head.headers().get("COOKIE"), Some("a=1; b=2"));
        assert!(message.body.is_empty());
        assert_eq!(message.trailers, None);
    }

    #[test]
    fn header_values_are_trimmed_and_slices_of_the_buffer() {
        let input = b"GET / HTTP/1.1\r\nHost:   a.example  \r\nX-Empty:\r\nX-Tab:\tv\t\r\n\r\n";
        let head = head_of(input);
        let fields: Vec<_> = head.headers().get_all().collect();
        assert_eq!(
            fields,
            [("Host", "a.example"), ("X-Empty", ""), ("X-Tab", "v")]
        );
    }

    #[test]
    fn accepts_bare_lf_line_endings_in_the_head() {
        for input in [
            &b"GET / HTTP/1.1\nHost: a\n\n"[..],
            b"GET / HTTP/1.1\r\nHost: a\n\r\n",
            b"GET / HTTP/1.1\nHost: a\r\n\n",
        ] {
            assert_eq!(head_of(input).headers().get("host"), Some("a"));
        }
    }

    #[test]
    fn skips_empty_lines_before_the_request_line() {
        let head = head_of(b"\r\n\n\r\nGET /x HTTP/1.0\r\n\r\n");
        assert_eq!(head.uri(), "/x");
        assert_eq!(head.version(), Version::Http10);
    }

    #[test]
    fn non_ascii_header_values_are_kept_as_bytes() {
        let head = head_of(b"GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\xe9\r\n\r\n");
        assert_eq!(head.headers().get("x-name"), None);
        assert_eq!(head.headers().get_bytes("x-name"), Some(&b"caf\xe9"[..]));
    }

    #[test]
    fn rules_and_their_statuses() {
        use ParseError::*;
        let cases: &[(&[u8], ParseError, u16)] = &[
            (b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", Method, 400),
            (b" / HTTP/1.1\r\nHost: a\r\n\r\n", Method, 400),
            (b"GET /a\x01b HTTP/1.1\r\nHost: a\r\n\r\n", Target, 400),
            (b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", Target, 400),
            (b"GET / HTTP/1.x\r\nHost: a\r\n\r\n", Version, 400),
            (b"GET / http/1.1\r\nHost: a\r\n\r\n", Version, 400),
            (b"GET /\r\n\r\n", Target, 400),
            (b"GET / HTTP/1.1 x\r\nHost: a\r\n\r\n", NewLine, 400),
            (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", UnsupportedVersion, 505),
            (b"GET / HTTP/1.2\r\nHost: a\r\n\r\n", UnsupportedVersion, 505),
            (b"GET / HTTP/0.9\r\nHost: a\r\n\r\n", UnsupportedVersion, 505),
            (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", Http2Preface, 400),
            (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", Method, 400),
            (b"GET / HTTP/1.1\r\n\r\n", MissingHost, 400),
            (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", InvalidHost, 400),
            (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", InvalidHost, 400),
            (b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", InvalidHost, 400),
            (b"GET / HTTP/1.1\r\nHost: a:80,b:80\r\n\r\n", InvalidHost, 400),
            (b"GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n", InvalidHost, 400),
            (b"GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n", InvalidHost, 400),
            (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", HeaderName, 400),
            (b"GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", HeaderName, 400),
            (b"GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n", HeaderName, 400),
            (b"GET / HTTP/1.1\r\n Host: a\r\n\r\n", HeaderName, 400),
            (b"GET / HTTP/1.1\r\nHo(st: a\r\n\r\n", HeaderName, 400),
            (b"GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n", HeaderName, 400),
            (b"GET / HTTP/1.1\r\nHost a\r\n\r\n", HeaderName, 400),
            (b"GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n", HeaderValue, 400),
            (b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", HeaderValue, 400),
            (b"GET / HTTP/1.1\r\nHost: a\x7fb\r\n\r\n", HeaderValue, 400),
            (b"GET / HTTP/1.1\r\nHost: a\x1bb\r\n\r\n", HeaderValue, 400),
            (b"GET / HTTP/1.1\rHost: a\r\n\r\n", NewLine, 400),
            (b"\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", NewLine, 400),
            (b"GET / HTTP/1.1\r\nHost: a\r\r\n\r\n", HeaderValue, 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", InvalidContentLength, 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", InvalidContentLength, 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n", InvalidContentLength, 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\n", InvalidContentLength, 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", InvalidContentLength, 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,\r\n\r\n", InvalidContentLength, 400),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n",
                InvalidContentLength,
                400,
            ),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n", ConflictingContentLength, 400),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
                ConflictingContentLength,
                400,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
                TransferEncodingAndContentLength,
                400,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
                TransferEncodingAndContentLength,
                400,
            ),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", TransferEncodingNotChunked, 400),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
                TransferEncodingNotChunked,
                400,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
                TransferEncodingNotChunked,
                400,
            ),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", TransferEncodingNotChunked, 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n", TransferEncodingNotChunked, 400),
            // A line naming no coding after one that names chunked.
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: , \r\n\r\n",
                TransferEncodingNotChunked,
                400,
            ),
            // A TLS ClientHello on a plain port, before any newline: refused
            // on its first byte.
            (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", Method, 400),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;x=1\r\n\r\n",
                TransferEncodingNotChunked,
                400,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                UnsupportedTransferEncoding,
                501,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n\r\n",
                UnsupportedTransferEncoding,
                501,
            ),
            (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", TransferEncodingInHttp10, 400),
        ];
        let mismatches: Vec<_> = cases
            .iter()
            .filter(|&&(input, error, status)| {
                error_of(input) != Some(error) || error.status_hint() != status
            })
            .map(|&(input, _, _)| (String::from_utf8_lossy(input), error_of(input)))
            .collect();
        assert!(mismatches.is_empty(), "{mismatches:#?}");
    }

    #[test]
    fn accepted_framings() {
        let cases: &[(&[u8], Framing)] = &[
            (b"Content-Length: 0\r\n", Framing::Length(0)),
            (b"Content-Length: 007\r\n", Framing::Length(7)),
            (b"Content-Length: 5, 5\r\n", Framing::Length(5)),
            (b"Content-Length: 5,5 , 5\r\n", Framing::Length(5)),
            (
                b"Content-Length: 5\r\ncontent-length: 5\r\n",
                Framing::Length(5),
            ),
            (
                b"Content-Length: 18446744073709551615\r\n",
                Framing::Length(u64::MAX),
            ),
            (b"Transfer-Encoding: chunked\r\n", Framing::Chunked),
            (b"Transfer-Encoding: CHUNKED\r\n", Framing::Chunked),
            (b"Transfer-Encoding: , chunked ,\r\n", Framing::Chunked),
            (b"X-Other: 1\r\n", Framing::Empty),
        ];
        for &(fields, framing) in cases {
            let mut input = b"POST / HTTP/1.1\r\nHost: a\r\n".to_vec();
            input.extend_from_slice(fields);
            input.extend_from_slice(b"\r\n");
            let config = Config {
                max_body_size: u64::MAX,
                ..Config::default()
            };
            let (outcome, _) = drive(&config, [&input[..]], false);
            assert_eq!(outcome.error, None, "{:?}", String::from_utf8_lossy(fields));
            assert_eq!(outcome.messages[0].head.framing(), framing);
        }
    }

    #[test]
    fn keep_alive_intent() {
        // (request line and fields, keep-alive wanted)
        let cases: &[(&[u8], bool)] = &[
            (b"GET / HTTP/1.1\r\nHost: a\r\n", true),
            (b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n", false),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, CLOSE\r\n",
                false,
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n",
                true,
            ),
            (b"GET / HTTP/1.0\r\n", false),
            (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n", true),
            (b"HEAD / HTTP/1.0\r\nConnection: Keep-Alive\r\n", true),
            (b"POST / HTTP/1.0\r\nConnection: keep-alive\r\n", false),
            (
                b"POST / HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 0\r\n",
                true,
            ),
            (
                b"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n",
                false,
            ),
        ];
        for &(start, keep_alive) in cases {
            let mut input = start.to_vec();
            input.extend_from_slice(b"\r\n");
            assert_eq!(
                head_of(&input).keep_alive(),
                keep_alive,
                "{:?}",
                String::from_utf8_lossy(start)
            );
        }
        let config = Config {
            no_keep_alive: true,
            ..Config::default()
        };
        let (outcome, _) = drive(&config, [&b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"[..]], false);
        assert!(!outcome.messages[0].head.keep_alive());
    }

    #[test]
    fn expect_continue() {
        let cases: &[(&[u8], bool)] = &[
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n",
                true,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue \r\n",
                true,
            ),
            (b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n", false),
            (b"POST / HTTP/1.1\r\nHost: a\r\n", false),
            (b"POST / HTTP/1.0\r\nExpect: 100-continue\r\n", false),
        ];
        for &(start, expect) in cases {
            let mut input = start.to_vec();
            input.extend_from_slice(b"Content-Length: 0\r\n\r\n");
            assert_eq!(head_of(&input).expect_continue(), expect);
        }
    }

    #[test]
    fn request_line_limit() {
        let config = Config {
            max_request_line: 20,
            ..Config::default()
        };
        // "GET /aaaa HTTP/1.1" is 18 bytes; pad the target to reach the limit.
        let exactly = b"GET /aaaaaa HTTP/1.1\r\nHost: a\r\n\r\n";
        assert_eq!(check_incremental(&config, exactly, false).error, None);
        let over = b"GET /aaaaaaa HTTP/1.1\r\nHost: a\r\n\r\n";
        assert_eq!(
            check_incremental(&config, over, false).error,
            Some(ParseError::RequestLineTooLong)
        );
        // Refused before the line ends.
        let (outcome, _) = drive(&config, [&b"GET /aaaaaaaaaaaaaaaaaaaaaa"[..]], false);
        assert_eq!(outcome.error, Some(ParseError::RequestLineTooLong));
        // With bare LF the limit is the same.
        let exactly_lf = b"GET /aaaaaa HTTP/1.1\nHost: a\n\n";
        assert_eq!(check_incremental(&config, exactly_lf, false).error, None);
    }

    #[test]
    fn head_size_limit() {
        let head = b"GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789\r\n\r\n";
        let exact = Config {
            max_header_size: head.len(),
            ..Config::default()
        };
        assert_eq!(check_incremental(&exact, head, false).error, None);
        let small = Config {
            max_header_size: head.len() - 1,
            ..Config::default()
        };
        assert_eq!(
            check_incremental(&small, head, false).error,
            Some(ParseError::HeadTooLarge)
        );
        // Refused before the head ends, once the buffer passes the limit.
        let (outcome, _) = drive(&small, [&head[..head.len() - 1]], false);
        assert_eq!(outcome.error, None);
        let (outcome, _) = drive(&small, [&head[..head.len() - 1], b"X"], false);
        assert_eq!(outcome.error, Some(ParseError::HeadTooLarge));
    }

    #[test]
    fn header_count_limit() {
        for max_headers in [2, 3, 200] {
            let config = Config {
                max_headers,
                ..Config::default()
            };
            let mut input = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
            for i in 1..max_headers {
                input.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
            }
            input.extend_from_slice(b"\r\n");
            assert_eq!(check_incremental(&config, &input, false).error, None);
            input.splice(input.len() - 2..input.len() - 2, *b"X-Extra: v\r\n");
            assert_eq!(
                check_incremental(&config, &input, false).error,
                Some(ParseError::TooManyHeaders)
            );
        }
    }

    #[test]
    fn eof_inside_a_head_is_an_error_and_between_requests_is_not() {
        let (outcome, _) = drive(&Config::default(), [&b"GET / HT"[..]], true);
        assert_eq!(outcome.error, Some(ParseError::IncompleteHead));
        let (outcome, _) = drive(&Config::default(), [&b"\r\n"[..]], true);
        assert_eq!((outcome.error, outcome.closed), (None, true));
    }

    #[test]
    fn trickled_head_is_parsed_in_linear_time() {
        // 64 KiB of fields one byte at a time: with a rescan from zero on every
        // byte this would be ~2^31 byte comparisons.
        let mut input = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
        while input.len() < 65_000 {
            input.extend_from_slice(b"X-Padding: 0123456789abcdef0123456789abcdef\r\n");
        }
        input.extend_from_slice(b"\r\n");
        let config = Config {
            max_headers: 2000,
            ..Config::default()
        };
        let started = std::time::Instant::now();
        let mut codec = crate::http1::Codec::new(config);
        for byte in &input[..input.len() - 1] {
            codec.receive_data(std::slice::from_ref(byte));
            assert!(matches!(codec.next_event(), Ok(Event::NeedData)));
        }
        codec.receive_data(b"\n");
        assert!(matches!(codec.next_event(), Ok(Event::Request(_))));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn parse_decimal_and_trim() {
        assert_eq!(parse_decimal(b"0"), Some(0));
        assert_eq!(parse_decimal(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_decimal(b"18446744073709551616"), None);
        assert_eq!(parse_decimal(b""), None);
        assert_eq!(parse_decimal(b"1 "), None);
        assert_eq!(trim_ows(b" \t a b \t"), b"a b");
        assert_eq!(trim_ows(b"   "), b"");
    }

    #[test]
    fn host_values() {
        for ok in [
            &b""[..],
            b"example.com",
            b"example.com:8080",
            b"[::1]:80",
            b"a%20b",
            b"a%2C",
            b"xn--bcher-kva.example",
        ] {
            assert!(is_valid_host(ok), "{ok:?}");
        }
        for bad in [
            &b"a b"[..],
            b"a/b",
            b"a%2",
            b"a%g0",
            b"a\"b",
            b"a@b",
            b"\xc3\xa9",
            b"a,b",
            b"a:80,b:80",
            b"[::1],",
        ] {
            assert!(!is_valid_host(bad), "{bad:?}");
        }
    }

    #[test]
    fn sub_bytes_is_total() {
        let parent = Bytes::from_static(b"hello world");
        assert_eq!(
            sub_bytes(&parent, &parent[6..]),
            Bytes::from_static(b"world")
        );
        assert_eq!(sub_bytes(&parent, b"elsewhere"), Bytes::new());
    }
}
