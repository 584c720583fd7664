//! Helpers shared by the integration tests in `tests/`.
#![deny(missing_docs)]

mod example_process;
mod tornado_app;

pub use example_process::{assert_rss_bounded, ExampleProcess};
pub use tornado_app::{normalize, python_tornado_or_skip, TornadoApp};

use std::time::{Duration, Instant};

/// Polls `condition` every millisecond until it holds or `timeout` passes;
/// returns whether it held. For waiting on another thread without fixed sleeps.
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    condition()
}

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::thread;

use tornado::httpserver::{HTTPServer, HTTPServerSettings};
use tornado::httputil::{HTTPHeaders, HTTPServerConnectionDelegate, HTTPServerRequest};
use tornado::ioloop::{IOLoop, IOLoopHandle};

/// A server running on its own thread and IOLoop; stopped and joined on drop.
pub struct ServerThread {
    /// Where it listens (127.0.0.1, an ephemeral port).
    pub addr: SocketAddr,
    handle: IOLoopHandle,
    thread: Option<thread::JoinHandle<()>>,
}

impl ServerThread {
    /// Starts `make()`'s server on a new thread, listening on 127.0.0.1:0.
    pub fn start<D, F>(make: F) -> ServerThread
    where
        D: HTTPServerConnectionDelegate + 'static,
        F: FnOnce() -> HTTPServer<D> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel();
        let thread = thread::spawn(move || {
            let ioloop = IOLoop::current();
            let server = make();
            let addr = server.listen(0, "127.0.0.1").unwrap()[0];
            tx.send((addr, ioloop.handle())).unwrap();
            ioloop.start().unwrap();
            server.stop();
        });
        let (addr, handle) = rx.recv().unwrap();
        ServerThread {
            addr,
            handle,
            thread: Some(thread),
        }
    }

    /// Connects a blocking client socket with a 10 s read timeout.
    pub fn connect(&self) -> TcpStream {
        let sock = TcpStream::connect(self.addr).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        sock
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        self.handle.stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Answers every request with `METHOD PATH BODY` as text (a `Content-Length` response).
pub async fn echo_request(request: HTTPServerRequest) {
    let Some(conn) = request.connection.clone() else {
        return;
    };
    let mut body = format!("{} {} ", request.method, request.path).into_bytes();
    body.extend_from_slice(&request.body);
    let mut headers = HTTPHeaders::new();
    headers.set("Content-Type", "text/plain");
    headers.set("Content-Length", body.len().to_string());
    conn.write_headers(200, "", &headers, Some(&body)).unwrap();
    conn.finish().unwrap();
}

/// An HTTP server answering with [`echo_request`], with `settings`.
pub fn echo_server(settings: HTTPServerSettings) -> ServerThread {
    ServerThread::start(move || HTTPServer::with_settings(echo_request, settings))
}

/// Writes `request` and reads until the server closes (or 10 s pass).
pub fn exchange(sock: &mut TcpStream, request: &[u8]) -> Vec<u8> {
    sock.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = sock.read_to_end(&mut out);
    out
}

/// One parsed response: status, headers (lower-cased names) and body.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header fields, names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one response head (through its blank line) byte by byte, so
/// nothing after it is consumed; returns it as text.
pub fn read_head(sock: &mut TcpStream) -> String {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        assert_eq!(
            sock.read(&mut byte).unwrap(),
            1,
            "EOF inside a head: {:?}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Reads exactly one response from `sock` (Content-Length, chunked, or until
/// close), written independently of the server's codec so the two cannot
/// share a bug. `head_request`: the response has no body.
pub fn read_response(sock: &mut TcpStream, head_request: bool) -> Response {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let mut byte = [0u8; 1];
        assert_eq!(
            sock.read(&mut byte).unwrap(),
            1,
            "EOF inside a response head: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.push(byte[0]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.to_ascii_lowercase(), v.trim().to_owned())
        })
        .collect();
    let mut response = Response {
        status,
        headers,
        body: Vec::new(),
    };
    if head_request || status == 204 || status == 304 || (100..200).contains(&status) {
        return response;
    }
    if let Some(len) = response.header("content-length") {
        let mut body = vec![0; len.parse().unwrap()];
        sock.read_exact(&mut body).unwrap();
        response.body = body;
    } else if response.header("transfer-encoding") == Some("chunked") {
        loop {
            let line = read_line(sock);
            let size = usize::from_str_radix(line.trim(), 16).unwrap();
            let mut chunk = vec![0; size];
            sock.read_exact(&mut chunk).unwrap();
            response.body.extend_from_slice(&chunk);
            assert_eq!(read_line(sock), "");
            if size == 0 {
                break;
            }
        }
    } else {
        sock.read_to_end(&mut response.body).unwrap();
    }
    response
}

fn read_line(sock: &mut TcpStream) -> String {
    let mut line = Vec::new();
    loop {
        let mut byte = [0u8; 1];
        assert_eq!(
            sock.read(&mut byte).unwrap(),
            1,
            "EOF inside a chunked body"
        );
        if byte[0] == b'\n' {
            break;
        }
        line.push(byte[0]);
    }
    assert_eq!(line.pop(), Some(b'\r'));
    String::from_utf8(line).unwrap()
}

/// True if the server has closed `sock` (a read returns EOF or a reset).
pub fn is_closed(sock: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(sock.read(&mut byte), Ok(0) | Err(_))
}

/// Connects to `addr`, writes `request` (ignoring a write the server refuses
/// because it already closed) and reads until the server closes the
/// connection. Panics if it is still open after 5 s: every caller expects a
/// close. Returns everything received.
pub fn send_expect_close(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut sock = TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = sock.write_all(request);
    read_until_close(&mut sock)
}

/// Reads from `sock` until EOF or a reset; panics if the read times out (the
/// server kept the connection open). Returns what was read.
pub fn read_until_close(sock: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match sock.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                panic!(
                    "the server did not close the connection; received so far: {:?}",
                    String::from_utf8_lossy(&out)
                )
            }
            Err(_) => return out, // reset: closed too
        }
    }
}

