//! `RedirectHandler` and `ErrorHandler` over real sockets, answered as
//! Python Tornado's answer the same requests (status, `Location`, body),
//! and Python's `http.client` as an independent client.

use std::net::SocketAddr;
use std::sync::OnceLock;

use test_support::{
    app_server, fetch, python_stdout, python_tornado_or_skip, Response, ServerThread, TornadoApp,
};
use tornado::web::{url, Application, ErrorHandler, RedirectHandler};

fn rust_app() -> Application {
    Application::new([
        url(r"/old", || RedirectHandler::new("/new")),
        url(r"/temp", || RedirectHandler::new("/new").permanent(false)),
        url(r"/swap/(.*?)/(.*?)/(.*)", || {
            RedirectHandler::new("/{1}/{0}/{2}")
        }),
        url(r"/auto/([^/]*)/(.*)", || {
            RedirectHandler::new("/x/{}/{}?keep=1#frag")
        }),
        url(r"/named/(?P<id>[0-9]+)", || {
            RedirectHandler::new("/items/{id}")
        }),
        url(r"/host/(.*)", || RedirectHandler::new("/{0}/b")),
        url(r"/abs/(.*)", || {
            RedirectHandler::new("https://example.com/{0}")
        }),
        url(r"/braces", || RedirectHandler::new("/a{{b}}")),
        url(r"/gone", || ErrorHandler::new(410)),
        url(r"/teapot/.*", || ErrorHandler::new(418)),
    ])
}

/// The Python twin of [`rust_app`]; prints its port on the first line.
const PYTHON_APP: &str = r#"
import tornado.web
from tornado.web import RedirectHandler, ErrorHandler

app = tornado.web.Application([
    (r"/old", RedirectHandler, dict(url="/new")),
    (r"/temp", RedirectHandler, dict(url="/new", permanent=False)),
    (r"/swap/(.*?)/(.*?)/(.*)", RedirectHandler, dict(url="/{1}/{0}/{2}")),
    (r"/auto/([^/]*)/(.*)", RedirectHandler, dict(url="/x/{}/{}?keep=1#frag")),
    (r"/named/(?P<id>[0-9]+)", RedirectHandler, dict(url="/items/{id}")),
    (r"/host/(.*)", RedirectHandler, dict(url="/{0}/b")),
    (r"/abs/(.*)", RedirectHandler, dict(url="https://example.com/{0}")),
    (r"/braces", RedirectHandler, dict(url="/a{{b}}")),
    (r"/gone", ErrorHandler, dict(status_code=410)),
    (r"/teapot/.*", ErrorHandler, dict(status_code=418)),
])
"#;

/// Python Tornado serving the same app (`None`, and a line on stderr,
/// without Python's tornado); exits when the test process does.
fn python_tornado() -> Option<&'static TornadoApp> {
    static SERVER: OnceLock<Option<TornadoApp>> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            python_tornado_or_skip("the Tornado parity tests")
                .then(|| TornadoApp::start(PYTHON_APP))
        })
        .as_ref()
}

fn rust_server() -> &'static ServerThread {
    static SERVER: OnceLock<ServerThread> = OnceLock::new();
    SERVER.get_or_init(|| app_server(rust_app()))
}

fn send(addr: SocketAddr, method: &str, target: &str) -> Response {
    let request = format!(
        "{method} {target} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    fetch(addr, request.as_bytes(), method == "HEAD")
}

fn summary(r: &Response) -> String {
    format!(
        "{} {:?} {}",
        r.status,
        r.header("location"),
        String::from_utf8_lossy(&r.body)
    )
}

/// (method, target, status, Location) as Tornado 6.6.1 answers them.
const CASES: &[(&str, &str, u16, Option<&str>)] = &[
    ("GET", "/old", 301, Some("/new")),
    ("GET", "/temp", 302, Some("/new")),
    (
        "GET",
        "/old?b=2&a=1&b=3&flag",
        301,
        Some("/new?b=2&b=3&a=1&flag="),
    ),
    ("GET", "/swap/a/b/c/d", 301, Some("/b/a/c/d")),
    ("GET", "/swap/a%20x/b/c?q=1", 301, Some("/b/a x/c?q=1")),
    ("GET", "/auto/p/q?z=9", 301, Some("/x/p/q?keep=1&z=9#frag")),
    ("GET", "/named/42", 301, Some("/items/42")),
    ("GET", "/host/ok", 301, Some("/ok/b")),
    ("GET", "/host//evil.com", 400, None),
    ("GET", "/host/%2Fevil.com", 400, None),
    ("GET", "/host/%5Cevil.com", 400, None),
    ("GET", "/abs/x", 301, Some("https://example.com/x")),
    (
        "GET",
        "/abs/@evil.com",
        301,
        Some("https://example.com/@evil.com"),
    ),
    ("GET", "/braces", 301, Some("/a{b}")),
    ("HEAD", "/old", 405, None),
    ("POST", "/old", 405, None),
    ("GET", "/gone", 410, None),
    ("POST", "/gone", 410, None),
    ("DELETE", "/gone", 410, None),
    ("HEAD", "/gone", 410, None),
    ("GET", "/teapot/x", 418, None),
];

#[test]
fn redirects_and_errors_are_answered_as_listed() {
    let rust = rust_server();
    for &(method, target, status, location) in CASES {
        let r = send(rust.addr, method, target);
        assert_eq!(
            (r.status, r.header("location")),
            (status, location),
            "{method} {target}"
        );
    }
    let gone = send(rust.addr, "GET", "/gone");
    assert_eq!(
        gone.body,
        b"<html><title>410: Gone</title><body>410: Gone</body></html>"
    );
}

#[test]
fn redirects_and_errors_are_tornados() {
    let Some(python) = python_tornado() else {
        return;
    };
    let rust = rust_server();
    for &(method, target, _, _) in CASES {
        let theirs = summary(&send(python.addr, method, target));
        let ours = summary(&send(rust.addr, method, target));
        // Tornado's 405 has no Allow header; the status and body agree.
        assert_eq!(ours, theirs, "{method} {target}");
    }
}

#[test]
fn python_http_client_follows_nothing_and_sees_the_redirect() {
    let addr = rust_server().addr;
    let script = format!(
        "import http.client\n\
         c = http.client.HTTPConnection('127.0.0.1', {port})\n\
         c.request('GET', '/swap/1/2/3?x=y')\n\
         r = c.getresponse(); r.read()\n\
         print(r.status, r.getheader('Location'))\n\
         c.request('PUT', '/gone', body=b'data')\n\
         r = c.getresponse(); r.read()\n\
         print(r.status, r.reason)",
        port = addr.port()
    );
    assert_eq!(python_stdout(&script), "301 /2/1/3?x=y\n410 Gone\n");
}
