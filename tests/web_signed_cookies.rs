//! Signed cookies over real sockets, checked against Python Tornado's own
//! `create_signed_value` / `decode_signed_value` and `http.cookies` (an
//! independent implementation of both the format and the cookie syntax):
//! a ported application and its Python original read each other's cookies.

use test_support::{app_server, get_raw, python_stdout, split_head, ServerThread};
use tornado::web::{url, Application, CookieSecret, Handler, RequestHandler, Result, Settings};

const SECRET: &str = "It's a secret to everybody";

/// `GET /set?value=V` signs `V` into cookie `user`; the body is `ok`.
struct SetUser;

impl RequestHandler for SetUser {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        let value = cx.get_argument("value")?;
        cx.set_signed_cookie("user", &value)?;
        cx.write("ok")
    }
}

/// `GET /get`: the signed cookie `user` and its key version, or `none`.
struct GetUser;

impl RequestHandler for GetUser {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        let user = cx.get_signed_cookie("user")?;
        let key_version = cx.get_signed_cookie_key_version("user", None)?;
        match user {
            Some(user) => cx.write(format!(
                "{} (key {key_version:?})",
                String::from_utf8_lossy(&user)
            )),
            None => cx.write("none"),
        }
    }
}

/// `GET /both` sets the cookie and reads it in the same request.
struct SetAndGet;

impl RequestHandler for SetAndGet {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.set_signed_cookie("user", "new")?;
        let seen = cx.get_signed_cookie("user")?;
        cx.write(format!("{seen:?}"))
    }
}

fn server(cookie_secret: Option<CookieSecret>, key_version: Option<i64>) -> ServerThread {
    let settings = Settings {
        cookie_secret,
        key_version,
        ..Settings::default()
    };
    app_server(Application::with_settings(
        [
            url("/set", || SetUser),
            url("/get", || GetUser),
            url("/both", || SetAndGet),
        ],
        settings,
    ))
}

/// Runs `script` with the server's port as `PORT` and Tornado's signing
/// functions imported; returns its stdout lines.
fn run_python(server: &ServerThread, script: &str) -> Vec<String> {
    let program = format!(
        "PORT = {}\nSECRET = {SECRET:?}\n\
         import http.client\n\
         from http.cookies import SimpleCookie\n\
         from tornado.web import create_signed_value, decode_signed_value\n\
         def fetch(path, cookie=None):\n    \
             conn = http.client.HTTPConnection('127.0.0.1', PORT, timeout=10)\n    \
             conn.request('GET', path, headers={{'Cookie': cookie}} if cookie else {{}})\n    \
             r = conn.getresponse()\n    \
             return r, r.read().decode()\n\
         def as_sent(signed):\n    \
             # What a browser sends back: the Set-Cookie value as Tornado wrote it.\n    \
             c = SimpleCookie()\n    \
             c['user'] = signed.decode()\n    \
             return 'user=' + c['user'].coded_value\n\
         {script}",
        server.addr.port()
    );
    python_stdout(&program).lines().map(str::to_owned).collect()
}

#[test]
fn tornado_reads_our_signed_cookies() {
    let server = server(Some(SECRET.into()), None);
    let lines = run_python(
        &server,
        r#"
r, body = fetch('/set?value=alice%20%C3%A9%7C%3D')
cookie = SimpleCookie()
cookie.load(r.getheader('Set-Cookie'))
morsel = cookie['user']
print(body, morsel['path'], bool(morsel['expires']))
print(decode_signed_value(SECRET, 'user', morsel.value).decode())
print(decode_signed_value(SECRET, 'user', morsel.value, min_version=2).decode())
print(decode_signed_value('another secret', 'user', morsel.value))
print(decode_signed_value(SECRET, 'admin', morsel.value))
"#,
    );
    assert_eq!(
        lines,
        [
            "ok / True",
            "alice \u{e9}|=",
            "alice \u{e9}|=",
            "None",
            "None"
        ]
    );
}

#[test]
fn we_read_tornados_signed_cookies_v1_and_v2() {
    let server = server(Some(SECRET.into()), None);
    let lines = run_python(
        &server,
        r#"
print(fetch('/get', as_sent(create_signed_value(SECRET, 'user', 'bob')))[1])
print(fetch('/get', as_sent(create_signed_value(SECRET, 'user', 'carol', version=1)))[1])
print(fetch('/get', as_sent(create_signed_value('wrong', 'user', 'mallory')))[1])
print(fetch('/get', as_sent(create_signed_value(SECRET, 'admin', 'mallory')))[1])
print(fetch('/get', as_sent(create_signed_value(SECRET, 'user', 'old', clock=lambda: 1300000000)))[1])
print(fetch('/get')[1])
"#,
    );
    assert_eq!(
        lines,
        [
            "bob (key Some(0))",
            "carol (key None)",
            "none",
            "none",
            "none",
            "none"
        ]
    );
}

