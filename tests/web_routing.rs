//! Routing over real sockets: host tables added while the server runs (on
//! one thread and on the threads of `start(n)`), `default_host`,
//! `add_handlers` that fails, `reverse_url` with names in several tables and
//! its errors, and the patterns Tornado refuses or anchors differently.
//! Expected values are Tornado 6.6.1's (`tornado/test/web_test.py`'s
//! `HostMatchingTest` and `DefaultHostMatchingTest`, or Python run on the
//! same patterns), except where a comment says otherwise.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread;

use test_support::{app_server, fetch};
use tornado::httpserver::HTTPServer;
use tornado::ioloop::IOLoop;
use tornado::routing::ReverseError;
use tornado::web::{url, Application, Handler, RequestHandler, Result, Settings};

/// Writes its reply (Tornado's `HostMatchingTest.Handler`).
struct Reply(&'static str);
impl RequestHandler for Reply {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.write(self.0)
    }
}

/// Writes the name of the thread that serves the request.
struct ThreadName;
impl RequestHandler for ThreadName {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        let name = format!("{:?}", thread::current().id());
        cx.write(name)
    }
}

/// Writes `reverse_url(name, args)` or its error, from `?name=..&arg=..`.
struct Reverse;
impl RequestHandler for Reverse {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        let name = cx.get_query_argument("name")?;
        let args = cx.get_query_arguments("arg")?;
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let text = match cx.application().reverse_url(&name, &args) {
            Ok(path) => path,
            Err(err) => format!("error: {err}"),
        };
        cx.write(text)
    }
}

/// `GET path` with `Host: host` and `extra` header lines: (status, body).
fn get(addr: SocketAddr, path: &str, host: &str, extra: &str) -> (u16, String) {
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n");
    let response = fetch(addr, request.as_bytes(), false);
    let body = String::from_utf8_lossy(&response.body).into_owned();
    (response.status, body)
}

fn ok(body: &str) -> (u16, String) {
    (200, body.to_owned())
}

#[test]
fn host_tables_added_while_serving_reach_the_server() {
    // HostMatchingTest: the server runs before `add_handlers` is called.
    let app = Application::new([url("/foo", || Reply("wildcard"))]);
    let server = app_server(app.clone());
    let addr = server.addr;
    assert_eq!(get(addr, "/baz", "www.example.com", "").0, 404);
    app.add_handlers("www.example.com", [url("/foo", || Reply("[0]"))])
        .unwrap();
    app.add_handlers(r"www\.example\.com", [url("/bar", || Reply("[1]"))])
        .unwrap();
    app.add_handlers("www.example.com", [url("/baz", || Reply("[2]"))])
        .unwrap();
    app.add_handlers("www.e.*e.com", [url("/baz", || Reply("[3]"))])
        .unwrap();

    assert_eq!(get(addr, "/foo", "127.0.0.1", ""), ok("wildcard"));
    assert_eq!(get(addr, "/bar", "127.0.0.1", "").0, 404);
    assert_eq!(get(addr, "/baz", "127.0.0.1", "").0, 404);
    assert_eq!(get(addr, "/foo", "www.example.com", ""), ok("[0]"));
    assert_eq!(get(addr, "/bar", "www.example.com", ""), ok("[1]"));
    assert_eq!(get(addr, "/baz", "www.example.com", ""), ok("[2]"));
    assert_eq!(get(addr, "/baz", "www.exe.com", ""), ok("[3]"));
}

#[test]
fn host_tables_added_while_serving_reach_every_thread_of_start() {
    let app = Application::new([url("/thread", || ThreadName)]);
    let served = app.clone();
    let (tx, rx) = mpsc::channel();
    let thread = thread::spawn(move || {
        let ioloop = IOLoop::current();
        let server = HTTPServer::new(served);
        // One socket per thread (SO_REUSEPORT): the kernel spreads the
        // connections between the threads.
        let addr = server.bind(0, "127.0.0.1", 128, true).unwrap()[0];
        server.start(3).unwrap();
        tx.send((addr, ioloop.handle())).unwrap();
        ioloop.start().unwrap();
        server.stop();
        server.join_workers();
    });
    let (addr, handle) = rx.recv().unwrap();
    assert_eq!(get(addr, "/late", "late.example", "").0, 404);
    app.add_handlers(
        r"late\.example",
        [
            url("/late", || Reply("late")),
            url("/thread", || ThreadName),
        ],
    )
    .unwrap();
    let mut threads = HashSet::new();
    for _ in 0..60 {
        assert_eq!(get(addr, "/late", "late.example", ""), ok("late"));
        let (status, name) = get(addr, "/thread", "late.example", "");
        assert_eq!(status, 200);
        threads.insert(name);
    }
    assert!(threads.len() > 1, "served by one thread only: {threads:?}");
    handle.stop();
    thread.join().unwrap();
}

