//! `RedirectHandler`: a route that redirects, with the path's groups
//! formatted into the target and the query string carried over.

use std::collections::HashMap;
use std::sync::Arc;

use super::urls::scheme_and_netloc;
use super::{Error, HTTPError, Handler, RequestHandler, Result};
use crate::escape::url_escape;
use crate::httputil::url_unescape;

/// Redirects `GET` requests to `url`, permanently (301) unless told
/// otherwise.
///
/// `url` is a Python format string: `{0}`, `{1}` (or `{}` in turn) are the
/// route's groups, `{name}` its named groups, `{{` and `}}` braces. The
/// request's query arguments are appended to the target's. A group cannot
/// change the target's scheme or host: a request that would is a 400 (as a
/// target with a control character is).
///
/// ```
/// use tornado::web::{url, Application, RedirectHandler};
///
/// let app = Application::new([
///     url(r"/oldpath", || RedirectHandler::new("/newpath")),
///     // /a/b/c → /b/a/c
///     url(r"/(.*?)/(.*?)/(.*)", || RedirectHandler::new("/{1}/{0}/{2}").permanent(false)),
/// ]);
/// # drop(app);
/// ```
///
/// # Tornado
/// `tornado.web.RedirectHandler` with `initialize(url, permanent=True)`.
/// Replacement fields take no format spec or conversion (`{0:>4}`,
/// `{0!r}`) and no attribute or index (`{0.x}`): such a template is a 500.
#[derive(Debug, Clone)]
pub struct RedirectHandler {
    url: Arc<str>,
    permanent: bool,
}

impl RedirectHandler {
    /// Redirects to `url` (a format string), with 301.
    ///
    /// # Tornado
    /// `RedirectHandler` with `dict(url=url)`.
    pub fn new(url: impl Into<String>) -> RedirectHandler {
        RedirectHandler {
            url: Arc::from(url.into()),
            permanent: true,
        }
    }

    /// 301 if `permanent`, else 302.
    ///
    /// # Tornado
    /// `dict(url=url, permanent=False)`.
    pub fn permanent(mut self, permanent: bool) -> RedirectHandler {
        self.permanent = permanent;
        self
    }
}

impl RequestHandler for RedirectHandler {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        let formatted = format_url(&self.url, cx.path_args(), cx.path_kwargs());
        let Ok(Formatted {
            mut url,
            prefix,
            substituted,
        }) = formatted
        else {
            let message = formatted.err().unwrap_or_default();
            return Err(Error::Other(
                format!("RedirectHandler url {:?}: {message}", self.url).into(),
            ));
        };
        // Added before the check: re-encoding the query can change the rest.
        let query = query_pairs(&cx.request.query);
        if !query.is_empty() {
            url = url_concat(&url, &query);
        }
        let unchanged = match (scheme_and_netloc(&prefix), scheme_and_netloc(&url)) {
            (Some(template), Some(target)) => {
                let (scheme, netloc) = &template;
                // A host that would come from a group alone (`https:///{0}`).
                let host_from_group =
                    substituted && matches!(scheme.as_str(), "http" | "https") && netloc.is_empty();
                template == target && !host_from_group
            }
            _ => false,
        };
        if !unchanged {
            let err =
                HTTPError::new(400).log_message("Redirect URL cannot change the scheme or netloc");
            return Err(err.into());
        }
        // A 400 rather than set_header's 500.
        if url
            .chars()
            .any(|c| matches!(c, '\x00'..='\x08' | '\x0a'..='\x1f' | '\x7f'))
        {
            return Err(HTTPError::new(400)
                .log_message("Redirect URL contains invalid characters")
                .into());
        }
        cx.redirect(&url, self.permanent)
    }
}

/// A formatted redirect target.
struct Formatted {
    url: String,
    /// The template's text before its first replacement field: where the
    /// scheme and host must come from.
    prefix: String,
    substituted: bool,
}

/// Python's `template.format(*args, **kwargs)` for plain fields (`{}`,
/// `{0}`, `{name}`) and `{{`/`}}`; `Err` with Python's complaint otherwise.
fn format_url(
    template: &str,
    args: &[String],
    kwargs: &HashMap<String, String>,
) -> std::result::Result<Formatted, &'static str> {
    let mut out = Formatted {
        url: String::with_capacity(template.len()),
        prefix: String::new(),
        substituted: false,
    };
    // Python's `str.format` numbering: automatic (`{}`) or manual, not both.
    let (mut next_auto, mut manual) = (0usize, false);
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.url.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.url.push('}');
            }
            '}' => return Err("Single '}' encountered in format string"),
            '{' => {
                let mut field = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some('{' | '!' | ':' | '.' | '[') => {
                            return Err("unsupported replacement field")
                        }
                        Some(c) => field.push(c),
                        None => return Err("expected '}' before end of string"),
                    }
                }
                if !out.substituted {
                    out.prefix.clone_from(&out.url);
                    out.substituted = true;
                }
                let value = if field.is_empty() {
                    if manual {
                        return Err("cannot switch from manual field specification to automatic field numbering");
                    }
                    next_auto += 1;
                    args.get(next_auto - 1)
                        .ok_or("Replacement index out of range")?
                } else if field.bytes().all(|b| b.is_ascii_digit()) {
                    if next_auto > 0 {
                        return Err("cannot switch from automatic field numbering to manual field specification");
                    }
                    manual = true;
                    let index: usize = field
                        .parse()
                        .map_err(|_| "Too many decimal digits in format string")?;
                    args.get(index).ok_or("Replacement index out of range")?
                } else {
                    kwargs.get(&field).ok_or("no such named group")?
                };
                out.url.push_str(value);
            }
            c => out.url.push(c),
        }
    }
    if !out.substituted {
        out.prefix.clone_from(&out.url);
    }
    Ok(out)
}

