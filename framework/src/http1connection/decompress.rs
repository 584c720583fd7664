//! `decompress_request`: gzip request bodies decoded before the delegate sees them.

use bytes::Bytes;
use flate2::{Crc, Decompress, FlushDecompress, Status};

use super::HTTP1Connection;
use crate::http1::RequestHead;
use crate::httputil::HTTPMessageDelegate;

/// Wraps a message delegate: a `Content-Encoding: gzip` body is decompressed
/// (the header moves to `X-Consumed-Content-Encoding`, as Tornado does); any
/// other body passes through unchanged. Every member of a multi-member gzip
/// stream is decoded (Tornado's zlib object stops after the first and drops
/// the rest); an empty body stays an empty body.
///
/// The body is inflated at most `chunk_size` bytes at a time, each piece
/// passed on before more is inflated, as Tornado's `decompress(data,
/// chunk_size)` loop on `unconsumed_tail` does: a small read of a highly
/// compressed body (64 KiB of deflated zeros is 64 MiB) never sits in
/// memory whole, and a streaming handler's backpressure holds.
///
/// The decompressed size counts against `max_body_size`, so a small
/// compressed body cannot expand without bound; past the limit, or on a
/// corrupt or truncated stream, the request is answered with 413 or 400 and
/// the connection closed (closed without an answer if the response has
/// already begun).
///
/// # Tornado
/// `tornado.http1connection._GzipMessageDelegate`.
pub(crate) struct GzipMessageDelegate<M> {
    inner: M,
    connection: HTTP1Connection,
    decoder: Option<GzipDecoder>,
    /// Some compressed bytes arrived (an empty body is an empty body, not a
    /// truncated stream).
    received: bool,
    chunk_size: usize,
    /// Decompressed bytes passed on so far, and how many may be.
    decoded: u64,
    limit: u64,
    /// Set once the body was refused; later chunks are dropped.
    failed: bool,
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
            decoded: 0,
            limit: u64::MAX,
            failed: false,
        }
    }

    /// Refuses the body: `status` 413 past the size limit, 400 for a
    /// corrupt stream. Once the response has begun there is no status to
    /// send, so the connection closes, as Tornado's does on the error.
    fn refuse(&mut self, status: u16, reason: &str) {
        self.failed = true;
        self.decoder = None;
        log::info!(target: "tornado.general",
            "Refusing gzip request body from {}: {reason}",
            self.connection.context().remote_ip
        );
        if self.connection.response_started() {
            self.connection.shared.stream.close();
        } else {
            self.connection.respond_with_status(status);
        }
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
            self.decoder = Some(GzipDecoder::new(self.chunk_size));
            headers.set("X-Consumed-Content-Encoding", Bytes::from_static(b"gzip"));
            headers.remove("Content-Encoding");
            // The length on the wire is not the length the delegate sees.
            headers.remove("Content-Length");
        }
        self.inner.headers_received(head).await;
        // The inner delegate may have changed the limit for this request
        // (`set_max_body_size` in its `headers_received`, or a streaming
        // handler's `prepare`): the decoded body is held to it, not to the
        // server's.
        self.limit = self.connection.max_body_size();
    }

    async fn data_received(&mut self, chunk: Bytes) {
        if self.failed {
            return;
        }
        if self.decoder.is_none() {
            return self.inner.data_received(chunk).await;
        }
        self.received |= !chunk.is_empty();
        let mut input: &[u8] = &chunk;
        // One piece at a time: inflate up to `chunk_size` bytes, pass them
        // on (a streaming handler deals with them), then the next.
        while let Some(decoder) = &mut self.decoder {
            let (filled, full) = match decoder.decode(&mut input) {
                Ok(filled) => (filled, filled == decoder.out.len()),
                Err(reason) => return self.refuse(400, reason),
            };
            self.decoded = self.decoded.saturating_add(filled as u64);
            if self.decoded > self.limit {
                return self.refuse(413, "decompressed body too large");
            }
            if filled > 0 {
                let piece = Bytes::copy_from_slice(&decoder.out[..filled]);
                self.inner.data_received(piece).await;
            }
            // A full piece may leave more output inside the inflater, even
            // with no input left: only a short one means all is out.
            if !full && input.is_empty() {
                break;
            }
        }
    }

    async fn finish(&mut self) {
        if self.failed {
            // Refused mid-body with the response begun (else the connection
            // would not call this): the inner delegate got its head, so it
            // must hear the end, or a streaming handler is dropped without
            // its `on_connection_close` and `on_finish`.
            self.inner.on_connection_close();
            return;
        }
        let truncated = (self.decoder.as_ref()).is_some_and(|d| self.received && !d.complete());
        if truncated {
            self.refuse(400, "truncated gzip stream");
            // The inner delegate got its head, so it must hear the end.
            self.inner.on_connection_close();
            return;
        }
        self.inner.finish().await;
    }

    fn on_connection_close(&mut self) {
        self.inner.on_connection_close();
    }
}

