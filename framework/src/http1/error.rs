//! The codec's two error types, split as h11 splits them: [`ParseError`] when
//! the peer broke the protocol, [`LocalProtocolError`] when we did.

use std::fmt;

/// The peer sent bytes that are not a valid HTTP/1.x request (h11's
/// `RemoteProtocolError`).
///
/// Each variant knows the status the server should answer with before it
/// closes the connection ([`status_hint`](Self::status_hint)), and carries a
/// static message ([`as_str`](Self::as_str)) suitable for one log line. Once
/// [`Codec::next_event`](super::Codec::next_event) has returned a `ParseError`
/// it returns the same error forever: the connection cannot be resynchronised
/// and must close after the error response.
///
/// # Tornado
///
/// `httputil.HTTPInputError`, which Tornado always answers with 400; here the
/// status follows RFC 9110/9112 (413, 414, 431, 501, 505 where they apply).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseError {
    /// The request line is longer than `Config::max_request_line` (414).
    RequestLineTooLong,
    /// The request head is longer than `Config::max_header_size` (431).
    HeadTooLarge,
    /// More header (or trailer) fields than `Config::max_headers` (431).
    TooManyHeaders,
    /// The method is not a token (400).
    Method,
    /// The request target is empty or contains a byte that is not allowed (400).
    Target,
    /// The HTTP version is malformed (400).
    Version,
    /// A well-formed HTTP version other than 1.0 and 1.1 (505).
    UnsupportedVersion,
    /// The HTTP/2 connection preface `PRI * HTTP/2.0` (400).
    Http2Preface,
    /// A field name is not a token, has whitespace before its colon, or a line
    /// starts with whitespace (obsolete line folding) (400).
    HeaderName,
    /// A field value contains NUL, a bare CR, or another control byte (400).
    HeaderValue,
    /// A line ends in a bare CR, or the head is otherwise malformed (400).
    NewLine,
    /// An HTTP/1.1 request without a `Host` field (400).
    MissingHost,
    /// More than one `Host` field, or a `Host` value that is not a valid
    /// `uri-host [ ":" port ]` (400).
    InvalidHost,
    /// A `Content-Length` value that is not a plain decimal number (400).
    InvalidContentLength,
    /// Several `Content-Length` values that differ (400).
    ConflictingContentLength,
    /// Both `Transfer-Encoding` and `Content-Length` (400): a request-smuggling
    /// defence, RFC 9112 §6.3.
    TransferEncodingAndContentLength,
    /// `Transfer-Encoding` whose final coding is not `chunked`, or that applies
    /// `chunked` twice (400, RFC 9112 §6.3).
    TransferEncodingNotChunked,
    /// A transfer coding other than `chunked` before the final `chunked` (501).
    UnsupportedTransferEncoding,
    /// `Transfer-Encoding` in an HTTP/1.0 request, whose framing RFC 9112 §6.1
    /// says to treat as faulty (400).
    TransferEncodingInHttp10,
    /// The body is larger than the maximum body size (413).
    BodyTooLarge,
    /// A chunk size that is not 1–15 hexadecimal digits (400).
    ChunkSize,
    /// A chunk extension with a byte that is not allowed, or whitespace not
    /// followed by `;` (400).
    ChunkExtension,
    /// A chunk-size line longer than `Config::max_chunk_line` (400).
    ChunkLineTooLong,
    /// A bare LF where chunked framing requires CRLF (400).
    ChunkedBareLf,
    /// Chunk data not followed by CRLF (400).
    ChunkTerminator,
    /// The trailer section is longer than `Config::max_header_size` (431).
    TrailersTooLarge,
    /// The connection closed in the middle of a request head (400).
    IncompleteHead,
    /// The connection closed in the middle of a request body (400).
    IncompleteBody,
    /// (Client) a malformed status line: not `HTTP/1.x`, a status code that
    /// is not three digits or is below 100, or a bad reason phrase (502).
    Status,
    /// (Client) the status line is longer than `Config::max_request_line` (502).
    StatusLineTooLong,
    /// (Client) the response head is longer than `Config::max_header_size` (502).
    ResponseHeadTooLarge,
    /// (Client) the response body is larger than the maximum body size (502).
    ResponseBodyTooLarge,
    /// (Client) the connection closed in the middle of a response head (502).
    IncompleteResponseHead,
    /// (Client) the connection closed in the middle of a response body, before
    /// its `Content-Length` or last chunk (502).
    IncompleteResponseBody,
    /// (Client) bytes arrived when no request was outstanding (502).
    UnsolicitedResponse,
    /// (Client) `101 Switching Protocols`, which the client never asks for (502).
    UnexpectedSwitchingProtocols,
}

