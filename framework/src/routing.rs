//! Matching request paths and hosts against Tornado's regex patterns.
//!
//! # Tornado
//! `tornado.routing`: [`PathMatches`] and [`HostMatches`] keep their names;
//! [`RuleTable`] is the ordered list of rules a `RuleRouter` walks. Patterns
//! are Python `re` syntax; the common subset is the `regex` crate's. A
//! pattern using what `regex` lacks (look-around, backreferences) is refused
//! when the application is built, with an error naming the pattern.
//!
//! Unlike Tornado, which only appends a `$`, a pattern is wrapped whole as
//! `^(?:pattern)$`: every alternative of a top-level `|` is anchored
//! (Tornado's `/a|/b` also matches `/ax`), and so is a pattern ending in a
//! literal `\$` (Tornado appends no `$` to it, so it matches as a prefix).

use std::collections::HashMap;
use std::fmt;

use regex::Regex;

use crate::escape::url_escape;
use crate::httputil::url_unescape;

/// A route pattern that could not be compiled.
///
/// # Tornado
/// The `re.error` Tornado raises when compiling the pattern, or the
/// `AssertionError` for one mixing named and positional groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteError {
    /// The pattern as written.
    pub pattern: String,
    /// Why it was refused.
    pub message: String,
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid route pattern {:?}: {}",
            self.pattern, self.message
        )
    }
}

impl std::error::Error for RouteError {}

/// Why no path could be built for a route.
///
/// # Tornado
/// The exceptions of `Application.reverse_url` and `PathMatches.reverse`;
/// the messages are adapted from Tornado's (the count says both numbers,
/// the regex is the compiled one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReverseError {
    /// No route has this name (Tornado's `KeyError`).
    NotFound(String),
    /// The pattern has more than literal text and capturing groups (a
    /// `(?:`, a nested group, a `\d` outside a group), so it has no path
    /// to fill in. Holds the compiled regex (Tornado's `ValueError`).
    NotReversible(String),
    /// The number of arguments is not the number of groups (Tornado's
    /// `AssertionError`).
    ArgumentCount {
        /// The pattern's groups.
        expected: usize,
        /// The arguments given.
        given: usize,
    },
}

impl fmt::Display for ReverseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReverseError::NotFound(name) => write!(f, "{name} not found in named urls"),
            ReverseError::NotReversible(regex) => write!(f, "cannot reverse url regex {regex}"),
            ReverseError::ArgumentCount { expected, given } => write!(
                f,
                "required number of arguments not found: {expected} expected, {given} given"
            ),
        }
    }
}

impl std::error::Error for ReverseError {}

/// What a matched path yields: positional or named groups, URL-unescaped
/// (`+` stays `+`), as raw bytes (the handler decodes them as UTF-8).
///
/// # Tornado
/// The `{"path_args": ..., "path_kwargs": ...}` dict `PathMatches.match`
/// returns.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PathArgs {
    /// Groups by position, when the pattern has no named groups.
    pub args: Vec<Vec<u8>>,
    /// Groups by name, when the pattern has named groups.
    pub kwargs: HashMap<String, Vec<u8>>,
}

/// The plain text a pattern's matches all start with: its leading run of
/// characters that match only themselves, less a last one a quantifier
/// makes optional (`/a/?` gives `/a`). Empty for a pattern with an
/// alternative or an inline flag (`(?i)`), where no such run is certain.
fn literal_prefix(body: &str) -> String {
    if body.contains('|') || body.contains("(?") {
        return String::new();
    }
    let plain = |c: &char| c.is_ascii_alphanumeric() || "/_-~%,;:=@!&'<>\"".contains(*c);
    let mut prefix: String = body.chars().take_while(plain).collect();
    if matches!(
        body.get(prefix.len()..)
            .and_then(|rest| rest.chars().next()),
        Some('?' | '*' | '+' | '{')
    ) {
        prefix.pop();
    }
    prefix
}

