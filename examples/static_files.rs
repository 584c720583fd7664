//! Serves a directory with `StaticFileHandler`, through the `static_path`
//! setting: the Rust twin of a Tornado app with `static_path=root`.
//!
//! ```text
//! cargo run --release --example static_files -- --port=8888
//! curl -I http://localhost:8888/static/hello.txt
//! curl -r 0-4 http://localhost:8888/static/hello.txt
//! curl http://localhost:8888/            # links to a versioned URL
//! ```
//!
//! `--root` (default `examples/static`, from the repository's root) is the
//! directory served: everything under it is public, so never point it at a
//! tree holding anything else (`.` would serve `.git/` too).
//!
//! Files are streamed 64 KiB at a time, each piece flushed before the next
//! is read, so a slow client of a large file holds one piece in memory.

use std::path::PathBuf;
use std::process::ExitCode;

use tornado::options::OptionParser;
use tornado::web::{url, Application, Handler, RequestHandler, Result, Settings};

#[path = "support/serve.rs"]
mod serve;

/// `/`: a link to `hello.txt` with its version, as a template would write it.
struct Index;

impl RequestHandler for Index {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        let link = cx.static_url("hello.txt")?;
        cx.write(format!("<a href=\"{link}\">hello.txt</a>\n"))
    }
}

fn main() -> ExitCode {
    let mut options = OptionParser::new();
    options.define("port", 8888_u16, "run on the given port");
    options.define(
        "root",
        String::from("examples/static"),
        "the directory served under /static/ (all of it is public)",
    );
    options.parse_command_line();
    let port: u16 = options.get("port");
    let root = PathBuf::from(options.get::<String>("root"));
    if !root.is_dir() {
        eprintln!("error: --root: {} is not a directory", root.display());
        return ExitCode::FAILURE;
    }

    let settings = Settings {
        static_path: Some(root),
        ..Settings::default()
    };
    let app = Application::with_settings([url(r"/", || Index)], settings);
    serve::listen_and_start(app.listen(port), port)
}
