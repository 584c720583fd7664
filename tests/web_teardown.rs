//! A server's thread that ends (its loop stopped) while requests are still
//! in flight drops them and exits cleanly: the requests' pooled parts go
//! back to pools that the thread's teardown may already have freed. (It
//! aborted the whole process: "thread local panicked on drop".)

use std::io::Write;
use std::time::Duration;

use test_support::app_server;
use tornado::gen::sleep;
use tornado::ioloop::IOLoop;
use tornado::web::{url, Application, Handler, RequestHandler, Result};

/// Sleeps far longer than the test runs.
struct Sleepy;

impl RequestHandler for Sleepy {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        sleep(Duration::from_secs(30)).await;
        cx.write("late")
    }
}

/// Leaves a task of its own waiting for the client to go, then sleeps.
struct Watching;

impl RequestHandler for Watching {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        let left = cx.wait_for_close();
        drop(IOLoop::current().spawn(left)); // detached: it keeps running
        sleep(Duration::from_secs(30)).await;
        cx.write("late")
    }
}

/// Sets a close callback on its connection's stream, then sleeps: the
/// stream is closed by the thread's teardown, with no loop left to run it.
struct StreamCallback;

impl RequestHandler for StreamCallback {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        if let Some(connection) = cx.connection() {
            connection.stream().set_close_callback(|| {});
        }
        sleep(Duration::from_secs(30)).await;
        cx.write("late")
    }
}

#[test]
fn stopping_with_requests_in_flight_ends_the_thread_cleanly() {
    let server = app_server(Application::new([
        url("/sleepy", || Sleepy),
        url("/watching", || Watching),
        url("/stream-callback", || StreamCallback),
    ]));
    let mut clients = Vec::new();
    for path in ["/sleepy", "/watching", "/stream-callback", "/sleepy"] {
        let mut sock = server.connect();
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
        sock.write_all(request.as_bytes()).unwrap();
        clients.push(sock);
    }
    // Let the handlers start, then stop the loop and join its thread: the
    // process must still be here afterwards.
    std::thread::sleep(Duration::from_millis(200));
    drop(server);
    drop(clients);
}
