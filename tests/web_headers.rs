//! Response headers over real sockets: defaults, injection refused,
//! set/add/clear, `write_json`, Etag and `If-None-Match` (and `compute_etag`
//! overridden), an error finishing the response, redirects,
//! cookies, HTTP/1.0 keep-alive, `100 (Continue)` and 413. Normal traffic
//! also goes through an independent client (`reqwest`).

use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use serde_json::json;
use sha1::{Digest, Sha1};
use test_support::{
    app_server, app_server_with, fetch, get_raw, read_response, send_expect_close, split_head,
    status_line, ServerThread,
};
use tornado::httpserver::HTTPServerSettings;
use tornado::web::{url, Application, CookieOptions, Handler, RequestHandler, Result};

struct Hello;
impl RequestHandler for Hello {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.write("Hello, world")
    }
    async fn post(&mut self, cx: &mut Handler) -> Result {
        cx.write("Hello, world")
    }
}

struct Status(u16);
impl RequestHandler for Status {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.set_status(self.0);
        Ok(())
    }
}

/// Tries injecting headers every way the API allows; records how many
/// attempts were refused.
struct Inject(Arc<AtomicUsize>);
impl RequestHandler for Inject {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        let attempts = [
            cx.set_header("X-A", "ok\r\nX-Injected: 1").is_err(),
            cx.set_header("X-B", "ok\nX-Injected: 2").is_err(),
            cx.add_header("X-C", "ok\rX-Injected: 3").is_err(),
            cx.set_header("X-D\r\nX-Injected", "4").is_err(),
            cx.set_header("X D", "5").is_err(),
            cx.set_header("X-E", "nul\0").is_err(),
            cx.set_cookie("c", "v\r\nX-Injected: 7").is_err(),
            cx.set_cookie_with(
                "c",
                "v",
                &CookieOptions {
                    path: Some("/\r\nX-Injected: 8".into()),
                    ..CookieOptions::default()
                },
            )
            .is_err(),
            // Names Python's SimpleCookie refuses: `a=b` would read back as
            // cookie `a`.
            cx.set_cookie("a=b", "v").is_err(),
            cx.set_cookie("Path", "v").is_err(),
            cx.set_cookie("caf\u{e9}", "v").is_err(),
        ];
        self.0.store(
            attempts.iter().filter(|refused| **refused).count(),
            Ordering::SeqCst,
        );
        // A tab and bytes above 0x7f are allowed, and `:` in a cookie name.
        cx.set_header("X-Fine", "a\tb é")?;
        cx.set_cookie("a:b", "v")?;
        cx.write("after")
    }
}

/// A redirect to a URL with CRLF, its error returned with `?`.
struct InjectRedirect;
impl RequestHandler for InjectRedirect {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.redirect("/x\r\nX-Injected: 6", false)
    }
}

struct SetAddClear;
impl RequestHandler for SetAddClear {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.set_header("x-custom-thing", "1")?;
        cx.set_header("X-Custom-Thing", "2")?;
        cx.add_header("X-Multi", "a")?;
        cx.add_header("x-multi", "b")?;
        cx.set_header("X-Gone", "soon")?;
        cx.clear_header("x-gone");
        cx.clear_header("Server");
        cx.set_header("Content-Type", "text/plain")?;
        cx.write("ok")
    }
}

struct Json;
impl RequestHandler for Json {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.write_json(&json!({
            "html": "</script><script>alert(1)</script>",
            "list": [1, 2.5, -3, null, true, false, "x"],
            "nested": {"k": [], "e": {}},
            "text": "naïve ☃ 😀 \"q\" \\ \t\n\u{1}",
        }))
    }
}

/// Writes `?body=` (default "etag body"), optionally flushing first.
struct Etag;
impl RequestHandler for Etag {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        let body = cx.get_argument_or("body", "etag body")?;
        if cx.get_argument_or("flush", "0")? == "1" {
            cx.write("first ")?;
            cx.flush().await?;
        }
        if let Ok(status) = cx.get_argument("status") {
            cx.set_status(status.parse().unwrap());
        }
        cx.write(body)
    }
    async fn head(&mut self, cx: &mut Handler) -> Result {
        cx.write("etag body")
    }
    async fn post(&mut self, cx: &mut Handler) -> Result {
        cx.write("etag body")
    }
}

