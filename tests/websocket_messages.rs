//! WebSocket sessions over real sockets: messages, fragmentation, limits,
//! pings, the closing handshake both ways, a client that vanishes, and
//! many connections at once. Clients: `tungstenite` (independent), Python
//! Tornado's `websocket_connect`, and raw frames for what no well-behaved
//! client sends.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use test_support::{
    app_server, python_stdout, python_tornado_or_skip, wait_until, ExampleProcess, ServerThread,
};
use tornado::web::{url, Application, Result, Settings};
use tornado::websocket::{websocket, Message, WebSocket, WebSocketHandler};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::CloseFrame;

type Events = Arc<Mutex<Vec<String>>>;

/// Echoes every message; text commands make it close or ping; every hook
/// is logged in `events`.
struct Echo {
    events: Events,
}

impl Echo {
    fn log(&self, event: String) {
        self.events.lock().unwrap().push(event);
    }
}

impl WebSocketHandler for Echo {
    async fn open(&mut self, cx: &WebSocket) -> Result {
        self.log(format!("open {:?}", cx.path_args()));
        Ok(())
    }

    async fn on_message(&mut self, cx: &WebSocket, message: Message) -> Result {
        if let Some(command) = message.as_text().and_then(|t| t.strip_prefix("close ")) {
            let (code, reason) = command.split_once(' ').unwrap_or((command, ""));
            cx.close(code.parse().ok(), Some(reason));
            return Ok(());
        }
        if message.as_text() == Some("flood") {
            // 1 MiB messages until the client is gone; the count shows how
            // far write_message got ahead of a client that does not read.
            let chunk = vec![0_u8; 1 << 20];
            let mut sent = 0;
            while cx.write_message(chunk.clone()).await.is_ok() {
                sent += 1;
                self.log(format!("flooded {sent}"));
            }
            return Ok(());
        }
        if message.as_text() == Some("hang") {
            // A hook awaiting what never comes (a stuck backend, say).
            self.log("hanging".to_string());
            std::future::pending::<()>().await;
        }
        if message.as_text() == Some("closehang") {
            cx.close(Some(4003), Some("closing"));
            self.log("hanging".to_string());
            std::future::pending::<()>().await;
        }
        if let Some(data) = message.as_text().and_then(|t| t.strip_prefix("ping ")) {
            cx.ping(data)?;
            return Ok(());
        }
        if let Message::Binary(data) = &message {
            self.log(format!("binary {}", data.len()));
        }
        cx.write_message(message).await?;
        Ok(())
    }

    fn on_pong(&mut self, _cx: &WebSocket, data: &[u8]) {
        self.log(format!("pong {}", String::from_utf8_lossy(data)));
    }

    fn on_close(&mut self, cx: &WebSocket) {
        self.log(format!(
            "close {:?} {:?}",
            cx.close_code(),
            cx.close_reason()
        ));
    }
}

const MAX_MESSAGE: usize = 2 * 1024 * 1024;

fn server(settings: Settings) -> (ServerThread, Events) {
    let events = Events::default();
    let shared = events.clone();
    let app = Application::with_settings(
        [url(
            r"/echo/?(\w*)",
            websocket(move || Echo {
                events: shared.clone(),
            }),
        )],
        Settings {
            websocket_max_message_size: Some(MAX_MESSAGE),
            ..settings
        },
    );
    (app_server(app), events)
}

fn echo_server() -> (ServerThread, Events) {
    server(Settings::default())
}

type Client = tungstenite::WebSocket<TcpStream>;

fn connect(addr: SocketAddr, path: &str) -> Client {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let (client, response) = tungstenite::client(format!("ws://{addr}{path}"), stream).unwrap();
    assert_eq!(response.status(), 101);
    client
}

/// Waits until `events` has one starting with `prefix`, and returns it.
fn wait_for_event(events: &Events, prefix: &str) -> String {
    let mut found = None;
    let seen = wait_until(Duration::from_secs(10), || {
        found = events
            .lock()
            .unwrap()
            .iter()
            .find(|e| e.starts_with(prefix))
            .cloned();
        found.is_some()
    });
    assert!(seen, "no {prefix:?} event in {:?}", events.lock().unwrap());
    found.unwrap()
}

