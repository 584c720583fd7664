//! Transport failures: refused and timed-out connections, servers that lie
//! or send garbage (a tiny `std::net` server), stale keep-alive connections,
//! the max_clients queue, and the blocking client.

mod httpclient_support;

use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use httpclient_support::RawServer;
use tornado::http1::ParseError;
use tornado::httpclient::{
    AsyncHTTPClient, ClientConfig, HTTPClient, HTTPClientError, HTTPRequest, MalformedResponse,
};
use tornado::ioloop::IOLoop;
use tornado::testing::run_async_test;

const TIMEOUT: Duration = Duration::from_secs(20);

fn parse_error(error: &HTTPClientError) -> Option<ParseError> {
    match error {
        HTTPClientError::MalformedResponse(MalformedResponse::Parse(e)) => Some(*e),
        _ => None,
    }
}

#[test]
fn connection_refused() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let error = run_async_test(TIMEOUT, async move {
        AsyncHTTPClient::new()
            .fetch(format!("http://127.0.0.1:{port}/"))
            .await
            .unwrap_err()
    });
    assert!(error.is_connection_refused(), "{error}");
    assert_eq!(error.code(), 599);
}

#[test]
fn connect_timeout_fires() {
    // A listener that never accepts, with its backlog filled: further SYNs
    // are dropped and connecting hangs.
    let listener = tornado::netutil::bind_sockets(0, "127.0.0.1", 0, false).unwrap();
    let addr = listener[0].local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..64 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(100)) {
            Ok(stream) => fillers.push(stream),
            Err(_) => break,
        }
    }
    let start = Instant::now();
    let error = run_async_test(TIMEOUT, async move {
        AsyncHTTPClient::new()
            .fetch(
                HTTPRequest::new(format!("http://{addr}/"))
                    .connect_timeout(Duration::from_millis(300)),
            )
            .await
            .unwrap_err()
    });
    assert!(error.is_timeout(), "{error}");
    assert_eq!(error.to_string(), "HTTP 599: Timeout while connecting");
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn garbage_and_lies_from_a_raw_server() {
    let cases: Vec<(&'static [u8], Option<ParseError>)> = vec![
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", Some(ParseError::Version)),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
            Some(ParseError::IncompleteResponseBody),
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
            Some(ParseError::ConflictingContentLength),
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
            Some(ParseError::IncompleteResponseBody),
        ),
        (
            b"HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n",
            Some(ParseError::HeaderName),
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Encoding: gzip\r\n\r\nabc",
            None,
        ),
        (b"", None),
    ];
    for (reply, expected) in cases {
        let server = RawServer::start(false, move |_| reply.to_vec());
        let url = server.url("/");
        let error = run_async_test(TIMEOUT, async move {
            AsyncHTTPClient::new().fetch(url).await.unwrap_err()
        });
        match expected {
            Some(expected) => assert_eq!(parse_error(&error), Some(expected), "{error}"),
            None if reply.is_empty() => {
                assert!(matches!(error, HTTPClientError::StreamClosed(_)), "{error}")
            }
            None => assert!(
                matches!(
                    error,
                    HTTPClientError::MalformedResponse(MalformedResponse::Gzip(_))
                ),
                "{error}"
            ),
        }
    }
}

#[test]
fn stale_keep_alive_connection_is_retried_once() {
    // The server answers one request per connection but claims keep-alive,
    // then closes: the pooled connection is dead when reused.
    let server = RawServer::start(false, |_| {
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec()
    });
    let url = server.url("/");
    let (bodies, opened) = run_async_test(TIMEOUT, async move {
        let client = AsyncHTTPClient::new();
        let mut bodies = Vec::new();
        for _ in 0..3 {
            bodies.push(client.fetch(&url).await.unwrap().text());
            tornado::gen::sleep(Duration::from_millis(20)).await;
        }
        (bodies, client.connections_opened())
    });
    assert_eq!(bodies, ["ok", "ok", "ok"]);
    assert_eq!(opened, 3);
    assert_eq!(server.accepted.load(Ordering::SeqCst), 3);
}