/// The gzip header's flag bits (RFC 1952, 2.3.1).
const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;
/// Reserved bits: zlib refuses a header with any set.
const FRESERVED: u8 = 0xe0;

/// Where a [`GzipDecoder`] stands in the stream; `have`: bytes of a
/// fixed-size field read so far (into `GzipDecoder::field`).
#[derive(Clone, Copy)]
enum Stage {
    /// A member's fixed 10-byte header.
    Fixed { have: u8 },
    /// The extra field's 2-byte length.
    ExtraLen { have: u8 },
    /// The extra field's bytes, `left` still to skip.
    Extra { left: u16 },
    /// The zero-terminated file name.
    Name,
    /// The zero-terminated comment.
    Comment,
    /// The header's 2-byte CRC.
    HeaderCrc { have: u8 },
    /// The deflated data.
    Deflate,
    /// The 8-byte trailer: CRC-32 and size of the member's data.
    Trailer { have: u8 },
}

/// An incremental gzip decoder (RFC 1952, every member of a multi-member
/// stream) whose output is bounded: each [`decode`](Self::decode) call
/// fills at most `out`. flate2's `MultiGzDecoder` inflates all the input it
/// is given at once, so it cannot be used for a body whose pieces must
/// stay small.
struct GzipDecoder {
    stage: Stage,
    flags: u8,
    /// The fixed-size field being read.
    field: [u8; 10],
    /// Raw deflate, reset for each member.
    inflate: Decompress,
    /// CRC-32 of the member's header so far (for `FHCRC`).
    header_crc: Crc,
    /// CRC-32 and size of the member's data (for its trailer).
    crc: Crc,
    /// Members decoded to their trailer.
    members: u64,
    /// Where each piece is inflated: `chunk_size` bytes, for the request.
    out: Box<[u8]>,
}

impl GzipDecoder {
    fn new(chunk_size: usize) -> GzipDecoder {
        GzipDecoder {
            stage: Stage::Fixed { have: 0 },
            flags: 0,
            field: [0; 10],
            inflate: Decompress::new(false),
            header_crc: Crc::new(),
            crc: Crc::new(),
            members: 0,
            out: vec![0; chunk_size].into_boxed_slice(),
        }
    }

    /// True once the stream ended with a whole member (not mid-member).
    fn complete(&self) -> bool {
        self.members > 0 && matches!(self.stage, Stage::Fixed { have: 0 })
    }

