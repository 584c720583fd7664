//! Normal traffic through an independent client: Python's `http.client`.

use test_support::{python_stdout, ServerThread};
use tornado::http1connection::HTTP1Connection;
use tornado::httpserver::{HTTPServer, HTTPServerSettings};
use tornado::httputil::{HTTPHeaders, HTTPServerRequest};

/// `/chunked` streams its answer in three flushes (so it is chunked); any
/// other request gets `METHOD PATH BODY` with a `Content-Length`.
async fn handle(request: HTTPServerRequest) {
    let Some(conn): Option<HTTP1Connection> = request.connection.clone() else {
        return;
    };
    if request.path == "/chunked" {
        let _ = conn.write_headers(200, "", &HTTPHeaders::new(), Some(b"alpha "));
        let _ = conn.flush().await;
        let _ = conn.write(b"beta ");
        let _ = conn.flush().await;
        let _ = conn.write(b"gamma");
        let _ = conn.finish();
        return;
    }
    let mut body = format!("{} {} ", request.method, request.path).into_bytes();
    body.extend_from_slice(&request.body);
    let mut headers = HTTPHeaders::new();
    headers.set("Content-Length", body.len().to_string());
    headers.set("X-Path", request.path.clone());
    conn.write_headers(200, "", &headers, Some(&body)).unwrap();
    conn.finish().unwrap();
}

/// Runs `script` with the server's port as `PORT`; returns its stdout lines.
fn run_python(server: &ServerThread, script: &str) -> Vec<String> {
    let program = format!("PORT = {}\n{script}", server.addr.port());
    python_stdout(&program).lines().map(str::to_owned).collect()
}

fn server() -> ServerThread {
    ServerThread::start(|| HTTPServer::with_settings(handle, HTTPServerSettings::default()))
}

#[test]
fn keep_alive_gets_reuse_one_connection() {
    let server = server();
    let lines = run_python(
        &server,
        r#"
import http.client
conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
socks = set()
for i in range(5):
    conn.request("GET", f"/n/{i}")
    r = conn.getresponse()
    print(r.status, r.version, r.getheader("X-Path"), r.read().decode())
    assert not r.will_close
    socks.add(id(conn.sock))
print("sockets", len(socks))
"#,
    );
    let mut expected: Vec<String> = (0..5)
        .map(|i| format!("200 11 /n/{i} GET /n/{i} "))
        .collect();
    expected.push("sockets 1".to_owned());
    assert_eq!(lines, expected);
}

#[test]
fn post_with_body() {
    let server = server();
    let lines = run_python(
        &server,
        r#"
import http.client
conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
conn.request("POST", "/form", body=b"a=1&b=2", headers={"Content-Type": "application/x-www-form-urlencoded"})
r = conn.getresponse()
print(r.status, r.read().decode())
big = b"z" * 300000
conn.request("PUT", "/big", body=big)
r = conn.getresponse()
print(r.status, r.read() == b"PUT /big " + big)
"#,
    );
    assert_eq!(lines, ["200 POST /form a=1&b=2", "200 True"]);
}

#[test]
fn chunked_request_body() {
    let server = server();
    let lines = run_python(
        &server,
        r#"
import http.client
conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
conn.request("POST", "/up", body=iter([b"ab", b"cd", b"ef"]), encode_chunked=True)
r = conn.getresponse()
print(r.status, r.read().decode())
"#,
    );
    assert_eq!(lines, ["200 POST /up abcdef"]);
}

#[test]
fn chunked_response() {
    let server = server();
    let lines = run_python(
        &server,
        r#"
import http.client
conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
conn.request("GET", "/chunked")
r = conn.getresponse()
print(r.status, r.getheader("Transfer-Encoding"), r.getheader("Content-Length"), r.read().decode())
conn.request("GET", "/after")
r = conn.getresponse()
print(r.status, r.read().decode())
"#,
    );
    assert_eq!(
        lines,
        ["200 chunked None alpha beta gamma", "200 GET /after "]
    );
}

#[test]
fn head_request() {
    let server = server();
    let lines = run_python(
        &server,
        r#"
import http.client
conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
conn.request("HEAD", "/h")
r = conn.getresponse()
print(r.status, r.getheader("Content-Length"), repr(r.read()))
conn.request("GET", "/g")
r = conn.getresponse()
print(r.status, r.read().decode())
"#,
    );
    assert_eq!(lines, ["200 8 b''", "200 GET /g "]);
}

#[test]
fn http10_client() {
    let server = server();
    let lines = run_python(
        &server,
        r#"
import http.client
class HTTP10(http.client.HTTPConnection):
    _http_vsn = 10
    _http_vsn_str = "HTTP/1.0"
conn = HTTP10("127.0.0.1", PORT, timeout=10)
conn.request("GET", "/old")
r = conn.getresponse()
print(r.status, r.read().decode())
conn.close()
"#,
    );
    assert_eq!(lines, ["200 GET /old "]);
}

#[test]
fn http10_client_can_send_a_second_request() {
    // The response's status line says HTTP/1.1 and has no `Connection:
    // close`, so http.client keeps the connection (RFC 9112 §9.3) and its
    // next request finds it closed.
    let server = server();
    let lines = run_python(
        &server,
        r#"
import http.client
class HTTP10(http.client.HTTPConnection):
    _http_vsn = 10
    _http_vsn_str = "HTTP/1.0"
conn = HTTP10("127.0.0.1", PORT, timeout=10)
for path in ["/one", "/two"]:
    conn.request("GET", path)
    r = conn.getresponse()
    print(r.status, r.will_close, r.read().decode())
"#,
    );
    assert_eq!(lines, ["200 True GET /one ", "200 True GET /two "]);
}
