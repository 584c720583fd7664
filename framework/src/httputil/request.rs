//! `HTTPServerRequest`: one request as the application sees it.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use super::{
    parse_body_arguments, parse_body_config, parse_qs_bytes_limited, recycle_header_map, Arguments,
    FieldName, Files, HTTPHeaders, HTTPInputError,
};
use crate::http1::{RequestHead, Version};
use crate::http1connection::HTTP1Connection;

/// A single HTTP request: the head, the body once read, and what is known
/// about the client.
///
/// # Tornado
/// `tornado.httputil.HTTPServerRequest`, with the same attribute names.
/// `arguments` merges `query_arguments` and `body_arguments` (after
/// [`parse_body`](HTTPServerRequest::parse_body)).
pub struct HTTPServerRequest {
    /// The method, e.g. `"GET"`.
    pub method: String,
    /// The request target as sent, e.g. `"/search?q=tornado"`.
    pub uri: String,
    /// The protocol version.
    pub version: Version,
    /// The header fields.
    pub headers: HTTPHeaders,
    /// The body (empty until read).
    pub body: Bytes,
    /// The client's IP (after `xheaders`, if the server trusts them).
    pub remote_ip: String,
    /// `"http"` or `"https"`.
    pub protocol: String,
    /// The `Host` header (empty if it was sent empty), or `"127.0.0.1"`
    /// without one (HTTP/1.0).
    pub host: String,
    /// `host` lower-cased, without a port.
    pub host_name: String,
    /// The part of `uri` before `?`.
    pub path: String,
    /// The part of `uri` after `?`.
    pub query: String,
    /// Query and body arguments together.
    pub arguments: Arguments,
    /// Arguments from the query string (blank values kept, as Tornado keeps them).
    pub query_arguments: Arguments,
    /// Arguments from a form-encoded or multipart body.
    pub body_arguments: Arguments,
    /// Uploaded files from a multipart body.
    pub files: Files,
    /// The connection the request came on, for writing the response.
    pub connection: Option<HTTP1Connection>,
    start_time: Instant,
}

impl HTTPServerRequest {
    /// Builds the request from a parsed head and the connection it arrived on.
    ///
    /// # Errors
    /// [`HTTPInputError`] if the query string has more fields than
    /// [`parse_body_config`](super::parse_body_config)`().urlencoded.max_arguments`
    /// (a server answers 400 and closes the connection).
    ///
    /// # Tornado
    /// `HTTPServerRequest(start_line=..., headers=..., connection=...)`, as
    /// `_CallableAdapter` and `routing._RoutingDelegate` build it; it raises
    /// `HTTPInputError` for the same query strings.
    pub fn new(
        head: RequestHead,
        connection: Option<&HTTP1Connection>,
    ) -> Result<HTTPServerRequest, HTTPInputError> {
        let mut request = HTTPServerRequest::empty();
        request.refill(head, connection)?;
        Ok(request)
    }

    /// A request with no head yet, allocating nothing: the shell that
    /// [`refill`](HTTPServerRequest::refill) fills.
    pub(crate) fn empty() -> HTTPServerRequest {
        HTTPServerRequest {
            method: String::new(),
            uri: String::new(),
            version: Version::Http11,
            headers: HTTPHeaders::new(),
            body: Bytes::new(),
            remote_ip: String::new(),
            protocol: String::new(),
            host: String::new(),
            host_name: String::new(),
            path: String::new(),
            query: String::new(),
            arguments: Arguments::new(),
            query_arguments: Arguments::new(),
            body_arguments: Arguments::new(),
            files: Files::new(),
            connection: None,
            start_time: Instant::now(),
        }
    }

