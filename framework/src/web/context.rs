//! `Handler`: the framework's half of Tornado's `self`, passed to every hook.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::sync::LazyLock;
use std::time::{Duration, SystemTime};

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use sha1::{Digest, Sha1};

use super::cookies::{
    format_set_cookie, is_legal_cookie_name, is_unsafe_attribute, parse_cookie, CookieOptions,
};
use super::current_user::CurrentUser;
use super::gzip::{self, FirstChunk, GZipContentEncoding};
use super::xsrf::XsrfState;

use super::{Application, Error, HTTPError, Result, Settings};
use crate::escape::{hex_pair, json_encode_into, xhtml_escape};
use crate::http1connection::{with_http_date, HTTP1Connection, WaitForClose, ZERO_COPY_MIN};
use crate::httputil::{
    classify, clear_map, is_tchar, reason_phrase, FieldName, HTTPHeaders, HTTPServerRequest,
};

/// The per-request context: the request, and the response being built.
///
/// Every handler hook gets `cx: &mut Handler`. Your own fields stay on your
/// handler's `self`; Tornado's `RequestHandler` methods (`write`, `flush`,
/// `finish`, `get_argument`, `set_header`, `request` ...) are here, with
/// the same names and behaviour.
///
/// # Tornado
/// The framework side of `tornado.web.RequestHandler`.
pub struct Handler {
    /// The request.
    pub request: HTTPServerRequest,
    application: Application,
    status: u16,
    reason: Cow<'static, str>,
    headers: HTTPHeaders,
    write_buffer: BytesMut,
    /// A chunk given to [`write_bytes`](Handler::write_bytes) while nothing
    /// else was buffered: sent as it is, without a copy. Only ever set while
    /// `write_buffer` is empty; a later write copies it in first.
    shared_chunk: Option<Bytes>,
    /// Where a header line's name and value are formatted and checked
    /// before they are copied into `headers`; kept for its capacity.
    header_scratch: String,
    headers_written: bool,
    finished: bool,
    /// A `set_header`, `add_header` or `clear_header` call since the last
    /// `clear` (or the request's start).
    headers_edited: bool,
    /// The headers as the handler's `set_default_headers` left them, when it
    /// changed Tornado's defaults (`has_handler_defaults`): what `clear`
    /// starts from (Tornado's `clear` runs `set_default_headers` again).
    /// Kept between requests for its capacity.
    handler_defaults: HTTPHeaders,
    has_handler_defaults: bool,
    /// `Set-Cookie` values by cookie name, in the order first set.
    new_cookies: Vec<(String, String)>,
    request_cookies: Option<Vec<(String, String)>>,
    pub(crate) path_args: Vec<String>,
    pub(crate) path_kwargs: HashMap<String, String>,
    /// The status the request was refused with before its handler ran (a
    /// path argument that is not UTF-8, a body that does not parse): the
    /// handler answers it in place of `prepare` and the method.
    pub(crate) refusal: Option<u16>,
    /// The handler type's `compute_etag`.
    pub(crate) etag_fn: fn(&Handler) -> Option<String>,
    /// The handler type's `get_current_user`.
    pub(crate) current_user_fn: fn(&mut Handler) -> Result<Option<String>>,
    /// The current user, once looked up or set.
    pub(crate) current_user: CurrentUser,
    /// The XSRF token once read or made.
    pub(crate) xsrf: XsrfState,
    /// The response's gzip stream (`compress_response`), from the first
    /// flush of a compressed response to its `finish`.
    gzip: Option<Box<GZipContentEncoding>>,
}

/// The value of Tornado's `Server` header, naming this framework.
const SERVER: &str = concat!("tornado-rs/", env!("CARGO_PKG_VERSION"));

/// Tornado's default headers but `Date`, copied into every response in one go.
static DEFAULT_HEADERS: LazyLock<HTTPHeaders> = LazyLock::new(|| {
    let mut headers = HTTPHeaders::new();
    headers.add("Server", SERVER);
    headers.add("Content-Type", "text/html; charset=UTF-8");
    // Tornado's third default; `clear` writes the current date over this one.
    headers.add("Date", "Thu, 01 Jan 1970 00:00:00 GMT");
    headers
});

thread_local! {
    /// The `String` of the last `Etag` written, lent to the next
    /// [`Handler::default_etag`] so that computing one allocates nothing.
    static SPARE_ETAG: Cell<String> = const { Cell::new(String::new()) };
}

/// Appends `name` with each dash-separated word capitalized (`content-type`
/// → `Content-Type`), as Tornado's `HTTPHeaders` normalizes names, in the
/// same pass checking that it is a token. Returns the name as [`classify`]
/// finds it, or `None` (and `out` holds part of the name) for an empty name
/// or one with a non-token byte.
fn push_header_name(out: &mut String, name: &str) -> Option<FieldName> {
    let known = classify(name.as_bytes());
    if let Some(spelled) = known.spelling() {
        out.push_str(spelled);
        return Some(known);
    }
    let from = out.len();
    out.push_str(name);
    let pushed = out.get_mut(from..)?;
    pushed.make_ascii_lowercase();
    let mut word = 0;
    loop {
        if let Some(first) = pushed.get_mut(word..word + 1) {
            first.make_ascii_uppercase();
        }
        match pushed.get(word..).and_then(|rest| rest.find('-')) {
            Some(dash) => word += dash + 1,
            None => break,
        }
    }
    (!name.is_empty() && name.bytes().all(is_tchar)).then_some(known)
}

/// True if a header value could inject a line (Tornado's `_VALID_HEADER_CHARS`:
/// tab, printable ASCII and bytes from 0x80).
fn is_unsafe_header_value(value: &[u8]) -> bool {
    // Folded into one pass that the compiler vectorizes: no early exit.
    value.iter().fold(false, |bad, &b| {
        bad | ((b < 0x20 && b != b'\t') || b == 0x7f)
    })
}