struct Redirect;
impl RequestHandler for Redirect {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        match cx.get_argument_or("kind", "temp")?.as_str() {
            "temp" => cx.redirect("/target?x=1", false),
            "perm" => cx.redirect("https://example.com/", true),
            _ => cx.redirect_with_status("/other", 303),
        }
    }
}

struct Cookies;
impl RequestHandler for Cookies {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.set_cookie("plain", "v")?;
        cx.set_cookie_with(
            "full",
            "a:b",
            &CookieOptions {
                domain: Some("example.com".into()),
                expires: Some(UNIX_EPOCH + Duration::from_secs(1_893_553_445)),
                path: Some("/app".into()),
                max_age: Some(60),
                httponly: true,
                secure: true,
                samesite: Some("Strict".into()),
                ..CookieOptions::default()
            },
        )?;
        cx.set_cookie("dup", "first")?;
        cx.set_cookie("quoted", "a\"b\\c")?;
        // Set again: moves last, as in Tornado.
        cx.set_cookie("dup", "second")?;
        cx.clear_cookie("old")?;
        cx.write("ok")
    }
}

/// Writes the cookies the request sent.
struct ReadCookies;
impl RequestHandler for ReadCookies {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        let a = cx.get_cookie("a");
        let b = cx.get_cookie("b");
        let none = cx.get_cookie("none");
        let all = cx.cookies().to_vec();
        cx.write(format!("{a:?} {b:?} {none:?} {all:?}"))
    }
}

struct Echo;
impl RequestHandler for Echo {
    async fn post(&mut self, cx: &mut Handler) -> Result {
        let body = cx.request.body.clone();
        cx.write(body)
    }
}

/// A body on a 204: refused when the response is finished.
struct BodyOn204;
impl RequestHandler for BodyOn204 {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.set_status(204);
        cx.write("x")
    }
}

/// Writes "etag body" with the Etag its `compute_etag` gives: `None` for
/// `K` = 0 (Tornado's way to drop it), a version tag of its own for 1, and
/// for 2 a value that would inject a header line (refused like
/// `set_header`'s).
struct EtagFrom<const K: u8>;
impl<const K: u8> RequestHandler for EtagFrom<K> {
    fn compute_etag(_cx: &Handler) -> Option<String> {
        match K {
            0 => None,
            1 => Some("\"v1\"".to_owned()),
            _ => Some("\"v1\"\r\nX-Injected: 1".to_owned()),
        }
    }
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.write("etag body")
    }
}

fn app(refused: Arc<AtomicUsize>) -> Application {
    Application::new([
        url("/hello", || Hello),
        url("/204", || Status(204)),
        url("/304", || Status(304)),
        url("/inject", move || Inject(refused.clone())),
        url("/inject/redirect", || InjectRedirect),
        url("/headers", || SetAddClear),
        url("/json", || Json),
        url("/etag", || Etag),
        url("/etag/none", || EtagFrom::<0>),
        url("/etag/version", || EtagFrom::<1>),
        url("/etag/inject", || EtagFrom::<2>),
        url("/204/body", || BodyOn204),
        url("/redirect", || Redirect),
        url("/cookies", || Cookies),
        url("/read_cookies", || ReadCookies),
        url("/echo", || Echo),
    ])
}

fn server() -> ServerThread {
    app_server(app(Arc::new(AtomicUsize::new(0))))
}

fn get(server: &ServerThread, target: &str, extra: &str) -> test_support::Response {
    let request = format!("GET {target} HTTP/1.1\r\nHost: x\r\n{extra}\r\n");
    fetch(server.addr, request.as_bytes(), false)
}

fn etag_of(body: &[u8]) -> String {
    let hex: String = Sha1::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("\"{hex}\"")
}

fn set_cookies(response: &test_support::Response) -> Vec<&str> {
    response
        .headers
        .iter()
        .filter(|(name, _)| name == "set-cookie")
        .map(|(_, value)| value.as_str())
        .collect()
}

