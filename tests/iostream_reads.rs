//! IOStream reads over real sockets: delimiters split across tiny writes,
//! exact and partial byte counts, limits, and a peer that leaves mid-read.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use tornado::ioloop::IOLoop;
use tornado::iostream::{IOStream, StreamError, StreamOptions};

/// Runs `peer` on a thread against a fresh listener and `body` on an IOLoop
/// with an IOStream connected to it.
fn with_peer<T: 'static>(
    peer: impl FnOnce(TcpStream) + Send + 'static,
    body: impl FnOnce(IOStream) -> std::pin::Pin<Box<dyn std::future::Future<Output = T>>>,
) -> T {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = thread::spawn(move || peer(listener.accept().unwrap().0));
    let ioloop = IOLoop::new().unwrap();
    let stream = ioloop.run_sync(IOStream::connect(addr)).unwrap().unwrap();
    let out = ioloop
        .run_sync_with_timeout(body(stream), Duration::from_secs(20))
        .unwrap();
    peer.join().unwrap();
    out
}

/// A peer that sends `mib` MiB (more than the reader takes), stopping when
/// the reader closes; its address and thread.
fn flooding_peer(mib: usize) -> (std::net::SocketAddr, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        let chunk = vec![b'y'; 1024 * 1024];
        for _ in 0..mib {
            if sock.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    (addr, peer)
}

#[test]
fn read_until_finds_a_delimiter_split_over_one_byte_writes() {
    let message = b"first line\r\nsecond\r\n";
    let lines = with_peer(
        move |mut sock| {
            sock.set_nodelay(true).unwrap();
            for byte in message {
                sock.write_all(&[*byte]).unwrap();
                thread::sleep(Duration::from_millis(1));
            }
        },
        |stream| {
            Box::pin(async move {
                let a = stream.read_until(b"\r\n", None).await.unwrap();
                let b = stream.read_until(b"\r\n", None).await.unwrap();
                (a, b)
            })
        },
    );
    assert_eq!(&lines.0[..], b"first line\r\n");
    assert_eq!(&lines.1[..], b"second\r\n");
}

#[test]
fn read_bytes_exact_and_partial() {
    let (exact, partial, rest) = with_peer(
        |mut sock| {
            sock.write_all(b"0123456789").unwrap();
            thread::sleep(Duration::from_millis(50));
            sock.write_all(b"abc").unwrap();
        },
        |stream| {
            Box::pin(async move {
                let exact = stream.read_bytes(4, false).await.unwrap();
                let partial = stream.read_bytes(100, true).await.unwrap();
                let rest = stream.read_until_close().await.unwrap();
                (exact, partial, rest)
            })
        },
    );
    assert_eq!(&exact[..], b"0123");
    assert_eq!(&partial[..], b"456789");
    assert_eq!(&rest[..], b"abc");
}

#[test]
fn read_into_fills_the_buffer() {
    let got = with_peer(
        |mut sock| sock.write_all(b"hello world").unwrap(),
        |stream| {
            Box::pin(async move {
                let mut buf = [0u8; 11];
                let n = stream.read_into(&mut buf, false).await.unwrap();
                (n, buf)
            })
        },
    );
    assert_eq!(got.0, 11);
    assert_eq!(&got.1, b"hello world");
}

#[test]
fn peer_closing_mid_read_gives_stream_closed() {
    let err = with_peer(
        |mut sock| sock.write_all(b"no newline then EOF").unwrap(),
        |stream| Box::pin(async move { stream.read_until(b"\n", None).await.unwrap_err() }),
    );
    assert!(err.is_closed(), "{err:?}");
}

#[test]
fn max_bytes_without_delimiter_is_unsatisfiable_and_closes() {
    let (err, closed) = with_peer(
        |mut sock| {
            let _ = sock.write_all(&[b'x'; 4096]);
        },
        |stream| {
            Box::pin(async move {
                let err = stream.read_until(b"\n", Some(100)).await.unwrap_err();
                (err, stream.closed())
            })
        },
    );
    assert!(matches!(err, StreamError::UnsatisfiableRead(_)), "{err:?}");
    assert!(closed);
}

#[test]
fn read_buffer_never_grows_past_max_buffer_size() {
    let (addr, peer) = flooding_peer(64);
    let ioloop = IOLoop::new().unwrap();
    let (err, size) = ioloop
        .run_sync(async move {
            let sock = mio::net::TcpStream::connect(addr).unwrap();
            let options = StreamOptions {
                max_buffer_size: 10_000,
                ..StreamOptions::default()
            };
            let stream = IOStream::with_options(sock, options).unwrap();
            let err = stream.read_until(b"\n", None).await.unwrap_err();
            (err, stream.read_buffer_size())
        })
        .unwrap();
    assert!(matches!(err, StreamError::BufferFull), "{err:?}");
    assert!(size <= 10_000, "buffered {size}");
    peer.join().unwrap();
}

#[test]
fn a_second_concurrent_read_is_refused() {
    let refused = with_peer(
        |mut sock| {
            thread::sleep(Duration::from_millis(30));
            sock.write_all(b"x\n").unwrap();
        },
        |stream| {
            Box::pin(async move {
                let ioloop = IOLoop::current();
                let reader = stream.clone();
                let first = ioloop.spawn(async move { reader.read_until(b"\n", None).await });
                tornado::gen::sleep(Duration::from_millis(5)).await;
                let second = stream.read_bytes(1, false).await;
                (second.is_err(), first.await.unwrap().unwrap())
            })
        },
    );
    assert!(refused.0);
    assert_eq!(&refused.1[..], b"x\n");
}

#[test]
fn read_until_after_a_cancelled_read_until_searches_from_the_start() {
    // A read given up by a timeout must not leave the next one a search
    // position past data it never looked at for its own delimiter.
    let lines = with_peer(
        |mut sock| {
            sock.write_all(b"abc\ndef").unwrap();
            thread::sleep(Duration::from_millis(300));
        },
        |stream| {
            Box::pin(async move {
                let timed_out = tornado::gen::with_timeout(
                    Duration::from_millis(100),
                    stream.read_until(b"\r\n\r\n", None),
                )
                .await;
                assert!(timed_out.is_err(), "nothing ends with a blank line");
                stream.read_until(b"\n", None).await.unwrap()
            })
        },
    );
    assert_eq!(&lines[..], b"abc\n");
}

/// A stream of `options` connected to `addr`, on the running loop.
fn stream_with(addr: std::net::SocketAddr, options: StreamOptions) -> IOStream {
    IOStream::with_options(mio::net::TcpStream::connect(addr).unwrap(), options).unwrap()
}

#[test]
fn read_until_close_returns_exactly_max_buffer_size_then_eof() {
    // Tornado fails only past the limit: a response of exactly
    // max_buffer_size bytes is returned whole.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        sock.write_all(&[b'z'; 10_000]).unwrap();
    });
    let ioloop = IOLoop::new().unwrap();
    let got = ioloop
        .run_sync(async move {
            let options = StreamOptions {
                max_buffer_size: 10_000,
                ..StreamOptions::default()
            };
            stream_with(addr, options).read_until_close().await
        })
        .unwrap();
    assert_eq!(got.unwrap().len(), 10_000);
    peer.join().unwrap();
}

