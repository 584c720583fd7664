//! The request path of a `web::Application` allocates nothing in the steady
//! state (issue 6): a counting global allocator counts every allocation made
//! on the server's IOLoop thread while a client sends keep-alive requests,
//! one at a time and pipelined, to handlers written as the benchmark's are.
//!
//! It also counts the bytes the server thread holds per idle keep-alive
//! connection (the 2 KiB target), the allocations made while
//! whole responses are streamed chunk by chunk (`write_bytes` or `write`,
//! each chunk flushed): the byte path, and the bytes an HTTP client still
//! holds for small chunks its `streaming_callback` kept (their own size,
//! not the 64 KiB receive buffer each was read into).
//!
//! `ALLOC_TRACE=40 cargo test --test web_allocations -- --nocapture` prints a
//! backtrace for each of the first 40 allocations counted, to find where they
//! come from.

use std::alloc::{GlobalAlloc, Layout, System};
use std::backtrace::Backtrace;
use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use serde::Serialize;
use test_support::app_server;
use tornado::httpclient::{AsyncHTTPClient, HTTPRequest};
use tornado::testing::run_async_test;
use tornado::web::{url, Application, Bytes, Handler, RequestHandler, Result};

/// Counts allocations made on threads that opted in, while `MEASURING`.
struct CountingAllocator;

static MEASURING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
/// Bytes allocated minus bytes freed on the counted thread while measuring.
static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    /// Set on the server's IOLoop thread.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
    /// Set while a backtrace is captured (which allocates itself).
    static TRACING: Cell<bool> = const { Cell::new(false) };
}

/// True for what the allocator should count: the server thread, while measuring.
fn measured() -> bool {
    MEASURING.load(Ordering::Relaxed) && COUNTED.with(Cell::get)
}

/// Adds `delta` bytes to [`LIVE_BYTES`] when measured.
fn live(delta: isize) {
    if measured() {
        LIVE_BYTES.fetch_add(delta, Ordering::Relaxed);
    }
}

impl CountingAllocator {
    fn count(&self) {
        if !measured() {
            return;
        }
        if TRACING.with(Cell::get) {
            return;
        }
        let seen = ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        if seen < trace_limit() {
            TRACING.with(|t| t.set(true));
            eprintln!("allocation:\n{}", Backtrace::force_capture());
            TRACING.with(|t| t.set(false));
        }
    }
}

/// `ALLOC_TRACE=N`: print a backtrace for each of the first N allocations.
fn trace_limit() -> usize {
    TRACING.with(|t| t.set(true));
    let limit = std::env::var("ALLOC_TRACE")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    TRACING.with(|t| t.set(false));
    limit
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counting around it touches only atomics and const-initialized thread locals.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.count();
        live(layout.size() as isize);
        // SAFETY: the caller's contract is passed on as it is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        live(-(layout.size() as isize));
        // SAFETY: the caller's contract is passed on as it is.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.count();
        live(layout.size() as isize);
        // SAFETY: the caller's contract is passed on as it is.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.count();
        live(new_size as isize - layout.size() as isize);
        // SAFETY: the caller's contract is passed on as it is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// `GET /plaintext`, as in `examples/bench_server.rs`.
struct Plaintext;

impl RequestHandler for Plaintext {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.set_header("Content-Type", "text/plain")?;
        cx.write("Hello, World!")
    }
}

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

/// `GET /json`, as in `examples/bench_server.rs`.
struct Json;

impl RequestHandler for Json {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.write_json(&Message {
            message: "Hello, World!",
        })
    }
}

/// The bytes `/stream` sends, `STREAM_CHUNK` at a time.
static PATTERN: [u8; STREAM_CHUNK] = {
    let mut pattern = [0; STREAM_CHUNK];
    let mut i = 0;
    while i < STREAM_CHUNK {
        pattern[i] = b'a' + (i % 26) as u8;
        i += 1;
    }
    pattern
};
const STREAM_CHUNK: usize = 64 * 1024;
const STREAM_CHUNKS: usize = 64;

/// `GET /stream` and `/stream/copy`: `STREAM_CHUNKS` chunks, each flushed,
/// sent with `write_bytes` (as in `examples/bench_server.rs`) or copied by
/// `write`. (Paths, not a query: parsing a query string allocates.)
struct Stream {
    copy: bool,
}

