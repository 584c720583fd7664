//! Query strings and form bodies: `application/x-www-form-urlencoded` and
//! `multipart/form-data`, parsed into arguments and files as Tornado does.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::{PoisonError, RwLock};

use bytes::Bytes;

use super::headers::is_tchar;
use super::HTTPHeaders;

/// Argument name → values, in the order they appeared.
///
/// # Tornado
///
/// `dict[str, list[bytes]]` (`request.arguments`, `request.body_arguments`).
/// Names are decoded as UTF-8 (invalid sequences replaced); Tornado decodes
/// them as Latin-1.
pub type Arguments = HashMap<String, Vec<Vec<u8>>>;

/// Field name → uploaded files, in the order they appeared.
pub type Files = HashMap<String, Vec<HTTPFile>>;

/// A file uploaded through a `multipart/form-data` form.
///
/// # Tornado
///
/// `httputil.HTTPFile(filename, body, content_type)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HTTPFile {
    /// The file name the client gave.
    pub filename: String,
    /// The file's bytes: a slice of the request body, not a copy.
    pub body: Bytes,
    /// The part's `Content-Type`, or `application/unknown`.
    pub content_type: String,
}

/// A request body that cannot be parsed as the form its `Content-Type` says.
/// Answer with 400.
///
/// # Tornado
///
/// `httputil.HTTPInputError` raised by `parse_body_arguments`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HTTPInputError {
    message: &'static str,
}

impl HTTPInputError {
    const fn new(message: &'static str) -> HTTPInputError {
        HTTPInputError { message }
    }

    /// Always 400.
    pub fn status_hint(&self) -> u16 {
        400
    }

    /// What was wrong, for logs.
    pub fn message(&self) -> &'static str {
        self.message
    }
}

impl fmt::Display for HTTPInputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)
    }
}

impl std::error::Error for HTTPInputError {}

/// Limits on `multipart/form-data` parsing.
///
/// # Tornado
///
/// `httputil.ParseMultipartConfig(enabled=True, max_parts=100,
/// max_part_header_size=10240)`, with the same defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseMultipartConfig {
    /// Set to false to refuse `multipart/form-data` bodies altogether.
    pub enabled: bool,
    /// Most parts in one body.
    pub max_parts: usize,
    /// Largest header block of one part, in bytes.
    pub max_part_header_size: usize,
}

impl ParseMultipartConfig {
    const DEFAULT: ParseMultipartConfig = ParseMultipartConfig {
        enabled: true,
        max_parts: 100,
        max_part_header_size: 10 * 1024,
    };
}

impl Default for ParseMultipartConfig {
    fn default() -> ParseMultipartConfig {
        ParseMultipartConfig::DEFAULT
    }
}

/// Limits on `application/x-www-form-urlencoded` parsing, of bodies and of
/// query strings: each field costs a map entry and a value, so a body of
/// `a&a&a&...` within `max_body_size` would otherwise cost many times its
/// size.
///
/// # Tornado
///
/// `httputil.ParseUrlEncodedConfig(max_arguments=1000)` (Tornado 6.5.8),
/// with the same default and the same count: one more than the number of
/// `&`, empty fields included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseUrlEncodedConfig {
    /// Most fields in one body or query string.
    pub max_arguments: usize,
}

impl Default for ParseUrlEncodedConfig {
    fn default() -> ParseUrlEncodedConfig {
        ParseUrlEncodedConfig {
            max_arguments: 1000,
        }
    }
}

/// Limits on request body (and query string) parsing.
///
/// # Tornado
///
/// `httputil.ParseBodyConfig(multipart=..., urlencoded=...)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParseBodyConfig {
    /// For `multipart/form-data` bodies.
    pub multipart: ParseMultipartConfig,
    /// For `application/x-www-form-urlencoded` bodies and query strings.
    pub urlencoded: ParseUrlEncodedConfig,
}

/// The process-wide configuration requests are parsed with.
static PARSE_BODY_CONFIG: RwLock<ParseBodyConfig> = RwLock::new(ParseBodyConfig {
    multipart: ParseMultipartConfig::DEFAULT,
    urlencoded: ParseUrlEncodedConfig {
        max_arguments: 1000,
    },
});

