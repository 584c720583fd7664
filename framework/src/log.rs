//! Pretty console logging: one line per record on stderr, in Tornado's format.
//!
//! # Tornado
//! `tornado.log`. [`enable_pretty_logging`] installs [`LogFormatter`] as the
//! [`log`] crate's logger, the way Tornado adds a `StreamHandler` with
//! its `LogFormatter` to the root logger. Records look like Tornado's:
//!
//! ```text
//! [I 251126 16:03:42 tcpecho:27] Received bytes: b'ping\n'
//! [W 251126 16:03:42 tcpecho:21] Lost client at host 127.0.0.1
//! ```
//!
//! that is `[level-letter yymmdd HH:MM:SS module:line] message`. Deliberate
//! differences:
//! - the time is **UTC**, not local time (computing local time needs the C
//!   library's time-zone code, which this crate does not call);
//! - `module` is the last segment of the record's Rust module path
//!   (`tornado::tcpserver` logs as `tcpserver`, an example binary as its own
//!   name), where Python uses the file name;
//! - the `log` crate has a fifth level, `trace`, shown as `T`.
//!
//! | Tornado | tornado-rs |
//! | --- | --- |
//! | `tornado.log.enable_pretty_logging()` | [`enable_pretty_logging()`] |
//! | `logging.getLogger().setLevel(logging.DEBUG)` | `::log::set_max_level(LevelFilter::Debug)` |
//! | `logger.info("Listening on %d", port)` | [`info!`]`("Listening on {port}")` |
//! | `--logging=debug` | parsed by [`OptionParser`](crate::options::OptionParser) |
//!
//! The `log` crate's macros and level types are re-exported here, so an
//! application needs no `log` dependency of its own:
//!
//! ```
//! use tornado::log::{enable_pretty_logging, info};
//!
//! enable_pretty_logging();
//! info!("Listening on TCP port {}", 9888);
//! ```

use std::fmt;
use std::io::{self, IsTerminal, Write};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use ::log::{Log, Metadata, Record};

pub use ::log::{debug, error, info, trace, warn, Level, LevelFilter};

pub(crate) mod expectations;

/// The logger [`enable_pretty_logging`] installs (the `log` crate keeps a
/// `&'static` reference to it).
static LOGGER: OnceLock<LogFormatter> = OnceLock::new();

/// Sends log records to stderr, one line each, in Tornado's format.
///
/// The first call installs a [`LogFormatter`] as the process's logger, with
/// colour when stderr is a terminal, and, if no level was set yet (the `log`
/// crate starts at `Off`), sets the level to `Info`, Tornado's default. Later
/// calls do nothing, and neither does a call when another logger (say
/// `env_logger`) is already installed, as Tornado adds its handler only when
/// the root logger has none.
///
/// The level filter is the `log` crate's: [`::log::set_max_level`], which
/// `--logging=LEVEL` sets through
/// [`OptionParser::parse_command_line`](crate::options::OptionParser::parse_command_line).
///
/// # Tornado
/// `tornado.log.enable_pretty_logging(options=None, logger=None)`; here the
/// level comes from the `log` crate rather than from the options.
pub fn enable_pretty_logging() {
    let logger = LOGGER.get_or_init(|| LogFormatter::new(io::stderr().is_terminal()));
    // Err means a logger is already installed (ours or another): leave it be.
    if ::log::set_logger(logger).is_ok() {
        INSTALLED.store(true, std::sync::atomic::Ordering::Release);
        if ::log::max_level() == LevelFilter::Off {
            ::log::set_max_level(LevelFilter::Info);
        }
    }
}

/// Whether [`enable_pretty_logging`] installed our logger (not another).
static INSTALLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// True if this process logs through [`LogFormatter`] (so
/// [`crate::testing::ExpectLog`] sees its records).
pub(crate) fn pretty_logging_installed() -> bool {
    INSTALLED.load(std::sync::atomic::Ordering::Acquire)
}

/// Formats records as `[I 251126 16:03:42 module:line] message` and writes
/// them to stderr.
///
/// # Tornado
/// `tornado.log.LogFormatter(color=True)`, which in Python only formats; a
/// `log::Log` both formats and writes, so this is Tornado's formatter and its
/// stderr `StreamHandler` in one. Colour (when enabled) wraps the bracketed
/// prefix in ANSI codes: debug blue, info green, warning yellow, error red.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogFormatter {
    color: bool,
}

impl LogFormatter {
    /// A formatter; `color` adds ANSI colour codes around each prefix.
    ///
    /// # Tornado
    /// `LogFormatter(color=color)`.
    pub const fn new(color: bool) -> LogFormatter {
        LogFormatter { color }
    }

    /// The line for `record` logged at `time`, without a trailing newline.
    ///
    /// Continuation lines of a multi-line message are indented by four
    /// spaces, as Tornado does.
    ///
    /// # Tornado
    /// `LogFormatter.format(record)`.
    pub fn format(&self, record: &Record<'_>, time: SystemTime) -> String {
        let module = record
            .module_path()
            .and_then(|path| path.rsplit("::").next())
            .or_else(|| record.file().and_then(file_stem))
            .unwrap_or("?");
        format_record(
            record.level(),
            time,
            module,
            record.line().unwrap_or(0),
            record.args(),
            self.color,
        )
    }
}

impl Log for LogFormatter {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= ::log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) || expectations::intercepts(record) {
            return;
        }
        let mut line = self.format(record, SystemTime::now());
        line.push('\n');
        // A logger has nowhere to report that stderr itself failed.
        let _ = io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {
        // As above: nowhere to report a failure.
        let _ = io::stderr().flush();
    }
}

