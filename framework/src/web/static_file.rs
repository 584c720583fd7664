//! `StaticFileHandler`: files from a directory, with `Etag`/`Last-Modified`
//! validation, byte ranges and versioned URLs.

mod mime;
mod paths;
mod version;

use std::fs::{File, Metadata};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;

use super::{url, Error, HTTPError, Handler, RequestHandler, Result, Settings, URLSpec};
use crate::httputil::{format_timestamp, parse_http_date};

use version::static_hash_cache;

/// File bodies are read and sent this much at a time, each piece flushed
/// before the next is read (Tornado's `get_content` chunk size).
const CHUNK_SIZE: usize = 64 * 1024;

/// Serves the files under a directory: the route's first group is the path
/// below it.
///
/// `GET` and `HEAD`; `Content-Type` from the extension, `Last-Modified`,
/// `Etag` (the quoted SHA-512 of the content), `Accept-Ranges: bytes`; a
/// 304 for a matching `If-None-Match` (or, without one, an
/// `If-Modified-Since` not older than the file); one `Range` (206, or 416
/// when it starts past the end; several ranges are ignored); with a `v`
/// argument (see [`Handler::static_url`]) it may be cached for ten years.
/// The body is read and flushed 64 KiB at a time, so a slow client of a
/// large file costs one chunk of memory.
///
/// A path leading outside the directory, as written (`../`) or through a
/// symlink, is a 403; a directory is a 403 too, or, with a
/// [`default_filename`](StaticFileHandler::default_filename), a redirect
/// adding the slash and then that file; a missing file is a 404.
///
/// ```
/// use tornado::web::{url, Application, StaticFileHandler};
///
/// let files = StaticFileHandler::new("/var/www").default_filename("index.html");
/// let app = Application::new([url(r"/content/(.*)", move || files.clone())]);
/// # drop(app);
/// ```
///
/// # Tornado
/// `tornado.web.StaticFileHandler` with `initialize(path, default_filename=None)`.
/// Not ported: `allowed_symlink_directory` (symlinks must stay under
/// `path`) and overriding the class methods (`get_content`, `get_cache_time`
/// ...). Files are read with blocking reads on the loop's thread, as
/// Tornado does.
#[derive(Debug, Clone)]
pub struct StaticFileHandler {
    root: Arc<Path>,
    default_filename: Option<Arc<str>>,
}

impl StaticFileHandler {
    /// Files are cacheable for this long (ten years, in seconds) when
    /// requested with a `v` argument.
    ///
    /// # Tornado
    /// `StaticFileHandler.CACHE_MAX_AGE`.
    pub const CACHE_MAX_AGE: u64 = 86400 * 365 * 10;

    /// The largest file [`get_content_version`](Self::get_content_version)
    /// hashes (64 MiB): hashing blocks the loop, so larger files get no
    /// version (and no `Etag`).
    ///
    /// # Tornado
    /// `StaticFileHandler.MAX_VERSION_CONTENT_SIZE`.
    pub const MAX_VERSION_CONTENT_SIZE: u64 = 64 * 1024 * 1024;

    /// The most versions kept cached; the least recently used goes first.
    ///
    /// # Tornado
    /// `StaticFileHandler.MAX_CACHED_VERSIONS`.
    pub const MAX_CACHED_VERSIONS: usize = 10_000;

    /// A handler serving the files under `path`.
    ///
    /// # Tornado
    /// `StaticFileHandler` with `initialize(path)`.
    pub fn new(path: impl Into<PathBuf>) -> StaticFileHandler {
        StaticFileHandler {
            root: Arc::from(path.into()),
            default_filename: None,
        }
    }

    /// Serves `name` (say `index.html`) for a directory, after redirecting
    /// a request without the trailing slash to one with it.
    ///
    /// # Tornado
    /// `initialize(path, default_filename=name)`.
    pub fn default_filename(mut self, name: impl Into<String>) -> StaticFileHandler {
        self.default_filename = Some(Arc::from(name.into()));
        self
    }