#[test]
fn default_content_type_except_on_204_and_304() {
    let server = server();
    let raw = get_raw(server.addr, "/hello", "");
    let (head, _) = split_head(&raw);
    assert!(
        head.contains("\r\nContent-Type: text/html; charset=UTF-8\r\n"),
        "{head:?}"
    );
    // Tornado's order, and the current date (not the template's placeholder).
    assert!(
        head.starts_with("HTTP/1.1 200 OK\r\nServer: ")
            && head.contains("\r\nContent-Type: text/html; charset=UTF-8\r\nDate: "),
        "{head:?}"
    );
    let date = head
        .split("\r\nDate: ")
        .nth(1)
        .and_then(|rest| rest.split("\r\n").next());
    assert!(
        date.is_some_and(|d| d.len() == 29 && d.ends_with(" GMT") && !d.contains(" 1970 ")),
        "{head:?}"
    );
    for path in ["/204", "/304"] {
        let raw = get_raw(server.addr, path, "");
        let (head, body) = split_head(&raw);
        assert!(!head.contains("Content-Type"), "{path}: {head:?}");
        assert!(!head.contains("Content-Length"), "{path}: {head:?}");
        assert!(!head.contains("Transfer-Encoding"), "{path}: {head:?}");
        assert!(body.is_empty(), "{path}");
    }
}

#[test]
fn header_injection_is_refused() {
    let refused = Arc::new(AtomicUsize::new(0));
    let server = app_server(app(refused.clone()));
    let raw = get_raw(server.addr, "/inject", "");
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text:?}");
    assert!(!text.contains("X-Injected"), "{text:?}");
    assert!(text.contains("\r\nX-Fine: a\tb é\r\n"), "{text:?}");
    assert!(text.ends_with("\r\n\r\nafter"), "{text:?}");
    assert_eq!(refused.load(Ordering::SeqCst), 11, "every attempt got Err");
    assert!(
        text.contains("\r\nSet-Cookie: a:b=v; Path=/\r\n"),
        "{text:?}"
    );
    // A refused redirect returned as an error is a 500, with no Location.
    let raw = get_raw(server.addr, "/inject/redirect", "");
    let text = String::from_utf8_lossy(&raw);
    assert!(
        text.starts_with("HTTP/1.1 500 Internal Server Error\r\n"),
        "{text:?}"
    );
    assert!(
        !text.contains("X-Injected") && !text.contains("Location"),
        "{text:?}"
    );
}

#[test]
fn set_add_and_clear_header() {
    let server = server();
    let raw = get_raw(server.addr, "/headers", "");
    let (head, _) = split_head(&raw);
    assert!(
        head.contains("\r\nX-Custom-Thing: 2\r\n"),
        "names normalized, value replaced: {head:?}"
    );
    assert_eq!(head.matches("X-Custom-Thing").count(), 1, "{head:?}");
    assert!(
        head.contains("\r\nX-Multi: a\r\nX-Multi: b\r\n"),
        "{head:?}"
    );
    assert!(!head.contains("X-Gone"), "{head:?}");
    assert!(!head.contains("Server:"), "{head:?}");
    assert_eq!(head.matches("Content-Type").count(), 1, "{head:?}");
    assert!(
        head.contains("\r\nContent-Type: text/plain\r\n"),
        "{head:?}"
    );
}

#[test]
fn write_json_is_tornados_json_encode() {
    let server = server();
    let response = get(&server, "/json", "");
    assert_eq!(
        response.header("Content-Type"),
        Some("application/json; charset=UTF-8")
    );
    // What Python prints for tornado.escape.json_encode of the same dict
    // (keys in the order written, as a Python dict keeps them).
    assert_eq!(
        String::from_utf8(response.body).unwrap(),
        r#"{"html": "<\/script><script>alert(1)<\/script>", "list": [1, 2.5, -3, null, true, false, "x"], "nested": {"k": [], "e": {}}, "text": "na\u00efve \u2603 \ud83d\ude00 \"q\" \\ \t\n\u0001"}"#
    );
}

