//! actix-web 4 peer: one worker.
//!
//! `actix_server --port N`; serves GET /plaintext, GET /json and
//! GET /stream/bytes?n=N&chunk=K (N bytes of a-z repeating, K-byte chunks).
use std::time::Duration;

use actix_web::http::KeepAlive;
use actix_web::{get, web, App, HttpResponse, HttpServer};
use bytes::Bytes;
use futures_util::stream;
use serde::Deserialize;

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz";

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

#[get("/plaintext")]
async fn plaintext() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain")
        .body("Hello, World!")
}

#[get("/json")]
async fn json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(r#"{"message":"Hello, World!"}"#)
}

#[derive(Deserialize)]
struct StreamArgs {
    n: u64,
    chunk: Option<usize>,
}

#[get("/stream/bytes")]
async fn stream_bytes(args: web::Query<StreamArgs>) -> HttpResponse {
    let n = args.n;
    let chunk = args.chunk.unwrap_or(4096).max(1);
    // One buffer of the pattern; each chunk is a zero-copy slice of it.
    let pattern: Bytes = ALPHABET
        .iter()
        .copied()
        .cycle()
        .take(chunk + 26)
        .collect::<Vec<u8>>()
        .into();
    let chunks = stream::unfold(0u64, move |sent| {
        let pattern = pattern.clone();
        async move {
            if sent >= n {
                return None;
            }
            let len = (n - sent).min(chunk as u64) as usize;
            let start = (sent % 26) as usize;
            Some((
                Ok::<_, actix_web::Error>(pattern.slice(start..start + len)),
                sent + len as u64,
            ))
        }
    });
    HttpResponse::Ok()
        .content_type("application/octet-stream")
        .streaming(chunks)
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    HttpServer::new(|| {
        App::new()
            .service(plaintext)
            .service(json)
            .service(stream_bytes)
    })
    .workers(1)
    // actix closes idle keep-alive connections after 5 s by default; the
    // idle-connection benchmark holds them longer, as the other servers do.
    .keep_alive(KeepAlive::Timeout(Duration::from_secs(600)))
    .bind(("127.0.0.1", port_arg()))?
    .run()
    .await
}
