//! `current_user` and `authenticated` over real sockets: the same app in
//! Python Tornado (`@tornado.web.authenticated` over a signed cookie) and
//! here answer the same requests with the same bytes but for `Date` and
//! `Server`. Skipped (with a line on stderr) without Python's tornado.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use test_support::{
    app_server, get_raw, normalize, python_stdout, python_tornado_or_skip, read_response,
    send_expect_close, split_head, ServerThread, TornadoApp,
};
use tornado::web::{url, Application, Handler, RequestHandler, Result, Settings};

const SECRET: &str = "auth test secret";

/// The Python twin of [`rust_app`]; `LOGIN_URL` is set before it (`None`
/// for no `login_url` setting).
const PYTHON_APP: &str = r#"
import tornado.web

class Private(tornado.web.RequestHandler):
    def get_current_user(self):
        return self.get_signed_cookie("user")

    @tornado.web.authenticated
    def get(self):
        self.write("hello " + self.current_user.decode())

    @tornado.web.authenticated
    def post(self):
        self.write("posted")

settings = {"cookie_secret": SECRET}
if LOGIN_URL is not None:
    settings["login_url"] = LOGIN_URL
app = tornado.web.Application([(r"/private", Private)], **settings)
"#;

/// `/private`: for the user in the signed cookie `user` only.
struct Private;

impl RequestHandler for Private {
    fn get_current_user(cx: &mut Handler) -> Result<Option<String>> {
        let user = cx.get_signed_cookie("user")?;
        Ok(user.map(|user| String::from_utf8_lossy(&user).into_owned()))
    }

    async fn get(&mut self, cx: &mut Handler) -> Result {
        let user = cx.authenticated()?;
        cx.write(format!("hello {user}"))
    }

    async fn post(&mut self, cx: &mut Handler) -> Result {
        cx.authenticated()?;
        cx.write("posted")
    }
}

fn rust_app(login_url: Option<&str>) -> Application {
    Application::with_settings(
        [url("/private", || Private)],
        Settings {
            cookie_secret: Some(SECRET.into()),
            login_url: login_url.map(str::to_owned),
            ..Settings::default()
        },
    )
}

/// The login URLs the servers are started with.
const LOGIN_URLS: [Option<&str>; 4] = [
    Some("/login"),
    Some("http://accounts.example.com/login"),
    Some("/login?from=app"),
    None,
];

/// Tornado and our server for each of [`LOGIN_URLS`], started once.
fn servers() -> &'static [(TornadoApp, ServerThread)] {
    static SERVERS: OnceLock<Vec<(TornadoApp, ServerThread)>> = OnceLock::new();
    SERVERS.get_or_init(|| {
        LOGIN_URLS
            .iter()
            .map(|login_url| {
                let python_login = match login_url {
                    Some(url) => format!("{url:?}"),
                    None => "None".to_owned(),
                };
                let script =
                    format!("SECRET = {SECRET:?}\nLOGIN_URL = {python_login}\n{PYTHON_APP}");
                (TornadoApp::start(&script), app_server(rust_app(*login_url)))
            })
            .collect()
    })
}

/// A `user` cookie as Tornado signs and sends it.
fn signed_cookie(user: &str) -> String {
    python_stdout(&format!(
        "from http.cookies import SimpleCookie\n\
         from tornado.web import create_signed_value\n\
         c = SimpleCookie()\n\
         c['user'] = create_signed_value({SECRET:?}, 'user', {user:?}).decode()\n\
         print('user=' + c['user'].coded_value)"
    ))
    .trim()
    .to_owned()
}

fn assert_same(servers: &(TornadoApp, ServerThread), request: &str) {
    let theirs = normalize(&send_expect_close(servers.0.addr, request.as_bytes()));
    let ours = normalize(&send_expect_close(servers.1.addr, request.as_bytes()));
    assert_eq!(ours, theirs, "\nrequest: {request:?}");
}

fn request(method: &str, target: &str, extra: &str) -> String {
    format!(
        "{method} {target} HTTP/1.1\r\nHost: localhost\r\n{extra}Content-Length: 0\r\n\
         Connection: close\r\n\r\n"
    )
}

