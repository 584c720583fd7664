//! `ExpectLog`: a test says which log message it expects; the message is
//! then not printed, and its absence fails the test.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use ::log::{Level, LevelFilter};
use regex::Regex;

use crate::log::expectations::{self, Expectation};
use crate::log::{enable_pretty_logging, pretty_logging_installed};

/// Expects a log message from logger `target` (the `log` target, such as
/// `tornado.access` or `tornado.general`) starting with a match of a
/// regex, until [`finish`](ExpectLog::finish). Matching records are
/// counted and not printed: a test of an error path keeps its output
/// clean, and fails if the error was not logged.
///
/// ```
/// use tornado::testing::{AsyncHTTPTestCase, ExpectLog};
/// use tornado::web::{url, Application, HTTPError, Handler, RequestHandler, Result};
///
/// struct Broken;
///
/// impl RequestHandler for Broken {
///     async fn get(&mut self, _cx: &mut Handler) -> Result {
///         Err(HTTPError::new(503).log_message("database down").into())
///     }
/// }
///
/// let test = AsyncHTTPTestCase::new(Application::new([url(r"/", || Broken)])).unwrap();
/// let expect = ExpectLog::new("tornado.general", "503 GET / .*database down").unwrap();
/// assert_eq!(test.fetch("/").code, 503);
/// expect.finish();
/// ```
///
/// Records are seen only through this crate's logger: `new` installs it
/// ([`enable_pretty_logging`]) when no logger is installed yet. The
/// expectation is process-wide, as a Python logger is: a record from
/// another test running at the same time can match it.
///
/// # Tornado
/// `tornado.testing.ExpectLog(logger, regex, required=True, level=None)`
/// as a context manager: `new` enters it, [`finish`](ExpectLog::finish)
/// leaves it (dropping it leaves it without the check).
pub struct ExpectLog {
    expectation: Arc<Expectation>,
    required: bool,
    /// The level filter to put back, when `level` lowered it.
    previous_max_level: Option<LevelFilter>,
}

/// Why an [`ExpectLog`] could not start.
#[derive(Debug)]
pub enum ExpectLogError {
    /// The pattern is not a valid regex.
    Regex(regex::Error),
    /// Another logger (`env_logger`, say) is installed: this crate's does
    /// not see the records.
    OtherLogger,
}

impl fmt::Display for ExpectLogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectLogError::Regex(err) => write!(f, "ExpectLog pattern: {err}"),
            ExpectLogError::OtherLogger => f.write_str(
                "ExpectLog sees records only through tornado's logger, and another is installed",
            ),
        }
    }
}

impl std::error::Error for ExpectLogError {}

impl ExpectLog {
    /// Starts expecting a message of `target` that `pattern` matches at
    /// its start, at any level.
    ///
    /// # Errors
    /// A pattern that is not a regex; another logger installed.
    pub fn new(target: &str, pattern: &str) -> Result<ExpectLog, ExpectLogError> {
        ExpectLog::with_level(target, pattern, None)
    }

    /// [`new`](ExpectLog::new) for a message at `level` only (a match at
    /// another level is printed, with a warning). The level filter is
    /// lowered to `level` meanwhile if it would drop such records.
    ///
    /// # Errors
    /// As `new`.
    ///
    /// # Tornado
    /// `ExpectLog(logger, regex, level=level)`.
    pub fn with_level(
        target: &str,
        pattern: &str,
        level: Option<Level>,
    ) -> Result<ExpectLog, ExpectLogError> {
        let regex = Regex::new(pattern).map_err(ExpectLogError::Regex)?;
        enable_pretty_logging();
        if !pretty_logging_installed() {
            return Err(ExpectLogError::OtherLogger);
        }
        let previous_max_level = level
            .filter(|level| level.to_level_filter() > ::log::max_level())
            .map(|level| {
                let previous = ::log::max_level();
                ::log::set_max_level(level.to_level_filter());
                previous
            });
        let expectation = Arc::new(Expectation {
            target: target.to_owned(),
            regex,
            level,
            matched: Default::default(),
        });
        expectations::add(expectation.clone());
        Ok(ExpectLog {
            expectation,
            required: true,
            previous_max_level,
        })
    }

    /// Whether [`finish`](ExpectLog::finish) fails when nothing matched
    /// (`true` unless changed here).
    ///
    /// # Tornado
    /// `ExpectLog(..., required=False)`.
    pub fn required(mut self, required: bool) -> ExpectLog {
        self.required = required;
        self
    }

    /// How many records matched so far.
    ///
    /// # Tornado
    /// `ExpectLog.matched` (a count here, not a flag).
    pub fn matched(&self) -> usize {
        self.expectation.matched.load(Ordering::Acquire)
    }

    /// Stops expecting; matching records are printed again.
    ///
    /// # Panics
    /// If the message is required and no record matched: this is how the
    /// test fails, as Tornado's raises "did not get expected log message".
    pub fn finish(self) {
        let missed = self.required && self.matched() == 0;
        let target = self.expectation.target.clone();
        let pattern = self.expectation.regex.as_str().to_owned();
        drop(self);
        assert!(
            !missed,
            "did not get expected log message from {target}: {pattern:?}"
        );
    }
}

impl Drop for ExpectLog {
    fn drop(&mut self) {
        expectations::remove(&self.expectation);
        if let Some(previous) = self.previous_max_level {
            ::log::set_max_level(previous);
        }
    }
}

impl fmt::Debug for ExpectLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExpectLog")
            .field("target", &self.expectation.target)
            .field("regex", &self.expectation.regex.as_str())
            .field("level", &self.expectation.level)
            .field("required", &self.required)
            .field("matched", &self.matched())
            .finish()
    }
}