impl RequestHandler for Stream {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        let copy = self.copy;
        cx.set_header("Content-Type", "application/octet-stream")?;
        for _ in 0..STREAM_CHUNKS {
            if copy {
                cx.write(PATTERN)?;
            } else {
                cx.write_bytes(Bytes::from_static(&PATTERN))?;
            }
            cx.flush().await?;
        }
        Ok(())
    }
}

fn server() -> test_support::ServerThread {
    app_server(Application::new([
        url("/stream", || {
            COUNTED.with(|c| c.set(true));
            Stream { copy: false }
        }),
        url("/stream/copy", || {
            COUNTED.with(|c| c.set(true));
            Stream { copy: true }
        }),
        url("/plaintext", || {
            COUNTED.with(|c| c.set(true));
            Plaintext
        }),
        url("/json", || {
            COUNTED.with(|c| c.set(true));
            Json
        }),
    ]))
}

/// Sends `count` copies of `request` in one write, then reads `count` whole
/// responses (each framed by its Content-Length) and checks their status.
fn exchange(sock: &mut TcpStream, request: &[u8], count: usize, buf: &mut Vec<u8>) {
    let batch = request.repeat(count);
    sock.write_all(&batch).unwrap();
    let mut seen = 0;
    buf.clear();
    let mut start = 0;
    while seen < count {
        let mut chunk = [0u8; 16 * 1024];
        let n = sock.read(&mut chunk).unwrap();
        assert!(n > 0, "server closed after {seen} responses");
        buf.extend_from_slice(&chunk[..n]);
        while let Some(end) = whole_response(&buf[start..]) {
            assert!(buf[start..].starts_with(b"HTTP/1.1 200 OK\r\n"));
            start += end;
            seen += 1;
        }
    }
    assert_eq!(start, buf.len(), "more bytes than {count} responses");
}

/// The length of the first response in `data`, if it is all there.
fn whole_response(data: &[u8]) -> Option<usize> {
    let head_end = data.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&data[..head_end]).unwrap();
    let length: usize = head
        .split("\r\n")
        .find_map(|line| line.strip_prefix("Content-Length: "))
        .expect("a Content-Length")
        .parse()
        .unwrap();
    (data.len() >= head_end + length).then_some(head_end + length)
}

/// Runs `rounds` batches of `depth` requests for each path, after the same
/// as a warm-up, and returns the allocations counted on the server thread.
fn allocations_for(depth: usize, rounds: usize) -> usize {
    let server = server();
    let mut sock = server.connect();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = Vec::new();
    let requests: [&[u8]; 2] = [
        b"GET /plaintext HTTP/1.1\r\nHost: localhost\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n",
        b"GET /json HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n",
    ];
    for request in requests {
        for _ in 0..rounds {
            exchange(&mut sock, request, depth, &mut buf);
        }
    }
    ALLOCATIONS.store(0, Ordering::SeqCst);
    MEASURING.store(true, Ordering::SeqCst);
    for request in requests {
        for _ in 0..rounds {
            exchange(&mut sock, request, depth, &mut buf);
        }
    }
    MEASURING.store(false, Ordering::SeqCst);
    ALLOCATIONS.load(Ordering::SeqCst)
}

/// Reads one chunked `/stream` response to its end.
fn read_stream(sock: &mut TcpStream, request: &[u8]) {
    sock.write_all(request).unwrap();
    let mut tail = Vec::new();
    let mut total = 0usize;
    let mut chunk = vec![0u8; 256 * 1024];
    while !tail.ends_with(b"\r\n0\r\n\r\n") {
        let n = sock.read(&mut chunk).unwrap();
        assert!(n > 0, "server closed mid-stream");
        total += n;
        tail.extend_from_slice(&chunk[..n]);
        let keep = tail.len().saturating_sub(8);
        tail.drain(..keep);
    }
    assert!(total > STREAM_CHUNK * STREAM_CHUNKS, "{total} bytes");
}

/// Allocations on the server thread while it streams `rounds` whole
/// responses (after two as a warm-up), with `write_bytes` or with `write`.
fn stream_allocations(copy: bool, rounds: usize) -> usize {
    let server = server();
    let mut sock = server.connect();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let request = format!(
        "GET /stream{} HTTP/1.1\r\nHost: localhost\r\n\r\n",
        if copy { "/copy" } else { "" }
    );
    for _ in 0..2 {
        read_stream(&mut sock, request.as_bytes());
    }
    ALLOCATIONS.store(0, Ordering::SeqCst);
    MEASURING.store(true, Ordering::SeqCst);
    for _ in 0..rounds {
        read_stream(&mut sock, request.as_bytes());
    }
    MEASURING.store(false, Ordering::SeqCst);
    ALLOCATIONS.load(Ordering::SeqCst)
}

