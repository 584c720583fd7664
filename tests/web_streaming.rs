//! Streaming with `write` + `flush().await` over real sockets: bounded
//! memory for 1 GiB to a pausing reader (the `stream` example in a child
//! process, its RSS read from /proc), a client leaving mid-stream, chunked
//! vs Content-Length vs close-delimited framing, HEAD, pipelining, and the
//! ticker example stopping once its client has gone.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use test_support::{
    app_server, assert_rss_bounded, read_head, read_response, read_until_close, split_head,
    wait_until, ExampleProcess, ServerThread,
};
use tornado::gen::{sleep, with_timeout};
use tornado::ioloop::IOLoop;
use tornado::locks::Event;
use tornado::web::{url, Application, HTTPError, Handler, RequestHandler, Result};

const ALPHABET: &[u8; 26] = b"abcdefghijklmnopqrstuvwxyz";
const MIB: u64 = 1024 * 1024;

/// The stream example, its stderr going to `stderr`.
fn stream_example(stderr: Stdio) -> ExampleProcess {
    ExampleProcess::start("stream", &[], stderr)
}

fn connect(addr: SocketAddr) -> TcpStream {
    let sock = TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    sock
}

/// Reads `n` body bytes and checks them against the `/stream/bytes`
/// pattern, starting at pattern offset `offset`.
fn read_pattern(sock: &mut TcpStream, offset: u64, n: u64) {
    // A window of the pattern long enough for any read at any phase.
    let pattern: Vec<u8> = ALPHABET
        .iter()
        .copied()
        .cycle()
        .take(256 * 1024 + 26)
        .collect();
    let mut buf = vec![0u8; 256 * 1024];
    let mut at = offset;
    let end = offset + n;
    while at < end {
        let want = usize::try_from((end - at).min(buf.len() as u64)).unwrap();
        let got = sock.read(&mut buf[..want]).unwrap();
        assert!(got > 0, "EOF after {} of {n} bytes", at - offset);
        let phase = usize::try_from(at % 26).unwrap();
        assert!(
            buf[..got] == pattern[phase..phase + got],
            "wrong bytes at offset {at}"
        );
        at += got as u64;
    }
}

