//! `cx.remove_slash()?` and `cx.add_slash()?` (Tornado's `@removeslash` and
//! `@addslash`) answer as Python Tornado's decorators do, byte for byte but
//! `Date` and `Server`. Skipped (with a line on stderr) without Python's
//! tornado.

use std::sync::OnceLock;

use test_support::{
    app_server, normalize, python_tornado_or_skip, send_expect_close, ServerThread, TornadoApp,
};
use tornado::web::{url, Application, Handler, RequestHandler, Result};

/// The Python twin of [`rust_app`].
const PYTHON_APP: &str = r#"
import tornado.web

class Add(tornado.web.RequestHandler):
    @tornado.web.addslash
    def get(self):
        self.write("add " + self.request.path)

    @tornado.web.addslash
    def post(self):
        self.write("posted")

class Remove(tornado.web.RequestHandler):
    @tornado.web.removeslash
    def get(self):
        self.write("remove " + self.request.path)

    @tornado.web.removeslash
    def post(self):
        self.write("posted")

app = tornado.web.Application([(r"/add.*|//.*", Add), (r"/.*", Remove)])
"#;

struct Add;

impl RequestHandler for Add {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.add_slash()?;
        let path = cx.request.path.clone();
        cx.write(format!("add {path}"))
    }

    async fn post(&mut self, cx: &mut Handler) -> Result {
        cx.add_slash()?;
        cx.write("posted")
    }
}

struct Remove;

impl RequestHandler for Remove {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.remove_slash()?;
        let path = cx.request.path.clone();
        cx.write(format!("remove {path}"))
    }

    async fn post(&mut self, cx: &mut Handler) -> Result {
        cx.remove_slash()?;
        cx.write("posted")
    }
}

fn rust_app() -> Application {
    Application::new([url(r"/add.*|//.*", || Add), url(r"/.*", || Remove)])
}

fn servers() -> &'static (TornadoApp, ServerThread) {
    static SERVERS: OnceLock<(TornadoApp, ServerThread)> = OnceLock::new();
    SERVERS.get_or_init(|| (TornadoApp::start(PYTHON_APP), app_server(rust_app())))
}

#[test]
fn slashes_are_added_and_removed_as_tornado_does() {
    if !python_tornado_or_skip("slashes_are_added_and_removed_as_tornado_does") {
        return;
    }
    let (tornado, ours) = servers();
    let targets = [
        "/page",
        "/page/",
        "/page//",
        "/page/?q=1&r=%20",
        "/",
        "//",
        "//evil.example//",
        "/%2F/x/",
        "/add",
        "/add/",
        "/add?q=1",
        "/addx/y",
        "//evil.example",
        "/\\evil/",
    ];
    for target in targets {
        for method in ["GET", "POST"] {
            let request = format!(
                "{method} {target} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\
                 Connection: close\r\n\r\n"
            );
            let theirs = normalize(&send_expect_close(tornado.addr, request.as_bytes()));
            let mine = normalize(&send_expect_close(ours.addr, request.as_bytes()));
            assert_eq!(mine, theirs, "\nrequest: {request:?}");
        }
    }
}