/// Matches a request path against a pattern anchored at both ends.
///
/// # Tornado
/// `tornado.routing.PathMatches(path_pattern)`: a `$` is appended unless the
/// pattern ends with one, and the match starts at the beginning. (Here the
/// whole pattern is anchored: see the [module docs](self).)
#[derive(Debug, Clone)]
pub enum PathMatches {
    /// A pattern without regex syntax: compared as a string, no regex run.
    Literal(String),
    /// A regex; `reverse` is the `%s` template for `reverse_url`, if the
    /// pattern is simple enough to reverse.
    Regex {
        /// The anchored regex.
        regex: Regex,
        /// Whether the pattern has named groups (then only those are passed).
        named: bool,
        /// Literal pieces between groups, for reversing.
        reverse: Option<Vec<String>>,
        /// Text every matching path starts with (`/static/` of
        /// `/static/(.*)`): a path without it is refused before the regex
        /// runs, so regex routes ahead of literal ones (the static routes
        /// `static_path` installs) cost a literal route little.
        prefix: String,
    },
}

impl PathMatches {
    /// Compiles a Tornado path pattern.
    ///
    /// # Errors
    /// The `regex` crate refuses the pattern, or it mixes named and
    /// positional groups (Tornado's `AssertionError`: only one kind would
    /// reach the handler).
    ///
    /// # Tornado
    /// `PathMatches(path_pattern)`.
    pub fn new(pattern: &str) -> Result<PathMatches, RouteError> {
        let body = strip_anchors(pattern);
        if !body.chars().any(|c| ".^$*+?()[]{}|\\".contains(c)) {
            return Ok(PathMatches::Literal(body.to_owned()));
        }
        let regex = Regex::new(&format!("^(?:{body})$")).map_err(|err| RouteError {
            pattern: pattern.to_owned(),
            message: err.to_string(),
        })?;
        let named_groups = regex.capture_names().flatten().count();
        if named_groups != 0 && named_groups != regex.captures_len() - 1 {
            return Err(RouteError {
                pattern: pattern.to_owned(),
                message: "groups in url regexes must either be all named or all positional"
                    .to_owned(),
            });
        }
        let named = named_groups != 0;
        Ok(PathMatches::Regex {
            named,
            reverse: reverse_template(body, regex.captures_len() - 1),
            prefix: literal_prefix(body),
            regex,
        })
    }

    /// Matches `path` (still URL-escaped, as Tornado matches it).
    ///
    /// # Tornado
    /// `PathMatches.match(request)`.
    pub fn match_path(&self, path: &str) -> Option<PathArgs> {
        match self {
            PathMatches::Literal(literal) => (literal == path).then(PathArgs::default),
            PathMatches::Regex {
                regex,
                named,
                prefix,
                ..
            } => {
                if !path.starts_with(prefix.as_str()) {
                    return None;
                }
                let captures = regex.captures(path)?;
                let mut out = PathArgs::default();
                let unescape =
                    |m: regex::Match<'_>| url_unescape(m.as_str().as_bytes(), false).into_owned();
                if *named {
                    for name in regex.capture_names().flatten() {
                        if let Some(m) = captures.name(name) {
                            out.kwargs.insert(name.to_owned(), unescape(m));
                        }
                    }
                } else {
                    // An unmatched optional group is passed as an empty string
                    // (Tornado passes None; a handler sees "" here).
                    out.args = captures
                        .iter()
                        .skip(1)
                        .map(|m| m.map(unescape).unwrap_or_default())
                        .collect();
                }
                Some(out)
            }
        }
    }