#[test]
fn etag_is_the_quoted_sha1_of_an_unflushed_200_get() {
    let server = server();
    let etag = etag_of(b"etag body");
    assert_eq!(
        get(&server, "/etag", "").header("Etag"),
        Some(etag.as_str())
    );
    let head = fetch(server.addr, b"HEAD /etag HTTP/1.1\r\nHost: x\r\n\r\n", true);
    assert_eq!(head.header("Etag"), Some(etag.as_str()), "HEAD too");
    assert_eq!(head.header("Content-Length"), Some("9"));
    let post = fetch(
        server.addr,
        b"POST /etag HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
        false,
    );
    assert_eq!(post.header("Etag"), None, "not on POST");
    assert_eq!(
        get(&server, "/etag?status=201", "").header("Etag"),
        None,
        "not on a 201"
    );
    let flushed = get(&server, "/etag?flush=1", "");
    assert_eq!(flushed.header("Etag"), None, "not after a flush");
    assert_eq!(flushed.header("Transfer-Encoding"), Some("chunked"));
    assert_eq!(flushed.body, b"first etag body");
}

#[test]
fn if_none_match_gives_304_with_the_etag_and_no_body() {
    let server = server();
    let etag = etag_of(b"etag body");
    for value in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"other\", {etag}"),
        format!("W/\"x\",W/{etag}"),
        // Tags are found byte by byte, whatever surrounds them.
        format!("\u{e9}, {etag}"),
        "*".to_owned(),
    ] {
        let raw = get_raw(server.addr, "/etag", &format!("If-None-Match: {value}\r\n"));
        let (head, body) = split_head(&raw);
        assert!(
            head.starts_with("HTTP/1.1 304 Not Modified\r\n"),
            "{value}: {head:?}"
        );
        assert!(
            head.contains(&format!("\r\nEtag: {etag}\r\n")),
            "{value}: {head:?}"
        );
        assert!(
            !head.contains("Content-Length") && !head.contains("Content-Type"),
            "{head:?}"
        );
        assert!(body.is_empty(), "{value}");
    }
    // Not ASCII outside a tag was a panic (a 500) slicing inside a character.
    for value in ["\"other\"", "W/\"other\"", "garbage", "x\u{e9}y", "\u{e9}"] {
        let response = get(&server, "/etag", &format!("If-None-Match: {value}\r\n"));
        assert_eq!(
            (response.status, response.body.as_slice()),
            (200, &b"etag body"[..]),
            "{value}"
        );
    }
    // Sent on two lines: read as one list, as Tornado joins them.
    let raw = get_raw(
        server.addr,
        "/etag",
        &format!("If-None-Match: \"zz\"\r\nIf-None-Match: {etag}\r\n"),
    );
    assert!(raw.starts_with(b"HTTP/1.1 304 Not Modified\r\n"));
    // A different body has a different tag.
    let response = get(
        &server,
        "/etag?body=changed",
        &format!("If-None-Match: {etag}\r\n"),
    );
    assert_eq!(response.status, 200);
}

#[test]
fn compute_etag_overrides_the_tag_or_drops_it() {
    let server = server();
    let sha1 = etag_of(b"etag body");
    // None: no Etag, and no 304 whatever If-None-Match says.
    for extra in [
        "",
        &format!("If-None-Match: {sha1}\r\n"),
        "If-None-Match: *\r\n",
    ] {
        let response = get(&server, "/etag/none", extra);
        assert_eq!(response.header("Etag"), None, "{extra:?}");
        assert_eq!(
            (response.status, response.body.as_slice()),
            (200, &b"etag body"[..]),
            "{extra:?}"
        );
    }
    // Its own tag: sent as it is, and matched by If-None-Match instead of the SHA-1.
    let response = get(&server, "/etag/version", "");
    assert_eq!(response.header("Etag"), Some("\"v1\""));
    let response = get(&server, "/etag/version", "If-None-Match: \"v1\"\r\n");
    assert_eq!((response.status, response.body.len()), (304, 0));
    let response = get(
        &server,
        "/etag/version",
        &format!("If-None-Match: {sha1}\r\n"),
    );
    assert_eq!(response.status, 200);
    // A tag with a line break never reaches the wire: the request fails with a 500.
    let raw = get_raw(server.addr, "/etag/inject", "");
    let (head, _) = split_head(&raw);
    assert!(head.starts_with("HTTP/1.1 500 "), "{head:?}");
    assert!(!head.contains("X-Injected"), "{head:?}");
}

