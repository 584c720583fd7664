//! `compress_response` over real sockets: Python Tornado 6.6 with
//! `compress_response=True` serving the same handlers gives the same
//! statuses, the same `Content-Encoding`, `Vary`, `Etag` and framing
//! decisions, and the same bodies once decoded; curl `--compressed` and
//! Python's `http.client` + `gzip` decode our bodies to the uncompressed
//! bytes; each flush of a streamed response decodes as it arrives; a
//! keep-alive connection mixes compressed and plain responses; and a 1 GiB
//! compressed stream keeps memory flat. The parity tests are skipped (with
//! a line on stderr) without Python's tornado.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use test_support::{
    app_server, fetch, python_stdout, python_tornado_or_skip, read_response, Response,
    ServerThread, TornadoApp,
};
use tornado::gen::sleep;
use tornado::web::{url, Application, Handler, RequestHandler, Result, Settings};

/// The Python twin of [`rust_app`].
const PYTHON_APP: &str = r#"
import asyncio
import tornado.web

TEXT = "".join("line %d: the quick brown fox jumps over the lazy dog\n" % i for i in range(100))

class Small(tornado.web.RequestHandler):
    def get(self):
        self.write("hello")

class Text(tornado.web.RequestHandler):
    def get(self):
        self.write(TEXT)
    def head(self):
        self.get()

class Json(tornado.web.RequestHandler):
    def get(self):
        self.write({"items": list(range(400))})

class Png(tornado.web.RequestHandler):
    def get(self):
        self.set_header("Content-Type", "image/png")
        self.write(b"\x89PNG" + bytes(range(256)) * 8)

class Stream(tornado.web.RequestHandler):
    async def get(self):
        for i in range(4):
            self.write(("piece %d " % i) * 50)
            await self.flush()
            await asyncio.sleep(0.02)
        self.write("end")
    async def head(self):
        await self.get()

class NoContent(tornado.web.RequestHandler):
    def get(self):
        self.set_status(204)

class OwnEncoding(tornado.web.RequestHandler):
    def get(self):
        self.set_header("Content-Encoding", "identity")
        self.write(TEXT)

class Varies(tornado.web.RequestHandler):
    def get(self):
        self.set_header("Vary", "Cookie")
        self.write(TEXT)

class Declared(tornado.web.RequestHandler):
    def get(self):
        self.set_header("Content-Length", str(len(TEXT)))
        self.write(TEXT)

handlers = [
    (r"/small", Small), (r"/text", Text), (r"/json", Json), (r"/png", Png),
    (r"/stream", Stream), (r"/204", NoContent), (r"/own", OwnEncoding),
    (r"/vary", Varies), (r"/declared", Declared),
]
app = tornado.web.Application(handlers, compress_response=True)
"#;

/// Python's `TEXT`: 5,5xx bytes of text, well past `MIN_LENGTH`.
fn text() -> String {
    (0..100)
        .map(|i| format!("line {i}: the quick brown fox jumps over the lazy dog\n"))
        .collect()
}

fn png() -> Vec<u8> {
    let mut body = b"\x89PNG".to_vec();
    for _ in 0..8 {
        body.extend(0..=255u8);
    }
    body
}

fn piece(i: usize) -> String {
    format!("piece {i} ").repeat(50)
}

struct Small;

impl RequestHandler for Small {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.write("hello")
    }
}

struct Text;

impl RequestHandler for Text {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.write(text())
    }

    async fn head(&mut self, cx: &mut Handler) -> Result {
        cx.write(text())
    }
}

struct Json;

impl RequestHandler for Json {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.write_json(&serde_json::json!({ "items": (0..400).collect::<Vec<_>>() }))
    }
}

struct Png;

impl RequestHandler for Png {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.set_header("Content-Type", "image/png")?;
        cx.write(png())
    }
}

struct Stream;

impl Stream {
    async fn pieces(cx: &mut Handler) -> Result {
        for i in 0..4 {
            cx.write(piece(i))?;
            cx.flush().await?;
            sleep(Duration::from_millis(20)).await;
        }
        cx.write("end")
    }
}

impl RequestHandler for Stream {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        Stream::pieces(cx).await
    }

    async fn head(&mut self, cx: &mut Handler) -> Result {
        Stream::pieces(cx).await
    }
}

struct NoContent;

impl RequestHandler for NoContent {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.set_status(204);
        Ok(())
    }
}

struct OwnEncoding;