#[test]
fn echoes_text_and_binary() {
    let (server, events) = echo_server();
    let mut client = connect(server.addr, "/echo/room1");
    client.send(tungstenite::Message::text("héllo")).unwrap();
    assert_eq!(client.read().unwrap(), tungstenite::Message::text("héllo"));
    client
        .send(tungstenite::Message::binary(vec![0, 1, 2, 255]))
        .unwrap();
    assert_eq!(
        client.read().unwrap(),
        tungstenite::Message::binary(vec![0, 1, 2, 255])
    );
    // An empty message of each kind.
    client.send(tungstenite::Message::text("")).unwrap();
    assert_eq!(client.read().unwrap(), tungstenite::Message::text(""));
    assert_eq!(wait_for_event(&events, "open"), "open [\"room1\"]");
}

#[test]
fn echoes_a_large_message_and_one_the_client_fragments() {
    let (server, events) = echo_server();
    let mut client = connect(server.addr, "/echo");
    let big: Vec<u8> = (0..1024 * 1024).map(|i| (i % 251) as u8).collect();
    client
        .send(tungstenite::Message::binary(big.clone()))
        .unwrap();
    assert_eq!(client.read().unwrap(), tungstenite::Message::binary(big));
    assert_eq!(wait_for_event(&events, "binary"), "binary 1048576");

    // Fragmented by hand: three frames, a ping between two of them.
    let mut raw = RawClient::connect(server.addr, "/echo");
    raw.send_frame(false, 0x1, "frag".as_bytes());
    raw.send_frame(true, 0x9, b"mid");
    raw.send_frame(false, 0x0, "ment".as_bytes());
    raw.send_frame(true, 0x0, "ed €".as_bytes());
    assert_eq!(raw.read_frame(), (0x8A, b"mid".to_vec()), "the pong first");
    assert_eq!(raw.read_frame(), (0x81, "fragmented €".as_bytes().to_vec()));
}

#[test]
fn a_message_over_the_limit_closes_with_1009() {
    let (server, events) = echo_server();
    let mut client = connect(server.addr, "/echo");
    client
        .send(tungstenite::Message::binary(vec![0; MAX_MESSAGE + 1]))
        .unwrap_or(());
    // The server closes with most of the message unread, so the client may
    // see the reset before the close frame; when the frame comes, it says
    // 1009 (Tornado's `close(1009, "message too big")`, then abort).
    match client.read() {
        Ok(tungstenite::Message::Close(Some(frame))) => {
            assert_eq!(frame.code, CloseCode::Size);
            assert_eq!(frame.reason, "message too big");
        }
        Err(tungstenite::Error::Io(_)) => {}
        other => panic!("expected a close frame, got {other:?}"),
    }
    // Refused from the frame's head: the server does not wait for (or
    // buffer) a payload that large.
    let mut raw = RawClient::connect(server.addr, "/echo");
    raw.send_head_only(0x2, 1 << 40);
    assert_eq!(raw.read_close(), Some(1009));
    assert_eq!(wait_for_event(&events, "close"), "close None None");
}

#[test]
fn protocol_errors_close_with_their_codes() {
    let (server, _events) = echo_server();
    // Unmasked client frame: 1002.
    let mut raw = RawClient::connect(server.addr, "/echo");
    raw.stream.write_all(b"\x81\x02hi").unwrap();
    assert_eq!(raw.read_close(), Some(1002));
    // A fragmented ping: 1002.
    let mut raw = RawClient::connect(server.addr, "/echo");
    raw.send_frame(false, 0x9, b"");
    assert_eq!(raw.read_close(), Some(1002));
    // Invalid UTF-8 in a text message: 1007.
    let mut raw = RawClient::connect(server.addr, "/echo");
    raw.send_frame(true, 0x1, b"\xff\xfe");
    assert_eq!(raw.read_close(), Some(1007));
    // Reserved bits: 1002.
    let mut raw = RawClient::connect(server.addr, "/echo");
    raw.send_frame(true, 0x41, b"x");
    assert_eq!(raw.read_close(), Some(1002));
}

