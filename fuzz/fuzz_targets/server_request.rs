//! Arbitrary bytes through the codec into `HTTPServerRequest`, as a server
//! sees them: each complete request is built with `HTTPServerRequest::new`
//! (path, query arguments, host) and its body parsed with `parse_body`
//! (urlencoded and multipart forms). Then a list of operations from the
//! input edits the first request's received header map (`add`, `set`,
//! `remove`, `clear`, lookups), checked against a plain list of field lines
//! with ASCII-case-insensitive names.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tornado::http1::Config;
use tornado::httputil::{parse_body_config, parse_qs_bytes, HTTPHeaders, HTTPServerRequest};

mod driver;
mod reader;
use driver::Item;
use reader::Reader;

fuzz_target!(|data: &[u8]| {
    let Some((&[selector, ops_len], rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let (ops, stream) = rest.split_at(usize::from(ops_len).min(rest.len()));
    let config = if selector & 1 != 0 {
        driver::small_config(selector | 0x60)
    } else {
        Config::default()
    };
    let eof = selector & 2 != 0;
    let items = if selector & 4 != 0 {
        driver::run(&config, driver::pieces(stream, u32::from(selector)), eof)
    } else {
        driver::run(&config, [stream], eof)
    };
    let mut first_headers = None;
    let mut current: Option<(HTTPServerRequest, Vec<u8>)> = None;
    for item in items {
        match item {
            Item::Head(head) => {
                first_headers.get_or_insert_with(|| head.headers().clone());
                current = request_from(head).map(|request| (request, Vec::new()));
            }
            Item::Body(body) => {
                if let Some((_, buf)) = current.as_mut() {
                    buf.extend_from_slice(&body);
                }
            }
            Item::End(_) => {
                if let Some((request, body)) = current.take() {
                    parse_body(request, body);
                }
            }
            Item::Error(_) | Item::Closed => current = None,
        }
    }
    headers_model(first_headers.unwrap_or_default(), ops);
});

/// Builds the request and checks what `new` derived from the head.
/// The request for `head`, checked against the head; `None` if its query
/// string has more fields than the limit (then the server answers 400).
fn request_from(head: tornado::http1::RequestHead) -> Option<HTTPServerRequest> {
    let (method, uri, version) = (
        head.method().to_owned(),
        head.uri().to_owned(),
        head.version(),
    );
    let host = head
        .headers()
        .get_bytes("Host")
        .and_then(|h| std::str::from_utf8(h).ok())
        // Tornado 6.6: an empty Host stays empty; none at all is 127.0.0.1.
        .unwrap_or("127.0.0.1")
        .to_owned();
    let Ok(request) = HTTPServerRequest::new(head, None) else {
        let query = uri.split_once('?').map_or("", |(_, query)| query);
        let fields = 1 + query.bytes().filter(|&b| b == b'&').count();
        assert!(fields > parse_body_config().urlencoded.max_arguments);
        return None;
    };
    assert_eq!(request.method, method);
    assert_eq!(request.uri, uri);
    assert_eq!(request.version, version);
    // The path is what comes before the first `?`, the query what follows.
    match uri.split_once('?') {
        Some((path, query)) => assert_eq!((&*request.path, &*request.query), (path, query)),
        None => assert_eq!((&*request.path, &*request.query), (&*uri, "")),
    }
    assert_eq!(
        request.query_arguments,
        parse_qs_bytes(request.query.as_bytes(), true)
    );
    assert_eq!(request.arguments, request.query_arguments);
    assert_eq!(request.host, host);
    // host_name is the host, lower-cased, maybe without a port.
    assert!(!request.host_name.bytes().any(|b| b.is_ascii_uppercase()));
    assert!(request
        .host
        .to_ascii_lowercase()
        .starts_with(&request.host_name));
    assert!(request.body_arguments.is_empty() && request.files.is_empty());
    let _ = request.full_url();
    Some(request)
}

fn parse_body(mut request: HTTPServerRequest, body: Vec<u8>) {
    request.body = body.into();
    let query_arguments = request.query_arguments.clone();
    // Read as `parse_body` reads it: bytes past ASCII lossily, not skipped.
    let content_type = String::from_utf8_lossy(
        request
            .headers
            .get_bytes("Content-Type")
            .unwrap_or_default(),
    )
    .into_owned();
    match request.parse_body() {
        Ok(()) => {
            let is_form = content_type.starts_with("application/x-www-form-urlencoded")
                || content_type.starts_with("multipart/form-data");
            if !is_form {
                assert!(request.body_arguments.is_empty() && request.files.is_empty());
            }
            // arguments = query arguments, then body arguments, per name.
            for (name, values) in &request.arguments {
                let mut expected = query_arguments.get(name).cloned().unwrap_or_default();
                expected.extend(
                    request
                        .body_arguments
                        .get(name)
                        .into_iter()
                        .flatten()
                        .cloned(),
                );
                assert_eq!(values, &expected, "{name:?}");
            }
            for name in query_arguments.keys().chain(request.body_arguments.keys()) {
                assert!(request.arguments.contains_key(name));
            }
            for files in request.files.values() {
                for file in files {
                    assert!(!file.filename.is_empty());
                }
            }
        }
        Err(error) => assert_eq!(error.status_hint(), 400),
    }
}

/// Names the operations use: the ones the map recognizes (in several
/// spellings), near misses, and others.
const NAMES: [&str; 15] = [
    "Host",
    "host",
    "HOST",
    "Content-Type",
    "content-type",
    "Content-Length",
    "Transfer-Encoding",
    "connection",
    "If-None-Match",
    "ETag",
    "Date",
    "Hosts",
    "Content-Typf",
    "Cookie",
    "x-fuzz",
];

/// The header operations' input: a name from [`NAMES`] or the input, and values.
struct Ops<'a>(Reader<'a>);

impl<'a> Ops<'a> {
    fn byte(&mut self) -> Option<u8> {
        self.0.byte()
    }

    fn bytes(&mut self) -> &'a [u8] {
        self.0.bytes(23).unwrap_or_default()
    }

    fn name(&mut self, op: u8) -> String {
        match NAMES.get(usize::from(op >> 4)) {
            Some(name) => (*name).to_owned(),
            None => String::from_utf8_lossy(self.bytes()).into_owned(),
        }
    }
}

