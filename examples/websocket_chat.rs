//! A chat room over WebSockets: Tornado's `demos/websocket` (chatdemo.py),
//! simplified. Every message a client sends is broadcast to every
//! connected client; a new client first gets the last messages.
//!
//! ```text
//! cargo run --example websocket_chat -- --port=8888
//! # then open http://localhost:8888/ in two browser windows
//! ```

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::process::ExitCode;
use std::rc::Rc;

use serde::Deserialize;
use serde_json::json;
use tornado::ioloop::IOLoop;
use tornado::log::info;
use tornado::options::OptionParser;
use tornado::web::{url, Application, Handler, RequestHandler, Result};
use tornado::websocket::{websocket, Message, WebSocket, WebSocketHandler};

#[path = "support/serve.rs"]
mod serve;

/// Messages a new client gets on arrival (the demo's `cache_size`).
const CACHE_SIZE: usize = 200;

/// Broadcasts a client may have in flight before it misses messages: one
/// that stops reading does not make the server buffer without bound.
const MAX_PENDING: usize = 64;

/// A connected client and its broadcasts not yet sent.
struct Waiter {
    ws: WebSocket,
    pending: Rc<Cell<usize>>,
}

thread_local! {
    /// The demo's `ChatSocketHandler.waiters`: one IOLoop, one thread.
    static WAITERS: RefCell<Vec<Waiter>> = const { RefCell::new(Vec::new()) };
    /// The demo's `ChatSocketHandler.cache`.
    static CACHE: RefCell<VecDeque<String>> = const { RefCell::new(VecDeque::new()) };
    static NEXT_ID: Cell<u64> = const { Cell::new(1) };
}

/// Sends `chat` to every waiter, each on its own task so a slow client
/// delays nobody else.
fn send_updates(chat: &str) {
    WAITERS.with(|waiters| {
        for waiter in waiters.borrow().iter() {
            if waiter.pending.get() >= MAX_PENDING {
                continue; // too far behind: this one misses the message
            }
            waiter.pending.set(waiter.pending.get() + 1);
            let (ws, pending, chat) = (waiter.ws.clone(), waiter.pending.clone(), chat.to_owned());
            IOLoop::current().spawn(async move {
                // Fails only if that client is gone; its on_close cleans up.
                let _ = ws.write_message(chat).await;
                pending.set(pending.get() - 1);
            });
        }
    });
}

#[derive(Deserialize)]
struct Incoming {
    body: String,
}

struct ChatSocketHandler;

impl WebSocketHandler for ChatSocketHandler {
    async fn open(&mut self, cx: &WebSocket) -> Result {
        let cached: Vec<String> = CACHE.with(|cache| cache.borrow().iter().cloned().collect());
        WAITERS.with(|waiters| {
            waiters.borrow_mut().push(Waiter {
                ws: cx.clone(),
                pending: Rc::default(),
            })
        });
        for chat in cached {
            cx.write_message(chat).await?;
        }
        Ok(())
    }

    async fn on_message(&mut self, cx: &WebSocket, message: Message) -> Result {
        let Some(text) = message.as_text() else {
            return Ok(());
        };
        info!("got message {text:?} from {}", cx.request().remote_ip);
        let Ok(incoming) = serde_json::from_str::<Incoming>(text) else {
            cx.close(Some(1003), Some("expected {\"body\": ...}"));
            return Ok(());
        };
        let id = NEXT_ID.with(|next| next.replace(next.get() + 1));
        let chat = json!({"id": id, "body": incoming.body}).to_string();
        CACHE.with(|cache| {
            let mut cache = cache.borrow_mut();
            cache.push_back(chat.clone());
            if cache.len() > CACHE_SIZE {
                cache.pop_front();
            }
        });
        send_updates(&chat);
        Ok(())
    }

    fn on_close(&mut self, cx: &WebSocket) {
        WAITERS.with(|waiters| {
            waiters
                .borrow_mut()
                .retain(|waiter| !waiter.ws.same_connection(cx))
        });
    }
}

struct MainHandler;

impl RequestHandler for MainHandler {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.write(PAGE)
    }
}

/// The demo's index.html and chat.js in one page.
const PAGE: &str = r#"<!DOCTYPE html>
<html><head><meta charset="UTF-8"><title>Tornado-rs Chat Demo</title></head>
<body>
<div id="inbox"></div>
<form id="messageform"><input id="message" autocomplete="off" style="width:500px">
<input type="submit" value="Post"></form>
<script>
const socket = new WebSocket(`ws://${location.host}/chatsocket`);
socket.onmessage = (event) => {
  const chat = JSON.parse(event.data);
  const div = document.createElement("div");
  div.textContent = chat.body;
  document.getElementById("inbox").append(div);
};
document.getElementById("messageform").onsubmit = (event) => {
  event.preventDefault();
  const input = document.getElementById("message");
  socket.send(JSON.stringify({body: input.value}));
  input.value = "";
};
</script>
</body></html>
"#;

fn main() -> ExitCode {
    let mut options = OptionParser::new();
    options.define("port", 8888_u16, "run on the given port");
    options.parse_command_line();
    let port: u16 = options.get("port");

    let app = Application::new([
        url(r"/", || MainHandler),
        url(r"/chatsocket", websocket(|| ChatSocketHandler)),
    ]);
    serve::listen_and_start(app.listen(port), port)
}