    /// Builds the path for `args` (URL-escaped).
    ///
    /// # Errors
    /// [`ReverseError::NotReversible`] if the pattern cannot be reversed,
    /// [`ReverseError::ArgumentCount`] if `args` has the wrong length.
    ///
    /// # Tornado
    /// `PathMatches.reverse(*args)`.
    pub fn reverse(&self, args: &[&str]) -> Result<String, ReverseError> {
        let count = |expected: usize| ReverseError::ArgumentCount {
            expected,
            given: args.len(),
        };
        match self {
            PathMatches::Literal(literal) if args.is_empty() => Ok(literal.clone()),
            PathMatches::Literal(_) => Err(count(0)),
            PathMatches::Regex { reverse, regex, .. } => {
                let Some((first, rest)) = reverse.as_deref().and_then(<[String]>::split_first)
                else {
                    return Err(ReverseError::NotReversible(regex.as_str().to_owned()));
                };
                if rest.len() != args.len() {
                    return Err(count(rest.len()));
                }
                let mut out = first.clone();
                for (arg, piece) in args.iter().zip(rest) {
                    out.push_str(&url_escape(arg.as_bytes(), false));
                    out.push_str(piece);
                }
                Ok(out)
            }
        }
    }
}

/// `pattern` without its anchors: a leading `^`, and a trailing `$` unless
/// it is escaped (`\$`, a literal dollar, stays: an odd number of
/// backslashes before it).
fn strip_anchors(pattern: &str) -> &str {
    let body = pattern.strip_prefix('^').unwrap_or(pattern);
    match body.strip_suffix('$') {
        Some(rest) if rest.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 0 => rest,
        _ => body,
    }
}

/// The literal pieces between the groups of a simple pattern, as Tornado's
/// `_find_groups` finds them: `None` unless every `(` opens a capturing
/// group (none nested, no `(?:`), or if a literal piece has an escape that
/// is not a literal character (`\d`). Other regex syntax in a piece is kept
/// as it is written (`/feed.xml`, `/story/([0-9]+)/?`), as in Tornado.
fn reverse_template(body: &str, groups: usize) -> Option<Vec<String>> {
    if body.matches('(').count() != groups {
        return None;
    }
    let mut pieces = Vec::new();
    for (i, fragment) in body.split('(').enumerate() {
        let literal = match fragment.find(')') {
            // Before the first group: all literal (an escaped `\)` too).
            _ if i == 0 => fragment,
            Some(close) => fragment.get(close + 1..)?,
            // A group whose `)` comes after another `(`: nested.
            None => return None,
        };
        pieces.push(re_unescape(literal)?);
    }
    Some(pieces)
}

/// Undoes regex escaping (`\.` → `.`); `None` for an escape of a letter or
/// digit (`\d`), which stands for no one character.
///
/// # Tornado
/// `tornado.util.re_unescape`.
fn re_unescape(literal: &str) -> Option<String> {
    let mut out = String::with_capacity(literal.len());
    let mut chars = literal.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let escaped = chars.next()?;
        if escaped.is_ascii_alphanumeric() {
            return None;
        }
        out.push(escaped);
    }
    Some(out)
}

/// Matches the request's host name (lower-cased, without port).
///
/// # Tornado
/// `tornado.routing.HostMatches(host_pattern)`.
#[derive(Debug, Clone)]
pub struct HostMatches(Regex);

impl HostMatches {
    /// Compiles a host pattern (anchored at both ends).
    ///
    /// # Tornado
    /// `HostMatches(host_pattern)`.
    pub fn new(pattern: &str) -> Result<HostMatches, RouteError> {
        let body = strip_anchors(pattern);
        Regex::new(&format!("^(?:{body})$"))
            .map(HostMatches)
            .map_err(|err| RouteError {
                pattern: pattern.to_owned(),
                message: err.to_string(),
            })
    }

    /// True if `host_name` matches.
    ///
    /// # Tornado
    /// `HostMatches.match(request)`, given the request's `host_name`.
    pub fn matches(&self, host_name: &str) -> bool {
        self.0.is_match(host_name)
    }
}

/// The order literal paths are kept in: by length, then bytes. A lookup
/// compares lengths first, so most probes end without reading a byte.
fn by_length(path: &str, wanted: &str) -> std::cmp::Ordering {
    path.len()
        .cmp(&wanted.len())
        .then_with(|| path.as_bytes().cmp(wanted.as_bytes()))
}