/// Sets, for the whole process, the limits every request's query string
/// and form body are parsed with (an application that accepts larger forms
/// raises them here).
///
/// # Tornado
///
/// `httputil.set_parse_body_config(config)`, also process-wide.
///
/// ```
/// use tornado::httputil::{parse_body_config, set_parse_body_config, ParseBodyConfig};
///
/// let mut config = ParseBodyConfig::default();
/// config.urlencoded.max_arguments = 5000;
/// config.multipart.max_parts = 500;
/// set_parse_body_config(config.clone());
/// assert_eq!(parse_body_config(), config);
/// set_parse_body_config(ParseBodyConfig::default());
/// ```
pub fn set_parse_body_config(config: ParseBodyConfig) {
    // A panic elsewhere while holding the lock leaves a whole value.
    *PARSE_BODY_CONFIG
        .write()
        .unwrap_or_else(PoisonError::into_inner) = config;
}

/// The configuration set by [`set_parse_body_config`] (or the defaults).
pub fn parse_body_config() -> ParseBodyConfig {
    PARSE_BODY_CONFIG
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// Decodes `%XX` escapes (and `+` as space when `plus`), returning bytes.
///
/// A `%` not followed by two hex digits is kept as is. Borrows when there is
/// nothing to decode.
///
/// # Tornado
///
/// `escape.url_unescape(value, encoding=None, plus=True)`. Use `plus = false`
/// for URL paths, where `+` is literal.
///
/// ```
/// use tornado::httputil::url_unescape;
///
/// assert_eq!(url_unescape(b"a+b%21%zz", true).as_ref(), b"a b!%zz");
/// assert_eq!(url_unescape(b"/a+b", false).as_ref(), b"/a+b");
/// ```
pub fn url_unescape(value: &[u8], plus: bool) -> Cow<'_, [u8]> {
    if !value.iter().any(|&b| b == b'%' || (plus && b == b'+')) {
        return Cow::Borrowed(value);
    }
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while let Some(&b) = value.get(i) {
        let escaped = match (b, value.get(i + 1), value.get(i + 2)) {
            (b'%', Some(&hi), Some(&lo)) => hex_digit(hi).zip(hex_digit(lo)),
            _ => None,
        };
        match escaped {
            Some((hi, lo)) => {
                out.push(hi << 4 | lo);
                i += 3;
            }
            None => {
                out.push(if plus && b == b'+' { b' ' } else { b });
                i += 1;
            }
        }
    }
    Cow::Owned(out)
}

fn hex_digit(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).map(|d| d as u8)
}

/// Parses a query string (`a=1&b=2&a=3`) into arguments.
///
/// Fields are separated by `&`; names and values are unescaped with
/// [`url_unescape`] (`+` is a space). A field without `=`, or with an empty
/// value, is kept (with an empty value) only if `keep_blank_values`.
///
/// # Tornado
///
/// `escape.parse_qs_bytes(qs, keep_blank_values=False)`, i.e. Python's
/// `urllib.parse.parse_qs`.
///
/// ```
/// use tornado::httputil::parse_qs_bytes;
///
/// let args = parse_qs_bytes(b"q=tornado+web&lang=en&q=rust&empty=", false);
/// assert_eq!(args["q"], [b"tornado web".to_vec(), b"rust".to_vec()]);
/// assert!(!args.contains_key("empty"));
/// ```
pub fn parse_qs_bytes(qs: &[u8], keep_blank_values: bool) -> Arguments {
    parse_fields(qs, keep_blank_values)
}

/// [`parse_qs_bytes`], refusing more than `max_num_fields` fields (one more
/// than the number of `&`) before parsing any.
///
/// # Errors
///
/// [`HTTPInputError`] if there are more fields than that.
///
/// # Tornado
///
/// `escape.parse_qs_bytes(qs, keep_blank_values, max_num_fields=n)`, which
/// raises `ValueError`.
pub fn parse_qs_bytes_limited(
    qs: &[u8],
    keep_blank_values: bool,
    max_num_fields: usize,
) -> Result<Arguments, HTTPInputError> {
    let fields = if qs.is_empty() {
        0
    } else {
        1 + memchr::memchr_iter(b'&', qs).count()
    };
    if fields > max_num_fields {
        return Err(HTTPInputError::new("too many urlencoded fields"));
    }
    Ok(parse_fields(qs, keep_blank_values))
}

