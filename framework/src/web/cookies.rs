//! Cookies: parsing the request's `Cookie` header and formatting `Set-Cookie`
//! exactly as Python's `http.cookies` does for Tornado.

use std::fmt::Write as _;
use std::time::SystemTime;

use crate::httputil::format_timestamp;

/// Options for [`Handler::set_cookie`](super::Handler::set_cookie).
///
/// # Tornado
/// The keyword arguments of `RequestHandler.set_cookie(name, value,
/// domain=None, expires=None, path="/", expires_days=None, *, max_age=None,
/// httponly=False, secure=False, samesite=None)`.
#[derive(Debug, Clone)]
pub struct CookieOptions {
    /// `Domain=`.
    pub domain: Option<String>,
    /// `expires=` at this time.
    pub expires: Option<SystemTime>,
    /// `expires=` this many days from now (ignored when `expires` is set).
    pub expires_days: Option<f64>,
    /// `Path=`; `"/"` by default.
    pub path: Option<String>,
    /// `Max-Age=` in seconds.
    pub max_age: Option<u64>,
    /// `HttpOnly`.
    pub httponly: bool,
    /// `Secure`.
    pub secure: bool,
    /// `SameSite=` (`"Lax"`, `"Strict"` or `"None"`).
    pub samesite: Option<String>,
}

impl Default for CookieOptions {
    fn default() -> Self {
        CookieOptions {
            domain: None,
            expires: None,
            expires_days: None,
            path: Some("/".to_owned()),
            max_age: None,
            httponly: false,
            secure: false,
            samesite: None,
        }
    }
}

/// True if `name` can be set as a cookie: what Python's `SimpleCookie`
/// takes as a key (letters, digits and ``!#$%&'*+-.^_`|~:``), and not one of
/// `Morsel`'s attribute names, which it refuses as reserved. `a=b` as a
/// name would read back as cookie `a`.
pub(crate) fn is_legal_cookie_name(name: &str) -> bool {
    const RESERVED: [&str; 9] = [
        "expires", "path", "comment", "domain", "max-age", "secure", "httponly", "version",
        "samesite",
    ];
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:".contains(&b))
        && !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name))
}

/// True if `value` is unusable in a cookie attribute: control characters,
/// space, `;` or DEL (Tornado's check).
pub(crate) fn is_unsafe_attribute(value: &str) -> bool {
    value.bytes().any(|b| b <= 0x20 || b == b';' || b == 0x7f)
}

/// The `Set-Cookie` value, attributes in `http.cookies.Morsel`'s order
/// (sorted by key: Domain, expires, HttpOnly, Max-Age, Path, SameSite, Secure).
pub(crate) fn format_set_cookie(name: &str, value: &str, options: &CookieOptions) -> String {
    let mut out = format!("{name}={}", quote(value));
    if let Some(domain) = options.domain.as_deref().filter(|d| !d.is_empty()) {
        let _ = write!(out, "; Domain={domain}");
    }
    // Days may be negative: a date in the past, which deletes the cookie.
    let expires = options.expires.or_else(|| {
        let days = options.expires_days?;
        let offset = std::time::Duration::try_from_secs_f64(days.abs() * 86_400.0).ok()?;
        if days < 0.0 {
            SystemTime::now().checked_sub(offset)
        } else {
            SystemTime::now().checked_add(offset)
        }
    });
    if let Some(expires) = expires {
        let _ = write!(out, "; expires={}", format_timestamp(expires));
    }
    if options.httponly {
        out.push_str("; HttpOnly");
    }
    if let Some(max_age) = options.max_age.filter(|age| *age > 0) {
        let _ = write!(out, "; Max-Age={max_age}");
    }
    if let Some(path) = options.path.as_deref().filter(|p| !p.is_empty()) {
        let _ = write!(out, "; Path={path}");
    }
    if let Some(samesite) = options.samesite.as_deref().filter(|s| !s.is_empty()) {
        let _ = write!(out, "; SameSite={samesite}");
    }
    if options.secure {
        out.push_str("; Secure");
    }
    out
}

/// Python's `http.cookies._quote`: a non-empty value of legal characters
/// as it is; anything else in double quotes, with `"` and `\` escaped and
/// every other character outside `_UnescapedChars` (legal characters plus
/// ` ()/<=>?@[]{}`) below 256 as an octal escape (`,` is `\054`).
fn quote(value: &str) -> String {
    let legal = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~:".contains(c);
    if !value.is_empty() && value.chars().all(legal) {
        return value.to_owned();
    }
    let unescaped = |c: char| legal(c) || " ()/<=>?@[]{}".contains(c);
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if unescaped(c) || u32::from(c) >= 256 => out.push(c),
            c => {
                let _ = write!(out, "\\{:03o}", u32::from(c));
            }
        }
    }
    out.push('"');
    out
}

