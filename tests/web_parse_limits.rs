//! The urlencoded field limit (Tornado 6.5.8's
//! `ParseUrlEncodedConfig(max_arguments=1000)`) over real sockets: a query
//! string past it is a bare 400 that closes the connection, for an
//! `Application` and for a callback server alike; a form body past it is
//! the route's 400; `set_parse_body_config` raises it for the whole process.
//!
//! One test, in its own binary: the configuration is process-wide, and
//! the tests of one binary run side by side.

use test_support::{app_server, python_stdout, send_expect_close, status_line, ServerThread};
use tornado::httpserver::HTTPServer;
use tornado::httputil::{set_parse_body_config, HTTPHeaders, HTTPServerRequest, ParseBodyConfig};
use tornado::web::{url, Application, Handler, RequestHandler, Result};

/// Answers with how many values `a` has, from the query and the body.
struct CountArguments;
impl RequestHandler for CountArguments {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        let count = cx.request.arguments.get("a").map_or(0, Vec::len);
        cx.write(count.to_string())
    }
    async fn post(&mut self, cx: &mut Handler) -> Result {
        self.get(cx).await
    }
}

/// `a=1&a=1...`, `n` fields.
fn fields(n: usize) -> String {
    vec!["a=1"; n].join("&")
}

/// Status and body of requests sent with Python's `http.client` (an
/// independent client), one connection each, as `status body` lines.
fn python_requests(addr: std::net::SocketAddr, requests: &[(&str, String, String)]) -> String {
    let requests: Vec<String> = requests
        .iter()
        .map(|(method, target, body)| format!("({method:?}, {target:?}, {body:?})"))
        .collect();
    python_stdout(&format!(
        "import http.client\n\
         for method, target, body in [{}]:\n\
         \x20   c = http.client.HTTPConnection('{}', {})\n\
         \x20   headers = {{'Content-Type': 'application/x-www-form-urlencoded'}} if body else {{}}\n\
         \x20   c.request(method, target, body=body or None, headers=headers)\n\
         \x20   r = c.getresponse()\n\
         \x20   print(r.status, r.read().decode()[:20])\n",
        requests.join(", "),
        addr.ip(),
        addr.port()
    ))
}

/// A bare request for `target`, and whether the server answered it with
/// 400 and closed the connection.
fn refused_and_closed(server: &ServerThread, target: &str) -> bool {
    let request = format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n");
    let out = send_expect_close(server.addr, request.as_bytes());
    status_line(&out) == "HTTP/1.1 400 Bad Request"
        && String::from_utf8_lossy(&out).contains("\r\nConnection: close\r\n")
}

#[test]
fn urlencoded_field_limit() {
    let app = app_server(Application::new([url("/args", || CountArguments)]));
    let at_limit = format!("/args?{}", fields(1000));
    let over = format!("/args?{}", fields(1001));
    // Empty fields count, as in Tornado: 1000 `&` are 1001 fields.
    let empty_over = format!("/args?a=1{}", "&".repeat(1000));
    assert_eq!(
        python_requests(
            app.addr,
            &[
                ("GET", at_limit.clone(), String::new()),
                // A form body is parsed whatever the method, as in Tornado.
                ("GET", "/args".into(), fields(1000)),
                ("POST", "/args".into(), fields(1000)),
                ("POST", "/args".into(), fields(1001)),
            ]
        ),
        "200 1000\n200 1000\n200 1000\n400 <html><title>400: Ba\n"
    );
    assert!(refused_and_closed(&app, &over));
    assert!(refused_and_closed(&app, &empty_over));

    let callback = ServerThread::start(|| {
        HTTPServer::new(|request: HTTPServerRequest| async move {
            if let Some(conn) = &request.connection {
                let mut headers = HTTPHeaders::new();
                headers.set("Content-Length", "2");
                let _ = conn.write_headers(200, "", &headers, Some(b"ok"));
                let _ = conn.finish();
            }
        })
    });
    assert!(refused_and_closed(&callback, &over));

    let mut raised = ParseBodyConfig::default();
    raised.urlencoded.max_arguments = 1001;
    set_parse_body_config(raised);
    let accepted = python_requests(
        app.addr,
        &[
            ("GET", over.clone(), String::new()),
            ("POST", "/args".into(), fields(1001)),
        ],
    );
    set_parse_body_config(ParseBodyConfig::default());
    assert_eq!(accepted, "200 1001\n200 1001\n");
    assert!(refused_and_closed(&app, &over), "the default is back");
}