fn parse_fields(qs: &[u8], keep_blank_values: bool) -> Arguments {
    let mut arguments = Arguments::new();
    for field in qs.split(|&b| b == b'&').filter(|f| !f.is_empty()) {
        let (name, value) = match field.iter().position(|&b| b == b'=') {
            Some(eq) => (
                field.get(..eq).unwrap_or_default(),
                field.get(eq + 1..).unwrap_or_default(),
            ),
            None if keep_blank_values => (field, &b""[..]),
            None => continue,
        };
        if value.is_empty() && !keep_blank_values {
            continue;
        }
        let name = String::from_utf8_lossy(&url_unescape(name, true)).into_owned();
        arguments
            .entry(name)
            .or_default()
            .push(url_unescape(value, true).into_owned());
    }
    arguments
}

/// Parses a form body into `arguments` and `files`, according to
/// `content_type`; other content types are left alone.
///
/// # Tornado
///
/// `httputil.parse_body_arguments(content_type, body, arguments, files,
/// headers=None, *, config=None)`.
///
/// ```
/// use bytes::Bytes;
/// use tornado::httputil::{parse_body_arguments, Arguments, Files, ParseBodyConfig};
///
/// let (mut args, mut files) = (Arguments::new(), Files::new());
/// let body = Bytes::from_static(b"name=Ada&lang=");
/// let config = ParseBodyConfig::default();
/// parse_body_arguments("application/x-www-form-urlencoded", &body, &mut args, &mut files, None, &config)
///     .unwrap();
/// assert_eq!(args["name"], [b"Ada".to_vec()]);
/// assert_eq!(args["lang"], [b"".to_vec()]);
/// ```
pub fn parse_body_arguments(
    content_type: &str,
    body: &Bytes,
    arguments: &mut Arguments,
    files: &mut Files,
    headers: Option<&HTTPHeaders>,
    config: &ParseBodyConfig,
) -> Result<(), HTTPInputError> {
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    let is_multipart = content_type.starts_with("multipart/form-data");
    if (is_form || is_multipart) && headers.is_some_and(|h| h.contains("Content-Encoding")) {
        return Err(HTTPInputError::new("unsupported Content-Encoding"));
    }
    if is_form {
        let fields = parse_qs_bytes_limited(body, true, config.urlencoded.max_arguments)?;
        for (name, values) in fields {
            arguments.entry(name).or_default().extend(values);
        }
    } else if is_multipart {
        let mut fields = content_type.split(';');
        if fields.next().map(str::trim) != Some("multipart/form-data") {
            return Err(HTTPInputError::new(
                "invalid multipart/form-data content type",
            ));
        }
        let boundary = fields
            .filter_map(|field| field.trim().split_once('='))
            .find(|(key, value)| *key == "boundary" && !value.is_empty())
            .map(|(_, value)| value)
            .ok_or(HTTPInputError::new("multipart boundary not found"))?;
        let config = &config.multipart;
        parse_multipart_form_data(boundary.as_bytes(), body, arguments, files, config)?;
    }
    Ok(())
}

/// Parses a `multipart/form-data` body.
///
/// Fields without a filename go to `arguments`; fields with one go to
/// `files`, whose bodies are slices of `data` (no copy).
///
/// # Tornado
///
/// `httputil.parse_multipart_form_data(boundary, data, arguments, files, *,
/// config=None)`, including RFC 2231/5987 `filename*=` names.
pub fn parse_multipart_form_data(
    boundary: &[u8],
    data: &Bytes,
    arguments: &mut Arguments,
    files: &mut Files,
    config: &ParseMultipartConfig,
) -> Result<(), HTTPInputError> {
    if !config.enabled {
        return Err(HTTPInputError::new(
            "multipart/form-data parsing is disabled",
        ));
    }
    // The boundary may be quoted in the Content-Type (RFC 2046 allows it).
    let boundary = boundary
        .strip_prefix(b"\"")
        .and_then(|b| b.strip_suffix(b"\""))
        .unwrap_or(boundary);
    let final_boundary = [b"--", boundary, b"--"].concat();
    let end = memchr::memmem::rfind(data, &final_boundary)
        .ok_or(HTTPInputError::new("no final multipart boundary found"))?;
    let delimiter = [b"--", boundary, b"\r\n"].concat();
    let mut start = 0;
    let mut parts = Vec::new();
    let delimiters = memchr::memmem::find_iter(data.get(..end).unwrap_or_default(), &delimiter);
    // Counted as they are found: a body of nothing but delimiters is
    // refused before its list of parts outgrows the limit.
    for found in delimiters.chain([end]) {
        if parts.len() == config.max_parts {
            return Err(HTTPInputError::new(
                "multipart/form-data has too many parts",
            ));
        }
        parts.push(start..found);
        start = found + delimiter.len();
    }
    for range in parts.into_iter().filter(|r| !r.is_empty()) {
        let part = data.slice(range);
        parse_part(&part, arguments, files, config)?;
    }
    Ok(())
}

