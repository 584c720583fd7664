//! Typed command-line options, each defined with a default and a help line.
//!
//! # Tornado
//! `tornado.options`. Tornado keeps one global `options` object that every
//! module adds to; here the options live in an [`OptionParser`] value that the
//! program builds and passes to whoever defines or reads options. Each option
//! has a Rust type (anything `FromStr + Display + Clone`), fixed by its default.
//!
//! ```python
//! from tornado.options import define, options, parse_command_line
//!
//! define("port", default=9888, help="TCP port to listen on")
//! define("debug", default=False, help="run in debug mode")
//! parse_command_line()
//! server.listen(options.port)
//! ```
//!
//! ```no_run
//! use tornado::options::OptionParser;
//!
//! let mut options = OptionParser::new();
//! options
//!     .define("port", 9888_u16, "TCP port to listen on")
//!     .define("debug", false, "run in debug mode");
//! options.parse_command_line();
//! let port: u16 = options.get("port");
//! # let _ = port;
//! ```
//!
//! # Command line
//! As in Tornado: `--name=value`; `--name` alone for a `bool` option
//! (`--name=false` turns it off; `true/false`, `1/0`, `t/f`, `yes/no`, `y/n`
//! are accepted); `-` and `_` are interchangeable in names (`--log-file` is
//! `log_file`); one leading `-` works like two; parsing stops at the first
//! argument that is not an option, or after `--`, and the rest are returned.
//! Beyond Tornado, a non-`bool` option also takes its value from the next
//! argument: `--port 9888`.
//!
//! Every parser starts with Tornado's two standard options: `--help`, and
//! `--logging=debug|info|warning|error|none` (default `info`), which
//! [`parse_command_line`](OptionParser::parse_command_line) applies through
//! [`crate::log`].
//!
//! # Config files
//! [`parse_config_file`](OptionParser::parse_config_file) reads the files
//! Tornado apps are deployed with (`port = 80`, `mysql_host =
//! 'db:3306'`): one `name = literal` per line. They are Python in Tornado,
//! run as code; here only those lines are read, and any other statement is
//! an error naming its line.
//!
//! Not ported: `multiple=True` lists, option groups and parse callbacks.

use std::any::{type_name, Any, TypeId};
use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Write};
use std::process;
use std::str::FromStr;

use ::log::LevelFilter;

use config_file::Literal;

mod config_file;

/// The `--logging` values, as Tornado's help lists them.
const LOGGING_METAVAR: &str = "debug|info|warning|error|none";

/// Help lines wrap at this width (Tornado's `79 - 35`).
const HELP_WIDTH: usize = 44;

/// A set of command-line options and their current values.
///
/// # Tornado
/// `tornado.options.OptionParser`, the class of the global `options`.
/// `define(name, default, help)` → [`define`](OptionParser::define);
/// `options.name` → [`get`](OptionParser::get);
/// `parse_command_line(args)` → [`parse_command_line`](OptionParser::parse_command_line)
/// (which exits on `--help` and on errors) or
/// [`parse_args`](OptionParser::parse_args) (which returns them);
/// `print_help(file)` → [`print_help`](OptionParser::print_help).
pub struct OptionParser {
    /// Keyed by normalized name (`_` replaced with `-`, as Tornado does).
    options: BTreeMap<String, OptionDef>,
    /// `argv[0]` from the last parse, for the usage line.
    program: String,
}

/// One defined option.
struct OptionDef {
    help: String,
    metavar: Option<&'static str>,
    /// The default as `Display` shows it, for the help text.
    default: String,
    /// What a bad value is reported as expecting.
    expected: &'static str,
    /// Bool options may be given as a bare `--name`.
    is_flag: bool,
    /// The current value; always of the type the option was defined with.
    value: Box<dyn Any>,
    parse: fn(&str) -> Option<Box<dyn Any>>,
}

