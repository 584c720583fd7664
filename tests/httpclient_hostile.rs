//! The client against servers that misbehave on a kept-alive connection or
//! flood it: bytes after a response, a POST the server took and closed on,
//! an answer to an upload that comes before the body is read, an endless
//! run of 1xx heads, a multi-member gzip body, many header lines,
//! credentials on a redirect to another origin, and many hosts' idle
//! connections. Each server is a few lines of `std::net`.

mod httpclient_support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use flate2::write::GzEncoder;
use flate2::Compression;
use httpclient_support::RawServer;
use tornado::httpclient::{AsyncHTTPClient, HTTPClientError, HTTPRequest, MalformedResponse};
use tornado::testing::run_async_test;

const TIMEOUT: Duration = Duration::from_secs(20);

/// Reads one request head (byte by byte: nothing past it is taken).
fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// Serves each connection with `serve` on its own thread.
fn serve(serve: impl Fn(TcpStream) + Send + Sync + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let serve = Arc::new(serve);
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let serve = serve.clone();
            thread::spawn(move || serve(stream));
        }
    });
    addr
}

#[test]
fn bytes_after_a_response_do_not_become_the_next_response() {
    // Each connection: one good answer, then (in a later packet) a forged
    // one nobody asked for. A reused connection would hand it to the next
    // fetch as its response.
    let addr = serve(|mut stream| {
        if read_head(&mut stream).is_none() {
            return;
        }
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        thread::sleep(Duration::from_millis(50));
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged");
        thread::sleep(Duration::from_secs(2));
    });
    let bodies = run_async_test(TIMEOUT, async move {
        let client = AsyncHTTPClient::new();
        let first = client.fetch(format!("http://{addr}/")).await.unwrap();
        tornado::gen::sleep(Duration::from_millis(200)).await;
        let second = client.fetch(format!("http://{addr}/")).await.unwrap();
        (first.text(), second.text(), client.connections_opened())
    });
    assert_eq!(bodies, ("ok".into(), "ok".into(), 2));
}

#[test]
fn a_post_the_server_closed_on_is_not_sent_again() {
    // The second request on a connection is read, then the server closes
    // without an answer: a GET is retried on a new connection, a POST is
    // not (the server may have acted on it).
    let posts = Arc::new(Mutex::new(0));
    let seen = posts.clone();
    let addr = serve(move |mut stream| {
        let mut answered = 0;
        while let Some(head) = read_head(&mut stream) {
            if head.starts_with("POST") {
                *seen.lock().unwrap() += 1;
                let mut body = [0u8; 4];
                let _ = stream.read_exact(&mut body);
            }
            if answered == 1 {
                return; // took it, closes without a word
            }
            answered += 1;
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        }
    });
    let (get, post) = run_async_test(TIMEOUT, async move {
        let client = AsyncHTTPClient::new();
        let url = format!("http://{addr}/");
        client.fetch(&url).await.unwrap();
        let get = client.fetch(&url).await.map(|r| r.text());
        let post = client
            .fetch(HTTPRequest::new(&url).method("POST").body("data"))
            .await
            .map(|r| r.text());
        (get, post)
    });
    assert_eq!(get.unwrap(), "ok", "a GET is retried");
    assert!(
        matches!(post, Err(HTTPClientError::StreamClosed(_))),
        "{post:?}"
    );
    assert_eq!(*posts.lock().unwrap(), 1, "the POST went out once");
}

/// How a server that answers an upload early goes on after its answer.
#[derive(Clone, Copy, Debug)]
enum AfterAnswer {
    /// Keeps the socket open (`Connection: close` sent) and reads nothing.
    KeepOpen,
    /// Closes soon after: the unread body makes its kernel send a reset,
    /// which fails the client's next write. (Closing at once would race
    /// the client's read of the answer: a failed write closes its stream.)
    Close,
    /// Says nothing about closing, keeps the socket open and reads nothing.
    KeepAlive,
}

/// POSTs 32 MiB twice to a server that answers `413` as soon as it has a
/// request's head, without reading the body (as our own server does past
/// `max_body_size`). Returns each fetch's status and body, how long the
/// first took, and the connections opened.
fn upload_answered_early(after: AfterAnswer) -> (Vec<(u16, String)>, Duration, u64) {
    let addr = serve(move |mut stream| {
        if read_head(&mut stream).is_none() {
            return;
        }
        let close = match after {
            AfterAnswer::KeepAlive => "",
            _ => "Connection: close\r\n",
        };
        let answer =
            format!("HTTP/1.1 413 Payload Too Large\r\nContent-Length: 8\r\n{close}\r\ntoo big!");
        let _ = stream.write_all(answer.as_bytes());
        thread::sleep(match after {
            AfterAnswer::Close => Duration::from_millis(500),
            _ => Duration::from_secs(10),
        });
    });
    run_async_test(TIMEOUT, async move {
        let client = AsyncHTTPClient::new();
        let mut answers = Vec::new();
        let mut first = None;
        for _ in 0..2 {
            let start = Instant::now();
            let request = HTTPRequest::new(format!("http://{addr}/upload"))
                .method("POST")
                .body(vec![b'x'; 32 << 20])
                .request_timeout(Duration::from_secs(5))
                .raise_error(false);
            let response = match client.fetch(request).await {
                Ok(response) => response,
                Err(err) => panic!("{after:?}: {err}"),
            };
            first.get_or_insert(start.elapsed());
            answers.push((response.code, response.text()));
        }
        (
            answers,
            first.unwrap_or_default(),
            client.connections_opened(),
        )
    })
}

