//! Receiving uploads of any size, hashed as they arrive: Tornado's
//! `demos/file_upload/file_receiver.py`, whose `PUT` handler streams the
//! request body (`@stream_request_body`) instead of reading it whole.
//!
//! ```text
//! cargo run --release --example file_receiver -- --port=8888
//! curl -T big.iso http://localhost:8888/upload/big.iso
//! big.iso: 4700372992 bytes, sha1 2a3f...
//! ```
//!
//! The handler holds one piece of the body (`chunk_size`, 64 KiB) at a
//! time, whatever the upload's size; the connection reads the next piece
//! only once the handler is done with the last, so a slow handler slows the
//! client down instead of filling memory. `--max-upload` raises the body
//! limit for this route only (the server's stays at 100 MiB).
//! `--decompress_request` accepts gzip uploads (`curl -T big.iso.gz -H
//! 'Content-Encoding: gzip' ...`), inflated piece by piece as they arrive:
//! memory stays as small however far the body expands.

use std::process::ExitCode;

use sha1::{Digest, Sha1};
use tornado::httpserver::{HTTPServer, HTTPServerSettings};
use tornado::log::info;
use tornado::options::OptionParser;
use tornado::web::{url, Application, Bytes, Handler, RequestHandler, Result};

#[path = "support/serve.rs"]
mod serve;

/// `PUT /upload/NAME`: answers `NAME: N bytes, sha1 HEX`.
struct UploadHandler {
    max_upload: u64,
    bytes: u64,
    hash: Sha1,
}

impl RequestHandler for UploadHandler {
    const STREAM_REQUEST_BODY: bool = true;

    /// Runs when the head arrives, before any of the body is read.
    async fn prepare(&mut self, cx: &mut Handler) -> Result {
        if let Some(conn) = cx.connection() {
            conn.set_max_body_size(self.max_upload);
        }
        Ok(())
    }

    async fn data_received(&mut self, _cx: &mut Handler, chunk: Bytes) -> Result {
        self.bytes += chunk.len() as u64;
        self.hash.update(&chunk);
        Ok(())
    }

    async fn put(&mut self, cx: &mut Handler) -> Result {
        let name = cx.path_args()[0].clone();
        let digest = std::mem::take(&mut self.hash).finalize();
        info!("PUT {name:?} {} bytes", self.bytes);
        cx.set_header("Content-Type", "text/plain; charset=UTF-8")?;
        cx.write(format!("{name}: {} bytes, sha1 {digest:x}\n", self.bytes))
    }
}

fn main() -> ExitCode {
    let mut options = OptionParser::new();
    options.define("port", 8888_u16, "run on the given port");
    options.define(
        "max_upload",
        4_u64 << 30,
        "largest upload accepted, in bytes",
    );
    options.define(
        "decompress_request",
        false,
        "inflate gzip uploads (Content-Encoding: gzip) as they arrive",
    );
    options.parse_command_line();
    let port: u16 = options.get("port");
    let max_upload: u64 = options.get("max_upload");
    let settings = HTTPServerSettings {
        decompress_request: options.get("decompress_request"),
        ..HTTPServerSettings::default()
    };
    let app = Application::new([url(r"/upload/(.+)", move || UploadHandler {
        max_upload,
        bytes: 0,
        hash: Sha1::new(),
    })]);
    let server = HTTPServer::with_settings(app, settings);
    serve::listen_and_start(server.listen(port, ""), port)
}
