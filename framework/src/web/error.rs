//! What a handler method can fail with.

use std::fmt;

use crate::http1connection::HTTPOutputError;
use crate::httputil::reason_phrase;
use crate::iostream::StreamError;

/// An error that becomes an HTTP error response.
///
/// # Tornado
/// `tornado.web.HTTPError(status_code=500, log_message=None, *args,
/// reason=None)`. `log_message` is logged (at warning level), never shown to
/// the client; `reason` replaces the standard reason phrase.
///
/// ```
/// use tornado::web::HTTPError;
///
/// let err = HTTPError::new(404).log_message("no user 42");
/// assert_eq!(err.status_code, 404);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct HTTPError {
    /// The response status.
    pub status_code: u16,
    /// Logged with the request summary; not sent to the client.
    pub log_message: Option<String>,
    /// A custom reason phrase for the status line and the error page.
    pub reason: Option<String>,
}

impl HTTPError {
    /// An error with `status_code` and no message.
    ///
    /// # Tornado
    /// `HTTPError(status_code)`.
    pub fn new(status_code: u16) -> HTTPError {
        HTTPError {
            status_code,
            log_message: None,
            reason: None,
        }
    }

    /// Adds a message for the log.
    ///
    /// # Tornado
    /// `HTTPError(status_code, log_message)`; `%`-style `*args` are not
    /// ported (format the message yourself).
    pub fn log_message(mut self, message: impl Into<String>) -> HTTPError {
        self.log_message = Some(message.into());
        self
    }

    /// Sets a custom reason phrase.
    ///
    /// # Tornado
    /// `HTTPError(status_code, reason=reason)`.
    pub fn reason(mut self, reason: impl Into<String>) -> HTTPError {
        self.reason = Some(reason.into());
        self
    }
}

impl fmt::Display for HTTPError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reason = self
            .reason
            .as_deref()
            .unwrap_or_else(|| reason_phrase(self.status_code).unwrap_or("Unknown"));
        write!(f, "HTTP {}: {}", self.status_code, reason)?;
        if let Some(message) = &self.log_message {
            write!(f, " ({message})")?;
        }
        Ok(())
    }
}

/// Why a handler stopped.
///
/// Anything that converts into it works with `?` in a handler method:
/// [`HTTPError`], [`Finish`], and any `std::error::Error` (a 500, except a
/// write to a client that has gone, which is [`Error::StreamClosed`]).
/// Like `anyhow::Error`, it does not itself implement `std::error::Error`
/// (nor do `HTTPError` and `Finish`), so that all of these can convert.
#[derive(Debug)]
pub enum Error {
    /// Send this error status (unless the response was already started).
    Http(HTTPError),
    /// End the request now, finishing the response as it stands (Tornado's
    /// `raise Finish()`); not an error.
    Finish,
    /// A stream closed: the client's (the response cannot be sent, and
    /// the request ends quietly) or, when the client is still there, one
    /// the handler used itself (a 500, as [`Error::Other`]).
    StreamClosed(HTTPOutputError),
    /// Any other failure: a 500, logged with its chain.
    Other(Box<dyn std::error::Error>),
}

/// The result of a handler method.
pub type Result<T = ()> = std::result::Result<T, Error>;

/// Ends the request early without an error.
///
/// # Tornado
/// `raise tornado.web.Finish()`: `return Err(Finish.into())`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finish;

impl From<Finish> for Error {
    fn from(_: Finish) -> Self {
        Error::Finish
    }
}

impl From<HTTPError> for Error {
    fn from(err: HTTPError) -> Self {
        Error::Http(err)
    }
}

impl<E: std::error::Error + 'static> From<E> for Error {
    fn from(err: E) -> Self {
        let boxed: Box<dyn std::error::Error> = Box::new(err);
        // A write that failed because the client left is not a server error.
        match boxed.downcast::<HTTPOutputError>() {
            Ok(output) => match *output {
                HTTPOutputError::Stream(_) => Error::StreamClosed(*output),
                HTTPOutputError::Protocol(_) => Error::Other(output),
            },
            Err(other) => match other.downcast::<StreamError>() {
                Ok(stream) if stream.is_closed() => {
                    Error::StreamClosed(HTTPOutputError::Stream(*stream))
                }
                Ok(stream) => Error::Other(stream),
                Err(other) => Error::Other(other),
            },
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Http(err) => err.fmt(f),
            Error::Finish => f.write_str("Finish"),
            Error::StreamClosed(err) => err.fmt(f),
            Error::Other(err) => err.fmt(f),
        }
    }
}