#[test]
fn read_until_close_returns_what_arrived_before_a_reset() {
    // The peer answers and closes with our bytes unread, so its kernel
    // resets the connection: the answer is still the read's result, as in
    // Tornado (a reset is a close there).
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        let mut first = [0u8; 1];
        sock.peek(&mut first).unwrap(); // our bytes have arrived, unread
        sock.write_all(b"payload-before-reset").unwrap();
    });
    let ioloop = IOLoop::new().unwrap();
    let got = ioloop
        .run_sync(async move {
            let stream = stream_with(addr, StreamOptions::default());
            stream.write(&b"left unread by the peer"[..]).unwrap();
            stream.flush().await.unwrap();
            peer.join().unwrap();
            stream.read_until_close().await
        })
        .unwrap();
    assert_eq!(&got.unwrap()[..], b"payload-before-reset");
}

#[test]
fn the_close_callback_runs_when_the_peer_closes_an_idle_stream() {
    // Nothing reads or flushes: the callback still runs (Tornado listens for
    // the close whenever a close callback is set and nothing is buffered),
    // and what the peer sends meanwhile is kept for the next read.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tell_peer, peer_told) = std::sync::mpsc::channel::<&'static [u8]>();
    let peer = thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        // Each message from the test is sent; the channel closing closes.
        while let Ok(bytes) = peer_told.recv() {
            sock.write_all(bytes).unwrap();
        }
    });
    let ioloop = IOLoop::new().unwrap();
    let late = ioloop
        .run_sync_with_timeout(
            async move {
                let stream = stream_with(addr, StreamOptions::default());
                let closed = tornado::locks::Event::new();
                let notify = closed.clone();
                stream.set_close_callback(move || notify.set());
                tell_peer.send(b"late\n").unwrap();
                // Read by the watcher, while nothing reads.
                while stream.read_buffer_size() == 0 {
                    tornado::gen::sleep(Duration::from_millis(5)).await;
                }
                assert!(!closed.is_set(), "closed before the peer closed");
                let late = stream.read_until(b"\n", None).await.unwrap();
                drop(tell_peer);
                closed.wait().await;
                late
            },
            Duration::from_secs(10),
        )
        .unwrap();
    peer.join().unwrap();
    assert_eq!(&late[..], b"late\n");
}