impl RequestHandler for OwnEncoding {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.set_header("Content-Encoding", "identity")?;
        cx.write(text())
    }
}

struct Varies;

impl RequestHandler for Varies {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.set_header("Vary", "Cookie")?;
        cx.write(text())
    }
}

struct Declared;

impl RequestHandler for Declared {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.set_header("Content-Length", text().len())?;
        cx.write(text())
    }
}

/// Streams pieces, each flushed, and sends the next only once the client
/// has decoded the last (`acked` counts them): without a sync flush at
/// each `flush`, the client could not, and the test would time out.
struct AckedStream {
    acked: Arc<AtomicUsize>,
}

impl RequestHandler for AckedStream {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        for i in 0..4 {
            cx.write(piece(i))?;
            cx.flush().await?;
            let deadline = Instant::now() + Duration::from_secs(10);
            while self.acked.load(Ordering::SeqCst) <= i && Instant::now() < deadline {
                sleep(Duration::from_millis(2)).await;
            }
        }
        cx.write("end")
    }
}

/// `/big?mib=N`: N MiB of text, 64 KiB per flush: 60 KiB of one letter
/// and 4 KiB of noise each (over 4 KiB compressed, so a server that kept
/// what it compressed would grow by 1/16 of what it sends).
struct Big;

impl RequestHandler for Big {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        let mib: usize = cx.get_argument("mib")?.parse()?;
        cx.set_header("Content-Type", "text/plain")?;
        let noise = noise();
        let mut chunk = vec![b'a'; 64 * 1024];
        for i in 0..mib * 16 {
            let at = (i * 4099) % (noise.len() - 4096);
            chunk[60 * 1024..].copy_from_slice(&noise[at..at + 4096]);
            cx.write(&chunk)?;
            cx.flush().await?;
        }
        Ok(())
    }
}

/// 1 MiB from a xorshift generator: as good as incompressible.
fn noise() -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..1 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn settings() -> Settings {
    Settings {
        compress_response: true,
        ..Settings::default()
    }
}

fn rust_app(acked: Arc<AtomicUsize>) -> Application {
    Application::with_settings(
        [
            url("/small", || Small),
            url("/text", || Text),
            url("/json", || Json),
            url("/png", || Png),
            url("/stream", || Stream),
            url("/204", || NoContent),
            url("/own", || OwnEncoding),
            url("/vary", || Varies),
            url("/declared", || Declared),
            url("/acked", move || AckedStream {
                acked: acked.clone(),
            }),
            url("/big", || Big),
        ],
        settings(),
    )
}

/// Our server, shared by the tests that do not count acks.
fn ours() -> SocketAddr {
    static SERVER: OnceLock<ServerThread> = OnceLock::new();
    SERVER
        .get_or_init(|| app_server(rust_app(Arc::default())))
        .addr
}

fn tornado() -> SocketAddr {
    static SERVER: OnceLock<TornadoApp> = OnceLock::new();
    SERVER.get_or_init(|| TornadoApp::start(PYTHON_APP)).addr
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .unwrap_or_else(|err| panic!("not gzip ({err}): {data:?}"));
    out
}

/// `method path` over HTTP/1.1 with `extra` header lines, on a fresh
/// connection.
fn request(addr: SocketAddr, method: &str, path: &str, extra: &str) -> Response {
    let request = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\n{extra}\r\n");
    fetch(addr, request.as_bytes(), method == "HEAD")
}

/// The body as the client means it: decoded if it says gzip (a HEAD
/// response has none).
fn decoded(response: &Response) -> Vec<u8> {
    if response.header("content-encoding") == Some("gzip") && !response.body.is_empty() {
        gunzip(&response.body)
    } else {
        response.body.clone()
    }
}

/// What must be the same from Tornado and from us.
fn decisions(response: &Response) -> Vec<(&'static str, Option<String>)> {
    let value = |name| response.header(name).map(str::to_owned);
    let names: Vec<&str> = response.headers.iter().map(|(n, _)| n.as_str()).collect();
    vec![
        ("status", Some(response.status.to_string())),
        ("header names, in order", Some(names.join(" "))),
        ("content-type", value("content-type")),
        ("content-encoding", value("content-encoding")),
        ("vary", value("vary")),
        ("etag", value("etag")),
        ("transfer-encoding", value("transfer-encoding")),
        (
            "content-length (present)",
            value("content-length").map(|_| String::new()),
        ),
        (
            "body (decoded)",
            Some(String::from_utf8_lossy(&decoded(response)).into_owned()),
        ),
    ]
}

