//! Error responses over real sockets: Tornado's error page, 404, 405 with
//! `Allow`, panics before and after the headers, `HTTPError` reasons,
//! `serve_traceback`, `Finish`, misuse after `finish`, `default_handler`, a
//! 304 error (no `write_error`), panics in the synchronous hooks, a refused
//! body or path argument answered by the route's handler.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use test_support::{
    app_server, fetch, get_raw, python_stdout, read_response, read_until_close, send_expect_close,
    split_head, status_line, without_date, ServerThread,
};
use tornado::web::{
    url, Application, Error, Finish, HTTPError, Handler, HandlerFactory, RequestHandler, Result,
    Settings,
};

const NOT_FOUND_PAGE: &str =
    "<html><title>404: Not Found</title><body>404: Not Found</body></html>";

struct Hello;
impl RequestHandler for Hello {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.write("Hello, world")
    }
}

/// Implements GET and POST only.
struct GetPost;
impl RequestHandler for GetPost {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.write("get")
    }
    async fn post(&mut self, cx: &mut Handler) -> Result {
        cx.write("post")
    }
}

/// Accepts only GET at all (`SUPPORTED_METHODS`), though it implements more.
struct OnlyGet;
impl RequestHandler for OnlyGet {
    const SUPPORTED_METHODS: &'static [&'static str] = &["GET"];
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.write("get")
    }
    async fn put(&mut self, cx: &mut Handler) -> Result {
        cx.write("put")
    }
}

struct PanicEarly;
impl RequestHandler for PanicEarly {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.set_header("X-Before", "1")?;
        cx.write("discarded")?;
        panic!("boom before headers");
    }
}

struct PanicLate;
impl RequestHandler for PanicLate {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.write("partial")?;
        cx.flush().await?;
        panic!("boom after headers");
    }
}

/// Adds WebDAV's `PROPFIND` and `MKCOL` to the verbs it serves.
struct Dav;
impl RequestHandler for Dav {
    const SUPPORTED_METHODS: &'static [&'static str] = &[
        "GET", "HEAD", "POST", "DELETE", "PATCH", "PUT", "OPTIONS", "PROPFIND", "MKCOL",
    ];
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.write("got")
    }
    async fn other_method(&mut self, cx: &mut Handler) -> Result {
        let body = format!("{} {}", cx.request.method, cx.request.path);
        if cx.request.method == "MKCOL" {
            cx.set_status(201);
        }
        cx.write(body)
    }
}

/// Lists `PROPFIND` but serves only GET.
struct DavListedOnly;
impl RequestHandler for DavListedOnly {
    const SUPPORTED_METHODS: &'static [&'static str] = &["GET", "PROPFIND"];
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.write("got")
    }
}

struct Reasoned(&'static str);
impl RequestHandler for Reasoned {
    async fn get(&mut self, _cx: &mut Handler) -> Result {
        Err(HTTPError::new(403).reason(self.0).into())
    }
}

struct HeadersThenError;
impl RequestHandler for HeadersThenError {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.set_header("X-Dropped", "yes")?;
        cx.set_cookie("kept", "yes")?;
        cx.write("dropped body")?;
        Err(HTTPError::new(400).into())
    }
}

#[derive(Debug)]
struct Outer(std::io::Error);
impl std::fmt::Display for Outer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("loading the profile failed")
    }
}
impl std::error::Error for Outer {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

struct Fails;
impl RequestHandler for Fails {
    async fn get(&mut self, _cx: &mut Handler) -> Result {
        Err(Outer(std::io::Error::other("disk on fire")).into())
    }
}

/// Records whether `write` after `finish` was refused.
struct WriteAfterFinish(Arc<AtomicBool>);
impl RequestHandler for WriteAfterFinish {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.write("done")?;
        cx.finish()?;
        self.0.store(cx.write("late").is_err(), Ordering::SeqCst);
        Ok(())
    }
}

/// Returns the refusal of a write after finish (with `?`).
struct WriteAfterFinishPropagated;
impl RequestHandler for WriteAfterFinishPropagated {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.write("done")?;
        cx.finish()?;
        cx.write("late")
    }
}

/// `Finish` from the method: what was written is sent, the rest not run.
struct FinishEarly(Arc<AtomicBool>);
impl RequestHandler for FinishEarly {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.write("early")?;
        if cx.get_argument_or("stop", "1")? == "1" {
            return Err(Finish.into());
        }
        self.0.store(true, Ordering::SeqCst);
        cx.write(" and late")
    }
}

