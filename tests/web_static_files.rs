//! `StaticFileHandler` over real sockets: a directory served through the
//! `static_path` setting and an explicit route with `default_filename`,
//! answered as Python Tornado's `StaticFileHandler` answers the same
//! requests on the same directory (status, the headers that matter, body);
//! ranges, 304s, traversal and symlinks; curl as an independent client;
//! and a 1 GiB file to a pausing reader with the server's RSS flat.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use test_support::{
    app_server, assert_rss_bounded, fetch, python_tornado_or_skip, read_head, ExampleProcess,
    Response, ServerThread, TornadoApp,
};
use tornado::web::{
    url, Application, Handler, RequestHandler, Result, Settings, StaticFileHandler,
};

const HELLO: &[u8] = b"Hello, static world!\n";

/// A fresh directory under the system's temp dir.
fn temp_dir(tag: &str) -> PathBuf {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("tornado-rs-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `base/root` (served) and beside it `base/secret.txt` and `base/root2/`
/// (a sibling whose name starts with the root's).
struct Tree {
    base: PathBuf,
    root: PathBuf,
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

fn tree() -> &'static Tree {
    static TREE: OnceLock<Tree> = OnceLock::new();
    TREE.get_or_init(|| {
        let base = temp_dir("static");
        let root = base.join("root");
        let write = |path: &str, content: &[u8]| {
            let path = base.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        };
        write("secret.txt", b"top secret\n");
        write("root2/x.txt", b"not served\n");
        write("root/hello.txt", HELLO);
        write("root/robots.txt", b"User-agent: *\n");
        write("root/style.css", b"body { color: red }\n");
        write("root/app.js", b"console.log(1);\n");
        write("root/logo.png", b"\x89PNG\r\n\x1a\nnot really");
        write("root/pic.jpg", b"\xff\xd8\xff");
        write("root/icon.svg", b"<svg/>");
        write("root/data.json", b"{}");
        write("root/blob.unknownext", b"??");
        write("root/style.css.gz", b"\x1f\x8b not really");
        write("root/sub/index.html", b"<p>index</p>\n");
        write("root/sub/page.html", b"<p>page</p>\n");
        write("root/nodefault/a.txt", b"a\n");
        write(
            "root/big.bin",
            &(0..200_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>(),
        );
        write("root/empty.txt", b"");
        std::os::unix::fs::symlink(base.join("secret.txt"), root.join("link_out.txt")).unwrap();
        std::os::unix::fs::symlink(root.join("hello.txt"), root.join("link_in.txt")).unwrap();
        std::os::unix::fs::symlink(base.join("root2"), root.join("dir_out")).unwrap();
        // The same modification time for every file on both servers.
        Tree { base, root }
    })
}

/// Writes `cx.static_url(?path)`.
struct StaticUrl;

impl RequestHandler for StaticUrl {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        let path = cx.get_argument("path")?;
        let host = cx.get_argument_or("host", "")? == "1";
        let url = cx.static_url_with(&path, host, true)?;
        cx.write(url)
    }
}

fn rust_app(root: &Path) -> Application {
    let dir = StaticFileHandler::new(root).default_filename("index.html");
    let settings = Settings {
        static_path: Some(root.to_owned()),
        ..Settings::default()
    };
    Application::with_settings(
        [
            url(r"/dir/(.*)", move || dir.clone()),
            url(r"/url", || StaticUrl),
        ],
        settings,
    )
}

/// The Python twin of [`rust_app`]; prints its port on the first line.
const PYTHON_APP: &str = r#"
import tornado.web


class StaticUrl(tornado.web.RequestHandler):
    def get(self):
        self.write(self.static_url(self.get_argument("path"),
                                   include_host=self.get_argument("host", "") == "1"))

app = tornado.web.Application([
    (r"/dir/(.*)", tornado.web.StaticFileHandler, dict(path=root, default_filename="index.html")),
    (r"/url", StaticUrl),
], static_path=root)
"#;

/// Python Tornado serving the same app (`None`, and a line on stderr,
/// without Python's tornado); exits when the test process does.
fn python_tornado() -> Option<&'static TornadoApp> {
    static SERVER: OnceLock<Option<TornadoApp>> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            python_tornado_or_skip("the Tornado parity tests").then(|| {
                TornadoApp::start(&format!(
                    "root = {:?}\n{PYTHON_APP}",
                    tree().root.to_string_lossy()
                ))
            })
        })
        .as_ref()
}