/// Why a command line was rejected.
///
/// # Tornado
/// `tornado.options.Error`; the messages keep Tornado's wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// No option has this (normalized) name.
    Unrecognized(String),
    /// A non-`bool` option was last on the line, with no value.
    MissingValue(String),
    /// A config file could not be read, or has a line that is not
    /// `name = literal`.
    ConfigFile {
        /// The file as given.
        path: String,
        /// The line, from 1; 0 when the file itself could not be read.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The value does not parse as the option's type.
    InvalidValue {
        /// The option's normalized name.
        name: String,
        /// The value as given.
        value: String,
        /// What was expected: a type name, or the accepted words.
        expected: &'static str,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Unrecognized(name) => write!(f, "Unrecognized command line option: '{name}'"),
            Error::MissingValue(name) => write!(f, "Option '{name}' requires a value"),
            Error::ConfigFile {
                path,
                line: 0,
                message,
            } => write!(f, "{path}: {message}"),
            Error::ConfigFile {
                path,
                line,
                message,
            } => write!(f, "{path}, line {line}: {message}"),
            Error::InvalidValue {
                name,
                value,
                expected,
            } => {
                write!(
                    f,
                    "Option '{name}': invalid value '{value}' (expected {expected})"
                )
            }
        }
    }
}

impl std::error::Error for Error {}

impl Default for OptionParser {
    fn default() -> Self {
        OptionParser::new()
    }
}

impl OptionParser {
    /// A parser with Tornado's standard options: `help` and `logging`.
    ///
    /// # Tornado
    /// `OptionParser()` (which defines `help`), plus the `logging` option of
    /// `tornado.log.define_logging_options`; its other options (`log_file_prefix`,
    /// `log_to_stderr`, ...) are not ported.
    pub fn new() -> OptionParser {
        let mut parser = OptionParser {
            options: BTreeMap::new(),
            program: String::from("PROGRAM"),
        };
        parser.define("help", false, "show this help information");
        // Tornado's `help` has no default to show.
        if let Some(help) = parser.options.get_mut("help") {
            help.default.clear();
        }
        parser.insert(
            "logging",
            OptionDef {
                help: String::from(
                    "Set the log level. If 'none', tornado won't touch the logging configuration.",
                ),
                metavar: Some(LOGGING_METAVAR),
                default: String::from("info"),
                expected: LOGGING_METAVAR,
                is_flag: false,
                value: Box::new(String::from("info")),
                parse: parse_logging,
            },
        );
        parser
    }

    /// Defines an option of type `T`, starting at `default`; `help` is shown
    /// by `--help`. Returns `self`, so definitions can be chained.
    ///
    /// # Panics
    /// If an option of this name (after `_` → `-`) is already defined: as in
    /// Tornado, that is a programming error.
    ///
    /// # Tornado
    /// `define(name, default=None, type=None, help=None, metavar=None,
    /// multiple=False, group=None, callback=None)`; the type is the default's.
    pub fn define<T>(&mut self, name: &str, default: T, help: &str) -> &mut Self
    where
        T: FromStr + fmt::Display + Clone + 'static,
    {
        let is_flag = TypeId::of::<T>() == TypeId::of::<bool>();
        self.insert(
            name,
            OptionDef {
                help: help.to_owned(),
                metavar: None,
                default: default.to_string(),
                expected: if is_flag {
                    "true or false"
                } else {
                    short_type_name(type_name::<T>())
                },
                is_flag,
                value: Box::new(default),
                parse: if is_flag {
                    parse_flag
                } else {
                    parse_value::<T>
                },
            },
        );
        self
    }

    fn insert(&mut self, name: &str, option: OptionDef) {
        let name = normalize(name);
        assert!(
            !self.options.contains_key(&name),
            "Option '{name}' already defined"
        );
        self.options.insert(name, option);
    }

