//! The ceiling: a bare single-threaded mio loop that answers every request
//! with one canned plaintext response, without parsing anything. It counts
//! "\r\n\r\n" in what it reads (across reads, so pipelined and split
//! requests work) and writes one response per occurrence. Every endpoint
//! gets the plaintext answer. No HTTP server built on this design can beat it.
//!
//! `ceiling --port N`
use std::io::{self, Read, Write};
use std::net::SocketAddr;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use slab::Slab;

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nServer: ceiling\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nDate: Thu, 01 Jan 2026 00:00:00 GMT\r\n\r\nHello, World!";
const LISTENER: Token = Token(usize::MAX);

struct Conn {
    stream: TcpStream,
    /// How many bytes of "\r\n\r\n" the previous read ended with.
    matched: u8,
    /// Responses that did not fit in the socket yet.
    pending: Vec<u8>,
}

fn port_arg() -> u16 {
    let args: Vec<String> = std::env::args().collect();
    for (i, a) in args.iter().enumerate() {
        if a == "--port" {
            return args[i + 1].parse().expect("--port N");
        }
        if let Some(v) = a.strip_prefix("--port=") {
            return v.parse().expect("--port=N");
        }
    }
    8080
}

/// Counts request ends in `data`, continuing the partial match `state`.
fn count_ends(data: &[u8], state: &mut u8) -> usize {
    const END: &[u8; 4] = b"\r\n\r\n";
    let mut count = 0;
    let mut m = *state as usize;
    for &b in data {
        if b == END[m] {
            m += 1;
            if m == 4 {
                count += 1;
                m = 0;
            }
        } else {
            m = usize::from(b == b'\r');
        }
    }
    *state = m as u8;
    count
}

/// Writes `pending` as far as the socket takes it. Ok(true): all written.
fn write_pending(conn: &mut Conn) -> io::Result<bool> {
    while !conn.pending.is_empty() {
        match conn.stream.write(&conn.pending) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                conn.pending.drain(..n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Handles readiness on one connection. Ok(false): close it.
///
/// As tight as the design allows: each connection is registered once for
/// both directions (edge-triggered), a read shorter than the buffer means
/// the socket is drained (the next bytes bring a new edge), so a request
/// costs one read and one write, with no EAGAIN probe and no re-registration.
/// Once the peer has closed its side (`read_closed`) no edge will follow, so
/// the loop then reads on to the end of the stream.
fn drive(conn: &mut Conn, buf: &mut [u8], read_closed: bool) -> io::Result<bool> {
    loop {
        match conn.stream.read(buf) {
            Ok(0) => {
                // The peer is done sending: answer what it asked, then close.
                write_pending(conn)?;
                return Ok(false);
            }
            Ok(n) => {
                let requests = count_ends(&buf[..n], &mut conn.matched);
                for _ in 0..requests {
                    conn.pending.extend_from_slice(RESPONSE);
                }
                if n < buf.len() && !read_closed {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    // What does not fit now goes when the writable edge comes.
    write_pending(conn)?;
    Ok(true)
}

fn main() -> io::Result<()> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port_arg()));
    let mut listener = TcpListener::bind(addr)?;
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut events = Events::with_capacity(1024);
    let mut conns: Slab<Conn> = Slab::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for event in events.iter() {
            if event.token() == LISTENER {
                loop {
                    match listener.accept() {
                        Ok((mut stream, _)) => {
                            let _ = stream.set_nodelay(true);
                            let entry = conns.vacant_entry();
                            let token = Token(entry.key());
                            poll.registry().register(
                                &mut stream,
                                token,
                                Interest::READABLE | Interest::WRITABLE,
                            )?;
                            entry.insert(Conn {
                                stream,
                                matched: 0,
                                pending: Vec::new(),
                            });
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        // EMFILE and friends: try again on the next event.
                        Err(_) => break,
                    }
                }
                continue;
            }
            let token = event.token();
            let keep = match conns.get_mut(token.0) {
                Some(conn) => drive(conn, &mut buf, event.is_read_closed()).unwrap_or(false),
                None => continue,
            };
            if !keep {
                let mut conn = conns.remove(token.0);
                let _ = poll.registry().deregister(&mut conn.stream);
            }
        }
    }
}
