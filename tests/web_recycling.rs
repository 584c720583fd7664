//! A request's context is a recycled one (the pools that make the request
//! path allocation-free): nothing of one request may show in the next, on
//! the same connection or another, whatever the first one set. Responses are
//! read with test_support's own parser, not the server's codec.

use std::io::Write;

use test_support::{app_server, read_response, Response};
use tornado::web::{url, Application, Handler, RequestHandler, Result};

/// Sets everything a handler can set on its context.
struct Dirty;
impl RequestHandler for Dirty {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.set_status(201);
        cx.set_header("X-Leak", "1")?;
        cx.add_header("X-Added", "2")?;
        cx.set_header("Content-Type", "text/plain")?;
        cx.set_cookie("session", "abc")?;
        let cookie = cx.get_cookie("sent").unwrap_or_default();
        let path = cx.path_args().join(",");
        let arg = cx.get_argument_or("q", "-")?;
        cx.write(format!("{cookie}|{path}|{arg}"))
    }

    async fn post(&mut self, cx: &mut Handler) -> Result {
        let field = cx.get_body_argument("field")?;
        cx.write(field)
    }
}

/// Reports what it sees of the request and the response it starts with.
struct Clean;
impl RequestHandler for Clean {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        let seen = format!(
            "status={} cookie={:?} path_args={:?} kwargs={} q={:?} body_field={:?} body={} headers={}",
            cx.get_status(),
            cx.get_cookie("sent"),
            cx.path_args(),
            cx.path_kwargs().len(),
            cx.get_arguments("q")?,
            cx.get_body_arguments("field")?,
            cx.request.body.len(),
            cx.response_headers().len(),
        );
        cx.write(seen)
    }
}

fn server() -> test_support::ServerThread {
    app_server(Application::new([
        url(r"/dirty/(\d+)", || Dirty),
        url(r"/clean", || Clean),
    ]))
}

fn get(sock: &mut std::net::TcpStream, target: &str, extra: &str) -> Response {
    let request = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n{extra}\r\n");
    sock.write_all(request.as_bytes()).unwrap();
    read_response(sock, false)
}

const CLEAN: &str =
    "status=200 cookie=None path_args=[] kwargs=0 q=[] body_field=[] body=0 headers=3";

#[test]
fn nothing_of_a_request_shows_in_the_next_one_on_the_same_connection() {
    let server = server();
    let mut sock = server.connect();
    for _ in 0..3 {
        let dirty = get(&mut sock, "/dirty/42?q=x", "Cookie: sent=yes\r\n");
        assert_eq!(dirty.status, 201);
        assert_eq!(String::from_utf8_lossy(&dirty.body), "yes|42|x");
        assert_eq!(dirty.header("x-leak"), Some("1"));
        assert!(dirty.header("set-cookie").is_some());

        let clean = get(&mut sock, "/clean", "");
        assert_eq!(clean.status, 200);
        assert_eq!(String::from_utf8_lossy(&clean.body), CLEAN);
        for name in ["x-leak", "x-added", "set-cookie"] {
            assert_eq!(clean.header(name), None, "{name} leaked");
        }
        assert_eq!(
            clean.header("content-type"),
            Some("text/html; charset=UTF-8")
        );
    }
}

#[test]
fn nothing_of_a_request_shows_in_the_next_one_on_another_connection() {
    let server = server();
    let mut first = server.connect();
    let form = "field=secret";
    let post = format!(
        "POST /dirty/7 HTTP/1.1\r\nHost: localhost\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    );
    first.write_all(post.as_bytes()).unwrap();
    let posted = read_response(&mut first, false);
    assert_eq!(String::from_utf8_lossy(&posted.body), "secret");
    let dirty = get(&mut first, "/dirty/1?q=y", "Cookie: sent=1\r\n");
    assert_eq!(dirty.status, 201);
    drop(first);

    let mut second = server.connect();
    let clean = get(&mut second, "/clean", "");
    assert_eq!(String::from_utf8_lossy(&clean.body), CLEAN);
    assert_eq!(clean.header("x-leak"), None);
}

#[test]
fn pipelined_requests_each_get_a_clean_context() {
    let server = server();
    let mut sock = server.connect();
    let mut batch = String::new();
    for i in 0..8 {
        batch.push_str(&format!(
            "GET /dirty/{i}?q={i} HTTP/1.1\r\nHost: localhost\r\nCookie: sent={i}\r\n\r\n"
        ));
        batch.push_str("GET /clean HTTP/1.1\r\nHost: localhost\r\n\r\n");
    }
    sock.write_all(batch.as_bytes()).unwrap();
    for i in 0..8 {
        let dirty = read_response(&mut sock, false);
        assert_eq!(String::from_utf8_lossy(&dirty.body), format!("{i}|{i}|{i}"));
        let clean = read_response(&mut sock, false);
        assert_eq!(String::from_utf8_lossy(&clean.body), CLEAN);
        assert_eq!(clean.header("x-leak"), None);
    }
}
