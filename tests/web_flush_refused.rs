//! A first flush whose body the response's framing refuses (a body on a 204,
//! more bytes than the `Content-Length` set) fails and closes the
//! connection before anything is sent, whether the chunk is small (encoded
//! with the head) or large (queued without a copy): as Tornado's
//! `HTTP1Connection.write_headers`, which raises "Tried to write more data
//! than Content-Length" and closes the stream before writing the head. The
//! client never sees a head that promises a body it does not get.

use test_support::{app_server, send_expect_close, status_line};
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
fn a_refused_first_flush_closes_the_connection_with_nothing_sent() {
    let server = app_server(app());
    for path in [
        "/no-content/small",
        "/no-content/large",
        "/short/small",
        "/short/large",
    ] {
        let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n");
        let response = send_expect_close(server.addr, request.as_bytes());
        assert_eq!(
            String::from_utf8_lossy(&response),
            "",
            "{path}: nothing before the close"
        );
    }
    // The server serves on.
    let response = send_expect_close(
        server.addr,
        b"GET /missing HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_line(&response), "HTTP/1.1 404 Not Found");
}
