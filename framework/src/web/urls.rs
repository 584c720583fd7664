//! URLs as Python's `urlsplit` and a browser read them: the helpers behind
//! Tornado's redirect checks (`_normalize_url_like_browser`,
//! `_is_protocol_relative`, `_scheme_and_netloc`), the login redirect's
//! `next` and the cross-origin check's `Origin`.

/// `url` as a browser cleans it before parsing: spaces and control
/// characters around it dropped, tabs and newlines in it dropped, `\`
/// read as `/` (the WHATWG URL parser's rules for http and https).
///
/// # Tornado
/// `web._normalize_url_like_browser(url)`.
pub(crate) fn normalize_url_like_browser(url: &str) -> String {
    url.trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .map(|c| if c == '\\' { '/' } else { c })
        .collect()
}

/// Whether a browser would read `url` as `//host/...`: a redirect to it,
/// built from a request, would be an open redirect.
///
/// # Tornado
/// `web._is_protocol_relative(url)`.
pub(crate) fn is_protocol_relative(url: &str) -> bool {
    normalize_url_like_browser(url).starts_with("//")
}

/// The scheme (as written) and the netloc (user info, host and port) of
/// `url` as Python's `urlsplit` finds them: a scheme is a letter, then
/// letters, digits, `+`, `-` or `.`, before a `:`; a netloc follows `//`
/// up to the next `/`, `?` or `#`. Empty when absent.
pub(crate) fn urlsplit_scheme_netloc(url: &str) -> (&str, &str) {
    let (scheme, rest) = match url.split_once(':') {
        Some((scheme, rest))
            if scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) =>
        {
            (scheme, rest)
        }
        _ => ("", url),
    };
    let netloc = rest
        .strip_prefix("//")
        .and_then(|authority| authority.split(['/', '?', '#']).next())
        .unwrap_or_default();
    (scheme, netloc)
}

/// The scheme and netloc a browser would find in `url`, lower-cased; both
/// empty for a relative URL, `None` for a netloc with unbalanced IPv6
/// brackets (Python's `ValueError`).
///
/// # Tornado
/// `web._scheme_and_netloc(url)`.
pub(crate) fn scheme_and_netloc(url: &str) -> Option<(String, String)> {
    let url = normalize_url_like_browser(url);
    // Browsers skip any number of slashes before a host.
    let url = match url.strip_prefix("//") {
        Some(rest) => format!("//{}", rest.trim_start_matches('/')),
        None => url,
    };
    let (scheme, netloc) = urlsplit_scheme_netloc(&url);
    if netloc.contains('[') != netloc.contains(']') {
        return None;
    }
    Some((scheme.to_ascii_lowercase(), netloc.to_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_relative_urls_are_seen_as_a_browser_sees_them() {
        assert!(is_protocol_relative("//evil.example/"));
        assert!(is_protocol_relative(" \t/\\evil.example/"));
        assert!(is_protocol_relative("/\n/evil"));
        assert!(!is_protocol_relative("/static/dir"));
    }

    #[test]
    fn urlsplit_finds_schemes_and_netlocs_as_python() {
        for (url, scheme, netloc) in [
            ("http://a/login", "http", "a"),
            ("https://Example.com:8443", "https", "Example.com:8443"),
            ("http://a.b/path?q#f", "http", "a.b"),
            ("svn+ssh://x", "svn+ssh", "x"),
            ("a.b-c:rest", "a.b-c", ""),
            ("login:x", "login", ""),
            ("//host/login", "", "host"),
            ("/login", "", ""),
            ("/a:b", "", ""),
            ("1http://a", "", ""),
            (":x", "", ""),
            ("ht tp://a", "", ""),
            ("null", "", ""),
            ("", "", ""),
        ] {
            assert_eq!(urlsplit_scheme_netloc(url), (scheme, netloc), "{url}");
        }
    }

    #[test]
    fn schemes_and_netlocs_are_what_a_browser_sees() {
        let split = |u: &str| scheme_and_netloc(u).map(|(s, n)| format!("{s}|{n}"));
        assert_eq!(split("/a/b").as_deref(), Some("|"));
        assert_eq!(split("//evil.com/b").as_deref(), Some("|evil.com"));
        assert_eq!(split("///evil.com/b").as_deref(), Some("|evil.com"));
        assert_eq!(split("/\\evil.com").as_deref(), Some("|evil.com"));
        assert_eq!(
            split("HTTPS://User@Host:1/x").as_deref(),
            Some("https|user@host:1")
        );
        assert_eq!(split("mailto:x").as_deref(), Some("mailto|"));
        assert_eq!(split("1a:b").as_deref(), Some("|"));
        assert_eq!(split("//[::1/x"), None);
    }
}