    /// Makes this the request for `head`, reusing the strings' capacity of
    /// the request this one was before (see
    /// [`recycle`](HTTPServerRequest::recycle)), so a keep-alive stream of
    /// requests allocates nothing here.
    pub(crate) fn refill(
        &mut self,
        mut head: RequestHead,
        connection: Option<&HTTP1Connection>,
    ) -> Result<(), HTTPInputError> {
        // The previous request's header list goes to parse a later head.
        recycle_header_map(std::mem::replace(&mut self.headers, head.take_headers()));
        replace(&mut self.method, head.method());
        let uri = head.uri();
        replace(&mut self.uri, uri);
        let question = uri.bytes().position(|b| b == b'?');
        let (path, query) = question
            .and_then(|at| split_around(uri, at))
            .unwrap_or((uri, ""));
        replace(&mut self.path, path);
        replace(&mut self.query, query);
        let host = self
            .headers
            .get_known(FieldName::Host)
            .and_then(|h| std::str::from_utf8(h).ok())
            .unwrap_or("127.0.0.1");
        replace(&mut self.host, host);
        replace(&mut self.host_name, split_host_and_port(host));
        self.host_name.make_ascii_lowercase();
        match connection {
            Some(connection) => connection.with_context(|context| {
                replace(&mut self.remote_ip, &context.remote_ip);
                replace(&mut self.protocol, context.protocol);
            }),
            None => {
                self.remote_ip.clear();
                replace(&mut self.protocol, "http");
            }
        }
        self.version = head.version();
        if self.query.is_empty() {
            // Most requests: keep the maps (and their capacity) as they are.
            clear_map(&mut self.query_arguments);
            clear_map(&mut self.arguments);
        } else {
            let max = parse_body_config().urlencoded.max_arguments;
            self.query_arguments = parse_qs_bytes_limited(self.query.as_bytes(), true, max)?;
            self.arguments.clone_from(&self.query_arguments);
        }
        clear_map(&mut self.body_arguments);
        clear_map(&mut self.files);
        self.body = Bytes::new();
        self.connection = connection.cloned();
        // The loop's reading: pipelined requests share one clock read.
        self.start_time = crate::ioloop::loop_instant_now();
        Ok(())
    }

    /// Lets go of everything this request shares with its connection (the
    /// connection, the head's and the body's bytes) and of its uploads and
    /// form values, keeping the capacity of its own strings and maps for
    /// the next request (which [`refill`](HTTPServerRequest::refill) resets).
    pub(crate) fn recycle(&mut self) {
        self.headers.clear();
        self.body = Bytes::new();
        self.connection = None;
        // Uploads and form values can be large: none outlives its request
        // in a pooled context.
        empty_for_pool(&mut self.files);
        empty_for_pool(&mut self.arguments);
        empty_for_pool(&mut self.query_arguments);
        empty_for_pool(&mut self.body_arguments);
    }

    /// Parses `body` by its `Content-Type` (form-encoded or multipart) into
    /// `body_arguments` and `files`, and merges them into `arguments`.
    ///
    /// # Tornado
    /// `HTTPServerRequest._parse_body()`.
    pub fn parse_body(&mut self) -> Result<(), HTTPInputError> {
        if self.headers.get_known(FieldName::ContentType).is_none() {
            return Ok(()); // most GETs: nothing to parse
        }
        // Bytes past ASCII become U+FFFD: such a type is still looked at
        // (and refused if it is a form without a boundary), as Tornado reads
        // it as Latin-1 rather than skipping it.
        let content_type =
            String::from_utf8_lossy(self.headers.get_bytes("Content-Type").unwrap_or_default())
                .into_owned();
        parse_body_arguments(
            &content_type,
            &self.body,
            &mut self.body_arguments,
            &mut self.files,
            Some(&self.headers),
            &parse_body_config(),
        )?;
        for (name, values) in &self.body_arguments {
            self.arguments
                .entry(name.clone())
                .or_default()
                .extend(values.iter().cloned());
        }
        Ok(())
    }

    /// The full URL: protocol, host and URI.
    ///
    /// # Tornado
    /// `HTTPServerRequest.full_url()`.
    pub fn full_url(&self) -> String {
        format!("{}://{}{}", self.protocol, self.host, self.uri)
    }

    /// Time since the request head arrived: since the IOLoop first read its
    /// clock in the iteration that parsed the head, so pipelined requests
    /// read together share a start (a request that waited behind others in
    /// that iteration counts the wait, which its client saw too).
    ///
    /// # Tornado
    /// `HTTPServerRequest.request_time()`.
    pub fn request_time(&self) -> Duration {
        self.start_time.elapsed()
    }
}

