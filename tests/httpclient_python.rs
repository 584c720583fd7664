//! The client against a server we did not write: Python's `http.server`
//! (tests/httpclient_support/server.py), HTTP/1.1 with keep-alive.

mod httpclient_support;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use httpclient_support::PythonServer;
use tornado::http1::ParseError;
use tornado::httpclient::{AsyncHTTPClient, HTTPClientError, HTTPRequest, MalformedResponse};
use tornado::testing::run_async_test;

const TIMEOUT: Duration = Duration::from_secs(20);

fn server() -> PythonServer {
    PythonServer::start().expect("python3 runs server.py")
}

#[test]
fn get_and_head() {
    let server = server();
    let (hello, head) = run_async_test(TIMEOUT, {
        let (a, b) = (server.url("/hello"), server.url("/hello"));
        async move {
            let client = AsyncHTTPClient::new();
            let hello = client.fetch(a).await.unwrap();
            let head = client
                .fetch(HTTPRequest::new(b).method("HEAD"))
                .await
                .unwrap();
            (hello, head)
        }
    });
    assert_eq!((hello.code, hello.reason.as_str()), (200, "OK"));
    assert_eq!(hello.headers.get("Content-Type"), Some("text/plain"));
    assert_eq!(&hello.body[..], b"hello");
    assert!(hello.error.is_none());
    assert!(hello.effective_url.ends_with("/hello"));
    assert_eq!(head.code, 200);
    assert_eq!(head.headers.get("Content-Length"), Some("5"));
    assert!(head.body.is_empty());
}

#[test]
fn redirects_followed_limited_and_not_followed() {
    let server = server();
    let urls = [2, 5, 6, 1].map(|n| server.url(&format!("/redirect/{n}")));
    let (two, five, six, unfollowed, limited) = run_async_test(TIMEOUT, async move {
        let client = AsyncHTTPClient::new();
        let two = client.fetch(&urls[0]).await.unwrap();
        let five = client.fetch(&urls[1]).await.unwrap();
        let six = client.fetch(&urls[2]).await.unwrap_err();
        let unfollowed = client
            .fetch(
                HTTPRequest::new(&urls[3])
                    .follow_redirects(false)
                    .raise_error(false),
            )
            .await
            .unwrap();
        let limited = client
            .fetch(
                HTTPRequest::new(&urls[1])
                    .max_redirects(1)
                    .raise_error(false),
            )
            .await
            .unwrap();
        (two, five, six, unfollowed, limited)
    });
    assert_eq!((two.code, &two.body[..]), (200, &b"done"[..]));
    assert!(two.effective_url.ends_with("/redirect/0"));
    assert!(
        two.request.url().ends_with("/redirect/2"),
        "the original request"
    );
    assert_eq!(five.code, 200);
    // Six hops are one more than the default max_redirects.
    assert_eq!(six.code(), 302);
    assert_eq!(six.response().map(|r| &r.body[..]), Some(&b"moved"[..]));
    assert_eq!(unfollowed.code, 302);
    assert!(unfollowed
        .headers
        .get("Location")
        .is_some_and(|l| l.ends_with("/redirect/0")));
    assert!(matches!(
        unfollowed.error,
        Some(HTTPClientError::Http { code: 302, .. })
    ));
    assert_eq!(limited.code, 302);
    assert!(limited.effective_url.ends_with("/redirect/4"));
}

#[test]
fn redirect_methods() {
    let server = server();
    let urls = [
        server.url("/see_other"),
        server.url("/temporary"),
        server.url("/redirect_abs"),
    ];
    let (see_other, temporary, absolute) = run_async_test(TIMEOUT, async move {
        let client = AsyncHTTPClient::new();
        let post = |url: &str| HTTPRequest::new(url).method("POST").body("payload");
        let see_other = client.fetch(post(&urls[0])).await.unwrap();
        let temporary = client.fetch(post(&urls[1])).await.unwrap();
        let absolute = client.fetch(&urls[2]).await.unwrap();
        (see_other, temporary, absolute)
    });
    assert_eq!(&see_other.body[..], b"GET", "303 turns POST into GET");
    assert_eq!(
        &temporary.body[..],
        b"POST payload",
        "307 keeps the method and body"
    );
    assert_eq!(&absolute.body[..], b"hello");
}

