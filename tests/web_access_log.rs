//! The access log: one line per request in Tornado's format
//! (`200 GET /path (127.0.0.1) 1.23ms`) on the `tornado.access` target, at
//! info below 400, warn below 500 and error from 500; `log_function`
//! replaces it (a panicking one is logged, the response still sent); the
//! server's own lines use `tornado.general`. A
//! test logger installed for this binary captures records.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use log::{Level, LevelFilter, Log, Metadata, Record};
use test_support::{app_server, fetch, wait_until};
use tornado::web::{url, Application, HTTPError, Handler, RequestHandler, Result, Settings};

/// (level, target, message) of every record.
struct Capture(Mutex<Vec<(Level, String, String)>>);

impl Log for Capture {
    fn enabled(&self, _metadata: &Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &Record<'_>) {
        self.0.lock().unwrap().push((
            record.level(),
            record.target().to_owned(),
            record.args().to_string(),
        ));
    }
    fn flush(&self) {}
}

fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<&'static Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(Vec::new()))));
        log::set_logger(capture).unwrap();
        log::set_max_level(LevelFilter::Trace);
        capture
    })
}

/// The access records whose message mentions `path` (each test uses its
/// own paths, so tests running in parallel do not see each other's lines).
fn access_lines(path: &str) -> Vec<(Level, String)> {
    capture()
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, target, message)| target == "tornado.access" && message.contains(path))
        .map(|(level, _, message)| (*level, message.clone()))
        .collect()
}

struct Status(u16);
impl RequestHandler for Status {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        if self.0 >= 400 {
            return Err(HTTPError::new(self.0).into());
        }
        cx.set_status(self.0);
        cx.write("x")
    }
}

struct Panics;
impl RequestHandler for Panics {
    async fn get(&mut self, _cx: &mut Handler) -> Result {
        panic!("logged once");
    }
}

/// Splits `200 GET /path (127.0.0.1) 1.23ms` into (head, milliseconds).
fn parse_line(message: &str) -> (&str, f64) {
    let (head, time) = message.rsplit_once(' ').unwrap();
    let millis = time
        .strip_suffix("ms")
        .unwrap_or_else(|| panic!("{message:?}"));
    let (_, decimals) = millis
        .split_once('.')
        .unwrap_or_else(|| panic!("{message:?}"));
    assert_eq!(decimals.len(), 2, "two decimals: {message:?}");
    (head, millis.parse().unwrap())
}

#[test]
fn one_line_per_request_in_tornados_format_and_levels() {
    capture();
    let server = app_server(Application::new([
        url("/log/ok", || Status(200)),
        url("/log/redirect", || Status(302)),
        url("/log/bad", || Status(400)),
        url("/log/forbidden", || Status(403)),
        url("/log/boom", || Status(500)),
        url("/log/unavailable", || Status(503)),
    ]));
    let cases = [
        ("/log/ok?q=1", Level::Info, 200),
        ("/log/redirect", Level::Info, 302),
        ("/log/bad", Level::Warn, 400),
        ("/log/forbidden", Level::Warn, 403),
        ("/log/nowhere", Level::Warn, 404),
        ("/log/boom", Level::Error, 500),
        ("/log/unavailable", Level::Error, 503),
    ];
    for (target, _, status) in cases {
        let request = format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(fetch(server.addr, request.as_bytes(), false).status, status);
    }
    let response = fetch(
        server.addr,
        b"DELETE /log/ok HTTP/1.1\r\nHost: x\r\n\r\n",
        false,
    );
    assert_eq!(response.status, 405);
    for (target, level, status) in cases {
        let path = target.split('?').next().unwrap();
        let mut lines = Vec::new();
        // The line is written after the response; poll for it.
        wait_until(Duration::from_secs(5), || {
            lines = access_lines(&format!("GET {path}"));
            !lines.is_empty()
        });
        assert_eq!(lines.len(), 1, "{target}: {lines:?}");
        let (got_level, message) = &lines[0];
        assert_eq!(*got_level, level, "{message}");
        let (head, millis) = parse_line(message);
        // The URI with its query, as Tornado's _request_summary.
        assert_eq!(head, format!("{status} GET {target} (127.0.0.1)"));
        assert!((0.0..5000.0).contains(&millis), "{message}");
    }
    let lines = access_lines("DELETE /log/ok");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0].0, Level::Warn);
    assert!(
        lines[0].1.starts_with("405 DELETE /log/ok (127.0.0.1) "),
        "{lines:?}"
    );
}