    /// The directory served.
    ///
    /// # Tornado
    /// `StaticFileHandler.root`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The response for `GET` (`include_body`) or `HEAD`.
    ///
    /// # Tornado
    /// `StaticFileHandler.get(path, include_body=True)`.
    async fn serve(&self, cx: &mut Handler, include_body: bool) -> Result {
        let path = match (cx.path_args().first(), cx.path_kwargs().get("path")) {
            (Some(path), _) | (None, Some(path)) => path.clone(),
            (None, None) => {
                return Err(Error::Other(
                    "StaticFileHandler's route needs a group for the path".into(),
                ))
            }
        };
        let default_filename = self.default_filename.as_deref();
        let Some((absolute, meta)) = paths::validate(cx, &self.root, &path, default_filename)?
        else {
            return Ok(()); // redirected to add the slash
        };
        let modified = last_modified(&meta);
        let size = meta.len();
        self.set_headers(cx, &absolute, modified)?;
        if should_return_304(cx, modified) {
            cx.set_status(304);
            return Ok(());
        }

        let range = cx.request.headers.get_joined("Range");
        let range = range.as_deref().filter(|r| !r.is_empty());
        let (start, end) = match range.and_then(parse_request_range) {
            None => (0, size),
            Some(requested) => match satisfiable(requested, size) {
                Some((start, end)) => {
                    // Only a part is a 206: a 206 for `bytes=0-` makes
                    // Chrome refuse to play audio (Tornado's note).
                    if end - start != size {
                        cx.set_status(206);
                        let last = end - 1;
                        cx.set_header("Content-Range", format!("bytes {start}-{last}/{size}"))?;
                    }
                    (start, end)
                }
                None => {
                    cx.set_status(416);
                    cx.set_header("Content-Type", "text/plain")?;
                    cx.set_header("Content-Range", format!("bytes */{size}"))?;
                    return Ok(());
                }
            },
        };
        let length = end - start;
        cx.set_header("Content-Length", length)?;
        if include_body {
            send_file(cx, &absolute, start, length).await?;
        }
        Ok(())
    }

    /// `Accept-Ranges`, `Etag`, `Last-Modified`, `Content-Type` and, for a
    /// versioned request, `Expires` and `Cache-Control`.
    ///
    /// # Tornado
    /// `StaticFileHandler.set_headers()`.
    fn set_headers(
        &self,
        cx: &mut Handler,
        absolute: &Path,
        modified: Option<SystemTime>,
    ) -> Result {
        cx.set_header("Accept-Ranges", "bytes")?;
        if let Some(version) = version::cached_version(absolute, static_hash_cache(cx.settings())) {
            cx.set_header("Etag", format!("\"{version}\""))?;
        }
        if let Some(modified) = modified {
            cx.set_header("Last-Modified", format_timestamp(modified))?;
        }
        let content_type = mime::content_type(&absolute.to_string_lossy());
        cx.set_header("Content-Type", content_type)?;
        // Tornado's `get_cache_time`: the `v` argument, from the query or
        // the body, makes the file cacheable for ever.
        if cx.request.arguments.contains_key("v") {
            let max_age = StaticFileHandler::CACHE_MAX_AGE;
            let expires = SystemTime::now() + Duration::from_secs(max_age);
            cx.set_header("Expires", format_timestamp(expires))?;
            cx.set_header("Cache-Control", format!("max-age={max_age}"))?;
        }
        Ok(())
    }
}

impl RequestHandler for StaticFileHandler {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        self.serve(cx, true).await
    }

    async fn head(&mut self, cx: &mut Handler) -> Result {
        self.serve(cx, false).await
    }

    /// None: the `Etag` is the content's version, set with the headers (a
    /// file too large to hash has none), never the SHA-1 of a body that
    /// was flushed already.
    fn compute_etag(_cx: &Handler) -> Option<String> {
        None
    }
}

/// The routes an application with `static_path` serves it on: the
/// `static_url_prefix` (default `/static/`), `/favicon.ico` and
/// `/robots.txt`, in Tornado's order (before the application's own).
///
/// # Tornado
/// What `Application.__init__` inserts for the `static_path` setting.
pub(crate) fn static_routes(settings: &Settings) -> Vec<URLSpec> {
    let Some(static_path) = settings
        .static_path
        .as_ref()
        .filter(|p| !p.as_os_str().is_empty())
    else {
        return Vec::new();
    };
    let files = StaticFileHandler::new(static_path.clone());
    let prefix = regex::escape(version::static_url_prefix(settings));
    [
        r"/(robots\.txt)",
        r"/(favicon\.ico)",
        &format!("{prefix}(.*)"),
    ]
    .into_iter()
    .map(|pattern| {
        let files = files.clone();
        url(pattern, move || files.clone())
    })
    .collect()
}