#[test]
fn an_error_finishing_the_response_is_a_500_page_as_in_tornado() {
    // Tornado (6.6, checked with http.client) answers a body written on a
    // 204 with a 500 page; it must not be a connection closed without a word.
    let server = server();
    let response = get(&server, "/204/body", "");
    assert_eq!(response.status, 500);
    assert!(
        String::from_utf8_lossy(&response.body).contains("500: Internal Server Error"),
        "{:?}",
        response.body
    );
    // The connection stays usable: the next request on the server is served.
    assert_eq!(get(&server, "/hello", "").status, 200);
}

#[test]
fn redirects_carry_location_and_an_empty_body() {
    let server = server();
    for (kind, status) in [("temp", 302), ("perm", 301), ("see", 303)] {
        let raw = get_raw(server.addr, &format!("/redirect?kind={kind}"), "");
        let (head, body) = split_head(&raw);
        assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{head:?}");
        assert!(head.contains("\r\nContent-Length: 0\r\n"), "{head:?}");
        assert!(body.is_empty());
    }
    let response = get(&server, "/redirect?kind=temp", "");
    assert_eq!(response.header("Location"), Some("/target?x=1"));
    assert_eq!(
        get(&server, "/redirect?kind=perm", "").header("Location"),
        Some("https://example.com/")
    );
}

#[test]
fn set_cookie_attributes_in_tornados_order_and_spelling() {
    let server = server();
    let response = get(&server, "/hello", "");
    assert!(set_cookies(&response).is_empty());
    let response = get(&server, "/cookies", "");
    let cookies = set_cookies(&response);
    assert_eq!(cookies.len(), 5, "{cookies:?}");
    assert_eq!(cookies[0], "plain=v; Path=/");
    assert_eq!(
        cookies[1],
        "full=a:b; Domain=example.com; expires=Wed, 02 Jan 2030 03:04:05 GMT; HttpOnly; Max-Age=60; Path=/app; SameSite=Strict; Secure"
    );
    assert_eq!(
        cookies[2], r#"quoted="a\"b\\c"; Path=/"#,
        "Python's quoting"
    );
    assert_eq!(
        cookies[3], "dup=second; Path=/",
        "the last set wins, moved last"
    );
    // Cleared: an empty value, expired a year ago.
    assert!(cookies[4].starts_with("old="), "{}", cookies[4]);
    assert!(cookies[4].ends_with(" GMT; Path=/"), "{}", cookies[4]);
    assert!(cookies[4].contains("; expires="), "{}", cookies[4]);
}

#[test]
fn clear_cookie_value_is_an_empty_quoted_string() {
    let server = server();
    let response = get(&server, "/cookies", "");
    let cookies = set_cookies(&response);
    assert!(
        cookies[4].starts_with("old=\"\"; expires="),
        "{}",
        cookies[4]
    );
}

/// Python's `http.cookies` escapes `,` and `;` (and DEL, and characters
/// U+0080..U+00FF) as octal inside the quotes; Tornado's `set_cookie`
/// accepts such values.
struct OctalCookies;
impl RequestHandler for OctalCookies {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.set_cookie("comma", "a,b")?;
        cx.set_cookie("semi", "a;b")?;
        cx.set_cookie("latin", "\u{e9}")?;
        Ok(())
    }
}

#[test]
fn set_cookie_quotes_like_python() {
    let server = app_server(Application::new([url("/c", || OctalCookies)]));
    let response = get(&server, "/c", "");
    // Printed by Python 3.11: SimpleCookie()[name] = value; .output()
    assert_eq!(
        set_cookies(&response),
        [
            "comma=\"a\\054b\"; Path=/",
            "semi=\"a\\073b\"; Path=/",
            "latin=\"\\351\"; Path=/"
        ]
    );
}