#[test]
fn one_gib_to_a_pausing_reader_keeps_the_server_rss_flat() {
    let server = stream_example(Stdio::null());
    // Warm up (first-use allocations, the Date cache ...) with a whole
    // streamed response, then take the baseline.
    let mut sock = connect(server.addr);
    sock.write_all(b"GET /stream/bytes?n=8388608&chunk=65536 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    read_head(&mut sock);
    read_pattern(&mut sock, 0, 8 * MIB);
    let baseline = server.status_kib("VmRSS");

    let n: u64 = 1024 * MIB;
    let started = Instant::now();
    sock.write_all(
        format!("GET /stream/bytes?n={n}&chunk=65536 HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
    )
    .unwrap();
    let head = read_head(&mut sock);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head:?}");
    assert!(
        head.contains(&format!("\r\nContent-Length: {n}\r\n")),
        "{head:?}"
    );
    read_pattern(&mut sock, 0, 4 * MIB);

    // Pause: the server must wait in flush() rather than buffer the rest.
    let mut paused_max = 0;
    let pause_end = Instant::now() + Duration::from_millis(1000);
    while Instant::now() < pause_end {
        paused_max = paused_max.max(server.status_kib("VmRSS"));
        thread::sleep(Duration::from_millis(50));
    }
    // While this stream is blocked, other clients are served.
    let t = Instant::now();
    let mut other = connect(server.addr);
    other
        .write_all(
            b"GET /stream/bytes?n=100&chunk=7 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
    assert_eq!(read_response(&mut other, false).body.len(), 100);
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "another client waited {:?}",
        t.elapsed()
    );

    // Read the rest at full speed while another client makes requests: the
    // streaming handler must not starve it.
    let addr = server.addr;
    let side = thread::spawn(move || {
        let mut worst = Duration::ZERO;
        for _ in 0..5 {
            let t = Instant::now();
            let mut sock = connect(addr);
            sock.write_all(
                b"GET /stream/bytes?n=1000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            )
            .unwrap();
            assert_eq!(read_response(&mut sock, false).body.len(), 1000);
            worst = worst.max(t.elapsed());
        }
        worst
    });
    read_pattern(&mut sock, 4 * MIB, n - 4 * MIB);
    let worst = side.join().unwrap();
    let hwm = server.status_kib("VmHWM");
    let last = server.status_kib("VmRSS");
    eprintln!(
        "1 GiB in {:?}; RSS baseline {baseline} KiB, paused max {paused_max} KiB, HWM {hwm} KiB, after {last} KiB; worst side request {worst:?}",
        started.elapsed()
    );
    assert!(
        worst < Duration::from_secs(2),
        "a side request took {worst:?}"
    );
    assert_rss_bounded(baseline, paused_max, hwm, 8 * 1024);
    // The connection is still usable.
    sock.write_all(b"GET /stream/bytes?n=3 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut sock, false).body, b"abc");
}

#[test]
fn ticker_stops_after_the_client_leaves() {
    let mut server = stream_example(Stdio::piped());
    let stderr = server.child.stderr.take().unwrap();
    let (lines_tx, lines) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut sock = connect(server.addr);
    sock.write_all(b"GET /stream/ticker HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let head = read_head(&mut sock);
    assert!(head.contains("Transfer-Encoding: chunked"), "{head:?}");
    let mut first = [0u8; 12];
    sock.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"7\r\ntick 0\n\r\n");
    let mut second = [0u8; 12];
    sock.read_exact(&mut second).unwrap();
    assert_eq!(&second, b"7\r\ntick 1\n\r\n");
    drop(sock);
    let deadline = Instant::now() + Duration::from_secs(8);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains("ticker client 127.0.0.1 left after") => break,
            Ok(line) => seen.push(line),
            Err(_) => panic!("the ticker did not report stopping; its log: {seen:?}"),
        }
    }
    // Still serving.
    let mut sock = connect(server.addr);
    sock.write_all(b"GET /stream/bytes?n=5 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut sock, false).body, b"abcde");
}

/// Streams 64 KiB chunks forever; records a failed flush,
/// `on_connection_close` and `on_finish`.
struct Endless {
    flush_failed: Arc<AtomicBool>,
    closed: Arc<AtomicBool>,
    finished: Arc<AtomicBool>,
}

impl RequestHandler for Endless {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        let chunk = vec![b'x'; 64 * 1024];
        loop {
            cx.write(&chunk)?;
            if let Err(err) = cx.flush().await {
                self.flush_failed.store(true, Ordering::SeqCst);
                return Err(err);
            }
        }
    }
    fn on_connection_close(&mut self, _cx: &mut Handler) {
        self.closed.store(true, Ordering::SeqCst);
    }
    /// Sets `finished` only if `on_connection_close` already ran: the
    /// order Tornado's hooks come in when the client leaves.
    fn on_finish(&mut self, _cx: &mut Handler) {
        let after_close = self.closed.load(Ordering::SeqCst);
        self.finished.store(after_close, Ordering::SeqCst);
    }
}

/// Writes `?pieces=a,bb,ccc` flushing after each but the last (`?flush=0`:
/// never flushing); `?empty=1` adds an empty flush after the first piece.
struct Pieces;
impl RequestHandler for Pieces {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        let pieces = cx.get_argument_or("pieces", "a,bb,ccc")?;
        let flush = cx.get_argument_or("flush", "1")? == "1";
        let empty = cx.get_argument_or("empty", "0")? == "1";
        let pieces: Vec<&str> = pieces.split(',').collect();
        for (i, piece) in pieces.iter().enumerate() {
            cx.write(*piece)?;
            if flush && i + 1 < pieces.len() {
                cx.flush().await?;
                if empty && i == 0 {
                    cx.flush().await?;
                }
            }
        }
        cx.finish()
    }
    async fn head(&mut self, cx: &mut Handler) -> Result {
        self.get(cx).await
    }
}

/// `/stream/bytes` re-implemented: `n` pattern bytes in `chunk` pieces,
/// flushing each, with no Content-Length (so chunked).
struct Bytes;
impl RequestHandler for Bytes {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        let n: usize = cx.get_argument("n")?.parse().unwrap();
        let chunk: usize = cx.get_argument_or("chunk", "4096")?.parse().unwrap();
        let mut sent = 0;
        while sent < n {
            let len = chunk.min(n - sent);
            let piece: Vec<u8> = (sent..sent + len).map(|i| ALPHABET[i % 26]).collect();
            cx.write(piece)?;
            cx.flush().await?;
            sent += len;
        }
        Ok(())
    }
}