/// `Finish` from `prepare` skips the method.
struct FinishInPrepare(Arc<AtomicBool>);
impl RequestHandler for FinishInPrepare {
    async fn prepare(&mut self, cx: &mut Handler) -> Result {
        cx.set_status(202);
        cx.write("prepared")?;
        Err(Finish.into())
    }
    async fn get(&mut self, _cx: &mut Handler) -> Result {
        self.0.store(true, Ordering::SeqCst);
        Ok(())
    }
}

/// An error in `prepare` skips the method.
struct ErrorInPrepare(Arc<AtomicBool>);
impl RequestHandler for ErrorInPrepare {
    async fn prepare(&mut self, _cx: &mut Handler) -> Result {
        Err(HTTPError::new(401).into())
    }
    async fn get(&mut self, _cx: &mut Handler) -> Result {
        self.0.store(true, Ordering::SeqCst);
        Ok(())
    }
}

struct SendError;
impl RequestHandler for SendError {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.set_header("X-Temp", "dropped")?;
        cx.write("discarded")?;
        cx.send_error(503)
    }
    fn set_default_headers(&mut self, cx: &mut Handler) {
        let _ = cx.set_header("X-Default", "on");
    }
}

/// `clear()` mid-response: back to the default headers, its own included.
struct ClearThenWrite;
impl RequestHandler for ClearThenWrite {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.set_header("X-Temp", "dropped")?;
        cx.set_status(201);
        cx.write("discarded")?;
        cx.clear();
        cx.write("after clear")
    }
    fn set_default_headers(&mut self, cx: &mut Handler) {
        let _ = cx.add_header("X-Default", "on");
    }
}

/// Fails with its status; its own `write_error` writes JSON, and its
/// `set_default_headers` applies to error pages too.
struct CustomPage(u16);
impl RequestHandler for CustomPage {
    async fn get(&mut self, _cx: &mut Handler) -> Result {
        Err(HTTPError::new(self.0).into())
    }
    fn set_default_headers(&mut self, cx: &mut Handler) {
        let _ = cx.set_header("X-Default", "on");
    }
    fn write_error(&mut self, cx: &mut Handler, status: u16, _error: Option<&Error>) -> Result {
        cx.write_json(&serde_json::json!({"status": status, "reason": cx.reason()}))
    }
}

/// Panics in the hook its field names, after a response that would be fine.
struct PanicIn(&'static str);
impl RequestHandler for PanicIn {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        if self.0 == "write_error" {
            return Err(HTTPError::new(400).into());
        }
        cx.write("body")
    }
    fn set_default_headers(&mut self, _cx: &mut Handler) {
        assert_ne!(self.0, "set_default_headers", "set_default_headers panics");
    }
    fn write_error(&mut self, cx: &mut Handler, _status: u16, _error: Option<&Error>) -> Result {
        cx.write("partial")?;
        panic!("write_error panics");
    }
    fn on_finish(&mut self, _cx: &mut Handler) {
        assert_ne!(self.0, "on_finish", "on_finish panics");
    }
}

/// Its `compute_etag` panics (it has no handler state to look at).
struct PanicInEtag;
impl RequestHandler for PanicInEtag {
    fn compute_etag(_cx: &Handler) -> Option<String> {
        panic!("compute_etag panics");
    }
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.write("body")
    }
}

/// A route with its own error page, default header and `on_finish`, and a
/// path argument: requests refused before it runs are still its to answer.
struct OwnRefusals(Arc<AtomicUsize>);
impl RequestHandler for OwnRefusals {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.write("ran")
    }
    async fn post(&mut self, cx: &mut Handler) -> Result {
        cx.write("ran")
    }
    fn set_default_headers(&mut self, cx: &mut Handler) {
        let _ = cx.set_header("X-Default", "on");
    }
    fn write_error(&mut self, cx: &mut Handler, status: u16, _error: Option<&Error>) -> Result {
        cx.write_json(&serde_json::json!({"status": status}))
    }
    fn on_finish(&mut self, _cx: &mut Handler) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

struct Fallback;
impl RequestHandler for Fallback {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.set_status(410);
        let path = cx.request.path.clone();
        cx.write(format!("fallback for {path}"))
    }
}

