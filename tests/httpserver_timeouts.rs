//! `header_timeout` (408 against slowloris), `idle_connection_timeout` and
//! `body_timeout`, with timeouts of a few hundred milliseconds.

use std::io::Write;
use std::time::{Duration, Instant};

use test_support::{
    app_server_with, echo_server, read_response, read_until_close, status_line, ServerThread,
};
use tornado::httpserver::HTTPServerSettings;
use tornado::web::{url, Application, Handler, RequestHandler};

const TIMEOUT: Duration = Duration::from_millis(300);

/// Exactly what a client stalled in its head receives before the close.
const REQUEST_TIMEOUT: &str =
    "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

fn server(settings: HTTPServerSettings) -> ServerThread {
    echo_server(settings)
}

/// Asserts `elapsed` is at least `TIMEOUT` (the server did not close early)
/// and well under the client's own 10 s read timeout.
fn assert_timed_out_after(elapsed: Duration, what: &str) {
    assert!(elapsed >= TIMEOUT, "{what} after only {elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{what} after {elapsed:?}");
}

#[test]
fn stalled_head_gets_408_and_close() {
    let server = server(HTTPServerSettings {
        header_timeout: Some(TIMEOUT),
        ..HTTPServerSettings::default()
    });
    let mut sock = server.connect();
    let start = Instant::now();
    sock.write_all(b"GET / HTTP/1.1\r\nHost").unwrap();
    let out = read_until_close(&mut sock);
    assert_timed_out_after(start.elapsed(), "408");
    assert_eq!(String::from_utf8_lossy(&out), REQUEST_TIMEOUT);
}

