//! `AsyncHTTPTestCase` leaves nothing behind: no thread, no listening port,
//! no open descriptor. (One test in its own binary, so that the process's
//! thread and descriptor counts are this test's alone.)

use std::net::TcpStream;

use tornado::testing::AsyncHTTPTestCase;
use tornado::web::{url, Application, Handler, RequestHandler, Result};

struct Hello;

impl RequestHandler for Hello {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.write("hi")
    }
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(0)
}

fn descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn teardown_releases_threads_ports_and_descriptors() {
    // Warm up once: the process-wide tokio bridge thread starts on first use.
    drop(AsyncHTTPTestCase::new(Application::new([url("/", || Hello)])).unwrap());
    let (threads_before, fds_before) = (threads(), descriptors());
    let mut ports = Vec::new();
    for _ in 0..5 {
        let test = AsyncHTTPTestCase::new(Application::new([url("/", || Hello)])).unwrap();
        assert_eq!(test.fetch("/").text(), "hi");
        assert!(threads() <= threads_before, "no thread per test case");
        ports.push(test.get_http_port());
    }
    assert_eq!(threads(), threads_before);
    assert_eq!(descriptors(), fds_before, "every socket closed");
    for port in ports {
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "port {port} still open"
        );
    }
}
