//! The physical ceiling of streaming on this machine: one TCP connection over
//! loopback carrying 1 GiB (by default) in 64 KiB write()s, no HTTP framing
//! beyond a fixed response head (so `curl` can read it like the HTTP servers).
//!
//!   rawcopy serve --port N [--bytes B] [--chunk K]
//!       accepts connections one at a time; on each, waits for a request
//!       head ("\r\n\r\n"), then writes "HTTP/1.1 200 OK" with
//!       Content-Length: B and B bytes of a-z in K-byte write()s.
//!   rawcopy read --port N [--bytes B]
//!       connects, sends a request, reads to EOF with 64 KiB read()s and
//!       prints the body's rate in bytes per second (what curl's
//!       %{speed_download} reports).
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Instant;

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz";

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    for (i, a) in args.iter().enumerate() {
        if a == name {
            return args[i + 1].parse().expect("number");
        }
        if let Some(v) = a.strip_prefix(&format!("{name}=")) {
            return v.parse().expect("number");
        }
    }
    default
}

fn serve(port: u16, bytes: u64, chunk: usize) -> io::Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    let pattern: Vec<u8> = ALPHABET.iter().copied().cycle().take(chunk + 26).collect();
    for stream in listener.incoming() {
        let mut stream = stream?;
        let mut head = Vec::new();
        let mut b = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut b)?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&b[..n]);
        }
        let response_head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {bytes}\r\nConnection: close\r\n\r\n"
        );
        if stream.write_all(response_head.as_bytes()).is_err() {
            continue;
        }
        let mut sent = 0u64;
        while sent < bytes {
            let len = (bytes - sent).min(chunk as u64) as usize;
            let start = (sent % 26) as usize;
            if stream.write_all(&pattern[start..start + len]).is_err() {
                break;
            }
            sent += len as u64;
        }
    }
    Ok(())
}

fn read(port: u16, bytes: u64) -> io::Result<()> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.write_all(b"GET /stream/bytes HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut buf = vec![0u8; 64 * 1024];
    let start = Instant::now();
    let mut total = 0u64;
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    let secs = start.elapsed().as_secs_f64();
    if total < bytes {
        eprintln!("rawcopy: short read: {total} of {bytes}");
    }
    println!("{:.0}", total as f64 / secs);
    Ok(())
}

fn main() -> io::Result<()> {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let port = arg("--port", 8080) as u16;
    let bytes = arg("--bytes", 1 << 30);
    match mode.as_str() {
        "serve" => serve(port, bytes, arg("--chunk", 64 * 1024) as usize),
        "read" => read(port, bytes),
        _ => {
            eprintln!("usage: rawcopy serve|read --port N [--bytes B] [--chunk K]");
            std::process::exit(2);
        }
    }
}
