//! The tcpecho examples as black boxes: the server and client binaries run
//! as child processes, driven by a raw `std::net::TcpStream`, by each other,
//! and (when `python3 -c "import tornado"` works) by Tornado's own demo
//! client and server, written inline below.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use test_support::{python_tornado_or_skip, wait_until};

/// How long a child may take to start listening or to run to completion.
const CHILD_TIMEOUT: Duration = Duration::from_secs(10);

/// Tornado's demos/tcpecho/server.py, in today's asyncio style.
const PYTHON_SERVER: &str = r#"
import asyncio
import logging
from tornado.iostream import StreamClosedError
from tornado.tcpserver import TCPServer
from tornado.options import options, define

define("port", default=9888, help="TCP port to listen on")
logger = logging.getLogger(__name__)


class EchoServer(TCPServer):
    async def handle_stream(self, stream, address):
        while True:
            try:
                data = await stream.read_until(b"\n")
                logger.info("Received bytes: %s", data)
                if not data.endswith(b"\n"):
                    data = data + b"\n"
                await stream.write(data)
            except StreamClosedError:
                logger.warning("Lost client at host %s", address[0])
                break
            except Exception as e:
                print(e)


async def main():
    options.parse_command_line()
    server = EchoServer()
    server.listen(options.port)
    logger.info("Listening on TCP port %d", options.port)
    await asyncio.Event().wait()


asyncio.run(main())
"#;

/// Tornado's demos/tcpecho/client.py, in today's asyncio style.
const PYTHON_CLIENT: &str = r#"
import asyncio
from tornado.tcpclient import TCPClient
from tornado.options import options, define

define("host", default="localhost", help="TCP server host")
define("port", default=9888, help="TCP port to connect to")
define("message", default="ping", help="Message to send")


async def send_message():
    stream = await TCPClient().connect(options.host, options.port)
    await stream.write((options.message + "\n").encode())
    print("Sent to server:", options.message)
    reply = await stream.read_until(b"\n")
    print("Response from server:", reply.decode().strip())


options.parse_command_line()
asyncio.run(send_message())
"#;

/// Builds both examples once, and returns the directory holding them.
fn examples_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let output = Command::new(env!("CARGO"))
            .current_dir(root)
            .args([
                "build",
                "--example",
                "tcpecho",
                "--example",
                "tcpecho_client",
            ])
            .output()
            .expect("cannot run cargo");
        assert!(
            output.status.success(),
            "building the examples failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        // A relative CARGO_TARGET_DIR is relative to where cargo ran: the root.
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| root.join("target"), |dir| root.join(dir));
        target.join("debug").join("examples")
    })
}

/// A command running one of the example binaries.
fn example(name: &str) -> Command {
    Command::new(examples_dir().join(format!("{name}{}", std::env::consts::EXE_SUFFIX)))
}

/// A command running a Python script given inline.
fn python(script: &str) -> Command {
    let mut command = Command::new("python3");
    command.env("PYTHONUNBUFFERED", "1").args(["-c", script]);
    command
}

/// A running child process, killed when dropped, whose stdout and stderr are
/// collected by background threads (so a chatty child never blocks on a
/// full pipe).
struct Proc {
    child: Child,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

/// How a child ended.
struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Proc {
    fn spawn(mut command: Command) -> Proc {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|err| panic!("cannot spawn {command:?}: {err}"));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let readers = vec![
            collect(
                child
                    .stdout
                    .take()
                    .map(|pipe| Box::new(pipe) as Box<dyn Read + Send>),
                &stdout,
            ),
            collect(
                child
                    .stderr
                    .take()
                    .map(|pipe| Box::new(pipe) as Box<dyn Read + Send>),
                &stderr,
            ),
        ];
        Proc {
            child,
            stdout,
            stderr,
            readers,
        }
    }