/// The first line of `response`, without its CRLF.
pub fn status_line(response: &[u8]) -> String {
    let end = response
        .windows(2)
        .position(|w| w == b"\r\n")
        .unwrap_or(response.len());
    String::from_utf8_lossy(&response[..end]).into_owned()
}

/// The response bytes as text with the `Date` line (which changes every
/// second) removed, for comparing whole error responses.
pub fn without_date(out: &[u8]) -> String {
    let text = String::from_utf8_lossy(out);
    let mut lines: Vec<&str> = text.split("\r\n").collect();
    lines.retain(|line| !line.starts_with("Date: "));
    lines.join("\r\n")
}

/// Serves a web `Application` on a new thread (127.0.0.1, an ephemeral port),
/// with `HTTPServer::new(app)`.
pub fn app_server(app: tornado::web::Application) -> ServerThread {
    ServerThread::start(move || HTTPServer::new(app))
}

/// [`app_server`] with HTTP server `settings` (body limits, keep-alive ...).
pub fn app_server_with(
    app: tornado::web::Application,
    settings: HTTPServerSettings,
) -> ServerThread {
    ServerThread::start(move || HTTPServer::with_settings(app, settings))
}

/// Sends `request` on a fresh connection and parses one response
/// (`head_request`: the response has no body).
pub fn fetch(addr: SocketAddr, request: &[u8], head_request: bool) -> Response {
    let mut sock = TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    sock.write_all(request).unwrap();
    read_response(&mut sock, head_request)
}

/// `GET path` over HTTP/1.1 with `Connection: close` plus `extra` header
/// lines (each ending in CRLF); returns every byte until the server closes.
pub fn get_raw(addr: SocketAddr, path: &str, extra: &str) -> Vec<u8> {
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{extra}Connection: close\r\n\r\n");
    send_expect_close(addr, request.as_bytes())
}

/// Splits raw response bytes at the end of the head: (head text, body bytes).
pub fn split_head(raw: &[u8]) -> (String, Vec<u8>) {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(raw.len(), |at| at + 4);
    (
        String::from_utf8_lossy(&raw[..end]).into_owned(),
        raw[end..].to_vec(),
    )
}

/// The path of example binary `name`, built (debug profile) on first use
/// with `cargo build --example name`, as `tests/tcpecho.rs` does.
pub fn example_binary(name: &str) -> std::path::PathBuf {
    use std::collections::HashSet;
    use std::path::Path;
    use std::sync::{Mutex, OnceLock};
    static BUILT: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if !built.contains(name) {
        let output = std::process::Command::new(env!("CARGO"))
            .current_dir(root)
            .args(["build", "--example", name])
            .output()
            .expect("cannot run cargo");
        assert!(
            output.status.success(),
            "building example {name} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        built.insert(name.to_owned());
    }
    // A relative CARGO_TARGET_DIR is relative to where cargo ran: the root.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), |dir| root.join(dir));
    target
        .join("debug")
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// Runs `python3 -c script` (an independent client: `http.client`,
/// `urllib`) and returns what it printed; fails the test, with Python's
/// stderr, if the script fails.
pub fn python_stdout(script: &str) -> String {
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A free TCP port on 127.0.0.1 (bound, then released) for a child process.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits (polling, up to 20 s) until something accepts connections on
/// 127.0.0.1:`port`; panics if nothing does.
pub fn wait_for_port(port: u16) -> SocketAddr {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    assert!(
        wait_until(Duration::from_secs(20), || TcpStream::connect(addr).is_ok()),
        "nothing listens on {addr}"
    );
    addr
}

/// The guide's chapters that need this package's dev-only crates (tokio's
/// I/O traits and signals, reqwest), so their snippets are doctests here
/// rather than of the framework (see `tornado::docs` for the others).
pub mod guide {
    #[doc = include_str!("../../docs/guide/ioloop-tokio.md")]
    pub mod ioloop_tokio {}

    #[doc = include_str!("../../docs/guide/running.md")]
    pub mod running {}
}

/// Helpers for tests that drive futures on this thread's IOLoop by hand.
pub mod futures {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    use std::time::Duration;

    use tornado::ioloop::{IOLoop, Task};

    /// Runs `future` on this thread's loop, failing the test after 10 s.
    pub fn run<F>(future: F) -> F::Output
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        IOLoop::current()
            .run_sync_with_timeout(future, Duration::from_secs(10))
            .expect("the test future did not complete")
    }

    /// Spawns `future` on this thread's loop.
    pub fn spawn<F>(future: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        IOLoop::current().spawn(future)
    }

    /// `n` milliseconds.
    pub fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    struct NoopWake;

    impl Wake for NoopWake {
        fn wake(self: Arc<Self>) {}
    }

    /// Polls `future` once, as Tornado's tests check `future.done()`.
    pub fn poll_once<F: Future + ?Sized>(future: Pin<&mut F>) -> Poll<F::Output> {
        let waker = Waker::from(Arc::new(NoopWake));
        future.poll(&mut Context::from_waker(&waker))
    }

    /// True if one poll completes `future`.
    pub fn is_ready<F: Future + ?Sized>(future: Pin<&mut F>) -> bool {
        poll_once(future).is_ready()
    }
}
