//! `max_body_size` (413) and `Expect: 100-continue`.

use std::io::{Read, Write};
use std::net::TcpStream;

use test_support::{
    echo_server, read_head, read_response, send_expect_close, status_line, ServerThread,
};
use tornado::httpserver::HTTPServerSettings;

const TOO_LARGE: &str = "HTTP/1.1 413 Request Entity Too Large";

/// An echo server that accepts bodies of at most 100 bytes.
fn small_body_server() -> ServerThread {
    echo_server(HTTPServerSettings {
        max_body_size: Some(100),
        ..HTTPServerSettings::default()
    })
}

/// True if the server has sent nothing (yet) within 100 ms.
fn nothing_to_read(sock: &mut TcpStream) -> bool {
    let previous = sock.read_timeout().unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_millis(100)))
        .unwrap();
    let mut byte = [0u8; 1];
    let idle = matches!(
        sock.read(&mut byte),
        Err(ref e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
    );
    sock.set_read_timeout(previous).unwrap();
    idle
}

#[test]
fn content_length_over_the_limit_is_413_before_the_body_is_sent() {
    let server = small_body_server();
    // No body follows the head: the answer must come from the length alone.
    let out = send_expect_close(
        server.addr,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n",
    );
    assert_eq!(
        test_support::without_date(&out),
        format!("{TOO_LARGE}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    );
}

#[test]
fn content_length_at_the_limit_is_served() {
    let server = small_body_server();
    let mut sock = server.connect();
    let body = "b".repeat(100);
    write!(
        sock,
        "POST /max HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{body}"
    )
    .unwrap();
    let response = read_response(&mut sock, false);
    assert_eq!(response.status, 200);
    assert_eq!(response.body, format!("POST /max {body}").into_bytes());
}

#[test]
fn chunked_body_growing_past_the_limit_is_413() {
    let server = small_body_server();
    let mut sock = server.connect();
    let chunk = "c".repeat(60);
    // The first chunk fits; the server must wait for more, not answer yet.
    write!(
        sock,
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3c\r\n{chunk}\r\n"
    )
    .unwrap();
    assert!(
        nothing_to_read(&mut sock),
        "answered before the limit was passed"
    );
    // The second takes the total to 120 > 100. The server may answer and
    // close as soon as it reads the size line, so the rest of this write may
    // fail: only the answer matters.
    let _ = sock.write_all(format!("3c\r\n{chunk}\r\n").as_bytes());
    let out = test_support::read_until_close(&mut sock);
    assert_eq!(status_line(&out), TOO_LARGE);
}

#[test]
fn chunked_body_at_the_limit_is_served() {
    let server = small_body_server();
    let mut sock = server.connect();
    let chunk = "c".repeat(50);
    write!(
        sock,
        "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n32\r\n{chunk}\r\n32\r\n{chunk}\r\n0\r\n\r\n"
    )
    .unwrap();
    let response = read_response(&mut sock, false);
    assert_eq!(response.status, 200);
    assert_eq!(response.body.len(), "POST /c ".len() + 100);
}

#[test]
fn the_server_still_serves_after_a_413() {
    let server = small_body_server();
    let out = send_expect_close(
        server.addr,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n",
    );
    assert_eq!(status_line(&out), TOO_LARGE);
    let mut sock = server.connect();
    sock.write_all(b"POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
        .unwrap();
    assert_eq!(read_response(&mut sock, false).body, b"POST /ok hi");
}

#[test]
fn expect_continue_gets_100_before_the_body_is_sent() {
    let server = small_body_server();
    let mut sock = server.connect();
    sock.write_all(
        b"POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    )
    .unwrap();
    assert_eq!(read_head(&mut sock), "HTTP/1.1 100 (Continue)\r\n\r\n");
    sock.write_all(b"hello").unwrap();
    let response = read_response(&mut sock, false);
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"POST /e hello");
    // Kept alive, and the next request without Expect gets no 100.
    sock.write_all(b"POST /f HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n!")
        .unwrap();
    let response = read_response(&mut sock, false);
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"POST /f !");
}

#[test]
fn expect_continue_with_chunked_body_gets_100() {
    let server = small_body_server();
    let mut sock = server.connect();
    sock.write_all(
        b"POST /e HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
    )
    .unwrap();
    assert_eq!(read_head(&mut sock), "HTTP/1.1 100 (Continue)\r\n\r\n");
    sock.write_all(b"2\r\nok\r\n0\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut sock, false).body, b"POST /e ok");
}

#[test]
fn expect_continue_with_too_large_content_length_gets_413_and_no_100() {
    let server = small_body_server();
    let out = send_expect_close(
        server.addr,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\nExpect: 100-continue\r\n\r\n",
    );
    assert_eq!(
        test_support::without_date(&out),
        format!("{TOO_LARGE}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    );
}

#[test]
fn expect_continue_is_ignored_for_http10() {
    let server = small_body_server();
    let out = send_expect_close(
        server.addr,
        b"POST /old HTTP/1.0\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nhi",
    );
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text:?}");
    assert!(!text.contains("100 (Continue)"), "{text:?}");
    assert!(text.ends_with("\r\n\r\nPOST /old hi"), "{text:?}");
}

#[test]
fn bodyless_request_with_expect_gets_no_100() {
    let server = small_body_server();
    let mut sock = server.connect();
    sock.write_all(b"GET /g HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n")
        .unwrap();
    let response = read_response(&mut sock, false);
    assert_eq!(response.status, 200, "the final response, not a 100");
    assert_eq!(response.body, b"GET /g ");
}

/// Whether `server` echoes a POST of `len` bytes (200 with the bytes).
fn echoes_a_body_of(server: &ServerThread, len: usize) -> bool {
    let mut sock = TcpStream::connect(server.addr).unwrap();
    let head = format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {len}\r\n\r\n");
    sock.write_all(head.as_bytes()).unwrap();
    sock.write_all(&vec![b'a'; len]).unwrap();
    let response = read_response(&mut sock, false);
    response.status == 200 && response.body.ends_with(&vec![b'a'; len])
}

#[test]
fn max_buffer_size_is_the_body_limit_when_max_body_size_is_unset() {
    // Tornado's HTTP1Connection: `max_body_size or stream.max_buffer_size`,
    // the usual way to raise or lower its upload limit.
    let server = echo_server(HTTPServerSettings {
        max_buffer_size: 1000,
        ..HTTPServerSettings::default()
    });
    let out = send_expect_close(
        server.addr,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n",
    );
    assert_eq!(status_line(&out), TOO_LARGE);
    assert!(echoes_a_body_of(&server, 1000));
    // Set, max_body_size wins, above max_buffer_size too.
    let server = echo_server(HTTPServerSettings {
        max_buffer_size: 1000,
        max_body_size: Some(5000),
        ..HTTPServerSettings::default()
    });
    assert!(echoes_a_body_of(&server, 5000));
}
