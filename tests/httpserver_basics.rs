//! Normal traffic: keep-alive, HTTP/1.0, pipelining, chunked bodies, HEAD.

use std::io::Write;

use test_support::{echo_server, exchange, is_closed, read_response};
use tornado::httpserver::HTTPServerSettings;
use tornado::web::{url, Application, Handler, RequestHandler, Result};

#[test]
fn keep_alive_serves_many_requests_on_one_connection() {
    let server = echo_server(HTTPServerSettings::default());
    let mut sock = server.connect();
    for i in 0..5 {
        write!(sock, "GET /n/{i} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let response = read_response(&mut sock, false);
        assert_eq!(response.status, 200);
        assert_eq!(response.body, format!("GET /n/{i} ").into_bytes());
        assert!(response.header("date").is_some());
    }
}

#[test]
fn http10_without_keep_alive_closes() {
    let server = echo_server(HTTPServerSettings::default());
    let mut sock = server.connect();
    let out = exchange(&mut sock, b"GET /old HTTP/1.0\r\n\r\n");
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.ends_with("GET /old "), "{text}");
}

#[test]
fn http10_keep_alive_is_echoed_and_kept() {
    let server = echo_server(HTTPServerSettings::default());
    let mut sock = server.connect();
    for _ in 0..2 {
        sock.write_all(b"GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .unwrap();
        let response = read_response(&mut sock, false);
        assert_eq!(response.header("connection"), Some("Keep-Alive"));
        assert_eq!(response.body, b"GET /ka ");
    }
}

#[test]
fn connection_close_is_honoured() {
    let server = echo_server(HTTPServerSettings::default());
    let mut sock = server.connect();
    sock.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let response = read_response(&mut sock, false);
    assert_eq!(response.header("connection"), Some("close"));
    assert!(is_closed(&mut sock));
}

#[test]
fn hundred_pipelined_requests_get_hundred_ordered_responses() {
    let server = echo_server(HTTPServerSettings::default());
    let mut sock = server.connect();
    let mut batch = Vec::new();
    for i in 0..100 {
        write!(
            batch,
            "POST /p/{i} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\nbody{i}",
            format!("body{i}").len()
        )
        .unwrap();
    }
    sock.write_all(&batch).unwrap();
    for i in 0..100 {
        let response = read_response(&mut sock, false);
        assert_eq!(response.body, format!("POST /p/{i} body{i}").into_bytes());
    }
}

#[test]
fn requests_split_into_single_bytes_are_served() {
    let server = echo_server(HTTPServerSettings::default());
    let mut sock = server.connect();
    sock.set_nodelay(true).unwrap();
    let request = b"POST /slow HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nTrailer: t\r\n\r\n";
    for byte in request {
        sock.write_all(&[*byte]).unwrap();
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    let response = read_response(&mut sock, false);
    assert_eq!(response.body, b"POST /slow abcde");
}

#[test]
fn head_gets_headers_only() {
    let server = echo_server(HTTPServerSettings::default());
    let mut sock = server.connect();
    sock.write_all(b"HEAD /h HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let head = read_response(&mut sock, true);
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length"),
        Some("8"),
        "the length the body would have had"
    );
    let next = read_response(&mut sock, false);
    assert_eq!(
        next.body, b"GET /after ",
        "no stray body bytes between the two"
    );
}

#[test]
fn curl_sees_normal_responses() {
    let server = echo_server(HTTPServerSettings::default());
    let url = format!("http://{}/curl", server.addr);
    let out = std::process::Command::new("curl")
        .args(["-sS", "--data-binary", "hello", "-H", "Expect:", &url, &url])
        .output()
        .expect("curl is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "POST /curl helloPOST /curl hello"
    );
}

/// Echoes a POST body through the web layer, which hands bodies of 16 KiB
/// and more to the stream beside their framing (no copy): they must still go
/// out before a closing connection closes, and before the server waits for
/// the rest of a pipelined request.
fn large_body_server() -> test_support::ServerThread {
    struct Echo;
    impl RequestHandler for Echo {
        async fn post(&mut self, cx: &mut Handler) -> Result {
            let body = cx.request.body.clone();
            cx.write("POST /big ")?;
            cx.write(body)
        }
        async fn get(&mut self, cx: &mut Handler) -> Result {
            cx.write("GET /next ")
        }
    }
    test_support::app_server(Application::new([url(r"/.*", || Echo)]))
}

#[test]
fn a_large_response_is_sent_before_connection_close() {
    let server = large_body_server();
    let mut sock = server.connect();
    let body = vec![b'z'; 20_000];
    let mut request = format!(
        "POST /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    sock.write_all(&request).unwrap();
    let response = read_response(&mut sock, false);
    assert_eq!(response.body.len(), "POST /big ".len() + body.len());
    assert!(is_closed(&mut sock));
}

#[test]
fn a_large_response_is_not_held_back_by_a_partial_pipelined_request() {
    let server = large_body_server();
    let mut sock = server.connect();
    let body = vec![b'y'; 20_000];
    let mut request = format!(
        "POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    // The start of the next request arrives with the first one.
    request.extend_from_slice(b"GET /next HTTP/1.1\r\n");
    sock.write_all(&request).unwrap();
    let response = read_response(&mut sock, false);
    assert_eq!(response.body.len(), "POST /big ".len() + body.len());
    sock.write_all(b"Host: x\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut sock, false).body, b"GET /next ");
}