    /// The current value of option `name` (`-` and `_` interchangeable).
    ///
    /// # Panics
    /// If no such option is defined, or it was defined with another type than
    /// `T`: both are programming errors, not input errors.
    ///
    /// # Tornado
    /// `options.name` or `options["name"]`.
    pub fn get<T: Clone + 'static>(&self, name: &str) -> T {
        let name = normalize(name);
        let Some(option) = self.options.get(&name) else {
            panic!("Unrecognized option '{name}'");
        };
        match option.value.downcast_ref::<T>() {
            Some(value) => value.clone(),
            None => panic!("Option '{name}' is not a {}", type_name::<T>()),
        }
    }

    /// Parses `args`, whose first item is the program's name (ignored but
    /// for the usage line, as Tornado ignores `argv[0]`). Returns the
    /// arguments after the options.
    ///
    /// Unlike [`parse_command_line`](OptionParser::parse_command_line), this
    /// neither exits nor touches logging: `--help` just sets the `help`
    /// option. On an error, options before the bad one keep their new values.
    ///
    /// # Tornado
    /// `parse_command_line(args, final=False)`, except for `--help`, which
    /// Tornado answers by printing the help and exiting even then.
    pub fn parse_args<I, S>(&mut self, args: I) -> Result<Vec<String>, Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut args = args.into_iter().map(Into::into).peekable();
        if let Some(program) = args.next() {
            self.program = program;
        }
        while let Some(arg) = args.next() {
            if !arg.starts_with('-') {
                return Ok(std::iter::once(arg).chain(args).collect());
            }
            if arg == "--" {
                return Ok(args.collect());
            }
            let (name, value) = match arg.trim_start_matches('-').split_once('=') {
                Some((name, value)) => (normalize(name), Some(value.to_owned())),
                None => (normalize(arg.trim_start_matches('-')), None),
            };
            // `--host --debug`: the next argument is an option of its own,
            // not `--host`'s value (Tornado, which takes no separate value,
            // says the value is missing).
            let next_is_option = args.peek().is_some_and(|next| self.names_option(next));
            let Some(option) = self.options.get_mut(&name) else {
                return Err(Error::Unrecognized(name));
            };
            let value = match value {
                Some(value) => value,
                None if option.is_flag => String::from("true"),
                None => match args.next_if(|_| !next_is_option) {
                    Some(value) => value,
                    None => return Err(Error::MissingValue(name)),
                },
            };
            match (option.parse)(&value) {
                Some(parsed) => option.value = parsed,
                None => {
                    let expected = option.expected;
                    return Err(Error::InvalidValue {
                        name,
                        value,
                        expected,
                    });
                }
            }
        }
        Ok(Vec::new())
    }

    /// Sets options from the config file at `path`: each `name = value`
    /// line whose name is a defined option (`-` and `_` interchangeable;
    /// other names are ignored, as Tornado ignores the file's other
    /// variables). A string value is parsed as on the command line; a
    /// number, `True` or `False` must suit the option's type.
    ///
    /// ```
    /// use tornado::options::OptionParser;
    ///
    /// let path = std::env::temp_dir().join(format!("app-{}.conf", std::process::id()));
    /// std::fs::write(&path, "port = 8080\nmysql_host = 'db.example.com:3306'  # primary\n").unwrap();
    /// let mut options = OptionParser::new();
    /// options
    ///     .define("port", 8888_u16, "TCP port")
    ///     .define("mysql_host", String::from("localhost"), "database");
    /// options.parse_config_file(&path).unwrap();
    /// assert_eq!(options.get::<u16>("port"), 8080);
    /// assert_eq!(options.get::<String>("mysql_host"), "db.example.com:3306");
    /// # std::fs::remove_file(path).unwrap();
    /// ```
    ///
    /// # Errors
    /// The file cannot be read or is not UTF-8; a line that is not a blank,
    /// a comment or `name = literal` (an `import`, an expression, a list:
    /// Python that is not run here); a value that does not suit its option.
    /// Options before the bad one in the file keep their new values.
    ///
    /// # Tornado
    /// `options.parse_config_file(path)`, whose file is Python run as code;
    /// `None` values are refused (an option here always has a value of its type).
    pub fn parse_config_file(&mut self, path: impl AsRef<std::path::Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let config_error = |line: usize, message: String| Error::ConfigFile {
            path: path.display().to_string(),
            line,
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|err| config_error(0, err.to_string()))?;
        let assignments =
            config_file::assignments(&text).map_err(|(line, why)| config_error(line, why))?;
        for (name, literal) in assignments {
            let name = normalize(&name);
            let Some(option) = self.options.get_mut(&name) else {
                continue;
            };
            let takes_text = option.value.is::<String>();
            let text = match &literal {
                Literal::Str(text) => Some(text.clone()),
                Literal::Int(text) | Literal::Float(text) if !option.is_flag && !takes_text => {
                    Some(text.clone())
                }
                Literal::Bool(value) if option.is_flag => Some(value.to_string()),
                _ => None,
            };
            let parsed = text.as_deref().and_then(option.parse);
            let Some(parsed) = parsed else {
                return Err(Error::InvalidValue {
                    value: match &literal {
                        Literal::Str(text) | Literal::Int(text) | Literal::Float(text) => {
                            text.clone()
                        }
                        other => format!("{} ({})", literal_text(other), other.type_name()),
                    },
                    expected: option.expected,
                    name,
                });
            };
            option.value = parsed;
        }
        Ok(())
    }

    /// Whether `arg` is `--name` or `--name=value` for a defined option.
    fn names_option(&self, arg: &str) -> bool {
        let Some(spelled) = arg.strip_prefix("--") else {
            return false;
        };
        let name = spelled.split_once('=').map_or(spelled, |(name, _)| name);
        self.options
            .contains_key(&normalize(name.trim_start_matches('-')))
    }

    /// Parses the process's arguments; returns those after the options.
    ///
    /// - `--help` prints the usage to stdout and exits with status 0.
    /// - An error is printed to stderr (after the usage, for an unknown
    ///   option, as Tornado does) and the process exits with status 1.
    /// - Unless `--logging=none`, logging is switched on with
    ///   [`enable_pretty_logging`](crate::log::enable_pretty_logging) at the
    ///   `--logging` level (default `info`).
    ///
    /// Arguments that are not valid Unicode are read lossily.
    ///
    /// # Tornado
    /// `tornado.options.parse_command_line()`. Tornado prints `--help` to
    /// stderr; here it goes to stdout, so `--help | less` works.
    pub fn parse_command_line(&mut self) -> Vec<String> {
        let args = std::env::args_os().map(|arg| arg.to_string_lossy().into_owned());
        let remaining = match self.parse_args(args) {
            Ok(remaining) => remaining,
            // `--help` came before the error: Tornado's help callback has
            // already printed the usage and exited by then.
            Err(_) if self.get::<bool>("help") => Vec::new(),
            Err(err) => {
                if matches!(err, Error::Unrecognized(_)) {
                    // Exiting anyway: a failed write to stderr changes nothing.
                    let _ = self.print_help(&mut io::stderr().lock());
                }
                eprintln!("error: {err}");
                process::exit(1);
            }
        };
        if self.get::<bool>("help") {
            let mut stdout = io::stdout().lock();
            let printed = self.print_help(&mut stdout).and_then(|()| stdout.flush());
            process::exit(if printed.is_ok() { 0 } else { 1 });
        }
        if let Some(level) = logging_level(&self.get::<String>("logging")) {
            crate::log::enable_pretty_logging();
            ::log::set_max_level(level);
        }
        remaining
    }

    /// Writes the usage: every option with its help text and default, sorted
    /// by name, in Tornado's layout.
    ///
    /// # Tornado
    /// `print_help(file=None)`.
    pub fn print_help(&self, file: &mut dyn Write) -> io::Result<()> {
        writeln!(file, "Usage: {} [OPTIONS]", self.program)?;
        writeln!(file, "\nOptions:\n")?;
        for (name, option) in &self.options {
            let prefix = match option.metavar {
                Some(metavar) => format!("{name}={metavar}"),
                None => name.clone(),
            };
            let mut description = option.help.clone();
            if !option.default.is_empty() {
                description.push_str(&format!(" (default {})", option.default));
            }
            let mut lines = wrap(&description, HELP_WIDTH);
            if prefix.len() > 30 || lines.is_empty() {
                lines.insert(0, String::new());
            }
            writeln!(file, "  --{prefix:<30} {}", lines[0])?;
            for line in &lines[1..] {
                writeln!(file, "{:<34} {line}", " ")?;
            }
        }
        writeln!(file)
    }
}

