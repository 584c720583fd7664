//! The WebSocket upgrade over real sockets: the 101 and its headers,
//! Tornado's refusals (400, 403, 426), subprotocols, `prepare` and the
//! current user on the upgrade request; compared byte for byte (but for
//! `Date`, `Server` and header order) with Python Tornado's own
//! `WebSocketHandler`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::OnceLock;
use std::time::Duration;

use test_support::{app_server, python_tornado_or_skip, ServerThread, TornadoApp};
use tornado::web::{url, Application, HTTPError, Handler, Result, Settings};
use tornado::websocket::{websocket, CompressionOptions, Message, WebSocket, WebSocketHandler};

/// Echoes; picks the subprotocol `chat.v2` when offered; its `open` sends
/// the chosen subprotocol and the current user.
struct Echo;

impl WebSocketHandler for Echo {
    fn select_subprotocol(&mut self, _cx: &Handler, subprotocols: &[String]) -> Option<String> {
        subprotocols.iter().find(|p| *p == "chat.v2").cloned()
    }

    async fn open(&mut self, cx: &WebSocket) -> Result {
        let hello = format!(
            "subprotocol={:?} user={:?}",
            cx.selected_subprotocol(),
            cx.current_user()
        );
        cx.write_message(hello).await?;
        Ok(())
    }

    async fn on_message(&mut self, cx: &WebSocket, message: Message) -> Result {
        cx.write_message(message).await?;
        Ok(())
    }
}

/// Refuses, in `prepare`, upgrade requests without a `user` cookie; the
/// cookie is the current user.
struct Guarded;

impl WebSocketHandler for Guarded {
    fn get_current_user(cx: &mut Handler) -> Result<Option<String>> {
        Ok(cx.get_cookie("user"))
    }

    async fn prepare(&mut self, cx: &mut Handler) -> Result {
        if cx.current_user()?.is_none() {
            return Err(HTTPError::new(403).into());
        }
        Ok(())
    }

    async fn open(&mut self, cx: &WebSocket) -> Result {
        cx.write_message(format!("hello {}", cx.current_user().unwrap_or("?")))
            .await?;
        Ok(())
    }

    async fn on_message(&mut self, _cx: &WebSocket, _message: Message) -> Result {
        Ok(())
    }
}

/// Allows any origin ending in `.friendly.example`.
struct Friendly;

impl WebSocketHandler for Friendly {
    fn check_origin(&self, _cx: &Handler, origin: &str) -> bool {
        origin.ends_with(".friendly.example")
    }

    async fn on_message(&mut self, _cx: &WebSocket, _message: Message) -> Result {
        Ok(())
    }
}

/// Trusts any origin ending in `.partner.example`, through
/// `check_trusted_origin` (the default `check_origin` asks it).
struct Partner;

impl WebSocketHandler for Partner {
    fn check_trusted_origin(&self, _cx: &Handler, origin: &str) -> bool {
        origin.ends_with(".partner.example")
    }

    async fn on_message(&mut self, _cx: &WebSocket, _message: Message) -> Result {
        Ok(())
    }
}

/// Echoes, with permessage-deflate when the client offers it.
struct Deflate;

impl WebSocketHandler for Deflate {
    fn get_compression_options(&self) -> Option<CompressionOptions> {
        Some(CompressionOptions::default())
    }

    async fn on_message(&mut self, cx: &WebSocket, message: Message) -> Result {
        cx.write_message(message).await?;
        Ok(())
    }
}

fn rust_server() -> ServerThread {
    app_server(Application::with_settings(
        [
            url(r"/echo", websocket(|| Echo)),
            url(r"/guarded", websocket(|| Guarded)),
            url(r"/friendly", websocket(|| Friendly)),
            url(r"/deflate", websocket(|| Deflate)),
            url(r"/partner", websocket(|| Partner)),
        ],
        Settings {
            trusted_origins: vec!["http://trusted.example".into()],
            ..Settings::default()
        },
    ))
}

const PYTHON_APP: &str = r#"
import tornado.web, tornado.websocket