    /// Everything the child wrote to stderr so far.
    fn log(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Waits for the child to exit (killing it and failing after
    /// [`CHILD_TIMEOUT`]), then returns its status and output.
    fn finish(mut self) -> Finished {
        assert!(
            wait_until(CHILD_TIMEOUT, || self.has_exited()),
            "child did not exit; stderr so far:\n{}",
            self.log()
        );
        let status = self.child.wait().unwrap();
        for reader in self.readers.drain(..) {
            reader.join().unwrap();
        }
        let text =
            |buffer: &Mutex<Vec<u8>>| String::from_utf8_lossy(&buffer.lock().unwrap()).into_owned();
        Finished {
            status,
            stdout: text(&self.stdout),
            stderr: text(&self.stderr),
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // Either may fail only because the child already exited.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Copies `pipe` into `sink` until EOF, on a thread.
fn collect(pipe: Option<Box<dyn Read + Send>>, sink: &Arc<Mutex<Vec<u8>>>) -> JoinHandle<()> {
    let sink = sink.clone();
    thread::spawn(move || {
        let Some(pipe) = pipe else { return };
        let mut pipe = BufReader::new(pipe);
        let mut line = Vec::new();
        while matches!(pipe.read_until(b'\n', &mut line), Ok(n) if n > 0) {
            sink.lock().unwrap().append(&mut line);
        }
    })
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An echo server process and its port.
struct Server {
    proc: Proc,
    port: u16,
}

impl Server {
    /// Starts the server `command(port)` builds on a free port, and waits
    /// until it is accepting: it logs "Listening on TCP port N" once its
    /// socket is bound and listening (both servers do, as server.py does).
    /// If the port was taken in the meantime the server exits, and another
    /// port is tried.
    fn start(command: impl Fn(u16) -> Command) -> Server {
        for _ in 0..3 {
            let port = free_port();
            let mut proc = Proc::spawn(command(port));
            let listening = format!("Listening on TCP port {port}");
            wait_until(CHILD_TIMEOUT, || {
                proc.log().contains(&listening) || proc.has_exited()
            });
            if proc.log().contains(&listening) {
                return Server { proc, port };
            }
            assert!(
                proc.has_exited(),
                "server did not start listening:\n{}",
                proc.log()
            );
        }
        panic!("no server could start on a free port");
    }

    fn rust() -> Server {
        Server::start(|port| {
            let mut command = example("tcpecho");
            command.arg(format!("--port={port}"));
            command
        })
    }

    fn python() -> Server {
        Server::start(|port| {
            let mut command = python(PYTHON_SERVER);
            command.arg(format!("--port={port}"));
            command
        })
    }

    /// Waits until the server's log contains `text`; returns the log.
    fn wait_for_log(&self, text: &str) -> String {
        assert!(
            wait_until(CHILD_TIMEOUT, || self.proc.log().contains(text)),
            "server never logged {text:?}; its log:\n{}",
            self.proc.log()
        );
        self.proc.log()
    }
}

/// What [`raw_session`] writes, one item per `write` call. Everything up to
/// the last "\n" should come back; the final line, which has none, should
/// not (the server sees EOF mid-line and closes, as Tornado's does).
fn raw_chunks() -> Vec<Vec<u8>> {
    let mut chunks = Vec::new();
    // Many lines in a single write.
    let many: String = (0..300)
        .map(|i| format!("line {i}: {}\n", "x".repeat(i % 40)))
        .collect();
    chunks.push(many.into_bytes());
    // A few lines, one write each.
    for i in 0..5 {
        chunks.push(format!("single {i}\n").into_bytes());
    }
    // One line split over several writes.
    chunks.push(b"a line ".to_vec());
    chunks.push(b"split over".to_vec());
    chunks.push(b" four writes".to_vec());
    chunks.push(b"\n".to_vec());
    // An empty line, raw bytes, a long line, and two lines in one write.
    chunks.push(b"\n".to_vec());
    chunks.push(b"caf\xc3\xa9 \x00\x01 tab\t cr\r\n".to_vec());
    chunks.push([vec![b'y'; 20_000], b"\n".to_vec()].concat());
    chunks.push(b"first of two\nsecond of two\n".to_vec());
    // The last line, with no newline, then EOF.
    chunks.push(b"the end, without a newline".to_vec());
    chunks
}

/// Writes [`raw_chunks`] through a plain socket, half-closes it, and
/// returns everything the server sent back before closing.
fn raw_session(port: u16) -> Vec<u8> {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream.set_read_timeout(Some(CHILD_TIMEOUT)).unwrap();
    // Read while writing, so neither side stalls on a full socket buffer.
    let mut reader = stream.try_clone().unwrap();
    let received = thread::spawn(move || {
        let mut received = Vec::new();
        reader.read_to_end(&mut received).map(|_| received)
    });
    for chunk in raw_chunks() {
        (&stream).write_all(&chunk).unwrap();
        thread::sleep(Duration::from_millis(5));
    }
    stream.shutdown(Shutdown::Write).unwrap();
    received.join().unwrap().unwrap()
}

/// The bytes a line echo server returns for [`raw_chunks`].
fn expected_echo() -> Vec<u8> {
    let mut chunks = raw_chunks();
    chunks.pop();
    chunks.concat()
}

/// Whether `line` has Tornado's LogFormatter shape:
/// `[L yymmdd HH:MM:SS module:line] message`.
fn is_tornado_log_line(line: &str) -> bool {
    let Some((prefix, _message)) = line.split_once("] ") else {
        return false;
    };
    let parts: Vec<&str> = prefix.split(' ').collect();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let [level, date, time, place] = parts[..] else {
        return false;
    };
    let time: Vec<&str> = time.split(':').collect();
    let place = place.rsplit_once(':');
    ["[D", "[I", "[W", "[E"].contains(&level)
        && digits(date, 6)
        && time.len() == 3
        && time.iter().all(|part| digits(part, 2))
        && place.is_some_and(|(module, line)| {
            !module.is_empty() && line.bytes().all(|b| b.is_ascii_digit())
        })
}

/// The messages of the echo log lines ("Received bytes", "Lost client"),
/// without their prefixes.
fn echo_messages(log: &str) -> Vec<&str> {
    log.lines()
        .filter_map(|line| line.split_once("] ").map(|(_, message)| message))
        .filter(|message| {
            message.starts_with("Received bytes: ") || message.starts_with("Lost client at host ")
        })
        .collect()
}

#[test]
fn server_echoes_lines_from_a_raw_socket() {
    let server = Server::rust();
    assert_eq!(raw_session(server.port), expected_echo());
    let log = server.wait_for_log("Lost client at host 127.0.0.1");
    assert!(log.contains(r"Received bytes: b'line 0: \n'"), "{log}");
    assert!(
        log.contains(r"Received bytes: b'a line split over four writes\n'"),
        "{log}"
    );
    assert!(
        log.contains(r"Received bytes: b'caf\xc3\xa9 \x00\x01 tab\t cr\r\n'"),
        "{log}"
    );
    assert!(!log.contains("the end, without a newline"), "{log}");
    for line in log.lines() {
        assert!(
            is_tornado_log_line(line),
            "not in Tornado's log format: {line:?}"
        );
    }
}

#[test]
fn server_serves_clients_at_once() {
    let server = Server::rust();
    let clients: Vec<_> = (0..4)
        .map(|i| {
            let stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
            stream.set_read_timeout(Some(CHILD_TIMEOUT)).unwrap();
            (i, stream)
        })
        .collect();
    // Every client is connected before any talks: one slow client does not hold up the others.
    for (i, stream) in clients.iter().rev() {
        (&*stream)
            .write_all(format!("hello from {i}\n").as_bytes())
            .unwrap();
        let mut reply = BufReader::new(stream);
        let mut line = String::new();
        reply.read_line(&mut line).unwrap();
        assert_eq!(line, format!("hello from {i}\n"));
    }
}

#[test]
fn rust_client_against_rust_server() {
    let server = Server::rust();
    // Default host ("localhost") and message ("ping").
    let mut client = example("tcpecho_client");
    client.arg(format!("--port={}", server.port));
    let done = Proc::spawn(client).finish();
    assert!(done.status.success(), "{}", done.stderr);
    assert_eq!(
        done.stdout,
        "Sent to server: ping\nResponse from server: ping\n"
    );

    let mut client = example("tcpecho_client");
    client.args([
        format!("--port={}", server.port),
        "--host=127.0.0.1".into(),
        "--message=hello world".into(),
    ]);
    let done = Proc::spawn(client).finish();
    assert!(done.status.success(), "{}", done.stderr);
    assert_eq!(
        done.stdout,
        "Sent to server: hello world\nResponse from server: hello world\n"
    );
    server.wait_for_log(r"Received bytes: b'hello world\n'");
}

#[test]
fn python_client_against_rust_server() {
    if !python_tornado_or_skip("python_client_against_rust_server") {
        return;
    }
    let server = Server::rust();
    let mut client = python(PYTHON_CLIENT);
    client.args([
        format!("--port={}", server.port),
        "--message=from python".into(),
    ]);
    let done = Proc::spawn(client).finish();
    assert!(done.status.success(), "{}", done.stderr);
    assert_eq!(
        done.stdout,
        "Sent to server: from python\nResponse from server: from python\n"
    );
    server.wait_for_log(r"Received bytes: b'from python\n'");
}

#[test]
fn rust_client_against_python_server() {
    if !python_tornado_or_skip("rust_client_against_python_server") {
        return;
    }
    let server = Server::python();
    let mut client = example("tcpecho_client");
    client.args([
        format!("--port={}", server.port),
        "--message=from rust".into(),
    ]);
    let done = Proc::spawn(client).finish();
    assert!(done.status.success(), "{}", done.stderr);
    assert_eq!(
        done.stdout,
        "Sent to server: from rust\nResponse from server: from rust\n"
    );
    server.wait_for_log(r"Received bytes: b'from rust\n'");
}

#[test]
fn rust_server_matches_python_server() {
    if !python_tornado_or_skip("rust_server_matches_python_server") {
        return;
    }
    let (rust, python) = (Server::rust(), Server::python());
    let (from_rust, from_python) = (raw_session(rust.port), raw_session(python.port));
    assert_eq!(from_python, expected_echo(), "Tornado's behaviour changed");
    assert_eq!(from_rust, from_python);
    let lost = "Lost client at host 127.0.0.1";
    let (rust_log, python_log) = (rust.wait_for_log(lost), python.wait_for_log(lost));
    let python_messages = echo_messages(&python_log);
    assert_eq!(python_messages.len(), 300 + 5 + 1 + 1 + 1 + 1 + 2 + 1);
    assert_eq!(echo_messages(&rust_log), python_messages);
    for line in python_log.lines().filter(|line| line.starts_with('[')) {
        assert!(
            is_tornado_log_line(line),
            "the shape check misreads Tornado's own format: {line:?}"
        );
    }
}

#[test]
fn port_takes_its_value_with_or_without_equals() {
    let server = Server::start(|port| {
        let mut command = example("tcpecho");
        command.args(["--port".to_string(), port.to_string()]);
        command
    });
    let mut client = example("tcpecho_client");
    client.args([
        "--port".to_string(),
        server.port.to_string(),
        "--message".into(),
        "spaced".into(),
    ]);
    let done = Proc::spawn(client).finish();
    assert!(done.status.success(), "{}", done.stderr);
    assert_eq!(
        done.stdout,
        "Sent to server: spaced\nResponse from server: spaced\n"
    );
}

#[test]
fn help_lists_the_options_and_exits_zero() {
    let mut server = example("tcpecho");
    server.arg("--help");
    let done = Proc::spawn(server).finish();
    assert_eq!(done.status.code(), Some(0), "{}", done.stderr);
    assert!(done.stdout.starts_with("Usage: "), "{}", done.stdout);
    assert!(done
        .stdout
        .contains("--port                           TCP port to listen on (default 9888)"));
    assert!(done
        .stdout
        .contains("--logging=debug|info|warning|error|none"));

    // As Tornado's help callback, `--help` wins over what follows it.
    let mut server = example("tcpecho");
    server.args(["--help", "--bogus"]);
    let done = Proc::spawn(server).finish();
    assert_eq!(done.status.code(), Some(0), "{}", done.stderr);
    assert!(done.stdout.starts_with("Usage: "), "{}", done.stdout);

    let mut client = example("tcpecho_client");
    client.arg("--help");
    let done = Proc::spawn(client).finish();
    assert_eq!(done.status.code(), Some(0), "{}", done.stderr);
    assert!(done
        .stdout
        .contains("--host                           TCP server host (default localhost)"));
    assert!(done
        .stdout
        .contains("--message                        Message to send (default ping)"));
}

#[test]
fn bad_options_exit_nonzero_with_a_message() {
    let cases = [
        (
            "tcpecho",
            "--bogus=1",
            "Unrecognized command line option: 'bogus'",
        ),
        (
            "tcpecho",
            "--port=http",
            "Option 'port': invalid value 'http' (expected u16)",
        ),
        (
            "tcpecho",
            "--logging=loud",
            "Option 'logging': invalid value 'loud'",
        ),
        ("tcpecho_client", "--port", "Option 'port' requires a value"),
    ];
    for (name, arg, message) in cases {
        let mut command = example(name);
        command.arg(arg);
        let done = Proc::spawn(command).finish();
        assert_eq!(done.status.code(), Some(1), "{name} {arg}: {}", done.stderr);
        assert!(
            done.stderr.contains(message),
            "{name} {arg}: {}",
            done.stderr
        );
        assert!(done.stdout.is_empty(), "{name} {arg}: {}", done.stdout);
    }
}