#[test]
fn visitors_are_sent_to_log_in_as_tornado_sends_them() {
    if !python_tornado_or_skip("visitors_are_sent_to_log_in_as_tornado_sends_them") {
        return;
    }
    let alice = format!("Cookie: {}\r\n", signed_cookie("alice"));
    let nobody = format!("Cookie: {}\r\n", signed_cookie(""));
    for servers in servers() {
        for target in ["/private", "/private?a=1&b=%C3%A9+x", "/private?next=/evil"] {
            for method in ["GET", "POST"] {
                assert_same(servers, &request(method, target, ""));
            }
            assert_same(servers, &request("GET", target, &alice));
            assert_same(servers, &request("POST", target, &alice));
            // An empty name is nobody, as in Python (b"" is false).
            assert_same(servers, &request("GET", target, &nobody));
            assert_same(servers, &request("GET", target, "Cookie: user=forged\r\n"));
        }
    }
}

#[test]
fn the_redirect_carries_the_page_asked_for() {
    let server = app_server(rust_app(Some("/login")));
    let (head, _) = split_head(&get_raw(server.addr, "/private?q=a%20b", ""));
    assert!(head.starts_with("HTTP/1.1 302 "), "{head}");
    assert!(
        head.contains("\r\nLocation: /login?next=%2Fprivate%3Fq%3Da%2520b\r\n"),
        "{head}"
    );
}

static LOOKUPS: AtomicUsize = AtomicUsize::new(0);

/// Counts its `get_current_user` calls; `prepare` sets the user itself
/// when the request has `X-User`.
struct Counted;

impl RequestHandler for Counted {
    fn get_current_user(_cx: &mut Handler) -> Result<Option<String>> {
        LOOKUPS.fetch_add(1, Ordering::SeqCst);
        Ok(Some("from cookie".to_owned()))
    }

    async fn prepare(&mut self, cx: &mut Handler) -> Result {
        if let Some(user) = cx.request.headers.get("X-User") {
            let user = user.to_owned();
            cx.set_current_user(Some(user));
        }
        Ok(())
    }

    async fn get(&mut self, cx: &mut Handler) -> Result {
        let first = cx.current_user()?.map(str::to_owned);
        let second = cx.authenticated()?;
        cx.write(format!("{first:?} {second}"))
    }
}

#[test]
fn the_user_is_looked_up_once_per_request_and_prepare_can_set_it() {
    let server = app_server(Application::new([url("/", || Counted)]));
    // One keep-alive connection: its requests reuse one pooled context,
    // which must not carry a user from one request to the next.
    let mut sock = server.connect();
    let mut get = |extra: &str| {
        let request = format!("GET / HTTP/1.1\r\nHost: localhost\r\n{extra}\r\n");
        sock.write_all(request.as_bytes()).unwrap();
        read_response(&mut sock, false).body
    };
    assert_eq!(get("X-User: bob\r\n"), b"Some(\"bob\") bob");
    assert_eq!(LOOKUPS.load(Ordering::SeqCst), 0);
    assert_eq!(get(""), b"Some(\"from cookie\") from cookie");
    assert_eq!(LOOKUPS.load(Ordering::SeqCst), 1);
    assert_eq!(get(""), b"Some(\"from cookie\") from cookie");
    assert_eq!(LOOKUPS.load(Ordering::SeqCst), 2);
}

/// Its `get_current_user` asks for the current user.
struct Recursive;

impl RequestHandler for Recursive {
    fn get_current_user(cx: &mut Handler) -> Result<Option<String>> {
        Ok(cx.current_user()?.map(str::to_owned))
    }

    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.authenticated()?;
        cx.write("unreachable")
    }
}

#[test]
fn a_lookup_that_asks_for_the_user_is_a_500_not_a_stack_overflow() {
    let server = app_server(Application::new([url("/", || Recursive)]));
    for _ in 0..2 {
        let (head, _) = split_head(&get_raw(server.addr, "/", ""));
        assert!(head.starts_with("HTTP/1.1 500 "), "{head}");
    }
}