/// Gathers one request's head and body into an [`HTTPServerRequest`]: what
/// a message delegate that wants the whole body does (Tornado's
/// `_CallableAdapter` and `_HandlerDelegate` both do this).
#[derive(Debug)]
pub(crate) struct RequestCollector {
    connection: HTTP1Connection,
    request: Option<HTTPServerRequest>,
    body: BytesMut,
}

impl RequestCollector {
    pub(crate) fn new(connection: &HTTP1Connection) -> RequestCollector {
        RequestCollector {
            connection: connection.clone(),
            request: None,
            body: BytesMut::new(),
        }
    }

    /// `headers_received`: starts the request, or refuses it (400, closing
    /// the connection) if it cannot be built.
    pub(crate) fn head(&mut self, head: RequestHead) {
        match HTTPServerRequest::new(head, Some(&self.connection)) {
            Ok(request) => self.request = Some(request),
            Err(err) => refuse_request(&self.connection, &err),
        }
    }

    /// `data_received`: adds a body chunk (the codec bounds the total).
    pub(crate) fn data(&mut self, chunk: &[u8]) {
        self.body.extend_from_slice(chunk);
    }

    /// `finish`: the request with its body, parsed; `None` if there is no
    /// request, or if its body is a form that cannot be parsed, which is
    /// refused as a malformed request (400, closing the connection), as
    /// Tornado's `_CallableAdapter.finish` raises `HTTPInputError` then.
    pub(crate) fn take(&mut self) -> Option<HTTPServerRequest> {
        let mut request = self.request.take()?;
        request.body = std::mem::take(&mut self.body).freeze();
        if let Err(err) = request.parse_body() {
            refuse_request(&self.connection, &err);
            return None;
        }
        Some(request)
    }

    /// `on_connection_close`: forgets the request.
    pub(crate) fn clear(&mut self) {
        self.request = None;
        self.body.clear();
    }
}

/// Answers a request whose head cannot become an [`HTTPServerRequest`]
/// (Tornado's constructor raised) with 400, closing the connection, as a
/// malformed head is answered.
#[cold]
pub(crate) fn refuse_request(connection: &HTTP1Connection, err: &HTTPInputError) {
    log::info!(target: "tornado.general",
        "Malformed HTTP message from {}: {err}",
        connection.context().remote_ip
    );
    connection.respond_with_status(400);
}

/// Sets `target` to `value`, reusing its capacity.
fn replace(target: &mut String, value: &str) {
    target.clear();
    target.push_str(value);
}

/// Empties `map`, keeping its capacity. An empty map is left alone:
/// `HashMap::clear` rewrites the whole control table even then.
pub(crate) fn clear_map<K, V>(map: &mut HashMap<K, V>) {
    if !map.is_empty() {
        map.clear();
    }
}

/// Empties `map` for a pooled request: its capacity is kept unless it grew
/// past what a form usually has (a form of a million fields would leave a
/// table of a million slots waiting in the pool).
fn empty_for_pool<K, V>(map: &mut HashMap<K, V>) {
    const MAX_KEPT: usize = 1024;
    // Capacity first: a handler may have emptied a large table itself.
    if map.capacity() > MAX_KEPT {
        *map = HashMap::new();
    } else if !map.is_empty() {
        map.clear();
    }
}

/// `text` split around the (ASCII) separator at byte `at`. Callers find it
/// with a plain byte loop: on the few bytes of a URI or a Host, cheaper than
/// `str`'s char searcher and its `memchr` set-up.
fn split_around(text: &str, at: usize) -> Option<(&str, &str)> {
    Some((text.get(..at)?, text.get(at + 1..)?))
}

/// The host part of `host[:port]` (an IPv6 literal keeps its brackets).
fn split_host_and_port(netloc: &str) -> &str {
    // Tornado's `^(.+):(\d+)$`: a port is digits after the last colon, with
    // something before it ("[::1]:80" is "[::1]"; "[::1]", "a:" and ":80"
    // stay whole).
    let colon = netloc.bytes().rposition(|b| b == b':');
    match colon.and_then(|at| split_around(netloc, at)) {
        Some((host, port))
            if !host.is_empty() && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            host
        }
        _ => netloc,
    }
}