fn parse_part(
    part: &Bytes,
    arguments: &mut Arguments,
    files: &mut Files,
    config: &ParseMultipartConfig,
) -> Result<(), HTTPInputError> {
    let eoh = memchr::memmem::find(part, b"\r\n\r\n").ok_or(HTTPInputError::new(
        "multipart/form-data part missing headers",
    ))?;
    if eoh > config.max_part_header_size {
        return Err(HTTPInputError::new(
            "multipart/form-data part header too large",
        ));
    }
    let block = std::str::from_utf8(part.get(..eoh).unwrap_or_default())
        .map_err(|_| HTTPInputError::new("multipart/form-data part headers are not UTF-8"))?;
    let headers = parse_part_headers(block)?;
    let (disposition, params) = parse_header(headers.get("Content-Disposition").unwrap_or(""));
    if disposition != "form-data" || !part.ends_with(b"\r\n") {
        return Err(HTTPInputError::new("invalid multipart/form-data"));
    }
    // The value sits between the blank line and the CRLF before the next
    // delimiter; as in Python's slicing, an overlap means an empty value.
    let body_start = (eoh + 4).min(part.len());
    let body_end = part.len().saturating_sub(2).max(body_start);
    let value = part.slice(body_start..body_end);
    let name = params
        .get("name")
        .filter(|n| !n.is_empty())
        .ok_or(HTTPInputError::new("multipart/form-data part missing name"))?;
    match params.get("filename").filter(|f| !f.is_empty()) {
        Some(filename) => files.entry(name.clone()).or_default().push(HTTPFile {
            filename: filename.clone(),
            body: value,
            content_type: headers
                .get("Content-Type")
                .unwrap_or("application/unknown")
                .to_owned(),
        }),
        None => arguments
            .entry(name.clone())
            .or_default()
            .push(value.to_vec()),
    }
    Ok(())
}

/// Parses a part's header lines (`Name: value`). A line folded onto the
/// next (starting with whitespace) is refused, as Tornado 6.6's
/// `HTTPHeaders.parse` refuses it ("folding not supported"), and as the
/// request head's own parser does.
fn parse_part_headers(block: &str) -> Result<HTTPHeaders, HTTPInputError> {
    let mut lines: Vec<(String, String)> = Vec::new();
    let mut segments = block.split('\n').peekable();
    while let Some(segment) = segments.next() {
        // A CR goes with the LF after it; a last line that is a bare CR
        // (`\r\n\r\r\n\r\n`) is no header line, as in Tornado.
        let line = match segments.peek() {
            Some(_) => segment.strip_suffix('\r').unwrap_or(segment),
            None => segment,
        };
        if line.is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            return Err(HTTPInputError::new(
                "header line cannot start with whitespace, folding not supported",
            ));
        }
        let (name, value) = line
            .split_once(':')
            .ok_or(HTTPInputError::new("no colon in header line"))?;
        if name.is_empty() || !name.bytes().all(is_tchar) {
            return Err(HTTPInputError::new("invalid header name"));
        }
        lines.push((name.to_owned(), value.trim_matches([' ', '\t']).to_owned()));
    }
    if lines
        .iter()
        .any(|(_, v)| v.chars().any(|c| c.is_control() && c != '\t'))
    {
        return Err(HTTPInputError::new("invalid header value"));
    }
    Ok(lines.into_iter().collect())
}