/// Parses a `Cookie` header into `(name, value)` pairs, as Tornado's
/// `httputil.parse_cookie` does (lenient, as browsers send it; quoted values
/// unquoted).
pub(crate) fn parse_cookie(header: &str) -> Vec<(String, String)> {
    let mut cookies = Vec::new();
    for chunk in header.split(';') {
        let (name, value) = match chunk.split_once('=') {
            Some((name, value)) => (name.trim(), value.trim()),
            // Mimic browsers: a chunk without "=" is a value with an empty name.
            None => ("", chunk.trim()),
        };
        if !name.is_empty() || !value.is_empty() {
            cookies.push((name.to_owned(), unquote(value)));
        }
    }
    cookies
}

/// Python's `http.cookies._unquote`: `\ooo` (first digit 0-3) is the
/// character with that octal code, U+0000 to U+00FF (what [`quote`] writes
/// for them); `\x` is `x`.
fn unquote(value: &str) -> String {
    let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return value.to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut rest = inner;
    while let Some(at) = rest.find('\\') {
        out.push_str(rest.get(..at).unwrap_or_default());
        let escaped = rest.get(at + 1..).unwrap_or_default();
        let octal = escaped
            .as_bytes()
            .get(..3)
            .filter(|digits| matches!(digits, [b'0'..=b'3', b'0'..=b'7', b'0'..=b'7']));
        let mut chars = escaped.chars();
        rest = match (octal, chars.next()) {
            (Some(digits), _) => {
                let code = digits.iter().fold(0u8, |acc, d| acc * 8 + (d - b'0'));
                out.push(char::from(code));
                escaped.get(3..).unwrap_or_default()
            }
            (None, Some(c)) => {
                out.push(c);
                chars.as_str()
            }
            // A lone backslash at the end stays.
            (None, None) => {
                out.push('\\');
                ""
            }
        };
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn set_cookie_matches_python_morsel_output() {
        // Strings printed by Python 3.11's http.cookies for the same options.
        let options = CookieOptions {
            domain: Some("x.com".into()),
            expires: Some(UNIX_EPOCH + Duration::from_secs(1_795_622_622)),
            max_age: Some(10),
            httponly: true,
            secure: true,
            samesite: Some("Lax".into()),
            ..CookieOptions::default()
        };
        assert_eq!(
            format_set_cookie("a", "b c", &options),
            "a=\"b c\"; Domain=x.com; expires=Wed, 25 Nov 2026 16:03:42 GMT; HttpOnly; Max-Age=10; Path=/; SameSite=Lax; Secure"
        );
        assert_eq!(
            format_set_cookie("q", "plain", &CookieOptions::default()),
            "q=plain; Path=/"
        );
        assert_eq!(
            format_set_cookie("z", "\"", &CookieOptions::default()),
            "z=\"\\\"\"; Path=/"
        );
    }

    #[test]
    fn negative_expires_days_is_a_date_in_the_past() {
        // Tornado's `set_cookie(name, value, expires_days=-1)`: the usual way
        // to delete a cookie by hand.
        let options = CookieOptions {
            expires_days: Some(-1.0),
            ..CookieOptions::default()
        };
        let header = format_set_cookie("gone", "x", &options);
        let date = header
            .split("; ")
            .find_map(|attribute| attribute.strip_prefix("expires="))
            .and_then(crate::httputil::parse_http_date);
        let a_day_ago = SystemTime::now() - Duration::from_secs(86_400);
        assert!(
            date.is_some_and(|date| date <= a_day_ago && date > a_day_ago - Duration::from_secs(60)),
            "{header}"
        );
    }

    #[test]
    fn parses_cookie_headers_like_tornado() {
        assert_eq!(
            parse_cookie("a=1; b=\"x y\";c; d=\"\\101\""),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y".into()),
                ("".into(), "c".into()),
                ("d".into(), "A".into()),
            ]
        );
    }

    #[test]
    fn unquote_is_pythons() {
        // Python 3's http.cookies._unquote on the same strings.
        for (quoted, plain) in [
            ("\"\\351t\\351\"", "\u{e9}t\u{e9}"),
            ("\"\\377\\000\"", "\u{ff}\u{0}"),
            ("\"\\400\"", "400"),
            ("\"\\0\"", "0"),
            ("\"\\x\\\\\\\"\"", "x\\\""),
            ("\"\\\u{e9}\"", "\u{e9}"),
            ("\"\u{20ac}\\\"", "\u{20ac}\\"),
            ("\"", "\""),
            ("unquoted\\101", "unquoted\\101"),
        ] {
            assert_eq!(unquote(quoted), plain, "{quoted:?}");
        }
    }

    #[test]
    fn quoted_values_come_back_as_set() {
        for value in [
            "\u{e9}t\u{e9}",
            "a\"b\\c",
            "x;y, z",
            "\u{7f}\u{1}\u{ff}\u{100}\u{20ac}",
            "",
        ] {
            assert_eq!(unquote(&quote(value)), value, "{:?}", quote(value));
        }
    }
}