/// Ends with a head the codec cannot write: a `Content-Length` that is not
/// a number or not the body's length (padded or not), an informational
/// status (at `finish` or at a `flush`), a 101 with nothing to switch to, a
/// status past 999. A cookie is set first, to show it
/// survives onto the 500.
struct UnwritableHead(&'static str);
impl RequestHandler for UnwritableHead {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.set_cookie("kept", "yes")?;
        match self.0 {
            "length" => cx.set_header("Content-Length", "bogus")?,
            "short" => cx.set_header("Content-Length", 50)?,
            "padded" => cx.set_header("Content-Length", " 50\t")?,
            "switching" => {
                cx.set_status(101);
                cx.set_header("Upgrade", "websocket")?;
                cx.set_header("Connection", "Upgrade")?;
            }
            "informational" => cx.set_status(100),
            "past999" => cx.set_status(1000),
            _ => {
                cx.set_status(102);
                cx.flush().await?;
            }
        }
        cx.write("never sent")
    }
    async fn head(&mut self, cx: &mut Handler) -> Result {
        self.get(cx).await
    }
}

fn routes(late_write: Arc<AtomicBool>, ran: Arc<AtomicBool>) -> Vec<tornado::web::URLSpec> {
    let (r1, r2, r3) = (ran.clone(), ran.clone(), ran);
    vec![
        url("/hello", || Hello),
        url("/getpost", || GetPost),
        url("/onlyget", || OnlyGet),
        url("/panic/early", || PanicEarly),
        url("/panic/late", || PanicLate),
        url("/reason/amp", || Reasoned("Go & \"Stay\"")),
        url("/reason/tag", || Reasoned("Nope <b>")),
        url("/reason/crlf", || Reasoned("a\r\nX-Injected: 1")),
        url("/dropped", || HeadersThenError),
        url("/fails", || Fails),
        url("/late", move || WriteAfterFinish(late_write.clone())),
        url("/late/propagated", || WriteAfterFinishPropagated),
        url("/finish", move || FinishEarly(r1.clone())),
        url("/finish/prepare", move || FinishInPrepare(r2.clone())),
        url("/prepare/error", move || ErrorInPrepare(r3.clone())),
        url("/send_error", || SendError),
        url("/clear", || ClearThenWrite),
        url("/custom", || CustomPage(418)),
        url("/custom/304", || CustomPage(304)),
        url("/panic/on_finish", || PanicIn("on_finish")),
        url("/panic/write_error", || PanicIn("write_error")),
        url("/panic/set_default_headers", || {
            PanicIn("set_default_headers")
        }),
        url("/panic/compute_etag", || PanicInEtag),
        url("/unwritable/length", || UnwritableHead("length")),
        url("/unwritable/short", || UnwritableHead("short")),
        url("/unwritable/padded", || UnwritableHead("padded")),
        url("/unwritable/switching", || UnwritableHead("switching")),
        url("/unwritable/informational", || {
            UnwritableHead("informational")
        }),
        url("/unwritable/past999", || UnwritableHead("past999")),
        url("/unwritable/flushed", || UnwritableHead("flushed")),
    ]
}

fn server() -> ServerThread {
    app_server(Application::new(routes(
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    )))
}

fn body_of(raw: &[u8]) -> String {
    String::from_utf8_lossy(&split_head(raw).1).into_owned()
}

#[test]
fn not_found_page_is_tornados_bytes() {
    let server = server();
    let raw = get_raw(server.addr, "/missing", "");
    let text = without_date(&raw);
    let server_line = text.split("\r\n").nth(1).unwrap().to_owned();
    assert!(server_line.starts_with("Server: tornado-rs/"), "{text:?}");
    assert_eq!(
        text.replacen(&server_line, "Server: <server>", 1),
        format!(
            "HTTP/1.1 404 Not Found\r\nServer: <server>\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{NOT_FOUND_PAGE}",
            NOT_FOUND_PAGE.len()
        )
    );
    // Anchored: a prefix or an extension of a route is not a match.
    for path in ["/hell", "/hello/", "/hellox", "/x/hello"] {
        assert_eq!(
            status_line(&get_raw(server.addr, path, "")),
            "HTTP/1.1 404 Not Found",
            "{path}"
        );
    }
}