#[test]
fn frames_sent_with_the_upgrade_request_are_not_lost() {
    let (server, _events) = echo_server();
    let mut raw = RawClient::connect_with(server.addr, "/echo", &masked(0x81, b"early"));
    assert_eq!(raw.read_frame(), (0x81, b"early".to_vec()));
}

#[test]
fn a_client_that_does_not_read_makes_write_message_wait() {
    let (server, events) = echo_server();
    let mut raw = RawClient::connect(server.addr, "/echo");
    raw.send_frame(true, 0x1, b"flood");
    let flooded = || {
        let events = events.lock().unwrap();
        events.iter().filter(|e| e.starts_with("flooded")).count()
    };
    // The kernel's buffers take a few MiB; then the sender waits.
    std::thread::sleep(Duration::from_millis(1500));
    let stalled = flooded();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        flooded(),
        stalled,
        "still sending to a client that does not read"
    );
    assert!(stalled < 64, "{stalled} MiB sent");
    // Reading lets it go on.
    for _ in 0..stalled + 2 {
        assert_eq!(raw.read_frame().1.len(), 1 << 20);
    }
    assert!(flooded() > stalled);
}

#[test]
fn ping_and_pong_both_ways() {
    let (server, events) = echo_server();
    let mut raw = RawClient::connect(server.addr, "/echo");
    // The client pings: the server pongs with the same data.
    raw.send_frame(true, 0x9, b"are you there");
    assert_eq!(raw.read_frame(), (0x8A, b"are you there".to_vec()));
    // The server pings (on request): the client's pong reaches on_pong.
    raw.send_frame(true, 0x1, b"ping hello");
    assert_eq!(raw.read_frame(), (0x89, b"hello".to_vec()));
    raw.send_frame(true, 0xA, b"hello");
    assert_eq!(wait_for_event(&events, "pong"), "pong hello");
}

/// `count` masked pings of 125 bytes each, in one buffer.
fn pings(count: usize) -> Vec<u8> {
    let one = masked(0x89, &[b'p'; 125]);
    one.repeat(count)
}

