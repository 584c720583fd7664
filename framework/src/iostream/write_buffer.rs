//! The queue of bytes waiting to be written, sent with vectored writes.
//!
//! Small writes are copied into one tail buffer so a burst of them becomes
//! one `iovec`; large ones are queued as they are (a `Bytes` is shared, not
//! copied), so streaming a big chunk costs no copy.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};

use bytes::{Buf, Bytes, BytesMut};

/// Writes up to this size are coalesced into the tail buffer.
const COALESCE_LIMIT: usize = 4096;

/// How many buffers one `writev` call passes (Linux allows 1024; past a few
/// dozen the gain is nil).
const MAX_IOVECS: usize = 64;

/// Bytes queued for the socket, in order.
#[derive(Debug, Default)]
pub(crate) struct WriteBuffer {
    chunks: VecDeque<Bytes>,
    /// Small writes gathered after the last queued chunk.
    tail: BytesMut,
    len: usize,
}

impl WriteBuffer {
    /// Number of bytes waiting.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Queues `data` after everything already queued.
    pub(crate) fn push(&mut self, data: Bytes) {
        if data.is_empty() {
            return;
        }
        self.len += data.len();
        // A lone buffer is queued as it is; only small writes that follow
        // others are copied together.
        if data.len() <= COALESCE_LIMIT && self.len > data.len() {
            self.tail.extend_from_slice(&data);
        } else {
            self.seal_tail();
            self.chunks.push_back(data);
        }
    }

    /// Queues a copy of `data`.
    pub(crate) fn push_slice(&mut self, data: &[u8]) {
        if data.len() <= COALESCE_LIMIT {
            self.len += data.len();
            self.tail.extend_from_slice(data);
        } else {
            self.push(Bytes::copy_from_slice(data));
        }
    }

    /// Moves the tail into the chunk queue, keeping order with what follows.
    fn seal_tail(&mut self) {
        if !self.tail.is_empty() {
            let tail = self.tail.split().freeze();
            self.chunks.push_back(tail);
        }
    }

    /// Writes as much as the writer takes in one vectored call; returns the
    /// count written (0 only if nothing was queued).
    pub(crate) fn write_to(&mut self, mut writer: impl Write) -> io::Result<usize> {
        let written = {
            let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
            let mut count = 0;
            for chunk in self.chunks.iter().take(MAX_IOVECS - 1) {
                slices[count] = IoSlice::new(chunk);
                count += 1;
            }
            if !self.tail.is_empty() && count == self.chunks.len() {
                slices[count] = IoSlice::new(&self.tail);
                count += 1;
            }
            if count == 0 {
                return Ok(0);
            }
            writer.write_vectored(&slices[..count])?
        };
        self.consume(written);
        Ok(written)
    }

    /// Drops the first `n` bytes (chunks first, then the tail).
    fn consume(&mut self, mut n: usize) {
        self.len -= n.min(self.len);
        if self.len == 0 {
            // Everything is sent: let go of the memory, so an idle stream
            // holds none.
            self.chunks = VecDeque::new();
            self.tail = BytesMut::new();
            return;
        }
        while n > 0 {
            let Some(front) = self.chunks.front_mut() else {
                let take = n.min(self.tail.len());
                self.tail.advance(take);
                return;
            };
            if n < front.len() {
                front.advance(n);
                return;
            }
            n -= front.len();
            self.chunks.pop_front();
        }
    }

    /// Drops everything queued (the stream closed).
    pub(crate) fn clear(&mut self) {
        self.chunks.clear();
        self.tail.clear();
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that takes at most `limit` bytes per call.
    struct Trickle {
        out: Vec<u8>,
        limit: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = buf.len().min(self.limit);
            self.out.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            let mut total = 0;
            for buf in bufs {
                let n = self.write(&buf[..buf.len().min(self.limit - total)])?;
                total += n;
                if total == self.limit || n < buf.len() {
                    break;
                }
            }
            Ok(total)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn keeps_order_across_small_and_large_writes_and_partial_sends() {
        let mut buffer = WriteBuffer::default();
        let mut expected = Vec::new();
        for (i, size) in [3usize, 5000, 7, 1, 9000, 2].into_iter().enumerate() {
            let data = vec![b'a' + i as u8; size];
            expected.extend_from_slice(&data);
            if i % 2 == 0 {
                buffer.push_slice(&data);
            } else {
                buffer.push(Bytes::from(data));
            }
        }
        assert_eq!(buffer.len(), expected.len());
        let mut writer = Trickle {
            out: Vec::new(),
            limit: 777,
        };
        while !buffer.is_empty() {
            assert!(buffer.write_to(&mut writer).unwrap() > 0);
        }
        assert_eq!(writer.out, expected);
        assert_eq!(buffer.write_to(&mut writer).unwrap(), 0);
    }
}
