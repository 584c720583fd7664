//! A Python Tornado app in a child process, for tests that compare our
//! answers with Tornado's own.

use std::io::{self, BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;

/// Ends a Python app script: serves `app` (a `tornado.web.Application`
/// the script defines) with `HTTPServer(app, **SERVER_SETTINGS)` when the
/// script defines `SERVER_SETTINGS`, prints the port, and exits when the
/// test process closes its stdin (when the test process exits).
const SERVE: &str = r#"
import asyncio as _asyncio, os as _os, sys as _sys, threading as _threading
from tornado.httpserver import HTTPServer as _HTTPServer
from tornado.netutil import bind_sockets as _bind_sockets

def _exit_with_parent():
    _sys.stdin.read()
    _os._exit(0)

async def _main():
    _threading.Thread(target=_exit_with_parent, daemon=True).start()
    sockets = _bind_sockets(0, "127.0.0.1")
    server = _HTTPServer(app, **globals().get("SERVER_SETTINGS", {}))
    server.add_sockets(sockets)
    print(sockets[0].getsockname()[1], flush=True)
    await _asyncio.Event().wait()

_asyncio.run(_main())
"#;

/// Whether `python3` can import tornado; when not, says on stderr that
/// `test` is skipped (CI installs it; a developer's machine may not have it).
pub fn python_tornado_or_skip(test: &str) -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    let available = *AVAILABLE.get_or_init(|| {
        Command::new("python3")
            .args(["-c", "import tornado"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    });
    if !available {
        // Straight to stderr, past the test harness's output capture.
        let _ = writeln!(
            io::stderr(),
            "skipped: {test}: python3 cannot import tornado (pip install tornado)"
        );
    }
    available
}

/// A Tornado app serving on 127.0.0.1. Kept in a static by most tests (so
/// never dropped): it exits with the test process, whose end closes its
/// stdin.
pub struct TornadoApp {
    child: Child,
    _stdin: ChildStdin,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl TornadoApp {
    /// Runs `script`, which defines `app` (and optionally
    /// `SERVER_SETTINGS`, a dict of `HTTPServer` keyword arguments), and
    /// waits until it listens.
    pub fn start(script: &str) -> TornadoApp {
        let mut child = Command::new("python3")
            .env("PYTHONUNBUFFERED", "1")
            .args(["-c", &format!("{script}\n{SERVE}")])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("the Python app's stdout is readable");
        let port: u16 = line.trim().parse().unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("the Python app did not print its port: {line:?}")
        });
        TornadoApp {
            _stdin: child.stdin.take().expect("piped stdin"),
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }
}

impl Drop for TornadoApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response's bytes as text with the values of `Date` and `Server`
/// replaced, which differ between Tornado and us (and from one second to
/// the next).
pub fn normalize(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    text.split("\r\n")
        .map(|line| {
            if line.starts_with("Date: ") {
                "Date: <date>".to_owned()
            } else if line.starts_with("Server: ") {
                "Server: <server>".to_owned()
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}