impl fmt::Debug for HTTPServerRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HTTPServerRequest")
            .field("protocol", &self.protocol)
            .field("host", &self.host)
            .field("method", &self.method)
            .field("uri", &self.uri)
            .field("version", &self.version)
            .field("remote_ip", &self.remote_ip)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::{split_host_and_port, HTTPServerRequest};
    use crate::http1::{Codec, Config, Event};

    /// The request a server builds for `GET <target>`, parsed by the codec.
    fn request_for(target: &str) -> HTTPServerRequest {
        request_from(format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
    }

    /// The request a server builds for the head `raw`.
    fn request_from(raw: &[u8]) -> HTTPServerRequest {
        let mut codec = Codec::new(Config::default());
        codec.receive_data(raw);
        match codec.next_event() {
            Ok(Event::Request(head)) => HTTPServerRequest::new(head, None).unwrap(),
            other => panic!("{raw:?}: {other:?}"),
        }
    }

    #[test]
    fn a_recycled_request_keeps_none_of_its_form_values() {
        // A pooled context outlives its connection: a 50 MB form must not
        // wait in it for the next request.
        let mut request = request_from(
            b"POST /?q=1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n",
        );
        request.body = bytes::Bytes::from(format!("big={}", "v".repeat(100_000)));
        request.parse_body().unwrap();
        assert_eq!(request.body_arguments["big"][0].len(), 100_000);
        request.recycle();
        assert!(request.arguments.is_empty());
        assert!(request.query_arguments.is_empty());
        assert!(request.body_arguments.is_empty());
        for i in 0..5000 {
            request.arguments.insert(i.to_string(), Vec::new());
        }
        request.recycle();
        assert_eq!(request.arguments.capacity(), 0, "a huge table is let go");
        // Also when the handler emptied it itself.
        for i in 0..5000 {
            request.body_arguments.insert(i.to_string(), Vec::new());
        }
        request.body_arguments.clear();
        request.recycle();
        assert_eq!(request.body_arguments.capacity(), 0);
    }

    #[test]
    fn a_form_type_past_ascii_is_still_parsed_and_refused() {
        // Tornado reads the type as Latin-1: a multipart type whose
        // `boundary` has a byte past ASCII has no boundary, a 400.
        let mut request = request_from(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; b\x80oundary=B\r\n\r\n",
        );
        request.body = bytes::Bytes::from_static(b"--B\r\n\r\nv\r\n--B--\r\n");
        assert!(request.parse_body().is_err());
    }

    #[test]
    fn the_query_starts_after_the_first_question_mark() {
        for (target, path, query) in [
            ("/p?a=1?b", "/p", "a=1?b"),
            ("/p?", "/p", ""),
            ("/?", "/", ""),
            ("/é?x=é", "/é", "x=é"),
            ("/p", "/p", ""),
        ] {
            let request = request_for(target);
            assert_eq!(
                (
                    request.uri.as_str(),
                    request.path.as_str(),
                    request.query.as_str()
                ),
                (target, path, query)
            );
        }
    }

    #[test]
    fn host_without_port() {
        assert_eq!(split_host_and_port("example.com:8080"), "example.com");
        assert_eq!(split_host_and_port("example.com"), "example.com");
        assert_eq!(split_host_and_port("[::1]:8888"), "[::1]");
        assert_eq!(split_host_and_port("[::1]"), "[::1]");
        // Python's tornado.httputil.split_host_and_port on the same strings.
        assert_eq!(split_host_and_port("example.com:"), "example.com:");
        assert_eq!(split_host_and_port(":80"), ":80");
        assert_eq!(split_host_and_port("a:b"), "a:b");
        assert_eq!(split_host_and_port("a:1:2"), "a:1");
        assert_eq!(split_host_and_port("[::1]x"), "[::1]x");
        assert_eq!(split_host_and_port("::1"), ":");
    }
}
