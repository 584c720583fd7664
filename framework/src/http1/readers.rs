//! Request body decoders: one per framing, each consuming bytes from the
//! receive buffer and producing `Data` / `EndOfMessage` events, or asking for
//! more bytes (`NeedData`).
//!
//! Bare LF policy. A chunked body is framed by lines (chunk sizes, the CRLF
//! after each chunk's data, trailer fields). Here the codec is strict: every
//! one of those lines must end in CRLF, and a bare LF is refused with 400
//! ([`ParseError::ChunkedBareLf`]). A lenient parser and a strict one could
//! otherwise disagree on where a chunk (and so the request) ends, which is the
//! shape of a request-smuggling attack; refusing is the only answer on which
//! every conforming parser agrees. (The head is lenient, as RFC 9112 §2.2
//! allows, because there `httparse` and our scanner share one definition of
//! a line end; see `head.rs`.)
//!
//! Limits. A chunk-size line is bounded by `Config::max_chunk_line`, its size
//! by 15 hex digits (like httparse's `parse_chunk_size`, so the arithmetic
//! cannot overflow), the sum of chunk sizes by the body limit, and the trailer
//! section by `Config::max_header_size` and `Config::max_headers`.

use bytes::Bytes;

use super::config::Config;
use super::error::ParseError;
use super::events::Event;
use super::head::sub_bytes;
use super::receive_buffer::ReceiveBuffer;
use crate::httputil::HTTPHeaders;

/// Most hex digits in a chunk size: 15 digits stay below 2^60.
const MAX_CHUNK_SIZE_DIGITS: usize = 15;

/// Decodes one request body.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decoder {
    /// A body of known length (`Content-Length`, or 0 when there is none).
    Length {
        /// The declared length, checked against the body limit.
        total: u64,
        /// Bytes not yet handed out.
        remaining: u64,
    },
    /// A `Transfer-Encoding: chunked` body.
    Chunked {
        state: ChunkedState,
        /// Sum of the chunk sizes seen so far.
        total: u64,
    },
    /// (Responses only) a body that ends when the peer closes the
    /// connection, RFC 9112 §6.3 rule 8.
    CloseDelimited {
        /// Bytes handed out so far, checked against the body limit.
        total: u64,
    },
}

/// Where a chunked decoder is within the chunked framing.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ChunkedState {
    /// Expecting a chunk-size line.
    Size,
    /// Inside a chunk's data, with this many bytes left.
    Data(u64),
    /// Expecting the CRLF after a chunk's data.
    DataEnd,
    /// After the last (zero-size) chunk: expecting trailer fields, then CRLF.
    Trailers,
}

impl Decoder {
    /// A body of exactly `n` bytes.
    pub(crate) fn length(n: u64) -> Decoder {
        Decoder::Length {
            total: n,
            remaining: n,
        }
    }

    /// A chunked body.
    pub(crate) fn chunked() -> Decoder {
        Decoder::Chunked {
            state: ChunkedState::Size,
            total: 0,
        }
    }

    /// A body that runs until the connection closes (a response without
    /// `Content-Length` or `Transfer-Encoding`).
    pub(crate) fn close_delimited() -> Decoder {
        Decoder::CloseDelimited { total: 0 }
    }

    /// Consumes what it can from `buf` and returns the next body event:
    /// `Data`, `EndOfMessage`, or `NeedData` when `buf` holds too little.
    /// After `EndOfMessage` the decoder must not be called again.
    pub(crate) fn decode(
        &mut self,
        buf: &mut ReceiveBuffer,
        config: &Config,
        max_body_size: u64,
    ) -> Result<Event, ParseError> {
        match self {
            Decoder::Length { total, remaining } => {
                // Checked here rather than when the head is parsed, so that
                // the limit can be raised for this request after its head
                // arrives (Tornado's `set_max_body_size` in `headers_received`).
                if *total > max_body_size {
                    return Err(ParseError::BodyTooLarge);
                }
                if *remaining == 0 {
                    return Ok(Event::EndOfMessage { trailers: None });
                }
                if buf.is_empty() {
                    return Ok(Event::NeedData);
                }
                let n = usize::try_from(*remaining).map_or(buf.len(), |r| r.min(buf.len()));
                *remaining = remaining.saturating_sub(n as u64);
                Ok(Event::Data(buf.take(n)))
            }
            Decoder::Chunked { state, total } => {
                decode_chunked(state, total, buf, config, max_body_size)
            }
            Decoder::CloseDelimited { total } => {
                if buf.is_empty() {
                    return Ok(if buf.is_eof() {
                        Event::EndOfMessage { trailers: None }
                    } else {
                        Event::NeedData
                    });
                }
                // Hand out bytes up to the limit, then refuse: the events do
                // not depend on how the bytes were split.
                let room = max_body_size.saturating_sub(*total);
                if room == 0 {
                    return Err(ParseError::BodyTooLarge);
                }
                let n = usize::try_from(room).map_or(buf.len(), |r| r.min(buf.len()));
                *total = total.saturating_add(n as u64);
                Ok(Event::Data(buf.take(n)))
            }
        }
    }
}

