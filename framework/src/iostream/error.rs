//! The errors a stream operation can end with.

use std::fmt;
use std::io;

/// Why a stream operation failed.
///
/// # Tornado
/// `tornado.iostream`'s exceptions: `StreamClosedError(real_error)` →
/// [`StreamError::Closed`], `UnsatisfiableReadError` →
/// [`StreamError::UnsatisfiableRead`], `StreamBufferFullError` →
/// [`StreamError::BufferFull`].
#[derive(Debug)]
pub enum StreamError {
    /// The stream is closed: by [`IOStream::close`](super::IOStream::close),
    /// by the peer (EOF), or by an I/O error, which is kept as the cause.
    Closed(StreamClosedError),
    /// The read cannot be satisfied within its limits (a delimiter not found
    /// within `max_bytes`); the stream has been closed.
    UnsatisfiableRead(&'static str),
    /// A buffer limit (`max_buffer_size` for reads, `max_write_buffer_size`
    /// for writes) would be exceeded; for reads the stream has been closed.
    BufferFull,
}

impl StreamError {
    /// True for [`StreamError::Closed`].
    pub fn is_closed(&self) -> bool {
        matches!(self, StreamError::Closed(_))
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::Closed(closed) => closed.fmt(f),
            StreamError::UnsatisfiableRead(why) => write!(f, "unsatisfiable read: {why}"),
            StreamError::BufferFull => f.write_str("reached maximum buffer size"),
        }
    }
}

impl std::error::Error for StreamError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StreamError::Closed(closed) => closed.real_error.as_ref().map(|e| e as _),
            _ => None,
        }
    }
}

impl From<StreamClosedError> for StreamError {
    fn from(err: StreamClosedError) -> Self {
        StreamError::Closed(err)
    }
}

impl From<StreamError> for io::Error {
    fn from(err: StreamError) -> Self {
        let kind = match &err {
            StreamError::Closed(closed) => closed
                .real_error
                .as_ref()
                .map_or(io::ErrorKind::UnexpectedEof, io::Error::kind),
            StreamError::UnsatisfiableRead(_) => io::ErrorKind::InvalidData,
            StreamError::BufferFull => io::ErrorKind::OutOfMemory,
        };
        io::Error::new(kind, err)
    }
}

/// The stream is closed; `real_error` is the I/O error that closed it, if any.
///
/// # Tornado
/// `tornado.iostream.StreamClosedError`, whose `real_error` attribute this mirrors.
#[derive(Debug)]
pub struct StreamClosedError {
    /// The error that closed the stream; `None` for a clean EOF or a local `close()`.
    pub real_error: Option<io::Error>,
}

impl fmt::Display for StreamClosedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.real_error {
            Some(err) => write!(f, "Stream is closed: {err}"),
            None => f.write_str("Stream is closed"),
        }
    }
}

impl StreamClosedError {
    /// True when the peer reset the connection (`ECONNRESET`).
    pub(crate) fn is_reset(&self) -> bool {
        self.real_error
            .as_ref()
            .is_some_and(|err| err.kind() == io::ErrorKind::ConnectionReset)
    }
}

impl std::error::Error for StreamClosedError {}

/// How a stream ended, kept so every later operation can report it.
#[derive(Debug, Clone)]
pub(crate) struct CloseCause {
    error: Option<(io::ErrorKind, String)>,
}

impl CloseCause {
    pub(crate) fn clean() -> Self {
        CloseCause { error: None }
    }

    pub(crate) fn from_error(err: &io::Error) -> Self {
        CloseCause {
            error: Some((err.kind(), err.to_string())),
        }
    }

    pub(crate) fn to_error(&self) -> StreamError {
        StreamError::Closed(StreamClosedError {
            real_error: self
                .error
                .as_ref()
                .map(|(kind, message)| io::Error::new(*kind, message.clone())),
        })
    }
}
