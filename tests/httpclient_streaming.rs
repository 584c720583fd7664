//! A 100 MiB response through `streaming_callback` in bounded memory (its
//! own test binary, so that the process's peak memory is this test's).

mod httpclient_support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use httpclient_support::PythonServer;
use tornado::httpclient::{AsyncHTTPClient, HTTPRequest};
use tornado::testing::run_async_test;

const SIZE: u64 = 100 * 1024 * 1024;

/// Peak resident memory of this process so far, in bytes (Linux).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[test]
fn hundred_mib_streamed_in_bounded_memory() {
    let server = PythonServer::start().expect("python3 runs server.py");
    let url = server.url(&format!("/big/{SIZE}"));
    let before = peak_rss();
    let total = Rc::new(Cell::new(0u64));
    let largest = Rc::new(Cell::new(0usize));
    let chunks = Rc::new(Cell::new(0u64));
    let (t, l, c) = (total.clone(), largest.clone(), chunks.clone());
    let response = run_async_test(Duration::from_secs(60), async move {
        AsyncHTTPClient::new()
            .fetch(
                HTTPRequest::new(url)
                    .request_timeout(Duration::from_secs(60))
                    .streaming_callback(move |chunk| {
                        t.set(t.get() + chunk.len() as u64);
                        l.set(l.get().max(chunk.len()));
                        c.set(c.get() + 1);
                    }),
            )
            .await
            .unwrap()
    });
    assert_eq!(response.code, 200);
    assert_eq!(total.get(), SIZE, "every byte counted");
    assert!(response.body.is_empty(), "the body is not accumulated");
    assert!(
        largest.get() <= 64 * 1024,
        "largest chunk {}",
        largest.get()
    );
    assert!(chunks.get() >= SIZE / (64 * 1024));
    if let (Some(before), Some(after)) = (before, peak_rss()) {
        let grew = after.saturating_sub(before);
        assert!(grew < 32 * 1024 * 1024, "peak memory grew by {grew} bytes");
    }
}
