//! `compress_response`: Tornado's `GZipContentEncoding` output transform,
//! applied to a response's body pieces as they are flushed.
//!
//! The head is decided on the first piece (the first `flush`, or `finish`
//! of a response never flushed): `Vary: Accept-Encoding` always, and
//! `Content-Encoding: gzip` when the client accepts gzip, the type is
//! compressible and the response is not a small one finished in one go.
//! From then on every piece goes through one deflate stream that is
//! sync-flushed at each `flush` (so what was flushed can be decoded as it
//! arrives) and ended at `finish`; the stream's state lives only as long as
//! its response.

use std::fmt;
use std::io::{self, Write};

use bytes::buf::Writer;
use bytes::{BufMut, Bytes, BytesMut};
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::httputil::{FieldName, HTTPHeaders};

/// The gzip content encoding of responses, which the `compress_response`
/// setting ([`Settings::compress_response`](super::Settings::compress_response))
/// applies to every response of an application: its constants are
/// Tornado's, and it holds one response's deflate stream.
///
/// # Tornado
/// `tornado.web.GZipContentEncoding` (an `OutputTransform`). Tornado's
/// `Application(transforms=...)` and `add_transform` (user transforms) are
/// not ported: this is the only one.
pub struct GZipContentEncoding {
    /// The response's deflate stream, writing into a buffer that each
    /// piece's output is split from.
    encoder: GzEncoder<Writer<BytesMut>>,
}

/// The response head being decided, when a piece is the response's first:
/// what [`transform`] reads and edits.
pub(crate) struct FirstChunk<'a> {
    /// The response status.
    pub(crate) status: u16,
    /// The request's headers (`Accept-Encoding`).
    pub(crate) request: &'a HTTPHeaders,
    /// The response's headers, edited in place.
    pub(crate) headers: &'a mut HTTPHeaders,
}

impl GZipContentEncoding {
    /// The types compressed besides every `text/...` one.
    ///
    /// # Tornado
    /// `GZipContentEncoding.CONTENT_TYPES`.
    pub const CONTENT_TYPES: [&'static str; 7] = [
        "application/javascript",
        "application/x-javascript",
        "application/xml",
        "application/atom+xml",
        "application/json",
        "application/xhtml+xml",
        "image/svg+xml",
    ];

    /// The deflate level: 6, gzip's own default (Python's `GzipFile`
    /// defaults to 9, slower for little gain).
    ///
    /// # Tornado
    /// `GZipContentEncoding.GZIP_LEVEL`.
    pub const GZIP_LEVEL: u32 = 6;

    /// A response finished in one go with a shorter body is not compressed
    /// (the gzip header and `Content-Encoding` would eat the gain); a
    /// response flushed in pieces is compressed whatever its size.
    ///
    /// # Tornado
    /// `GZipContentEncoding.MIN_LENGTH`.
    pub const MIN_LENGTH: usize = 1024;

    /// Whether `ctype` (a `Content-Type` up to its first `;`, unchanged:
    /// neither trimmed nor lowercased) is compressed.
    ///
    /// # Tornado
    /// `GZipContentEncoding._compressible_type(ctype)`.
    pub fn compressible_type(ctype: &str) -> bool {
        ctype.starts_with("text/") || Self::CONTENT_TYPES.contains(&ctype)
    }

    /// Decides a response's head from its first piece (`len` bytes,
    /// `finishing` if it is the whole body): adds `Accept-Encoding` to
    /// `Vary`, and, if the response is to be compressed, sets
    /// `Content-Encoding: gzip` and returns its stream.
    ///
    /// # Tornado
    /// The deciding half of `GZipContentEncoding.transform_first_chunk`,
    /// with `__init__`'s look at `Accept-Encoding`. A bodiless status (1xx,
    /// 204, 304) is never compressed here; Tornado relies on `finish`
    /// having removed its `Content-Type`, and compresses such a response
    /// flushed before `finish`, which its connection then cannot send.
    fn start(first: &mut FirstChunk<'_>, len: usize, finishing: bool) -> Option<Box<Self>> {
        let headers = &mut *first.headers;
        // Tornado: `headers["Vary"] += ", Accept-Encoding"`, on its joined
        // value, so several lines become one.
        let vary = match headers.get_joined("Vary") {
            Some(vary) => format!("{vary}, Accept-Encoding"),
            None => "Accept-Encoding".to_owned(),
        };
        headers.set("Vary", vary);
        // A plain substring search, as Tornado's `"gzip" in ...`: case
        // sensitive, and `gzip;q=0` counts.
        let accepts = first
            .request
            .get_list_bytes("Accept-Encoding")
            .any(|line| memchr::memmem::find(line, b"gzip").is_some());
        let ctype = headers.get_joined("Content-Type").unwrap_or_default();
        let ctype = ctype.split(';').next().unwrap_or_default();
        let gzipping = accepts
            && Self::compressible_type(ctype)
            && (!finishing || len >= Self::MIN_LENGTH)
            && !headers.contains("Content-Encoding")
            && !no_body(first.status);
        if !gzipping {
            return None;
        }
        headers.set("Content-Encoding", "gzip");
        let level = Compression::new(Self::GZIP_LEVEL);
        let encoder = GzEncoder::new(BytesMut::new().writer(), level);
        Some(Box::new(GZipContentEncoding { encoder }))
    }