#[test]
fn method_not_allowed_lists_exactly_the_implemented_methods() {
    let server = server();
    for method in ["DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"] {
        let request = format!("{method} /getpost HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let response = fetch(server.addr, request.as_bytes(), method == "HEAD");
        assert_eq!(response.status, 405, "{method}");
        assert_eq!(response.header("Allow"), Some("GET, POST"), "{method}");
    }
    // The implemented ones work.
    let response = fetch(
        server.addr,
        b"POST /getpost HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
        false,
    );
    assert_eq!(
        (response.status, response.body.as_slice()),
        (200, &b"post"[..])
    );
    // The page is Tornado's.
    let raw = send_expect_close(
        server.addr,
        b"DELETE /getpost HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(
        body_of(&raw),
        "<html><title>405: Method Not Allowed</title><body>405: Method Not Allowed</body></html>"
    );
}

#[test]
fn methods_outside_supported_methods_are_405_before_the_handler_runs() {
    let server = server();
    let response = fetch(
        server.addr,
        b"PUT /onlyget HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
        false,
    );
    assert_eq!(response.status, 405, "PUT is implemented but not supported");
    assert_eq!(response.header("Allow"), Some("GET"));
    let response = fetch(
        server.addr,
        b"FROB /hello HTTP/1.1\r\nHost: x\r\n\r\n",
        false,
    );
    assert_eq!(response.status, 405, "an unknown method");
    assert_eq!(response.header("Allow"), Some("GET"));
}

#[test]
fn verbs_added_to_supported_methods_reach_other_method() {
    // Tornado 6.6 (checked with http.client): a verb added to
    // SUPPORTED_METHODS runs the method named after it; one not listed, or
    // in another case, is a 405. Here a listed verb without `other_method`
    // is a 405 too (Tornado: a 500, the method missing).
    let server = app_server(Application::new([
        url("/dav", || Dav),
        url("/listed", || DavListedOnly),
        url("/plain", || Hello),
    ]));
    let script = format!(
        r#"
import http.client
for method, path in [("PROPFIND", "/dav"), ("MKCOL", "/dav"), ("GET", "/dav"),
                     ("propfind", "/dav"), ("SEARCH", "/dav"), ("PROPFIND", "/plain"),
                     ("PROPFIND", "/listed")]:
    conn = http.client.HTTPConnection("127.0.0.1", {port})
    conn.request(method, path)
    r = conn.getresponse()
    body = r.read().decode()
    print(method, path, r.status, r.getheader("Allow"), body if r.status < 400 else "-")
"#,
        port = server.addr.port()
    );
    assert_eq!(
        python_stdout(&script),
        "PROPFIND /dav 200 None PROPFIND /dav\n\
         MKCOL /dav 201 None MKCOL /dav\n\
         GET /dav 200 None got\n\
         propfind /dav 405 GET, PROPFIND, MKCOL -\n\
         SEARCH /dav 405 GET, PROPFIND, MKCOL -\n\
         PROPFIND /plain 405 GET -\n\
         PROPFIND /listed 405 GET -\n"
    );
}

#[test]
fn panic_before_headers_is_a_500_and_the_server_keeps_serving() {
    let server = server();
    let mut sock = server.connect();
    sock.write_all(b"GET /panic/early HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let response = read_response(&mut sock, false);
    assert_eq!(response.status, 500);
    assert_eq!(
        response.header("X-Before"),
        None,
        "headers set before are dropped"
    );
    assert_eq!(
        response.body,
        b"<html><title>500: Internal Server Error</title><body>500: Internal Server Error</body></html>"
    );
    // Same connection, then a new one: both still served.
    sock.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut sock, false).body, b"Hello, world");
    assert_eq!(
        fetch(
            server.addr,
            b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
            false
        )
        .status,
        200
    );
}

#[test]
fn panic_after_headers_closes_the_connection_without_the_last_chunk() {
    let server = server();
    let mut sock = server.connect();
    sock.write_all(b"GET /panic/late HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let raw = read_until_close(&mut sock);
    let (head, body) = split_head(&raw);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head:?}");
    assert!(head.contains("Transfer-Encoding: chunked\r\n"), "{head:?}");
    // The flushed chunk, and no terminating chunk: the client sees a
    // truncated response, not a whole one.
    assert_eq!(body, b"7\r\npartial\r\n");
    for _ in 0..3 {
        assert_eq!(
            fetch(
                server.addr,
                b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
                false
            )
            .status,
            200
        );
    }
}