/// The stem of a source path: `examples/tcpecho.rs` → `tcpecho`.
fn file_stem(path: &str) -> Option<&str> {
    let name = path.rsplit(['/', '\\']).next()?;
    Some(name.split_once('.').map_or(name, |(stem, _)| stem))
}

/// Tornado's one-letter level name (`%(levelname)1.1s`).
fn level_letter(level: Level) -> char {
    match level {
        Level::Error => 'E',
        Level::Warn => 'W',
        Level::Info => 'I',
        Level::Debug => 'D',
        Level::Trace => 'T',
    }
}

/// Tornado's `DEFAULT_COLORS` as ANSI codes (its fallback when curses is absent).
fn level_color(level: Level) -> &'static str {
    match level {
        Level::Error => "\x1b[2;31m",
        Level::Warn => "\x1b[2;33m",
        Level::Info => "\x1b[2;32m",
        Level::Debug => "\x1b[2;34m",
        Level::Trace => "",
    }
}

/// Formats one record: `[L yymmdd HH:MM:SS module:line] message`.
fn format_record(
    level: Level,
    time: SystemTime,
    module: &str,
    line: u32,
    message: &fmt::Arguments<'_>,
    color: bool,
) -> String {
    let (color, end_color) = match level_color(level) {
        code if color && !code.is_empty() => (code, "\x1b[0m"),
        _ => ("", ""),
    };
    let message = message.to_string().replace('\n', "\n    ");
    format!(
        "{color}[{} {} {module}:{line}]{end_color} {message}",
        level_letter(level),
        Timestamp(time),
    )
}

/// Displays a time as `yymmdd HH:MM:SS` in UTC (Tornado's `DEFAULT_DATE_FORMAT`).
struct Timestamp(SystemTime);

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A clock set before 1970 shows as the epoch.
        let secs = self
            .0
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let (year, month, day) = civil_from_days(secs / 86_400);
        let of_day = secs % 86_400;
        write!(
            f,
            "{:02}{month:02}{day:02} {:02}:{:02}:{:02}",
            year % 100,
            of_day / 3600,
            of_day % 3600 / 60,
            of_day % 60,
        )
    }
}

/// The proleptic Gregorian date `days` days after 1970-01-01, as
/// `(year, month, day)`: Howard Hinnant's `civil_from_days`, for days on or
/// after the epoch.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01, so leap days fall at the end of a year.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn formats_like_tornado() {
        // 2025-11-26 16:03:42 UTC
        let line = format_record(
            Level::Info,
            at(1_764_173_022),
            "tcpecho",
            27,
            &format_args!("Received bytes: {}", "b'ping\\n'"),
            false,
        );
        assert_eq!(
            line,
            r"[I 251126 16:03:42 tcpecho:27] Received bytes: b'ping\n'"
        );
    }

    #[test]
    fn level_letters() {
        let letters: String = [
            Level::Error,
            Level::Warn,
            Level::Info,
            Level::Debug,
            Level::Trace,
        ]
        .into_iter()
        .map(|level| {
            format_record(level, at(0), "m", 1, &format_args!(""), false)
                .chars()
                .nth(1)
                .unwrap_or('?')
        })
        .collect();
        assert_eq!(letters, "EWIDT");
    }

    #[test]
    fn timestamps_are_utc_dates() {
        assert_eq!(Timestamp(at(0)).to_string(), "700101 00:00:00");
        // 2000-02-29 23:59:59, a leap day in a century year divisible by 400.
        assert_eq!(Timestamp(at(951_868_799)).to_string(), "000229 23:59:59");
        assert_eq!(Timestamp(at(951_868_800)).to_string(), "000301 00:00:00");
        // 2099-12-31 00:00:00
        assert_eq!(Timestamp(at(4_102_358_400)).to_string(), "991231 00:00:00");
        // Before the epoch: shown as the epoch.
        assert_eq!(
            Timestamp(UNIX_EPOCH - Duration::from_secs(5)).to_string(),
            "700101 00:00:00"
        );
    }

    #[test]
    fn continuation_lines_are_indented() {
        let line = format_record(
            Level::Error,
            at(0),
            "web",
            9,
            &format_args!("first\nsecond"),
            false,
        );
        assert_eq!(line, "[E 700101 00:00:00 web:9] first\n    second");
    }

    #[test]
    fn color_wraps_the_prefix_only() {
        let line = format_record(Level::Warn, at(0), "m", 1, &format_args!("hi"), true);
        assert_eq!(line, "\x1b[2;33m[W 700101 00:00:00 m:1]\x1b[0m hi");
        let trace = format_record(Level::Trace, at(0), "m", 1, &format_args!("hi"), true);
        assert_eq!(trace, "[T 700101 00:00:00 m:1] hi");
    }

    #[test]
    fn module_is_the_last_path_segment_or_the_file_stem() {
        let formatter = LogFormatter::new(false);
        let line = formatter.format(
            &Record::builder()
                .args(format_args!("x"))
                .level(Level::Info)
                .module_path(Some("tornado::tcpserver::accept"))
                .file(Some("framework/src/tcpserver/accept.rs"))
                .line(Some(110))
                .build(),
            at(0),
        );
        assert_eq!(line, "[I 700101 00:00:00 accept:110] x");
        let line = formatter.format(
            &Record::builder()
                .args(format_args!("x"))
                .level(Level::Debug)
                .file(Some("examples/tcpecho.rs"))
                .build(),
            at(0),
        );
        assert_eq!(line, "[D 700101 00:00:00 tcpecho:0] x");
    }

    #[test]
    fn enabling_twice_is_harmless() {
        enable_pretty_logging();
        enable_pretty_logging();
        assert_ne!(::log::max_level(), LevelFilter::Off);
    }
}