#[test]
fn default_host_tables_serve_unmatched_hosts_unless_proxied() {
    // DefaultHostMatchingTest, the tables added while the server runs.
    let settings = |host: &str| Settings {
        default_host: Some(host.to_owned()),
        ..Settings::default()
    };
    let add = |app: &Application| {
        app.add_handlers("www.example.com", [url("/foo", || Reply("[0]"))])
            .unwrap();
        app.add_handlers(r"www\.example\.com", [url("/bar", || Reply("[1]"))])
            .unwrap();
        app.add_handlers("www.test.com", [url("/baz", || Reply("[2]"))])
            .unwrap();
    };
    let app = Application::with_settings([], settings("www.example.com"));
    let server = app_server(app.clone());
    add(&app);
    let addr = server.addr;
    assert_eq!(get(addr, "/foo", "127.0.0.1", ""), ok("[0]"));
    assert_eq!(get(addr, "/bar", "127.0.0.1", ""), ok("[1]"));
    assert_eq!(get(addr, "/baz", "127.0.0.1", "").0, 404);
    let proxied = "X-Real-Ip: 127.0.0.1\r\n";
    assert_eq!(get(addr, "/foo", "127.0.0.1", proxied).0, 404);
    // The host's own tables still serve it.
    assert_eq!(get(addr, "/baz", "www.test.com", proxied), ok("[2]"));

    // Tornado's test then assigns `app.default_host`; a setting here.
    let app = Application::with_settings([], settings("www.test.com"));
    add(&app);
    let server = app_server(app);
    assert_eq!(get(server.addr, "/baz", "127.0.0.1", ""), ok("[2]"));
    assert_eq!(get(server.addr, "/foo", "127.0.0.1", "").0, 404);
}

#[test]
fn default_host_tables_come_after_the_main_routes() {
    // Tornado appends the DefaultHostMatches rules to the wildcard router,
    // after the routes given to Application().
    let settings = Settings {
        default_host: Some("example.com".to_owned()),
        ..Settings::default()
    };
    let app = Application::with_settings([url("/.*", || Reply("main"))], settings);
    app.add_handlers("example.com", [url("/x", || Reply("host"))])
        .unwrap();
    let server = app_server(app);
    assert_eq!(get(server.addr, "/x", "other.org", ""), ok("main"));
    assert_eq!(get(server.addr, "/x", "example.com", ""), ok("host"));
}

#[test]
fn a_failed_add_handlers_changes_nothing() {
    // Tornado refuses other patterns (the look-ahead is valid Python), but
    // as here, an add_handlers that raises adds nothing.
    let app = Application::new([
        url("/home", || Reply("home")).name("home"),
        url("/rev", || Reverse),
    ]);
    let server = app_server(app.clone());
    let err = app
        .add_handlers(
            r"admin\.example\.com",
            [
                url("/admin/home", || Reply("admin")).name("home"),
                url(r"/(?!x)", || Reply("never")),
            ],
        )
        .unwrap_err();
    assert_eq!(err.pattern, r"/(?!x)");
    assert_eq!(app.reverse_url("home", &[]).as_deref(), Ok("/home"));
    let addr = server.addr;
    assert_eq!(get(addr, "/rev?name=home", "x", ""), ok("/home"));
    assert_eq!(get(addr, "/admin/home", "admin.example.com", "").0, 404);
    // A bad host pattern is refused the same way.
    assert!(app
        .add_handlers(r"(?<=a)b", [url("/b", || Reply("b")).name("b")])
        .is_err());
    assert_eq!(
        get(addr, "/rev?name=b", "x", ""),
        ok("error: b not found in named urls")
    );
}

#[test]
fn reverse_url_searches_host_tables_in_order_then_the_main_routes() {
    let app = Application::new([
        url("/home", || Reply("home")).name("home"),
        url("/dup1", || Reply("dup")).name("dup"),
        url("/dup2", || Reply("dup")).name("dup"),
        url("/rev", || Reverse),
    ]);
    app.add_handlers(
        "a",
        [
            url("/a/home", || Reply("a")).name("home"),
            url("/a/x", || Reply("a")).name("x"),
        ],
    )
    .unwrap();
    app.add_handlers(
        "b",
        [
            url("/b/home", || Reply("b")).name("home"),
            url("/b/x", || Reply("b")).name("x"),
        ],
    )
    .unwrap();
    let server = app_server(app);
    // Tornado: /a/home /a/x /dup2.
    for (name, path) in [("home", "/a/home"), ("x", "/a/x"), ("dup", "/dup2")] {
        assert_eq!(
            get(server.addr, &format!("/rev?name={name}"), "x", ""),
            ok(path)
        );
    }
}