#[test]
fn rotated_keys_read_both_generations() {
    let keys = CookieSecret::from([(0, "old key"), (1, "new key")]);
    let server = server(Some(keys), Some(1));
    let lines = run_python(
        &server,
        r#"
KEYS = {0: 'old key', 1: 'new key'}
print(fetch('/get', as_sent(create_signed_value(KEYS, 'user', 'dave', key_version=0)))[1])
print(fetch('/get', as_sent(create_signed_value(KEYS, 'user', 'erin', key_version=1)))[1])
print(fetch('/get', as_sent(create_signed_value({2: 'gone'}, 'user', 'x', key_version=2)))[1])
r, _ = fetch('/set?value=frank')
cookie = SimpleCookie()
cookie.load(r.getheader('Set-Cookie'))
print(decode_signed_value(KEYS, 'user', cookie['user'].value).decode())
print(decode_signed_value({1: 'new key'}, 'user', cookie['user'].value).decode())
"#,
    );
    assert_eq!(
        lines,
        [
            "dave (key Some(0))",
            "erin (key Some(1))",
            "none",
            "frank",
            "frank"
        ]
    );
}

#[test]
fn a_tampered_cookie_reads_as_none() {
    let server = server(Some(SECRET.into()), None);
    let (head, _) = split_head(&get_raw(server.addr, "/set?value=alice", ""));
    let set_cookie = head
        .lines()
        .find_map(|line| line.strip_prefix("Set-Cookie: "))
        .unwrap();
    let sent = set_cookie.split(';').next().unwrap();
    let (_, body) = split_head(&get_raw(
        server.addr,
        "/get",
        &format!("Cookie: {sent}\r\n"),
    ));
    assert_eq!(body, b"alice (key Some(0))");
    // base64("alice") is YWxpY2U=; base64("alicf") is YWxpY2Y=.
    let forged = sent.replace("YWxpY2U=", "YWxpY2Y=");
    assert_ne!(forged, sent);
    let (_, body) = split_head(&get_raw(
        server.addr,
        "/get",
        &format!("Cookie: {forged}\r\n"),
    ));
    assert_eq!(body, b"none");
}

#[test]
fn the_cookie_lasts_thirty_days_and_is_not_seen_by_its_own_request() {
    let server = server(Some(SECRET.into()), None);
    let (head, body) = split_head(&get_raw(server.addr, "/both", ""));
    assert_eq!(body, b"None");
    let set_cookie = head
        .lines()
        .find_map(|line| line.strip_prefix("Set-Cookie: "))
        .unwrap();
    // base64("new") has no `=`: nothing to quote.
    assert!(set_cookie.starts_with("user=2|1:0|10:"), "{set_cookie}");
    assert!(set_cookie.ends_with("; Path=/"), "{set_cookie}");
    let lines = python_stdout(&format!(
        "import time\nfrom http.cookies import SimpleCookie\n\
         from email.utils import parsedate_to_datetime\n\
         c = SimpleCookie()\nc.load({set_cookie:?})\n\
         days = (parsedate_to_datetime(c['user']['expires']).timestamp() - time.time()) / 86400\n\
         print(29.9 < days <= 30.0)"
    ));
    assert_eq!(lines.trim(), "True");
}

#[test]
fn without_a_cookie_secret_signed_cookies_are_a_500() {
    for secret in [
        None,
        Some("".into()),
        Some(CookieSecret::Versioned(Default::default())),
    ] {
        let server = server(secret, None);
        for path in ["/set?value=x", "/get"] {
            let (head, _) = split_head(&get_raw(server.addr, path, "Cookie: user=x\r\n"));
            assert!(head.starts_with("HTTP/1.1 500 "), "{path}: {head}");
        }
    }
}

#[test]
fn versioned_keys_without_key_version_cannot_sign() {
    let server = server(Some(CookieSecret::from([(0, "k")])), None);
    let (head, _) = split_head(&get_raw(server.addr, "/set?value=x", ""));
    assert!(head.starts_with("HTTP/1.1 500 "), "{head}");
    let (head, body) = split_head(&get_raw(server.addr, "/get", ""));
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert_eq!(body, b"none");
}

#[test]
fn one_secret_signs_as_key_version_0_whatever_the_setting() {
    // As Tornado: `key_version` counts only for versioned secrets.
    let server = server(Some(SECRET.into()), Some(1));
    let (head, _) = split_head(&get_raw(server.addr, "/set?value=x", ""));
    assert!(head.contains("Set-Cookie: user=\"2|1:0|10:"), "{head}");
}
