//! XSRF protection over real sockets, beside Python Tornado serving the
//! same handlers: `xsrf_cookies` tokens (either server's cookie and token
//! pass the other's check: the format is Tornado's) and
//! `cross_origin_protection` (the same answers, byte for byte but `Date`
//! and `Server`). Skipped (with a line on stderr) without Python's tornado.

use std::sync::OnceLock;

use test_support::{
    app_server, normalize, python_tornado_or_skip, send_expect_close, split_head, ServerThread,
    TornadoApp,
};
use tornado::web::{url, Application, ErrorHandler, Handler, RequestHandler, Result, Settings};

/// The Python twin of [`rust_app`]: `/form`, `/api`, `/origins`, `/any`.
const PYTHON_APP: &str = r#"
import tornado.web

class Form(tornado.web.RequestHandler):
    def get(self):
        self.write(self.xsrf_form_html())
    def post(self):
        self.write("posted")
    def put(self):
        self.write("put")

class Api(tornado.web.RequestHandler):
    def check_xsrf_cookie(self):
        pass
    def post(self):
        self.write("api")

class Origins(tornado.web.RequestHandler):
    def get(self):
        self.write("get")
    def post(self):
        self.write("ok")

class AnyOrigin(Origins):
    def check_trusted_origin(self, origin):
        return True

handlers = [(r"/form", Form), (r"/api", Api), (r"/origins", Origins), (r"/any", AnyOrigin),
            (r"/gone", tornado.web.ErrorHandler, dict(status_code=410))]
app = tornado.web.Application(handlers, **SETTINGS)
"#;

struct Form;

impl RequestHandler for Form {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        let html = cx.xsrf_form_html()?;
        cx.write(html)
    }

    async fn post(&mut self, cx: &mut Handler) -> Result {
        cx.write("posted")
    }

    async fn put(&mut self, cx: &mut Handler) -> Result {
        cx.write("put")
    }
}

struct Api;

impl RequestHandler for Api {
    fn check_xsrf_cookie(_cx: &mut Handler) -> Result {
        Ok(())
    }

    async fn post(&mut self, cx: &mut Handler) -> Result {
        cx.write("api")
    }
}

struct Origins;

impl RequestHandler for Origins {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.write("get")
    }

    async fn post(&mut self, cx: &mut Handler) -> Result {
        cx.write("ok")
    }
}

struct AnyOrigin;

impl RequestHandler for AnyOrigin {
    fn check_trusted_origin(_cx: &Handler, _origin: &str) -> bool {
        true
    }

    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.write("get")
    }

    async fn post(&mut self, cx: &mut Handler) -> Result {
        cx.write("ok")
    }
}

fn rust_app(settings: Settings) -> Application {
    Application::with_settings(
        [
            url("/form", || Form),
            url("/api", || Api),
            url("/origins", || Origins),
            url("/any", || AnyOrigin),
            url("/gone", || ErrorHandler::new(410)),
        ],
        settings,
    )
}

/// Our server with `xsrf_cookies` on.
fn rust_xsrf_server() -> ServerThread {
    app_server(rust_app(Settings {
        xsrf_cookies: true,
        ..Settings::default()
    }))
}

/// Our server with `cross_origin_protection` on, trusting
/// `https://trusted.example`.
fn rust_origin_server() -> ServerThread {
    app_server(rust_app(Settings {
        cross_origin_protection: true,
        trusted_origins: vec!["https://trusted.example".to_owned()],
        ..Settings::default()
    }))
}

/// Tornado and our server with `xsrf_cookies` on.
fn xsrf_servers() -> &'static (TornadoApp, ServerThread) {
    static SERVERS: OnceLock<(TornadoApp, ServerThread)> = OnceLock::new();
    SERVERS.get_or_init(|| {
        let script = format!("SETTINGS = {{'xsrf_cookies': True}}\n{PYTHON_APP}");
        (TornadoApp::start(&script), rust_xsrf_server())
    })
}

/// Tornado and our server with `cross_origin_protection` on.
fn origin_servers() -> &'static (TornadoApp, ServerThread) {
    static SERVERS: OnceLock<(TornadoApp, ServerThread)> = OnceLock::new();
    SERVERS.get_or_init(|| {
        let script = format!(
            "SETTINGS = {{'cross_origin_protection': True, \
             'trusted_origins': ['https://trusted.example']}}\n{PYTHON_APP}"
        );
        (TornadoApp::start(&script), rust_origin_server())
    })
}