#[test]
fn reverse_url_errors_have_tornados_wording() {
    let app = Application::new([
        url("/home", || Reply("home")).name("home"),
        url(r"/u/(\d+)", || Reply("u")).name("u"),
        url(r"/r/\d+/(x)", || Reply("r")).name("r"),
        url("/rev", || Reverse),
    ]);
    assert_eq!(
        app.reverse_url("zzz", &[]),
        Err(ReverseError::NotFound("zzz".to_owned()))
    );
    let server = app_server(app);
    // Tornado: KeyError('zzz not found in named urls'), AssertionError(
    // 'required number of arguments not found') for both counts, and
    // ValueError('Cannot reverse url regex /r/\\d+/(x)$').
    for (query, expected) in [
        ("name=zzz", "zzz not found in named urls"),
        (
            "name=home&arg=1",
            "required number of arguments not found: 0 expected, 1 given",
        ),
        (
            "name=u",
            "required number of arguments not found: 1 expected, 0 given",
        ),
        ("name=r&arg=1", r"cannot reverse url regex ^(?:/r/\d+/(x))$"),
    ] {
        let (status, body) = get(server.addr, &format!("/rev?{query}"), "x", "");
        assert_eq!((status, body), ok(&format!("error: {expected}")), "{query}");
    }
}

#[test]
fn mixed_named_and_positional_groups_are_refused() {
    let pattern = r"/mixed/(?P<x>[a-z]+)/(\d+)";
    let err = Application::try_new([url(pattern, || Reply("mixed"))]).unwrap_err();
    assert_eq!(err.pattern, pattern);
    assert_eq!(
        err.to_string(),
        format!(
            "invalid route pattern {pattern:?}: groups in url regexes must either be all named or all positional"
        )
    );
    let app = Application::new([url("/", || Reply("root"))]);
    assert!(app
        .add_handlers(".*", [url(pattern, || Reply("mixed"))])
        .is_err());
    // All named, or all positional, with a non-capturing group: accepted.
    let app = Application::try_new([
        url(r"/n/(?P<x>[a-z]+)(?:/(?P<y>\d+))?", || Reply("named")),
        url(r"/p/([a-z]+)(?:/x)?", || Reply("positional")),
    ])
    .unwrap();
    let server = app_server(app);
    assert_eq!(get(server.addr, "/n/ab/12", "x", ""), ok("named"));
    assert_eq!(get(server.addr, "/p/ab/x", "x", ""), ok("positional"));
}

#[test]
fn a_pattern_ending_in_an_escaped_dollar_matches_the_dollar() {
    let app = Application::try_new([
        url(r"/cost\$", || Reply("cost")).name("cost"),
        url(r"/ab\\$", || Reply("backslash")),
        url("/rev", || Reverse),
    ])
    .unwrap();
    let server = app_server(app);
    let addr = server.addr;
    assert_eq!(get(addr, "/cost$", "x", ""), ok("cost"));
    assert_eq!(get(addr, "/cost", "x", "").0, 404);
    // Tornado appends no `$` to this pattern and serves `/cost$x` too;
    // here every pattern is anchored at its end.
    assert_eq!(get(addr, "/cost$x", "x", "").0, 404);
    assert_eq!(get(addr, "/ab%5C", "x", "").0, 404, "matched still escaped");
    assert_eq!(get(addr, "/ab\\", "x", ""), ok("backslash"));
    // Tornado's reverse gives `/cost\` (it strips the escaped `$`).
    assert_eq!(get(addr, "/rev?name=cost", "x", ""), ok("/cost$"));
}

#[test]
fn every_alternative_of_a_pattern_is_anchored() {
    // Tornado appends `$` to `/a|/b` only, so it serves `/ax` too.
    let app = Application::new([url("/a|/b", || Reply("ab"))]);
    let server = app_server(app);
    assert_eq!(get(server.addr, "/a", "x", ""), ok("ab"));
    assert_eq!(get(server.addr, "/b", "x", ""), ok("ab"));
    assert_eq!(get(server.addr, "/ax", "x", "").0, 404);
}