#[test]
fn keep_alive_pool_with_a_raw_server() {
    let server = RawServer::start(true, |_| {
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec()
    });
    let url = server.url("/");
    let idle = run_async_test(TIMEOUT, async move {
        let client = AsyncHTTPClient::new();
        for _ in 0..10 {
            assert_eq!(client.fetch(&url).await.unwrap().text(), "ok");
        }
        client.idle_connections()
    });
    assert_eq!(idle, 1);
    assert_eq!(server.accepted.load(Ordering::SeqCst), 1);
}

#[test]
fn max_clients_queues_the_rest() {
    // Each response takes 100 ms; with max_clients 2, six fetches take three rounds.
    let server = RawServer::start(true, |_| {
        std::thread::sleep(Duration::from_millis(100));
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec()
    });
    let url = server.url("/");
    let start = Instant::now();
    let (ok, queued_timeout) = run_async_test(TIMEOUT, async move {
        let client = AsyncHTTPClient::with_config(ClientConfig {
            max_clients: 2,
            ..ClientConfig::default()
        });
        let tasks: Vec<_> = (0..6)
            .map(|_| {
                let (client, url) = (client.clone(), url.clone());
                IOLoop::current().spawn(async move { client.fetch(url).await.map(|r| r.text()) })
            })
            .collect();
        // Let the spawned fetches take the two slots and queue.
        tornado::gen::sleep(Duration::from_millis(20)).await;
        // A request that cannot get a slot in time.
        let crowd: Vec<_> = (0..2)
            .map(|_| {
                let (client, url) = (client.clone(), url.clone());
                IOLoop::current().spawn(async move { client.fetch(url).await })
            })
            .collect();
        let late = client
            .fetch(HTTPRequest::new(url.clone()).connect_timeout(Duration::from_millis(20)))
            .await
            .unwrap_err();
        let mut ok = 0;
        for task in tasks {
            ok += usize::from(task.await.unwrap().unwrap() == "ok");
        }
        for task in crowd {
            task.await.unwrap().unwrap();
        }
        (ok, late)
    });
    assert_eq!(ok, 6);
    assert_eq!(
        queued_timeout.to_string(),
        "HTTP 599: Timeout in request queue"
    );
    assert!(
        start.elapsed() >= Duration::from_millis(300),
        "{:?}",
        start.elapsed()
    );
    assert!(
        server.accepted.load(Ordering::SeqCst) <= 2,
        "at most max_clients connections"
    );
}

#[test]
fn blocking_client() {
    let server = RawServer::start(true, |head| {
        let body = head.lines().next().unwrap_or_default().to_owned();
        format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    });
    let client = HTTPClient::new().unwrap();
    let response = client.fetch(server.url("/blocking?x=1")).unwrap();
    assert_eq!(response.text(), "GET /blocking?x=1 HTTP/1.1");
    let again = client.fetch(server.url("/again")).unwrap();
    assert_eq!(again.text(), "GET /again HTTP/1.1");
    assert_eq!(client.async_client().connections_opened(), 1);
    let bad = client.fetch("ftp://example.com/").unwrap_err();
    assert!(matches!(bad, HTTPClientError::InvalidRequest(_)), "{bad}");
    let bad = client
        .fetch(HTTPRequest::new(server.url("/")).method("POST"))
        .unwrap_err();
    assert!(bad.to_string().contains("Body must not be None"), "{bad}");
    let bad = client
        .fetch(HTTPRequest::new(server.url("/")).body("x"))
        .unwrap_err();
    assert!(bad.to_string().contains("Body must be None"), "{bad}");
    let bad = client.fetch("https://127.0.0.1:1/").unwrap_err();
    assert!(matches!(bad, HTTPClientError::Connect(_)), "{bad}");
    drop(client);
}
