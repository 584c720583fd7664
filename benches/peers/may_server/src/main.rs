//! may_minihttp peer: one may worker.
//!
//! `may_server --port N`; serves GET /plaintext and GET /json.
//! /stream/bytes is not served: may_minihttp's Response is a single
//! in-memory body with no streaming (write + flush) API, so a 1 GiB
//! chunked response cannot be written the way the other servers write it.
use std::io;

use may_minihttp::{HttpServer, HttpService, Request, Response};

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

#[derive(Clone)]
struct Bench;

impl HttpService for Bench {
    fn call(&mut self, req: Request, rsp: &mut Response) -> io::Result<()> {
        match req.path() {
            "/plaintext" => {
                rsp.header("Content-Type: text/plain").body("Hello, World!");
            }
            "/json" => {
                rsp.header("Content-Type: application/json")
                    .body(r#"{"message":"Hello, World!"}"#);
            }
            _ => {
                rsp.status_code(404, "Not Found").body("Not Found");
            }
        }
        Ok(())
    }
}

fn main() {
    may::config().set_workers(1);
    let server = HttpServer(Bench)
        .start(("127.0.0.1", port_arg()))
        .expect("listen");
    server.join().unwrap();
}
