//! Small chunks a `streaming_callback` keeps cost their own size, not the
//! 64 KiB receive buffer they were read into. Its own test binary: a
//! counting global allocator measures the bytes the client's thread still
//! holds after the fetch.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::rc::Rc;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::thread;
use std::time::Duration;

use tornado::httpclient::{AsyncHTTPClient, HTTPRequest};
use tornado::testing::run_async_test;
use tornado::web::Bytes;

/// Bytes allocated minus bytes freed on the measured thread while measuring.
static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    /// Set on the client's thread while the fetch runs.
    static MEASURING: Cell<bool> = const { Cell::new(false) };
}

fn live(delta: isize) {
    if MEASURING.try_with(Cell::get).unwrap_or(false) {
        LIVE_BYTES.fetch_add(delta, Ordering::Relaxed);
    }
}

struct CountingAllocator;

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counting around it touches only an atomic and a const-initialized thread
// local.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
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
        live(layout.size() as isize);
        // SAFETY: the caller's contract is passed on as it is.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        live(new_size as isize - layout.size() as isize);
        // SAFETY: the caller's contract is passed on as it is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Body bytes the server trickles, one per packet.
const BODY: usize = 400;

#[test]
fn kept_small_chunks_do_not_pin_receive_buffers() {
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
            format!("HTTP/1.1 200 OK\r\nContent-Length: {BODY}\r\nConnection: close\r\n\r\n");
        let _ = stream.write_all(head.as_bytes());
        for _ in 0..BODY {
            let _ = stream.write_all(b"x");
            thread::sleep(Duration::from_millis(1));
        }
    });
    let (kept, held) = run_async_test(Duration::from_secs(20), async move {
        let kept: Rc<RefCell<Vec<Bytes>>> = Rc::default();
        let keep = kept.clone();
        let client = AsyncHTTPClient::new();
        let request = HTTPRequest::new(format!("http://{addr}/"))
            .streaming_callback(move |chunk| keep.borrow_mut().push(chunk));
        MEASURING.with(|m| m.set(true));
        let before = LIVE_BYTES.load(Ordering::Relaxed);
        let response = client.fetch(request).await;
        let held = LIVE_BYTES.load(Ordering::Relaxed) - before;
        MEASURING.with(|m| m.set(false));
        assert_eq!(response.map(|r| r.code).ok(), Some(200));
        drop(client);
        let kept = kept.take();
        (kept, held)
    });
    let total: usize = kept.iter().map(Bytes::len).sum();
    assert_eq!(total, BODY);
    assert!(
        kept.len() >= 50,
        "the body came in {} chunks: too few to tell",
        kept.len()
    );
    // Each chunk pinning its 64 KiB buffer would hold over 3 MiB here.
    assert!(
        held < 1024 * 1024,
        "{} chunks hold {held} bytes",
        kept.len()
    );
}