#[test]
fn an_upload_answered_before_its_body_is_read_gets_the_answer() {
    // Tornado writes the body without waiting for it and reads meanwhile,
    // so the 413 arrives whatever the server does next; a client that
    // sent the whole body first would time out (the server reads nothing)
    // or fail with a reset (the server closed on unread bytes).
    for after in [
        AfterAnswer::KeepOpen,
        AfterAnswer::Close,
        AfterAnswer::KeepAlive,
    ] {
        let (answers, took, opened) = upload_answered_early(after);
        let expected = (413, "too big!".to_owned());
        assert_eq!(answers, [expected.clone(), expected], "{after:?}");
        assert!(took < Duration::from_secs(3), "{after:?}: took {took:?}");
        assert_eq!(
            opened, 2,
            "{after:?}: a half-sent request's connection is not reused"
        );
    }
}

#[test]
fn an_early_answer_that_ends_after_the_body_still_gets_the_body() {
    // A server may send its refusal's head at once and end it only once it
    // has read the whole request (a Tornado `@stream_request_body` handler
    // flushing a 400 in `prepare`): the client must go on sending.
    const BODY: usize = 8 << 20;
    let addr = serve(|mut stream| {
        if read_head(&mut stream).is_none() {
            return;
        }
        let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n");
        let mut left = BODY;
        let mut buf = vec![0u8; 64 * 1024];
        while left > 0 {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
        let _ = stream.write_all(b"5\r\nerror\r\n0\r\n\r\n");
        thread::sleep(Duration::from_secs(1));
    });
    let answer = run_async_test(TIMEOUT, async move {
        let request = HTTPRequest::new(format!("http://{addr}/"))
            .method("POST")
            .body(vec![b'x'; BODY])
            .request_timeout(Duration::from_secs(5))
            .raise_error(false);
        AsyncHTTPClient::new()
            .fetch(request)
            .await
            .map(|r| (r.code, r.text()))
    });
    assert_eq!(answer.unwrap(), (400, "error".to_owned()));
}

/// Fetches from a server that sends `count` `103 Early Hints` heads, then
/// a 200.
fn fetch_after_early_hints(count: usize) -> Result<String, HTTPClientError> {
    let server = RawServer::start(false, move |_| {
        let mut out = b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n".repeat(count);
        out.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        out
    });
    let url = server.url("/");
    run_async_test(TIMEOUT, async move {
        AsyncHTTPClient::new().fetch(&url).await.map(|r| r.text())
    })
}

#[test]
fn an_endless_run_of_informational_responses_is_an_error() {
    let error = fetch_after_early_hints(1000).unwrap_err();
    assert!(
        matches!(
            error,
            HTTPClientError::MalformedResponse(MalformedResponse::TooManyInformational)
        ),
        "{error}"
    );
    assert_eq!(fetch_after_early_hints(3).unwrap(), "ok", "a few are fine");
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn multi_member_gzip_and_many_header_lines() {
    // `cat a.gz b.gz` is one gzip stream (Tornado 6.6 decodes it whole);
    // 150 Set-Cookie lines are within the head's size limit.
    let server = RawServer::start(false, |_| {
        let mut body = gzip(b"hello ");
        body.extend_from_slice(&gzip(b"world"));
        let cookies: String = (0..150)
            .map(|i| format!("Set-Cookie: c{i}=v\r\n"))
            .collect();
        let mut out = format!(
            "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n{cookies}Content-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(&body);
        out
    });
    let url = server.url("/");
    let (body, cookies) = run_async_test(TIMEOUT, async move {
        let response = AsyncHTTPClient::new().fetch(&url).await.unwrap();
        let cookies = response.headers.get_list("Set-Cookie").count();
        (response.text(), cookies)
    });
    assert_eq!((body.as_str(), cookies), ("hello world", 150));
}

#[test]
fn a_redirect_to_another_origin_drops_cookie_and_authorization() {
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    let target = RawServer::start(false, move |head| {
        seen.lock().unwrap().push(head.to_owned());
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec()
    });
    let location = target.url("/landed");
    let origin = RawServer::start(false, move |_| {
        format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n")
            .into_bytes()
    });
    let url = origin.url("/");
    let body = run_async_test(TIMEOUT, async move {
        let request = HTTPRequest::new(&url)
            .header("Cookie", "session=secret")
            .header("Authorization", "Bearer secret");
        AsyncHTTPClient::new().fetch(request).await.unwrap().text()
    });
    assert_eq!(body, "ok");
    let heads = heads.lock().unwrap();
    assert_eq!(heads.len(), 1);
    assert!(heads[0].starts_with("GET /landed "), "{}", heads[0]);
    assert!(!heads[0].contains("secret"), "{}", heads[0]);
    assert_eq!(target.accepted.load(Ordering::SeqCst), 1);
}

#[test]
fn idle_connections_to_many_hosts_are_bounded() {
    // A crawler's pattern: one fetch to each of many servers. The pool
    // keeps max_clients per host, and at most four hosts' worth in all.
    let servers: Vec<RawServer> = (0..8)
        .map(|_| {
            RawServer::start(true, |_| {
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec()
            })
        })
        .collect();
    let urls: Vec<String> = servers.iter().map(|s| s.url("/")).collect();
    let idle = run_async_test(TIMEOUT, async move {
        let client = AsyncHTTPClient::with_config(tornado::httpclient::ClientConfig {
            max_clients: 1,
            ..Default::default()
        });
        for url in &urls {
            assert_eq!(client.fetch(url).await.unwrap().text(), "ok");
        }
        client.idle_connections()
    });
    assert_eq!(idle, 4);
}