#[test]
fn http_error_reason_is_in_the_status_line_and_escaped_in_the_page() {
    let server = server();
    let raw = get_raw(server.addr, "/reason/amp", "");
    assert_eq!(status_line(&raw), "HTTP/1.1 403 Go & \"Stay\"");
    assert_eq!(
        body_of(&raw),
        "<html><title>403: Go &amp; &quot;Stay&quot;</title><body>403: Go &amp; &quot;Stay&quot;</body></html>"
    );
    // A reason with "<" or a line break becomes "Unknown" (Tornado's rule).
    for path in ["/reason/tag", "/reason/crlf"] {
        let raw = get_raw(server.addr, path, "");
        assert_eq!(status_line(&raw), "HTTP/1.1 403 Unknown", "{path}");
        assert_eq!(
            body_of(&raw),
            "<html><title>403: Unknown</title><body>403: Unknown</body></html>"
        );
        assert!(!String::from_utf8_lossy(&raw).contains("X-Injected"));
    }
}

#[test]
fn headers_set_before_an_error_are_dropped_and_cookies_kept() {
    let server = server();
    let response = fetch(
        server.addr,
        b"GET /dropped HTTP/1.1\r\nHost: x\r\n\r\n",
        false,
    );
    assert_eq!(response.status, 400);
    assert_eq!(response.header("X-Dropped"), None);
    assert_eq!(response.header("Set-Cookie"), Some("kept=yes; Path=/"));
    assert_eq!(
        response.body,
        b"<html><title>400: Bad Request</title><body>400: Bad Request</body></html>"
    );
}

#[test]
fn a_head_the_codec_refuses_is_a_500_page_and_the_connection_serves_on() {
    let server = server();
    for kind in [
        "length",
        "short",
        "padded",
        "informational",
        "past999",
        "flushed",
    ] {
        let mut sock = std::net::TcpStream::connect(server.addr).unwrap();
        sock.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let request = format!(
            "GET /unwritable/{kind} HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
        );
        sock.write_all(request.as_bytes()).unwrap();
        let refused = read_response(&mut sock, false);
        assert_eq!(refused.status, 500, "{kind}");
        assert_eq!(
            refused.header("Set-Cookie"),
            Some("kept=yes; Path=/"),
            "{kind}"
        );
        assert_eq!(refused.header("Content-Length"), Some("93"), "{kind}");
        assert!(refused.body.starts_with(b"<html><title>500: "), "{kind}");
        let next = read_response(&mut sock, false);
        assert_eq!(
            (next.status, &next.body[..]),
            (200, &b"Hello, world"[..]),
            "{kind}"
        );
    }
    // A 101 asked for (the request offers an upgrade) is not sent either:
    // there is nothing to switch the connection to.
    let refused = fetch(
        server.addr,
        b"GET /unwritable/switching HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        false,
    );
    assert_eq!(refused.status, 500);
    // A HEAD response announces the length of the body a GET would get.
    let head = fetch(
        server.addr,
        b"HEAD /unwritable/short HTTP/1.1\r\nHost: x\r\n\r\n",
        true,
    );
    assert_eq!(
        (head.status, head.header("Content-Length")),
        (200, Some("50"))
    );
}

#[test]
fn serve_traceback_and_debug_show_the_error_chain() {
    for settings in [
        Settings {
            serve_traceback: true,
            ..Settings::default()
        },
        Settings {
            debug: true,
            ..Settings::default()
        },
    ] {
        let server = app_server(Application::with_settings(
            [url("/fails", || Fails)],
            settings,
        ));
        let response = fetch(
            server.addr,
            b"GET /fails HTTP/1.1\r\nHost: x\r\n\r\n",
            false,
        );
        assert_eq!(response.status, 500);
        assert_eq!(response.header("Content-Type"), Some("text/plain"));
        let body = String::from_utf8(response.body).unwrap();
        assert!(body.contains("loading the profile failed"), "{body:?}");
        assert!(
            body.contains("disk on fire"),
            "the cause is shown too: {body:?}"
        );
    }
    // Without them the page says nothing of the error.
    let server = server();
    let response = fetch(
        server.addr,
        b"GET /fails HTTP/1.1\r\nHost: x\r\n\r\n",
        false,
    );
    assert_eq!(response.status, 500);
    assert!(!String::from_utf8_lossy(&response.body).contains("disk"));
}