#[test]
fn a_close_callback_reads_no_more_than_one_chunk_ahead() {
    // A peer that keeps sending while nothing reads is held back by the
    // kernel's window, not buffered here (Tornado reads one chunk while
    // idle), and the stream stays open.
    let (addr, peer) = flooding_peer(32);
    let ioloop = IOLoop::new().unwrap();
    let (buffered, closed) = ioloop
        .run_sync(async move {
            let options = StreamOptions {
                max_buffer_size: 256 * 1024,
                read_chunk_size: 16 * 1024,
                ..StreamOptions::default()
            };
            let stream = stream_with(addr, options);
            stream.set_close_callback(|| {});
            tornado::gen::sleep(Duration::from_millis(300)).await;
            let state = (stream.read_buffer_size(), stream.closed());
            drop(stream);
            state
        })
        .unwrap();
    peer.join().unwrap();
    assert!(
        buffered <= 16 * 1024,
        "buffered {buffered} bytes while idle"
    );
    assert!(!closed, "the stream was closed");
}

#[test]
fn a_dropped_stream_with_a_close_callback_closes_its_socket() {
    // The watcher holds the stream weakly: dropping the last handle still
    // closes the socket (the peer reads EOF) and ends the watcher.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buf = [0u8; 16];
        std::io::Read::read(&mut sock, &mut buf).unwrap()
    });
    let ioloop = IOLoop::new().unwrap();
    ioloop
        .run_sync(async move {
            let stream = stream_with(addr, StreamOptions::default());
            stream.set_close_callback(|| {});
            tornado::gen::sleep(Duration::from_millis(20)).await;
            drop(stream);
            tornado::gen::sleep(Duration::from_millis(20)).await;
        })
        .unwrap();
    assert_eq!(peer.join().unwrap(), 0, "the peer saw EOF");
}

#[test]
fn a_close_callback_runs_on_the_streams_own_loop() {
    // Closed while its loop is not running (after run_sync returned): the
    // callback waits for that loop, whichever loop is current meanwhile.
    let (addr, peer) = flooding_peer(0);
    let ioloop = IOLoop::new().unwrap();
    let ran = std::rc::Rc::new(std::cell::Cell::new(false));
    let flag = ran.clone();
    let stream = ioloop
        .run_sync(async move {
            let stream = stream_with(addr, StreamOptions::default());
            stream.set_close_callback(move || flag.set(true));
            stream
        })
        .unwrap();
    stream.close();
    assert!(!ran.get(), "not run outside its loop");
    ioloop
        .run_sync(tornado::gen::sleep(Duration::from_millis(10)))
        .unwrap();
    assert!(ran.get(), "run by the stream's loop");
    peer.join().unwrap();
}