/// Flushes "first", then waits for the test's go-ahead before "second".
struct Gated(Arc<AtomicBool>);
impl RequestHandler for Gated {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.write("first")?;
        cx.flush().await?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.0.load(Ordering::SeqCst) && Instant::now() < deadline {
            sleep(Duration::from_millis(5)).await;
        }
        cx.write("second")
    }
}

struct Flags {
    flush_failed: Arc<AtomicBool>,
    closed: Arc<AtomicBool>,
    finished: Arc<AtomicBool>,
    gate: Arc<AtomicBool>,
}

fn server() -> (ServerThread, Flags) {
    let flags = Flags {
        flush_failed: Arc::new(AtomicBool::new(false)),
        closed: Arc::new(AtomicBool::new(false)),
        finished: Arc::new(AtomicBool::new(false)),
        gate: Arc::new(AtomicBool::new(false)),
    };
    let (f, c, d, g) = (
        flags.flush_failed.clone(),
        flags.closed.clone(),
        flags.finished.clone(),
        flags.gate.clone(),
    );
    let app = Application::new([
        url("/endless", move || Endless {
            flush_failed: f.clone(),
            closed: c.clone(),
            finished: d.clone(),
        }),
        url("/pieces", || Pieces),
        url("/bytes", || Bytes),
        url("/gated", move || Gated(g.clone())),
    ]);
    (app_server(app), flags)
}

