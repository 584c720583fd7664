//! A TCP echo client: sends one line, prints the server's answer.
//!
//! Start the server (`cargo run --release --example tcpecho`), then run
//! from the repository root:
//!
//! ```text
//! cargo run --release --example tcpecho_client -- --host=localhost --port=9888 --message=ping
//! ```
//!
//! which prints `Sent to server: ping` and `Response from server: ping`.
//!
//! The Rust twin of Tornado's `demos/tcpecho/client.py`; it works against
//! that server too.

use std::io;
use std::net::ToSocketAddrs;
use std::process::ExitCode;

use tornado::ioloop::IOLoop;
use tornado::iostream::IOStream;
use tornado::options::OptionParser;

/// Connects to the first address of `host` that accepts.
///
/// Python's `TCPClient().connect(host, port)`, which also tries each
/// address the name resolves to (without Tornado's IPv4/IPv6 racing).
async fn connect(host: &str, port: u16) -> io::Result<IOStream> {
    let mut last_error = io::Error::new(io::ErrorKind::NotFound, format!("{host} has no address"));
    // Resolving blocks; for a one-shot client that is fine.
    for addr in (host, port).to_socket_addrs()? {
        match IOStream::connect(addr).await {
            Ok(stream) => return Ok(stream),
            // Refused or unreachable on this address (say `::1` while the
            // server listens on IPv4 only): try the next one.
            Err(err) => last_error = err,
        }
    }
    Err(last_error)
}

/// Python's `send_message()`.
async fn send_message(host: String, port: u16, message: String) -> io::Result<()> {
    let stream = connect(&host, port).await?;
    // `write` buffers, `flush` sends; a `StreamError` converts into `io::Error`.
    stream.write(format!("{message}\n").into_bytes())?;
    stream.flush().await?;
    println!("Sent to server: {message}");
    let reply = stream.read_until(b"\n", None).await?;
    println!(
        "Response from server: {}",
        String::from_utf8_lossy(&reply).trim()
    );
    Ok(())
}

fn main() -> ExitCode {
    let mut options = OptionParser::new();
    options
        .define("host", String::from("localhost"), "TCP server host")
        .define("port", 9888_u16, "TCP port to connect to")
        .define("message", String::from("ping"), "Message to send");
    options.parse_command_line();

    let sent = IOLoop::current().run_sync(send_message(
        options.get("host"),
        options.get("port"),
        options.get("message"),
    ));
    match sent {
        Ok(Ok(())) => ExitCode::SUCCESS,
        // No server (connection refused), an unknown host, or the server
        // closed the connection before answering.
        Ok(Err(err)) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
        // The OS refused the loop's own machinery (epoll/kqueue).
        Err(err) => {
            eprintln!("error: event loop failed: {err}");
            ExitCode::FAILURE
        }
    }
}