fn rust_server() -> &'static ServerThread {
    static SERVER: OnceLock<ServerThread> = OnceLock::new();
    SERVER.get_or_init(|| app_server(rust_app(&tree().root)))
}

/// `METHOD target` with `extra` header lines, on a closing connection.
fn request(method: &str, target: &str, extra: &str) -> Vec<u8> {
    format!("{method} {target} HTTP/1.1\r\nHost: localhost\r\n{extra}Connection: close\r\n\r\n")
        .into_bytes()
}

fn send(addr: SocketAddr, method: &str, target: &str, extra: &str) -> Response {
    fetch(addr, &request(method, target, extra), method == "HEAD")
}

fn get(target: &str, extra: &str) -> Response {
    send(rust_server().addr, "GET", target, extra)
}

/// The headers both servers must agree on.
const COMPARED: &[&str] = &[
    "content-type",
    "content-length",
    "etag",
    "last-modified",
    "accept-ranges",
    "content-range",
    "location",
    "cache-control",
];

/// Status, the compared headers and the body, as text for a readable diff.
fn summary(response: &Response) -> String {
    let mut out = format!("{}\n", response.status);
    for name in COMPARED {
        if let Some(value) = response.header(name) {
            out.push_str(&format!("{name}: {value}\n"));
        }
    }
    // Expires is now + ten years: only whether it is there.
    if response.header("expires").is_some() {
        out.push_str("expires: <set>\n");
    }
    out.push_str(&String::from_utf8_lossy(&response.body));
    out
}

/// Asserts both servers answer each request alike.
fn assert_same_as_tornado(requests: &[(&str, &str, &str)]) {
    let Some(python) = python_tornado() else {
        return;
    };
    let rust = rust_server();
    for &(method, target, extra) in requests {
        let theirs = summary(&send(python.addr, method, target, extra));
        let ours = summary(&send(rust.addr, method, target, extra));
        assert_eq!(ours, theirs, "\n{method} {target} {extra:?}");
    }
}

#[test]
fn files_are_served_as_tornado_serves_them() {
    assert_same_as_tornado(&[
        ("GET", "/static/hello.txt", ""),
        ("HEAD", "/static/hello.txt", ""),
        ("GET", "/static/style.css", ""),
        ("GET", "/static/app.js", ""),
        ("GET", "/static/logo.png", ""),
        ("GET", "/static/pic.jpg", ""),
        ("GET", "/static/icon.svg", ""),
        ("GET", "/static/data.json", ""),
        ("GET", "/static/blob.unknownext", ""),
        ("GET", "/static/style.css.gz", ""),
        ("GET", "/static/empty.txt", ""),
        ("GET", "/static/big.bin", ""),
        ("GET", "/static/hello.txt?v=abc", ""),
        ("GET", "/robots.txt", ""),
        ("GET", "/favicon.ico", ""),
        ("GET", "/static/link_in.txt", ""),
    ]);
}

