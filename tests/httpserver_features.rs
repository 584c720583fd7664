//! Connection features: xheaders, decompress_request, no_keep_alive, bodiless
//! 204/304, response framing by version, graceful shutdown, and a client that
//! goes away mid-response.

use std::cell::RefCell;
use std::future::Future;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use flate2::write::GzEncoder;
use flate2::Compression;
use test_support::{
    echo_server, is_closed, read_head, read_response, read_until_close, send_expect_close,
    status_line, wait_until, ServerThread,
};
use tornado::gen::sleep;
use tornado::http1connection::HTTP1Connection;
use tornado::httpserver::{HTTPServer, HTTPServerSettings};

use tornado::http1::RequestHead;
use tornado::httputil::{
    HTTPHeaders, HTTPMessageDelegate, HTTPServerConnectionDelegate, HTTPServerRequest,
};
use tornado::ioloop::{IOLoop, IOLoopHandle};
use tornado::web::Bytes;

/// Answers with `status` and `body` (a `Content-Length` response).
fn respond(conn: &HTTP1Connection, status: u16, body: &[u8]) {
    let mut headers = HTTPHeaders::new();
    headers.set("Content-Length", body.len().to_string());
    conn.write_headers(status, "", &headers, Some(body))
        .unwrap();
    conn.finish().unwrap();
}

fn start<D>(delegate: D, settings: HTTPServerSettings) -> ServerThread
where
    D: HTTPServerConnectionDelegate + Send + 'static,
{
    ServerThread::start(move || HTTPServer::with_settings(delegate, settings))
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

// ---- xheaders ----

/// Answers with `remote_ip protocol`.
fn client_facts_server(settings: HTTPServerSettings) -> ServerThread {
    start(
        |request: HTTPServerRequest| async move {
            let Some(conn) = request.connection.clone() else {
                return;
            };
            let body = format!("{} {}", request.remote_ip, request.protocol);
            respond(&conn, 200, body.as_bytes());
        },
        settings,
    )
}

fn xheaders_on() -> HTTPServerSettings {
    HTTPServerSettings {
        xheaders: true,
        ..HTTPServerSettings::default()
    }
}

/// Sends a GET with `fields` and returns the `remote_ip protocol` answer.
fn client_facts(sock: &mut TcpStream, fields: &str) -> String {
    write!(sock, "GET / HTTP/1.1\r\nHost: x\r\n{fields}\r\n").unwrap();
    let response = read_response(sock, false);
    assert_eq!(response.status, 200);
    String::from_utf8(response.body).unwrap()
}

#[test]
fn xheaders_real_ip_and_scheme() {
    let server = client_facts_server(xheaders_on());
    let mut sock = server.connect();
    assert_eq!(
        client_facts(&mut sock, "X-Real-Ip: 4.4.4.4\r\nX-Scheme: https\r\n"),
        "4.4.4.4 https"
    );
}

#[test]
fn xheaders_forwarded_for_and_proto() {
    let server = client_facts_server(xheaders_on());
    let mut sock = server.connect();
    assert_eq!(
        client_facts(
            &mut sock,
            "X-Forwarded-For: 1.1.1.1, 2.2.2.2\r\nX-Forwarded-Proto: https\r\n"
        ),
        "2.2.2.2 https"
    );
}

#[test]
fn xheaders_read_a_field_sent_on_several_lines_as_one_list() {
    let server = client_facts_server(xheaders_on());
    let mut sock = server.connect();
    // A client's own line, then its proxy's (HAProxy's `option forwardfor`
    // adds a line): the proxy's is believed, as Tornado's joined read does.
    assert_eq!(
        client_facts(
            &mut sock,
            "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n\
             X-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: http\r\n"
        ),
        "203.0.113.9 http"
    );
}

#[test]
fn xheaders_read_a_line_that_is_not_utf8_entry_by_entry() {
    // nginx's `$proxy_add_x_forwarded_for` appends the client's address to
    // the line the client sent: a stray byte there must not hide it (the
    // proxy's own address would pass for the client's).
    let server = client_facts_server(xheaders_on());
    let mut sock = server.connect();
    sock.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: \xff, 203.0.113.9\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut sock, false).body, b"203.0.113.9 http");
    // An X-Real-Ip or X-Scheme that is not valid is still the one read, as
    // in Tornado: nothing changes, X-Forwarded-For is not consulted.
    sock.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Real-Ip: \xff\r\nX-Forwarded-For: 203.0.113.9\r\n\
          X-Scheme: \xffhttps\r\nX-Forwarded-Proto: https\r\n\r\n",
    )
    .unwrap();
    assert_eq!(read_response(&mut sock, false).body, b"127.0.0.1 http");
}

#[test]
fn xheaders_real_ip_wins_over_forwarded_for() {
    let server = client_facts_server(xheaders_on());
    let mut sock = server.connect();
    assert_eq!(
        client_facts(
            &mut sock,
            "X-Forwarded-For: 1.1.1.1\r\nX-Real-Ip: 4.4.4.4\r\n"
        ),
        "4.4.4.4 http"
    );
}