#[test]
fn one_connection_for_many_sequential_fetches() {
    let server = server();
    let (ports, connections, opened) = run_async_test(TIMEOUT, {
        let port_url = server.url("/port");
        let count_url = server.url("/connections");
        async move {
            let client = AsyncHTTPClient::new();
            let mut ports = Vec::new();
            for _ in 0..20 {
                let response = client.fetch(&port_url).await.unwrap();
                ports.push(response.text());
            }
            let connections = client.fetch(&count_url).await.unwrap().text();
            (ports, connections, client.connections_opened())
        }
    });
    assert!(ports.iter().all(|p| *p == ports[0]), "{ports:?}");
    assert_eq!(connections, "1", "the server accepted one connection");
    assert_eq!(opened, 1);
}

fn parse_error(error: &HTTPClientError) -> Option<ParseError> {
    match error {
        HTTPClientError::MalformedResponse(MalformedResponse::Parse(e)) => Some(*e),
        _ => None,
    }
}

#[test]
fn broken_responses_are_errors_not_hangs() {
    let server = server();
    let urls = ["/close_mid", "/lie", "/garbage"].map(|p| server.url(p));
    let errors = run_async_test(TIMEOUT, async move {
        let client = AsyncHTTPClient::new();
        let mut errors = Vec::new();
        for url in &urls {
            errors.push(client.fetch(url).await.unwrap_err());
        }
        errors
    });
    assert_eq!(
        parse_error(&errors[0]),
        Some(ParseError::IncompleteResponseBody),
        "{}",
        errors[0]
    );
    assert_eq!(
        parse_error(&errors[1]),
        Some(ParseError::IncompleteResponseBody),
        "{}",
        errors[1]
    );
    assert_eq!(
        parse_error(&errors[2]),
        Some(ParseError::Version),
        "{}",
        errors[2]
    );
    assert!(errors.iter().all(|e| e.code() == 599 && e.is_malformed()));
}

#[test]
fn close_delimited_and_chunked_bodies() {
    let server = server();
    let urls = [server.url("/close_delimited"), server.url("/chunked")];
    let (closed, chunked) = run_async_test(TIMEOUT, async move {
        let client = AsyncHTTPClient::new();
        (
            client.fetch(&urls[0]).await.unwrap(),
            client.fetch(&urls[1]).await.unwrap(),
        )
    });
    assert_eq!(&closed.body[..], b"until the close");
    assert_eq!(&chunked.body[..], b"chunk one chunk two");
}

#[test]
fn gzip_is_asked_for_and_decompressed() {
    let server = server();
    let url = server.url("/gzip");
    let (decompressed, raw) = run_async_test(TIMEOUT, async move {
        let client = AsyncHTTPClient::new();
        let decompressed = client.fetch(&url).await.unwrap();
        let raw = client
            .fetch(HTTPRequest::new(&url).decompress_response(false))
            .await
            .unwrap();
        (decompressed, raw)
    });
    assert_eq!(decompressed.body, "hello gzip ".repeat(1000).as_bytes());
    assert_eq!(decompressed.headers.get("Content-Encoding"), None);
    assert_eq!(
        decompressed.headers.get("X-Consumed-Content-Encoding"),
        Some("gzip")
    );
    assert_eq!(
        raw.body.len(),
        11_000,
        "no Accept-Encoding: the server sends it plain"
    );
}