/// An ordered list of path rules; the first that matches wins.
///
/// Literal rules are found by a binary search (cheaper than hashing a short
/// path); only regex rules listed before the literal one (usually none) are
/// tried first.
///
/// # Tornado
/// The `rules` list of `tornado.routing.RuleRouter`, searched in order as
/// `RuleRouter.find_handler` does.
#[derive(Debug, Clone)]
pub struct RuleTable<T> {
    rules: Vec<(PathMatches, T)>,
    /// The first literal rule for each path, sorted by [`by_length`].
    literals: Vec<(String, usize)>,
    /// Indexes of the regex rules, in order.
    regexes: Vec<usize>,
}

impl<T> Default for RuleTable<T> {
    fn default() -> Self {
        RuleTable {
            rules: Vec::new(),
            literals: Vec::new(),
            regexes: Vec::new(),
        }
    }
}

impl<T> RuleTable<T> {
    /// Appends a rule.
    ///
    /// # Tornado
    /// `RuleRouter.add_rules([Rule(matcher, target)])`.
    pub fn push(&mut self, matcher: PathMatches, target: T) {
        let index = self.rules.len();
        match &matcher {
            PathMatches::Literal(path) => {
                // A later rule for the same path is never reached.
                if let Err(at) = self.literals.binary_search_by(|(p, _)| by_length(p, path)) {
                    self.literals.insert(at, (path.clone(), index));
                }
            }
            PathMatches::Regex { .. } => self.regexes.push(index),
        }
        self.rules.push((matcher, target));
    }

    /// The first rule matching `path`, with its arguments.
    ///
    /// # Tornado
    /// `RuleRouter.find_handler(request)`, for path rules.
    pub fn find(&self, path: &str) -> Option<(&T, PathArgs)> {
        let literal = self
            .literals
            .binary_search_by(|(p, _)| by_length(p, path))
            .ok()
            .and_then(|at| self.literals.get(at))
            .map(|&(_, index)| index);
        for &index in &self.regexes {
            if literal.is_some_and(|l| l < index) {
                break;
            }
            let (matcher, target) = &self.rules[index];
            if let Some(args) = matcher.match_path(path) {
                return Some((target, args));
            }
        }
        literal.map(|index| (&self.rules[index].1, PathArgs::default()))
    }