/// The file's modification time, whole seconds (as Tornado truncates it).
fn last_modified(meta: &Metadata) -> Option<SystemTime> {
    let since_epoch = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(since_epoch.as_secs()))
}

/// Whether the client's copy is current: its `If-None-Match` matches the
/// `Etag` or, without one, its `If-Modified-Since` is not older than the file.
///
/// # Tornado
/// `StaticFileHandler.should_return_304()`. `If-Modified-Since` is read as
/// an HTTP date (Python's `parsedate` takes any RFC 2822 date).
fn should_return_304(cx: &Handler, modified: Option<SystemTime>) -> bool {
    let headers = &cx.request.headers;
    if headers.get("If-None-Match").is_some_and(|v| !v.is_empty()) {
        return cx.check_etag_header();
    }
    let since = headers.get("If-Modified-Since").and_then(parse_http_date);
    matches!((since, modified), (Some(since), Some(modified)) if since >= modified)
}

/// A `Range` header as Python slice bounds `(start, end)`: `bytes=1-2` is
/// `(Some(1), Some(3))`, `bytes=-6` `(Some(-6), None)`, `bytes=-0`
/// `(None, Some(0))`. `None` for another unit, a list of ranges, or a
/// number that does not parse (the header is then ignored). Numbers too
/// large for an `i128` saturate, which no file size reaches.
///
/// # Tornado
/// `httputil._parse_request_range(range_header)`.
fn parse_request_range(header: &str) -> Option<(Option<i128>, Option<i128>)> {
    let (unit, value) = header.split_once('=').unwrap_or((header, ""));
    if unit.trim() != "bytes" {
        return None;
    }
    let value = value.trim();
    let (start, end) = value.split_once('-').unwrap_or((value, ""));
    let (start, mut end) = (int_or_none(start)?, int_or_none(end)?);
    let mut start = start;
    if let Some(last) = end {
        match start {
            None if last != 0 => {
                start = Some(-last);
                end = None;
            }
            None => {}
            Some(_) => end = Some(last.saturating_add(1)),
        }
    }
    Some((start, end))
}

/// Python's `int()` on a stripped string, `""` being `None`. The outer
/// `Option` is `None` for a string that is not a number.
fn int_or_none(text: &str) -> Option<Option<i128>> {
    if text.trim().is_empty() {
        return Some(None);
    }
    python_int(text).map(Some)
}

/// Python's `int(text)`: surrounding whitespace, an optional sign, ASCII
/// digits with single underscores between them; `None` for anything else.
/// Saturates past `i128` (no file size or timestamp gets there).
pub(crate) fn python_int(text: &str) -> Option<i128> {
    let text = text.trim();
    let (negative, digits) = match text.as_bytes() {
        [b'-', ..] => (true, &text[1..]),
        [b'+', ..] => (false, &text[1..]),
        _ => (false, text),
    };
    let bytes = digits.as_bytes();
    let well_formed = bytes.first().is_some_and(u8::is_ascii_digit)
        && bytes.last().is_some_and(u8::is_ascii_digit)
        && bytes.iter().all(|&b| b.is_ascii_digit() || b == b'_')
        && !digits.contains("__");
    if !well_formed {
        return None;
    }
    let value = (bytes.iter().filter(|b| b.is_ascii_digit())).fold(0i128, |n, &b| {
        n.saturating_mul(10).saturating_add(i128::from(b - b'0'))
    });
    Some(if negative { -value } else { value })
}