#[test]
fn ranges_are_answered_as_tornado_answers_them() {
    assert_same_as_tornado(&[
        ("GET", "/static/hello.txt", "Range: bytes=0-4\r\n"),
        ("GET", "/static/hello.txt", "Range: bytes=-6\r\n"),
        ("GET", "/static/hello.txt", "Range: bytes=7-\r\n"),
        ("GET", "/static/hello.txt", "Range: bytes=0-\r\n"),
        ("GET", "/static/hello.txt", "Range: bytes=5-1000\r\n"),
        ("GET", "/static/hello.txt", "Range: bytes=-1000\r\n"),
        ("GET", "/static/hello.txt", "Range: bytes=100-\r\n"),
        ("GET", "/static/hello.txt", "Range: bytes=-0\r\n"),
        ("GET", "/static/hello.txt", "Range: bytes=5-2\r\n"),
        ("GET", "/static/hello.txt", "Range: bytes=0-1,4-5\r\n"),
        ("GET", "/static/hello.txt", "Range: items=0-1\r\n"),
        ("HEAD", "/static/hello.txt", "Range: bytes=0-4\r\n"),
        ("GET", "/static/big.bin", "Range: bytes=65530-131080\r\n"),
        ("GET", "/static/empty.txt", "Range: bytes=0-\r\n"),
    ]);
}

#[test]
fn traversal_symlinks_and_directories_are_refused_as_by_tornado() {
    assert_same_as_tornado(&[
        ("GET", "/static/../secret.txt", ""),
        ("GET", "/static/%2e%2e/secret.txt", ""),
        ("GET", "/static/%2E%2E%2Fsecret.txt", ""),
        ("GET", "/static/sub/../../root2/x.txt", ""),
        ("GET", "/static/%2Fetc%2Fpasswd", ""),
        ("GET", "/static/link_out.txt", ""),
        ("GET", "/static/dir_out/x.txt", ""),
        ("GET", "/static/missing.txt", ""),
        ("GET", "/static/sub", ""),
        ("GET", "/static/", ""),
        ("GET", "/dir/sub", ""),
        ("GET", "/dir/sub?a=1", ""),
        ("GET", "/dir/sub/", ""),
        ("GET", "/dir/", ""),
        ("GET", "/dir/sub/page.html", ""),
        ("GET", "/dir/nodefault/", ""),
        ("GET", "/dir/hello.txt/", ""),
        ("POST", "/static/hello.txt", "Content-Length: 0\r\n"),
    ]);
}

#[test]
fn validators_give_304_as_tornado_does() {
    let plain = get("/static/hello.txt", "");
    let etag = plain.header("etag").unwrap().to_owned();
    let modified = plain.header("last-modified").unwrap().to_owned();
    let inm = format!("If-None-Match: {etag}\r\n");
    let ims = format!("If-Modified-Since: {modified}\r\n");
    let stale = "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n";
    let both_stale_tag = format!("If-None-Match: \"other\"\r\n{ims}");
    assert_same_as_tornado(&[
        ("GET", "/static/hello.txt", &inm),
        ("HEAD", "/static/hello.txt", &inm),
        ("GET", "/static/hello.txt", &ims),
        ("GET", "/static/hello.txt", stale),
        ("GET", "/static/hello.txt", "If-Modified-Since: garbage\r\n"),
        ("GET", "/static/hello.txt", &both_stale_tag),
        ("GET", "/static/hello.txt", "If-None-Match: *\r\n"),
    ]);
    // And without Tornado at hand, the statuses themselves.
    assert_eq!(get("/static/hello.txt", &inm).status, 304);
    assert_eq!(get("/static/hello.txt", &ims).status, 304);
    assert_eq!(get("/static/hello.txt", stale).status, 200);
    assert_eq!(get("/static/hello.txt", &both_stale_tag).status, 200);
}

#[test]
fn static_urls_are_tornados() {
    assert_same_as_tornado(&[
        ("GET", "/url?path=hello.txt", ""),
        ("GET", "/url?path=sub/index.html&host=1", ""),
        ("GET", "/url?path=missing.txt", ""),
        ("GET", "/url?path=../secret.txt", ""),
    ]);
}

