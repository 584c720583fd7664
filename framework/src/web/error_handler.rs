//! `ErrorHandler`: one error status for every request.

use super::{HTTPError, Handler, RequestHandler, Result};

/// Answers every request with the error `status_code` (its error page,
/// through `write_error`), whatever the method.
///
/// ```
/// use tornado::web::{url, Application, ErrorHandler};
///
/// // A retired API answers 410 Gone to everything.
/// let app = Application::new([url(r"/api/v1/.*", || ErrorHandler::new(410))]);
/// # drop(app);
/// ```
///
/// # Tornado
/// `tornado.web.ErrorHandler` with `initialize(status_code)`: its `prepare`
/// raises `HTTPError(status_code)`, and the XSRF and cross-origin checks
/// are skipped (the error is the answer, whatever the request carries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorHandler {
    /// The status every request gets.
    pub status_code: u16,
}

impl ErrorHandler {
    /// A handler answering `status_code`.
    ///
    /// # Tornado
    /// `ErrorHandler` with `dict(status_code=status_code)`.
    pub fn new(status_code: u16) -> ErrorHandler {
        ErrorHandler { status_code }
    }
}

impl RequestHandler for ErrorHandler {
    fn check_xsrf_cookie(_cx: &mut Handler) -> Result {
        Ok(())
    }

    fn check_trusted_origin(_cx: &Handler, _origin: &str) -> bool {
        true
    }

    async fn prepare(&mut self, _cx: &mut Handler) -> Result {
        Err(HTTPError::new(self.status_code).into())
    }
}