#[test]
fn write_after_finish_is_refused_and_the_response_stays_whole() {
    let late = Arc::new(AtomicBool::new(false));
    let server = app_server(Application::new(routes(
        late.clone(),
        Arc::new(AtomicBool::new(false)),
    )));
    let mut sock = server.connect();
    sock.write_all(b"GET /late HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let response = read_response(&mut sock, false);
    assert_eq!(
        (response.status, response.body.as_slice()),
        (200, &b"done"[..])
    );
    assert!(
        late.load(Ordering::SeqCst),
        "write() after finish() returned Err"
    );
    // Returning that error with `?` cannot change a finished response.
    sock.write_all(b"GET /late/propagated HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let response = read_response(&mut sock, false);
    assert_eq!(
        (response.status, response.body.as_slice()),
        (200, &b"done"[..])
    );
    sock.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut sock, false).body, b"Hello, world");
}

#[test]
fn finish_ends_the_request_early() {
    let ran = Arc::new(AtomicBool::new(false));
    let server = app_server(Application::new(routes(
        Arc::new(AtomicBool::new(false)),
        ran.clone(),
    )));
    let response = fetch(
        server.addr,
        b"GET /finish HTTP/1.1\r\nHost: x\r\n\r\n",
        false,
    );
    assert_eq!(
        (response.status, response.body.as_slice()),
        (200, &b"early"[..])
    );
    assert_eq!(response.header("Content-Length"), Some("5"));
    let response = fetch(
        server.addr,
        b"GET /finish/prepare HTTP/1.1\r\nHost: x\r\n\r\n",
        false,
    );
    assert_eq!(
        (response.status, response.body.as_slice()),
        (202, &b"prepared"[..])
    );
    let response = fetch(
        server.addr,
        b"GET /prepare/error HTTP/1.1\r\nHost: x\r\n\r\n",
        false,
    );
    assert_eq!(response.status, 401);
    assert!(
        !ran.load(Ordering::SeqCst),
        "no method ran after Finish or an error"
    );
    // The control: without Finish the rest runs.
    let response = fetch(
        server.addr,
        b"GET /finish?stop=0 HTTP/1.1\r\nHost: x\r\n\r\n",
        false,
    );
    assert_eq!(response.body, b"early and late");
    assert!(ran.load(Ordering::SeqCst));
}

#[test]
fn send_error_replaces_what_was_written() {
    let server = server();
    let response = fetch(
        server.addr,
        b"GET /send_error HTTP/1.1\r\nHost: x\r\n\r\n",
        false,
    );
    assert_eq!(response.status, 503);
    assert_eq!(
        response.body,
        b"<html><title>503: Service Unavailable</title><body>503: Service Unavailable</body></html>"
    );
    // Tornado's send_error clears the response, which runs set_default_headers again.
    assert_eq!(response.header("X-Default"), Some("on"));
    assert_eq!(response.header("X-Temp"), None);
}

#[test]
fn clear_restores_the_handlers_default_headers_once() {
    // Tornado 6.6: 200, X-Default kept (once), X-Temp gone, body "after clear".
    let server = server();
    let raw = get_raw(server.addr, "/clear", "");
    let (head, body) = split_head(&raw);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head:?}");
    assert_eq!(head.matches("\r\nX-Default: on\r\n").count(), 1, "{head:?}");
    assert!(!head.contains("X-Temp"), "{head:?}");
    assert_eq!(String::from_utf8_lossy(&body), "after clear");
}

#[test]
fn write_error_can_be_overridden_and_default_headers_apply() {
    let server = server();
    let response = fetch(
        server.addr,
        b"GET /custom HTTP/1.1\r\nHost: x\r\n\r\n",
        false,
    );
    assert_eq!(response.status, 418);
    assert_eq!(response.header("X-Default"), Some("on"));
    assert_eq!(
        response.header("Content-Type"),
        Some("application/json; charset=UTF-8")
    );
    assert_eq!(
        response.body,
        br#"{"status": 418, "reason": "I'm a Teapot"}"#
    );
}

#[test]
fn a_304_error_skips_write_error_as_in_tornado() {
    // Tornado 6.6: HTTPError(304) with a JSON write_error is a bare 304.
    let server = server();
    let response = fetch(
        server.addr,
        b"GET /custom/304 HTTP/1.1\r\nHost: x\r\n\r\n",
        false,
    );
    assert_eq!(response.status, 304);
    assert_eq!(response.header("X-Default"), Some("on"));
    assert_eq!(response.header("Content-Type"), None);
    assert!(response.body.is_empty(), "{:?}", response.body);
}

