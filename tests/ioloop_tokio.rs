//! The tokio bridge: tokio-based futures awaited by `!Send` IOLoop tasks.
//!
//! The loop polls its own tasks; a background tokio runtime drives tokio's
//! reactor and timers and only calls our wakers. Every test checks that the
//! awaiting code stays on the loop's thread and may hold an `Rc` across awaits.

use std::cell::Cell;
use std::io::{self, BufRead, BufReader, Write};
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::mpsc;
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tornado::ioloop::{run_in_executor, IOLoop, JoinError};

/// Tells at compile time whether a value's type is `Send`, without requiring
/// it: the inherent method applies only to `Send` types, the trait method is
/// the fallback. Used to prove the futures under test really are `!Send`.
/// (It needs a nameable future type, so the futures under test are `async fn`s
/// at module level: an `async` block's auto traits are not known yet inside
/// the function that defines it.)
struct SendProbe<T>(PhantomData<T>);

trait NotSendFallback {
    fn is_send(&self) -> bool {
        false
    }
}

impl<T> NotSendFallback for SendProbe<T> {}

impl<T: Send> SendProbe<T> {
    fn is_send(&self) -> bool {
        true
    }
}

fn probe<T>(_: &T) -> SendProbe<T> {
    SendProbe(PhantomData)
}

async fn yields_once() {
    tokio::task::yield_now().await;
}

async fn yields_holding_rc() -> usize {
    let rc = Rc::new(1);
    tokio::task::yield_now().await;
    *rc
}

#[test]
fn send_probe_tells_send_from_not_send() {
    assert!(probe(&yields_once()).is_send());
    assert!(!probe(&yields_holding_rc()).is_send());
}

async fn tokio_sleep_holding_rc(loop_thread: ThreadId) -> (Duration, usize) {
    let resumed = Rc::new(Cell::new(0));
    let started = Instant::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    resumed.set(resumed.get() + 1);
    assert_eq!(
        thread::current().id(),
        loop_thread,
        "resumed on the loop thread"
    );
    (started.elapsed(), resumed.get())
}

#[test]
fn tokio_sleep_from_a_loop_task() {
    let ioloop = IOLoop::new().unwrap();
    let fut = tokio_sleep_holding_rc(thread::current().id());
    assert!(!probe(&fut).is_send());
    let (elapsed, resumed) = ioloop.run_sync(fut).unwrap();
    assert_eq!(resumed, 1);
    assert!(elapsed >= Duration::from_millis(20), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

/// A tokio listener task and a tokio client on the same loop: the server
/// reverses five bytes, the client reads until EOF.
async fn tcp_round_trip(loop_thread: ThreadId) -> io::Result<(Vec<u8>, usize)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let served = Rc::new(Cell::new(0usize));
    let count = served.clone();
    let server = IOLoop::current().spawn(async move {
        let (mut socket, _) = listener.accept().await?;
        let mut line = [0u8; 5];
        socket.read_exact(&mut line).await?;
        line.reverse();
        count.set(count.get() + line.len());
        assert_eq!(thread::current().id(), loop_thread);
        socket.write_all(&line).await?;
        io::Result::Ok(())
    });
    let mut client = tokio::net::TcpStream::connect(addr).await?;
    client.write_all(b"hello").await?;
    let mut reply = Vec::new();
    client.read_to_end(&mut reply).await?;
    server.await.map_err(io::Error::other)??;
    assert_eq!(thread::current().id(), loop_thread);
    Ok((reply, served.get()))
}

#[test]
fn tokio_tcp_round_trip_between_two_loop_tasks() {
    let ioloop = IOLoop::new().unwrap();
    let fut = tcp_round_trip(thread::current().id());
    assert!(!probe(&fut).is_send());
    let (reply, served) = ioloop
        .run_sync_with_timeout(fut, Duration::from_secs(5))
        .unwrap()
        .unwrap();
    assert_eq!(reply, b"olleh");
    assert_eq!(served, 5);
}

#[test]
fn tokio_oneshot_sent_from_another_thread_wakes_the_loop() {
    let ioloop = IOLoop::new().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        tx.send(String::from("across threads")).unwrap();
    });
    let got = ioloop
        .run_sync_with_timeout(rx, Duration::from_secs(5))
        .unwrap()
        .unwrap();
    assert_eq!(got, "across threads");
    sender.join().unwrap();
}

#[test]
fn run_in_executor_runs_off_the_loop_thread_and_reports_panics() {
    let ioloop = IOLoop::new().unwrap();
    let loop_thread = thread::current().id();
    let (worker, panicked) = ioloop
        .run_sync(async move {
            let shared = Rc::new("held across the await");
            let worker = run_in_executor(|| {
                thread::sleep(Duration::from_millis(2)); // stands for blocking work
                thread::current().id()
            })
            .await
            .unwrap();
            assert_eq!(*shared, "held across the await");
            assert_eq!(thread::current().id(), loop_thread);
            let panicked = run_in_executor(|| -> u32 { panic!("disk on fire") }).await;
            (worker, panicked)
        })
        .unwrap();
    assert_ne!(
        worker, loop_thread,
        "the blocking work ran on another thread"
    );
    let err = panicked.unwrap_err();
    match err.get_ref().and_then(|e| e.downcast_ref::<JoinError>()) {
        Some(JoinError::Panicked(message)) => assert_eq!(message, "disk on fire"),
        other => panic!("expected JoinError::Panicked, got {other:?} ({err})"),
    }
}

/// A one-request HTTP/1.1 server on `std::net`, on its own thread. Returns its
/// address and a channel that receives the request head it read.
fn one_shot_http_server(body: &'static str) -> (SocketAddr, mpsc::Receiver<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let (socket, _) = listener.accept().unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut reader = BufReader::new(socket);
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let mut socket = reader.into_inner();
        write!(
            socket,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
            body.len(),
            body
        )
        .unwrap();
        tx.send(head).unwrap();
    });
    (addr, rx)
}

/// What a handler does with reqwest: one GET, keeping `!Send` state across awaits.
async fn fetch_greeting(
    addr: SocketAddr,
    loop_thread: ThreadId,
) -> Result<(u16, String, u32), reqwest::Error> {
    // Per-request state a handler might keep: not Send, held across awaits.
    let trace = Rc::new(Cell::new(0u32));
    let client = reqwest::Client::builder()
        .no_proxy() // the test talks to loopback only, whatever the environment says
        .build()?;
    let response = client
        .get(format!("http://{addr}/greeting?lang=en"))
        .send()
        .await?;
    trace.set(trace.get() + 1);
    let status = response.status().as_u16();
    let body = response.text().await?;
    trace.set(trace.get() + 1);
    assert_eq!(thread::current().id(), loop_thread);
    Ok((status, body, trace.get()))
}

#[test]
fn reqwest_get_from_a_not_send_loop_task() {
    let (addr, request_head) = one_shot_http_server("hello from std::net");
    let ioloop = IOLoop::new().unwrap();
    let fut = fetch_greeting(addr, thread::current().id());
    assert!(!probe(&fut).is_send(), "the handler future is !Send");
    let (status, body, steps) = ioloop
        .run_sync_with_timeout(fut, Duration::from_secs(5))
        .unwrap()
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(body, "hello from std::net");
    assert_eq!(steps, 2);
    let head = request_head.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(
        head.starts_with("GET /greeting?lang=en HTTP/1.1\r\n"),
        "{head}"
    );
}
