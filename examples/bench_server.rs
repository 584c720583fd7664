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
//! - `GET /json`: `{"message": "Hello, World!"}` from `write_json` (Tornado's
//!   `self.write(dict)`, with Python's spacing);
//! - `GET /stream/bytes?n=N&chunk=K`: N bytes, byte i being
//!   `b"abcdefghijklmnopqrstuvwxyz"[i % 26]`, written K bytes at a time
//!   (default 4096, at most 1 MiB) with `write_bytes` (slices of one buffer, no copy) then
//!   `flush().await` after each chunk, so a
//!   slow client holds the handler back instead of the response piling up
//!   in memory. No Content-Length: the response is chunked.
//!
//! Written only with the public API, as a user writes a Tornado app: a
//! `web::Application` of `RequestHandler`s. `--threads N` (N > 1) binds one
//! SO_REUSEPORT listener per thread with `bind` + `start(N)`, one IOLoop
//! each. As with Tornado, pass `--logging warning` to drop the per-request
//! access log line.

use std::process::ExitCode;

use serde::Serialize;

use tornado::httpserver::HTTPServer;
use tornado::ioloop::IOLoop;
use tornado::options::OptionParser;
use tornado::web::{url, Application, Bytes, HTTPError, Handler, RequestHandler, Result};

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz";

/// `GET /plaintext`.
struct Plaintext;

impl RequestHandler for Plaintext {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.set_header("Content-Type", "text/plain")?;
        cx.write("Hello, World!")
    }
}

/// The JSON body, serialized per request (a `dict` in the Tornado peer).
#[derive(Serialize)]
struct Message {
    message: &'static str,
}

/// `GET /json`.
struct Json;

impl RequestHandler for Json {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.write_json(&Message {
            message: "Hello, World!",
        })
    }
}

/// `GET /stream/bytes?n=N&chunk=K`.
struct StreamBytes;

impl RequestHandler for StreamBytes {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        let number = |value: String| value.parse::<u64>().map_err(|_| HTTPError::new(400));
        let n = number(cx.get_argument("n")?)?;
        // At most 1 MiB: the pattern is allocated whole.
        let chunk = number(cx.get_argument_or("chunk", "4096")?)?.clamp(1, 1 << 20);
        let chunk = usize::try_from(chunk).map_err(|_| HTTPError::new(400))?;
        // The pattern once, long enough that any chunk is one slice of it.
        // Each chunk is a slice of one buffer, sent without a copy.
        let pattern: Bytes = ALPHABET.iter().copied().cycle().take(chunk + 26).collect();
        cx.set_header("Content-Type", "application/octet-stream")?;
        let mut sent = 0u64;
        while sent < n {
            let len = usize::try_from((n - sent).min(chunk as u64)).unwrap_or(chunk);
            let start = usize::try_from(sent % 26).unwrap_or(0);
            cx.write_bytes(pattern.slice(start..start + len))?;
            // Waits while the client is slow; fails if it left.
            cx.flush().await?;
            sent += len as u64;
        }
        cx.finish()
    }
}

fn main() -> ExitCode {
    let mut options = OptionParser::new();
    options.define("port", 8080_u16, "TCP port to listen on (127.0.0.1)");
    options.define("threads", 1_usize, "IOLoop threads (0: one per core)");
    options.parse_command_line();
    let port: u16 = options.get("port");
    let threads: usize = options.get("threads");

    let app = Application::new([
        url(r"/plaintext", || Plaintext),
        url(r"/json", || Json),
        url(r"/stream/bytes", || StreamBytes),
    ]);
    let server = HTTPServer::new(app);
    let listening = if threads == 1 {
        server.listen(port, "127.0.0.1").map(drop)
    } else {
        server
            .bind(port, "127.0.0.1", 128, true)
            .and_then(|_| server.start(threads))
    };
    if let Err(err) = listening {
        // The port is taken, or below 1024 without the privilege to bind it.
        eprintln!("error: cannot listen on 127.0.0.1:{port}: {err}");
        return ExitCode::FAILURE;
    }
    match IOLoop::current().start() {
        Ok(()) => ExitCode::SUCCESS,
        // The OS refused the loop's own machinery (epoll).
        Err(err) => {
            eprintln!("error: event loop failed: {err}");
            ExitCode::FAILURE
        }
    }
}
