//! Echoes request bodies: `POST /echo` answers with the body it was sent,
//! `GET /` answers `ok`.
//!
//! ```text
//! cargo run --release --example echo -- --port=8888
//! curl --data-binary @some-file http://localhost:8888/echo
//! ```

use std::process::ExitCode;

use tornado::options::OptionParser;
use tornado::web::{url, Application, Handler, RequestHandler, Result};

#[path = "support/serve.rs"]
mod serve;

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
    serve::listen_and_start(app.listen(port), port)
}
