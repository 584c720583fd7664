//! A first flush whose body the response's framing refuses (a body on a 204,
//! more bytes than the `Content-Length` set) fails before anything is sent,
//! whether the chunk is small (encoded with the head) or large (queued
//! without a copy), as Tornado's `HTTP1Connection.write_headers` raises
//! "Tried to write more data than Content-Length" before writing the head.
//! The client never sees a head that promises a body it does not get: the
//! handler's error is answered with a 500 page, since no byte of the
//! response is out (Tornado closes the stream instead), and the connection
//! serves on.

use test_support::{app_server, send_expect_close, split_head, status_line};
use tornado::web::{url, Application, Handler, RequestHandler, Result};

/// Writes `len` bytes under `status`, with `Content-Length` set to
/// `declared` if given, and flushes.
struct Refused {
    status: u16,
    declared: Option<usize>,
    len: usize,
}

impl RequestHandler for Refused {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.set_status(self.status);
        if let Some(declared) = self.declared {
            cx.set_header("Content-Length", declared)?;
        }
        cx.write(vec![b'x'; self.len])?;
        cx.flush().await
    }
}

fn app() -> Application {
    let route = |path: &str, status, declared, len| {
        url(path, move || Refused {
            status,
            declared,
            len,
        })
    };
    Application::new([
        route("/no-content/small", 204, None, 5),
        route("/no-content/large", 204, None, 20 * 1024),
        route("/short/small", 200, Some(1), 5),
        route("/short/large", 200, Some(1), 20 * 1024),
    ])
}

#[test]
fn a_refused_first_flush_is_a_500_page_with_nothing_of_the_body_sent() {
    let server = app_server(app());
    for path in [
        "/no-content/small",
        "/no-content/large",
        "/short/small",
        "/short/large",
    ] {
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: test\r\n\r\n\
             GET /missing HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
        );
        let response = send_expect_close(server.addr, request.as_bytes());
        let (head, rest) = split_head(&response);
        assert!(
            head.starts_with("HTTP/1.1 500 Internal Server Error\r\n"),
            "{path}: {head}"
        );
        assert!(
            head.contains("\r\nContent-Length: 93\r\n"),
            "{path}: {head}"
        );
        let (page, next) = rest.split_at(93.min(rest.len()));
        assert!(page.starts_with(b"<html><title>500: "), "{path}");
        assert_eq!(
            status_line(next),
            "HTTP/1.1 404 Not Found",
            "{path}: served on"
        );
    }
    // The server serves on.
    let response = send_expect_close(
        server.addr,
        b"GET /missing HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_line(&response), "HTTP/1.1 404 Not Found");
}