    /// Every rule, in order.
    ///
    /// # Tornado
    /// `RuleRouter.rules`.
    pub fn rules(&self) -> impl Iterator<Item = &(PathMatches, T)> {
        self.rules.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(patterns: &[&str]) -> RuleTable<usize> {
        let mut table = RuleTable::default();
        for (i, p) in patterns.iter().enumerate() {
            table.push(PathMatches::new(p).unwrap(), i);
        }
        table
    }

    #[test]
    fn patterns_are_anchored_and_first_match_wins() {
        let t = table(&[r"/user/([0-9]+)", "/about", r"/(.*)"]);
        let (i, args) = t.find("/user/42").unwrap();
        assert_eq!((*i, args.args), (0, vec![b"42".to_vec()]));
        assert_eq!(*t.find("/about").unwrap().0, 1);
        assert_eq!(*t.find("/user/42x").unwrap().0, 2, "anchored at the end");
        assert!(table(&["/a"]).find("/a/b").is_none());
        let twice = table(&["/b", "/about", "/about", "/a"]);
        assert_eq!(*twice.find("/about").unwrap().0, 1, "the first of two");
        assert_eq!(*twice.find("/a").unwrap().0, 3);
        assert!(twice.find("/abouT").is_none());
    }

    #[test]
    fn many_literal_routes_are_each_found_by_their_own_path() {
        let paths: Vec<String> = (0..300).map(|i| format!("/api/v1/item{i}/x")).collect();
        let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
        let t = table(&refs);
        for (i, path) in paths.iter().enumerate() {
            assert_eq!(t.find(path).map(|(i, _)| *i), Some(i), "{path}");
        }
        assert!(t.find("/api/v1/item300/x").is_none());
        assert!(t.find("/api/v1/item1/x/").is_none());
        assert!(t.find("").is_none());
    }

    #[test]
    fn a_regex_before_a_literal_takes_precedence() {
        let t = table(&[r"/a.*", "/about"]);
        assert_eq!(*t.find("/about").unwrap().0, 0);
    }

    #[test]
    fn path_args_are_unescaped_after_matching_and_plus_stays() {
        let t = table(&[r"/f/([^/]+)", r"/n/(?P<name>[^/]+)"]);
        assert_eq!(
            t.find("/f/a%20b+c").unwrap().1.args,
            vec![b"a b+c".to_vec()]
        );
        assert!(t.find("/f/a%2Fb").is_some(), "matched while still escaped");
        assert_eq!(
            t.find("/n/x%C3%A9").unwrap().1.kwargs["name"],
            "xé".as_bytes()
        );
    }

    #[test]
    fn reverse_fills_the_groups() {
        let m = PathMatches::new(r"/user/([0-9]+)/post/([a-z]+)\.html$").unwrap();
        assert_eq!(
            m.reverse(&["42", "a b"]).as_deref(),
            Ok("/user/42/post/a%20b.html")
        );
        assert_eq!(
            m.reverse(&["42"]),
            Err(ReverseError::ArgumentCount {
                expected: 2,
                given: 1
            })
        );
        // Python's PathMatches(pattern).reverse(*args) on the same patterns.
        for (pattern, args, reversed) in [
            (r"/\d+/(x)", &["1"][..], None),
            (r"/(?:a)(b)", &["1"], None),
            (r"/feed.xml", &[], Some("/feed.xml")),
            (r"/v1.0/item/(\d+)", &["7"], Some("/v1.0/item/7")),
            (r"/story/([0-9]+)/?", &["42"], Some("/story/42/?")),
            (
                r"/files/(.*)",
                &["dir/x y.txt"],
                Some("/files/dir/x%20y.txt"),
            ),
            (r"/x\.y/(.+)", &["q"], Some("/x.y/q")),
            (r"/a|b/(x)", &["1"], Some("/a|b/1")),
            (r"/a\)b/(x)", &["1"], Some("/a)b/1")),
        ] {
            let m = PathMatches::new(pattern).unwrap();
            assert_eq!(m.reverse(args).ok().as_deref(), reversed, "{pattern}");
        }
    }

    #[test]
    fn reverse_errors_say_what_is_wrong() {
        let complex = PathMatches::new(r"/r/\d+/(x)").unwrap().reverse(&["1"]);
        assert_eq!(
            complex.unwrap_err().to_string(),
            r"cannot reverse url regex ^(?:/r/\d+/(x))$"
        );
        let literal = PathMatches::new("/home").unwrap().reverse(&["1"]);
        assert_eq!(
            literal.unwrap_err().to_string(),
            "required number of arguments not found: 0 expected, 1 given"
        );
    }

    #[test]
    fn only_an_unescaped_dollar_is_an_anchor() {
        // Python's re on the same patterns and paths, except that Tornado
        // appends no `$` to `/cost\$` and so matches `/cost$x` too.
        for (pattern, path, matches) in [
            (r"/cost\$", "/cost$", true),
            (r"/cost\$", "/cost", false),
            (r"/cost\$", "/cost$x", false),
            (r"/ab\\$", "/ab\\", true),
            (r"/ab\\\$", "/ab\\$", true),
            (r"/ab\\\$", "/ab\\", false),
            (r"^/end$", "/end", true),
        ] {
            let m = PathMatches::new(pattern).unwrap();
            assert_eq!(m.match_path(path).is_some(), matches, "{pattern} {path}");
        }
        let reverse =
            |pattern: &str, args: &[&str]| PathMatches::new(pattern).unwrap().reverse(args);
        assert_eq!(reverse(r"/cost\$", &[]).as_deref(), Ok("/cost$"));
        assert_eq!(reverse(r"/ab\\$", &[]).as_deref(), Ok("/ab\\"));
        assert_eq!(
            reverse(r"/price\$/(\d+)$", &["7"]).as_deref(),
            Ok("/price$/7")
        );
        let host = HostMatches::new(r"pay\$\.example").unwrap();
        assert!(host.matches("pay$.example"));
    }

    #[test]
    fn named_and_positional_groups_do_not_mix() {
        let err = PathMatches::new(r"/mixed/(?P<x>[a-z]+)/(\d+)").unwrap_err();
        assert_eq!(err.pattern, r"/mixed/(?P<x>[a-z]+)/(\d+)");
        assert!(err.message.contains("all named or all positional"));
        // Non-capturing groups do not count, as in Python.
        assert!(PathMatches::new(r"/(?P<x>[a-z]+)(?:/(?P<y>\d+))?").is_ok());
        assert!(PathMatches::new(r"/([a-z]+)(?:/x)?").is_ok());
    }

    #[test]
    fn unsupported_syntax_names_the_pattern() {
        let err = PathMatches::new(r"/(?=x)y").unwrap_err();
        assert_eq!(err.pattern, r"/(?=x)y");
        assert!(err.to_string().contains("(?=x)"));
    }

    #[test]
    fn regexes_skip_paths_without_their_literal_prefix() {
        for (pattern, prefix) in [
            ("/static/(.*)", "/static/"),
            ("/(favicon\\.ico)", "/"),
            ("/a/?", "/a"),
            ("/ab*c", "/a"),
            ("/x{2}y", "/"),
            ("/a|/b", ""),
            ("(?i)/ABC", ""),
            ("[/]x", ""),
        ] {
            match PathMatches::new(pattern).unwrap() {
                PathMatches::Regex { prefix: found, .. } => assert_eq!(found, prefix, "{pattern}"),
                PathMatches::Literal(_) => panic!("{pattern} is a regex"),
            }
        }
        let matches = |pattern: &str, path: &str| {
            PathMatches::new(pattern)
                .unwrap()
                .match_path(path)
                .is_some()
        };
        assert!(matches("/a/?", "/a") && matches("/a/?", "/a/"));
        assert!(matches("/ab*c", "/ac") && matches("/ab*c", "/abbc"));
        assert!(matches("/x{2}y", "/xxy") && !matches("/x{2}y", "/xy"));
        assert!(matches("/a|/b", "/b") && matches("(?i)/ABC", "/abc"));
        assert!(matches("/static/(.*)", "/static/a.css") && !matches("/static/(.*)", "/plaintext"));
    }

    proptest::proptest! {
        /// The literal-prefix shortcut never changes which paths match:
        /// patterns built from plain text, quantifiers, groups, classes,
        /// alternatives and flags, against paths from the same letters.
        #[test]
        fn the_prefix_shortcut_agrees_with_the_regex(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    "/", "a", "b", "-", "%", "?", "*", "+", "{2}", "{0,1}", "(a)", "(/b)?",
                    "[ab]", ".", "|", "(?i)", "\\.", "(.*)", "a?", "/?",
                ]),
                1..8,
            ),
            path in "[/abAB.%-]{0,8}",
        ) {
            let pattern: String = pieces.concat();
            if let Ok(compiled @ PathMatches::Regex { .. }) = PathMatches::new(&pattern) {
                let PathMatches::Regex { regex, .. } = &compiled else { unreachable!() };
                proptest::prop_assert_eq!(
                    compiled.match_path(&path).is_some(),
                    regex.is_match(&path),
                    "pattern {:?} path {:?}", pattern, path
                );
            }
        }
    }

    #[test]
    fn hosts_are_anchored() {
        let host = HostMatches::new(r"www\.example\.com").unwrap();
        assert!(host.matches("www.example.com"));
        assert!(!host.matches("www.example.com.evil"));
    }
}