/// A request to `path` with `extra` header lines and a form `body`.
fn request(method: &str, path: &str, extra: &str, body: &str) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{extra}\
         Content-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn assert_same(servers: &(TornadoApp, ServerThread), request: &str) {
    let theirs = normalize(&send_expect_close(servers.0.addr, request.as_bytes()));
    let ours = normalize(&send_expect_close(servers.1.addr, request.as_bytes()));
    assert_eq!(ours, theirs, "\nrequest: {request:?}");
}

/// `GET /form` from `addr`: the `_xsrf` cookie as sent back and the token
/// of the form's hidden field.
fn cookie_and_token(addr: std::net::SocketAddr) -> (String, String) {
    let raw = send_expect_close(addr, request("GET", "/form", "", "").as_bytes());
    let (head, body) = split_head(&raw);
    let cookie = head
        .lines()
        .find_map(|line| line.strip_prefix("Set-Cookie: "))
        .and_then(|value| value.split(';').next())
        .expect("an _xsrf cookie")
        .to_owned();
    let body = String::from_utf8(body).unwrap();
    let token = body
        .split("value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a token in the form")
        .to_owned();
    assert!(
        body.starts_with("<input type=\"hidden\" name=\"_xsrf\" value=\"2|"),
        "{body}"
    );
    (cookie, token)
}

fn status_and_body(addr: std::net::SocketAddr, request: &str) -> String {
    let (head, body) = split_head(&send_expect_close(addr, request.as_bytes()));
    let status = head.split(' ').nth(1).unwrap_or_default().to_owned();
    format!("{status} {}", String::from_utf8_lossy(&body))
}

#[test]
fn either_servers_token_passes_both_checks() {
    if !python_tornado_or_skip("either_servers_token_passes_both_checks") {
        return;
    }
    let servers = xsrf_servers();
    let addrs = [servers.0.addr, servers.1.addr];
    for from in addrs {
        let (cookie, token) = cookie_and_token(from);
        // The token's `|` must be escaped in a form body.
        let form = format!("_xsrf={}", token.replace('|', "%7C"));
        for to in addrs {
            let with_cookie = format!("Cookie: {cookie}\r\n");
            let by_form = request("POST", "/form", &with_cookie, &form);
            assert_eq!(status_and_body(to, &by_form), "200 posted");
            let by_header = format!("{with_cookie}X-XSRFToken: {token}\r\n");
            assert_eq!(
                status_and_body(to, &request("PUT", "/form", &by_header, "")),
                "200 put"
            );
            let django = format!("{with_cookie}X-CSRFToken: {token}\r\n");
            assert_eq!(
                status_and_body(to, &request("POST", "/form", &django, "")),
                "200 posted"
            );
        }
    }
    // Another visit's token is another token.
    let (cookie, _) = cookie_and_token(servers.1.addr);
    let (_, other_token) = cookie_and_token(servers.1.addr);
    let mismatched = format!("Cookie: {cookie}\r\nX-XSRFToken: {other_token}\r\n");
    for to in addrs {
        assert!(
            status_and_body(to, &request("POST", "/form", &mismatched, "")).starts_with("403 ")
        );
    }
}

