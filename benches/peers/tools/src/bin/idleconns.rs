//! Opens many connections to a server and holds them, so the harness can read
//! the server's memory per connection.
//!
//!   idleconns --port N --conns C [--mode idle|slow] [--hold SECONDS]
//!
//! idle: on each connection sends `GET /plaintext`, reads the whole
//!       response, then keeps the connection open and silent (an idle
//!       keep-alive connection).
//! slow: on each connection sends
//!       `GET /stream/bytes?n=1073741824&chunk=65536` and never reads
//!       (a client too slow to take anything; its receive buffer is set to
//!       64 KiB so the kernel does not hold gigabytes for it).
//!
//! Connections are opened in batches of 100 (connect all, write all, read
//! all). When done it prints `READY <open connections>` on stdout, then holds
//! them until killed or until --hold seconds (default 300) pass. Sockets use
//! SO_LINGER 0, so exiting resets them and leaves no TIME_WAIT behind.
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    for (i, a) in args.iter().enumerate() {
        if a == name {
            return args.get(i + 1).cloned();
        }
        if let Some(v) = a.strip_prefix(&format!("{name}=")) {
            return Some(v.to_owned());
        }
    }
    None
}

fn connect(addr: SocketAddr, slow: bool) -> io::Result<TcpStream> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.set_linger(Some(Duration::ZERO))?;
    if slow {
        socket.set_recv_buffer_size(64 * 1024)?;
    }
    socket.connect_timeout(&addr.into(), Duration::from_secs(10))?;
    Ok(socket.into())
}

/// Reads one response with a Content-Length body (or just its head).
fn read_response(stream: &mut TcpStream) -> io::Result<()> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return Ok(());
            }
        }
    }
}

fn main() {
    let port: u16 = arg("--port").and_then(|p| p.parse().ok()).unwrap_or(8080);
    let conns: usize = arg("--conns")
        .and_then(|c| c.parse().ok())
        .unwrap_or(10_000);
    let slow = arg("--mode").as_deref() == Some("slow");
    let hold = Duration::from_secs(arg("--hold").and_then(|h| h.parse().ok()).unwrap_or(300));
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let request: &[u8] = if slow {
        b"GET /stream/bytes?n=1073741824&chunk=65536 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    } else {
        b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    };
    let started = Instant::now();
    let mut open: Vec<TcpStream> = Vec::with_capacity(conns);
    let mut errors = 0usize;
    let mut first_error = None;
    while open.len() + errors < conns {
        let batch = (conns - open.len() - errors).min(100);
        let mut fresh = Vec::with_capacity(batch);
        for _ in 0..batch {
            match connect(addr, slow).and_then(|mut s| s.write_all(request).map(|_| s)) {
                Ok(s) => fresh.push(s),
                Err(e) => {
                    errors += 1;
                    first_error.get_or_insert(e);
                }
            }
        }
        for mut s in fresh {
            if slow {
                open.push(s);
                continue;
            }
            s.set_read_timeout(Some(Duration::from_secs(10))).ok();
            match read_response(&mut s) {
                Ok(()) => open.push(s),
                Err(e) => {
                    errors += 1;
                    first_error.get_or_insert(e);
                }
            }
        }
        if errors > 0 && errors >= conns / 10 {
            break;
        }
    }
    if let Some(e) = first_error {
        eprintln!("idleconns: {errors} connections failed; first error: {e}");
    }
    eprintln!(
        "idleconns: {} connections open in {:.1} s",
        open.len(),
        started.elapsed().as_secs_f64()
    );
    println!("READY {}", open.len());
    io::stdout().flush().ok();
    std::thread::sleep(hold);
}