class Echo(tornado.websocket.WebSocketHandler):
    def select_subprotocol(self, subprotocols):
        return "chat.v2" if "chat.v2" in subprotocols else None
    def on_message(self, message):
        self.write_message(message, binary=isinstance(message, bytes))

class Guarded(tornado.websocket.WebSocketHandler):
    def get_current_user(self):
        return self.get_cookie("user")
    def prepare(self):
        if self.current_user is None:
            raise tornado.web.HTTPError(403)
    def on_message(self, message):
        pass

class Friendly(tornado.websocket.WebSocketHandler):
    def check_origin(self, origin):
        return origin.endswith(".friendly.example")
    def on_message(self, message):
        pass

class Deflate(tornado.websocket.WebSocketHandler):
    def get_compression_options(self):
        return {}
    def on_message(self, message):
        self.write_message(message, binary=isinstance(message, bytes))

app = tornado.web.Application(
    [(r"/echo", Echo), (r"/guarded", Guarded), (r"/friendly", Friendly), (r"/deflate", Deflate)],
    trusted_origins=["http://trusted.example"],
)
"#;

fn servers() -> &'static (TornadoApp, ServerThread) {
    static SERVERS: OnceLock<(TornadoApp, ServerThread)> = OnceLock::new();
    SERVERS.get_or_init(|| (TornadoApp::start(PYTHON_APP), rust_server()))
}

fn our_server() -> &'static ServerThread {
    static SERVER: OnceLock<ServerThread> = OnceLock::new();
    SERVER.get_or_init(rust_server)
}