    /// Compresses `chunk` and returns what the stream has for the client:
    /// everything so far, with a sync flush when more is to come (so the
    /// client can decode it now), or the end of the stream if `finishing`.
    ///
    /// # Tornado
    /// `GZipContentEncoding.transform_chunk(chunk, finishing)`.
    fn transform_chunk(&mut self, chunk: &[u8], finishing: bool) -> io::Result<Bytes> {
        self.encoder.write_all(chunk)?;
        if finishing {
            self.encoder.try_finish()?;
        } else {
            self.encoder.flush()?;
        }
        // The output of earlier pieces was split off before; once the
        // connection lets go of it, this buffer's allocation is reused.
        Ok(self.encoder.get_mut().get_mut().split().freeze())
    }
}

/// A status whose response has no body.
fn no_body(status: u16) -> bool {
    status == 204 || status == 304 || (100..200).contains(&status)
}

/// Applies `compress_response` to one body piece, `chunk`: `first` while
/// the head is not yet written (the piece then decides it), `state` the
/// response's stream, kept between pieces and dropped once `finishing`.
/// Returns the piece to send in `chunk`'s place, or `None` to send `chunk`
/// as it is (the response is not compressed).
///
/// # Tornado
/// `GZipContentEncoding.transform_first_chunk` (with its `Content-Length`
/// fix: the compressed length if `finishing`, else none, so the response
/// is chunked) and `transform_chunk`, as `RequestHandler.flush` calls them.
pub(crate) fn transform(
    state: &mut Option<Box<GZipContentEncoding>>,
    first: Option<FirstChunk<'_>>,
    chunk: &[u8],
    finishing: bool,
) -> io::Result<Option<Bytes>> {
    match first {
        Some(mut head) => {
            *state = None;
            let Some(mut gzip) = GZipContentEncoding::start(&mut head, chunk.len(), finishing)
            else {
                return Ok(None);
            };
            let body = gzip.transform_chunk(chunk, finishing)?;
            if head.headers.get_known(FieldName::ContentLength).is_some() {
                if finishing {
                    let mut digits = itoa::Buffer::new();
                    head.headers
                        .set("Content-Length", digits.format(body.len()));
                } else {
                    head.headers.remove("Content-Length");
                }
            }
            if !finishing {
                *state = Some(gzip);
            }
            Ok(Some(body))
        }
        None => {
            let Some(gzip) = state.as_mut() else {
                return Ok(None);
            };
            let body = gzip.transform_chunk(chunk, finishing);
            if finishing {
                // The deflate state (a few hundred KiB) goes with the response.
                *state = None;
            }
            body.map(Some)
        }
    }
}