const GZIP: &str = "Accept-Encoding: gzip, deflate\r\n";

/// Every case, with what it shows.
const CASES: &[(&str, &str, &str)] = &[
    ("GET", "/small", GZIP), // below MIN_LENGTH: not compressed
    ("GET", "/text", GZIP),  // compressed, Content-Length of it
    ("GET", "/text", ""),    // no Accept-Encoding: plain, Vary still
    ("GET", "/text", "Accept-Encoding: gzip;q=0\r\n"), // Tornado only looks for "gzip"
    ("GET", "/text", "Accept-Encoding: GZIP\r\n"), // ... case sensitive
    ("GET", "/text", "Accept-Encoding: br\r\n"),
    ("GET", "/json", GZIP),
    ("GET", "/png", GZIP),    // not a compressible type
    ("GET", "/stream", GZIP), // chunked, compressed whatever the size
    ("GET", "/stream", ""),
    ("GET", "/204", GZIP),
    ("GET", "/own", GZIP),      // the handler's own Content-Encoding
    ("GET", "/vary", GZIP),     // Vary: Cookie, Accept-Encoding
    ("GET", "/declared", GZIP), // a declared Content-Length replaced
    ("GET", "/missing", GZIP),  // the 404 page varies too
    ("HEAD", "/text", GZIP),
    ("HEAD", "/text", ""),
    ("HEAD", "/stream", GZIP),
];

#[test]
fn tornado_parity_for_each_case() {
    if !python_tornado_or_skip("tornado_parity_for_each_case") {
        return;
    }
    for &(method, path, extra) in CASES {
        let theirs = request(tornado(), method, path, extra);
        let mine = request(ours(), method, path, extra);
        assert_eq!(
            decisions(&mine),
            decisions(&theirs),
            "{method} {path} {extra:?}\nours: {mine:?}\nTornado's: {theirs:?}"
        );
        if mine.header("content-encoding") == Some("gzip") && method == "GET" {
            assert_ne!(
                mine.body,
                decoded(&mine),
                "{method} {path}: sent compressed"
            );
        }
    }
}

#[test]
fn tornado_parity_for_head_lengths_and_the_etag() {
    if !python_tornado_or_skip("tornado_parity_for_head_lengths_and_the_etag") {
        return;
    }
    for server in [tornado(), ours()] {
        // HEAD announces the length of the compressed GET body.
        let get = request(server, "GET", "/text", GZIP);
        let head = request(server, "HEAD", "/text", GZIP);
        assert_eq!(get.header("content-encoding"), Some("gzip"));
        let length = get.body.len().to_string();
        assert_eq!(get.header("content-length"), Some(&*length));
        assert_eq!(head.header("content-length"), Some(&*length), "{server}");
    }
    // The Etag is the uncompressed body's (Tornado computes it first),
    // so the same from both, compressed or not.
    let etag = request(tornado(), "GET", "/text", GZIP);
    let etag = etag.header("etag").unwrap().to_owned();
    for extra in [GZIP, ""] {
        assert_eq!(
            request(ours(), "GET", "/text", extra).header("etag"),
            Some(&*etag)
        );
    }
    // If-None-Match with it: 304 from both, with Vary, no Content-Encoding.
    for extra in [GZIP, ""] {
        let extra = format!("{extra}If-None-Match: {etag}\r\n");
        let theirs = request(tornado(), "GET", "/text", &extra);
        let mine = request(ours(), "GET", "/text", &extra);
        assert_eq!(mine.status, 304);
        assert_eq!(decisions(&mine), decisions(&theirs), "{extra:?}");
    }
}

/// Runs curl with `args` against our server; its stdout.
fn curl(args: &[&str], url: &str) -> Vec<u8> {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "20"])
        .args(args)
        .arg(url)
        .output()
        .expect("curl runs");
    assert!(out.status.success(), "curl {args:?} {url}: {out:?}");
    out.stdout
}

