//! Tornado's "Hello, world" (`demos/helloworld/helloworld.py`), ported.
//!
//! Run it from the repository root, then open http://localhost:8888/:
//!
//! ```text
//! cargo run --release --example helloworld -- --port=8888
//! ```

use std::process::ExitCode;

use tornado::options::OptionParser;
use tornado::web::{url, Application, Handler, RequestHandler, Result};

#[path = "support/serve.rs"]
mod serve;

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
    serve::listen_and_start(app.listen(port), port)
}