impl fmt::Debug for OptionParser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OptionParser")
            .field("program", &self.program)
            .field("options", &self.options.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Tornado's `_normalize_name`: names use `-`, and `_` is accepted for it.
/// How Python writes a literal that is not text or a number.
fn literal_text(literal: &Literal) -> &'static str {
    match literal {
        Literal::Bool(true) => "True",
        Literal::Bool(false) => "False",
        _ => "None",
    }
}

fn normalize(name: &str) -> String {
    name.replace('_', "-")
}

fn parse_value<T: FromStr + 'static>(text: &str) -> Option<Box<dyn Any>> {
    let value: T = text.parse().ok()?;
    Some(Box::new(value))
}

/// Tornado's `_parse_bool`, but strict: an unknown word is an error rather than `true`.
fn parse_flag(text: &str) -> Option<Box<dyn Any>> {
    let value = match text.to_ascii_lowercase().as_str() {
        "true" | "t" | "1" | "yes" | "y" => true,
        "false" | "f" | "0" | "no" | "n" => false,
        _ => return None,
    };
    Some(Box::new(value))
}

/// Accepts the `--logging` values, keeping the text as given (lowercased).
fn parse_logging(text: &str) -> Option<Box<dyn Any>> {
    let text = text.to_ascii_lowercase();
    if text != "none" && logging_level(&text).is_none() {
        return None;
    }
    Some(Box::new(text))
}