/// Starts `/endless`, reads 256 KiB of it and leaves (with unread data, so
/// the kernel resets the connection).
fn leave_mid_stream(server: &ServerThread) {
    let mut sock = server.connect();
    sock.write_all(b"GET /endless HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = vec![0u8; 256 * 1024];
    sock.read_exact(&mut buf).unwrap();
}

#[test]
fn client_leaving_mid_stream_makes_flush_fail() {
    let (server, flags) = server();
    leave_mid_stream(&server);
    assert!(
        wait_until(Duration::from_secs(5), || flags
            .flush_failed
            .load(Ordering::SeqCst)),
        "flush() kept succeeding after the client left"
    );
    // Every request ends with on_finish, as in Tornado (whose finish() runs
    // it even on a closed stream), after on_connection_close.
    assert!(
        wait_until(Duration::from_secs(5), || flags
            .finished
            .load(Ordering::SeqCst)),
        "on_finish did not run after on_connection_close"
    );
    // The server goes on serving.
    let mut sock = server.connect();
    sock.write_all(b"GET /pieces?flush=0 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut sock, false).body, b"abbccc");
}

#[test]
fn client_leaving_mid_stream_fires_on_connection_close() {
    let (server, flags) = server();
    leave_mid_stream(&server);
    assert!(
        wait_until(Duration::from_secs(5), || flags
            .flush_failed
            .load(Ordering::SeqCst)),
        "flush() kept succeeding after the client left"
    );
    assert!(
        wait_until(Duration::from_secs(5), || flags
            .closed
            .load(Ordering::SeqCst)),
        "on_connection_close did not fire"
    );
}

/// What a [`FailsAfterFlush`] saw of its hooks.
#[derive(Default)]
struct Hooks {
    closed: AtomicUsize,
    finished: AtomicUsize,
    /// `on_finish` ran after `on_connection_close`.
    finished_after_close: AtomicBool,
}

impl Hooks {
    /// For `on_connection_close`.
    fn record_close(&self) {
        self.closed.fetch_add(1, Ordering::SeqCst);
    }

    /// For `on_finish`.
    fn record_finish(&self) {
        let after_close = self.closed.load(Ordering::SeqCst) > 0;
        self.finished_after_close
            .store(after_close, Ordering::SeqCst);
        self.finished.fetch_add(1, Ordering::SeqCst);
    }

    /// Waits (up to 10 s) for the request to end, then asserts the hooks
    /// of a client that left: `on_connection_close` once, then `on_finish`.
    fn assert_closed_then_finished(&self) {
        assert!(
            wait_until(Duration::from_secs(10), || self
                .finished
                .load(Ordering::SeqCst)
                == 1),
            "on_finish did not run"
        );
        assert!(
            self.finished_after_close.load(Ordering::SeqCst),
            "on_finish ran before on_connection_close"
        );
        assert_eq!(self.closed.load(Ordering::SeqCst), 1);
    }
}

/// Flushes "first", then fails with a 503: at once, or (`wait_for_leave`)
/// once its client has gone (waiting up to 5 s). Records its hooks.
struct FailsAfterFlush {
    wait_for_leave: bool,
    hooks: Arc<Hooks>,
}

impl RequestHandler for FailsAfterFlush {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.write("first")?;
        cx.flush().await?;
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.wait_for_leave && !cx.connection_closed() && Instant::now() < deadline {
            sleep(Duration::from_millis(5)).await;
        }
        Err(HTTPError::new(503).into())
    }
    fn on_connection_close(&mut self, _cx: &mut Handler) {
        self.hooks.record_close();
    }
    fn on_finish(&mut self, _cx: &mut Handler) {
        self.hooks.record_finish();
    }
}

/// Serves `/fail` (fails at once after its flush) and `/fail-after-leave`.
fn failing_server() -> (ServerThread, Arc<Hooks>) {
    let hooks = Arc::new(Hooks::default());
    let (now, later) = (hooks.clone(), hooks.clone());
    let app = Application::new([
        url("/fail", move || FailsAfterFlush {
            wait_for_leave: false,
            hooks: now.clone(),
        }),
        url("/fail-after-leave", move || FailsAfterFlush {
            wait_for_leave: true,
            hooks: later.clone(),
        }),
    ]);
    (app_server(app), hooks)
}

#[test]
fn error_after_headers_cuts_the_body_and_runs_on_finish_not_on_connection_close() {
    // Tornado 6.6: send_error after the headers went out calls finish(),
    // so on_finish runs; the client did not leave, so no
    // on_connection_close. Here the body is cut instead of ended.
    let (server, hooks) = failing_server();
    let mut sock = server.connect();
    sock.write_all(b"GET /fail HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let raw = read_until_close(&mut sock);
    assert_eq!(split_head(&raw).1, b"5\r\nfirst\r\n");
    assert!(
        wait_until(Duration::from_secs(5), || hooks
            .finished
            .load(Ordering::SeqCst)
            == 1),
        "on_finish did not run"
    );
    assert_eq!(
        hooks.closed.load(Ordering::SeqCst),
        0,
        "on_connection_close ran"
    );
}

#[test]
fn an_error_after_the_client_left_still_runs_on_connection_close_then_on_finish() {
    // Tornado 6.6 (checked with a live app): a handler that fails once its
    // client has gone gets on_connection_close, then on_finish.
    let (server, hooks) = failing_server();
    let mut sock = server.connect();
    sock.write_all(b"GET /fail-after-leave HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let head = read_head(&mut sock);
    assert!(head.contains("Transfer-Encoding: chunked"), "{head:?}");
    let mut first = [0u8; 10];
    sock.read_exact(&mut first).unwrap();
    drop(sock);
    hooks.assert_closed_then_finished();
}

/// A long poll: waits `wait` for news that never comes, stopping as soon as
/// its client leaves; records whether the client's leaving ended the wait.
struct LongPoll {
    wait: Duration,
    left_early: Arc<AtomicBool>,
    hooks: Arc<Hooks>,
}

impl RequestHandler for LongPoll {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        let left = with_timeout(self.wait, cx.wait_for_close()).await.is_ok();
        self.left_early.store(left, Ordering::SeqCst);
        if left {
            return Ok(());
        }
        cx.write("no news")
    }
    fn on_connection_close(&mut self, _cx: &mut Handler) {
        self.hooks.record_close();
    }
    fn on_finish(&mut self, _cx: &mut Handler) {
        self.hooks.record_finish();
    }
}

/// Serves `/poll?wait=ms`.
fn long_poll_server() -> (ServerThread, Arc<AtomicBool>, Arc<Hooks>) {
    let left_early = Arc::new(AtomicBool::new(false));
    let hooks = Arc::new(Hooks::default());
    let (left, seen) = (left_early.clone(), hooks.clone());
    let app = Application::new([
        url("/poll/long", {
            let (left, seen) = (left.clone(), seen.clone());
            move || LongPoll {
                wait: Duration::from_secs(10),
                left_early: left.clone(),
                hooks: seen.clone(),
            }
        }),
        url("/poll/short", move || LongPoll {
            wait: Duration::from_millis(200),
            left_early: left.clone(),
            hooks: seen.clone(),
        }),
    ]);
    (app_server(app), left_early, hooks)
}

/// Starts a long poll, sends `extra` more bytes after its request, leaves,
/// and checks that the handler's wait ended at once.
fn assert_a_long_poll_ends_when_its_client_leaves(extra: usize) {
    let (server, left_early, hooks) = long_poll_server();
    let mut sock = server.connect();
    let mut request = b"GET /poll/long HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
    request.extend(std::iter::repeat_n(b'x', extra));
    sock.write_all(&request).unwrap();
    thread::sleep(Duration::from_millis(200));
    let left_at = Instant::now();
    drop(sock);
    assert!(
        wait_until(Duration::from_secs(5), || left_early.load(Ordering::SeqCst)),
        "the handler still waited after its client left ({extra} bytes sent after)"
    );
    assert!(left_at.elapsed() < Duration::from_secs(5));
    hooks.assert_closed_then_finished();
}

#[test]
fn wait_for_close_ends_a_long_poll_when_the_client_leaves() {
    // Tornado's chat demo cancels its wait in on_connection_close, called
    // mid-await; here the handler races its wait against wait_for_close.
    assert_a_long_poll_ends_when_its_client_leaves(0);
}

#[test]
fn wait_for_close_ends_a_long_poll_whose_client_sent_more_than_is_buffered() {
    // Past a bound (header limit + chunk size) the server stops reading a
    // busy connection's pipelined bytes; it must still see the client go.
    assert_a_long_poll_ends_when_its_client_leaves(200 * 1024);
}

/// Hands its wait for the client to a task of its own (a background job
/// that must stop when the client leaves) and waits up to 10 s for that
/// task to see the close.
struct Watched {
    watcher_saw_close: Arc<AtomicBool>,
}

impl RequestHandler for Watched {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        let left = cx.wait_for_close();
        let saw = self.watcher_saw_close.clone();
        let done = Event::new();
        let signal = done.clone();
        let _watcher = IOLoop::current().spawn(async move {
            left.await;
            saw.store(true, Ordering::SeqCst);
            signal.set();
        });
        let _ = with_timeout(Duration::from_secs(10), done.wait()).await;
        Ok(())
    }
}

#[test]
fn wait_for_close_wakes_a_task_other_than_the_handlers() {
    let saw = Arc::new(AtomicBool::new(false));
    let flag = saw.clone();
    let server = app_server(Application::new([url("/watched", move || Watched {
        watcher_saw_close: flag.clone(),
    })]));
    let mut sock = server.connect();
    sock.write_all(b"GET /watched HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    thread::sleep(Duration::from_millis(100));
    drop(sock);
    assert!(
        wait_until(Duration::from_secs(5), || saw.load(Ordering::SeqCst)),
        "the spawned task never saw the client leave"
    );
}

#[test]
fn wait_for_close_does_not_end_a_poll_whose_client_stays() {
    let (server, left_early, hooks) = long_poll_server();
    let mut sock = server.connect();
    sock.write_all(b"GET /poll/short HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut sock, false).body, b"no news");
    assert!(!left_early.load(Ordering::SeqCst));
    // The connection is still usable, and the next poll waits afresh.
    sock.write_all(b"GET /poll/short HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut sock, false).body, b"no news");
    assert_eq!(hooks.closed.load(Ordering::SeqCst), 0);
}

#[test]
fn flushed_response_is_chunked_one_chunk_per_flush() {
    let (server, _) = server();
    let raw = test_support::get_raw(server.addr, "/pieces", "");
    let (head, body) = split_head(&raw);
    assert!(
        head.contains("\r\nTransfer-Encoding: chunked\r\n"),
        "{head:?}"
    );
    assert!(!head.contains("Content-Length"), "{head:?}");
    assert_eq!(body, b"1\r\na\r\n2\r\nbb\r\n3\r\nccc\r\n0\r\n\r\n");
    // An empty flush sends nothing (an empty chunk would end the body).
    let raw = test_support::get_raw(server.addr, "/pieces?empty=1", "");
    assert_eq!(
        split_head(&raw).1,
        b"1\r\na\r\n2\r\nbb\r\n3\r\nccc\r\n0\r\n\r\n"
    );
}

#[test]
fn flush_sends_before_the_handler_goes_on() {
    let (server, flags) = server();
    let mut sock = server.connect();
    sock.write_all(b"GET /gated HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let head = read_head(&mut sock);
    assert!(head.contains("Transfer-Encoding: chunked"), "{head:?}");
    let mut first = [0u8; 10];
    sock.read_exact(&mut first).unwrap();
    assert_eq!(
        &first, b"5\r\nfirst\r\n",
        "the first chunk arrived while the handler waits"
    );
    flags.gate.store(true, Ordering::SeqCst);
    let mut rest = [0u8; 16];
    sock.read_exact(&mut rest).unwrap();
    assert_eq!(&rest, b"6\r\nsecond\r\n0\r\n\r\n");
}

#[test]
fn http10_flushed_response_is_close_delimited() {
    let (server, _) = server();
    let raw = test_support::send_expect_close(server.addr, b"GET /pieces HTTP/1.0\r\n\r\n");
    let (head, body) = split_head(&raw);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head:?}");
    assert!(
        !head.contains("Transfer-Encoding") && !head.contains("Content-Length"),
        "{head:?}"
    );
    assert_eq!(body, b"abbccc");
    // Even when the client asked for keep-alive: only the close ends it.
    let raw = test_support::send_expect_close(
        server.addr,
        b"GET /pieces HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    );
    let (head, body) = split_head(&raw);
    assert!(!head.contains("Keep-Alive"), "{head:?}");
    assert_eq!(body, b"abbccc");
}

#[test]
fn never_flushed_response_gets_content_length() {
    let (server, _) = server();
    let raw = test_support::get_raw(server.addr, "/pieces?flush=0", "");
    let (head, body) = split_head(&raw);
    assert!(head.contains("\r\nContent-Length: 6\r\n"), "{head:?}");
    assert!(!head.contains("Transfer-Encoding"), "{head:?}");
    assert_eq!(body, b"abbccc");
}

#[test]
fn head_gets_headers_only() {
    let (server, _) = server();
    let mut sock = server.connect();
    // Unflushed: the GET's Content-Length, no body.
    sock.write_all(b"HEAD /pieces?flush=0 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let head = read_head(&mut sock);
    assert!(head.contains("\r\nContent-Length: 6\r\n"), "{head:?}");
    // Flushed: neither chunked nor a body (as Tornado: no chunking for HEAD).
    sock.write_all(b"HEAD /pieces HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let head = read_head(&mut sock);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head:?}");
    assert!(!head.contains("Transfer-Encoding"), "{head:?}");
    // No stray body bytes: the next response follows at once.
    sock.write_all(b"GET /pieces?flush=0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let rest = read_until_close(&mut sock);
    let (head, body) = split_head(&rest);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head:?}");
    assert_eq!(body, b"abbccc");
}

#[test]
fn pipelined_requests_to_a_streaming_handler_come_back_whole_and_in_order() {
    let (server, _) = server();
    let mut sock = server.connect();
    let sizes = [100_000, 1, 70_001, 0, 12_345];
    let mut requests = String::new();
    for (i, n) in sizes.iter().enumerate() {
        requests.push_str(&format!(
            "GET /bytes?n={n}&chunk={} HTTP/1.1\r\nHost: x\r\n\r\n",
            1000 + i
        ));
        requests.push_str("GET /pieces HTTP/1.1\r\nHost: x\r\n\r\n");
    }
    sock.write_all(requests.as_bytes()).unwrap();
    for n in sizes {
        let response = read_response(&mut sock, false);
        assert_eq!(response.status, 200);
        assert_eq!(response.body.len(), n);
        assert!(response
            .body
            .iter()
            .enumerate()
            .all(|(i, b)| *b == ALPHABET[i % 26]));
        let response = read_response(&mut sock, false);
        assert_eq!(response.body, b"abbccc");
    }
}
