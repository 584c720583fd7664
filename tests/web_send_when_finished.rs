//! A finished response leaves when the handler waits, not when it returns:
//! the answer to an earlier pipelined request does not sit behind a later
//! handler's long wait, and `finish()` followed by more work sends the
//! response before that work ends, as Tornado's `finish` sends it.
//!
//! Each waiting handler is released by the test only after the response it
//! would hold back has arrived, so without the behaviour the test fails at
//! its read timeout instead of passing late. Last, a close callback set on
//! the connection's stream leaves the connection its request bytes.

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use test_support::{app_server, read_response, ServerThread};
use tornado::gen::sleep;
use tornado::web::{url, Application, Handler, RequestHandler, Result};

/// Resolves once the test sets `released`.
async fn wait_for(released: &AtomicBool) {
    while !released.load(Ordering::SeqCst) {
        sleep(Duration::from_millis(5)).await;
    }
}

struct Fast;
impl RequestHandler for Fast {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.write("fast")
    }
}

/// Answers only once released.
struct Slow(Arc<AtomicBool>);
impl RequestHandler for Slow {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        wait_for(&self.0).await;
        cx.write("slow")
    }
}

/// Finishes, then works on until released.
struct FinishThenWork(Arc<AtomicBool>);
impl RequestHandler for FinishThenWork {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.write("accepted")?;
        cx.finish()?;
        wait_for(&self.0).await;
        Ok(())
    }
}

fn app(released: &Arc<AtomicBool>) -> Application {
    let (slow, later) = (released.clone(), released.clone());
    Application::new([
        url("/fast", || Fast),
        url("/slow", move || Slow(slow.clone())),
        url("/finish-then-work", move || FinishThenWork(later.clone())),
    ])
}

fn connect(addr: std::net::SocketAddr) -> TcpStream {
    let sock = TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    sock
}

/// A server and a client that has sent `GET /fast` and `GET /slow` in one
/// write; `/slow` answers once the flag is set.
fn fast_then_slow() -> (Arc<AtomicBool>, ServerThread, TcpStream) {
    let released = Arc::new(AtomicBool::new(false));
    let server = app_server(app(&released));
    let mut sock = connect(server.addr);
    sock.write_all(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    (released, server, sock)
}

#[test]
fn a_pipelined_response_does_not_wait_for_the_next_handler() {
    let (released, _server, mut sock) = fast_then_slow();
    let first = read_response(&mut sock, false);
    assert_eq!((first.status, &first.body[..]), (200, &b"fast"[..]));
    released.store(true, Ordering::SeqCst);
    let second = read_response(&mut sock, false);
    assert_eq!((second.status, &second.body[..]), (200, &b"slow"[..]));
}

#[test]
fn a_pipelined_response_is_sent_before_the_client_half_closes() {
    // The client sends both requests and shuts its side: the first answer
    // is still delivered (the close is noticed while /slow waits).
    let (released, _server, mut sock) = fast_then_slow();
    sock.shutdown(std::net::Shutdown::Write).unwrap();
    let first = read_response(&mut sock, false);
    released.store(true, Ordering::SeqCst);
    assert_eq!((first.status, &first.body[..]), (200, &b"fast"[..]));
}

#[test]
fn finish_sends_the_response_before_the_handler_returns() {
    let released = Arc::new(AtomicBool::new(false));
    let server = app_server(app(&released));
    let mut sock = connect(server.addr);
    sock.write_all(b"GET /finish-then-work HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let response = read_response(&mut sock, false);
    released.store(true, Ordering::SeqCst);
    assert_eq!(
        (response.status, &response.body[..]),
        (200, &b"accepted"[..])
    );
    // The connection serves the next request once the handler is done.
    sock.write_all(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut sock, false).body, b"fast");
}

/// Sets a close callback on its connection's stream, as Tornado code does
/// with `self.request.connection.stream.set_close_callback(...)`.
struct WatchesStream;
impl RequestHandler for WatchesStream {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        if let Some(connection) = cx.connection() {
            connection.stream().set_close_callback(|| {});
        }
        cx.write("watching")
    }
}

#[test]
fn a_close_callback_on_the_connections_stream_takes_no_request_bytes() {
    // The HTTP connection reads its socket itself; a close callback set on
    // its stream must not start a reader that takes the next request.
    let server = app_server(Application::new([
        url("/watch", || WatchesStream),
        url("/fast", || Fast),
    ]));
    let mut sock = connect(server.addr);
    sock.write_all(b"GET /watch HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut sock, false).body, b"watching");
    std::thread::sleep(Duration::from_millis(50));
    sock.write_all(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut sock, false).body, b"fast");
}