/// The bytes the server thread holds for each of `count` connections left
/// idle after one request each (malloc's own per-chunk overhead not counted).
fn idle_bytes_per_connection(count: usize) -> isize {
    let server = server();
    let request: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let mut buf = Vec::new();
    let mut warm = server.connect();
    exchange(&mut warm, request, 1, &mut buf);
    LIVE_BYTES.store(0, Ordering::SeqCst);
    MEASURING.store(true, Ordering::SeqCst);
    let mut idle = Vec::with_capacity(count);
    for _ in 0..count {
        let mut sock = server.connect();
        exchange(&mut sock, request, 1, &mut buf);
        idle.push(sock);
    }
    // Let the server go back to waiting on every connection.
    std::thread::sleep(Duration::from_millis(200));
    MEASURING.store(false, Ordering::SeqCst);
    LIVE_BYTES.load(Ordering::SeqCst) / count as isize
}

/// Body bytes the trickling server sends, one per packet.
const TRICKLED: usize = 400;

/// Fetches a body trickled one byte per packet, its `streaming_callback`
/// keeping every chunk; returns the chunks and the bytes this thread still
/// holds after the fetch (measured on this, the client's, thread).
fn kept_small_chunks() -> (Vec<Bytes>, isize) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_nodelay(true).unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
            head.push(byte[0]);
        }
        let head =
            format!("HTTP/1.1 200 OK\r\nContent-Length: {TRICKLED}\r\nConnection: close\r\n\r\n");
        let _ = stream.write_all(head.as_bytes());
        for _ in 0..TRICKLED {
            let _ = stream.write_all(b"x");
            thread::sleep(Duration::from_millis(1));
        }
    });
    run_async_test(Duration::from_secs(20), async move {
        let kept: Rc<RefCell<Vec<Bytes>>> = Rc::default();
        let keep = kept.clone();
        let client = AsyncHTTPClient::new();
        let request = HTTPRequest::new(format!("http://{addr}/"))
            .streaming_callback(move |chunk| keep.borrow_mut().push(chunk));
        COUNTED.with(|c| c.set(true));
        let before = LIVE_BYTES.load(Ordering::SeqCst);
        MEASURING.store(true, Ordering::SeqCst);
        let response = client.fetch(request).await;
        MEASURING.store(false, Ordering::SeqCst);
        COUNTED.with(|c| c.set(false));
        let held = LIVE_BYTES.load(Ordering::SeqCst) - before;
        assert_eq!(response.map(|r| r.code).ok(), Some(200));
        (kept.take(), held)
    })
}

// One test, so the measurements never overlap on the shared counters.
#[test]
fn keep_alive_and_pipelined_requests_allocate_nothing() {
    let per_idle_connection = idle_bytes_per_connection(500);
    println!("idle keep-alive connection: {per_idle_connection} bytes");
    // The target is 2 KiB of memory per idle connection.
    assert!(per_idle_connection > 0 && per_idle_connection < 2048);
    let one_at_a_time = allocations_for(1, 1000);
    let pipelined = allocations_for(16, 100);
    println!(
        "allocations: {one_at_a_time} for 2000 keep-alive requests, {pipelined} for 3200 pipelined"
    );
    assert_eq!(
        (one_at_a_time, pipelined),
        (0, 0),
        "allocations on the server thread (run with ALLOC_TRACE=40 to see where)"
    );
    let shared = stream_allocations(false, 4);
    let copied = stream_allocations(true, 4);
    println!(
        "allocations: {shared} streaming 4 x {STREAM_CHUNKS} chunks with write_bytes, {copied} with write"
    );
    assert_eq!(
        (shared, copied),
        (0, 0),
        "allocations while streaming (run with ALLOC_TRACE=40 to see where)"
    );
    let (kept, held) = kept_small_chunks();
    let total: usize = kept.iter().map(Bytes::len).sum();
    assert_eq!(total, TRICKLED);
    assert!(kept.len() >= 50, "{} chunks: too few to tell", kept.len());
    println!(
        "{} kept chunks of a trickled body hold {held} bytes",
        kept.len()
    );
    // Each chunk pinning its 64 KiB receive buffer would hold over 3 MiB.
    assert!(
        held < 1024 * 1024,
        "{} chunks hold {held} bytes",
        kept.len()
    );
}