/// Replaces control characters (except whitespace) with spaces, as Tornado
/// does to argument values.
fn remove_control_chars(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if matches!(c, '\x00'..='\x08' | '\x0e'..='\x1f') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

impl Handler {
    /// A context for `application` with an empty request, ready for
    /// [`reset`](Handler::reset).
    pub(crate) fn blank(application: Application) -> Handler {
        Handler {
            request: HTTPServerRequest::empty(),
            application,
            status: 200,
            reason: Cow::Borrowed(""),
            headers: HTTPHeaders::new(),
            write_buffer: BytesMut::new(),
            shared_chunk: None,
            header_scratch: String::new(),
            headers_written: false,
            finished: false,
            headers_edited: false,
            handler_defaults: HTTPHeaders::new(),
            has_handler_defaults: false,
            new_cookies: Vec::new(),
            request_cookies: None,
            path_args: Vec::new(),
            path_kwargs: HashMap::new(),
            refusal: None,
            etag_fn: default_compute_etag,
            current_user_fn: no_current_user,
            current_user: CurrentUser::Unknown,
            xsrf: XsrfState::default(),
            gzip: None,
        }
    }

    /// Readies this context for a new request of `application` (whose
    /// head the caller puts in `request`): the response state as a fresh
    /// `Handler`'s, the buffers' capacity kept.
    pub(crate) fn reset(&mut self, application: &Application) {
        if !Application::ptr_eq(&self.application, application) {
            self.application = application.clone();
        }
        self.headers_written = false;
        self.finished = false;
        self.has_handler_defaults = false;
        self.new_cookies.clear();
        self.request_cookies = None;
        self.path_args.clear();
        clear_map(&mut self.path_kwargs);
        self.refusal = None;
        self.etag_fn = default_compute_etag;
        self.current_user_fn = no_current_user;
        self.current_user = CurrentUser::Unknown;
        self.xsrf = XsrfState::default();
        self.clear();
    }

    /// Lets go of everything the finished request shares with others (its
    /// connection, the bytes of its head and body, the response's header
    /// slices), so the context can wait in a pool holding only capacity.
    pub(crate) fn recycle(&mut self) {
        self.request.recycle();
        self.headers.clear();
        self.discard_body();
        // A `Cookie` line can hold thousands of pairs.
        self.request_cookies = None;
        self.new_cookies.clear();
        // Who the user was is the request's, not the pool's.
        self.current_user = CurrentUser::Unknown;
        self.xsrf = XsrfState::default();
        // A deflate state is a few hundred KiB: not kept in the pool (a
        // response normally drops it at `finish`; every pooled context
        // passes here before its next request).
        self.gzip = None;
    }

    /// Whether the buffers this context grew are small enough to keep in a
    /// pool (a large unflushed page is not kept around).
    pub(crate) fn fits_in_pool(&self) -> bool {
        const MAX_KEPT: usize = 64 * 1024;
        self.write_buffer.capacity() <= MAX_KEPT
            && self.header_scratch.capacity() <= MAX_KEPT
            && self.headers.buffer_capacity() <= MAX_KEPT
            && self.handler_defaults.buffer_capacity() <= MAX_KEPT
    }

    /// The application this request is routed by.
    ///
    /// # Tornado
    /// `RequestHandler.application`.
    pub fn application(&self) -> &Application {
        &self.application
    }

    /// The application's settings.
    ///
    /// # Tornado
    /// `RequestHandler.settings`.
    pub fn settings(&self) -> &Settings {
        self.application.settings()
    }

    /// Positional path arguments: the route's capture groups, URL-unescaped.
    ///
    /// # Tornado
    /// `RequestHandler.path_args`.
    pub fn path_args(&self) -> &[String] {
        &self.path_args
    }

    /// Named path arguments: the route's named groups, URL-unescaped.
    ///
    /// # Tornado
    /// `RequestHandler.path_kwargs`.
    pub fn path_kwargs(&self) -> &HashMap<String, String> {
        &self.path_kwargs
    }

    /// The connection, for what the handler API does not cover.
    ///
    /// # Tornado
    /// `RequestHandler.request.connection`; `None` for a request built
    /// without one.
    pub fn connection(&self) -> Option<&HTTP1Connection> {
        self.request.connection.as_ref()
    }

    /// Resets the response: status 200, the default headers (Tornado's,
    /// and those the handler's `set_default_headers` set at the start of
    /// the request), no body. Cookies set with `set_cookie` are kept.
    ///
    /// # Tornado
    /// `RequestHandler.clear()`, which runs `set_default_headers` again;
    /// here its headers as it first set them come back.
    pub fn clear(&mut self) {
        let defaults = if self.has_handler_defaults {
            &self.handler_defaults
        } else {
            &DEFAULT_HEADERS
        };
        self.headers.clone_from(defaults);
        self.headers_edited = false;
        with_http_date(|date| {
            // An IMF-fixdate is always the template's 29 bytes: in place.
            if !self.headers.overwrite_known(FieldName::Date, date) {
                self.headers.set_named(FieldName::Date, b"Date", date);
            }
        });
        self.discard_body();
        self.status = 200;
        self.reason = Cow::Borrowed("OK");
    }

    /// Remembers the headers the handler's `set_default_headers` just set
    /// (if it changed any), for [`clear`](Handler::clear) to restore.
    pub(crate) fn keep_handler_defaults(&mut self) {
        if self.headers_edited {
            self.handler_defaults.clone_from(&self.headers);
            self.has_handler_defaults = true;
        }
    }

    /// Sets the status; the reason phrase is the standard one (or `Unknown`).
    ///
    /// # Tornado
    /// `RequestHandler.set_status(status_code)`.
    pub fn set_status(&mut self, status: u16) {
        self.status = status;
        self.reason = Cow::Borrowed(reason_phrase(status).unwrap_or("Unknown"));
    }

    /// Sets the status with a custom reason phrase. A reason that is not a
    /// valid reason phrase, or contains `<`, becomes `Unknown` (Tornado's rule).
    ///
    /// # Tornado
    /// `RequestHandler.set_status(status_code, reason)`.
    pub fn set_status_reason(&mut self, status: u16, reason: &str) {
        self.status = status;
        // Tornado's `(?:[\t ]|[\x21-\x7E]|[\x80-\xFF])+` on the characters:
        // not empty, nothing past U+00FF (Latin-1, what it writes them in).
        let valid = !reason.is_empty()
            && !reason.contains('<')
            && reason
                .chars()
                .all(|c| matches!(c, '\t' | ' ' | '\x21'..='\x7e' | '\u{80}'..='\u{ff}'));
        self.reason = if valid {
            Cow::Owned(reason.to_owned())
        } else {
            Cow::Borrowed("Unknown")
        };
    }

    /// The response status.
    ///
    /// # Tornado
    /// `RequestHandler.get_status()`.
    pub fn get_status(&self) -> u16 {
        self.status
    }

    /// The response reason phrase.
    ///
    /// # Tornado
    /// `RequestHandler._reason` (private in Tornado).
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// Sets a response header, replacing any value it had.
    ///
    /// # Errors
    /// A value with CR, LF or another control character (header injection) is
    /// refused with a 500-class error, as Tornado raises `ValueError`.
    ///
    /// # Tornado
    /// `RequestHandler.set_header(name, value)`.
    pub fn set_header(&mut self, name: &str, value: impl fmt::Display) -> Result {
        let (known, name_len) = self.header_line(name, value)?;
        self.headers_edited = true;
        let (name, value) = self.header_scratch.as_bytes().split_at(name_len);
        self.headers.set_named(known, name, value);
        Ok(())
    }

    /// Adds a response header, keeping earlier values of the same name.
    ///
    /// # Tornado
    /// `RequestHandler.add_header(name, value)`.
    pub fn add_header(&mut self, name: &str, value: impl fmt::Display) -> Result {
        let (known, name_len) = self.header_line(name, value)?;
        self.headers_edited = true;
        let (name, value) = self.header_scratch.as_bytes().split_at(name_len);
        self.headers.add_named(known, name, value);
        Ok(())
    }

    /// [`set_header`](Handler::set_header) for a field the framework sets
    /// itself: the name is `known`'s spelling and the value a constant with
    /// no control bytes, so neither is formatted nor checked again.
    fn set_own_header(&mut self, known: FieldName, value: &'static str) {
        debug_assert!(!is_unsafe_header_value(value.as_bytes()));
        let name = known.spelling().unwrap_or_default();
        self.headers_edited = true;
        self.headers
            .set_named(known, name.as_bytes(), value.as_bytes());
    }

    /// Writes a header line's normalized name, then its formatted value,
    /// into `header_scratch`, refusing a name that is not a token and a
    /// value that could inject a line. Returns the name as [`classify`]
    /// finds it, and its length.
    fn header_line(&mut self, name: &str, value: impl fmt::Display) -> Result<(FieldName, usize)> {
        let scratch = &mut self.header_scratch;
        scratch.clear();
        let Some(known) = push_header_name(scratch, name) else {
            return Err(unsafe_header());
        };
        let name_len = scratch.len();
        if write!(scratch, "{value}").is_err()
            || is_unsafe_header_value(scratch.as_bytes().get(name_len..).unwrap_or_default())
        {
            return Err(unsafe_header());
        }
        Ok((known, name_len))
    }

    /// Removes a response header.
    ///
    /// # Tornado
    /// `RequestHandler.clear_header(name)`.
    pub fn clear_header(&mut self, name: &str) {
        self.headers_edited = true;
        self.headers.remove(name);
    }

    /// The response headers set so far.
    ///
    /// # Tornado
    /// `RequestHandler._headers` (private in Tornado).
    pub fn response_headers(&self) -> &HTTPHeaders {
        &self.headers
    }

    /// Appends to the response body; nothing is sent until
    /// [`flush`](Handler::flush) or [`finish`](Handler::finish).
    ///
    /// # Errors
    /// After `finish`, as Tornado raises `RuntimeError`.
    ///
    /// # Tornado
    /// `RequestHandler.write(chunk)` for `str` and `bytes`; for a `dict` use
    /// [`write_json`](Handler::write_json).
    pub fn write(&mut self, chunk: impl AsRef<[u8]>) -> Result {
        if self.finished {
            return Err(misuse("Cannot write() after finish()"));
        }
        self.unshare_chunk();
        self.write_buffer.extend_from_slice(chunk.as_ref());
        Ok(())
    }

    /// Appends `chunk` to the response body without copying it, as Tornado's
    /// `write` appends a `bytes` object: a handler streaming slices of one
    /// buffer (a file read into `Bytes`, a shared pattern) then holds each
    /// chunk once, not twice, until the kernel takes it.
    ///
    /// The chunk is sent as it is when nothing else is buffered with it
    /// (the usual `write_bytes` + `flush` loop); mixed with other writes
    /// before a flush, it is copied like them.
    ///
    /// # Errors
    /// After `finish`, as Tornado raises `RuntimeError`.
    ///
    /// # Tornado
    /// `RequestHandler.write(chunk)` with a `bytes` chunk.
    pub fn write_bytes(&mut self, chunk: Bytes) -> Result {
        if self.finished {
            return Err(misuse("Cannot write() after finish()"));
        }
        if chunk.is_empty() {
            return Ok(());
        }
        if self.write_buffer.is_empty() && self.shared_chunk.is_none() {
            self.shared_chunk = Some(chunk);
        } else {
            self.unshare_chunk();
            self.write_buffer.extend_from_slice(&chunk);
        }
        Ok(())
    }

    /// Copies a chunk held by [`write_bytes`](Handler::write_bytes) into
    /// `write_buffer`, so that more can be appended after it.
    fn unshare_chunk(&mut self) {
        if let Some(chunk) = self.shared_chunk.take() {
            self.write_buffer.extend_from_slice(&chunk);
        }
    }

    /// Drops the buffered body (copied and shared alike).
    fn discard_body(&mut self) {
        self.write_buffer.clear();
        self.shared_chunk = None;
    }

    /// Writes `value` as JSON, exactly as Tornado's `write(dict)` does
    /// (its `json_encode` bytes), and sets `Content-Type:
    /// application/json; charset=UTF-8`.
    ///
    /// # Tornado
    /// `RequestHandler.write(chunk)` with a `dict`. Tornado refuses a `list`
    /// ("for security reasons"); any `Serialize` value is accepted here.
    pub fn write_json<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        if self.finished {
            return Err(misuse("Cannot write() after finish()"));
        }
        self.unshare_chunk();
        let before = self.write_buffer.len();
        if let Err(err) = json_encode_into(value, (&mut self.write_buffer).writer()) {
            // Nothing of a value that failed halfway is sent.
            self.write_buffer.truncate(before);
            return Err(err.into());
        }
        self.set_own_header(FieldName::ContentType, "application/json; charset=UTF-8");
        Ok(())
    }

    /// Bytes written and not yet flushed.
    ///
    /// # Tornado
    /// `RequestHandler._write_buffer` (private in Tornado).
    pub fn write_buffer(&self) -> &[u8] {
        match &self.shared_chunk {
            Some(chunk) => chunk,
            None => &self.write_buffer,
        }
    }

    /// True once the status line and headers have been sent.
    ///
    /// # Tornado
    /// `RequestHandler._headers_written` (private in Tornado).
    pub fn headers_written(&self) -> bool {
        self.headers_written
    }

    /// True once [`finish`](Handler::finish) has run, or once the request
    /// ended without a complete response: the client left, or an error after
    /// the headers went out cut the body. `on_finish` sees it true in every
    /// case.
    ///
    /// # Tornado
    /// `RequestHandler._finished` (private in Tornado).
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// Sends what was written so far; the first flush sends the status line
    /// and headers. Resolves once the kernel holds the bytes: while the client
    /// reads slowly it waits, so a handler streaming a large file holds about
    /// one chunk in memory.
    ///
    /// Without a `Content-Length` set by the handler, a response flushed
    /// before `finish` is sent chunked (HTTP/1.1) or close-delimited (HTTP/1.0).
    /// With `compress_response`, what is flushed is compressed and
    /// sync-flushed, so the client can decode it as it arrives.
    ///
    /// # Errors
    /// [`Error::StreamClosed`] once the client has gone (then
    /// `on_connection_close` runs after the method returns).
    ///
    /// # Tornado
    /// `await RequestHandler.flush()`.
    pub async fn flush(&mut self) -> Result {
        self.encode_pending(false)?;
        let Some(conn) = self.request.connection.clone() else {
            return Ok(());
        };
        conn.flush().await?;
        Ok(())
    }

    /// Encodes the buffered body (and, the first time, the head) into the
    /// connection's output without sending it; `finishing` when it is the
    /// last of the body.
    fn encode_pending(&mut self, finishing: bool) -> Result {
        let mut shared = self.shared_chunk.take();
        // Tornado's output transforms: only with `compress_response`.
        if self.gzip.is_some()
            || (!self.headers_written && self.application.settings().compress_response)
        {
            shared = self.transform_output(shared, finishing)?;
        }
        let result = match self.request.connection.clone() {
            Some(conn) => self.encode_body(&conn, shared),
            None => Ok(()),
        };
        self.write_buffer.clear();
        result
    }

    /// The body piece `encode_pending` is to send (`shared`, or else the
    /// write buffer) as `compress_response` makes it: compressed, or
    /// as it is (`shared` returned).
    ///
    /// # Tornado
    /// The `_transforms` loop of `RequestHandler.flush`.
    #[inline(never)] // out of the path of the responses it does not touch
    fn transform_output(
        &mut self,
        shared: Option<Bytes>,
        finishing: bool,
    ) -> Result<Option<Bytes>> {
        let first = (!self.headers_written).then_some(FirstChunk {
            status: self.status,
            request: &self.request.headers,
            headers: &mut self.headers,
        });
        let chunk = shared.as_deref().unwrap_or(&self.write_buffer[..]);
        match gzip::transform(&mut self.gzip, first, chunk, finishing) {
            Ok(Some(compressed)) => {
                self.write_buffer.clear();
                Ok(Some(compressed))
            }
            Ok(None) => Ok(shared),
            Err(err) => {
                self.gzip = None;
                Err(err.into())
            }
        }
    }

    /// [`encode_pending`](Self::encode_pending)'s work, the body piece being
    /// `shared` or else the write buffer: a large piece is queued as it is
    /// (no copy), a small one is copied into the output, with the head the
    /// first time (no reference counted buffer to make and drop).
    fn encode_body(&mut self, conn: &HTTP1Connection, shared: Option<Bytes>) -> Result {
        // A HEAD response is its head only (Tornado drops the body).
        let head_only = self.request.method == "HEAD";
        let len = shared.as_ref().map_or(self.write_buffer.len(), Bytes::len);
        let (large, shared) = if !head_only && len >= ZERO_COPY_MIN {
            let piece = shared.unwrap_or_else(|| self.write_buffer.split().freeze());
            (Some(piece), None)
        } else {
            (None, shared)
        };
        let small: &[u8] = if head_only || large.is_some() {
            &[]
        } else {
            shared.as_deref().unwrap_or(&self.write_buffer[..])
        };
        if !self.headers_written {
            if (100..200).contains(&self.status)
                && !(self.status == 101 && conn.switching_protocols())
            {
                // An informational status is not an answer: the client
                // would wait for the final one. A 101 switches the
                // connection to another protocol: only an upgrade that
                // takes the stream over (`websocket`) may send one.
                return Err(misuse("A 1xx status cannot end a response"));
            }
            // The handler's own lines, to go back to if the head is refused
            // (the cookies then stay for the error page); most responses
            // set no cookie.
            let own_lines = (!self.new_cookies.is_empty()).then(|| self.headers.len());
            for (_, cookie) in &self.new_cookies {
                self.headers.add("Set-Cookie", cookie);
            }
            // Every field went through `header_line` or is the framework's
            // own. A head the codec refuses (a `Content-Length` that is not
            // a number, a status it cannot write) is not written at all, so
            // the handler's error can still be answered with an error page.
            let then = large.as_ref().map_or(0, Bytes::len);
            let written =
                conn.write_checked_headers(self.status, &self.reason, &self.headers, small, then);
            if let Err(err) = written {
                // An error page may follow, compressed or not anew.
                self.gzip = None;
                if let Some(own_lines) = own_lines {
                    self.headers.truncate(own_lines);
                }
                return Err(err.into());
            }
            if own_lines.is_some() {
                self.new_cookies.clear();
            }
            self.headers_written = true;
        } else if !small.is_empty() {
            conn.write(small)?;
        }
        if let Some(large) = large {
            conn.write_bytes(large)?;
        }
        Ok(())
    }

    /// Ends the response. If nothing was flushed yet, sets `Content-Length`
    /// and (for a 200 GET or HEAD) the `Etag`, answering 304 if the client's
    /// `If-None-Match` matches it. The connection sends the rest once the
    /// handler method returns.
    ///
    /// # Errors
    /// If called twice, as Tornado raises `RuntimeError`.
    ///
    /// # Tornado
    /// `RequestHandler.finish()`. `finish(chunk)` is `write(chunk)?` then `finish()`.
    pub fn finish(&mut self) -> Result {
        if self.finished {
            return Err(misuse("finish() called twice"));
        }
        if !self.headers_written {
            if self.status == 200
                && matches!(self.request.method.as_str(), "GET" | "HEAD")
                && self.headers.get_known(FieldName::Etag).is_none()
            {
                if let Some(etag) = (self.etag_fn)(self) {
                    let unsafe_value = is_unsafe_header_value(etag.as_bytes());
                    if !unsafe_value {
                        // Absent, checked above.
                        let value = etag.as_bytes();
                        self.headers.add_named(FieldName::Etag, b"Etag", value);
                    }
                    SPARE_ETAG.with(|spare| spare.set(etag));
                    if unsafe_value {
                        return Err(unsafe_header());
                    }
                    if self.check_etag_header() {
                        self.discard_body();
                        self.set_status(304);
                    }
                }
            }
            if should_not_send_content(self.status) {
                if !self.write_buffer().is_empty() {
                    return Err(misuse("Cannot send a body with this status"));
                }
                for name in ["Content-Encoding", "Content-Language", "Content-Type"] {
                    self.headers.remove(name);
                }
            } else if let Some(declared) = self.headers.get_known(FieldName::ContentLength) {
                // The whole body is here: a length it does not match is the
                // handler's mistake, answered with a 500 page while nothing
                // is out (a HEAD response announces the GET body's length).
                let body = self.write_buffer().len() as u64;
                // Read as the codec reads it (padding allowed); one it
                // cannot read at all, it refuses itself.
                let declared = crate::http1::parse_length(declared);
                if self.request.method != "HEAD" && declared.is_some_and(|d| d != body) {
                    return Err(misuse("Content-Length does not match the body written"));
                }
            } else {
                let mut digits = itoa::Buffer::new();
                let length = digits.format(self.write_buffer().len());
                let length = length.as_bytes();
                self.headers
                    .add_named(FieldName::ContentLength, b"Content-Length", length);
            }
        }
        self.encode_pending(true)?;
        if let Some(conn) = &self.request.connection {
            conn.finish()?;
        }
        self.finished = true;
        Ok(())
    }

    /// Tornado's default `compute_etag`: `"<sha1 hex of the body>"`.
    ///
    /// # Tornado
    /// The default `RequestHandler.compute_etag()`.
    pub fn default_etag(&self) -> String {
        let digest = Sha1::digest(self.write_buffer());
        let mut quoted = [b'"'; 42];
        for (pair, byte) in quoted[1..41].chunks_exact_mut(2).zip(digest) {
            pair.copy_from_slice(hex_pair(byte));
        }
        let mut etag = SPARE_ETAG.with(Cell::take);
        etag.clear();
        // ASCII only, so always valid UTF-8.
        etag.push_str(std::str::from_utf8(&quoted).unwrap_or_default());
        etag
    }

    /// True if the request's `If-None-Match` matches the response's `Etag`
    /// (strong or weak, a list, or `*`).
    ///
    /// # Tornado
    /// `RequestHandler.check_etag_header()`.
    pub fn check_etag_header(&self) -> bool {
        // Most requests have no If-None-Match: looked up first.
        if self
            .request
            .headers
            .get_known(FieldName::IfNoneMatch)
            .is_none()
        {
            return false;
        }
        let Some(computed) = self.headers.get_known(FieldName::Etag) else {
            return false;
        };
        fn strong(tag: &[u8]) -> &[u8] {
            tag.strip_prefix(b"W/").unwrap_or(tag)
        }
        // Every line of the field, as Tornado reads them joined by commas.
        let mut etags = (self.request.headers.iter_known())
            .filter(|(name, _)| *name == FieldName::IfNoneMatch)
            .flat_map(|(_, line)| find_etags(line))
            .peekable();
        match etags.peek() {
            None => false,
            _ if computed.is_empty() => false,
            Some(&b"*") => true,
            Some(_) => etags.any(|tag| strong(tag) == strong(computed)),
        }
    }

    /// Marks the request over when its response cannot be completed (the
    /// client left, or the server cut the body after an error): what
    /// Tornado's `finish()` amounts to on a closed stream, whose writes
    /// fail quietly.
    pub(crate) fn end_unsent(&mut self) {
        self.finished = true;
        self.gzip = None;
    }

    /// Redirects to `url` with 302 (or 301 if `permanent`) and finishes.
    ///
    /// # Errors
    /// If headers were already sent.
    ///
    /// # Tornado
    /// `RequestHandler.redirect(url, permanent=False)`.
    pub fn redirect(&mut self, url: &str, permanent: bool) -> Result {
        self.redirect_with_status(url, if permanent { 301 } else { 302 })
    }

    /// Redirects with an explicit 3xx `status`.
    ///
    /// # Tornado
    /// `RequestHandler.redirect(url, status=status)`.
    pub fn redirect_with_status(&mut self, url: &str, status: u16) -> Result {
        if self.headers_written {
            return Err(misuse("Cannot redirect after headers have been written"));
        }
        if !(300..=399).contains(&status) {
            return Err(misuse("redirect status must be 3xx"));
        }
        self.set_status(status);
        self.set_header("Location", url)?;
        self.finish()
    }

    /// The value of argument `name` from the query or the body: the last one
    /// if repeated, control characters replaced by spaces, whitespace stripped.
    ///
    /// # Errors
    /// 400 `MissingArgumentError` if absent; 400 if not valid UTF-8.
    ///
    /// # Tornado
    /// `RequestHandler.get_argument(name)`; with a default,
    /// `cx.get_argument(name).unwrap_or_else(|_| default.into())`, or
    /// [`get_argument_or`](Handler::get_argument_or).
    pub fn get_argument(&self, name: &str) -> Result<String> {
        last_or_missing(name, self.get_arguments(name)?)
    }

    /// [`get_argument`](Handler::get_argument), or `default` when absent.
    ///
    /// # Tornado
    /// `RequestHandler.get_argument(name, default)`.
    pub fn get_argument_or(&self, name: &str, default: &str) -> Result<String> {
        Ok(self
            .get_arguments(name)?
            .pop()
            .unwrap_or_else(|| default.to_owned()))
    }

    /// Every value of argument `name` (query and body), cleaned as in
    /// [`get_argument`](Handler::get_argument).
    ///
    /// # Tornado
    /// `RequestHandler.get_arguments(name)`.
    pub fn get_arguments(&self, name: &str) -> Result<Vec<String>> {
        decode_arguments(name, self.request.arguments.get(name))
    }

    /// The last value of query argument `name`.
    ///
    /// # Tornado
    /// `RequestHandler.get_query_argument(name)`.
    pub fn get_query_argument(&self, name: &str) -> Result<String> {
        last_or_missing(name, self.get_query_arguments(name)?)
    }

    /// [`get_query_argument`](Handler::get_query_argument), or `default`
    /// when absent (a value that is not UTF-8 is still a 400).
    ///
    /// # Tornado
    /// `RequestHandler.get_query_argument(name, default)`.
    pub fn get_query_argument_or(&self, name: &str, default: &str) -> Result<String> {
        Ok(self
            .get_query_arguments(name)?
            .pop()
            .unwrap_or_else(|| default.to_owned()))
    }

    /// Every value of query argument `name`.
    ///
    /// # Tornado
    /// `RequestHandler.get_query_arguments(name)`.
    pub fn get_query_arguments(&self, name: &str) -> Result<Vec<String>> {
        decode_arguments(name, self.request.query_arguments.get(name))
    }

    /// The last value of body argument `name`.
    ///
    /// # Tornado
    /// `RequestHandler.get_body_argument(name)`.
    pub fn get_body_argument(&self, name: &str) -> Result<String> {
        last_or_missing(name, self.get_body_arguments(name)?)
    }

    /// [`get_body_argument`](Handler::get_body_argument), or `default`
    /// when absent (a value that is not UTF-8 is still a 400).
    ///
    /// # Tornado
    /// `RequestHandler.get_body_argument(name, default)`.
    pub fn get_body_argument_or(&self, name: &str, default: &str) -> Result<String> {
        Ok(self
            .get_body_arguments(name)?
            .pop()
            .unwrap_or_else(|| default.to_owned()))
    }

    /// Every value of body argument `name`.
    ///
    /// # Tornado
    /// `RequestHandler.get_body_arguments(name)`.
    pub fn get_body_arguments(&self, name: &str) -> Result<Vec<String>> {
        decode_arguments(name, self.request.body_arguments.get(name))
    }

    /// The request cookie `name`, if sent.
    ///
    /// # Tornado
    /// `RequestHandler.get_cookie(name)`.
    pub fn get_cookie(&mut self, name: &str) -> Option<String> {
        self.cookies()
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    /// All request cookies, in the order sent. A byte that is not UTF-8
    /// (a cookie another site on the domain set) becomes U+FFFD, and costs
    /// no other cookie.
    ///
    /// # Tornado
    /// `RequestHandler.cookies`.
    pub fn cookies(&mut self) -> &[(String, String)] {
        self.request_cookies.get_or_insert_with(|| {
            self.request
                .headers
                .get_list_bytes("Cookie")
                .flat_map(|line| parse_cookie(&String::from_utf8_lossy(line)))
                .collect()
        })
    }

    /// Sets a cookie with Tornado's defaults (`Path=/`).
    ///
    /// # Tornado
    /// `RequestHandler.set_cookie(name, value)`.
    pub fn set_cookie(&mut self, name: &str, value: &str) -> Result {
        self.set_cookie_with(name, value, &CookieOptions::default())
    }

    /// Sets a cookie with options; the `Set-Cookie` value is byte-for-byte
    /// what Tornado (Python's `http.cookies`) writes.
    ///
    /// # Errors
    /// A name Python's `SimpleCookie` refuses (`a=b`, `café`, `path`), a
    /// value with control characters or spaces, or an attribute with those
    /// or `;`, is refused, as Tornado raises.
    ///
    /// # Tornado
    /// `RequestHandler.set_cookie(name, value, domain=..., expires=..., path="/", ...)`.
    pub fn set_cookie_with(&mut self, name: &str, value: &str, options: &CookieOptions) -> Result {
        let bad_attribute = [
            options.domain.as_deref(),
            options.path.as_deref(),
            options.samesite.as_deref(),
        ]
        .into_iter()
        .flatten()
        .any(is_unsafe_attribute);
        if !is_legal_cookie_name(name) || bad_attribute || value.bytes().any(|b| b <= 0x20) {
            return Err(misuse("Invalid cookie name, value or attribute"));
        }
        let cookie = format_set_cookie(name, value, options);
        // Set again, it moves last, as Tornado deletes and re-adds it.
        self.new_cookies.retain(|(n, _)| n != name);
        self.new_cookies.push((name.to_owned(), cookie));
        Ok(())
    }

    /// Deletes cookie `name` (it expires a year ago), for `Path=/`.
    ///
    /// # Tornado
    /// `RequestHandler.clear_cookie(name)`.
    pub fn clear_cookie(&mut self, name: &str) -> Result {
        self.clear_cookie_with(name, &CookieOptions::default())
    }

    /// Deletes cookie `name`; `options` must name the same domain and path
    /// it was set with (`expires` and `max_age` are ignored).
    ///
    /// # Tornado
    /// `RequestHandler.clear_cookie(name, **kwargs)`, which raises `TypeError`
    /// for `expires` or `max_age` where this ignores them.
    pub fn clear_cookie_with(&mut self, name: &str, options: &CookieOptions) -> Result {
        let expired = CookieOptions {
            expires: SystemTime::now().checked_sub(Duration::from_secs(365 * 86_400)),
            expires_days: None,
            max_age: None,
            ..options.clone()
        };
        self.set_cookie_with(name, "", &expired)
    }

    /// Deletes every cookie the request carries (for `Path=/`), as far as
    /// the server can: cookies set for another path or domain need
    /// [`clear_all_cookies_with`](Handler::clear_all_cookies_with) and
    /// those options.
    ///
    /// # Errors
    /// As [`clear_cookie`](Handler::clear_cookie).
    ///
    /// # Tornado
    /// `RequestHandler.clear_all_cookies()`.
    pub fn clear_all_cookies(&mut self) -> Result {
        self.clear_all_cookies_with(&CookieOptions::default())
    }

    /// [`clear_all_cookies`](Handler::clear_all_cookies) for the domain and
    /// path of `options`. A request cookie whose name `set_cookie` would
    /// refuse is skipped, as Tornado's `request.cookies` never holds one.
    ///
    /// # Errors
    /// As [`clear_cookie_with`](Handler::clear_cookie_with).
    ///
    /// # Tornado
    /// `RequestHandler.clear_all_cookies(**kwargs)`.
    pub fn clear_all_cookies_with(&mut self, options: &CookieOptions) -> Result {
        let mut names: Vec<String> = Vec::new();
        for (name, _) in self.cookies() {
            if is_legal_cookie_name(name) && !names.contains(name) {
                names.push(name.clone());
            }
        }
        for name in names {
            self.clear_cookie_with(&name, options)?;
        }
        Ok(())
    }

    /// Sends the error page for `status` (through the handler's
    /// `write_error` when called by the framework) and finishes.
    ///
    /// # Tornado
    /// `RequestHandler.send_error(status_code)`. Called from a handler, this
    /// writes the default page; to get a custom page from your own
    /// `write_error`, return `Err(HTTPError::new(status).into())` instead.
    pub fn send_error(&mut self, status: u16) -> Result {
        self.send_error_with_reason(status, None)
    }

    /// [`send_error`](Handler::send_error) with `reason` in the status line
    /// and the page in place of the status's standard phrase.
    ///
    /// # Tornado
    /// `RequestHandler.send_error(status_code, reason=reason)`.
    pub fn send_error_with_reason(&mut self, status: u16, reason: Option<&str>) -> Result {
        if !self.prepare_error(status, reason) {
            return Ok(());
        }
        self.write_default_error(status, None)
    }

    /// Readies the response for an error page; `false` if it cannot be sent
    /// (headers already out: the response is ended instead).
    pub(crate) fn prepare_error(&mut self, status: u16, reason: Option<&str>) -> bool {
        if self.headers_written {
            log::error!(target: "tornado.general", "Cannot send error response after headers written");
            if !self.finished {
                if let Err(err) = self.finish() {
                    log::error!(target: "tornado.general", "Failed to flush partial response: {err}");
                }
            }
            return false;
        }
        self.clear();
        // An empty reason is no reason, as Tornado's `if exception.reason`.
        match reason.filter(|reason| !reason.is_empty()) {
            Some(reason) => self.set_status_reason(status, reason),
            None => self.set_status(status),
        }
        true
    }

    /// Tornado's default error page (or, with `serve_traceback`, the error
    /// and its chain as text), then `finish`.
    ///
    /// # Tornado
    /// The default `RequestHandler.write_error(status_code, **kwargs)`; the
    /// debug text is the error chain, not a Python traceback.
    pub fn write_default_error(&mut self, status: u16, error: Option<&Error>) -> Result {
        if should_not_send_content(status) {
            return self.finish();
        }
        if let (true, Some(error)) = (self.settings().serve_traceback, error) {
            self.set_own_header(FieldName::ContentType, "text/plain");
            let mut text = format!("{error}\n");
            if let Error::Other(source) = error {
                let mut cause = source.source();
                while let Some(err) = cause {
                    text.push_str(&format!("caused by: {err}\n"));
                    cause = err.source();
                }
            }
            self.write(text)?;
            return self.finish();
        }
        let reason = xhtml_escape(&self.reason);
        self.write(format!(
            "<html><title>{status}: {reason}</title><body>{status}: {reason}</body></html>"
        ))?;
        self.finish()
    }

    /// A one-line summary, `GET /path (127.0.0.1)`, for logs.
    ///
    /// # Tornado
    /// `RequestHandler._request_summary()`.
    pub fn request_summary(&self) -> String {
        format!(
            "{} {} ({})",
            self.request.method, self.request.uri, self.request.remote_ip
        )
    }

    /// True once the connection is gone: the client closed it (seen while
    /// the handler ran) or a write to it failed.
    pub fn connection_closed(&self) -> bool {
        self.connection().is_some_and(HTTP1Connection::closed)
    }

    /// A future that resolves as soon as the client leaves (the connection
    /// closes), while the handler waits on something else: race it against
    /// that wait, and return when it wins. It borrows nothing, so the
    /// handler keeps the use of `cx`. Never resolves for a request built
    /// without a connection.
    ///
    /// # Tornado
    /// Where a Tornado handler cancels its pending wait in
    /// `on_connection_close` (the chat demo's long poll), which Tornado calls
    /// in the middle of the `await`, a handler here waits for this alongside:
    /// the method holds `&mut self`, so `on_connection_close` runs only once
    /// it has returned.
    ///
    /// ```
    /// use tornado::locks::Condition;
    /// use tornado::web::{Handler, RequestHandler, Result};
    ///
    /// /// The chat demo's long poll: answers when there is news, and stops
    /// /// waiting as soon as its client leaves.
    /// struct MessageUpdates {
    ///     news: Condition,
    /// }
    ///
    /// impl RequestHandler for MessageUpdates {
    ///     async fn post(&mut self, cx: &mut Handler) -> Result {
    ///         let left = cx.wait_for_close();
    ///         // Any way of racing two futures will do; this is tokio's.
    ///         tokio::select! {
    ///             () = self.news.wait() => cx.write("news"),
    ///             () = left => Ok(()), // nobody left to answer
    ///         }
    ///     }
    /// }
    /// # let _ = MessageUpdates { news: Condition::new() };
    /// ```
    pub fn wait_for_close(&self) -> WaitForClose {
        WaitForClose::new(self.request.connection.clone())
    }
}

fn should_not_send_content(status: u16) -> bool {
    status == 204 || status == 304 || (100..200).contains(&status)
}

/// `compute_etag` until the handler type's own is installed.
fn default_compute_etag(cx: &Handler) -> Option<String> {
    Some(cx.default_etag())
}

/// `get_current_user` of a context with no handler yet: nobody.
fn no_current_user(_: &mut Handler) -> Result<Option<String>> {
    Ok(None)
}

fn unsafe_header() -> Error {
    misuse("Unsafe header name or value")
}

/// A misuse of the handler API: a 500, logged with its message.
fn misuse(message: &'static str) -> Error {
    Error::Other(message.into())
}

fn last_or_missing(name: &str, mut values: Vec<String>) -> Result<String> {
    values.pop().ok_or_else(|| {
        HTTPError::new(400)
            .log_message(format!("Missing argument {name}"))
            .into()
    })
}

fn decode_arguments(name: &str, raw: Option<&Vec<Vec<u8>>>) -> Result<Vec<String>> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    raw.iter()
        .map(|value| match std::str::from_utf8(value) {
            Ok(text) => Ok(remove_control_chars(text).trim().to_owned()),
            Err(_) => Err(HTTPError::new(400)
                .log_message(format!(
                    "Invalid unicode in {name}: {:?}",
                    String::from_utf8_lossy(&value[..value.len().min(40)])
                ))
                .into()),
        })
        .collect()
}

