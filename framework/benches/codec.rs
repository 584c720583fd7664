//! Throughput of the HTTP/1 codec, without sockets.
//!
//! cargo bench -p tornado-rs --bench codec
//!
//! * requests/s for a typical ~300-byte browser GET on a keep-alive
//!   connection: head + `EndOfMessage`, answering each with a small response
//!   (the codec needs one before it starts the next cycle), reusing the codec
//!   and its buffers as the connection layer does; one request per read, and
//!   16 pipelined requests per read;
//! * MB/s of chunked body decoding, for 64-byte and 4 KiB chunks, fed in
//!   64 KiB reads.
//!
//! A counting global allocator reports heap allocations per request.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use tornado::http1::{Codec, DateCache, Event, ResponseHead};
use tornado::httputil::HTTPHeaders;

const REQUEST: &[u8] = b"GET /static/css/site.css?v=3f2a HTTP/1.1\r\n\
Host: www.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: text/css,*/*;q=0.1\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br\r\n\
Referer: https://www.example.com/\r\n\
Connection: keep-alive\r\n\
\r\n";

/// Counts heap allocations, to show what a keep-alive request costs.
struct CountingAllocator;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Runs `f` repeatedly for about `time`, returning (iterations, elapsed).
fn measure(time: Duration, mut f: impl FnMut()) -> (u64, Duration) {
    // Warm up.
    for _ in 0..1000 {
        f();
    }
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < time {
        for _ in 0..1000 {
            f();
        }
        n += 1000;
    }
    (n, start.elapsed())
}

fn bench_requests(pipelined: usize) {
    let input = REQUEST.repeat(pipelined);
    let mut codec = Codec::default();
    let date = DateCache::new(SystemTime::now());
    let mut headers = HTTPHeaders::new();
    headers.add("Content-Type", "text/css");
    let mut out = Vec::with_capacity(64 * 1024);
    let allocations_before = ALLOCATIONS.load(Ordering::Relaxed);
    let (n, elapsed) = measure(Duration::from_secs(2), || {
        codec.receive_data(&input);
        out.clear();
        for _ in 0..pipelined {
            match codec.next_event() {
                Ok(Event::Request(mut head)) => {
                    black_box(&head);
                    // The connection hands the map back once the request is
                    // done with it; the next head reuses its allocation.
                    codec.recycle_headers(head.take_headers());
                }
                other => panic!("{other:?}"),
            }
            assert!(matches!(codec.next_event(), Ok(Event::EndOfMessage { .. })));
            let head = ResponseHead {
                date: Some(&date),
                ..ResponseHead::new(200, &headers)
            };
            codec.write_response(&head, b"body{}", &mut out).unwrap();
            codec.start_next_cycle().unwrap();
        }
        black_box(&out);
    });
    // `measure` also ran 1000 warm-up iterations.
    let requests = n * pipelined as u64;
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - allocations_before;
    println!(
        "requests ({} B each, {pipelined:>2} per read): {:>9.0} req/s  ({:.0} ns/request, {:.2} allocations/request)",
        REQUEST.len(),
        requests as f64 / elapsed.as_secs_f64(),
        elapsed.as_nanos() as f64 / requests as f64,
        allocations as f64 / ((n + 1000) * pipelined as u64) as f64
    );
}

fn bench_chunked(chunk_size: usize) {
    let body_len = 1 << 20;
    let mut input =
        b"POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let chunk = vec![b'x'; chunk_size];
    for _ in 0..body_len / chunk_size {
        input.extend_from_slice(format!("{chunk_size:x}\r\n").as_bytes());
        input.extend_from_slice(&chunk);
        input.extend_from_slice(b"\r\n");
    }
    input.extend_from_slice(b"0\r\n\r\n");
    let empty = HTTPHeaders::new();
    let mut out = Vec::new();
    let mut codec = Codec::default();
    let start = Instant::now();
    let mut bodies = 0u64;
    while start.elapsed() < Duration::from_secs(2) {
        let mut received = 0;
        for read in input.chunks(64 * 1024) {
            codec.receive_data(read);
            loop {
                match codec.next_event() {
                    Ok(Event::Request(_)) => {}
                    Ok(Event::Data(data)) => received += data.len(),
                    Ok(Event::EndOfMessage { .. }) => {
                        out.clear();
                        codec
                            .write_response(&ResponseHead::new(204, &empty), b"", &mut out)
                            .unwrap();
                        codec.start_next_cycle().unwrap();
                    }
                    Ok(Event::NeedData) => break,
                    other => panic!("{other:?}"),
                }
            }
        }
        assert_eq!(received, body_len);
        bodies += 1;
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "chunked decoding ({chunk_size:>4} B chunks): {:>8.0} MB/s of body  ({:.0} MB/s of wire bytes)",
        (bodies * body_len as u64) as f64 / elapsed / 1e6,
        (bodies * input.len() as u64) as f64 / elapsed / 1e6
    );
}

fn main() {
    bench_requests(1);
    bench_requests(16);
    bench_chunked(64);
    bench_chunked(4096);
}
