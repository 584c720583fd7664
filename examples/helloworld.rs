//! Tornado's "Hello, world" (`demos/helloworld/helloworld.py`), ported.
//!
//! Run it from the repository root, then open http://localhost:8888/:
//!
//! ```text
//! cargo run --release --example helloworld -- --port=8888
//! ```

use std::process::ExitCode;

use tornado::ioloop::IOLoop;
use tornado::log::info;
use tornado::options::OptionParser;
use tornado::web::{url, Application, Handler, RequestHandler, Result};

/// `class MainHandler(tornado.web.RequestHandler)`.
struct MainHandler;

impl RequestHandler for MainHandler {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.write("Hello, world")
    }
}

fn main() -> ExitCode {
    let mut options = OptionParser::new();
    options.define("port", 8888_u16, "run on the given port");
    options.parse_command_line();
    let port: u16 = options.get("port");

    let app = Application::new([url(r"/", || MainHandler)]);
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
