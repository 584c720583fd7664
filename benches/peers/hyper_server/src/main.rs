//! hyper 1.x peer: one tokio current_thread runtime, http1 only.
//!
//! `hyper_server --port N [--pipeline-flush]`; serves GET /plaintext,
//! GET /json and GET /stream/bytes?n=N&chunk=K (N bytes of a-z repeating,
//! K-byte frames).
//!
//! `--pipeline-flush` sets hyper's `pipeline_flush(true)`: responses to
//! pipelined requests leave in one write, as in hyper's own benchmarks and
//! TechEmpower's hyper entry (without it every pipelined response is a
//! write of its own, ~5x slower). It is off by default in hyper and
//! documented as experimental, and it is off here for streaming: with it,
//! hyper keeps polling a streamed body while the client does not read, so
//! a slow client's response piles up in memory (20 clients that read
//! nothing of a 1 GiB stream: 3.9 GB of RSS in 5 s, against 3.5 MB
//! without). benches/run.sh passes it for the request metrics only.
use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use futures_util::stream;
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE, SERVER};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz";

fn pipeline_flush_arg() -> bool {
    std::env::args().any(|a| a == "--pipeline-flush")
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

fn query_u64(query: Option<&str>, name: &str) -> Option<u64> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| v.parse().ok())
}

type Body = BoxBody<Bytes, Infallible>;

fn full(content_type: &'static str, body: &'static [u8]) -> Response<Body> {
    let mut res = Response::new(Full::new(Bytes::from_static(body)).boxed());
    let h = res.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(SERVER, HeaderValue::from_static("hyper"));
    res
}

async fn handle(req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    Ok(match req.uri().path() {
        "/plaintext" => full("text/plain", b"Hello, World!"),
        "/json" => full("application/json", br#"{"message":"Hello, World!"}"#),
        "/stream/bytes" => {
            let n = query_u64(req.uri().query(), "n").unwrap_or(0);
            let chunk = query_u64(req.uri().query(), "chunk").unwrap_or(4096).max(1) as usize;
            // One buffer of the pattern; each frame is a zero-copy slice of it.
            let pattern: Bytes = ALPHABET
                .iter()
                .copied()
                .cycle()
                .take(chunk + 26)
                .collect::<Vec<u8>>()
                .into();
            let frames = stream::unfold(0u64, move |sent| {
                let pattern = pattern.clone();
                async move {
                    if sent >= n {
                        return None;
                    }
                    let len = (n - sent).min(chunk as u64) as usize;
                    let start = (sent % 26) as usize;
                    let frame = Frame::data(pattern.slice(start..start + len));
                    Some((Ok::<_, Infallible>(frame), sent + len as u64))
                }
            });
            let mut res = Response::new(StreamBody::new(frames).boxed());
            res.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            res
        }
        _ => {
            let mut res = full("text/plain", b"Not Found");
            *res.status_mut() = StatusCode::NOT_FOUND;
            res
        }
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port_arg()));
    let pipeline_flush = pipeline_flush_arg();
    let listener = TcpListener::bind(addr).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        // As most hyper servers do: without it, Nagle's algorithm holds back
        // the second of two small back-to-back responses (pipelining).
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            let io = TokioIo::new(stream);
            let _ = http1::Builder::new()
                .pipeline_flush(pipeline_flush)
                .serve_connection(io, service_fn(handle))
                .await;
        });
    }
}