#[test]
fn a_panic_is_logged_once_and_answered_500() {
    capture();
    let server = app_server(Application::new([url("/panic/once", || Panics)]));
    let response = fetch(
        server.addr,
        b"GET /panic/once HTTP/1.1\r\nHost: x\r\n\r\n",
        false,
    );
    assert_eq!(response.status, 500);
    assert!(wait_until(Duration::from_secs(5), || !access_lines(
        "/panic/once"
    )
    .is_empty()));
    let errors: Vec<_> = capture()
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|(level, target, message)| {
            *level == Level::Error && target != "tornado.access" && message.contains("/panic/once")
        })
        .map(|(_, _, message)| message.clone())
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("logged once"), "{errors:?}");
    assert_eq!(access_lines("/panic/once")[0].0, Level::Error);
}

#[test]
fn log_function_replaces_the_access_line() {
    capture();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let settings = Settings {
        log_function: Some(Arc::new(move |cx: &Handler| {
            record
                .lock()
                .unwrap()
                .push(format!("{} {}", cx.get_status(), cx.request_summary()));
        })),
        ..Settings::default()
    };
    let server = app_server(Application::with_settings(
        [url("/custom/log", || Status(201))],
        settings,
    ));
    for target in ["/custom/log", "/custom/missing"] {
        let request = format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n");
        fetch(server.addr, request.as_bytes(), false);
    }
    assert!(wait_until(Duration::from_secs(5), || seen
        .lock()
        .unwrap()
        .len()
        == 2));
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "201 GET /custom/log (127.0.0.1)",
            "404 GET /custom/missing (127.0.0.1)"
        ]
    );
    assert!(
        access_lines("/custom/").is_empty(),
        "no default line as well"
    );
}

#[test]
fn a_panicking_log_function_is_logged_and_the_response_still_goes_out() {
    capture();
    let settings = Settings {
        log_function: Some(Arc::new(|cx: &Handler| {
            panic!("log_function panics for {}", cx.request.path);
        })),
        ..Settings::default()
    };
    let server = app_server(Application::with_settings(
        [url("/log/panics", || Status(201))],
        settings,
    ));
    // Twice on one connection: the first answer arrives and the connection
    // still serves.
    let request = b"GET /log/panics HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut sock = std::net::TcpStream::connect(server.addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    for _ in 0..2 {
        std::io::Write::write_all(&mut sock, request).unwrap();
        assert_eq!(test_support::read_response(&mut sock, false).status, 201);
    }
    assert!(wait_until(Duration::from_secs(5), || capture()
        .0
        .lock()
        .unwrap()
        .iter()
        .any(|(level, _, message)| *level == Level::Error
            && message.contains("Uncaught exception in log_function")
            && message.contains("log_function panics for /log/panics"))));
}

#[test]
fn the_servers_own_lines_use_tornados_logger_names() {
    // A malformed request is logged on `tornado.general`, as Tornado's
    // gen_log does, so a filter by Tornado's names sees it.
    let server = app_server(Application::new([url("/ok", || Status(200))]));
    let _ = test_support::send_expect_close(
        server.addr,
        b"GET /x HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n",
    );
    let logged = wait_until(Duration::from_secs(5), || {
        capture()
            .0
            .lock()
            .unwrap()
            .iter()
            .any(|(_, target, message)| {
                target == "tornado.general" && message.starts_with("Malformed HTTP message")
            })
    });
    assert!(logged);
}