#[test]
fn headers_and_bodies_are_right_without_tornado() {
    let r = get("/static/hello.txt", "");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, HELLO);
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    assert_eq!(
        r.header("etag"),
        Some(format!("\"{}\"", sha512_hex(HELLO)).as_str())
    );
    assert!(r.header("cache-control").is_none());
    let versioned = get("/static/hello.txt?v=1", "");
    assert_eq!(versioned.header("cache-control"), Some("max-age=315360000"));
    assert!(versioned.header("expires").is_some());
    let url = String::from_utf8(get("/url?path=hello.txt", "").body).unwrap();
    assert_eq!(url, format!("/static/hello.txt?v={}", sha512_hex(HELLO)));
    for (path, mime) in [
        ("style.css", "text/css"),
        ("app.js", "text/javascript"),
        ("logo.png", "image/png"),
        ("pic.jpg", "image/jpeg"),
        ("icon.svg", "image/svg+xml"),
        ("data.json", "application/json"),
        ("style.css.gz", "application/gzip"),
        ("blob.unknownext", "application/octet-stream"),
    ] {
        let r = get(&format!("/static/{path}"), "");
        assert_eq!(r.header("content-type"), Some(mime), "{path}");
    }
    let head = send(rust_server().addr, "HEAD", "/static/hello.txt", "");
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("21"));
}

#[test]
fn ranges_are_right_without_tornado() {
    let range = |spec: &str| get("/static/hello.txt", &format!("Range: bytes={spec}\r\n"));
    let first = range("0-4");
    assert_eq!((first.status, &first.body[..]), (206, &b"Hello"[..]));
    assert_eq!(first.header("content-range"), Some("bytes 0-4/21"));
    let suffix = range("-6");
    assert_eq!((suffix.status, &suffix.body[..]), (206, &b"world!\n"[1..]));
    assert_eq!(suffix.header("content-range"), Some("bytes 15-20/21"));
    let open = range("7-");
    assert_eq!((open.status, &open.body[..]), (206, &HELLO[7..]));
    let whole = range("0-");
    assert_eq!((whole.status, &whole.body[..]), (200, HELLO));
    let past = range("21-");
    assert_eq!(past.status, 416);
    assert_eq!(past.header("content-range"), Some("bytes */21"));
    assert!(past.body.is_empty());
    let list = range("0-1,4-5");
    assert_eq!((list.status, &list.body[..]), (200, HELLO));
    // A range across the 64 KiB chunks.
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let part = get("/static/big.bin", "Range: bytes=65530-131080\r\n");
    assert_eq!(part.status, 206);
    assert_eq!(part.body, &big[65530..=131080]);
}

#[test]
fn traversal_is_refused_without_tornado() {
    for (target, status) in [
        ("/static/../secret.txt", 403),
        ("/static/%2e%2e/secret.txt", 403),
        ("/static/%2e%2e%2froot2/x.txt", 403),
        ("/static/link_out.txt", 403),
        ("/static/dir_out/x.txt", 403),
        ("/static/link_in.txt", 200),
        ("/static/missing.txt", 404),
        ("/static/sub", 403),
        ("/dir/nodefault/", 404),
        ("/dir/sub/", 200),
    ] {
        let r = get(target, "");
        assert_eq!(r.status, status, "{target}");
        assert!(!r.body.windows(10).any(|w| w == b"top secret"), "{target}");
    }
    let redirect = get("/dir/sub", "");
    assert_eq!(redirect.status, 301);
    assert_eq!(redirect.header("location"), Some("/dir/sub/"));
    assert_eq!(get("/dir/sub/", "").body, b"<p>index</p>\n");
}

fn sha512_hex(data: &[u8]) -> String {
    // Python's hashlib, an implementation independent of the server's.
    let script = format!(
        "import hashlib; print(hashlib.sha512(bytes({:?})).hexdigest(), end='')",
        data
    );
    test_support::python_stdout(&script)
}

