//! Behaviours ported from Tornado's client, each against a tiny `std::net`
//! server: `max_buffer_size` does not bound a body (Tornado's
//! `MaxBufferSizeTest` and `MaxBufferSizeUntilCloseTest`), a `Location`
//! that is not UTF-8 is followed (read as Latin-1), and a `header_callback`
//! sees the head as the gzip decoding leaves it.

mod httpclient_support;

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flate2::write::GzEncoder;
use flate2::Compression;
use httpclient_support::RawServer;
use tornado::http1::ParseError;
use tornado::httpclient::{
    AsyncHTTPClient, ClientConfig, HTTPClientError, HTTPRequest, MalformedResponse,
};
use tornado::testing::run_async_test;

const TIMEOUT: Duration = Duration::from_secs(20);

const KIB: usize = 1024;

/// Fetches `url` with a client of these limits; the body, or the error.
fn fetch_with(max_body_size: Option<u64>, url: String) -> Result<Vec<u8>, HTTPClientError> {
    run_async_test(TIMEOUT, async move {
        let client = AsyncHTTPClient::with_config(ClientConfig {
            max_body_size,
            max_buffer_size: 64 * KIB,
            ..ClientConfig::default()
        });
        client.fetch(url).await.map(|r| r.body.to_vec())
    })
}

fn too_large(result: &Result<Vec<u8>, HTTPClientError>) -> bool {
    matches!(
        result,
        Err(HTTPClientError::MalformedResponse(
            MalformedResponse::Parse(ParseError::ResponseBodyTooLarge)
        ))
    )
}

#[test]
fn max_buffer_size_bounds_a_read_not_the_body() {
    // MaxBufferSizeTest: a 100 KiB body with a Content-Length, through a
    // client with a 64 KiB buffer and a 100 KiB body limit.
    let sized = RawServer::start(false, |_| {
        let mut out = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", 100 * KIB);
        out.push_str(&"a".repeat(100 * KIB));
        out.into_bytes()
    });
    // MaxBufferSizeUntilCloseTest: the same body delimited by the close,
    // with a 1 MiB body limit.
    let until_close = RawServer::start(false, |_| {
        let mut out = b"HTTP/1.0 200 OK\r\n\r\n".to_vec();
        out.extend_from_slice(&[b'a'; 100 * KIB]);
        out
    });
    let whole = |body: &Result<Vec<u8>, HTTPClientError>| {
        body.as_ref()
            .is_ok_and(|b| b.len() == 100 * KIB && b.iter().all(|&c| c == b'a'))
    };
    let body = fetch_with(Some(100 * KIB as u64), sized.url("/large"));
    assert!(
        whole(&body),
        "with a Content-Length: {:?}",
        body.map(|b| b.len())
    );
    let body = fetch_with(Some(1024 * KIB as u64), until_close.url("/large"));
    assert!(whole(&body), "until the close: {:?}", body.map(|b| b.len()));

    // max_body_size is the limit; without one it is max_buffer_size, as
    // Tornado's HTTP1Connection defaults it.
    let over = fetch_with(Some(100 * KIB as u64 - 1), sized.url("/large"));
    assert!(too_large(&over), "{:?}", over.map(|b| b.len()));
    let over = fetch_with(None, until_close.url("/large"));
    assert!(too_large(&over), "{:?}", over.map(|b| b.len()));
}

#[test]
fn a_location_in_latin_1_is_followed() {
    // Tornado reads header values as Latin-1: `/caf\xe9` is `/café`, which
    // it sends as UTF-8 (raw; here percent-encoded, as any non-ASCII target).
    let lines = Arc::new(Mutex::new(Vec::new()));
    let seen = lines.clone();
    let server = RawServer::start(false, move |head| {
        let line = head.lines().next().unwrap_or_default().to_owned();
        let redirect = line.starts_with("GET / ");
        seen.lock().unwrap().push(line);
        if redirect {
            b"HTTP/1.1 302 Found\r\nLocation: /caf\xe9\r\nContent-Length: 0\r\n\r\n".to_vec()
        } else {
            b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nlanded".to_vec()
        }
    });
    let url = server.url("/");
    let response = run_async_test(TIMEOUT, async move {
        AsyncHTTPClient::new().fetch(url).await.unwrap()
    });
    assert_eq!(response.text(), "landed");
    assert_eq!(response.effective_url, server.url("/café"));
    assert_eq!(
        *lines.lock().unwrap(),
        ["GET / HTTP/1.1", "GET /caf%C3%A9 HTTP/1.1"]
    );
}

#[test]
fn header_callback_sees_content_encoding_renamed() {
    // Tornado's _GzipMessageDelegate renames the field before the client's
    // headers_received passes the head on; a HEAD response too.
    let server = RawServer::start(false, |head| {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(b"hello").unwrap();
        let body = encoder.finish().unwrap();
        let mut out = format!(
            "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        if !head.starts_with("HEAD") {
            out.extend_from_slice(&body);
        }
        out
    });
    let url = server.url("/");
    let lines = Rc::new(RefCell::new(Vec::new()));
    let seen = lines.clone();
    let (body, head_fields) = run_async_test(TIMEOUT, async move {
        let client = AsyncHTTPClient::new();
        let response = client
            .fetch(
                HTTPRequest::new(&url)
                    .header_callback(move |line| seen.borrow_mut().push(line.to_owned())),
            )
            .await
            .unwrap();
        let head = client
            .fetch(HTTPRequest::new(&url).method("HEAD"))
            .await
            .unwrap();
        let fields = (
            head.headers.get("Content-Encoding").map(str::to_owned),
            head.headers
                .get("X-Consumed-Content-Encoding")
                .map(str::to_owned),
        );
        (response.text(), fields)
    });
    assert_eq!(body, "hello");
    let lines = lines.borrow();
    assert!(
        lines.contains(&"X-Consumed-Content-Encoding: gzip\r\n".to_owned()),
        "{lines:?}"
    );
    assert!(
        !lines.iter().any(|l| l.starts_with("Content-Encoding")),
        "{lines:?}"
    );
    assert_eq!(head_fields, (None, Some("gzip".to_owned())));
}

#[test]
fn a_body_under_two_content_codings_is_left_alone() {
    // Tornado decodes only when the joined value is `gzip`: `gzip` then
    // `br` is passed on as it came, both lines kept.
    let server = RawServer::start(false, |_| {
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Encoding: br\r\nContent-Length: 5\r\n\r\nbytes"
            .to_vec()
    });
    let url = server.url("/");
    let (body, codings) = run_async_test(TIMEOUT, async move {
        let response = AsyncHTTPClient::new().fetch(&url).await.unwrap();
        let codings: Vec<String> = response
            .headers
            .get_list("Content-Encoding")
            .map(str::to_owned)
            .collect();
        (response.text(), codings)
    });
    assert_eq!(body, "bytes");
    assert_eq!(codings, ["gzip", "br"]);
}