/// The entity tags in an `If-None-Match` value: `*`, `"x"` or `W/"x"` each,
/// found as Tornado's `rb'\*|(?:W/)?"[^"]*"'` finds them: in bytes, so a
/// value that is not ASCII (or not UTF-8) is searched like any other.
fn find_etags(header: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = header;
    std::iter::from_fn(move || {
        while !rest.is_empty() {
            let open = if rest.starts_with(b"W/\"") { 2 } else { 0 };
            let len = match rest.get(open..) {
                Some([b'*', ..]) if open == 0 => Some(1),
                Some([b'"', tag @ ..]) => tag.iter().position(|&b| b == b'"').map(|n| open + n + 2),
                _ => None,
            };
            match len.and_then(|len| Some((rest.get(..len)?, rest.get(len..)?))) {
                Some((tag, after)) => {
                    rest = after;
                    return Some(tag);
                }
                None => rest = rest.get(1..).unwrap_or_default(),
            }
        }
        None
    })
}

impl std::fmt::Debug for Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handler")
            .field("request", &self.request)
            .field("status", &self.status)
            .field("headers_written", &self.headers_written)
            .field("finished", &self.finished)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_are_normalized_like_tornado_and_must_be_tokens() {
        for (name, normalized) in [
            ("content-TYPE", "Content-Type"),
            ("etag", "Etag"),
            ("ETag", "Etag"),
            ("x-forwarded-for", "X-Forwarded-For"),
            ("Access-Control-Allow-Origin", "Access-Control-Allow-Origin"),
            ("-x--y", "-X--Y"),
        ] {
            let mut out = String::new();
            assert!(push_header_name(&mut out, name).is_some());
            assert_eq!(out, normalized);
        }
        for bad in ["", "a b", "x:y", "caf\u{e9}", "a\r\nb"] {
            assert!(
                push_header_name(&mut String::new(), bad).is_none(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn etags_are_found_in_if_none_match() {
        let found = |header: &'static str| find_etags(header.as_bytes()).collect::<Vec<_>>();
        let tags = |tags: &[&'static str]| tags.iter().map(|t| t.as_bytes()).collect::<Vec<_>>();
        assert_eq!(
            found(r#""a", W/"b",  "c""#),
            tags(&[r#""a""#, r#"W/"b""#, r#""c""#])
        );
        assert_eq!(found("*"), tags(&["*"]));
        assert_eq!(found("W/*"), tags(&["*"]));
        assert_eq!(found("garbage"), tags(&[]));
        assert_eq!(found(r#"W/"open"#), tags(&[]));
        // Not ASCII: searched byte by byte like the rest (slicing a `str`
        // there was a panic inside a character).
        assert_eq!(found("x\u{e9}y"), tags(&[]));
        assert_eq!(found("\u{e9}\"\u{e9}\", W/\"\u{e9}"), tags(&["\"\u{e9}\""]));
        let not_utf8 = find_etags(b"\xff\"a\"\xfe").collect::<Vec<_>>();
        assert_eq!(not_utf8, vec![&b"\"a\""[..]]);
    }

    #[test]
    fn control_characters_become_spaces() {
        assert_eq!(remove_control_chars("a\x01b\tc\x1f"), "a b\tc ");
    }
}