#[test]
fn slowloris_trickling_bytes_still_gets_408() {
    // Activity does not extend the head deadline: it runs from the first byte.
    let server = server(HTTPServerSettings {
        header_timeout: Some(TIMEOUT),
        ..HTTPServerSettings::default()
    });
    let mut sock = server.connect();
    sock.set_nodelay(true).unwrap();
    let start = Instant::now();
    let writer = {
        let mut sock = sock.try_clone().unwrap();
        std::thread::spawn(move || {
            // One header byte every 20 ms for up to 3 s; stops once refused.
            for _ in 0..150 {
                if sock.write_all(b"X").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    sock.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .unwrap();
    let out = read_until_close(&mut sock);
    assert_timed_out_after(start.elapsed(), "408");
    assert_eq!(String::from_utf8_lossy(&out), REQUEST_TIMEOUT);
    let _ = sock.shutdown(std::net::Shutdown::Both);
    writer.join().unwrap();
}

#[test]
fn a_head_completed_in_time_is_served() {
    let server = server(HTTPServerSettings {
        header_timeout: Some(TIMEOUT),
        ..HTTPServerSettings::default()
    });
    let mut sock = server.connect();
    sock.set_nodelay(true).unwrap();
    sock.write_all(b"GET /in-time HTTP/1.1\r\n").unwrap();
    std::thread::sleep(TIMEOUT / 3);
    sock.write_all(b"Host: x\r\n\r\n").unwrap();
    let response = read_response(&mut sock, false);
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"GET /in-time ");
}

#[test]
fn idle_keep_alive_connection_is_closed_silently() {
    let server = server(HTTPServerSettings {
        idle_connection_timeout: Some(TIMEOUT),
        ..HTTPServerSettings::default()
    });
    let mut sock = server.connect();
    // Timed from before the request: the server's idle clock starts when
    // it has answered, before this side has read the answer.
    let start = Instant::now();
    sock.write_all(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut sock, false).body, b"GET /1 ");
    let out = read_until_close(&mut sock);
    assert_timed_out_after(start.elapsed(), "idle close");
    assert_eq!(out, b"", "an idle connection is closed without a response");
}

#[test]
fn connection_that_never_sends_is_closed_silently() {
    let server = server(HTTPServerSettings {
        idle_connection_timeout: Some(TIMEOUT),
        ..HTTPServerSettings::default()
    });
    let mut sock = server.connect();
    let start = Instant::now();
    let out = read_until_close(&mut sock);
    assert_timed_out_after(start.elapsed(), "idle close");
    assert_eq!(out, b"");
}

#[test]
fn requests_keep_an_idle_timeout_connection_alive() {
    // Each request restarts the idle clock: four requests 100 ms apart span
    // longer than the 300 ms timeout on one connection.
    let server = server(HTTPServerSettings {
        idle_connection_timeout: Some(TIMEOUT),
        ..HTTPServerSettings::default()
    });
    let mut sock = server.connect();
    for i in 0..4 {
        write!(sock, "GET /{i} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!(
            read_response(&mut sock, false).body,
            format!("GET /{i} ").into_bytes()
        );
        std::thread::sleep(TIMEOUT / 3);
    }
}

/// Answers after blocking its thread for twice the timeout: bad practice,
/// but the idle clock must still start when the response is done.
struct Blocking;

impl RequestHandler for Blocking {
    async fn get(&mut self, cx: &mut Handler) -> tornado::web::Result {
        std::thread::sleep(TIMEOUT * 2);
        cx.write("done")
    }
}

#[test]
fn idle_timeout_starts_after_a_handler_that_blocked_its_loop() {
    let server = app_server_with(
        Application::new([url("/", || Blocking)]),
        HTTPServerSettings {
            idle_connection_timeout: Some(TIMEOUT),
            ..HTTPServerSettings::default()
        },
    );
    let mut sock = server.connect();
    for _ in 0..2 {
        sock.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        assert_eq!(read_response(&mut sock, false).body, b"done");
        // Well inside the timeout, counted from the response.
        std::thread::sleep(TIMEOUT / 3);
    }
}

#[test]
fn idle_timeout_after_a_slow_head_runs_from_the_response() {
    // One timer serves the connection's deadlines in turn: the head's, which
    // is earlier, must not cut the idle wait that follows short.
    let server = server(HTTPServerSettings {
        header_timeout: Some(TIMEOUT),
        idle_connection_timeout: Some(TIMEOUT * 2),
        ..HTTPServerSettings::default()
    });
    let mut sock = server.connect();
    sock.set_nodelay(true).unwrap();
    sock.write_all(b"GET /slow-head HTTP/1.1\r\n").unwrap();
    std::thread::sleep(TIMEOUT / 3);
    // Timed from before the head's end: the server's idle clock starts when
    // it has answered, before this side has read the answer.
    let start = Instant::now();
    sock.write_all(b"Host: x\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut sock, false).body, b"GET /slow-head ");
    let out = read_until_close(&mut sock);
    let elapsed = start.elapsed();
    assert!(elapsed >= TIMEOUT * 2, "idle close after only {elapsed:?}");
    assert!(
        elapsed < Duration::from_secs(3),
        "idle close after {elapsed:?}"
    );
    assert_eq!(out, b"", "an idle connection is closed without a response");
}

#[test]
fn stalled_body_gets_408_and_close() {
    let server = server(HTTPServerSettings {
        body_timeout: Some(TIMEOUT),
        ..HTTPServerSettings::default()
    });
    let mut sock = server.connect();
    let start = Instant::now();
    sock.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        .unwrap();
    let out = read_until_close(&mut sock);
    assert_timed_out_after(start.elapsed(), "408");
    assert_eq!(
        test_support::without_date(&out),
        REQUEST_TIMEOUT,
        "the same 408 as for a stalled head"
    );
}

#[test]
fn stalled_chunked_body_gets_408_and_close() {
    let server = server(HTTPServerSettings {
        body_timeout: Some(TIMEOUT),
        ..HTTPServerSettings::default()
    });
    let mut sock = server.connect();
    let start = Instant::now();
    sock.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
        .unwrap();
    let out = read_until_close(&mut sock);
    assert_timed_out_after(start.elapsed(), "408");
    assert_eq!(status_line(&out), "HTTP/1.1 408 Request Timeout");
}

#[test]
fn a_body_completed_in_time_is_served() {
    let server = server(HTTPServerSettings {
        body_timeout: Some(TIMEOUT),
        ..HTTPServerSettings::default()
    });
    let mut sock = server.connect();
    sock.set_nodelay(true).unwrap();
    sock.write_all(b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab")
        .unwrap();
    std::thread::sleep(TIMEOUT / 3);
    sock.write_all(b"cd").unwrap();
    let response = read_response(&mut sock, false);
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"POST /b abcd");
}
