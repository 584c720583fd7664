//! The queue of bytes waiting to be written, sent with vectored writes.
//!
//! Small writes are copied into one tail buffer so a burst of them becomes
//! one `iovec`; large ones are queued as they are (a `Bytes` is shared, not
//! copied), so streaming a big chunk costs no copy.
//!
//! A buffer that has sent everything gives its (emptied) queue and tail to a
//! per-thread pool of spares, and takes a pair from it when it next queues:
//! a stream with nothing queued holds no memory, and one streaming chunk
//! after chunk allocates nothing.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};

use bytes::{Buf, Bytes, BytesMut};

use crate::pool::{self, Pool};

/// Writes up to this size are coalesced into the tail buffer.
const COALESCE_LIMIT: usize = 4096;

/// How many buffers one `writev` call passes (Linux allows 1024; past a few
/// dozen the gain is nil).
const MAX_IOVECS: usize = 64;

/// Most spare queue-and-tail pairs kept per thread.
const SPARES: usize = 64;

/// A drained tail with more capacity than this is freed, not kept.
const SPARE_TAIL_MAX: usize = 16 * 1024;

thread_local! {
    /// Emptied queues and tails of drained write buffers (see the module doc).
    static SPARE: Pool<(VecDeque<Bytes>, BytesMut)> = const { RefCell::new(Vec::new()) };
}

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
        self.take_spare();
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
            self.take_spare();
            self.len += data.len();
            self.tail.extend_from_slice(data);
        } else {
            self.push(Bytes::copy_from_slice(data));
        }
    }

    /// Takes a spare queue and tail from the thread's pool if this buffer
    /// holds none (it sent everything and gave its own back).
    fn take_spare(&mut self) {
        if self.len != 0 || self.chunks.capacity() != 0 || self.tail.capacity() != 0 {
            return;
        }
        if let Some((chunks, tail)) = pool::take(&SPARE) {
            self.chunks = chunks;
            self.tail = tail;
        }
    }

    /// Gives this buffer's emptied queue and tail to the thread's pool (or
    /// frees them), so that it holds no memory.
    fn give_back_spare(&mut self) {
        let mut chunks = std::mem::take(&mut self.chunks);
        let mut tail = std::mem::take(&mut self.tail);
        chunks.clear();
        tail.clear();
        // `capacity()` counts only the room after the tail's start, which
        // splits and sends moved forward: `try_reclaim` finds whether the
        // whole allocation is larger (a tail grown behind a slow peer is
        // freed, not kept in the pool).
        if chunks.capacity() > MAX_IOVECS || tail.try_reclaim(SPARE_TAIL_MAX + 1) {
            return;
        }
        pool::give_back(&SPARE, (chunks, tail), SPARES);
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
            // Everything is sent: an idle stream holds no memory.
            self.give_back_spare();
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
    fn a_drained_buffer_holds_nothing_and_the_next_reuses_its_parts() {
        let mut first = WriteBuffer::default();
        first.push(Bytes::from(vec![b'x'; 8192]));
        first.push_slice(b"small");
        let tail = first.tail.as_ptr();
        let mut sink = Trickle {
            out: Vec::new(),
            limit: usize::MAX,
        };
        while !first.is_empty() {
            first.write_to(&mut sink).unwrap();
        }
        assert_eq!(sink.out.len(), 8192 + 5);
        assert_eq!((first.chunks.capacity(), first.tail.capacity()), (0, 0));

        let mut second = WriteBuffer::default();
        second.push_slice(b"again");
        assert_eq!(second.tail.as_ptr(), tail, "the spare tail is reused");
        assert!(second.chunks.capacity() > 0, "and the spare queue");
    }

    #[test]
    fn a_drained_tail_that_grew_large_is_freed_not_pooled() {
        let mut buffer = WriteBuffer::default();
        let mut sink = Trickle {
            out: Vec::new(),
            limit: 64 * 1024,
        };
        // Small writes piling up behind a large one grow the tail to
        // ~250 KB; sending moves its start, so its capacity() looks small.
        buffer.push(Bytes::from(vec![b'x'; 8192]));
        for _ in 0..250 {
            buffer.push_slice(&[b'y'; 1000]);
        }
        buffer.push(Bytes::from(vec![b'z'; 100_000]));
        while !buffer.is_empty() {
            buffer.write_to(&mut sink).unwrap();
        }
        assert_eq!(sink.out.len(), 8192 + 250_000 + 100_000);
        let mut next = WriteBuffer::default();
        next.push_slice(b"again");
        // The whole allocation behind the tail, not just its visible room.
        assert!(
            !next.tail.try_reclaim(SPARE_TAIL_MAX + 1),
            "a large tail came from the pool"
        );
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