#[test]
fn get_cookie_reads_the_cookie_header() {
    let server = server();
    let response = get(
        &server,
        "/read_cookies",
        "Cookie: a=1; b=\"x\\\"y\"\r\nCookie: c=3\r\n",
    );
    assert_eq!(
        String::from_utf8(response.body).unwrap(),
        r#"Some("1") Some("x\"y") None [("a", "1"), ("b", "x\"y"), ("c", "3")]"#
    );
    let response = get(&server, "/read_cookies", "");
    assert_eq!(response.body, b"None None None []");
    // A byte that is not UTF-8 (a cookie of another site on the domain)
    // costs no other cookie; Tornado reads the line as Latin-1.
    let response = fetch(
        server.addr,
        b"GET /read_cookies HTTP/1.1\r\nHost: x\r\nCookie: a=1; z=\xff\r\n\r\n",
        false,
    );
    assert_eq!(
        String::from_utf8(response.body).unwrap(),
        "Some(\"1\") None None [(\"a\", \"1\"), (\"z\", \"\u{fffd}\")]"
    );
}

#[test]
fn http10_keep_alive_is_echoed_and_honoured() {
    let server = server();
    let mut sock = server.connect();
    for _ in 0..2 {
        sock.write_all(b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .unwrap();
        let response = read_response(&mut sock, false);
        assert_eq!(response.header("Connection"), Some("Keep-Alive"));
        assert_eq!(response.body, b"Hello, world");
    }
    // Without it, HTTP/1.0 closes after the response.
    sock.write_all(b"GET /hello HTTP/1.0\r\n\r\n").unwrap();
    let response = read_response(&mut sock, false);
    assert_eq!(response.body, b"Hello, world");
    assert!(test_support::is_closed(&mut sock));
}

#[test]
fn expect_100_continue_gets_tornados_interim_line() {
    let server = server();
    let mut sock = server.connect();
    sock.write_all(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
    )
    .unwrap();
    let mut interim = [0u8; 27];
    sock.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 (Continue)\r\n\r\n");
    sock.write_all(b"ping").unwrap();
    let response = read_response(&mut sock, false);
    assert_eq!(
        (response.status, response.body.as_slice()),
        (200, &b"ping"[..])
    );
}

#[test]
fn over_limit_body_is_413() {
    let server = app_server_with(
        app(Arc::new(AtomicUsize::new(0))),
        HTTPServerSettings {
            max_body_size: Some(16),
            ..HTTPServerSettings::default()
        },
    );
    let out = send_expect_close(
        server.addr,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n\r\n01234567890123456",
    );
    assert_eq!(status_line(&out), "HTTP/1.1 413 Request Entity Too Large");
    let response = fetch(
        server.addr,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 16\r\n\r\n0123456789012345",
        false,
    );
    assert_eq!(response.body, b"0123456789012345", "at the limit is fine");
}

/// The same facts through an independent client, `reqwest`.
#[test]
fn reqwest_sees_headers_json_redirects_and_304() {
    let server = server();
    let base = format!("http://{}", server.addr);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let r = client.get(format!("{base}/json")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()["content-type"],
            "application/json; charset=UTF-8"
        );
        let text = r.text().await.unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["text"], "naïve ☃ 😀 \"q\" \\ \t\n\u{1}");
        assert_eq!(value["html"], "</script><script>alert(1)</script>");

        let r = client.get(format!("{base}/redirect")).send().await.unwrap();
        assert_eq!(r.status(), 302);
        assert_eq!(r.headers()["location"], "/target?x=1");

        let r = client.get(format!("{base}/etag")).send().await.unwrap();
        let etag = r.headers()["etag"].to_str().unwrap().to_owned();
        assert_eq!(etag, etag_of(b"etag body"));
        let r = client
            .get(format!("{base}/etag"))
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304);
        assert_eq!(r.bytes().await.unwrap().len(), 0);

        let r = client.get(format!("{base}/cookies")).send().await.unwrap();
        seen.lock().unwrap().extend(
            r.headers()
                .get_all("set-cookie")
                .iter()
                .map(|v| v.to_str().unwrap().to_owned()),
        );
    });
    assert_eq!(seen.lock().unwrap()[0], "plain=v; Path=/");
}