/// An upgrade request to `path` with the standard headers, minus those
/// named in `without`, plus the `extra` lines.
fn upgrade_request(path: &str, without: &[&str], extra: &str) -> String {
    let standard = [
        ("Host", "localhost"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Version", "13"),
    ];
    let mut request = format!("GET {path} HTTP/1.1\r\n");
    for (name, value) in standard {
        if !without.contains(&name) {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    request.push_str(extra);
    request.push_str("\r\n");
    request
}

/// The response's status line, its headers (but `Date` and `Server`)
/// sorted, and its body (by `Content-Length`; none for a 101).
fn response(addr: SocketAddr, request: &str) -> (String, Vec<String>, String) {
    let mut sock = TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    sock.write_all(request.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut byte = [0];
    while !head.ends_with(b"\r\n\r\n") {
        sock.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let mut lines = head.trim_end().split("\r\n");
    let status = lines.next().unwrap().to_owned();
    let mut headers: Vec<String> = lines
        .filter(|line| !line.starts_with("Date: ") && !line.starts_with("Server: "))
        .map(str::to_owned)
        .collect();
    headers.sort();
    let length = headers
        .iter()
        .find_map(|line| line.strip_prefix("Content-Length: "))
        .map_or(0, |n| n.parse().unwrap());
    let mut body = vec![0; length];
    sock.read_exact(&mut body).unwrap();
    (status, headers, String::from_utf8(body).unwrap())
}

#[test]
fn handshake_responses_match_tornado() {
    if !python_tornado_or_skip("handshake_responses_match_tornado") {
        return;
    }
    let (tornado, ours) = servers();
    let cases = [
        upgrade_request("/echo", &[], ""),
        upgrade_request("/echo", &[], "Sec-WebSocket-Protocol: chat.v1, chat.v2\r\n"),
        upgrade_request("/echo", &[], "Sec-WebSocket-Protocol: other\r\n"),
        upgrade_request("/echo", &["Upgrade"], "Upgrade: WebSocket\r\n"),
        upgrade_request("/echo", &["Upgrade"], ""),
        upgrade_request("/echo", &["Upgrade"], "Upgrade: h2c\r\n"),
        upgrade_request("/echo", &["Connection"], "Connection: keep-alive\r\n"),
        upgrade_request(
            "/echo",
            &["Connection"],
            "Connection: keep-alive, Upgrade\r\n",
        ),
        upgrade_request(
            "/echo",
            &["Connection"],
            "Connection: keep-alive, Upgrade, close\r\n",
        ),
        upgrade_request(
            "/echo",
            &["Sec-WebSocket-Version"],
            "Sec-WebSocket-Version: 8\r\n",
        ),
        upgrade_request("/echo", &["Sec-WebSocket-Version"], ""),
        upgrade_request("/echo", &["Sec-WebSocket-Key"], ""),
        upgrade_request("/echo", &[], "Origin: http://evil.example\r\n"),
        upgrade_request("/echo", &[], "Origin: http://localhost\r\n"),
        upgrade_request("/echo", &[], "Origin: http://trusted.example\r\n"),
        upgrade_request(
            "/echo",
            &[],
            "Origin: http://evil.example\r\nSec-Fetch-Site: cross-site\r\n",
        ),
        upgrade_request("/echo", &[], "Sec-Fetch-Site: same-origin\r\n"),
        upgrade_request("/guarded", &[], ""),
        upgrade_request("/guarded", &[], "Cookie: user=alice\r\n"),
        upgrade_request("/friendly", &[], "Origin: http://www.friendly.example\r\n"),
        upgrade_request("/friendly", &[], "Origin: http://www.hostile.example\r\n"),
        upgrade_request(
            "/echo",
            &[],
            "Sec-WebSocket-Extensions: permessage-deflate\r\n",
        ),
        upgrade_request("/deflate", &[], ""),
        upgrade_request(
            "/deflate",
            &[],
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n",
        ),
        upgrade_request(
            "/deflate",
            &[],
            "Sec-WebSocket-Extensions: x-webkit-deflate-frame, permessage-deflate; \
             server_max_window_bits=10; client_max_window_bits=\"12\"\r\n",
        ),
        upgrade_request(
            "/deflate",
            &[],
            "Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n",
        ),
    ];
    for request in &cases {
        let theirs = response(tornado.addr, request);
        let ours = response(ours.addr, request);
        assert_eq!(ours, theirs, "\nrequest: {request:?}");
    }
}

#[test]
fn an_upgrade_whose_connection_header_also_says_close_is_accepted() {
    // `close` among the tokens used to leave the codec's client state
    // `MustClose`, where switching protocols was refused (a logged 500);
    // Tornado answers 101.
    let request = upgrade_request(
        "/echo",
        &["Connection"],
        "Connection: keep-alive, Upgrade, close\r\n",
    );
    let mut sock = TcpStream::connect(our_server().addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    sock.write_all(request.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut byte = [0];
    while !head.ends_with(b"\r\n\r\n") {
        sock.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(
        head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{head}"
    );
    // And the WebSocket works: open's greeting, then an echo.
    let mut client =
        tungstenite::WebSocket::from_raw_socket(sock, tungstenite::protocol::Role::Client, None);
    assert_eq!(
        client.read().unwrap(),
        tungstenite::Message::text("subprotocol=None user=None")
    );
    client
        .send(tungstenite::Message::text("still open"))
        .unwrap();
    assert_eq!(
        client.read().unwrap(),
        tungstenite::Message::text("still open")
    );
}

#[test]
fn an_http_1_0_upgrade_is_refused_with_400() {
    // HTTP/1.0 has no 101; Tornado answers one and then drops the
    // connection, a broken handshake. A clear 400 instead of the 500 the
    // connection state gave.
    let request = upgrade_request("/echo", &[], "").replacen("HTTP/1.1", "HTTP/1.0", 1);
    let (status, _, body) = response(our_server().addr, &request);
    assert!(status.ends_with(" 400 Bad Request"), "{status}");
    assert_eq!(body, "WebSocket needs HTTP/1.1 or later.");
}

#[test]
fn the_upgrade_answers_101_with_the_accept_key() {
    let (status, headers, body) = response(our_server().addr, &upgrade_request("/echo", &[], ""));
    assert_eq!(status, "HTTP/1.1 101 Switching Protocols");
    assert_eq!(
        headers,
        [
            "Connection: Upgrade",
            "Sec-Websocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
            "Upgrade: websocket",
        ]
    );
    assert_eq!(body, "");
    // The handler's choice among the client's offers.
    let request = upgrade_request("/echo", &[], "Sec-WebSocket-Protocol: chat.v1, chat.v2\r\n");
    let (status, headers, _) = response(our_server().addr, &request);
    assert_eq!(status, "HTTP/1.1 101 Switching Protocols");
    assert!(
        headers.contains(&"Sec-Websocket-Protocol: chat.v2".to_owned()),
        "{headers:?}"
    );
    let request = upgrade_request("/echo", &[], "Sec-WebSocket-Protocol: chat.v1\r\n");
    let (_, headers, _) = response(our_server().addr, &request);
    assert!(
        !headers
            .iter()
            .any(|h| h.starts_with("Sec-Websocket-Protocol")),
        "{headers:?}"
    );
}

#[test]
fn refusals_are_tornados() {
    let addr = our_server().addr;
    let (status, _, body) = response(addr, &upgrade_request("/echo", &["Upgrade"], ""));
    assert_eq!(status, "HTTP/1.1 400 Bad Request");
    assert_eq!(body, "Can \"Upgrade\" only to \"WebSocket\".");
    let request = upgrade_request("/echo", &["Connection"], "Connection: keep-alive\r\n");
    let (status, _, body) = response(addr, &request);
    assert_eq!(status, "HTTP/1.1 400 Bad Request");
    assert_eq!(body, "\"Connection\" must be \"Upgrade\".");
    let (status, _, body) = response(addr, &upgrade_request("/echo", &["Sec-WebSocket-Key"], ""));
    assert_eq!(status, "HTTP/1.1 400 Bad Request");
    assert_eq!(body, "Missing/Invalid WebSocket headers");
    let request = upgrade_request(
        "/echo",
        &["Sec-WebSocket-Version"],
        "Sec-WebSocket-Version: 8\r\n",
    );
    let (status, headers, _) = response(addr, &request);
    assert_eq!(status, "HTTP/1.1 426 Upgrade Required");
    assert!(
        headers.contains(&"Sec-Websocket-Version: 13".to_owned()),
        "{headers:?}"
    );
    let request = upgrade_request("/echo", &[], "Origin: http://evil.example\r\n");
    let (status, _, body) = response(addr, &request);
    assert_eq!(status, "HTTP/1.1 403 Forbidden");
    assert_eq!(body, "Cross origin websockets not allowed");
    // Only GET upgrades.
    let (status, headers, _) = response(
        addr,
        "POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(status, "HTTP/1.1 405 Method Not Allowed");
    assert!(headers.contains(&"Allow: GET".to_owned()), "{headers:?}");
}

#[test]
fn a_malformed_compression_offer_drops_the_connection() {
    // Tornado's ValueError in `_create_compressors`: no answer at all.
    let request = upgrade_request(
        "/deflate",
        &[],
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=99\r\n",
    );
    let mut sock = TcpStream::connect(our_server().addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    sock.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let _ = sock.read_to_end(&mut answer);
    assert_eq!(answer, b"");
}

#[test]
fn messages_go_out_compressed_when_negotiated() {
    let request = upgrade_request(
        "/deflate",
        &[],
        "Sec-WebSocket-Extensions: permessage-deflate\r\n",
    );
    let mut sock = TcpStream::connect(our_server().addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // An uncompressed, masked text frame of 1000 "a"s after the request.
    let mut frame = vec![0x81, 0x80 | 126, 0x03, 0xe8, 0, 0, 0, 0];
    frame.extend([b'a'; 1000]);
    sock.write_all(&[request.as_bytes(), &frame].concat())
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0];
    while !head.ends_with(b"\r\n\r\n") {
        sock.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(
        head.contains("\r\nSec-Websocket-Extensions: permessage-deflate\r\n"),
        "{head}"
    );
    // The echo: FIN, RSV1 (compressed), text; far fewer than 1000 bytes.
    let mut first = [0; 2];
    sock.read_exact(&mut first).unwrap();
    assert_eq!(first[0], 0xC1);
    assert!(first[1] < 50, "{} bytes", first[1]);
}

#[test]
fn python_tornado_client_with_compression() {
    if !python_tornado_or_skip("python_tornado_client_with_compression") {
        return;
    }
    let script = format!(
        r#"
import asyncio
from tornado.websocket import websocket_connect

async def main():
    ws = await websocket_connect("ws://{addr}/deflate", compression_options={{}})
    print(ws.headers.get("Sec-WebSocket-Extensions"))
    for message in ["hello " * 1000, "hello again " * 1000, b"\x00\x01" * 50000, ""]:
        await ws.write_message(message, binary=isinstance(message, bytes))
        echoed = await ws.read_message()
        print(echoed == message, len(echoed))
    ws.close()

asyncio.run(main())
"#,
        addr = our_server().addr
    );
    let out = test_support::python_stdout(&script);
    assert_eq!(
        out, "permessage-deflate\nTrue 6000\nTrue 12000\nTrue 100000\nTrue 0\n",
        "{out}"
    );
}

type Client = tungstenite::WebSocket<TcpStream>;

/// Connects with tungstenite to `path` on our server, the request edited
/// by `configure`; `Err(status)` for a refused upgrade.
fn connect(
    path: &str,
    configure: impl FnOnce(&mut tungstenite::http::Request<()>),
) -> std::result::Result<(Client, tungstenite::handshake::client::Response), u16> {
    use tungstenite::client::IntoClientRequest;
    let addr = our_server().addr;
    let mut request = format!("ws://{addr}{path}").into_client_request().unwrap();
    configure(&mut request);
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    match tungstenite::client(request, stream) {
        Ok(connected) => Ok(connected),
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(response))) => {
            Err(response.status().as_u16())
        }
        Err(err) => panic!("handshake failed: {err}"),
    }
}

#[test]
fn the_handler_selects_a_subprotocol() {
    let (mut client, response) = connect("/echo", |request| {
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", "chat.v2".parse().unwrap());
    })
    .unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "chat.v2");
    assert_eq!(
        client.read().unwrap(),
        tungstenite::Message::text("subprotocol=Some(\"chat.v2\") user=None")
    );
    // None offered, none chosen.
    let (mut client, response) = connect("/echo", |_| {}).unwrap();
    assert!(response.headers().get("sec-websocket-protocol").is_none());
    assert_eq!(
        client.read().unwrap(),
        tungstenite::Message::text("subprotocol=None user=None")
    );
}

#[test]
fn prepare_can_refuse_and_sees_the_current_user() {
    assert_eq!(connect("/guarded", |_| {}).err(), Some(403));
    let (mut client, _) = connect("/guarded", |request| {
        request
            .headers_mut()
            .insert("Cookie", "user=alice".parse().unwrap());
    })
    .unwrap();
    assert_eq!(
        client.read().unwrap(),
        tungstenite::Message::text("hello alice")
    );
}

#[test]
fn check_origin_can_be_overridden() {
    let with_origin = |origin: &'static str| {
        move |request: &mut tungstenite::http::Request<()>| {
            request
                .headers_mut()
                .insert("Origin", origin.parse().unwrap());
        }
    };
    assert!(connect("/friendly", with_origin("http://www.friendly.example")).is_ok());
    assert_eq!(
        connect("/friendly", with_origin("http://www.hostile.example")).err(),
        Some(403)
    );
    // The default check_origin asks check_trusted_origin, as Tornado's does.
    assert!(connect("/partner", with_origin("http://www.partner.example")).is_ok());
    assert_eq!(
        connect("/partner", with_origin("http://www.hostile.example")).err(),
        Some(403)
    );
    // Overriding it replaces the trusted_origins setting's list.
    assert_eq!(
        connect("/partner", with_origin("http://trusted.example")).err(),
        Some(403)
    );
    assert!(connect("/echo", with_origin("http://trusted.example")).is_ok());
}
