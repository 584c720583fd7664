//! The bytes received but not yet turned into events.
//!
//! Strategy (h11's `_receivebuffer.py`, hyper's `is_complete_fast`): parsing a
//! head or a chunk line needs the position of line ends, and a peer may send
//! one byte at a time. The buffer therefore remembers how far it has searched
//! for `\n` ([`ReceiveBuffer::next_newline`]) and resumes from there, so the
//! total work is linear in the bytes received, however they are split. The
//! memory is compacted only between events: consuming bytes from the front
//! (`take`, `advance`) is an O(1) split of the `BytesMut`, and `BytesMut`
//! reclaims the space at the front when the buffer next grows and no event
//! still shares it.

use bytes::{Buf, Bytes, BytesMut};

/// A `BytesMut` plus the state of the current line search.
#[derive(Debug, Default)]
pub(crate) struct ReceiveBuffer {
    /// Received bytes not yet consumed by an event.
    buf: BytesMut,
    /// Bytes at the front of `buf` already searched for `\n` by the current
    /// scan. Reset to 0 whenever bytes are consumed, because the consumer then
    /// starts a new kind of scan.
    searched: usize,
    /// The peer closed its side; no more bytes will arrive.
    eof: bool,
}

impl ReceiveBuffer {
    pub(crate) fn new() -> ReceiveBuffer {
        ReceiveBuffer::default()
    }

    pub(crate) fn extend(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Direct access for reading from a socket into the buffer. Appending is
    /// the only modification the scan state tolerates.
    pub(crate) fn buf_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    pub(crate) fn set_eof(&mut self) {
        self.eof = true;
    }

    pub(crate) fn is_eof(&self) -> bool {
        self.eof
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Returns the index of the next `\n` after the ones already found, or
    /// `None` when every byte received so far has been searched.
    pub(crate) fn next_newline(&mut self) -> Option<usize> {
        let rest = self.buf.get(self.searched..).unwrap_or_default();
        match memchr::memchr(b'\n', rest) {
            Some(offset) => {
                let newline = self.searched + offset;
                self.searched = newline + 1;
                Some(newline)
            }
            None => {
                self.searched = self.buf.len();
                None
            }
        }
    }

    /// Removes and returns the first `n` bytes (fewer if fewer are buffered),
    /// without copying them.
    pub(crate) fn take(&mut self, n: usize) -> Bytes {
        self.searched = 0;
        self.buf.split_to(n.min(self.buf.len())).freeze()
    }

    /// Discards the first `n` bytes (fewer if fewer are buffered).
    pub(crate) fn advance(&mut self, n: usize) {
        self.searched = 0;
        self.buf.advance(n.min(self.buf.len()));
    }

    /// Discards empty lines (`CRLF` or `LF`) before a request line, as RFC 9112
    /// §2.2 asks ("SHOULD ignore at least one empty line (CRLF) received prior
    /// to the request-line"). Returns false while the buffer is exactly `"\r"`,
    /// which may yet become an empty line.
    pub(crate) fn skip_empty_lines(&mut self) -> bool {
        loop {
            match self.buf.first().copied() {
                Some(b'\n') => self.advance(1),
                Some(b'\r') => match self.buf.get(1).copied() {
                    Some(b'\n') => self.advance(2),
                    Some(_) => return true,
                    None => return false,
                },
                _ => return true,
            }
        }
    }

    /// Gives up the buffered bytes, e.g. to a protocol that takes over the
    /// connection after `101 Switching Protocols`.
    pub(crate) fn into_inner(self) -> BytesMut {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newline_search_resumes_where_it_stopped() {
        let mut rb = ReceiveBuffer::new();
        rb.extend(b"ab");
        assert_eq!(rb.next_newline(), None);
        rb.extend(b"\ncd\n");
        assert_eq!(rb.next_newline(), Some(2));
        assert_eq!(rb.next_newline(), Some(5));
        assert_eq!(rb.next_newline(), None);
        rb.extend(b"e\n");
        assert_eq!(rb.next_newline(), Some(7));
        assert_eq!(rb.take(3), Bytes::from_static(b"ab\n"));
        // Consuming restarts the search at the new front.
        assert_eq!(rb.next_newline(), Some(2));
        assert_eq!(rb.len(), 5);
    }

    #[test]
    fn take_and_advance_clamp_to_the_buffer() {
        let mut rb = ReceiveBuffer::new();
        rb.extend(b"abc");
        assert_eq!(rb.take(10), Bytes::from_static(b"abc"));
        rb.extend(b"xyz");
        rb.advance(10);
        assert!(rb.is_empty());
    }

    #[test]
    fn survives_a_caller_truncating_the_buffer() {
        let mut rb = ReceiveBuffer::new();
        rb.extend(b"abcdef");
        assert_eq!(rb.next_newline(), None);
        rb.buf_mut().truncate(2);
        assert_eq!(rb.next_newline(), None);
        rb.extend(b"\n");
        assert_eq!(rb.next_newline(), Some(2));
    }

    #[test]
    fn skips_leading_empty_lines() {
        let cases: &[(&[u8], bool, &[u8])] = &[
            (b"", true, b""),
            (b"\r", false, b"\r"),
            (b"\r\n", true, b""),
            (b"\n\r\n\nGET", true, b"GET"),
            (b"\r\n\r", false, b"\r"),
            (b"\rX", true, b"\rX"),
        ];
        for &(input, ready, rest) in cases {
            let mut rb = ReceiveBuffer::new();
            rb.extend(input);
            assert_eq!(rb.skip_empty_lines(), ready, "{input:?}");
            assert_eq!(rb.as_bytes(), rest, "{input:?}");
        }
    }

    #[test]
    fn eof_flag_and_into_inner() {
        let mut rb = ReceiveBuffer::new();
        rb.extend(b"left");
        assert!(!rb.is_eof());
        rb.set_eof();
        assert!(rb.is_eof());
        assert_eq!(&rb.into_inner()[..], b"left");
    }
}
