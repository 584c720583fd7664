//! Echoes request bodies: `POST /echo` answers with the body it was sent,
//! `GET /` answers `ok`.
//!
//! ```text
//! cargo run --release --example echo -- --port=8888
//! curl --data-binary @some-file http://localhost:8888/echo
//! ```

use std::process::ExitCode;

use tornado::ioloop::IOLoop;
use tornado::log::info;
use tornado::options::OptionParser;
use tornado::web::{url, Application, Handler, RequestHandler, Result};

struct EchoHandler;

impl RequestHandler for EchoHandler {
    async fn post(&mut self, cx: &mut Handler) -> Result {
        let body = cx.request.body.clone();
        cx.set_header("Content-Type", "application/octet-stream")?;
        cx.write(body)
    }
}

struct OkHandler;

impl RequestHandler for OkHandler {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.write("ok")
    }
}

fn main() -> ExitCode {
    let mut options = OptionParser::new();
    options.define("port", 8888_u16, "run on the given port");
    options.parse_command_line();
    let port: u16 = options.get("port");

    let app = Application::new([url(r"/echo", || EchoHandler), url(r"/", || OkHandler)]);
    if let Err(err) = app.listen(port) {
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