fn decode_chunked(
    state: &mut ChunkedState,
    total: &mut u64,
    buf: &mut ReceiveBuffer,
    config: &Config,
    max_body_size: u64,
) -> Result<Event, ParseError> {
    loop {
        match state {
            ChunkedState::Size => {
                let Some(newline) = buf.next_newline() else {
                    if buf.len() > config.max_chunk_line {
                        return Err(ParseError::ChunkLineTooLong);
                    }
                    return Ok(Event::NeedData);
                };
                if newline >= config.max_chunk_line {
                    return Err(ParseError::ChunkLineTooLong);
                }
                let line = crlf_line(buf.as_bytes(), newline)?;
                let size = parse_chunk_size_line(line)?;
                buf.advance(newline + 1);
                if size == 0 {
                    *state = ChunkedState::Trailers;
                    continue;
                }
                *total = total
                    .checked_add(size)
                    .filter(|&t| t <= max_body_size)
                    .ok_or(ParseError::BodyTooLarge)?;
                *state = ChunkedState::Data(size);
            }
            ChunkedState::Data(remaining) => {
                if buf.is_empty() {
                    return Ok(Event::NeedData);
                }
                let n = usize::try_from(*remaining).map_or(buf.len(), |r| r.min(buf.len()));
                *remaining = remaining.saturating_sub(n as u64);
                if *remaining == 0 {
                    *state = ChunkedState::DataEnd;
                }
                return Ok(Event::Data(buf.take(n)));
            }
            ChunkedState::DataEnd => match buf.as_bytes() {
                [b'\r', b'\n', ..] => {
                    buf.advance(2);
                    *state = ChunkedState::Size;
                }
                [] | [b'\r'] => return Ok(Event::NeedData),
                [b'\n', ..] => return Err(ParseError::ChunkedBareLf),
                _ => return Err(ParseError::ChunkTerminator),
            },
            ChunkedState::Trailers => return read_trailers(buf, config),
        }
    }
}

/// The line ending at `newline`, without its CRLF; a bare LF is an error.
fn crlf_line(bytes: &[u8], newline: usize) -> Result<&[u8], ParseError> {
    let cr = newline.checked_sub(1).ok_or(ParseError::ChunkedBareLf)?;
    match (bytes.get(cr), bytes.get(..cr)) {
        (Some(b'\r'), Some(line)) => Ok(line),
        _ => Err(ParseError::ChunkedBareLf),
    }
}

/// Parses `chunk-size [ chunk-ext ]` (RFC 9112 §7.1), the line without CRLF.
///
/// Extensions are checked, not interpreted: after optional whitespace the
/// first must start with `;`, and no byte may be a control character other
/// than HTAB, so no extension can hide a line end.
pub(crate) fn parse_chunk_size_line(line: &[u8]) -> Result<u64, ParseError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > MAX_CHUNK_SIZE_DIGITS {
        return Err(ParseError::ChunkSize);
    }
    let (size, ext) = line.split_at_checked(digits).ok_or(ParseError::ChunkSize)?;
    let size = size
        .iter()
        .fold(0u64, |acc, &b| (acc << 4) | u64::from(hex_value(b)));
    if ext.is_empty() {
        return Ok(size);
    }
    let rest_start = ext.iter().position(|&b| b != b' ' && b != b'\t');
    match rest_start.and_then(|i| ext.get(i)) {
        Some(b';') => {
            let allowed = |b: u8| b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80;
            if ext.iter().all(|&b| allowed(b)) {
                Ok(size)
            } else {
                Err(ParseError::ChunkExtension)
            }
        }
        // A stray byte right after the digits (e.g. "5G") spoils the size.
        Some(_) if rest_start == Some(0) => Err(ParseError::ChunkSize),
        // Whitespace followed by nothing, or by something other than `;`.
        _ => Err(ParseError::ChunkExtension),
    }
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