/// The level a `--logging` value selects; `None` for `none` (or anything else).
///
/// Besides Tornado's five values, Python's other level names (`warn`,
/// `critical`, `fatal`) and the `log` crate's `trace` are accepted.
fn logging_level(name: &str) -> Option<LevelFilter> {
    match name {
        "trace" => Some(LevelFilter::Trace),
        "debug" => Some(LevelFilter::Debug),
        "info" => Some(LevelFilter::Info),
        "warning" | "warn" => Some(LevelFilter::Warn),
        "error" | "critical" | "fatal" => Some(LevelFilter::Error),
        _ => None,
    }
}

/// `alloc::string::String` → `String`, for error messages.
fn short_type_name(full: &'static str) -> &'static str {
    let head = full.find('<').map_or(full, |at| &full[..at]);
    match head.rfind("::") {
        Some(at) => &full[at + 2..],
        None => full,
    }
}

/// Greedy word wrap to `width` columns (Python's `textwrap.wrap`, for plain text).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        if !current.is_empty() && current.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parser() -> OptionParser {
        let mut options = OptionParser::new();
        options
            .define("port", 9888_u16, "TCP port to listen on")
            .define("host", String::from("localhost"), "TCP server host")
            .define("debug", false, "run in debug mode")
            .define(
                "log_file_prefix",
                String::new(),
                "Path prefix for log files",
            );
        options
    }

    fn parse(options: &mut OptionParser, args: &[&str]) -> Result<Vec<String>, Error> {
        options.parse_args(std::iter::once("prog").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_until_parsed() {
        let options = parser();
        assert_eq!(options.get::<u16>("port"), 9888);
        assert_eq!(options.get::<String>("host"), "localhost");
        assert!(!options.get::<bool>("debug"));
        assert!(!options.get::<bool>("help"));
        assert_eq!(options.get::<String>("logging"), "info");
    }

    #[test]
    fn equals_and_separate_values() {
        let mut options = parser();
        assert_eq!(
            parse(&mut options, &["--port=1234", "--host", "example.com"]),
            Ok(vec![])
        );
        assert_eq!(options.get::<u16>("port"), 1234);
        assert_eq!(options.get::<String>("host"), "example.com");
        assert_eq!(parse(&mut options, &["--port", "80"]), Ok(vec![]));
        assert_eq!(options.get::<u16>("port"), 80);
    }

    #[test]
    fn a_missing_value_does_not_take_the_next_option() {
        let mut options = parser();
        assert_eq!(
            parse(&mut options, &["--host", "--debug"]),
            Err(Error::MissingValue("host".into()))
        );
        assert!(!options.get::<bool>("debug"));
        // Not an option defined here: a value like any other.
        parse(&mut options, &["--host", "--not-an-option"]).unwrap();
        assert_eq!(options.get::<String>("host"), "--not-an-option");
    }

    #[test]
    fn values_may_contain_equals_and_start_with_a_dash() {
        let mut options = OptionParser::new();
        options
            .define("expr", String::new(), "")
            .define("offset", 0_i32, "");
        parse(&mut options, &["--expr=a=b", "--offset", "-5"]).unwrap();
        assert_eq!(options.get::<String>("expr"), "a=b");
        assert_eq!(options.get::<i32>("offset"), -5);
    }

    #[test]
    fn bool_flags() {
        let mut options = parser();
        parse(&mut options, &["--debug"]).unwrap();
        assert!(options.get::<bool>("debug"));
        parse(&mut options, &["--debug=false"]).unwrap();
        assert!(!options.get::<bool>("debug"));
        parse(&mut options, &["--debug=TRUE"]).unwrap();
        assert!(options.get::<bool>("debug"));
        parse(&mut options, &["--debug=0"]).unwrap();
        assert!(!options.get::<bool>("debug"));
        // A bare flag does not swallow the next argument.
        assert_eq!(
            parse(&mut options, &["--debug", "file.txt"]),
            Ok(vec![String::from("file.txt")])
        );
        assert!(options.get::<bool>("debug"));
        assert_eq!(
            parse(&mut options, &["--debug=maybe"]),
            Err(Error::InvalidValue {
                name: String::from("debug"),
                value: String::from("maybe"),
                expected: "true or false",
            })
        );
    }

    #[test]
    fn dashes_and_underscores_are_the_same() {
        let mut options = parser();
        parse(&mut options, &["--log-file-prefix=/tmp/a"]).unwrap();
        assert_eq!(options.get::<String>("log_file_prefix"), "/tmp/a");
        parse(&mut options, &["--log_file_prefix=/tmp/b"]).unwrap();
        assert_eq!(options.get::<String>("log-file-prefix"), "/tmp/b");
        parse(&mut options, &["-port=7"]).unwrap();
        assert_eq!(options.get::<u16>("port"), 7);
    }

    #[test]
    fn remaining_arguments() {
        let mut options = parser();
        assert_eq!(
            parse(&mut options, &["--port=1", "a", "--port=2", "b"]),
            Ok(vec![
                String::from("a"),
                String::from("--port=2"),
                String::from("b")
            ])
        );
        assert_eq!(options.get::<u16>("port"), 1);
        assert_eq!(
            parse(&mut options, &["--", "--port=3"]),
            Ok(vec![String::from("--port=3")])
        );
        assert_eq!(options.get::<u16>("port"), 1);
        assert_eq!(options.parse_args(Vec::<String>::new()), Ok(vec![]));
    }

    #[test]
    fn errors_have_clear_messages() {
        let mut options = parser();
        let err = parse(&mut options, &["--prot=1"]).unwrap_err();
        assert_eq!(err, Error::Unrecognized(String::from("prot")));
        assert_eq!(err.to_string(), "Unrecognized command line option: 'prot'");

        let err = parse(&mut options, &["--port"]).unwrap_err();
        assert_eq!(err.to_string(), "Option 'port' requires a value");

        let err = parse(&mut options, &["--port=http"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Option 'port': invalid value 'http' (expected u16)"
        );
        let err = parse(&mut options, &["--port=70000"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Option 'port': invalid value '70000' (expected u16)"
        );
        assert_eq!(options.get::<u16>("port"), 9888);
    }

    #[test]
    fn logging_values() {
        let mut options = parser();
        for value in [
            "debug", "info", "warning", "error", "none", "WARNING", "trace",
        ] {
            parse(&mut options, &[&format!("--logging={value}")]).unwrap();
            assert_eq!(options.get::<String>("logging"), value.to_ascii_lowercase());
        }
        let err = parse(&mut options, &["--logging=loud"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Option 'logging': invalid value 'loud' (expected debug|info|warning|error|none)"
        );
        assert_eq!(logging_level("warning"), Some(LevelFilter::Warn));
        assert_eq!(logging_level("none"), None);
    }

    #[test]
    fn help_sets_the_help_option() {
        let mut options = parser();
        parse(&mut options, &["--help"]).unwrap();
        assert!(options.get::<bool>("help"));
    }

    #[test]
    fn help_text_in_tornados_layout() {
        let mut options = parser();
        parse(&mut options, &[]).unwrap();
        let mut out = Vec::new();
        options.print_help(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let expected = "\
Usage: prog [OPTIONS]

Options:

  --debug                          run in debug mode (default false)
  --help                           show this help information
  --host                           TCP server host (default localhost)
  --log-file-prefix                Path prefix for log files
  --logging=debug|info|warning|error|none 
                                   Set the log level. If 'none', tornado won't
                                   touch the logging configuration. (default
                                   info)
  --port                           TCP port to listen on (default 9888)

";
        assert_eq!(text, expected);
    }

    #[test]
    #[should_panic(expected = "Option 'port' already defined")]
    fn defining_twice_panics() {
        parser().define("port", 1_u16, "again");
    }

    #[test]
    #[should_panic(expected = "Option 'port' is not a")]
    fn getting_the_wrong_type_panics() {
        parser().get::<String>("port");
    }

    #[test]
    fn short_type_names() {
        assert_eq!(short_type_name("u16"), "u16");
        assert_eq!(short_type_name("alloc::string::String"), "String");
        assert_eq!(
            short_type_name("alloc::vec::Vec<alloc::string::String>"),
            "Vec<alloc::string::String>"
        );
    }

    #[test]
    fn wrapping() {
        assert_eq!(wrap("", 10), Vec::<String>::new());
        assert_eq!(wrap("a bb ccc dddd", 6), ["a bb", "ccc", "dddd"]);
        assert_eq!(
            wrap("averyveryverylongword x", 6),
            ["averyveryverylongword", "x"]
        );
    }
}
