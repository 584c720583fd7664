//! The little URL handling the client needs: split an absolute `http(s)` URL
//! (Python's `urlsplit` plus `split_host_and_port`) and resolve a redirect's
//! `Location` against it (`urljoin`, RFC 3986 §5.2).

use std::fmt::Write as _;

/// An absolute URL, split for a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Url {
    /// `http` or `https`, lower-cased.
    pub(crate) scheme: String,
    /// `user:password` before an `@`, still percent-encoded.
    pub(crate) userinfo: Option<String>,
    /// The host, without the brackets of an IPv6 literal.
    pub(crate) host: String,
    /// The port, explicit or the scheme's default.
    pub(crate) port: u16,
    /// `host[:port]` as written (brackets kept): the `Host` header.
    pub(crate) netloc: String,
    /// Path and query, starting with `/`, fragment removed: the request target.
    pub(crate) target: String,
}

impl Url {
    /// Splits `url`, which must be absolute with an `http` or `https` scheme.
    pub(crate) fn parse(url: &str) -> Result<Url, String> {
        if url.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(format!(
                "URL contains whitespace or a control character: {url:?}"
            ));
        }
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("not an absolute URL: {url:?}"))?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return Err(format!("Unsupported url scheme: {url}")),
        };
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo.to_owned()), hostport),
            None => (None, authority),
        };
        let (host, port) = split_host_and_port(hostport)
            .ok_or_else(|| format!("invalid host or port in URL: {url:?}"))?;
        let tail = tail.split('#').next().unwrap_or_default();
        let mut target = String::with_capacity(tail.len() + 1);
        if !tail.starts_with('/') {
            target.push('/');
        }
        target.push_str(tail);
        Ok(Url {
            scheme,
            userinfo,
            host: host.to_owned(),
            port: port.unwrap_or(default_port),
            netloc: hostport.to_owned(),
            target,
        })
    }

    /// The URL again, without userinfo and fragment.
    pub(crate) fn origin(&self) -> (&str, &str, u16) {
        (&self.scheme, &self.host, self.port)
    }
}

/// `host[:port]` → host (IPv6 brackets removed) and port. `None` when the
/// host is empty or has a byte no host name or address can contain, or the
/// port is not a number below 65536.
fn split_host_and_port(hostport: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':')?)),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    let host_ok = !host.is_empty()
        && host.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'%' | b':')
        });
    if !host_ok {
        return None;
    }
    let port = match port {
        None | Some("") => None,
        Some(digits) if digits.bytes().all(|b| b.is_ascii_digit()) => Some(digits.parse().ok()?),
        Some(_) => return None,
    };
    Some((host, port))
}

/// Resolves `reference` (a `Location` value) against the absolute `base`,
/// as Python's `urllib.parse.urljoin` and RFC 3986 §5.2 do.
pub(crate) fn urljoin(base: &str, reference: &str) -> String {
    let reference = reference.trim();
    let reference = reference.split('#').next().unwrap_or_default();
    if let Some((scheme, _)) = reference.split_once("://") {
        if !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return reference.to_owned();
        }
    }
    let base = base.split('#').next().unwrap_or_default();
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", base));
    if let Some(network_path) = reference.strip_prefix("//") {
        return format!("{scheme}://{network_path}");
    }
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, base_tail) = rest.split_at(authority_end);
    let (base_path, base_query) = match base_tail.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (base_tail, None),
    };
    let mut out = format!("{scheme}://{authority}");
    if reference.is_empty() {
        out.push_str(base_tail);
    } else if let Some(query) = reference.strip_prefix('?') {
        let _ = write!(
            out,
            "{}?{query}",
            if base_path.is_empty() { "/" } else { base_path }
        );
    } else {
        let (ref_path, ref_query) = match reference.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (reference, None),
        };
        let merged = if ref_path.starts_with('/') {
            ref_path.to_owned()
        } else {
            let dir = base_path.rfind('/').map_or("/", |i| &base_path[..=i]);
            format!("{dir}{ref_path}")
        };
        out.push_str(&remove_dot_segments(&merged));
        if let Some(query) = ref_query {
            let _ = write!(out, "?{query}");
        }
    }
    let _ = base_query;
    out
}