#[test]
fn a_panic_in_a_hook_ends_the_hook_not_the_response() {
    // As an exception in a Tornado hook: logged, and the client still gets
    // an answer on a connection that stays usable.
    let server = server();
    let cases: [(&str, u16, &str); 4] = [
        ("/panic/on_finish", 200, "body"),
        ("/panic/write_error", 400, "partial"),
        ("/panic/compute_etag", 500, "500: Internal Server Error"),
        (
            "/panic/set_default_headers",
            500,
            "partial", // its own write_error's page, which panics after "partial"
        ),
    ];
    for (path, status, body) in cases {
        let mut sock = std::net::TcpStream::connect(server.addr).unwrap();
        // A response that never comes fails the test instead of hanging it.
        sock.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
        sock.write_all(request.as_bytes()).unwrap();
        let first = read_response(&mut sock, false);
        assert_eq!(first.status, status, "{path}");
        assert!(
            String::from_utf8_lossy(&first.body).contains(body),
            "{path}: {:?}",
            first.body
        );
        let second = read_response(&mut sock, false);
        assert_eq!(
            (second.status, second.body.as_slice()),
            (200, &b"Hello, world"[..]),
            "{path}"
        );
    }
}

#[test]
fn a_body_or_path_argument_refused_is_the_routes_own_400() {
    // Tornado 6.6 (checked with http.client): the route's write_error,
    // default headers and on_finish; an unsupported verb is a 405 first.
    let finished = Arc::new(AtomicUsize::new(0));
    let counter = finished.clone();
    let server = app_server(Application::new([url(r"/own/([^/]*)", move || {
        OwnRefusals(counter.clone())
    })]));
    let no_boundary = b"POST /own/a HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data\r\nContent-Length: 3\r\n\r\nabc";
    for request in [
        &no_boundary[..],
        b"GET /own/%FF HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        let response = fetch(server.addr, request, false);
        assert_eq!(response.status, 400);
        assert_eq!(response.header("X-Default"), Some("on"));
        assert_eq!(response.body, br#"{"status": 400}"#);
    }
    assert_eq!(finished.load(Ordering::SeqCst), 2, "on_finish ran for both");
    let propfind = b"PROPFIND /own/a HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data\r\nContent-Length: 3\r\n\r\nabc";
    assert_eq!(fetch(server.addr, propfind, false).status, 405);
    let ok = fetch(
        server.addr,
        b"GET /own/a HTTP/1.1\r\nHost: x\r\n\r\n",
        false,
    );
    assert_eq!((ok.status, ok.body.as_slice()), (200, &b"ran"[..]));
}

#[test]
fn default_handler_serves_unmatched_paths() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let settings = Settings {
        default_handler: Some(HandlerFactory::new(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            Fallback
        })),
        ..Settings::default()
    };
    let server = app_server(Application::with_settings(
        [url("/hello", || Hello)],
        settings,
    ));
    let response = fetch(
        server.addr,
        b"GET /nowhere/x HTTP/1.1\r\nHost: x\r\n\r\n",
        false,
    );
    assert_eq!(response.status, 410);
    assert_eq!(response.body, b"fallback for /nowhere/x");
    let response = fetch(
        server.addr,
        b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
        false,
    );
    assert_eq!(response.body, b"Hello, world", "routes still win");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "one fresh handler per unmatched request"
    );
}

/// Reads a line from an upstream that closes without sending one.
struct UpstreamCloses(std::net::SocketAddr);
impl RequestHandler for UpstreamCloses {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        let upstream = tornado::iostream::IOStream::connect(self.0).await?;
        let line = upstream.read_until(b"\n", None).await?;
        cx.write(line)
    }
}

#[test]
fn a_closed_upstream_stream_is_a_500_not_an_empty_200() {
    // Only the client's own connection closing ends a request quietly; a
    // stream the handler opened is a server error, as in Tornado.
    let upstream = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let upstream_addr = upstream.local_addr().unwrap();
    let closer = std::thread::spawn(move || drop(upstream.accept().unwrap()));
    let server = app_server(Application::new([url("/proxy", move || {
        UpstreamCloses(upstream_addr)
    })]));
    let raw = get_raw(server.addr, "/proxy", "");
    closer.join().unwrap();
    assert_eq!(status_line(&raw), "HTTP/1.1 500 Internal Server Error");
}