#[test]
fn curl_fetches_a_range_and_revalidates() {
    let base = format!("http://{}/static/big.bin", rust_server().addr);
    let out = Command::new("curl")
        .args([
            "-sS",
            "-r",
            "1000-1999",
            "-D",
            "-",
            "-o",
            "/dev/null",
            &base,
        ])
        .output()
        .expect("curl is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let head = String::from_utf8(out.stdout).unwrap();
    assert!(
        head.starts_with("HTTP/1.1 206 Partial Content\r\n"),
        "{head}"
    );
    assert!(
        head.contains("Content-Range: bytes 1000-1999/200000\r\n"),
        "{head}"
    );
    assert!(head.contains("Content-Length: 1000\r\n"), "{head}");
    // curl's own conditional request from the file's date.
    let touched = filetime_of(&tree().root.join("big.bin"));
    let out = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-z"])
        .arg(&touched)
        .arg(&base)
        .output()
        .expect("curl is installed");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "304");
}

/// The file's modification time as an HTTP date (what `curl -z` takes).
fn filetime_of(path: &Path) -> String {
    let modified = std::fs::metadata(path).unwrap().modified().unwrap();
    tornado::httputil::format_timestamp(modified)
}

/// The static_files example serving `root`.
fn static_files_example(root: &Path) -> ExampleProcess {
    let root = format!("--root={}", root.display());
    ExampleProcess::start("static_files", &[&root], Stdio::null())
}

/// Reads `n` bytes, all zero (a sparse file's).
fn read_zeros(sock: &mut TcpStream, n: u64) {
    let mut buf = vec![0u8; 256 * 1024];
    let mut left = n;
    while left > 0 {
        let want = usize::try_from(left.min(buf.len() as u64)).unwrap();
        let got = sock.read(&mut buf[..want]).unwrap();
        assert!(got > 0, "EOF with {left} bytes to go");
        assert!(buf[..got].iter().all(|&b| b == 0));
        left -= got as u64;
    }
}

#[test]
fn a_1_gib_file_to_a_pausing_reader_keeps_the_server_rss_flat() {
    const MIB: u64 = 1024 * 1024;
    let dir = temp_dir("huge");
    let huge = dir.join("huge.bin");
    // Sparse: no disk space, and reads give zeros.
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(1024 * MIB)
        .unwrap();
    std::fs::write(dir.join("warm.bin"), vec![0u8; 8 * MIB as usize]).unwrap();
    let server = static_files_example(&dir);
    let mut sock = TcpStream::connect(server.addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    // Warm up, with a whole file, before the baseline.
    sock.write_all(b"GET /static/warm.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    read_head(&mut sock);
    read_zeros(&mut sock, 8 * MIB);
    let baseline = server.status_kib("VmRSS");

    let started = Instant::now();
    sock.write_all(b"GET /static/huge.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let head = read_head(&mut sock);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.contains(&format!("\r\nContent-Length: {}\r\n", 1024 * MIB)),
        "{head}"
    );
    // Too large to hash (over 64 MiB): no Etag, as in Tornado.
    assert!(!head.contains("\r\nEtag:"), "{head}");
    read_zeros(&mut sock, 4 * MIB);
    // Pause: the handler must wait in flush() rather than read ahead.
    let mut paused_max = 0;
    let pause_end = Instant::now() + Duration::from_millis(1000);
    while Instant::now() < pause_end {
        paused_max = paused_max.max(server.status_kib("VmRSS"));
        thread::sleep(Duration::from_millis(50));
    }
    read_zeros(&mut sock, 1020 * MIB);
    let hwm = server.status_kib("VmHWM");
    eprintln!(
        "1 GiB in {:?}; RSS baseline {baseline} KiB, paused max {paused_max} KiB, HWM {hwm} KiB",
        started.elapsed()
    );
    assert_rss_bounded(baseline, paused_max, hwm, 8 * 1024);
    // The connection is still usable.
    sock.write_all(b"GET /static/warm.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-2\r\n\r\n")
        .unwrap();
    let head = read_head(&mut sock);
    assert!(head.starts_with("HTTP/1.1 206 "), "{head}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