#[test]
fn curl_compressed_gets_the_uncompressed_bytes() {
    if Command::new("curl").arg("--version").output().is_err() {
        eprintln!("skipped: curl_compressed_gets_the_uncompressed_bytes: no curl");
        return;
    }
    for path in ["/text", "/json", "/stream", "/small", "/png"] {
        let url = format!("http://{}{path}", ours());
        let plain = curl(&[], &url);
        let compressed = curl(&["--compressed"], &url);
        assert_eq!(compressed, plain, "{path}");
        // curl did ask for (and got) gzip where it applies.
        let head = curl(&["--compressed", "-o", "/dev/null", "-D", "-"], &url);
        let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
        let gzipped = head.contains("content-encoding: gzip");
        assert_eq!(
            gzipped,
            !matches!(path, "/small" | "/png"),
            "{path}: {head}"
        );
    }
    let url = format!("http://{}/text", ours());
    assert_eq!(curl(&["--compressed"], &url), text().as_bytes());
}

#[test]
fn python_http_client_and_gzip_decode_our_bodies() {
    let program = format!(
        r#"
import gzip, http.client, json
TEXT = "".join("line %d: the quick brown fox jumps over the lazy dog\n" % i for i in range(100))
expected = {{
    "/text": TEXT.encode(),
    "/json": json.dumps({{"items": list(range(400))}}).encode(),
    "/stream": "".join(("piece %d " % i) * 50 for i in range(4)).encode() + b"end",
}}
conn = http.client.HTTPConnection("127.0.0.1", {port})
for path, body in expected.items():
    conn.request("GET", path, headers={{"Accept-Encoding": "gzip"}})
    response = conn.getresponse()
    raw = response.read()
    assert response.getheader("Content-Encoding") == "gzip", path
    assert gzip.decompress(raw) == body, path
    print(path, response.getheader("Vary"), len(body))
"#,
        port = ours().port()
    );
    let out = python_stdout(&program);
    let json_len =
        serde_json::to_vec(&serde_json::json!({ "items": (0..400).collect::<Vec<_>>() }))
            .unwrap()
            .len()
            + 400; // Python's ", " and ": " separators
    let stream_len = (0..4).map(|i| piece(i).len()).sum::<usize>() + 3;
    assert_eq!(
        out,
        format!(
            "/text Accept-Encoding {}\n/json Accept-Encoding {json_len}\n/stream Accept-Encoding {stream_len}\n",
            text().len()
        )
    );
}

/// Reads one chunk of a chunked body; `None` at the last chunk.
fn read_chunk(reader: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let size = usize::from_str_radix(line.trim_end(), 16).unwrap();
    let mut chunk = vec![0; size + 2];
    reader.read_exact(&mut chunk).unwrap();
    assert!(chunk.ends_with(b"\r\n"));
    chunk.truncate(size);
    (size > 0).then_some(chunk)
}

/// Reads a response head; its lines, lower-cased.
fn read_head(reader: &mut impl BufRead) -> String {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).unwrap() > 0, "EOF in {head:?}");
        head.push_str(&line.to_ascii_lowercase());
        if line == "\r\n" {
            return head;
        }
    }
}