/// RFC 3986 §5.2.4.
fn remove_dot_segments(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    let parts: Vec<&str> = path.split('/').collect();
    let last = parts.len().saturating_sub(1);
    for (i, part) in parts.iter().enumerate() {
        match *part {
            "." => {
                if i == last {
                    segments.push("");
                }
            }
            ".." => {
                if segments.len() > 1 {
                    segments.pop();
                }
                if i == last {
                    segments.push("");
                }
            }
            other => segments.push(other),
        }
    }
    let joined = segments.join("/");
    if joined.starts_with('/') {
        joined
    } else {
        format!("/{joined}")
    }
}

/// Standard base64 with padding, for `Authorization: Basic`.
pub(crate) fn base64_encode(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let symbol = |index: u32| char::from(ALPHABET[(index & 63) as usize]);
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        out.push(symbol(n >> 18));
        out.push(symbol(n >> 12));
        out.push(if chunk.len() > 1 { symbol(n >> 6) } else { '=' });
        out.push(if chunk.len() > 2 { symbol(n) } else { '=' });
    }
    out
}

/// Percent-decodes userinfo from a URL (`%40` → `@`); bytes that are not
/// UTF-8 are replaced.
pub(crate) fn percent_decode(s: &str) -> String {
    String::from_utf8_lossy(&crate::httputil::url_unescape(s.as_bytes(), false)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls() {
        let url = Url::parse("http://user:p%40ss@Example.com:8080/a/b?c=d#frag").unwrap();
        assert_eq!(url.scheme, "http");
        assert_eq!(url.userinfo.as_deref(), Some("user:p%40ss"));
        assert_eq!((url.host.as_str(), url.port), ("Example.com", 8080));
        assert_eq!(url.netloc, "Example.com:8080");
        assert_eq!(url.target, "/a/b?c=d");
        let url = Url::parse("HTTP://[::1]/").unwrap();
        assert_eq!(
            (url.host.as_str(), url.port, url.netloc.as_str()),
            ("::1", 80, "[::1]")
        );
        let url = Url::parse("https://h?q").unwrap();
        assert_eq!((url.port, url.target.as_str()), (443, "/?q"));
        for bad in [
            "ftp://h/",
            "/relative",
            "http:///path",
            "http://h:99999/",
            "http://h:x/",
            "http://h/a b",
            "http://h/\r\nX: y",
            "http://h\u{0}/",
            "http://a b/",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn joins_like_urljoin() {
        let base = "http://h:1/a/b/c?q=1";
        let cases = [
            ("http://other/x", "http://other/x"),
            ("//other/y", "http://other/y"),
            ("/root", "http://h:1/root"),
            ("d", "http://h:1/a/b/d"),
            ("../d?x", "http://h:1/a/d?x"),
            ("./", "http://h:1/a/b/"),
            ("../../../../d", "http://h:1/d"),
            ("?z=2", "http://h:1/a/b/c?z=2"),
            ("", "http://h:1/a/b/c?q=1"),
            ("/p#frag", "http://h:1/p"),
        ];
        for (reference, expected) in cases {
            assert_eq!(urljoin(base, reference), expected, "{reference}");
        }
        assert_eq!(urljoin("http://h", "x"), "http://h/x");
    }

    #[test]
    fn base64_matches_rfc_4648() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
            ("Aladdin:open sesame", "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
        ];
        for (input, expected) in cases {
            assert_eq!(base64_encode(input.as_bytes()), expected);
        }
        assert_eq!(percent_decode("p%40ss"), "p@ss");
    }
}
