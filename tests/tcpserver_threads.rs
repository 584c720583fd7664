//! `TCPServer::bind` + `start(n)`: every thread serves connections, and
//! `stop` ends the worker threads once they are idle.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use tornado::ioloop::IOLoop;
use tornado::iostream::IOStream;
use tornado::netutil::DEFAULT_BACKLOG;
use tornado::tcpserver::{StreamHandler, TCPServer};

/// Answers each connection with the name of the thread that served it.
#[derive(Clone)]
struct ThreadName;

impl StreamHandler for ThreadName {
    async fn handle_stream(&self, stream: IOStream, _address: SocketAddr) {
        let name = thread::current().name().unwrap_or("unnamed").to_owned();
        if stream.write(format!("{name}\n")).is_ok() {
            let _ = stream.flush().await;
        }
        stream.close();
    }
}

fn ask(addr: SocketAddr) -> String {
    let mut sock = TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reply = String::new();
    sock.read_to_string(&mut reply).unwrap();
    reply.trim_end().to_owned()
}

/// The threads seen serving a `start(2)` server. With `closing_grace`, the
/// workers are first told to close their connections after it (without the
/// server being stopped), and the asking starts once they have.
fn serve_on_threads(reuse_port: bool, closing_grace: Option<Duration>) -> HashSet<String> {
    let (addr_tx, addr_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let main = thread::Builder::new()
        .name("server-main".into())
        .spawn(move || {
            let ioloop = IOLoop::current();
            let server = TCPServer::new(ThreadName);
            let addrs = server
                .bind(0, "127.0.0.1", DEFAULT_BACKLOG, reuse_port)
                .unwrap();
            server.start(2).unwrap();
            if let Some(grace) = closing_grace {
                server.close_workers_after(grace);
            }
            addr_tx.send(addrs[0]).unwrap();
            let stopper = ioloop.handle();
            thread::spawn(move || {
                done_rx.recv().unwrap();
                stopper.stop();
            });
            ioloop.start().unwrap();
            server.stop();
            server.join_workers();
        })
        .unwrap();
    let addr = addr_rx.recv().unwrap();
    if let Some(grace) = closing_grace {
        thread::sleep(grace * 4);
    }
    let mut seen = HashSet::new();
    for _ in 0..200 {
        seen.insert(ask(addr));
        if seen.len() == 2 {
            break;
        }
    }
    done_tx.send(()).unwrap();
    main.join().unwrap();
    seen
}

#[test]
fn start_2_with_reuse_port_serves_on_both_threads() {
    let seen = serve_on_threads(true, None);
    assert_eq!(
        seen,
        HashSet::from(["server-main".to_owned(), "tornado-worker-1".to_owned()])
    );
}

#[test]
fn closing_the_workers_connections_without_stopping_keeps_them_serving() {
    // close_workers_after is what close_all_connections_within runs; without
    // `stop` the server is meant to serve on, its worker threads too.
    let seen = serve_on_threads(true, Some(Duration::from_millis(50)));
    assert_eq!(
        seen,
        HashSet::from(["server-main".to_owned(), "tornado-worker-1".to_owned()])
    );
}

#[test]
fn start_2_sharing_one_socket_serves_and_stops() {
    // Without SO_REUSEPORT both loops poll the same socket; whichever wakes
    // first accepts. At least one thread must serve, and stop must end the worker.
    let seen = serve_on_threads(false, None);
    assert!(!seen.is_empty());
}

#[test]
fn stop_lets_connections_in_progress_finish() {
    let (addr_tx, addr_rx) = mpsc::channel();
    let server_thread = thread::spawn(move || {
        let ioloop = IOLoop::current();
        let server = std::rc::Rc::new(TCPServer::new(|stream: IOStream, _addr| async move {
            // Echo one line, slowly.
            if let Ok(line) = stream.read_until(b"\n", None).await {
                tornado::gen::sleep(Duration::from_millis(50)).await;
                let _ = stream.write(line);
                let _ = stream.flush().await;
            }
        }));
        let addr = server.listen(0, "127.0.0.1").unwrap()[0];
        addr_tx.send(addr).unwrap();
        let srv = server.clone();
        // Stop accepting as soon as one connection is active.
        let check = tornado::ioloop::PeriodicCallback::new(
            move || {
                if srv.active_connections() == 1 {
                    srv.stop();
                }
            },
            Duration::from_millis(1),
        );
        check.start();
        ioloop
            .run_sync_with_timeout(
                tornado::gen::sleep(Duration::from_millis(400)),
                Duration::from_secs(5),
            )
            .unwrap();
        check.stop();
        server.active_connections()
    });
    let addr = addr_rx.recv().unwrap();
    let mut sock = TcpStream::connect(addr).unwrap();
    sock.write_all(b"hello\n").unwrap();
    let mut reply = [0u8; 6];
    sock.read_exact(&mut reply).unwrap();
    assert_eq!(
        &reply, b"hello\n",
        "the connection in progress was served after stop"
    );
    assert_eq!(server_thread.join().unwrap(), 0);
    assert!(TcpStream::connect(addr).is_err(), "no longer listening");
}