/// Splits a `Content-Disposition`-like value into its first element and its
/// parameters (names lowercased; quoted values unquoted; RFC 2231 `name*=`
/// values decoded).
fn parse_header(line: &str) -> (String, HashMap<String, String>) {
    let mut pieces = split_params(line).into_iter();
    let key = pieces.next().unwrap_or_default().trim().to_owned();
    let mut params = HashMap::new();
    for piece in pieces {
        let Some((name, value)) = piece.split_once('=') else {
            continue;
        };
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim();
        match name.strip_suffix('*') {
            Some(base) => {
                params.insert(base.to_owned(), decode_rfc2231(value));
            }
            None => {
                params.insert(name, unquote(value));
            }
        }
    }
    (key, params)
}

/// Splits on `;` outside double quotes.
fn split_params(line: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                pieces.push(line.get(start..i).unwrap_or_default());
                start = i + 1;
            }
            _ => {}
        }
    }
    pieces.push(line.get(start..).unwrap_or_default());
    pieces
}

/// Removes surrounding quotes and backslash escapes from a quoted-string.
fn unquote(value: &str) -> String {
    let Some(inner) = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .filter(|_| value.len() >= 2)
    else {
        return value.to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

/// Decodes `charset'language'percent-encoded` (RFC 2231 §4) as Python's
/// `email.utils` does for Tornado: never failing, so a part with an odd
/// `filename*=` is still a file. UTF-8 and US-ASCII (the charset without two
/// `'`) replace what they cannot decode; ISO-8859-1, and a charset Python
/// would not know either (`""` among them), map each byte to a character.
fn decode_rfc2231(value: &str) -> String {
    // Percent escapes first, then the charset (US-ASCII without one), as
    // `email.utils.decode_params` then `collapse_rfc2231_value` go.
    let unescaped = url_unescape(unquote(value).as_bytes(), false).into_owned();
    let mut parts = unescaped.splitn(3, |&b| b == b'\'');
    let (charset, bytes) = match (parts.next(), parts.next(), parts.next()) {
        (Some(charset), Some(_language), Some(encoded)) => {
            (String::from_utf8_lossy(charset).into_owned(), encoded)
        }
        _ => ("us-ascii".to_owned(), &unescaped[..]),
    };
    match python_codec(&charset) {
        Some(Codec::Utf8) => String::from_utf8_lossy(bytes).into_owned(),
        Some(Codec::Ascii) => bytes
            .iter()
            .map(|&b| {
                if b.is_ascii() {
                    char::from(b)
                } else {
                    '\u{fffd}'
                }
            })
            .collect(),
        None => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// The two codecs [`decode_rfc2231`] tells apart from Latin-1.
enum Codec {
    Utf8,
    Ascii,
}

/// The codec Python's `codecs.lookup` finds for `charset`, if one of those
/// two. As CPython: the name is normalised (ASCII letters, digits and `.`
/// kept, lowercased; every other run, non-ASCII letters included, one `_`,
/// none at either end), then looked up as a module name, or as an alias
/// as it is or with its dots as `_`. So `UTF-8?` and `utf 8` are UTF-8 and
/// `utf.8` is not a codec at all.
fn python_codec(charset: &str) -> Option<Codec> {
    const UTF8: [&str; 6] = ["u8", "utf", "utf8", "utf8_ucs2", "utf8_ucs4", "cp65001"];
    const ASCII: [&str; 12] = [
        "646",
        "ansi_x3.4_1968",
        "ansi_x3.4_1986",
        "ansi_x3_4_1968",
        "cp367",
        "csascii",
        "ibm367",
        "iso646_us",
        "iso_646.irv_1991",
        "iso_ir_6",
        "us",
        "us_ascii",
    ];
    let mut name = String::with_capacity(charset.len());
    let mut gap = false;
    for c in charset.chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            if gap && !name.is_empty() {
                name.push('_');
            }
            gap = false;
            name.push(c.to_ascii_lowercase());
        } else {
            gap = true;
        }
    }
    let underscored = name.replace('.', "_");
    let alias_of = |aliases: &[&str]| {
        aliases.contains(&name.as_str()) || aliases.contains(&underscored.as_str())
    };
    if name == "utf_8" || alias_of(&UTF8) {
        Some(Codec::Utf8)
    } else if name == "ascii" || alias_of(&ASCII) {
        Some(Codec::Ascii)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charset_names_are_looked_up_as_python_does() {
        // What `codecs.lookup` finds for each (Python 3.11).
        for (charset, utf8) in [
            ("UTF-8?", true),
            ("utf 8", true),
            ("-utf8-", true),
            ("U8", true),
            ("u t f 8", false),
        ] {
            assert_eq!(
                decode_rfc2231(&format!("{charset}''%C3%A9")) == "\u{e9}",
                utf8,
                "{charset}"
            );
        }
        assert_eq!(decode_rfc2231("ascii?''%C3%A9"), "\u{fffd}\u{fffd}");
        assert_eq!(decode_rfc2231("ansi.x3.4.1968''%C3%A9"), "\u{fffd}\u{fffd}");
        // Not codecs in Python: the bytes are read as Latin-1.
        assert_eq!(decode_rfc2231("utf.8''%C3%A9"), "\u{c3}\u{a9}");
        assert_eq!(decode_rfc2231("as\u{e9}cii''%C3%A9"), "\u{c3}\u{a9}");
        assert_eq!(decode_rfc2231("latin 1''%C3%A9"), "\u{c3}\u{a9}");
    }

    fn values(args: &Arguments, name: &str) -> Vec<String> {
        args.get(name)
            .map(|vs| {
                vs.iter()
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn unescaping() {
        let cases: &[(&[u8], bool, &[u8])] = &[
            (b"", true, b""),
            (b"plain", true, b"plain"),
            (b"a+b", true, b"a b"),
            (b"a+b", false, b"a+b"),
            (b"%41%42%4a%4A", true, b"ABJJ"),
            (b"%e2%98%83", true, "\u{2603}".as_bytes()),
            (b"%", true, b"%"),
            (b"%4", true, b"%4"),
            (b"%zz%4g", true, b"%zz%4g"),
            (b"100%", true, b"100%"),
            (b"%2B+", true, b"+ "),
            (b"%00", true, b"\0"),
        ];
        for &(input, plus, expected) in cases {
            assert_eq!(url_unescape(input, plus).as_ref(), expected, "{input:?}");
        }
        assert!(matches!(url_unescape(b"abc", true), Cow::Borrowed(_)));
    }

    #[test]
    fn query_strings_match_python_parse_qs() {
        // Expected values from urllib.parse.parse_qs.
        let args = parse_qs_bytes(b"a=1&b=&c&a=2&&d=x%20y+z&=v&e=f=g", false);
        assert_eq!(values(&args, "a"), ["1", "2"]);
        assert!(!args.contains_key("b"));
        assert!(!args.contains_key("c"));
        assert_eq!(values(&args, "d"), ["x y z"]);
        assert_eq!(values(&args, ""), ["v"]);
        assert_eq!(values(&args, "e"), ["f=g"]);

        let blank = parse_qs_bytes(b"a=1&b=&c&a=2", true);
        assert_eq!(values(&blank, "b"), [""]);
        assert_eq!(values(&blank, "c"), [""]);
        assert_eq!(values(&blank, "a"), ["1", "2"]);

        let names = parse_qs_bytes(b"caf%C3%A9=1&n%FF=2", false);
        assert_eq!(values(&names, "caf\u{e9}"), ["1"]);
        assert_eq!(values(&names, "n\u{fffd}"), ["2"]);
    }

    #[test]
    fn urlencoded_fields_are_counted_as_tornado_counts_them() {
        let fields = |n: usize| vec!["a=1"; n].join("&");
        assert_eq!(parse_qs_bytes_limited(b"", true, 0), Ok(Arguments::new()));
        let at_limit = parse_qs_bytes_limited(fields(3).as_bytes(), true, 3);
        assert_eq!(at_limit.map(|args| args["a"].len()), Ok(3));
        // Empty fields count: one more than the number of `&`.
        for over in [fields(4), "a=1&&b=2&".to_owned(), "&&&".to_owned()] {
            let error = parse_qs_bytes_limited(over.as_bytes(), true, 3);
            assert_eq!(error.map_err(|e| e.status_hint()), Err(400), "{over}");
        }
        let config = ParseBodyConfig {
            urlencoded: ParseUrlEncodedConfig { max_arguments: 2 },
            ..ParseBodyConfig::default()
        };
        let (mut args, mut files) = (Arguments::new(), Files::new());
        let form = "application/x-www-form-urlencoded";
        let body = Bytes::from_static(b"a&a&a");
        let result = parse_body_arguments(form, &body, &mut args, &mut files, None, &config);
        assert!(result.is_err() && args.is_empty());
    }

    const BOUNDARY: &str = "1234";

    fn multipart(body: &[u8]) -> Result<(Arguments, Files), HTTPInputError> {
        let (mut args, mut files) = (Arguments::new(), Files::new());
        parse_body_arguments(
            &format!("multipart/form-data; boundary={BOUNDARY}"),
            &Bytes::copy_from_slice(body),
            &mut args,
            &mut files,
            None,
            &ParseBodyConfig::default(),
        )?;
        Ok((args, files))
    }

    #[test]
    fn multipart_fields_and_files() {
        let body = b"--1234\r\n\
Content-Disposition: form-data; name=\"title\"\r\n\
\r\n\
hello\r\n\
--1234\r\n\
Content-Disposition: form-data; name=\"upload\"; filename=\"a;b\\\"c.txt\"\r\n\
Content-Type: text/plain\r\n\
\r\n\
file\r\ncontents\r\n\
--1234\r\n\
Content-Disposition: form-data; name=\"raw\"; filename=\"x.bin\"\r\n\
\r\n\
\r\n\
--1234\r\n\
Content-Disposition: form-data; name=\"uni\"; filename*=utf-8''T%C3%A4st.txt\r\n\
\r\n\
u\r\n\
--1234--\r\n";
        let (args, files) = multipart(body).unwrap();
        assert_eq!(values(&args, "title"), ["hello"]);
        let upload = &files["upload"][0];
        assert_eq!(upload.filename, "a;b\"c.txt");
        assert_eq!(upload.body, Bytes::from_static(b"file\r\ncontents"));
        assert_eq!(upload.content_type, "text/plain");
        let raw = &files["raw"][0];
        assert_eq!(
            (raw.body.len(), raw.content_type.as_str()),
            (0, "application/unknown")
        );
        assert_eq!(files["uni"][0].filename, "T\u{e4}st.txt");
    }

    #[test]
    fn multipart_quoted_boundary_and_folded_headers() {
        let (mut args, mut files) = (Arguments::new(), Files::new());
        let config = ParseMultipartConfig::default();
        let body = Bytes::from_static(
            b"--ab\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n--ab--",
        );
        parse_multipart_form_data(b"\"ab\"", &body, &mut args, &mut files, &config).unwrap();
        assert_eq!(values(&args, "f"), ["v"]);
        // Folded: refused, as Tornado 6.6 refuses it.
        let folded = Bytes::from_static(
            b"--ab\r\nContent-Disposition: form-data;\r\n name=\"g\"\r\n\r\nv\r\n--ab--",
        );
        let error = parse_multipart_form_data(b"ab", &folded, &mut args, &mut files, &config);
        assert_eq!(
            error.map_err(|e| e.message()),
            Err("header line cannot start with whitespace, folding not supported")
        );
    }

    #[test]
    fn odd_rfc2231_filenames_are_still_files() {
        // What Tornado 6.6.1's `_parse_header` gives for each.
        let cases = [
            ("UTF-8''%?C3%A9.txt", "%?C3\u{fffd}.txt"),
            ("UTFe*=UTF-8''%C3%A9.txt", "\u{c3}\u{a9}.txt"),
            ("UTF-8''%3%A9.txt", "%3\u{fffd}.txt"),
            ("plain.txt", "plain.txt"),
            ("UTF-80'%C3%A9.t/t", "UTF-80'\u{fffd}\u{fffd}.t/t"),
            ("us-ascii'en'%C3%A9", "\u{fffd}\u{fffd}"),
            ("''%C3%A9", "\u{c3}\u{a9}"),
            ("iso-8859-1''%E9", "\u{e9}"),
            ("\"utf-8''%C3%A9\"", "\u{e9}"),
        ];
        for (value, filename) in cases {
            let body = format!(
                "--1234\r\nContent-Disposition: form-data; name=\"g\"; filename*={value}\r\n\r\nv\r\n--1234--"
            );
            let (args, files) = multipart(body.as_bytes()).unwrap();
            assert!(args.is_empty(), "{value}: an argument");
            assert_eq!(files["g"][0].filename, filename, "{value}");
        }
    }

    #[test]
    fn multipart_errors() {
        let cases: &[&[u8]] = &[
            b"--1234\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n",
            b"--1234\r\nContent-Disposition: form-data; name=\"a\"\r\nv\r\n--1234--",
            b"--1234\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nv\r\n--1234--",
            b"--1234\r\nContent-Disposition: form-data\r\n\r\nv\r\n--1234--",
            b"--1234\r\nContent-Disposition: form-data; name=\"\"\r\n\r\nv\r\n--1234--",
            b"--1234\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv--1234--",
            b"--1234\r\n Content-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--1234--",
            b"--1234\r\nContent-Disposition form-data\r\n\r\nv\r\n--1234--",
            b"--1234\r\nBad Name: x\r\n\r\nv\r\n--1234--",
            b"--1234\r\nX: \xff\r\n\r\nv\r\n--1234--",
            b"--1234\r\nX: a\x01\r\n\r\nv\r\n--1234--",
            // The header block ends in a bare CR: Tornado's "no colon".
            b"--1234\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\r\n\r\nv\r\n--1234--",
        ];
        for body in cases {
            assert!(
                multipart(body).is_err(),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn multipart_limits_and_content_types() {
        let one = b"--1234\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n";
        let mut body = one.repeat(3);
        body.extend_from_slice(b"--1234--");
        let (mut args, mut files) = (Arguments::new(), Files::new());
        let data = Bytes::from(body);
        let config = ParseMultipartConfig {
            max_parts: 3,
            ..ParseMultipartConfig::default()
        };
        // The empty piece before the first delimiter counts as a part, as in Tornado.
        let error = parse_multipart_form_data(b"1234", &data, &mut args, &mut files, &config);
        assert_eq!(
            error.map_err(|e| e.message()),
            Err("multipart/form-data has too many parts")
        );
        let config = ParseMultipartConfig {
            max_parts: 4,
            max_part_header_size: 10,
            ..ParseMultipartConfig::default()
        };
        let error = parse_multipart_form_data(b"1234", &data, &mut args, &mut files, &config);
        assert_eq!(
            error.map_err(|e| e.message()),
            Err("multipart/form-data part header too large")
        );
        let disabled = ParseMultipartConfig {
            enabled: false,
            ..ParseMultipartConfig::default()
        };
        assert!(
            parse_multipart_form_data(b"1234", &data, &mut args, &mut files, &disabled).is_err()
        );

        let default = ParseBodyConfig::default();
        for content_type in [
            "multipart/form-dataxyz; boundary=1234",
            "multipart/form-data; charset=x",
        ] {
            let result =
                parse_body_arguments(content_type, &data, &mut args, &mut files, None, &default);
            assert_eq!(
                result.map_err(|e| e.status_hint()),
                Err(400),
                "{content_type}"
            );
        }
        let mut encoded = HTTPHeaders::new();
        encoded.add("Content-Encoding", "gzip");
        let form = Bytes::from_static(b"a=1");
        let result = parse_body_arguments(
            "application/x-www-form-urlencoded",
            &form,
            &mut args,
            &mut files,
            Some(&encoded),
            &default,
        );
        assert!(result.is_err());
        // Unknown content types are ignored.
        parse_body_arguments(
            "text/plain",
            &form,
            &mut args,
            &mut files,
            Some(&encoded),
            &default,
        )
        .unwrap();
        assert!(args.is_empty() && files.is_empty());
    }

    #[test]
    fn header_parameters() {
        let (key, params) =
            parse_header("form-data; foo=\"b\\\\a\\\"r\"; file*=utf-8''T%C3%A4st; Name=x");
        assert_eq!(key, "form-data");
        assert_eq!(params["foo"], "b\\a\"r");
        assert_eq!(params["file"], "T\u{e4}st");
        assert_eq!(params["name"], "x");
        let (_, params) = parse_header("a; f*=iso-8859-1'en'%E9; g*=koi8-r''x; h*=bad");
        assert_eq!(params["f"], "\u{e9}");
        // Python knows koi8-r (ASCII here); `bad` has no charset part.
        assert_eq!((params["g"].as_str(), params["h"].as_str()), ("x", "bad"));
        assert_eq!(unquote("\""), "\"");
    }
}