    /// Decodes from the front of `input` (advanced past what was used) into
    /// `out`, until `out` is full or the input runs out. Returns how many
    /// bytes of `out` were filled; `Err` for a corrupt stream.
    fn decode(&mut self, input: &mut &[u8]) -> Result<usize, &'static str> {
        let mut filled = 0;
        loop {
            if let Stage::Deflate = self.stage {
                if filled == self.out.len() {
                    return Ok(filled);
                }
                let (in_before, out_before) = (self.inflate.total_in(), self.inflate.total_out());
                let status = self
                    .inflate
                    .decompress(input, &mut self.out[filled..], FlushDecompress::None)
                    .map_err(|_| "corrupt deflate stream")?;
                // Both deltas are bounded by the slices just passed.
                let consumed = usize::try_from(self.inflate.total_in() - in_before)
                    .map_or(input.len(), |n| n.min(input.len()));
                let produced = usize::try_from(self.inflate.total_out() - out_before)
                    .map_or(0, |n| n.min(self.out.len() - filled));
                *input = &input[consumed..];
                self.crc.update(&self.out[filled..filled + produced]);
                filled += produced;
                if status == Status::StreamEnd {
                    self.stage = Stage::Trailer { have: 0 };
                } else if consumed == 0 && produced == 0 {
                    // Room for output and nothing came: the inflater wants
                    // more input. With input left, it is stuck (Tornado's
                    // "unconsumed gzip data without making progress").
                    return if input.is_empty() {
                        Ok(filled)
                    } else {
                        Err("gzip data that makes no progress")
                    };
                }
                continue;
            }
            let Some((&byte, rest)) = input.split_first() else {
                return Ok(filled);
            };
            *input = rest;
            self.framing_byte(byte)?;
        }
    }

    /// Takes one byte of a member's header or trailer.
    fn framing_byte(&mut self, byte: u8) -> Result<(), &'static str> {
        if !matches!(self.stage, Stage::HeaderCrc { .. } | Stage::Trailer { .. }) {
            self.header_crc.update(&[byte]);
        }
        self.stage = match self.stage {
            Stage::Fixed { have } => {
                self.field[usize::from(have)] = byte;
                if have < 9 {
                    Stage::Fixed { have: have + 1 }
                } else {
                    if self.field[..3] != [0x1f, 0x8b, 8] {
                        return Err("not a gzip stream");
                    }
                    self.flags = self.field[3];
                    if self.flags & FRESERVED != 0 {
                        return Err("unknown gzip header flags");
                    }
                    self.after_header_field(0)
                }
            }
            Stage::ExtraLen { have } => {
                self.field[usize::from(have)] = byte;
                if have < 1 {
                    Stage::ExtraLen { have: 1 }
                } else {
                    match u16::from_le_bytes([self.field[0], self.field[1]]) {
                        0 => self.after_header_field(1),
                        left => Stage::Extra { left },
                    }
                }
            }
            Stage::Extra { left } if left > 1 => Stage::Extra { left: left - 1 },
            Stage::Extra { .. } => self.after_header_field(1),
            Stage::Name if byte == 0 => self.after_header_field(2),
            Stage::Comment if byte == 0 => self.after_header_field(3),
            stage @ (Stage::Name | Stage::Comment) => stage,
            Stage::HeaderCrc { have } => {
                self.field[usize::from(have)] = byte;
                if have < 1 {
                    Stage::HeaderCrc { have: 1 }
                } else {
                    // The low 16 bits of the header's CRC-32 (RFC 1952, 2.3.1).
                    let want = u16::from_le_bytes([self.field[0], self.field[1]]);
                    if u32::from(want) != self.header_crc.sum() & 0xffff {
                        return Err("gzip header CRC mismatch");
                    }
                    self.after_header_field(4)
                }
            }
            Stage::Trailer { have } => {
                self.field[usize::from(have)] = byte;
                if have < 7 {
                    Stage::Trailer { have: have + 1 }
                } else {
                    let word = |at: usize| {
                        u32::from_le_bytes([
                            self.field[at],
                            self.field[at + 1],
                            self.field[at + 2],
                            self.field[at + 3],
                        ])
                    };
                    if word(0) != self.crc.sum() {
                        return Err("gzip data CRC mismatch");
                    }
                    // The size modulo 2^32, as `Crc::amount` counts it.
                    if word(4) != self.crc.amount() {
                        return Err("gzip data length mismatch");
                    }
                    self.members += 1;
                    self.header_crc.reset();
                    Stage::Fixed { have: 0 }
                }
            }
            // `decode` inflates this stage itself.
            Stage::Deflate => Stage::Deflate,
        };
        Ok(())
    }

    /// The header field after field number `done` (0 the fixed part, 1
    /// extra, 2 name, 3 comment, 4 header CRC) that the flags announce, or
    /// the deflated data once there is none.
    fn after_header_field(&mut self, done: u8) -> Stage {
        let flags = self.flags;
        if done < 1 && flags & FEXTRA != 0 {
            return Stage::ExtraLen { have: 0 };
        }
        if done < 2 && flags & FNAME != 0 {
            return Stage::Name;
        }
        if done < 3 && flags & FCOMMENT != 0 {
            return Stage::Comment;
        }
        if done < 4 && flags & FHCRC != 0 {
            return Stage::HeaderCrc { have: 0 };
        }
        self.inflate.reset(false);
        self.crc.reset();
        Stage::Deflate
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::{Compression, GzBuilder};

    use super::GzipDecoder;

    /// `data` as one gzip member with every optional header field but the
    /// header CRC, which flate2 does not write.
    fn member(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzBuilder::new()
            .filename("name.txt")
            .comment("a comment")
            .extra(vec![1, 2, 3])
            .write(Vec::new(), Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    /// Decodes `stream` fed `step` bytes at a time into pieces of at most
    /// `out` bytes; every piece's length too.
    fn decode(stream: &[u8], step: usize, out: usize) -> Result<(Vec<u8>, Vec<usize>), &str> {
        let mut decoder = GzipDecoder::new(out);
        let (mut all, mut pieces) = (Vec::new(), Vec::new());
        for mut input in stream.chunks(step) {
            loop {
                let filled = decoder.decode(&mut input)?;
                all.extend_from_slice(&decoder.out[..filled]);
                pieces.push(filled);
                if filled < out && input.is_empty() {
                    break;
                }
            }
        }
        if !decoder.complete() {
            return Err("incomplete");
        }
        Ok((all, pieces))
    }

    #[test]
    fn every_member_with_its_header_fields_decodes_in_bounded_pieces() {
        let first: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut stream = member(&first);
        stream.extend(member(b"second"));
        let mut want = first.clone();
        want.extend_from_slice(b"second");
        for step in [1, 7, 4096, stream.len()] {
            let (got, pieces) = decode(&stream, step, 1000).unwrap();
            assert!(got == want, "step {step}");
            assert!(pieces.iter().all(|&n| n <= 1000));
        }
    }

    #[test]
    fn a_header_crc_is_checked() {
        // The fixed header with FHCRC, then its CRC's low 16 bits.
        let header = [0x1f, 0x8b, 8, 0x02, 0, 0, 0, 0, 0, 0xff];
        let mut crc = flate2::Crc::new();
        crc.update(&header);
        let good = (crc.sum() & 0xffff) as u16;
        let body = member(b"x");
        for (sum, ok) in [(good, true), (good ^ 1, false)] {
            let mut stream = header.to_vec();
            stream.extend_from_slice(&sum.to_le_bytes());
            // `member`'s deflated data and trailer, after its own header.
            stream.extend_from_slice(&deflated_part(&body));
            assert_eq!(decode(&stream, 3, 64).is_ok(), ok);
        }
    }

    /// A member's deflated data and trailer: what follows its header.
    fn deflated_part(member: &[u8]) -> Vec<u8> {
        // Fixed 10 bytes, extra (2-byte length + 3), name and comment with
        // their terminating zeros.
        let skip = 10 + 2 + 3 + "name.txt".len() + 1 + "a comment".len() + 1;
        member[skip..].to_vec()
    }

    #[test]
    fn corrupt_and_truncated_streams_are_refused() {
        let stream = member(b"hello world");
        let mut bad_crc = stream.clone();
        let at = bad_crc.len() - 8;
        bad_crc[at] ^= 1;
        assert!(decode(&bad_crc, 5, 64).is_err());
        assert!(decode(&stream[..stream.len() - 1], 5, 64).is_err());
        assert!(decode(b"not gzip at all", 5, 64).is_err());
    }
}
