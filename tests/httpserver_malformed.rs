//! Malformed requests: each rule of the codec's table (framework/src/http1/mod.rs)
//! gets its exact status line, then a close; the server keeps serving fresh
//! connections afterwards.

use std::io::Write;

use test_support::{echo_server, read_response, send_expect_close, status_line, ServerThread};
use tornado::httpserver::HTTPServerSettings;

const BAD_REQUEST: &str = "HTTP/1.1 400 Bad Request";

fn server() -> ServerThread {
    echo_server(HTTPServerSettings::default())
}

/// Sends `request` on a new connection; asserts the answer is one bodiless
/// `status` response that closes the connection, and that a fresh connection
/// is then served normally.
fn assert_rejected(server: &ServerThread, request: &[u8], status: &str) {
    let out = send_expect_close(server.addr, request);
    let text = String::from_utf8_lossy(&out);
    let sent = String::from_utf8_lossy(&request[..request.len().min(200)]);
    assert_eq!(status_line(&out), status, "for {sent:?}: got {text:?}");
    assert!(
        text.ends_with("\r\n\r\n") && text.matches("\r\n\r\n").count() == 1,
        "one bodiless response, nothing after it: {text:?}"
    );
    assert!(text.contains("\r\nContent-Length: 0\r\n"), "{text:?}");
    assert!(text.contains("\r\nConnection: close\r\n"), "{text:?}");
    assert_still_serving(server);
}

/// A fresh connection gets a normal answer.
fn assert_still_serving(server: &ServerThread) {
    let mut sock = server.connect();
    sock.write_all(b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let response = read_response(&mut sock, false);
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"GET /next ");
}

/// Sends `request` and expects a 200 echo of `expected_body` on a connection
/// that stays open (a positive control for the rule next to it).
fn assert_accepted(server: &ServerThread, request: &[u8], expected_body: &[u8]) {
    let mut sock = server.connect();
    sock.write_all(request).unwrap();
    let response = read_response(&mut sock, false);
    assert_eq!(
        response.status,
        200,
        "for {:?}",
        String::from_utf8_lossy(request)
    );
    assert_eq!(response.body, expected_body);
    sock.write_all(b"GET /again HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut sock, false).body, b"GET /again ");
}

// ---- request line and head size ----

#[test]
fn request_line_too_long_is_414() {
    let server = server();
    let request = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(9000));
    assert_rejected(
        &server,
        request.as_bytes(),
        "HTTP/1.1 414 Request-URI Too Long",
    );
}

#[test]
fn request_line_just_under_the_limit_is_served() {
    let server = server();
    // 8 KiB without the CRLF is the default limit.
    let path = format!("/{}", "a".repeat(8 * 1024 - "GET  HTTP/1.1".len() - 1));
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_accepted(
        &server,
        request.as_bytes(),
        format!("GET {path} ").as_bytes(),
    );
}

#[test]
fn head_too_large_is_431() {
    let server = echo_server(HTTPServerSettings {
        max_header_size: 1024,
        ..HTTPServerSettings::default()
    });
    let request = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "v".repeat(1100)
    );
    assert_rejected(
        &server,
        request.as_bytes(),
        "HTTP/1.1 431 Request Header Fields Too Large",
    );
}

#[test]
fn head_too_large_is_431_before_the_head_ends() {
    // The head never ends: the limit must still trigger, without waiting.
    let server = echo_server(HTTPServerSettings {
        max_header_size: 1024,
        ..HTTPServerSettings::default()
    });
    let request = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}", "v".repeat(2000));
    assert_rejected(
        &server,
        request.as_bytes(),
        "HTTP/1.1 431 Request Header Fields Too Large",
    );
}

#[test]
fn too_many_headers_is_431() {
    let server = server();
    let mut request = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..100 {
        write!(request, "X-{i}: v\r\n").unwrap();
    }
    request.extend_from_slice(b"\r\n");
    assert_rejected(
        &server,
        &request,
        "HTTP/1.1 431 Request Header Fields Too Large",
    );
}

// ---- request line syntax ----

#[test]
fn bad_method_is_400() {
    let server = server();
    assert_rejected(&server, b"G(T / HTTP/1.1\r\nHost: x\r\n\r\n", BAD_REQUEST);
}

#[test]
fn control_byte_in_target_is_400() {
    let server = server();
    assert_rejected(
        &server,
        b"GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n",
        BAD_REQUEST,
    );
}

