//! Read and write buffers lent to connections only while they work.
//!
//! An idle keep-alive connection gives its buffers back to this thread's
//! pool and takes them again when its next request arrives, so thousands of
//! idle connections hold no buffer memory, while a busy connection reuses
//! pooled buffers instead of allocating.

use std::cell::RefCell;

use bytes::BytesMut;

use crate::pool::{self, Pool};

/// The size of a fresh buffer.
pub(crate) const BUFFER_SIZE: usize = 8 * 1024;

/// A read never asks for less room than this (the buffer grows first).
const MIN_READ: usize = 2 * 1024;

/// The pool keeps at most this many buffers ...
const POOL_LIMIT: usize = 256;

/// ... each of at most this capacity, so it holds at most 8 MiB per thread.
const POOL_MAX_CAPACITY: usize = 32 * 1024;

thread_local! {
    static POOL: Pool<BytesMut> = const { RefCell::new(Vec::new()) };
}

/// A buffer from the pool, or a new one.
pub(crate) fn acquire() -> BytesMut {
    pool::take(&POOL).unwrap_or_else(|| BytesMut::with_capacity(BUFFER_SIZE))
}

/// Returns `buffer` (which must hold no data) to the pool.
pub(crate) fn release(mut buffer: BytesMut) {
    buffer.clear();
    if !(MIN_READ..=POOL_MAX_CAPACITY).contains(&buffer.capacity()) {
        return;
    }
    pool::give_back(&POOL, buffer, POOL_LIMIT);
}

/// The first read of a connection asks for this much.
pub(crate) const INITIAL_READ: usize = 4 * 1024;

/// Reads never ask for less than this: a typical browser request fits.
const SMALLEST_READ: usize = 2 * 1024;

/// The next read size after a read of `got` bytes where `asked` were asked
/// for: double when the read filled the room (more is waiting), halve when
/// it brought under a quarter.
pub(crate) fn next_read_hint(hint: usize, asked: usize, got: usize) -> usize {
    if got >= asked {
        hint.saturating_mul(2)
    } else if got < asked / 4 {
        (hint / 2).max(SMALLEST_READ)
    } else {
        hint
    }
}

/// How many bytes to read into `buffer` (at most `max`): its spare room,
/// after growing it if that is small. Reading into room the buffer already
/// has keeps the zero-fill short and the allocation unchanged.
pub(crate) fn read_size(buffer: &mut BytesMut, max: usize) -> usize {
    if buffer.capacity() - buffer.len() < MIN_READ {
        buffer.reserve(BUFFER_SIZE.max(buffer.len()));
    }
    (buffer.capacity() - buffer.len()).min(max).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn released_buffers_are_reused_and_bounded() {
        let first = acquire();
        let ptr = first.as_ptr();
        release(first);
        let again = acquire();
        assert_eq!(again.as_ptr(), ptr, "the pooled buffer comes back");
        assert!(again.is_empty());
        release(BytesMut::with_capacity(1 << 20)); // too large to keep
        assert_ne!(acquire().capacity(), 1 << 20);
    }

    #[test]
    fn read_hint_adapts() {
        assert_eq!(next_read_hint(4096, 4096, 4096), 8192);
        assert_eq!(next_read_hint(4096, 4096, 100), 2048);
        assert_eq!(next_read_hint(2048, 2048, 100), 2048);
        assert_eq!(next_read_hint(4096, 4096, 2000), 4096);
    }

    #[test]
    fn read_size_uses_spare_room_and_grows_when_short() {
        let mut buffer = BytesMut::with_capacity(BUFFER_SIZE);
        assert_eq!(read_size(&mut buffer, 64 * 1024), BUFFER_SIZE);
        assert_eq!(read_size(&mut buffer, 100), 100);
        buffer.resize(BUFFER_SIZE - 10, b'x');
        assert!(read_size(&mut buffer, 64 * 1024) >= MIN_READ);
    }
}
