//! The tornado-rs side of the benchmarks in `benches/` (issue 6).
//!
//! Run it from the repository root:
//!
//! ```text
//! cargo run --release --example bench_server -- --port 8080            # one IOLoop thread
//! cargo run --release --example bench_server -- --port=8080 --threads 2
//! curl http://127.0.0.1:8080/plaintext
//! curl http://127.0.0.1:8080/json
//! curl -o /dev/null 'http://127.0.0.1:8080/stream/bytes?n=1073741824&chunk=65536'
//! ```
//!
//! `benches/run.sh` builds it in release, pins it to one core and measures it
//! beside the peer servers in `benches/peers/` (hyper, actix-web,
//! may_minihttp, a bare-mio ceiling, Python Tornado).
//!
//! Endpoints (the same on every server):
//! - `GET /plaintext`: `Hello, World!` as text/plain;
//! - `GET /json`: `{"message":"Hello, World!"}` as application/json;
//! - `GET /stream/bytes?n=N&chunk=K`: N bytes, byte i being
//!   `b"abcdefghijklmnopqrstuvwxyz"[i % 26]`, written K bytes at a time
//!   (default 4096) with `write` then `flush().await` after each chunk, so a
//!   slow client holds the handler back instead of the response piling up
//!   in memory. No Content-Length: the response is chunked.
//!
//! Written only with the public API, as a user writes a server today: an
//! `HTTPServer` whose delegate is a plain async function of the request
//! (Tornado's `HTTPServer(request_callback)`), answering through
//! `request.connection`. `--threads N` (N > 1) binds one SO_REUSEPORT
//! listener per thread with `bind` + `start(N)`, one IOLoop each.

use std::process::ExitCode;

use tornado::httpserver::HTTPServer;
use tornado::httputil::{HTTPHeaders, HTTPServerRequest};
use tornado::ioloop::IOLoop;
use tornado::options::OptionParser;

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
const PLAINTEXT: &[u8] = b"Hello, World!";
const JSON: &[u8] = br#"{"message":"Hello, World!"}"#;

/// The last value of query argument `name`, as a number.
fn query_number(request: &HTTPServerRequest, name: &str) -> Option<u64> {
    let value = request.query_arguments.get(name)?.last()?;
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// Answers one request: Tornado's `request_callback(request)`.
async fn handle(request: HTTPServerRequest) {
    let Some(conn) = request.connection.clone() else {
        return;
    };
    let mut headers = HTTPHeaders::new();
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/plaintext") => {
            headers.set("Content-Type", "text/plain");
            headers.set("Content-Length", PLAINTEXT.len().to_string());
            if conn
                .write_headers(200, "", &headers, Some(PLAINTEXT))
                .is_ok()
            {
                let _ = conn.finish();
            }
        }
        ("GET", "/json") => {
            headers.set("Content-Type", "application/json");
            headers.set("Content-Length", JSON.len().to_string());
            if conn.write_headers(200, "", &headers, Some(JSON)).is_ok() {
                let _ = conn.finish();
            }
        }
        ("GET", "/stream/bytes") => {
            let n = query_number(&request, "n").unwrap_or(0);
            let chunk = query_number(&request, "chunk").unwrap_or(4096).max(1) as usize;
            // The pattern once, long enough that any chunk is one slice of it.
            let pattern: Vec<u8> = ALPHABET.iter().copied().cycle().take(chunk + 26).collect();
            headers.set("Content-Type", "application/octet-stream");
            if conn.write_headers(200, "", &headers, None).is_err() {
                return;
            }
            let mut sent = 0u64;
            while sent < n {
                let len = (n - sent).min(chunk as u64) as usize;
                let start = (sent % 26) as usize;
                if conn.write(&pattern[start..start + len]).is_err() {
                    return;
                }
                // Waits while the client is slow; fails if it left.
                if conn.flush().await.is_err() {
                    return;
                }
                sent += len as u64;
            }
            let _ = conn.finish();
        }
        _ => {
            headers.set("Content-Type", "text/plain");
            headers.set("Content-Length", "9");
            if conn
                .write_headers(404, "", &headers, Some(b"Not Found"))
                .is_ok()
            {
                let _ = conn.finish();
            }
        }
    }
}

fn main() -> ExitCode {
    let mut options = OptionParser::new();
    options.define("port", 8080_u16, "TCP port to listen on (127.0.0.1)");
    options.define("threads", 1_usize, "IOLoop threads (0: one per core)");
    options.parse_command_line();
    let port: u16 = options.get("port");
    let threads: usize = options.get("threads");

    let server = HTTPServer::new(handle);
    let listening = if threads == 1 {
        server.listen(port, "127.0.0.1").map(drop)
    } else {
        server
            .bind(port, "127.0.0.1", 128, true)
            .and_then(|_| server.start(threads))
    };
    if let Err(err) = listening {
        eprintln!("error: cannot listen on 127.0.0.1:{port}: {err}");
        return ExitCode::FAILURE;
    }
    match IOLoop::current().start() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: event loop failed: {err}");
            ExitCode::FAILURE
        }
    }
}