#[test]
fn a_ping_flood_from_a_client_that_does_not_read_keeps_memory_bounded() {
    // A child process, to measure its memory from /proc.
    let chat = ExampleProcess::start("websocket_chat", &["--logging=warning"], Stdio::null());
    let mut raw = RawClient::connect(chat.addr, "/chatsocket");
    raw.stream
        .set_write_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let before = chat.status_kib("VmRSS");
    // 40 MB of pings, their pongs never read: without a bound, the server
    // would keep one pong per ping (as much again as was sent).
    let batch = pings(8 * 1024);
    for _ in 0..(40 << 20) / batch.len() {
        raw.stream.write_all(&batch).unwrap();
    }
    std::thread::sleep(Duration::from_millis(1000));
    let after = chat.status_kib("VmRSS");
    assert!(
        after < before + 12 * 1024,
        "VmRSS {before} KiB -> {after} KiB after a ping flood"
    );
    // Still serving: a new client is answered.
    let mut client = connect(chat.addr, "/chatsocket");
    client
        .send(tungstenite::Message::text(r#"{"body": "still here"}"#))
        .unwrap();
    assert!(matches!(
        client.read().unwrap(),
        tungstenite::Message::Text(_)
    ));
}

#[test]
fn a_ping_flood_does_not_starve_other_connections() {
    let (server, _events) = echo_server();
    let mut client = connect(server.addr, "/echo");
    let addr = server.addr;
    let flooder = std::thread::spawn(move || {
        let mut raw = RawClient::connect(addr, "/echo");
        raw.stream
            .set_write_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let batch = pings(8 * 1024);
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_secs(3) {
            if raw.stream.write_all(&batch).is_err() {
                break;
            }
        }
    });
    let mut slowest = Duration::ZERO;
    let mut round = 0;
    while !flooder.is_finished() {
        let start = std::time::Instant::now();
        let text = format!("round {round}");
        client
            .send(tungstenite::Message::text(text.clone()))
            .unwrap();
        assert_eq!(client.read().unwrap(), tungstenite::Message::text(text));
        slowest = slowest.max(start.elapsed());
        round += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    flooder.join().unwrap();
    assert!(
        // Starved, an echo waits out the whole 3 s flood; the margin is for a loaded CI machine.
        slowest < Duration::from_millis(1500),
        "an echo took {slowest:?} during another client's ping flood"
    );
}

#[test]
fn close_aborts_after_5_seconds_while_on_message_is_stuck() {
    let (server, events) = echo_server();
    let mut raw = RawClient::connect(server.addr, "/echo");
    raw.stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    raw.send_frame(true, 0x1, b"closehang");
    let start = std::time::Instant::now();
    let (opcode, payload) = raw.read_frame();
    assert_eq!((opcode, &payload[..]), (0x88, &b"\x0f\xa3closing"[..]));
    // The client answers; the session, stuck in on_message, never reads
    // it: Tornado's 5 second timer closes the connection all the same.
    raw.send_frame(true, 0x8, b"\x0f\xa3");
    let mut rest = Vec::new();
    let read = raw.stream.read_to_end(&mut rest);
    let elapsed = start.elapsed();
    // EOF, or a reset (the client's close frame was left unread).
    let still_open = matches!(&read, Err(err)
        if matches!(err.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut));
    assert!(!still_open, "still open after {elapsed:?}: {read:?}");
    assert!(
        elapsed > Duration::from_secs(4) && elapsed < Duration::from_secs(7),
        "closed after {elapsed:?}"
    );
    assert_eq!(wait_for_event(&events, "close"), "close None None");
}

#[test]
fn a_client_that_leaves_during_a_long_on_message_runs_on_close() {
    let (server, events) = echo_server();
    let mut raw = RawClient::connect(server.addr, "/echo");
    raw.send_frame(true, 0x1, b"hang");
    wait_for_event(&events, "hanging");
    drop(raw);
    assert_eq!(wait_for_event(&events, "close"), "close None None");
}

#[test]
fn periodic_pings_and_the_ping_timeout() {
    let (server, events) = server(Settings {
        websocket_ping_interval: Some(Duration::from_millis(300)),
        websocket_ping_timeout: Some(Duration::from_millis(300)),
        ..Settings::default()
    });
    // A client that answers (tungstenite pongs while it reads) stays open.
    let mut client = connect(server.addr, "/echo");
    for i in 0..10 {
        client
            .send(tungstenite::Message::text(format!("{i}")))
            .unwrap();
        // tungstenite hands pings over too (it queues their pongs).
        let reply = loop {
            match client.read().unwrap() {
                tungstenite::Message::Ping(_) => continue,
                other => break other,
            }
        };
        assert_eq!(reply, tungstenite::Message::text(format!("{i}")));
        std::thread::sleep(Duration::from_millis(50));
    }
    // It was pinged, and its pongs reached on_pong.
    assert_eq!(wait_for_event(&events, "pong"), "pong ");
    // One that never answers is closed: Tornado's close(reason="ping timed out").
    let mut raw = RawClient::connect(server.addr, "/echo");
    assert_eq!(raw.read_frame(), (0x89, Vec::new()));
    let (opcode, payload) = raw.read_frame();
    assert_eq!(opcode, 0x88);
    assert_eq!(&payload[..], b"\x03\xe8ping timed out");
    drop(raw);
    assert_eq!(wait_for_event(&events, "close"), "close None None");
}

#[test]
fn the_client_closes_with_code_and_reason() {
    let (server, events) = echo_server();
    let mut client = connect(server.addr, "/echo");
    client
        .close(Some(CloseFrame {
            code: CloseCode::from(4000),
            reason: "bye".into(),
        }))
        .unwrap();
    // The server echoes the code, then closes the connection.
    match client.read() {
        Ok(tungstenite::Message::Close(Some(frame))) => {
            assert_eq!(frame.code, CloseCode::from(4000))
        }
        other => panic!("expected the close echoed, got {other:?}"),
    }
    assert!(matches!(
        client.read(),
        Err(tungstenite::Error::ConnectionClosed)
    ));
    assert_eq!(
        wait_for_event(&events, "close"),
        "close Some(4000) Some(\"bye\")"
    );
}

#[test]
fn the_server_closes_with_code_and_reason() {
    let (server, events) = echo_server();
    let mut client = connect(server.addr, "/echo");
    client
        .send(tungstenite::Message::text("close 4001 going away"))
        .unwrap();
    match client.read() {
        Ok(tungstenite::Message::Close(Some(frame))) => {
            assert_eq!(frame.code, CloseCode::from(4001));
            assert_eq!(frame.reason, "going away");
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    // tungstenite answered the close; the server then closes the socket.
    assert!(matches!(
        client.read(),
        Err(tungstenite::Error::ConnectionClosed)
    ));
    assert_eq!(
        wait_for_event(&events, "close"),
        "close Some(4001) Some(\"going away\")",
        "the client's close frame echoed ours"
    );
}

#[test]
fn a_client_that_vanishes_runs_on_close() {
    let (server, events) = echo_server();
    let mut client = connect(server.addr, "/echo");
    client.send(tungstenite::Message::text("x")).unwrap();
    assert_eq!(client.read().unwrap(), tungstenite::Message::text("x"));
    // Gone without a close frame, mid-message.
    let mut raw = RawClient::connect(server.addr, "/echo");
    raw.send_head_only(0x2, 1000);
    drop(raw);
    drop(client);
    let seen = wait_until(Duration::from_secs(10), || {
        let events = events.lock().unwrap();
        events
            .iter()
            .filter(|e| e.starts_with("close None"))
            .count()
            == 2
    });
    assert!(seen, "{:?}", events.lock().unwrap());
}

#[test]
fn many_concurrent_connections() {
    let (server, events) = echo_server();
    let addr = server.addr;
    let threads: Vec<_> = (0..20)
        .map(|t| {
            std::thread::spawn(move || {
                let mut clients: Vec<Client> = (0..10).map(|_| connect(addr, "/echo")).collect();
                for round in 0..5 {
                    for (i, client) in clients.iter_mut().enumerate() {
                        let text = format!("{t}-{i}-{round}");
                        client.send(tungstenite::Message::text(text)).unwrap();
                    }
                    for (i, client) in clients.iter_mut().enumerate() {
                        let text = format!("{t}-{i}-{round}");
                        assert_eq!(client.read().unwrap(), tungstenite::Message::text(text));
                    }
                }
                for client in &mut clients {
                    client.close(None).unwrap();
                    while client.read().is_ok() {}
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let closed = wait_until(Duration::from_secs(10), || {
        let events = events.lock().unwrap();
        events.iter().filter(|e| e.starts_with("close")).count() == 200
    });
    assert!(closed);
}

#[test]
fn python_tornado_client_round_trip() {
    if !python_tornado_or_skip("python_tornado_client_round_trip") {
        return;
    }
    let (server, events) = echo_server();
    let script = format!(
        r#"
import asyncio
from tornado.websocket import websocket_connect

async def main():
    ws = await websocket_connect("ws://{addr}/echo/py")
    await ws.write_message("hello from tornado")
    print(await ws.read_message())
    await ws.write_message(bytes(range(256)) * 4096, binary=True)
    echoed = await ws.read_message()
    print(len(echoed), echoed == bytes(range(256)) * 4096)
    ws.close(4002, "done")
    print(await ws.read_message(), ws.close_code, ws.close_reason)

asyncio.run(main())
"#,
        addr = server.addr
    );
    let out = python_stdout(&script);
    assert_eq!(
        out, "hello from tornado\n1048576 True\nNone 4002 None\n",
        "{out}"
    );
    assert_eq!(
        wait_for_event(&events, "close"),
        "close Some(4002) Some(\"done\")"
    );
}

#[test]
fn the_chat_example_broadcasts() {
    let chat = ExampleProcess::start("websocket_chat", &["--logging=warning"], Stdio::null());
    let mut alice = connect(chat.addr, "/chatsocket");
    let mut bob = connect(chat.addr, "/chatsocket");
    alice
        .send(tungstenite::Message::text(r#"{"body": "hi <b>all</b>"}"#))
        .unwrap();
    let expected = tungstenite::Message::text(r#"{"id":1,"body":"hi <b>all</b>"}"#);
    assert_eq!(alice.read().unwrap(), expected);
    assert_eq!(bob.read().unwrap(), expected);
    // A newcomer gets the cache first; someone who left gets nothing.
    drop(bob);
    let mut carol = connect(chat.addr, "/chatsocket");
    assert_eq!(carol.read().unwrap(), expected);
    carol
        .send(tungstenite::Message::text(r#"{"body": "bye"}"#))
        .unwrap();
    let bye = tungstenite::Message::text(r#"{"id":2,"body":"bye"}"#);
    assert_eq!(carol.read().unwrap(), bye);
    assert_eq!(alice.read().unwrap(), bye);
}

/// A masked frame whose first byte is `first` (FIN, RSV, opcode).
fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [1, 2, 3, 4];
    let mut frame = vec![first];
    let len = payload.len();
    if len < 126 {
        frame.push(0x80 | len as u8);
    } else {
        frame.push(0x80 | 127);
        frame.extend((len as u64).to_be_bytes());
    }
    frame.extend(mask);
    frame.extend(payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
    frame
}

/// A client writing frames by hand, for what well-behaved clients never send.
struct RawClient {
    stream: TcpStream,
}

impl RawClient {
    fn connect(addr: SocketAddr, path: &str) -> RawClient {
        RawClient::connect_with(addr, path, b"")
    }

    /// Connects, sending `early` in the same write as the upgrade request.
    fn connect_with(addr: SocketAddr, path: &str, early: &[u8]) -> RawClient {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        );
        stream
            .write_all(&[request.as_bytes(), early].concat())
            .unwrap();
        let mut head = Vec::new();
        let mut byte = [0];
        while !head.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        let head = String::from_utf8(head).unwrap();
        assert!(
            head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
            "{head}"
        );
        assert!(head.contains("\r\nSec-Websocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        RawClient { stream }
    }

    /// Sends a masked frame; `opcode` may carry RSV bits (`0x40`...).
    fn send_frame(&mut self, fin: bool, opcode: u8, payload: &[u8]) {
        let first = if fin { 0x80 } else { 0 } | opcode;
        self.stream.write_all(&masked(first, payload)).unwrap();
    }

    /// Sends only the head of a masked frame declaring `len` bytes.
    fn send_head_only(&mut self, opcode: u8, len: u64) {
        let mut frame = vec![0x80 | opcode, 0x80 | 127];
        frame.extend(len.to_be_bytes());
        frame.extend([1, 2, 3, 4]);
        self.stream.write_all(&frame).unwrap();
    }

    /// Reads one (unmasked, server) frame: its first byte and its payload.
    fn read_frame(&mut self) -> (u8, Vec<u8>) {
        let mut head = [0; 2];
        self.stream.read_exact(&mut head).unwrap();
        assert_eq!(head[1] & 0x80, 0, "server frames are not masked");
        let len = match head[1] & 0x7f {
            126 => {
                let mut b = [0; 2];
                self.stream.read_exact(&mut b).unwrap();
                u64::from(u16::from_be_bytes(b))
            }
            127 => {
                let mut b = [0; 8];
                self.stream.read_exact(&mut b).unwrap();
                u64::from_be_bytes(b)
            }
            n => u64::from(n),
        };
        let mut payload = vec![0; len as usize];
        self.stream.read_exact(&mut payload).unwrap();
        (head[0], payload)
    }

    /// Reads a close frame and its code; then the server closes the socket.
    fn read_close(&mut self) -> Option<u16> {
        let (opcode, payload) = self.read_frame();
        assert_eq!(opcode, 0x88, "a close frame");
        let mut rest = Vec::new();
        // The server closes the socket after its close frame.
        let _ = self.stream.read_to_end(&mut rest);
        assert!(rest.is_empty(), "nothing after the close frame");
        (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]))
    }
}