/// Reads the trailer section after the last chunk, up to and including its
/// empty line.
fn read_trailers(buf: &mut ReceiveBuffer, config: &Config) -> Result<Event, ParseError> {
    while let Some(newline) = buf.next_newline() {
        // The size check comes first so that the error does not depend on
        // how the bytes were split (a bare LF past the limit is never seen).
        if newline >= config.max_header_size {
            return Err(ParseError::TrailersTooLarge);
        }
        let bytes = buf.as_bytes();
        crlf_line(bytes, newline)?;
        let empty_line = newline >= 3 && bytes.get(newline - 2) == Some(&b'\n');
        if newline == 1 {
            // "\r\n" right after the last chunk: no trailers.
            buf.advance(2);
            return Ok(Event::EndOfMessage { trailers: None });
        }
        if empty_line {
            let section = buf.take(newline + 1);
            return parse_trailers(&section, config.max_headers).map(|trailers| {
                Event::EndOfMessage {
                    trailers: Some(trailers),
                }
            });
        }
    }
    if buf.len() > config.max_header_size {
        return Err(ParseError::TrailersTooLarge);
    }
    Ok(Event::NeedData)
}

/// Parses trailer fields, each line already known to end in CRLF.
fn parse_trailers(section: &Bytes, max_fields: usize) -> Result<HTTPHeaders, ParseError> {
    let mut slots = vec![httparse::EMPTY_HEADER; max_fields];
    match httparse::parse_headers(section, &mut slots) {
        Ok(httparse::Status::Complete((n, fields))) if n == section.len() => Ok(fields
            .iter()
            .map(|f| {
                (
                    sub_bytes(section, f.name.as_bytes()),
                    sub_bytes(section, f.value),
                )
            })
            .collect()),
        Ok(_) => Err(ParseError::NewLine),
        Err(httparse::Error::TooManyHeaders) => Err(ParseError::TooManyHeaders),
        Err(httparse::Error::HeaderValue) => Err(ParseError::HeaderValue),
        Err(_) => Err(ParseError::HeaderName),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http1::test_util::{check_incremental, drive};

    const CHUNKED_HEAD: &[u8] =
        b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";

    fn chunked(body: &[u8]) -> Vec<u8> {
        [CHUNKED_HEAD, body].concat()
    }

    fn length(body: &[u8]) -> Vec<u8> {
        let head = format!(
            "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        [head.as_bytes(), body].concat()
    }

    #[test]
    fn content_length_bodies() {
        for body in [&b""[..], b"x", b"hello world", &[0u8; 300]] {
            let outcome = check_incremental(&Config::default(), &length(body), false);
            assert_eq!(outcome.single().body, body);
        }
    }

    #[test]
    fn chunked_bodies() {
        type Trailers = &'static [(&'static str, &'static str)];
        let cases: &[(&[u8], &[u8], Trailers)] = &[
            (b"0\r\n\r\n", b"", &[]),
            (b"5\r\nhello\r\n0\r\n\r\n", b"hello", &[]),
            (
                b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
                b"hello world",
                &[],
            ),
            (b"A\r\n0123456789\r\n0\r\n\r\n", b"0123456789", &[]),
            (b"a\r\n0123456789\r\n00\r\n\r\n", b"0123456789", &[]),
            (b"000000000000005\r\nhello\r\n0\r\n\r\n", b"hello", &[]),
            (b"5;name=value\r\nhello\r\n0;last\r\n\r\n", b"hello", &[]),
            (b"5 ;a=\"q; \\\" x\"\r\nhello\r\n0\r\n\r\n", b"hello", &[]),
            (b"5\t; a = b ; c\r\nhello\r\n0\r\n\r\n", b"hello", &[]),
            (b"5\r\nhe\nlo\r\n0\r\n\r\n", b"he\nlo", &[]),
            (
                b"5\r\nhello\r\n0\r\nExpires: never\r\nX-Sum: abc\r\n\r\n",
                b"hello",
                &[("Expires", "never"), ("X-Sum", "abc")],
            ),
        ];
        for &(body, expected, trailers) in cases {
            let outcome = check_incremental(&Config::default(), &chunked(body), false);
            let message = outcome.single();
            assert_eq!(
                message.body,
                expected,
                "{:?}",
                String::from_utf8_lossy(body)
            );
            let got: Vec<_> = message
                .trailers
                .iter()
                .flat_map(|t| t.get_all().map(|(n, v)| (n.to_owned(), v.to_owned())))
                .collect();
            let want: Vec<_> = trailers
                .iter()
                .map(|&(n, v)| (n.to_owned(), v.to_owned()))
                .collect();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn chunked_errors() {
        use ParseError::*;
        let cases: &[(&[u8], ParseError)] = &[
            // Bare LF anywhere in the framing.
            (b"5\nhello\r\n0\r\n\r\n", ChunkedBareLf),
            (b"\n", ChunkedBareLf),
            (b"5\r\nhello\n0\r\n\r\n", ChunkedBareLf),
            (b"5\r\nhello\r\n0\n\r\n", ChunkedBareLf),
            (b"5\r\nhello\r\n0\r\n\n", ChunkedBareLf),
            (b"5\r\nhello\r\n0\r\nX: y\n\r\n", ChunkedBareLf),
            (b"5\r\nhello\r\n0\r\nX: y\r\n\n", ChunkedBareLf),
            (b"5;a=b\nhello\r\n0\r\n\r\n", ChunkedBareLf),
            // Sizes.
            (b"\r\nhello\r\n0\r\n\r\n", ChunkSize),
            (b"g\r\n", ChunkSize),
            (b"-5\r\n", ChunkSize),
            (b"+5\r\n", ChunkSize),
            (b"0x5\r\n", ChunkSize),
            (b"5g\r\n", ChunkSize),
            (b" 5\r\n", ChunkSize),
            (b"0000000000000005\r\nhello\r\n0\r\n\r\n", ChunkSize),
            (b"ffffffffffffffffff\r\n", ChunkSize),
            // Extensions.
            (b"5 \r\nhello\r\n0\r\n\r\n", ChunkExtension),
            (b"5 x\r\n", ChunkExtension),
            (b"5;a\rb\r\nhello\r\n0\r\n\r\n", ChunkExtension),
            (b"5;a\x00\r\n", ChunkExtension),
            (b"5;a\x7f\r\n", ChunkExtension),
            // Data terminator.
            (b"5\r\nhelloX\r\n0\r\n\r\n", ChunkTerminator),
            (b"5\r\nhello\rX0\r\n\r\n", ChunkTerminator),
            (b"3\r\nhello\r\n0\r\n\r\n", ChunkTerminator),
            // Trailers.
            (b"0\r\nX : y\r\n\r\n", HeaderName),
            (b"0\r\nX: y\r\n z\r\n\r\n", HeaderName),
            (b"0\r\nno colon\r\n\r\n", HeaderName),
            (b"0\r\nX: a\x01\r\n\r\n", HeaderValue),
            (b"0\r\nX: a\rb\r\n\r\n", HeaderValue),
            // Sizes past the body limit, including ones that would overflow.
            (b"fffffffffffffff\r\n", BodyTooLarge),
            (b"6400001\r\n", BodyTooLarge),
        ];
        let mismatches: Vec<_> = cases
            .iter()
            .filter_map(|&(body, error)| {
                let got = check_incremental(&Config::default(), &chunked(body), false).error;
                (got != Some(error)).then(|| (String::from_utf8_lossy(body), got))
            })
            .collect();
        assert!(mismatches.is_empty(), "{mismatches:#?}");
    }

    #[test]
    fn chunk_sizes_add_up_against_the_body_limit() {
        let config = Config {
            max_body_size: 10,
            ..Config::default()
        };
        let ok = chunked(b"5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n");
        assert_eq!(
            check_incremental(&config, &ok, false).single().body,
            b"helloworld"
        );
        let over = chunked(b"5\r\nhello\r\n6\r\nworld!\r\n0\r\n\r\n");
        let outcome = check_incremental(&config, &over, false);
        assert_eq!(outcome.error, Some(ParseError::BodyTooLarge));
        // The first chunk was delivered before the second one's size was seen.
        assert_eq!(outcome.messages[0].body, b"hello");
    }

    #[test]
    fn content_length_over_the_limit_is_refused_before_the_body() {
        let config = Config {
            max_body_size: 4,
            ..Config::default()
        };
        let (outcome, _) = drive(
            &config,
            [&b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"[..]],
            false,
        );
        assert_eq!(outcome.error, Some(ParseError::BodyTooLarge));
        assert_eq!(outcome.messages.len(), 1);
        assert_eq!(ParseError::BodyTooLarge.status_hint(), 413);
        let exact = length(b"four");
        assert_eq!(
            check_incremental(&config, &exact, false).single().body,
            b"four"
        );
    }

    #[test]
    fn chunk_line_limit() {
        let config = Config {
            max_chunk_line: 10,
            ..Config::default()
        };
        // "5;abcdef\r\n" is exactly 10 bytes.
        let ok = chunked(b"5;abcdef\r\nhello\r\n0\r\n\r\n");
        assert_eq!(
            check_incremental(&config, &ok, false).single().body,
            b"hello"
        );
        let long = chunked(b"5;abcdefg\r\nhello\r\n0\r\n\r\n");
        assert_eq!(
            check_incremental(&config, &long, false).error,
            Some(ParseError::ChunkLineTooLong)
        );
        // Refused before the line ends.
        let (outcome, _) = drive(&config, [&chunked(b"5;abcdefghij")[..]], false);
        assert_eq!(outcome.error, Some(ParseError::ChunkLineTooLong));
    }

    #[test]
    fn trailer_limits() {
        // Trailer values longer than the head, so that only the trailers
        // can hit a limit set to their size.
        let padding = "v".repeat(CHUNKED_HEAD.len());
        let body = format!("0\r\nX-A: {padding}\r\nX-B: 2\r\n\r\n");
        let body = body.as_bytes();
        let section = body.len() - 3;
        let exact = Config {
            max_header_size: section,
            max_headers: 2,
            ..Config::default()
        };
        assert!(check_incremental(&exact, &chunked(body), false)
            .single()
            .trailers
            .is_some());
        let small = Config {
            max_header_size: section - 1,
            ..exact.clone()
        };
        assert_eq!(
            check_incremental(&small, &chunked(body), false).error,
            Some(ParseError::TrailersTooLarge)
        );
        let few = Config {
            max_headers: 1,
            ..exact
        };
        assert_eq!(
            check_incremental(&few, &chunked(body), false).error,
            Some(ParseError::TooManyHeaders)
        );
    }

    #[test]
    fn eof_inside_a_body_is_an_error() {
        for input in [length(b"hello"), chunked(b"5\r\nhello\r\n0\r\n\r\n")] {
            for cut in 1..=5 {
                let truncated = &input[..input.len() - cut];
                let (outcome, _) = drive(&Config::default(), [truncated], true);
                assert_eq!(outcome.error, Some(ParseError::IncompleteBody), "cut {cut}");
            }
        }
    }

    #[test]
    fn chunk_size_line_grammar() {
        assert_eq!(parse_chunk_size_line(b"0"), Ok(0));
        assert_eq!(
            parse_chunk_size_line(b"fFfFfFfFfFfFfFf"),
            Ok(0x0fff_ffff_ffff_ffff)
        );
        assert_eq!(parse_chunk_size_line(b"1;x"), Ok(1));
        assert_eq!(parse_chunk_size_line(b"1 \t;x"), Ok(1));
        assert_eq!(parse_chunk_size_line(b"1;\xff"), Ok(1));
        assert_eq!(parse_chunk_size_line(b""), Err(ParseError::ChunkSize));
        assert_eq!(
            parse_chunk_size_line(b"1\t"),
            Err(ParseError::ChunkExtension)
        );
    }
}
