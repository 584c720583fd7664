//! Shared by the targets that read their input as a little program: single
//! bytes (choices) and length-prefixed pieces.

/// The input still to read.
pub struct Reader<'a>(pub &'a [u8]);

impl<'a> Reader<'a> {
    /// The next byte; `None` at the end.
    pub fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    /// A piece of at most `max` bytes, its length from the next byte
    /// (cut short at the end of the input); `None` at the end.
    pub fn bytes(&mut self, max: usize) -> Option<&'a [u8]> {
        let len = usize::from(self.byte()?) % (max + 1);
        let len = len.min(self.0.len());
        let (piece, rest) = self.0.split_at(len);
        self.0 = rest;
        Some(piece)
    }
}
