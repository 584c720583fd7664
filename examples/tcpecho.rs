//! A TCP echo server: every line a client sends comes straight back.
//!
//! Run it from the repository root:
//!
//! ```text
//! cargo run --release --example tcpecho -- --port=9888
//! ```
//!
//! then talk to it with `cargo run --release --example tcpecho_client -- --message=hello`,
//! or with `nc localhost 9888`. `--logging=debug|info|warning|error|none`
//! sets how much it logs (default `info`); `--help` lists the options.
//!
//! The Rust twin of Tornado's `demos/tcpecho/server.py`: same option, same
//! default port, same line protocol, same log lines.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;

use tornado::ioloop::IOLoop;
use tornado::iostream::{IOStream, StreamError};
use tornado::log::{error, info, warn};
use tornado::options::OptionParser;
use tornado::tcpserver::TCPServer;

/// Serves one client until it leaves.
///
/// Python's `EchoServer.handle_stream(stream, address)`.
async fn handle_stream(stream: IOStream, address: SocketAddr) {
    match echo_lines(&stream).await {
        Ok(never) => match never {},
        // The client closed its side (EOF) or the connection failed (reset).
        // As in Tornado, a last line without "\n" is dropped with the stream.
        Err(StreamError::Closed(_)) => warn!("Lost client at host {}", address.ip()),
        // A line longer than the read buffer's limit (100 MiB): the stream
        // has already been closed. Python's `except Exception: print(e)`.
        Err(err) => error!("Dropped client at host {}: {err}", address.ip()),
    }
}

/// Echoes line after line; returns only with the error that ended the stream.
async fn echo_lines(stream: &IOStream) -> Result<Infallible, StreamError> {
    loop {
        // `read_until` hands back the line with its "\n" (at EOF a partial
        // line is an error, not data), so unlike server.py there is never a
        // newline to add before echoing.
        let data = stream.read_until(b"\n", None).await?;
        info!("Received bytes: b'{}'", data.escape_ascii());
        // `write` only buffers (it fails only on a closed stream); `flush`
        // sends, waiting while the client is slow to read.
        stream.write(data)?;
        stream.flush().await?;
    }
}

fn main() -> ExitCode {
    let mut options = OptionParser::new();
    options.define("port", 9888_u16, "TCP port to listen on");
    options.parse_command_line();
    let port: u16 = options.get("port");

    let server = TCPServer::new(handle_stream);
    if let Err(err) = server.listen(port, "") {
        // The port is taken, or below 1024 without the privilege to bind it.
        eprintln!("error: cannot listen on TCP port {port}: {err}");
        return ExitCode::FAILURE;
    }
    info!("Listening on TCP port {port}");
    match IOLoop::current().start() {
        Ok(()) => ExitCode::SUCCESS,
        // The OS refused the loop's own machinery (epoll/kqueue).
        Err(err) => {
            eprintln!("error: event loop failed: {err}");
            ExitCode::FAILURE
        }
    }
}