#[test]
fn double_space_before_target_is_400() {
    let server = server();
    assert_rejected(&server, b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", BAD_REQUEST);
}

#[test]
fn bad_version_syntax_is_400() {
    let server = server();
    assert_rejected(&server, b"GET / HTTP/1.x\r\nHost: x\r\n\r\n", BAD_REQUEST);
}

#[test]
fn lowercase_version_is_400() {
    let server = server();
    assert_rejected(&server, b"GET / http/1.1\r\nHost: x\r\n\r\n", BAD_REQUEST);
}

#[test]
fn http2_version_is_505() {
    let server = server();
    assert_rejected(
        &server,
        b"GET / HTTP/2.0\r\nHost: x\r\n\r\n",
        "HTTP/1.1 505 HTTP Version Not Supported",
    );
}

#[test]
fn http12_version_is_505() {
    let server = server();
    assert_rejected(
        &server,
        b"GET / HTTP/1.2\r\nHost: x\r\n\r\n",
        "HTTP/1.1 505 HTTP Version Not Supported",
    );
}

#[test]
fn http2_preface_is_400() {
    let server = server();
    assert_rejected(&server, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", BAD_REQUEST);
}

#[test]
fn garbage_is_400() {
    let server = server();
    assert_rejected(&server, b"asdf\r\n\r\n", BAD_REQUEST);
}

#[test]
fn tls_client_hello_is_400() {
    let server = server();
    assert_rejected(
        &server,
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
        BAD_REQUEST,
    );
}

// ---- Host ----

#[test]
fn missing_host_on_http11_is_400() {
    let server = server();
    assert_rejected(&server, b"GET / HTTP/1.1\r\n\r\n", BAD_REQUEST);
}

#[test]
fn missing_host_on_http10_is_served() {
    let server = server();
    let out = send_expect_close(server.addr, b"GET /ten HTTP/1.0\r\n\r\n");
    assert_eq!(status_line(&out), "HTTP/1.1 200 OK");
    assert!(out.ends_with(b"\r\n\r\nGET /ten "));
}

#[test]
fn two_hosts_are_400() {
    let server = server();
    assert_rejected(
        &server,
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        BAD_REQUEST,
    );
}

#[test]
fn invalid_host_is_400() {
    let server = server();
    assert_rejected(&server, b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", BAD_REQUEST);
}

// ---- header fields ----

#[test]
fn whitespace_before_colon_is_400() {
    let server = server();
    assert_rejected(&server, b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", BAD_REQUEST);
}

#[test]
fn obs_fold_is_400() {
    let server = server();
    assert_rejected(
        &server,
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n",
        BAD_REQUEST,
    );
}

#[test]
fn nul_in_value_is_400() {
    let server = server();
    assert_rejected(
        &server,
        b"GET / HTTP/1.1\r\nHost: x\r\nX-V: a\x00b\r\n\r\n",
        BAD_REQUEST,
    );
}

#[test]
fn bare_cr_in_value_is_400() {
    let server = server();
    assert_rejected(
        &server,
        b"GET / HTTP/1.1\r\nHost: x\r\nX-V: a\rb\r\n\r\n",
        BAD_REQUEST,
    );
}

#[test]
fn invalid_field_name_is_400() {
    let server = server();
    assert_rejected(
        &server,
        b"GET / HTTP/1.1\r\nHost: x\r\nX(y): z\r\n\r\n",
        BAD_REQUEST,
    );
}

#[test]
fn bare_lf_line_ends_in_the_head_are_accepted() {
    let server = server();
    assert_accepted(&server, b"GET /lf HTTP/1.1\nHost: x\n\n", b"GET /lf ");
}

#[test]
fn leading_empty_lines_are_skipped() {
    let server = server();
    assert_accepted(
        &server,
        b"\r\n\r\nGET /e HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /e ",
    );
}

// ---- body framing ----

#[test]
fn transfer_encoding_with_content_length_is_400() {
    let server = server();
    assert_rejected(
        &server,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        BAD_REQUEST,
    );
}

#[test]
fn differing_content_lengths_are_400() {
    let server = server();
    assert_rejected(
        &server,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        BAD_REQUEST,
    );
}

#[test]
fn differing_content_lengths_in_one_field_are_400() {
    let server = server();
    assert_rejected(
        &server,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\nhello!",
        BAD_REQUEST,
    );
}

#[test]
fn equal_content_lengths_are_accepted() {
    let server = server();
    assert_accepted(
        &server,
        b"POST /cl HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\nhello",
        b"POST /cl hello",
    );
}

#[test]
fn signed_content_length_is_400() {
    let server = server();
    assert_rejected(
        &server,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello",
        BAD_REQUEST,
    );
}

#[test]
fn hex_content_length_is_400() {
    let server = server();
    assert_rejected(
        &server,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x5\r\n\r\nhello",
        BAD_REQUEST,
    );
}

#[test]
fn overflowing_content_length_is_400() {
    let server = server();
    assert_rejected(
        &server,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        BAD_REQUEST,
    );
}

#[test]
fn another_coding_before_chunked_is_501() {
    let server = server();
    assert_rejected(
        &server,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 501 Not Implemented",
    );
}

#[test]
fn final_coding_not_chunked_is_400() {
    let server = server();
    assert_rejected(
        &server,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
        BAD_REQUEST,
    );
}

#[test]
fn chunked_twice_is_400() {
    let server = server();
    assert_rejected(
        &server,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
        BAD_REQUEST,
    );
}

#[test]
fn transfer_encoding_in_http10_is_400() {
    let server = server();
    assert_rejected(
        &server,
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        BAD_REQUEST,
    );
}

#[test]
fn chunked_with_extensions_and_trailers_is_accepted() {
    let server = server();
    assert_accepted(
        &server,
        b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;a=b\r\nabc\r\n2 ;q=\"x\"\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n",
        b"POST /c abcde",
    );
}

#[test]
fn bare_lf_after_chunk_size_is_400() {
    let server = server();
    assert_rejected(
        &server,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
        BAD_REQUEST,
    );
}

#[test]
fn bare_lf_after_chunk_data_is_400() {
    let server = server();
    assert_rejected(
        &server,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n",
        BAD_REQUEST,
    );
}

#[test]
fn bare_lf_ending_the_chunked_body_is_400() {
    let server = server();
    assert_rejected(
        &server,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\n",
        BAD_REQUEST,
    );
}

#[test]
fn chunk_data_without_crlf_is_400() {
    let server = server();
    assert_rejected(
        &server,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
        BAD_REQUEST,
    );
}

#[test]
fn non_hex_chunk_size_is_400() {
    let server = server();
    assert_rejected(
        &server,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        BAD_REQUEST,
    );
}

#[test]
fn overflowing_chunk_size_is_400() {
    let server = server();
    assert_rejected(
        &server,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
        BAD_REQUEST,
    );
}

#[test]
fn huge_chunk_size_is_413() {
    // 15 hex digits parse, but are far past max_body_size.
    let server = server();
    assert_rejected(
        &server,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffff\r\nhello",
        "HTTP/1.1 413 Request Entity Too Large",
    );
}

#[test]
fn chunk_line_too_long_is_400() {
    let server = server();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext={}\r\nhello\r\n0\r\n\r\n",
        "e".repeat(2000)
    );
    assert_rejected(&server, request.as_bytes(), BAD_REQUEST);
}

// ---- the rest of the server ----

#[test]
fn a_rejected_connection_does_not_disturb_an_open_one() {
    let server = server();
    let mut open = server.connect();
    open.write_all(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut open, false).body, b"GET /1 ");
    let out = send_expect_close(server.addr, b"asdf\r\n\r\n");
    assert_eq!(status_line(&out), BAD_REQUEST);
    open.write_all(b"GET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut open, false).body, b"GET /2 ");
}

#[test]
fn a_bad_request_after_a_good_one_on_the_same_connection() {
    let server = server();
    let out = send_expect_close(
        server.addr,
        b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\n\r\n",
    );
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text:?}");
    let second = text.find("GET /ok ").map(|i| &text[i + "GET /ok ".len()..]);
    assert_eq!(
        second.map(|s| s.lines().next().unwrap_or_default()),
        Some(BAD_REQUEST),
        "{text:?}"
    );
}

#[test]
fn request_line_too_long_is_414_before_the_line_ends() {
    // The line never ends: the limit must trigger without waiting for it.
    let server = server();
    let request = format!("GET /{}", "a".repeat(9000));
    assert_rejected(
        &server,
        request.as_bytes(),
        "HTTP/1.1 414 Request-URI Too Long",
    );
}

#[test]
fn rejection_of_a_request_sent_one_byte_at_a_time() {
    // Missing Host can only be known at the blank line, so every byte is
    // read before the 400 (no write races the close).
    let server = server();
    let mut sock = server.connect();
    sock.set_nodelay(true).unwrap();
    for byte in b"GET / HTTP/1.1\r\nX-A: b\r\n\r\n" {
        sock.write_all(&[*byte]).unwrap();
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    let out = test_support::read_until_close(&mut sock);
    assert_eq!(
        test_support::without_date(&out),
        format!("{BAD_REQUEST}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    );
    assert_still_serving(&server);
}

#[test]
fn a_tls_client_on_the_plain_port_is_refused_at_once() {
    // Python's ssl module says hello; without a newline in its bytes the
    // server still refuses on the first one rather than waiting for the
    // header timeout (60 s; the client gives up after 10).
    let server = server();
    let port = server.addr.port();
    let out = test_support::python_stdout(&format!(
        r#"
import socket, ssl
sock = socket.create_connection(("127.0.0.1", {port}))
sock.settimeout(10)
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
try:
    context.wrap_socket(sock)
    print("handshake completed")
except ssl.SSLError as err:
    print("refused:", type(err).__name__)
except socket.timeout:
    print("timed out")
except OSError as err:
    print("refused:", type(err).__name__)
"#
    ));
    assert!(out.starts_with("refused:"), "{out}");
}