impl ParseError {
    /// The status code to answer with before closing: 400, 413, 414, 431, 501
    /// or 505. The errors only the client side of the codec reports (a bad
    /// response) give 502, what a gateway would answer.
    ///
    /// # Tornado
    ///
    /// h11's `error_status_hint`; Tornado answers every `HTTPInputError` with 400.
    pub fn status_hint(&self) -> u16 {
        match self {
            ParseError::RequestLineTooLong => 414,
            ParseError::HeadTooLarge
            | ParseError::TooManyHeaders
            | ParseError::TrailersTooLarge => 431,
            ParseError::BodyTooLarge => 413,
            ParseError::UnsupportedTransferEncoding => 501,
            ParseError::UnsupportedVersion => 505,
            ParseError::Status
            | ParseError::StatusLineTooLong
            | ParseError::ResponseHeadTooLarge
            | ParseError::ResponseBodyTooLarge
            | ParseError::IncompleteResponseHead
            | ParseError::IncompleteResponseBody
            | ParseError::UnsolicitedResponse
            | ParseError::UnexpectedSwitchingProtocols => 502,
            _ => 400,
        }
    }

    /// A short description of the error, for logs.
    ///
    /// The wording is unspecified and may change: match on the variant instead.
    pub fn as_str(&self) -> &'static str {
        match self {
            ParseError::RequestLineTooLong => "request line too long",
            ParseError::HeadTooLarge => "request head too large",
            ParseError::TooManyHeaders => "too many header fields",
            ParseError::Method => "invalid request method",
            ParseError::Target => "invalid request target",
            ParseError::Version => "malformed HTTP version",
            ParseError::UnsupportedVersion => "unsupported HTTP version",
            ParseError::Http2Preface => "HTTP/2 connection preface on an HTTP/1 connection",
            ParseError::HeaderName => "invalid header field name or line folding",
            ParseError::HeaderValue => "invalid byte in header field value",
            ParseError::NewLine => "malformed line ending",
            ParseError::MissingHost => "HTTP/1.1 request without Host",
            ParseError::InvalidHost => "duplicate or invalid Host",
            ParseError::InvalidContentLength => "Content-Length is not a decimal number",
            ParseError::ConflictingContentLength => "multiple unequal Content-Lengths",
            ParseError::TransferEncodingAndContentLength => {
                "message with both Transfer-Encoding and Content-Length"
            }
            ParseError::TransferEncodingNotChunked => "final transfer coding is not chunked",
            ParseError::UnsupportedTransferEncoding => "unsupported transfer coding",
            ParseError::TransferEncodingInHttp10 => "Transfer-Encoding in an HTTP/1.0 request",
            ParseError::BodyTooLarge => "request body too large",
            ParseError::ChunkSize => "invalid chunk size",
            ParseError::ChunkExtension => "invalid chunk extension",
            ParseError::ChunkLineTooLong => "chunk-size line too long",
            ParseError::ChunkedBareLf => "bare LF in chunked framing",
            ParseError::ChunkTerminator => "chunk data not followed by CRLF",
            ParseError::TrailersTooLarge => "trailer section too large",
            ParseError::IncompleteHead => "connection closed in the request head",
            ParseError::IncompleteBody => "connection closed in the request body",
            ParseError::Status => "malformed status line",
            ParseError::StatusLineTooLong => "status line too long",
            ParseError::ResponseHeadTooLarge => "response head too large",
            ParseError::ResponseBodyTooLarge => "response body too large",
            ParseError::IncompleteResponseHead => "connection closed in the response head",
            ParseError::IncompleteResponseBody => "connection closed in the response body",
            ParseError::UnsolicitedResponse => "data received with no request outstanding",
            ParseError::UnexpectedSwitchingProtocols => "unexpected 101 Switching Protocols",
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for ParseError {}

/// We tried to do something the protocol forbids (h11's
/// `LocalProtocolError`): a bug in the caller, not in the peer.
///
/// After most of these the response is unusable and the connection should be
/// closed; the codec marks its own side as errored so nothing more can be
/// written on it.
///
/// # Tornado
///
/// `httputil.HTTPOutputError` (for example "Tried to write more data than
/// Content-Length"), and the `ValueError` Tornado raises for a newline in a
/// header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LocalProtocolError {
    /// The call is not allowed in the current state, for example `write`
    /// before `write_headers` or anything after `finish`.
    WrongState,
    /// More body than `Content-Length` promised, or body on a response that
    /// cannot have one (HEAD, 1xx, 204, 304).
    TooMuchData,
    /// `finish` before `Content-Length` bytes were written.
    TooLittleData,
    /// A status code outside 100–999.
    InvalidStatus,
    /// A reason phrase containing CR, LF or another control byte.
    InvalidReason,
    /// A header name that is not a token.
    InvalidHeaderName,
    /// A header value containing CR, LF, NUL or another control byte.
    InvalidHeaderValue,
    /// A `Content-Length` header that is not a decimal number, or several
    /// that differ.
    InvalidContentLength,
    /// `start_next_cycle` before both sides finished, or on a connection that
    /// must close.
    NotReusable,
    /// (Client) a request method that is not a token.
    InvalidMethod,
    /// (Client) a request target that is empty or contains whitespace or a
    /// control byte.
    InvalidTarget,
}

impl LocalProtocolError {
    /// Always 500: a local protocol error is a server bug.
    pub fn status_hint(&self) -> u16 {
        500
    }