fn same_name(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Edits `headers` (received from the codec) and a model of it alike.
fn headers_model(mut headers: HTTPHeaders, ops: &[u8]) {
    let mut model: Vec<(Vec<u8>, Vec<u8>)> = headers
        .iter()
        .map(|(n, v)| (n.to_vec(), v.to_vec()))
        .collect();
    let mut ops = Ops(Reader(ops));
    while let Some(op) = ops.byte() {
        let name = ops.name(op);
        let n = name.as_bytes();
        match op & 0x0f {
            0..=3 => {
                let value = ops.bytes();
                headers.add(n, value);
                model.push((n.to_vec(), value.to_vec()));
            }
            4..=7 => {
                let value = ops.bytes();
                headers.set(n, value);
                match model.iter().position(|(m, _)| same_name(m, n)) {
                    Some(first) => {
                        model[first] = (n.to_vec(), value.to_vec());
                        let mut index = 0;
                        model.retain(|(m, _)| {
                            index += 1;
                            index - 1 <= first || !same_name(m, n)
                        });
                    }
                    None => model.push((n.to_vec(), value.to_vec())),
                }
            }
            8 | 9 => {
                let had = model.iter().any(|(m, _)| same_name(m, n));
                model.retain(|(m, _)| !same_name(m, n));
                assert_eq!(headers.remove(&name), had, "remove {name:?}");
            }
            10 => {
                headers.clear();
                model.clear();
            }
            11 => {
                let mut copy = HTTPHeaders::new();
                copy.add("x", "y");
                copy.clone_from(&headers);
                assert_eq!(copy, headers);
                headers = copy;
            }
            _ => {}
        }
        check(
            &headers,
            &model,
            [&name, NAMES[usize::from(op) % NAMES.len()]],
        );
    }
    let _ = format!("{headers:?}");
}

/// Compares the map with the model: all lines, and the lookups of `probes`.
fn check(headers: &HTTPHeaders, model: &[(Vec<u8>, Vec<u8>)], probes: [&str; 2]) {
    let lines: Vec<(&[u8], &[u8])> = headers.iter().collect();
    let expected: Vec<(&[u8], &[u8])> = model.iter().map(|(n, v)| (&n[..], &v[..])).collect();
    assert_eq!(lines, expected);
    assert_eq!(headers.len(), model.len());
    assert_eq!(headers.is_empty(), model.is_empty());
    for probe in probes {
        let values: Vec<&[u8]> = model
            .iter()
            .filter(|(m, _)| same_name(m, probe.as_bytes()))
            .map(|(_, v)| &v[..])
            .collect();
        assert_eq!(
            headers.get_bytes(probe),
            values.first().copied(),
            "{probe:?}"
        );
        assert_eq!(headers.contains(probe), !values.is_empty(), "{probe:?}");
        assert_eq!(
            headers.get_list_bytes(probe).collect::<Vec<_>>(),
            values,
            "{probe:?}"
        );
        let text: Vec<&str> = values
            .iter()
            .filter_map(|v| std::str::from_utf8(v).ok())
            .collect();
        assert_eq!(
            headers.get_list(probe).collect::<Vec<_>>(),
            text,
            "{probe:?}"
        );
        assert_eq!(
            headers.get_joined(probe).map(|j| j.into_owned()),
            (!text.is_empty()).then(|| text.join(",")),
            "{probe:?}"
        );
        assert_eq!(
            headers.get(probe),
            values.first().and_then(|v| std::str::from_utf8(v).ok()),
            "{probe:?}"
        );
    }
}
