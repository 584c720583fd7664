//! IOStream writes: `flush().await` waits for a slow reader (bounded memory)
//! and fails once the peer has gone.

use std::future::Future;
use std::io::Read;
use std::net::TcpListener;
use std::thread;
use std::time::Duration;

use tornado::ioloop::IOLoop;
use tornado::iostream::IOStream;

const CHUNK: usize = 64 * 1024;

#[test]
fn writing_64_mib_to_a_slow_reader_keeps_the_write_buffer_bounded() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let reader = thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        // Read nothing for a while: the socket buffers (a few MiB on
        // loopback) fill up and the writer must wait.
        thread::sleep(Duration::from_millis(300));
        let mut buf = vec![0u8; 256 * 1024];
        let mut total = 0usize;
        let mut checksum = 0u64;
        loop {
            match sock.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    checksum = buf[..n].iter().fold(checksum, |acc, b| {
                        acc.wrapping_mul(31).wrapping_add(u64::from(*b))
                    });
                    total += n;
                }
                Err(err) => panic!("read failed: {err}"),
            }
        }
        (total, checksum)
    });
    let ioloop = IOLoop::new().unwrap();
    let (max_buffered, waits, expected) = ioloop
        .run_sync(async move {
            let stream = IOStream::connect(addr).await.unwrap();
            let mut max_buffered = 0;
            let mut waits = 0;
            let mut checksum = 0u64;
            for i in 0..1024usize {
                let chunk = vec![(i % 251) as u8; CHUNK];
                checksum = chunk.iter().fold(checksum, |acc, b| {
                    acc.wrapping_mul(31).wrapping_add(u64::from(*b))
                });
                stream.write(chunk).unwrap();
                max_buffered = max_buffered.max(stream.write_buffer_size());
                let flush = stream.flush();
                let mut flush = std::pin::pin!(flush);
                // Count the flushes that had to wait for the reader.
                let first =
                    std::future::poll_fn(|cx| std::task::Poll::Ready(flush.as_mut().poll(cx)))
                        .await;
                match first {
                    std::task::Poll::Ready(result) => result.unwrap(),
                    std::task::Poll::Pending => {
                        waits += 1;
                        flush.await.unwrap();
                    }
                }
                assert_eq!(stream.write_buffer_size(), 0);
            }
            stream.close();
            (max_buffered, waits, checksum)
        })
        .unwrap();
    let (total, checksum) = reader.join().unwrap();
    assert_eq!(total, 64 << 20);
    assert_eq!(checksum, expected, "bytes arrive intact and in order");
    assert!(max_buffered <= CHUNK, "buffered {max_buffered}");
    assert!(waits > 0, "the slow reader must have made flush wait");
}

#[test]
fn flush_fails_once_the_peer_has_gone() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = thread::spawn(move || drop(listener.accept().unwrap()));
    let ioloop = IOLoop::new().unwrap();
    let (err, closed) = ioloop
        .run_sync(async move {
            let stream = IOStream::connect(addr).await.unwrap();
            peer.join().unwrap();
            let closed_flag = std::rc::Rc::new(std::cell::Cell::new(false));
            let flag = closed_flag.clone();
            stream.set_close_callback(move || flag.set(true));
            let mut result = Ok(());
            // The first writes may land in the kernel before the RST arrives.
            for _ in 0..100 {
                stream.write(vec![b'z'; CHUNK]).unwrap_or(());
                result = stream.flush().await;
                if result.is_err() {
                    break;
                }
                tornado::gen::sleep(Duration::from_millis(5)).await;
            }
            tornado::gen::moment().await;
            tornado::gen::moment().await;
            (result.unwrap_err(), closed_flag.get())
        })
        .unwrap();
    assert!(err.is_closed(), "{err:?}");
    assert!(closed, "the close callback ran");
}
