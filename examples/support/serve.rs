//! How every web example's `main` ends, as a Tornado demo's does with
//! `app.listen(options.port)` and the loop's start: shared by the examples
//! through `#[path = "support/serve.rs"] mod serve;`.

use std::io;
use std::process::ExitCode;

use tornado::ioloop::IOLoop;
use tornado::log::info;

/// Runs the IOLoop until it stops, once listening on `port` worked:
/// `listened` is what `app.listen(port)` (or a server's `listen`)
/// returned. A failure is one line on stderr and a failing exit status,
/// not a panic.
pub fn listen_and_start<T>(listened: io::Result<T>, port: u16) -> ExitCode {
    if let Err(err) = listened {
        // The port is taken, or below 1024 without the privilege to bind it.
        eprintln!("error: cannot listen on port {port}: {err}");
        return ExitCode::FAILURE;
    }
    info!("Listening on http://localhost:{port}/");
    match IOLoop::current().start() {
        Ok(()) => ExitCode::SUCCESS,
        // The OS refused the loop's own machinery (epoll).
        Err(err) => {
            eprintln!("error: event loop failed: {err}");
            ExitCode::FAILURE
        }
    }
}