/// The query's arguments as Tornado's `query_arguments` holds them, each
/// name with all its values, names in the order first seen (blank values
/// kept), percent-decoded.
///
/// # Tornado
/// `qs_to_qsl(parse_qs_bytes(query, keep_blank_values=True))`.
fn query_pairs(query: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut names: Vec<(Vec<u8>, Vec<Vec<u8>>)> = Vec::new();
    for field in query.split('&').filter(|f| !f.is_empty()) {
        let (name, value) = field.split_once('=').unwrap_or((field, ""));
        let name = url_unescape(name.as_bytes(), true).into_owned();
        let value = url_unescape(value.as_bytes(), true).into_owned();
        match names.iter_mut().find(|(n, _)| *n == name) {
            Some((_, values)) => values.push(value),
            None => names.push((name, vec![value])),
        }
    }
    (names.into_iter())
        .flat_map(|(name, values)| values.into_iter().map(move |v| (name.clone(), v)))
        .collect()
}

/// `url` with `args` appended to its query (the query it has is decoded
/// and everything encoded again, as `urlencode` does), before any `#`.
///
/// # Tornado
/// `httputil.url_concat(url, args)`. Names are encoded as Tornado encodes
/// them: its Latin-1 text, in UTF-8.
fn url_concat(url: &str, args: &[(Vec<u8>, Vec<u8>)]) -> String {
    let (rest, fragment) = url.split_once('#').unwrap_or((url, ""));
    let (base, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut pairs: Vec<String> = Vec::new();
    // Python's `parse_qsl(query, keep_blank_values=True)`: text, so bytes
    // that are not UTF-8 become U+FFFD.
    for field in query.split('&').filter(|f| !f.is_empty()) {
        let (name, value) = field.split_once('=').unwrap_or((field, ""));
        let decode =
            |s: &str| String::from_utf8_lossy(&url_unescape(s.as_bytes(), true)).into_owned();
        let (name, value) = (decode(name), decode(value));
        pairs.push(format!(
            "{}={}",
            url_escape(name.as_bytes(), true),
            url_escape(value.as_bytes(), true)
        ));
    }
    for (name, value) in args {
        let latin1: String = name.iter().map(|&b| char::from(b)).collect();
        pairs.push(format!(
            "{}={}",
            url_escape(latin1.as_bytes(), true),
            url_escape(value, true)
        ));
    }
    let mut out = format!("{base}?{}", pairs.join("&"));
    if !fragment.is_empty() {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    #[test]
    fn urls_format_as_python_str_format() {
        let kwargs = HashMap::from([("name".to_owned(), "x".to_owned())]);
        let format = |t: &str| format_url(t, &args(&["a", "b", "c"]), &kwargs).map(|f| f.url);
        assert_eq!(format("/{1}/{0}/{2}").as_deref(), Ok("/b/a/c"));
        assert_eq!(format("/{}/{}").as_deref(), Ok("/a/b"));
        assert_eq!(format("/{name}/{{}}").as_deref(), Ok("/x/{}"));
        assert!(format("/{3}").is_err());
        assert!(format("/{}/{0}").is_err());
        assert!(format("/{0:>4}").is_err());
        assert!(format("/}").is_err());
        assert!(format("/{0").is_err());
        assert!(format("/{nope}").is_err());
        let f = format_url("https://h/{0}/b", &args(&["a"]), &kwargs).unwrap();
        assert_eq!((f.prefix.as_str(), f.substituted), ("https://h/", true));
    }

    #[test]
    fn queries_are_carried_over_as_tornado_encodes_them() {
        let query = query_pairs("b=2&a=1&b=3&flag&x=y+z%2F&&");
        assert_eq!(
            url_concat("/new#top", &query),
            "/new?b=2&b=3&a=1&flag=&x=y+z%2F#top"
        );
        assert_eq!(
            url_concat("/new?k=%20v", &query_pairs("a=1")),
            "/new?k=+v&a=1"
        );
        assert_eq!(
            url_concat("/n", &query_pairs("%C3%A9=%C3%A9")),
            "/n?%C3%83%C2%A9=%C3%A9"
        );
    }
}
