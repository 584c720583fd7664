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
        let bytes = buf.as_bytes();
        crlf_line(bytes, newline)?;
        let empty_line = newline >= 3 && bytes.get(newline - 2) == Some(&b'\n');
        if newline == 1 {
            // "\r\n" right after the last chunk: no trailers.
            buf.advance(2);
            return Ok(Event::EndOfMessage { trailers: None });
        }
        if empty_line {
            let end = newline + 1;
            if end > config.max_header_size {
                return Err(ParseError::TrailersTooLarge);
            }
            let section = buf.take(end);
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