#[test]
fn tokens_are_masked_anew_each_time() {
    let server = rust_xsrf_server();
    let (cookie, first) = cookie_and_token(server.addr);
    let raw = send_expect_close(
        server.addr,
        request("GET", "/form", &format!("Cookie: {cookie}\r\n"), "").as_bytes(),
    );
    let (head, body) = split_head(&raw);
    // The cookie is kept, not set again; the page's token differs.
    assert!(!head.contains("Set-Cookie"), "{head}");
    let body = String::from_utf8(body).unwrap();
    assert!(!body.contains(&first), "{body} {first}");
    let second = body
        .split("value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let header = format!("Cookie: {cookie}\r\nX-XSRFToken: {second}\r\n");
    assert_eq!(
        status_and_body(server.addr, &request("POST", "/form", &header, "")),
        "200 posted"
    );
}

#[test]
fn forged_and_missing_tokens_get_tornados_answers() {
    if !python_tornado_or_skip("forged_and_missing_tokens_get_tornados_answers") {
        return;
    }
    let servers = xsrf_servers();
    // A version 1 cookie (hex) and the same token masked as version 2.
    let v1_cookie = "Cookie: _xsrf=000102030405060708090a0b0c0d0e0f\r\n";
    let v2_token = "2|01020304|0103010705070503090b090f0d0f0d0b|1300000000";
    let cases = [
        ("POST", "/form", String::new(), String::new()),
        ("PUT", "/form", String::new(), String::new()),
        ("DELETE", "/form", String::new(), String::new()),
        ("POST", "/form", v1_cookie.to_owned(), String::new()),
        ("POST", "/form", String::new(), "_xsrf=abc".to_owned()),
        (
            "POST",
            "/form",
            v1_cookie.to_owned(),
            "_xsrf=000102030405060708090a0b0c0d0e0f".to_owned(),
        ),
        (
            "POST",
            "/form",
            v1_cookie.to_owned(),
            "_xsrf=000102030405060708090A0B0C0D0E0F".to_owned(),
        ),
        (
            "POST",
            "/form",
            v1_cookie.to_owned(),
            format!("_xsrf={}", v2_token.replace('|', "%7C")),
        ),
        (
            "POST",
            "/form",
            format!("{v1_cookie}X-XSRFToken: {v2_token}\r\n"),
            String::new(),
        ),
        (
            "POST",
            "/form",
            format!("{v1_cookie}X-XSRFToken: 2|zz|00|1\r\n"),
            String::new(),
        ),
        (
            "POST",
            "/form",
            format!("{v1_cookie}X-XSRFToken: 3|01020304|00|1\r\n"),
            String::new(),
        ),
        (
            "POST",
            "/form",
            format!("{v1_cookie}X-XSRFToken: 00\r\n"),
            String::new(),
        ),
        (
            "POST",
            "/form",
            format!("{v1_cookie}X-XSRFToken: \r\n"),
            String::new(),
        ),
        (
            "POST",
            "/form",
            "Cookie: _xsrf=2|bad\r\nX-XSRFToken: 2|bad\r\n".to_owned(),
            String::new(),
        ),
        (
            "POST",
            "/form",
            "Cookie: _xsrf=plain\r\nX-XSRFToken: plain\r\n".to_owned(),
            String::new(),
        ),
        ("POST", "/api", String::new(), String::new()),
        // Not found, and an ErrorHandler: their status, not a 403.
        ("POST", "/nowhere", String::new(), String::new()),
        ("DELETE", "/nowhere", String::new(), String::new()),
        ("POST", "/gone", String::new(), String::new()),
        ("GET", "/origins", String::new(), String::new()),
    ];
    for (method, path, extra, body) in cases {
        assert_same(servers, &request(method, path, &extra, &body));
    }
}

#[test]
fn cross_origin_requests_get_tornados_answers() {
    if !python_tornado_or_skip("cross_origin_requests_get_tornados_answers") {
        return;
    }
    let servers = origin_servers();
    let sites = [
        None,
        Some("none"),
        Some("same-origin"),
        Some("same-site"),
        Some("cross-site"),
    ];
    let origins = [
        None,
        Some("http://localhost"),
        Some("http://LOCALHOST"),
        Some("http://localhost:8080"),
        Some("https://evil.example"),
        Some("https://trusted.example"),
        Some("null"),
        Some(""),
    ];
    for path in ["/origins", "/any", "/gone", "/nowhere"] {
        for method in ["GET", "POST"] {
            for site in sites {
                for origin in origins {
                    let mut extra = String::new();
                    if let Some(site) = site {
                        extra.push_str(&format!("Sec-Fetch-Site: {site}\r\n"));
                    }
                    if let Some(origin) = origin {
                        extra.push_str(&format!("Origin: {origin}\r\n"));
                    }
                    assert_same(servers, &request(method, path, &extra, ""));
                }
            }
        }
    }
}

#[test]
fn an_origin_without_a_host_never_matches_a_missing_host() {
    // Deliberately stricter than Tornado, whose `urlsplit("null").netloc`
    // ("") equals the missing Host ("") of an HTTP/1.0 request.
    let server = rust_origin_server();
    let request = "POST /origins HTTP/1.0\r\nOrigin: null\r\nContent-Length: 0\r\n\r\n";
    assert!(status_and_body(server.addr, request).starts_with("403 "));
    let same = "POST /origins HTTP/1.0\r\nOrigin: http://localhost\r\nHost: localhost\r\n\r\n";
    assert_eq!(status_and_body(server.addr, same), "200 ok");
}