    /// A short description of the error, for logs.
    pub fn as_str(&self) -> &'static str {
        match self {
            LocalProtocolError::WrongState => "not allowed in the current connection state",
            LocalProtocolError::TooMuchData => "tried to write more data than Content-Length",
            LocalProtocolError::TooLittleData => "tried to write less data than Content-Length",
            LocalProtocolError::InvalidStatus => "status code outside 100-999",
            LocalProtocolError::InvalidReason => "illegal characters in reason phrase",
            LocalProtocolError::InvalidHeaderName => "header name is not a token",
            LocalProtocolError::InvalidHeaderValue => {
                "illegal characters (CR, LF or NUL) in header"
            }
            LocalProtocolError::InvalidContentLength => "invalid Content-Length header",
            LocalProtocolError::NotReusable => "connection cannot start another request cycle",
            LocalProtocolError::InvalidMethod => "request method is not a token",
            LocalProtocolError::InvalidTarget => "request target is empty or contains whitespace",
        }
    }
}

impl fmt::Display for LocalProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for LocalProtocolError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_hints() {
        let cases = [
            (ParseError::RequestLineTooLong, 414),
            (ParseError::HeadTooLarge, 431),
            (ParseError::TooManyHeaders, 431),
            (ParseError::TrailersTooLarge, 431),
            (ParseError::BodyTooLarge, 413),
            (ParseError::UnsupportedTransferEncoding, 501),
            (ParseError::UnsupportedVersion, 505),
            (ParseError::Http2Preface, 400),
            (ParseError::MissingHost, 400),
            (ParseError::ChunkedBareLf, 400),
        ];
        for (error, status) in cases {
            assert_eq!(error.status_hint(), status, "{error}");
        }
        assert_eq!(LocalProtocolError::TooMuchData.status_hint(), 500);
        assert_eq!(
            LocalProtocolError::TooMuchData.to_string(),
            "tried to write more data than Content-Length"
        );
    }
}
