//! `Handler::write_bytes`: a chunk appended without a copy must make the
//! same response as the same bytes given to `write` (Content-Length, Etag,
//! 304, HEAD), keep its place among other writes, and stream chunk by chunk
//! (checked with curl, an independent client).

use std::process::Command;

use test_support::{app_server, fetch, ServerThread};
use tornado::web::{url, Application, Bytes, Handler, RequestHandler, Result};

const GREETING: &[u8] = b"Hello, shared world";

/// The greeting through `write_bytes` (`shared`) or `write`.
struct Greeting {
    shared: bool,
}

impl RequestHandler for Greeting {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        if self.shared {
            cx.write_bytes(Bytes::from_static(GREETING))
        } else {
            cx.write(GREETING)
        }
    }

    async fn head(&mut self, cx: &mut Handler) -> Result {
        self.get(cx).await
    }
}

/// Shared and copied pieces in turn; the body must keep their order.
struct Mixed;

impl RequestHandler for Mixed {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.write_bytes(Bytes::from_static(b"ab"))?;
        cx.write("cd")?;
        cx.write_bytes(Bytes::from_static(b"ef"))?;
        cx.write_bytes(Bytes::from_static(b"gh"))?;
        cx.flush().await?;
        cx.write_bytes(Bytes::from_static(b"ij"))?;
        cx.write("kl")?;
        cx.finish()?;
        // After finish, refused like `write`.
        assert!(cx.write_bytes(Bytes::from_static(b"late")).is_err());
        Ok(())
    }
}

/// `CHUNKS` slices of one buffer, each flushed on its own.
struct Stream;

const CHUNK: usize = 100 * 1024;
const CHUNKS: usize = 7;

fn pattern() -> Bytes {
    (0..CHUNK + 251).map(|i| (i % 251) as u8).collect()
}

impl RequestHandler for Stream {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        let pattern = pattern();
        for i in 0..CHUNKS {
            cx.write_bytes(pattern.slice(i..i + CHUNK))?;
            cx.flush().await?;
        }
        Ok(())
    }
}

fn server() -> ServerThread {
    app_server(Application::new([
        url(r"/shared", || Greeting { shared: true }),
        url(r"/copied", || Greeting { shared: false }),
        url(r"/mixed", || Mixed),
        url(r"/stream", || Stream),
    ]))
}

fn get(server: &ServerThread, method: &str, path: &str, extra: &str) -> test_support::Response {
    let request =
        format!("{method} {path} HTTP/1.1\r\nHost: x\r\n{extra}Connection: close\r\n\r\n");
    fetch(server.addr, request.as_bytes(), method == "HEAD")
}

#[test]
fn a_shared_chunk_makes_the_same_response_as_a_copied_one() {
    let server = server();
    let shared = get(&server, "GET", "/shared", "");
    let copied = get(&server, "GET", "/copied", "");
    assert_eq!(shared.status, 200);
    assert_eq!(shared.body, GREETING);
    assert_eq!(shared.body, copied.body);
    for name in ["Content-Length", "Etag", "Content-Type"] {
        assert_eq!(shared.header(name), copied.header(name), "{name}");
    }
    assert_eq!(shared.header("Content-Length"), Some("19"));

    let etag = shared.header("Etag").expect("an Etag").to_owned();
    let cached = get(
        &server,
        "GET",
        "/shared",
        &format!("If-None-Match: {etag}\r\n"),
    );
    assert_eq!(cached.status, 304);
    assert!(cached.body.is_empty());

    let head = get(&server, "HEAD", "/shared", "");
    assert_eq!(head.status, 200);
    assert_eq!(head.header("Content-Length"), Some("19"));
    assert!(head.body.is_empty());
}

#[test]
fn shared_and_copied_writes_keep_their_order() {
    let server = server();
    let response = get(&server, "GET", "/mixed", "");
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"abcdefghijkl");
    assert_eq!(response.header("Transfer-Encoding"), Some("chunked"));
}

#[test]
fn shared_chunks_stream_intact_to_curl() {
    let server = server();
    let output = Command::new("curl")
        .args(["-s", "--max-time", "20", "-D", "-"])
        .arg(format!("http://{}/stream", server.addr))
        .output()
        .expect("curl runs");
    assert!(output.status.success(), "curl failed: {output:?}");
    let raw = output.stdout;
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head")
        + 4;
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    let pattern = pattern();
    let expected: Vec<u8> = (0..CHUNKS)
        .flat_map(|i| pattern.slice(i..i + CHUNK))
        .collect();
    assert_eq!(raw[end..].len(), expected.len());
    assert!(raw[end..] == expected[..], "the streamed bytes differ");
}