impl fmt::Debug for GZipContentEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GZipContentEncoding")
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn gunzip(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(data)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn request(accept: Option<&str>) -> HTTPHeaders {
        let mut headers = HTTPHeaders::new();
        if let Some(accept) = accept {
            headers.add("Accept-Encoding", accept);
        }
        headers
    }

    fn response(ctype: &str, length: Option<usize>) -> HTTPHeaders {
        let mut headers = HTTPHeaders::new();
        headers.add("Content-Type", ctype);
        if let Some(length) = length {
            headers.add("Content-Length", length.to_string());
        }
        headers
    }

    /// The first piece through `transform`: the new body (None: unchanged)
    /// and whether a stream is kept for more.
    fn first(
        request: &HTTPHeaders,
        headers: &mut HTTPHeaders,
        status: u16,
        chunk: &[u8],
        finishing: bool,
    ) -> (Option<Bytes>, bool) {
        let mut state = None;
        let head = FirstChunk {
            status,
            request,
            headers,
        };
        let body = transform(&mut state, Some(head), chunk, finishing).unwrap();
        (body, state.is_some())
    }

    #[test]
    fn compressible_types_are_tornados() {
        for ctype in [
            "text/html",
            "text/plain",
            "text/",
            "application/json",
            "application/javascript",
            "application/x-javascript",
            "application/xml",
            "application/atom+xml",
            "application/xhtml+xml",
            "image/svg+xml",
        ] {
            assert!(GZipContentEncoding::compressible_type(ctype), "{ctype}");
        }
        for ctype in [
            "image/png",
            "application/octet-stream",
            "Text/html",
            " text/html",
            "application/json ",
            "APPLICATION/JSON",
            "",
        ] {
            assert!(!GZipContentEncoding::compressible_type(ctype), "{ctype}");
        }
    }

    #[test]
    fn a_whole_body_is_compressed_with_its_length() {
        let body = b"x".repeat(2000);
        let mut headers = response("text/html; charset=UTF-8", Some(body.len()));
        let (out, kept) = first(&request(Some("gzip")), &mut headers, 200, &body, true);
        let out = out.unwrap();
        assert!(!kept, "the stream ends with the response");
        assert_eq!(gunzip(&out), body);
        assert_eq!(headers.get("Content-Encoding"), Some("gzip"));
        assert_eq!(headers.get("Vary"), Some("Accept-Encoding"));
        assert_eq!(headers.get("Content-Length"), Some(&*out.len().to_string()));
    }

    #[test]
    fn what_is_not_compressed_still_varies() {
        let big = b"x".repeat(2000);
        // Accept-Encoding, Content-Type, status, body, Content-Encoding.
        type Case<'a> = (Option<&'a str>, &'a str, u16, &'a [u8], Option<&'a str>);
        let cases: [Case<'_>; 6] = [
            (Some("gzip"), "text/html", 200, b"short", None),
            (None, "text/html", 200, &big, None),
            (Some("deflate, GZIP"), "text/html", 200, &big, None),
            (Some("gzip"), "image/png", 200, &big, None),
            (Some("gzip"), "text/html", 200, &big, Some("br")),
            (Some("gzip"), "text/html", 204, b"", None),
        ];
        for (accept, ctype, status, body, encoding) in cases {
            let mut headers = response(ctype, Some(body.len()));
            if let Some(encoding) = encoding {
                headers.add("Content-Encoding", encoding);
            }
            let (out, kept) = first(&request(accept), &mut headers, status, body, true);
            assert!(out.is_none() && !kept, "{accept:?} {ctype} {status}");
            assert_eq!(headers.get("Vary"), Some("Accept-Encoding"));
            assert_eq!(headers.get("Content-Encoding"), encoding);
            assert_eq!(
                headers.get("Content-Length"),
                Some(&*body.len().to_string())
            );
        }
    }

    #[test]
    fn accept_encoding_is_searched_for_gzip_as_tornado_does() {
        let big = b"x".repeat(2000);
        for accept in ["gzip", "gzip;q=0", "deflate, x-gzip", "br,gzip"] {
            let mut headers = response("text/plain", None);
            let (out, _) = first(&request(Some(accept)), &mut headers, 200, &big, true);
            assert!(out.is_some(), "{accept}");
        }
    }

    #[test]
    fn vary_is_extended_on_its_joined_value() {
        let mut headers = response("image/png", None);
        headers.add("Vary", "Cookie");
        headers.add("Vary", "Origin");
        first(&request(None), &mut headers, 200, b"", true);
        let vary: Vec<_> = headers.get_list("Vary").collect();
        assert_eq!(vary, ["Cookie,Origin, Accept-Encoding"]);
    }

    #[test]
    fn a_streamed_body_is_decodable_at_every_flush_and_chunked() {
        let mut headers = response("application/json", Some(10));
        let request = request(Some("gzip"));
        let mut state = None;
        let head = FirstChunk {
            status: 200,
            request: &request,
            headers: &mut headers,
        };
        // A short first piece is compressed too: more is coming.
        let mut wire = transform(&mut state, Some(head), b"[1", false)
            .unwrap()
            .unwrap()
            .to_vec();
        assert!(headers.get("Content-Length").is_none(), "chunked instead");
        assert_eq!(headers.get("Content-Encoding"), Some("gzip"));
        let mut decoder = flate2::write::GzDecoder::new(Vec::new());
        let mut expected = b"[1".to_vec();
        decoder.write_all(&wire).unwrap();
        decoder.flush().unwrap();
        assert_eq!(decoder.get_ref(), &expected);
        for piece in [&b",2"[..], b"", b",3"] {
            let out = transform(&mut state, None, piece, false).unwrap().unwrap();
            expected.extend_from_slice(piece);
            decoder.write_all(&out).unwrap();
            decoder.flush().unwrap();
            assert_eq!(decoder.get_ref(), &expected, "each flush decodes");
            wire.extend_from_slice(&out);
        }
        let end = transform(&mut state, None, b"]", true).unwrap().unwrap();
        assert!(state.is_none(), "the stream is dropped at the end");
        wire.extend_from_slice(&end);
        assert_eq!(gunzip(&wire), b"[1,2,3]");
    }

    #[test]
    fn no_stream_no_change() {
        let mut state = None;
        assert!(transform(&mut state, None, b"abc", false)
            .unwrap()
            .is_none());
    }
}