/// The byte range `[start, end)` to send for a parsed `Range`, or `None`
/// when it cannot be satisfied (416): it starts at or past the end, ends
/// before it starts, or is the empty suffix `bytes=-0`. A range ending past
/// the file is cut at its end.
///
/// # Tornado
/// The range arithmetic of `StaticFileHandler.get`.
fn satisfiable(range: (Option<i128>, Option<i128>), size: u64) -> Option<(u64, u64)> {
    let size_i = i128::from(size);
    let (mut start, end) = range;
    if let Some(s) = start.filter(|&s| s < 0) {
        start = Some((s + size_i).max(0));
    }
    let unsatisfiable = start.is_some_and(|s| s >= size_i || end.is_some_and(|e| s >= e));
    if unsatisfiable || end == Some(0) {
        return None;
    }
    let start = start.unwrap_or(0);
    let end = end.map_or(size_i, |e| e.min(size_i));
    // Both within 0..=size now.
    Some((u64::try_from(start).ok()?, u64::try_from(end).ok()?))
}

/// Sends `length` bytes of the file from `start`, 64 KiB at a time, each
/// flushed (so waiting for a slow client) before the next is read.
async fn send_file(cx: &mut Handler, path: &Path, start: u64, length: u64) -> Result {
    let mut file = File::open(path)?;
    if start > 0 {
        file.seek(SeekFrom::Start(start))?;
    }
    let mut remaining = length;
    let mut buf = BytesMut::new();
    while remaining > 0 {
        let want = usize::try_from(remaining).map_or(CHUNK_SIZE, |r| r.min(CHUNK_SIZE));
        // Reclaims the last chunk's allocation once the connection has
        // let go of it (it has, after the flush), so a whole file costs one.
        buf.reserve(want);
        buf.resize(want, 0);
        let n = match file.read(&mut buf) {
            Ok(n) => n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err.into()),
        };
        if n == 0 {
            // The file shrank since it was measured: the Content-Length
            // sent cannot be met, so the response must be cut short.
            return Err(Error::Other(
                format!("{} shrank while it was being sent", path.display()).into(),
            ));
        }
        buf.truncate(n);
        remaining -= n as u64;
        cx.write_bytes(buf.split().freeze())?;
        cx.flush().await?;
    }
    Ok(())
}

/// `HTTPError(403, "... is not a file")` and friends, with the log message.
fn forbidden(message: String) -> Error {
    HTTPError::new(403).log_message(message).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_as_tornados() {
        // httputil._parse_request_range's doctests, and a few more.
        assert_eq!(parse_request_range("bytes=1-2"), Some((Some(1), Some(3))));
        assert_eq!(parse_request_range("bytes=6-"), Some((Some(6), None)));
        assert_eq!(parse_request_range("bytes=-6"), Some((Some(-6), None)));
        assert_eq!(parse_request_range("bytes=-0"), Some((None, Some(0))));
        assert_eq!(parse_request_range("bytes="), Some((None, None)));
        assert_eq!(parse_request_range("foo=42"), None);
        assert_eq!(parse_request_range("bytes=1-2,6-10"), None);
        assert_eq!(
            parse_request_range(" bytes = 1_0 - +20 "),
            Some((Some(10), Some(21)))
        );
        assert_eq!(parse_request_range("bytes=1--2"), Some((Some(1), Some(-1))));
        assert_eq!(parse_request_range("bytes=1__0-"), None);
        assert_eq!(parse_request_range("bytes=x-"), None);
        let huge = "9".repeat(60);
        assert_eq!(
            parse_request_range(&format!("bytes={huge}-")),
            Some((Some(i128::MAX), None))
        );
    }

    #[test]
    fn ranges_are_cut_to_the_file_as_tornado_does() {
        assert_eq!(satisfiable((Some(0), Some(10)), 100), Some((0, 10)));
        assert_eq!(satisfiable((Some(-10), None), 100), Some((90, 100)));
        assert_eq!(satisfiable((Some(-1000), None), 100), Some((0, 100)));
        assert_eq!(satisfiable((Some(90), Some(1000)), 100), Some((90, 100)));
        assert_eq!(satisfiable((None, None), 100), Some((0, 100)));
        assert_eq!(satisfiable((Some(100), None), 100), None);
        assert_eq!(satisfiable((Some(5), Some(5)), 100), None);
        assert_eq!(satisfiable((None, Some(0)), 100), None);
        assert_eq!(satisfiable((Some(0), None), 0), None);
        assert_eq!(satisfiable((Some(i128::MAX), None), 100), None);
    }
}
