//! `decompress_request`: gzip request bodies decoded before the delegate sees them.

use std::io::{self, Write};

use bytes::Bytes;
use flate2::write::MultiGzDecoder;

use super::HTTP1Connection;
use crate::http1::RequestHead;
use crate::httputil::HTTPMessageDelegate;

/// Wraps a message delegate: a `Content-Encoding: gzip` body is decompressed
/// (the header moves to `X-Consumed-Content-Encoding`, as Tornado does); any
/// other body passes through unchanged. Every member of a multi-member gzip
/// stream is decoded (Tornado's zlib object stops after the first and drops
/// the rest); an empty body stays an empty body.
///
/// The decompressed size counts against `max_body_size`, so a small
/// compressed body cannot expand without bound; past the limit, or on a
/// corrupt or truncated stream, the request is answered with 413 or 400 and
/// the connection closed.
///
/// # Tornado
/// `tornado.http1connection._GzipMessageDelegate`.
pub(crate) struct GzipMessageDelegate<M> {
    inner: M,
    connection: HTTP1Connection,
    decoder: Option<MultiGzDecoder<Capped>>,
    /// Some compressed bytes arrived (an empty body is an empty body, not a
    /// truncated stream).
    received: bool,
    chunk_size: usize,
    /// Set once the body was refused; later chunks are dropped.
    failed: bool,
}

/// A buffer that refuses to grow past `limit` total bytes.
struct Capped {
    buffer: Vec<u8>,
    written: u64,
    limit: u64,
}

impl Write for Capped {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let total = self.written.saturating_add(data.len() as u64);
        if total > self.limit {
            return Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                "decompressed body too large",
            ));
        }
        self.written = total;
        self.buffer.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<M: HTTPMessageDelegate> GzipMessageDelegate<M> {
    pub(crate) fn new(inner: M, connection: HTTP1Connection) -> Self {
        let chunk_size = connection.params().chunk_size.max(1);
        GzipMessageDelegate {
            inner,
            connection,
            decoder: None,
            received: false,
            chunk_size,
            failed: false,
        }
    }

    /// Passes what the decoder produced on, `chunk_size` bytes at a time.
    async fn forward(&mut self) {
        let Some(decoder) = &mut self.decoder else {
            return;
        };
        let output = std::mem::take(&mut decoder.get_mut().buffer);
        for piece in output.chunks(self.chunk_size) {
            self.inner
                .data_received(Bytes::copy_from_slice(piece))
                .await;
        }
    }

    /// Refuses the body: 413 past the size limit, 400 for a corrupt stream.
    fn refuse(&mut self, err: &io::Error) {
        self.failed = true;
        self.decoder = None;
        let status = if err.kind() == io::ErrorKind::OutOfMemory {
            413
        } else {
            400
        };
        log::info!(target: "tornado.general",
            "Refusing gzip request body from {}: {err}",
            self.connection.context().remote_ip
        );
        self.connection.respond_with_status(status);
    }
}

impl<M: HTTPMessageDelegate> HTTPMessageDelegate for GzipMessageDelegate<M> {
    async fn headers_received(&mut self, mut head: RequestHead) {
        let headers = head.headers_mut();
        // Every line, joined, must say just `gzip`, as Tornado's
        // `headers.get` joins them: `gzip` then `br` is left alone.
        let gzip = {
            let mut lines = headers.get_list_bytes("Content-Encoding");
            matches!((lines.next(), lines.next()),
                (Some(value), None) if value.trim_ascii().eq_ignore_ascii_case(b"gzip"))
        };
        if gzip {
            self.decoder = Some(MultiGzDecoder::new(Capped {
                buffer: Vec::new(),
                written: 0,
                limit: self.connection.params().max_body_size,
            }));
            headers.set("X-Consumed-Content-Encoding", Bytes::from_static(b"gzip"));
            headers.remove("Content-Encoding");
            // The length on the wire is not the length the delegate sees.
            headers.remove("Content-Length");
        }
        self.inner.headers_received(head).await;
        // The inner delegate may have lowered the limit for this request
        // (`set_max_body_size` in its `headers_received`): the decoded body
        // is held to it, not to the server's.
        let limit = self.connection.max_body_size();
        if let Some(decoder) = &mut self.decoder {
            decoder.get_mut().limit = limit;
        }
    }

    async fn data_received(&mut self, chunk: Bytes) {
        if self.failed {
            return;
        }
        let Some(decoder) = &mut self.decoder else {
            return self.inner.data_received(chunk).await;
        };
        self.received |= !chunk.is_empty();
        match decoder.write_all(&chunk) {
            Ok(()) => self.forward().await,
            Err(err) => self.refuse(&err),
        }
    }

    async fn finish(&mut self) {
        if self.failed {
            return;
        }
        if let Some(decoder) = self.decoder.as_mut().filter(|_| self.received) {
            if let Err(err) = decoder.try_finish() {
                self.refuse(&err);
                // The inner delegate got its head, so it must hear the end.
                self.inner.on_connection_close();
                return;
            }
            self.forward().await;
        }
        self.inner.finish().await;
    }

    fn on_connection_close(&mut self) {
        self.inner.on_connection_close();
    }
}