#[test]
fn xheaders_ipv6() {
    let server = client_facts_server(xheaders_on());
    let mut sock = server.connect();
    assert_eq!(
        client_facts(&mut sock, "X-Real-Ip: 2001:db8::1\r\n"),
        "2001:db8::1 http"
    );
}

#[test]
fn xheaders_invalid_values_are_ignored() {
    let server = client_facts_server(xheaders_on());
    let mut sock = server.connect();
    assert_eq!(
        client_facts(&mut sock, "X-Real-Ip: not-an-ip\r\nX-Scheme: gopher\r\n"),
        "127.0.0.1 http"
    );
}

#[test]
fn xheaders_apply_to_one_request_only() {
    let server = client_facts_server(xheaders_on());
    let mut sock = server.connect();
    assert_eq!(
        client_facts(&mut sock, "X-Real-Ip: 4.4.4.4\r\nX-Scheme: https\r\n"),
        "4.4.4.4 https"
    );
    assert_eq!(
        client_facts(&mut sock, ""),
        "127.0.0.1 http",
        "the next request on the connection is the peer's own again"
    );
}

#[test]
fn xheaders_off_ignores_proxy_headers() {
    let server = client_facts_server(HTTPServerSettings::default());
    let mut sock = server.connect();
    assert_eq!(
        client_facts(
            &mut sock,
            "X-Real-Ip: 4.4.4.4\r\nX-Forwarded-For: 1.1.1.1\r\nX-Scheme: https\r\nX-Forwarded-Proto: https\r\n"
        ),
        "127.0.0.1 http"
    );
}

#[test]
fn xheaders_trusted_downstream_is_skipped() {
    let server = client_facts_server(HTTPServerSettings {
        xheaders: true,
        trusted_downstream: vec!["2.2.2.2".to_owned(), "3.3.3.3".to_owned()],
        ..HTTPServerSettings::default()
    });
    let mut sock = server.connect();
    assert_eq!(
        client_facts(&mut sock, "X-Forwarded-For: 1.1.1.1, 2.2.2.2, 3.3.3.3\r\n"),
        "1.1.1.1 http"
    );
}

// ---- decompress_request ----

/// Answers with `<X-Consumed-Content-Encoding>|<Content-Encoding>|<body>`.
fn encoding_server(settings: HTTPServerSettings) -> ServerThread {
    start(
        |request: HTTPServerRequest| async move {
            let Some(conn) = request.connection.clone() else {
                return;
            };
            let mut body = format!(
                "{}|{}|",
                request
                    .headers
                    .get("X-Consumed-Content-Encoding")
                    .unwrap_or("-"),
                request.headers.get("Content-Encoding").unwrap_or("-"),
            )
            .into_bytes();
            body.extend_from_slice(&request.body);
            respond(&conn, 200, &body);
        },
        settings,
    )
}

fn decompressing() -> HTTPServerSettings {
    HTTPServerSettings {
        decompress_request: true,
        ..HTTPServerSettings::default()
    }
}