#[test]
fn request_headers_auth_and_user_agent() {
    let server = server();
    let (url, userinfo_url) = (
        server.url("/headers"),
        format!("http://bob:p%40ss@127.0.0.1:{}/headers", server.port),
    );
    let (basic, from_url) = run_async_test(TIMEOUT, async move {
        let client = AsyncHTTPClient::new();
        let basic = client
            .fetch(
                HTTPRequest::new(&url)
                    .auth("Aladdin", "open sesame")
                    .user_agent("probe/1")
                    .header("X-Custom", "1"),
            )
            .await
            .unwrap()
            .text();
        let from_url = client.fetch(&userinfo_url).await.unwrap().text();
        (basic, from_url)
    });
    assert!(
        basic.contains("Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\n"),
        "{basic}"
    );
    assert!(basic.contains("User-Agent: probe/1\n"), "{basic}");
    assert!(basic.contains("X-Custom: 1\n"), "{basic}");
    assert!(basic.contains("Accept-Encoding: gzip\n"), "{basic}");
    assert!(
        basic.contains(&format!("Host: 127.0.0.1:{}\n", server.port)),
        "{basic}"
    );
    // bob:p@ss
    assert!(
        from_url.contains("Authorization: Basic Ym9iOnBAc3M=\n"),
        "{from_url}"
    );
    assert!(from_url.contains("User-Agent: tornado-rs/"), "{from_url}");
}

#[test]
fn expect_100_continue_and_body_producer() {
    let server = server();
    let url = server.url("/echo");
    let (continued, produced, sized) = run_async_test(TIMEOUT, async move {
        let client = AsyncHTTPClient::new();
        let continued = client
            .fetch(
                HTTPRequest::new(&url)
                    .method("PUT")
                    .body("after the 100")
                    .expect_100_continue(true),
            )
            .await
            .unwrap();
        let produced = client
            .fetch(
                HTTPRequest::new(&url)
                    .method("POST")
                    .body_producer(|writer| async move {
                        for part in ["streamed ", "in ", "chunks"] {
                            writer.write(part).await?;
                            tornado::gen::sleep(Duration::from_millis(5)).await;
                        }
                        Ok(())
                    }),
            )
            .await
            .unwrap();
        let sized = client
            .fetch(
                HTTPRequest::new(&url)
                    .method("PUT")
                    .header("Content-Length", "6")
                    .body_producer(|writer| async move {
                        writer.write("abc").await?;
                        writer.write("def").await
                    }),
            )
            .await
            .unwrap();
        (continued, produced, sized)
    });
    assert_eq!(&continued.body[..], b"PUT after the 100");
    assert_eq!(&produced.body[..], b"POST streamed in chunks");
    assert_eq!(&sized.body[..], b"PUT abcdef");
}

#[test]
fn header_callback_raise_error_and_request_timeout() {
    let server = server();
    let urls = [
        server.url("/hello"),
        server.url("/status/404"),
        server.url("/slow/2"),
    ];
    let lines = Rc::new(RefCell::new(Vec::new()));
    let seen = lines.clone();
    let (not_found, raised, timed_out) = run_async_test(TIMEOUT, async move {
        let client = AsyncHTTPClient::new();
        client
            .fetch(
                HTTPRequest::new(&urls[0])
                    .header_callback(move |line| seen.borrow_mut().push(line.to_owned())),
            )
            .await
            .unwrap();
        let not_found = client
            .fetch(HTTPRequest::new(&urls[1]).raise_error(false))
            .await
            .unwrap();
        let raised = client.fetch(&urls[1]).await.unwrap_err();
        let timed_out = client
            .fetch(HTTPRequest::new(&urls[2]).request_timeout(Duration::from_millis(200)))
            .await
            .unwrap_err();
        (not_found, raised, timed_out)
    });
    let lines = lines.borrow();
    assert_eq!(
        lines.first().map(String::as_str),
        Some("HTTP/1.1 200 OK\r\n")
    );
    assert!(lines.contains(&"Content-Length: 5\r\n".to_owned()));
    assert_eq!(lines.last().map(String::as_str), Some("\r\n"));
    assert_eq!(
        (not_found.code, &not_found.body[..]),
        (404, &b"status body"[..])
    );
    assert_eq!(
        not_found.error.as_ref().map(HTTPClientError::code),
        Some(404)
    );
    assert_eq!(raised.code(), 404);
    assert_eq!(raised.to_string(), "HTTP 404: Not Found");
    assert!(timed_out.is_timeout(), "{timed_out}");
    assert_eq!(timed_out.code(), 599);
    assert_eq!(timed_out.to_string(), "HTTP 599: Timeout during request");
}