#[test]
fn each_flush_decodes_as_it_arrives() {
    let acked = Arc::new(AtomicUsize::new(0));
    let server = app_server(rust_app(acked.clone()));
    let sock = TcpStream::connect(server.addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut reader = BufReader::new(sock);
    reader
        .get_mut()
        .write_all(b"GET /acked HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n")
        .unwrap();
    let head = read_head(&mut reader);
    assert!(head.contains("content-encoding: gzip\r\n"), "{head}");
    assert!(head.contains("transfer-encoding: chunked\r\n"), "{head}");
    assert!(!head.contains("content-length"), "{head}");
    let mut decoder = flate2::write::GzDecoder::new(Vec::new());
    let mut expected = Vec::new();
    for i in 0..4 {
        expected.extend_from_slice(piece(i).as_bytes());
        // The piece's chunks until it decodes whole; a read times out
        // (and the test fails) if the server held part of it back.
        while decoder.get_ref().len() < expected.len() {
            let chunk = read_chunk(&mut reader).expect("more of the stream");
            decoder.write_all(&chunk).unwrap();
            decoder.flush().unwrap();
        }
        assert_eq!(decoder.get_ref(), &expected, "piece {i}");
        acked.store(i + 1, Ordering::SeqCst);
    }
    while let Some(chunk) = read_chunk(&mut reader) {
        decoder.write_all(&chunk).unwrap();
    }
    expected.extend_from_slice(b"end");
    assert_eq!(decoder.finish().unwrap(), expected);
}

#[test]
fn keep_alive_connection_serves_compressed_then_plain() {
    let mut sock = TcpStream::connect(ours()).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let stream = ((0..4).map(piece).collect::<String>() + "end").into_bytes();
    let (text, png) = (text().into_bytes(), png());
    let cases: [(&str, &str, &[u8], bool); 7] = [
        ("/text", GZIP, &text, true),
        ("/text", "", &text, false),
        ("/stream", GZIP, &stream, true),
        ("/stream", "", &stream, false),
        ("/small", GZIP, b"hello", false),
        ("/png", GZIP, &png, false),
        ("/text", GZIP, &text, true),
    ];
    let check = |response: &Response, &(path, _, body, gzipped): &(&str, &str, &[u8], bool)| {
        assert_eq!(response.status, 200, "{path}");
        let encoding = response.header("content-encoding");
        assert_eq!(encoding == Some("gzip"), gzipped, "{path}");
        assert_eq!(decoded(response), body, "{path}");
    };
    // One after the other, then all pipelined.
    for case in &cases {
        let request = format!("GET {} HTTP/1.1\r\nHost: x\r\n{}\r\n", case.0, case.1);
        sock.write_all(request.as_bytes()).unwrap();
        check(&read_response(&mut sock, false), case);
    }
    let pipelined: String = cases
        .iter()
        .map(|case| format!("GET {} HTTP/1.1\r\nHost: x\r\n{}\r\n", case.0, case.1))
        .collect();
    sock.write_all(pipelined.as_bytes()).unwrap();
    for case in &cases {
        check(&read_response(&mut sock, false), case);
    }
}

/// This process's `/proc/self/status` field `VmRSS`, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A chunked body as a `Read`: what the sampler sees at each chunk.
struct ChunkedBody<R, F> {
    reader: R,
    chunk: Vec<u8>,
    at: usize,
    /// Compressed bytes read so far.
    total: u64,
    next_sample: u64,
    sample: F,
}

impl<R: BufRead, F: FnMut()> Read for ChunkedBody<R, F> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.chunk.len() {
            let Some(chunk) = read_chunk(&mut self.reader) else {
                return Ok(0);
            };
            self.total += chunk.len() as u64;
            if self.total >= self.next_sample {
                (self.sample)();
                self.next_sample += 4 << 20;
            }
            (self.chunk, self.at) = (chunk, 0);
        }
        let n = out.len().min(self.chunk.len() - self.at);
        out[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Streams `/big?mib=N` compressed through a decoder that keeps nothing;
/// calls `sample` every 4 MiB of compressed input. Returns (decoded,
/// compressed) byte counts.
fn stream_big(addr: SocketAddr, mib: usize, sample: impl FnMut()) -> (u64, u64) {
    let sock = TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut reader = BufReader::with_capacity(64 * 1024, sock);
    let request = format!("GET /big?mib={mib} HTTP/1.1\r\nHost: x\r\n{GZIP}\r\n");
    reader.get_mut().write_all(request.as_bytes()).unwrap();
    let head = read_head(&mut reader);
    assert!(head.contains("content-encoding: gzip\r\n"), "{head}");
    let body = ChunkedBody {
        reader,
        chunk: Vec::new(),
        at: 0,
        total: 0,
        next_sample: 0,
        sample,
    };
    // Reading to the end checks the gzip trailer: the CRC and length.
    let mut decoder = flate2::read::GzDecoder::new(body);
    let decoded = std::io::copy(&mut decoder, &mut std::io::sink()).unwrap();
    (decoded, decoder.into_inner().total)
}

#[test]
fn one_gib_compressed_keeps_memory_flat() {
    let addr = ours();
    // Warm up (first-use allocations, the deflate tables) then measure.
    let (decoded, _) = stream_big(addr, 16, || {});
    assert_eq!(decoded, 16 << 20);
    let baseline = rss_kib();
    let mut peak = baseline;
    let started = Instant::now();
    let (decoded, compressed) = stream_big(addr, 1024, || peak = peak.max(rss_kib()));
    assert_eq!(decoded, 1 << 30);
    // What a server keeping its output would have grown by.
    assert!(
        compressed > 48 << 20,
        "compressed to {compressed} bytes only"
    );
    let grown = peak.saturating_sub(baseline);
    eprintln!(
        "1 GiB compressed to {} MiB in {:?}; RSS baseline {baseline} KiB, peak {peak} KiB",
        compressed >> 20,
        started.elapsed()
    );
    assert!(grown < 24 * 1024, "RSS grew by {grown} KiB");
}