fn post_gzip(sock: &mut TcpStream, body: &[u8]) {
    write!(
        sock,
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    sock.write_all(body).unwrap();
}

#[test]
fn gzip_body_arrives_decompressed() {
    let server = encoding_server(decompressing());
    let mut sock = server.connect();
    let plain = b"hello, compressed world! ".repeat(200);
    post_gzip(&mut sock, &gzip(&plain));
    let response = read_response(&mut sock, false);
    assert_eq!(response.status, 200);
    let mut expected = b"gzip|-|".to_vec();
    expected.extend_from_slice(&plain);
    assert_eq!(response.body, expected);
    // Still keep-alive.
    post_gzip(&mut sock, &gzip(b"again"));
    assert_eq!(read_response(&mut sock, false).body, b"gzip|-|again");
}

#[test]
fn gzip_body_in_chunked_framing_arrives_decompressed() {
    let server = encoding_server(decompressing());
    let mut sock = server.connect();
    let compressed = gzip(b"chunky");
    let (a, b) = compressed.split_at(compressed.len() / 2);
    write!(
        sock,
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n",
        a.len()
    )
    .unwrap();
    sock.write_all(a).unwrap();
    write!(sock, "\r\n{:x}\r\n", b.len()).unwrap();
    sock.write_all(b).unwrap();
    sock.write_all(b"\r\n0\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut sock, false).body, b"gzip|-|chunky");
}

#[test]
fn uncompressed_body_passes_through_with_decompress_on() {
    let server = encoding_server(decompressing());
    let mut sock = server.connect();
    sock.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nplain")
        .unwrap();
    assert_eq!(read_response(&mut sock, false).body, b"-|-|plain");
}

#[test]
fn gzip_body_is_left_alone_with_decompress_off() {
    let server = encoding_server(HTTPServerSettings::default());
    let mut sock = server.connect();
    let compressed = gzip(b"raw");
    post_gzip(&mut sock, &compressed);
    let mut expected = b"-|gzip|".to_vec();
    expected.extend_from_slice(&compressed);
    assert_eq!(read_response(&mut sock, false).body, expected);
}

/// Lowers the body limit to 1 KiB in `headers_received` (as a delegate
/// serving small uploads does) and answers with the body's length.
struct SmallBodies;

struct SmallBody {
    connection: HTTP1Connection,
    received: usize,
}

impl HTTPServerConnectionDelegate for SmallBodies {
    type Message = SmallBody;
    fn start_request(&self, connection: &HTTP1Connection) -> SmallBody {
        SmallBody {
            connection: connection.clone(),
            received: 0,
        }
    }
}

impl HTTPMessageDelegate for SmallBody {
    async fn headers_received(&mut self, _head: RequestHead) {
        self.connection.set_max_body_size(1024);
    }
    async fn data_received(&mut self, chunk: Bytes) {
        self.received += chunk.len();
    }
    async fn finish(&mut self) {
        respond(&self.connection, 200, self.received.to_string().as_bytes());
    }
    fn on_connection_close(&mut self) {}
}

#[test]
fn a_limit_the_delegate_lowers_holds_for_the_decompressed_body() {
    let server = start(SmallBodies, decompressing());
    let mut sock = server.connect();
    post_gzip(&mut sock, &gzip(&[b'a'; 900]));
    assert_eq!(read_response(&mut sock, false).body, b"900");
    // 100 kB that compresses to about 130 bytes on the wire.
    let out = send_expect_close(server.addr, &gzip_request(&gzip(&vec![b'a'; 100_000])));
    assert_eq!(status_line(&out), "HTTP/1.1 413 Request Entity Too Large");
}

#[test]
fn a_body_under_two_content_codings_is_left_alone() {
    // Tornado decodes only when the joined value is `gzip`: with `gzip`
    // then `br`, the body and both lines reach the delegate as sent.
    let server = encoding_server(decompressing());
    let mut sock = server.connect();
    let compressed = gzip(b"two codings");
    write!(
        sock,
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Encoding: br\r\nContent-Length: {}\r\n\r\n",
        compressed.len()
    )
    .unwrap();
    sock.write_all(&compressed).unwrap();
    let mut expected = b"-|gzip|".to_vec();
    expected.extend_from_slice(&compressed);
    assert_eq!(read_response(&mut sock, false).body, expected);
}

#[test]
fn corrupt_gzip_body_is_400() {
    let server = encoding_server(decompressing());
    let mut sock = server.connect();
    post_gzip(&mut sock, b"this is not gzip at all");
    let response = read_response(&mut sock, false);
    assert_eq!(response.status, 400);
    // The server goes on serving.
    let mut sock = server.connect();
    post_gzip(&mut sock, &gzip(b"fine"));
    assert_eq!(read_response(&mut sock, false).body, b"gzip|-|fine");
}

#[test]
fn refused_gzip_body_response_announces_the_close() {
    let server = encoding_server(decompressing());
    // The server closes after its 400, so the response must say so
    // (RFC 9112 §9.3: an HTTP/1.1 response without it promises persistence).
    let out = send_expect_close(server.addr, &gzip_request(b"this is not gzip at all"));
    let text = String::from_utf8_lossy(&out);
    assert_eq!(status_line(&out), "HTTP/1.1 400 Bad Request");
    assert!(text.contains("\r\nConnection: close\r\n"), "{text:?}");
}

/// A gzip POST with `body` as it is on the wire.
fn gzip_request(body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

#[test]
fn truncated_gzip_body_is_400_and_closes() {
    let server = encoding_server(decompressing());
    let compressed = gzip(&b"truncated ".repeat(50));
    // Found only once the body has ended: the connection, whose request
    // was read to its end, must still close after the 400.
    let out = send_expect_close(
        server.addr,
        &gzip_request(&compressed[..compressed.len() - 6]),
    );
    let text = String::from_utf8_lossy(&out);
    assert_eq!(status_line(&out), "HTTP/1.1 400 Bad Request");
    assert!(text.contains("\r\nConnection: close\r\n"), "{text:?}");
}

#[test]
fn empty_gzip_body_is_an_empty_body() {
    // Tornado's zlib object flushes nothing and raises nothing here.
    let server = encoding_server(decompressing());
    let mut sock = server.connect();
    post_gzip(&mut sock, b"");
    let response = read_response(&mut sock, false);
    assert_eq!(
        (response.status, response.body.as_slice()),
        (200, &b"gzip|-|"[..])
    );
}

#[test]
fn every_member_of_a_multi_member_gzip_body_arrives() {
    // `gzip a; gzip b; cat a.gz b.gz` is one valid gzip stream (RFC 1952
    // §2.2); Tornado keeps the first member only.
    let server = encoding_server(decompressing());
    let mut sock = server.connect();
    let mut body = gzip(b"first member, ");
    body.extend_from_slice(&gzip(b"second member"));
    post_gzip(&mut sock, &body);
    let response = read_response(&mut sock, false);
    assert_eq!(response.body, b"gzip|-|first member, second member");
}

#[test]
fn gzip_body_expanding_past_max_body_size_is_413() {
    let server = encoding_server(HTTPServerSettings {
        decompress_request: true,
        max_body_size: Some(10_000),
        ..HTTPServerSettings::default()
    });
    let mut sock = server.connect();
    let bomb = gzip(&[0u8; 200_000]);
    assert!(bomb.len() < 10_000);
    post_gzip(&mut sock, &bomb);
    let response = read_response(&mut sock, false);
    assert_eq!(response.status, 413);
}

// ---- no_keep_alive ----

#[test]
fn no_keep_alive_closes_after_each_response() {
    let server = test_support::echo_server(HTTPServerSettings {
        no_keep_alive: true,
        ..HTTPServerSettings::default()
    });
    for _ in 0..2 {
        let mut sock = server.connect();
        // A second request is pipelined: it must not be answered.
        sock.write_all(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let response = read_response(&mut sock, false);
        assert_eq!(response.body, b"GET /a ");
        assert_eq!(response.header("connection"), Some("close"));
        assert!(is_closed(&mut sock));
    }
}

#[test]
fn no_keep_alive_closes_http10_keep_alive_too() {
    let server = test_support::echo_server(HTTPServerSettings {
        no_keep_alive: true,
        ..HTTPServerSettings::default()
    });
    let out = send_expect_close(
        server.addr,
        b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    );
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text:?}");
    assert!(!text.contains("Keep-Alive"), "{text:?}");
}

// ---- bodiless statuses and response framing ----

/// `/304` and `/204` answer with headers only; `/flushes` writes its body in
/// three flushes without a `Content-Length`; anything else echoes the path.
fn framing_server() -> ServerThread {
    start(
        |request: HTTPServerRequest| async move {
            let Some(conn) = request.connection.clone() else {
                return;
            };
            match request.path.as_str() {
                "/304" => {
                    let mut headers = HTTPHeaders::new();
                    headers.set("ETag", "\"abc\"");
                    conn.write_headers(304, "", &headers, None).unwrap();
                    conn.finish().unwrap();
                }
                "/204" => {
                    conn.write_headers(204, "", &HTTPHeaders::new(), None)
                        .unwrap();
                    conn.finish().unwrap();
                }
                "/flushes" => {
                    conn.write_headers(200, "", &HTTPHeaders::new(), Some(b"one "))
                        .unwrap();
                    conn.flush().await.unwrap();
                    conn.write(b"two ").unwrap();
                    conn.flush().await.unwrap();
                    conn.write(b"three").unwrap();
                    conn.finish().unwrap();
                }
                path => respond(&conn, 200, path.as_bytes()),
            }
        },
        HTTPServerSettings::default(),
    )
}

#[test]
fn not_modified_has_no_body_and_no_framing_headers() {
    let server = framing_server();
    let mut sock = server.connect();
    sock.write_all(b"GET /304 HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let head = read_head(&mut sock);
    assert!(
        head.starts_with("HTTP/1.1 304 Not Modified\r\n"),
        "{head:?}"
    );
    assert!(head.contains("\r\nETag: \"abc\"\r\n"), "{head:?}");
    assert!(!head.contains("Transfer-Encoding"), "{head:?}");
    assert!(!head.contains("Content-Length"), "{head:?}");
    // The very next bytes are the next response: no body, no chunk terminator.
    let next = read_head(&mut sock);
    assert!(next.starts_with("HTTP/1.1 200 OK\r\n"), "{next:?}");
}

#[test]
fn no_content_has_no_body_and_no_framing_headers() {
    let server = framing_server();
    let mut sock = server.connect();
    sock.write_all(b"GET /204 HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let head = read_head(&mut sock);
    assert!(head.starts_with("HTTP/1.1 204 No Content\r\n"), "{head:?}");
    assert!(!head.contains("Transfer-Encoding"), "{head:?}");
    assert!(!head.contains("Content-Length"), "{head:?}");
    let next = read_response(&mut sock, false);
    assert_eq!(next.status, 200);
    assert_eq!(next.body, b"/after");
}

#[test]
fn several_flushes_are_chunked_for_http11() {
    let server = framing_server();
    let mut sock = server.connect();
    sock.write_all(b"GET /flushes HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let head = read_head(&mut sock);
    assert!(
        head.contains("\r\nTransfer-Encoding: chunked\r\n"),
        "{head:?}"
    );
    assert!(!head.contains("Content-Length"), "{head:?}");
    // The exact chunks, one per write.
    let expected = b"4\r\none \r\n4\r\ntwo \r\n5\r\nthree\r\n0\r\n\r\n";
    let mut body = vec![0u8; expected.len()];
    sock.read_exact(&mut body).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&body),
        String::from_utf8_lossy(expected)
    );
    // Kept alive.
    sock.write_all(b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut sock, false).body, b"/next");
}

#[test]
fn several_flushes_are_close_delimited_for_http10() {
    let server = framing_server();
    let out = send_expect_close(server.addr, b"GET /flushes HTTP/1.0\r\n\r\n");
    let text = String::from_utf8_lossy(&out);
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head:?}");
    assert!(!head.contains("Transfer-Encoding"), "{head:?}");
    assert!(!head.contains("Content-Length"), "{head:?}");
    assert_eq!(body, "one two three");
}

#[test]
fn several_flushes_to_http10_keep_alive_still_close() {
    // Only the close can end such a body, so keep-alive is not claimed.
    let server = framing_server();
    let out = send_expect_close(
        server.addr,
        b"GET /flushes HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    );
    let text = String::from_utf8_lossy(&out);
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(!head.contains("Keep-Alive"), "{head:?}");
    assert_eq!(body, "one two three");
}

#[test]
fn http10_response_that_closes_says_connection_close() {
    // The status line says HTTP/1.1, so without `Connection: close` the
    // client must assume the connection persists (RFC 9112 §9.3).
    let server = framing_server();
    let out = send_expect_close(server.addr, b"GET /ten HTTP/1.0\r\n\r\n");
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text:?}");
    assert!(text.contains("\r\nConnection: close\r\n"), "{text:?}");
}

// ---- graceful shutdown ----

/// Runs `close_all_connections`, or with a grace `close_all_connections_within`.
type Shutdown = Box<dyn Fn(Option<Duration>) -> Pin<Box<dyn Future<Output = ()>>>>;

thread_local! {
    /// On a `ShutdownServer`'s thread: starts its `close_all_connections`.
    static SHUTDOWN: RefCell<Option<Shutdown>> = const { RefCell::new(None) };
}

/// Like `ServerThread`, with a way to run `close_all_connections` on the
/// server's own thread.
struct ShutdownServer {
    addr: SocketAddr,
    handle: IOLoopHandle,
    thread: Option<thread::JoinHandle<()>>,
}

impl ShutdownServer {
    fn start<D>(delegate: D) -> ShutdownServer
    where
        D: HTTPServerConnectionDelegate + Send + 'static,
    {
        let (tx, rx) = mpsc::channel();
        let thread = thread::spawn(move || {
            let ioloop = IOLoop::current();
            let server = std::rc::Rc::new(HTTPServer::new(delegate));
            let addr = server.listen(0, "127.0.0.1").unwrap()[0];
            let shared = server.clone();
            SHUTDOWN.with(|s| {
                *s.borrow_mut() = Some(Box::new(move |grace| {
                    let server = shared.clone();
                    Box::pin(async move {
                        match grace {
                            Some(grace) => server.close_all_connections_within(grace).await,
                            None => server.close_all_connections().await,
                        }
                    })
                }))
            });
            tx.send((addr, ioloop.handle())).unwrap();
            ioloop.start().unwrap();
            server.stop();
            SHUTDOWN.with(|s| s.borrow_mut().take());
        });
        let (addr, handle) = rx.recv().unwrap();
        ShutdownServer {
            addr,
            handle,
            thread: Some(thread),
        }
    }

    fn connect(&self) -> TcpStream {
        let sock = TcpStream::connect(self.addr).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        sock
    }

    /// Starts `close_all_connections()`; the receiver hears when it resolves.
    fn close_all_connections(&self) -> mpsc::Receiver<()> {
        self.close_all_connections_within(None)
    }

    /// Starts `close_all_connections_within(grace)` (without a grace,
    /// `close_all_connections()`); the receiver hears when it resolves.
    fn close_all_connections_within(&self, grace: Option<Duration>) -> mpsc::Receiver<()> {
        let (tx, rx) = mpsc::channel();
        self.handle.add_callback(move || {
            let closing = SHUTDOWN.with(|s| (s.borrow().as_ref().unwrap())(grace));
            drop(IOLoop::current().spawn(async move {
                closing.await;
                let _ = tx.send(());
            }));
        });
        rx
    }
}

impl Drop for ShutdownServer {
    fn drop(&mut self) {
        self.handle.stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `/slow` reports that it started, then answers only once `release` is set;
/// anything else answers at once.
fn slow_delegate(
    started: mpsc::Sender<()>,
    release: Arc<AtomicBool>,
) -> impl Fn(HTTPServerRequest) -> Pin<Box<dyn Future<Output = ()>>> + Clone + Send + 'static {
    move |request: HTTPServerRequest| {
        let started = started.clone();
        let release = release.clone();
        Box::pin(async move {
            let Some(conn) = request.connection.clone() else {
                return;
            };
            if request.path == "/slow" {
                started.send(()).unwrap();
                while !release.load(Ordering::SeqCst) {
                    sleep(Duration::from_millis(1)).await;
                }
                respond(&conn, 200, b"slow done");
            } else {
                respond(&conn, 200, b"fast");
            }
        })
    }
}

/// True if `sock` has nothing to read within 50 ms (and is not closed).
fn quiet(sock: &mut TcpStream) -> bool {
    sock.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut byte = [0u8; 1];
    let quiet = matches!(
        sock.read(&mut byte),
        Err(ref e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
    );
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    quiet
}

#[test]
fn close_all_connections_closes_idle_at_once_and_lets_in_flight_finish() {
    let (started_tx, started) = mpsc::channel();
    let release = Arc::new(AtomicBool::new(false));
    let server = ShutdownServer::start(slow_delegate(started_tx, release.clone()));

    let mut idle = server.connect();
    idle.write_all(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut idle, false).body, b"fast");

    let mut busy = server.connect();
    busy.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    started.recv_timeout(Duration::from_secs(5)).unwrap();

    let done = server.close_all_connections();
    // The idle connection closes while the slow request is still held.
    let start = Instant::now();
    assert_eq!(read_until_close(&mut idle), b"");
    assert!(start.elapsed() < Duration::from_secs(1));
    assert!(quiet(&mut busy), "the in-flight request is not cut short");
    assert!(
        done.recv_timeout(Duration::from_millis(50)).is_err(),
        "close_all_connections waits for the in-flight request"
    );

    release.store(true, Ordering::SeqCst);
    let response = read_response(&mut busy, false);
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"slow done");
    assert!(is_closed(&mut busy), "closed after its response");
    done.recv_timeout(Duration::from_secs(5))
        .expect("close_all_connections resolves once all are closed");
}

#[test]
fn a_connection_opened_after_close_all_connections_is_served() {
    // Tornado's close_all_connections closes the connections open then; a
    // server still listening serves the next one as usual.
    let (started_tx, _started) = mpsc::channel();
    let server = ShutdownServer::start(slow_delegate(started_tx, Arc::new(AtomicBool::new(true))));
    let done = server.close_all_connections();
    done.recv_timeout(Duration::from_secs(5)).unwrap();
    let mut sock = server.connect();
    sock.write_all(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let response = read_response(&mut sock, false);
    assert_eq!((response.status, &response.body[..]), (200, &b"fast"[..]));
    assert_eq!(response.header("connection"), None, "kept alive");
}

/// Whether the server closed `sock` (EOF or a reset) within 2 s, rather
/// than answering or leaving it open.
fn closed_at_once(sock: &mut TcpStream) -> bool {
    sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut byte = [0u8; 1];
    match sock.read(&mut byte) {
        Ok(n) => n == 0,
        Err(err) => err.kind() == std::io::ErrorKind::ConnectionReset,
    }
}

/// A server in `close_all_connections`, waiting for a `/slow` request in
/// flight on `busy` until `release` is set; `done` hears when it resolves.
struct ClosingWhileBusy {
    server: ShutdownServer,
    busy: TcpStream,
    release: Arc<AtomicBool>,
    done: mpsc::Receiver<()>,
}

fn closing_while_busy() -> ClosingWhileBusy {
    let (started_tx, started) = mpsc::channel();
    let release = Arc::new(AtomicBool::new(false));
    let server = ShutdownServer::start(slow_delegate(started_tx, release.clone()));
    let mut busy = server.connect();
    busy.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    started.recv_timeout(Duration::from_secs(5)).unwrap();
    let done = server.close_all_connections();
    assert!(quiet(&mut busy), "the in-flight request is not cut short");
    ClosingWhileBusy {
        server,
        busy,
        release,
        done,
    }
}

#[test]
fn a_connection_that_comes_in_while_close_all_connections_waits_is_closed() {
    // Tornado's close_all_connections closes connections until none is
    // left: one arriving meanwhile (accepted just before `stop`) is closed
    // too, instead of keeping the wait going for its keep-alive.
    let ClosingWhileBusy {
        server,
        mut busy,
        release,
        done,
    } = closing_while_busy();
    let mut late = server.connect();
    late.write_all(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert!(
        closed_at_once(&mut late),
        "closed, not served nor left open"
    );
    release.store(true, Ordering::SeqCst);
    assert_eq!(read_response(&mut busy, false).body, b"slow done");
    done.recv_timeout(Duration::from_secs(5))
        .expect("close_all_connections resolves once the in-flight request is done");
}

#[test]
fn a_close_within_a_grace_that_ends_first_leaves_the_other_closing() {
    // close_all_connections and close_all_connections_within at once: the
    // second returns after its grace while the first still waits for a
    // busy handler; connections coming in then are still closed.
    let ClosingWhileBusy {
        server,
        busy: _busy,
        release,
        done,
    } = closing_while_busy();
    let within = server.close_all_connections_within(Some(Duration::from_millis(50)));
    within.recv_timeout(Duration::from_secs(5)).unwrap();
    let mut late = server.connect();
    late.write_all(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert!(
        closed_at_once(&mut late),
        "closed, not served nor left open"
    );
    release.store(true, Ordering::SeqCst);
    done.recv_timeout(Duration::from_secs(5)).unwrap();
}

#[test]
fn in_flight_response_during_shutdown_says_connection_close() {
    let ClosingWhileBusy {
        server: _server,
        mut busy,
        release,
        done,
    } = closing_while_busy();
    release.store(true, Ordering::SeqCst);
    let response = read_response(&mut busy, false);
    assert_eq!(response.body, b"slow done");
    assert_eq!(
        response.header("connection"),
        Some("close"),
        "the client must learn not to send another request: {:?}",
        response.headers
    );
    done.recv_timeout(Duration::from_secs(5)).unwrap();
}

#[test]
fn close_all_connections_with_none_open_resolves() {
    let (started_tx, _started) = mpsc::channel();
    let server = ShutdownServer::start(slow_delegate(started_tx, Arc::new(AtomicBool::new(true))));
    server
        .close_all_connections()
        .recv_timeout(Duration::from_secs(5))
        .unwrap();
}

// ---- a client that goes away mid-response ----

#[test]
fn client_disconnect_fails_flush_and_fires_close_callback() {
    let callback_fired = Arc::new(AtomicBool::new(false));
    let (outcome_tx, outcome) = mpsc::channel();
    let fired = callback_fired.clone();
    let server = start(
        move |request: HTTPServerRequest| {
            let fired = fired.clone();
            let outcome_tx = outcome_tx.clone();
            async move {
                let Some(conn) = request.connection.clone() else {
                    return;
                };
                conn.set_close_callback(move || fired.store(true, Ordering::SeqCst));
                let mut result = conn.write_headers(200, "", &HTTPHeaders::new(), Some(b"start"));
                let mut writes = 0;
                // Stream until the client is gone (at most ~10 s).
                while result.is_ok() && writes < 2000 {
                    result = match conn.flush().await {
                        Ok(()) => {
                            sleep(Duration::from_millis(5)).await;
                            writes += 1;
                            conn.write(&[b'x'; 1024])
                        }
                        Err(err) => Err(err),
                    };
                }
                outcome_tx.send((result.is_err(), writes)).unwrap();
            }
        },
        HTTPServerSettings::default(),
    );
    let mut sock = server.connect();
    sock.write_all(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 15];
    sock.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200 OK");
    drop(sock);
    let (failed, writes) = outcome
        .recv_timeout(Duration::from_secs(5))
        .expect("the delegate stops streaming");
    assert!(failed, "flush or write returned Err after the client left");
    assert!(writes < 2000, "stopped early, after {writes} writes");
    assert!(
        wait_until(Duration::from_secs(2), || callback_fired
            .load(Ordering::SeqCst)),
        "the close callback fired"
    );
}

#[test]
fn close_callback_does_not_fire_for_a_finished_response() {
    let callback_fired = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let (fired, count) = (callback_fired.clone(), answered.clone());
    let server = start(
        move |request: HTTPServerRequest| {
            let fired = fired.clone();
            let count = count.clone();
            async move {
                let Some(conn) = request.connection.clone() else {
                    return;
                };
                conn.set_close_callback(move || fired.store(true, Ordering::SeqCst));
                respond(&conn, 200, b"done");
                count.fetch_add(1, Ordering::SeqCst);
            }
        },
        HTTPServerSettings::default(),
    );
    let out = send_expect_close(
        server.addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_line(&out), "HTTP/1.1 200 OK");
    assert!(wait_until(Duration::from_secs(2), || answered
        .load(Ordering::SeqCst)
        == 1));
    // One more request through the server makes sure the first connection's
    // teardown has run before the flag is read.
    let out = send_expect_close(
        server.addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_line(&out), "HTTP/1.1 200 OK");
    assert!(!callback_fired.load(Ordering::SeqCst));
}

#[test]
fn a_panicking_callback_closes_its_connection_and_lets_shutdown_finish() {
    // The loop catches the panic and logs it; the connection must not stay
    // open with nothing reading it (Tornado closes it in a `finally`).
    let server = ShutdownServer::start(|request: HTTPServerRequest| async move {
        let Some(conn) = request.connection.clone() else {
            return;
        };
        if request.path == "/panic" {
            panic!("callback fails");
        }
        respond(&conn, 200, b"fine");
    });
    let mut sock = server.connect();
    sock.write_all(b"GET /panic HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let read = sock.read(&mut [0u8; 1]);
    assert!(
        matches!(&read, Ok(0))
            || matches!(&read, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset),
        "the client is told, within 5 s: {read:?}"
    );
    let mut sock = server.connect();
    sock.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut sock, false).body, b"fine");
    drop(sock);
    let done = server.close_all_connections();
    assert!(
        done.recv_timeout(Duration::from_secs(5)).is_ok(),
        "nothing left open: close_all_connections resolves"
    );
}

#[test]
fn close_all_connections_within_a_grace_closes_a_client_that_stopped_reading() {
    // 16 MiB the client never reads: the response cannot finish, and only
    // closing its connection (Tornado's way, here after the grace) ends it.
    let server = ShutdownServer::start(sixteen_mib);
    let stalled = server.connect();
    (&stalled)
        .write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    thread::sleep(Duration::from_millis(100));
    let patient = server.close_all_connections();
    assert!(
        patient.recv_timeout(Duration::from_millis(500)).is_err(),
        "without a grace, it waits for the response"
    );
    let started = Instant::now();
    let done = server.close_all_connections_within(Some(Duration::from_millis(200)));
    assert!(done.recv_timeout(Duration::from_secs(5)).is_ok());
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "the grace is given"
    );
    assert!(
        patient.recv_timeout(Duration::from_secs(5)).is_ok(),
        "and the first resolves too"
    );
    drop(stalled);
}

/// Answers with 16 MiB, which a client that never reads keeps from finishing.
async fn sixteen_mib(request: HTTPServerRequest) {
    if let Some(conn) = request.connection.clone() {
        respond(&conn, 200, &vec![b'x'; 16 << 20]);
    }
}

/// Never answers: a handler busy elsewhere (sleeping on), not on its
/// connection.
async fn sleeps_on(_request: HTTPServerRequest) {
    std::future::pending::<()>().await;
}

/// A server on `start(2)` threads serving `delegate`, eight clients whose
/// requests do not finish, then `stop()`, `close_all_connections_within`
/// and `join_workers`: which must return, the workers having closed their
/// connections after the grace too.
fn join_workers_returns_after_a_grace<D>(delegate: D)
where
    D: HTTPServerConnectionDelegate + Clone + Send + 'static,
{
    let (addr_tx, addr_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    let go = Arc::new(AtomicBool::new(false));
    let start_stopping = go.clone();
    thread::spawn(move || {
        let ioloop = IOLoop::current();
        let server = std::rc::Rc::new(HTTPServer::new(delegate));
        let addr = server.bind(0, "127.0.0.1", 128, true).unwrap()[0];
        server.start(2).unwrap();
        addr_tx.send(addr).unwrap();
        let stopping = server.clone();
        drop(ioloop.spawn(async move {
            while !start_stopping.load(Ordering::SeqCst) {
                sleep(Duration::from_millis(5)).await;
            }
            stopping.stop();
            stopping
                .close_all_connections_within(Duration::from_millis(200))
                .await;
            IOLoop::current().stop();
        }));
        ioloop.start().unwrap();
        server.join_workers();
        done_tx.send(()).unwrap();
    });
    let addr = addr_rx.recv().unwrap();
    let stalled: Vec<TcpStream> = (0..8)
        .map(|_| {
            let mut sock = TcpStream::connect(addr).unwrap();
            sock.write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            sock
        })
        .collect();
    thread::sleep(Duration::from_millis(300));
    go.store(true, Ordering::SeqCst);
    assert!(
        done_rx.recv_timeout(Duration::from_secs(10)).is_ok(),
        "join_workers returned"
    );
    drop(stalled);
}

#[test]
fn a_grace_also_ends_the_worker_threads_stalled_clients() {
    join_workers_returns_after_a_grace(sixteen_mib);
}

#[test]
fn a_grace_also_ends_the_worker_threads_handlers_that_sleep_on() {
    join_workers_returns_after_a_grace(sleeps_on);
}

#[test]
fn close_all_connections_within_does_not_wait_forever_for_a_sleeping_handler() {
    // Tornado's close_all_connections resolves once the connections are
    // closed, leaving such a coroutine running; here it resolves at the
    // latest a second grace after the close.
    let server = ShutdownServer::start(sleeps_on);
    let mut sock = server.connect();
    sock.write_all(b"GET /sleep HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    thread::sleep(Duration::from_millis(100));
    let done = server.close_all_connections_within(Some(Duration::from_millis(200)));
    assert!(done.recv_timeout(Duration::from_secs(5)).is_ok());
    assert!(
        test_support::is_closed(&mut sock),
        "its connection is closed"
    );
}

#[test]
fn a_callback_server_refuses_a_malformed_form_body_without_calling_back() {
    // Tornado's `_CallableAdapter.finish` raises `HTTPInputError`: a bare
    // 400, the connection closed, the callback never called.
    let server = echo_server(HTTPServerSettings::default());
    let body = "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n";
    let request = format!(
        "POST /form HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let out = send_expect_close(server.addr, request.as_bytes());
    assert_eq!(status_line(&out), "HTTP/1.1 400 Bad Request");
    assert!(
        !String::from_utf8_lossy(&out).contains("POST /form"),
        "{out:?}"
    );
}
