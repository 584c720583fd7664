//! WebSockets (RFC 6455), server side: a [`WebSocketHandler`] per
//! connection, registered with [`url`](crate::web::url) through
//! [`websocket`].
//!
//! # Tornado
//! `tornado.websocket`. A Tornado `WebSocketHandler` is a `RequestHandler`
//! whose `get` performs the upgrade; here the route's handler is
//! [`WebSocketRoute`], a `RequestHandler` whose `get` performs it, and your
//! type implements [`WebSocketHandler`]. Its hooks get the [`WebSocket`]
//! context (`write_message`, `close`, `ping` ...), where a Tornado handler
//! has them on `self`.
//!
//! ```no_run
//! use tornado::ioloop::IOLoop;
//! use tornado::web::{url, Application};
//! use tornado::websocket::{websocket, Message, WebSocket, WebSocketHandler};
//!
//! struct EchoWebSocket;
//!
//! impl WebSocketHandler for EchoWebSocket {
//!     async fn open(&mut self, _cx: &WebSocket) -> tornado::web::Result {
//!         println!("WebSocket opened");
//!         Ok(())
//!     }
//!
//!     async fn on_message(&mut self, cx: &WebSocket, message: Message) -> tornado::web::Result {
//!         if let Message::Text(text) = message {
//!             cx.write_message(format!("You said: {text}")).await?;
//!         }
//!         Ok(())
//!     }
//!
//!     fn on_close(&mut self, _cx: &WebSocket) {
//!         println!("WebSocket closed");
//!     }
//! }
//!
//! fn main() -> std::io::Result<()> {
//!     let app = Application::new([url(r"/websocket", websocket(|| EchoWebSocket))]);
//!     app.listen(8888)?;
//!     IOLoop::current().start()
//! }
//! ```
//!
//! permessage-deflate compression is negotiated when the handler's
//! [`get_compression_options`](WebSocketHandler::get_compression_options)
//! returns options, as in Tornado. Not ported yet: the client,
//! `websocket_connect`.

mod connection;
mod deflate;
pub mod frame;
mod handshake;

use std::future::Future;

pub use connection::{WebSocket, WebSocketError, DEFAULT_MAX_MESSAGE_SIZE};
pub use deflate::CompressionOptions;
pub use frame::Message;
pub use handshake::{websocket, WebSocketRoute};

use crate::web::{Handler, Result};

/// What a WebSocket endpoint implements: your fields on `self`, the
/// connection's methods on the [`WebSocket`] context passed to each hook.
///
/// A fresh handler is built by the route's factory for every connection.
/// Hooks run one at a time, in order: `prepare` (on the upgrade request,
/// with the request's [`Handler`] context), `check_origin`,
/// `select_subprotocol`, then `open`, `on_message` for each message (the
/// next message is not read until it returns), `on_ping`/`on_pong`, and
/// `on_close` once at the end, however the connection ended.
///
/// # Tornado
/// `tornado.websocket.WebSocketHandler`. Differences: hooks get the
/// connection as `cx` (and `cx.request()`), path arguments are
/// `cx.path_args()`; an error (or panic) in `open` or `on_message` is
/// logged and the connection aborted, as in Tornado. If the connection
/// closes while `open` or `on_message` awaits (the client left, or 5
/// seconds passed since [`WebSocket::close`]), that hook's future is
/// dropped and `on_close` runs: Tornado runs `on_close` while the
/// coroutine goes on, which `&mut self` rules out here.
pub trait WebSocketHandler: 'static {
    /// Runs before the upgrade, on the upgrade request: reject it here
    /// (`Err(HTTPError::new(403).into())`, or finish a response) and no
    /// WebSocket opens.
    ///
    /// # Tornado
    /// `RequestHandler.prepare()` on a `WebSocketHandler`.
    fn prepare(&mut self, _cx: &mut Handler) -> impl Future<Output = Result> {
        std::future::ready(Ok(()))
    }

    /// Who is logged in, from the upgrade request (typically a signed
    /// cookie): [`Handler::current_user`] and `authenticated` in `prepare`
    /// use it, and [`WebSocket::current_user`] keeps the answer.
    ///
    /// # Tornado
    /// `RequestHandler.get_current_user()`.
    fn get_current_user(_cx: &mut Handler) -> Result<Option<String>>
    where
        Self: Sized,
    {
        Ok(None)
    }

    /// Whether a browser on `origin` (a cross-origin request: the `Origin`
    /// header differs from `Host`, or `Sec-Fetch-Site` says so) may open
    /// this WebSocket; `false` answers 403. The default asks
    /// [`check_trusted_origin`](WebSocketHandler::check_trusted_origin).
    /// Runs after `prepare`.
    ///
    /// # Tornado
    /// `WebSocketHandler.check_origin(origin)` (6.6: called only for
    /// requests that look cross-origin).
    fn check_origin(&self, cx: &Handler, origin: &str) -> bool {
        self.check_trusted_origin(cx, origin)
    }

    /// Whether `origin` is trusted: the default [`check_origin`]'s answer.
    /// The default allows the `trusted_origins` setting's origins, as
    /// [`RequestHandler::check_trusted_origin`] does for other handlers.
    ///
    /// [`check_origin`]: WebSocketHandler::check_origin
    /// [`RequestHandler::check_trusted_origin`]: crate::web::RequestHandler::check_trusted_origin
    ///
    /// # Tornado
    /// `RequestHandler.check_trusted_origin(origin)`, which
    /// `WebSocketHandler.check_origin` calls by default.
    fn check_trusted_origin(&self, cx: &Handler, origin: &str) -> bool {
        crate::web::is_trusted_origin(cx, origin)
    }

    /// Picks one of the subprotocols the client offered
    /// (`Sec-WebSocket-Protocol`), in its order; `None` (the default)
    /// picks none. Returning one the client did not offer is an error (500).
    ///
    /// # Tornado
    /// `WebSocketHandler.select_subprotocol(subprotocols)`.
    fn select_subprotocol(&mut self, _cx: &Handler, _subprotocols: &[String]) -> Option<String> {
        None
    }

    /// Options enabling permessage-deflate compression, when the client
    /// offers it; `None` (the default) answers without it.
    ///
    /// # Tornado
    /// `WebSocketHandler.get_compression_options()`: `{}` there is
    /// `Some(CompressionOptions::default())` here.
    fn get_compression_options(&self) -> Option<CompressionOptions> {
        None
    }

    /// Called once the WebSocket is open, before any message.
    ///
    /// # Tornado
    /// `WebSocketHandler.open(*args, **kwargs)`; the arguments are
    /// `cx.path_args()` and `cx.path_kwargs()`.
    fn open(&mut self, _cx: &WebSocket) -> impl Future<Output = Result> {
        std::future::ready(Ok(()))
    }

    /// Handles a message: text (valid UTF-8) or binary. The next message is
    /// read once this returns.
    ///
    /// # Tornado
    /// `WebSocketHandler.on_message(message)`, `str` or `bytes`.
    fn on_message(&mut self, cx: &WebSocket, message: Message) -> impl Future<Output = Result>;

    /// Called for each ping from the client, after its pong was queued.
    ///
    /// # Tornado
    /// `WebSocketHandler.on_ping(data)`.
    fn on_ping(&mut self, _cx: &WebSocket, _data: &[u8]) {}

    /// Called for each pong from the client.
    ///
    /// # Tornado
    /// `WebSocketHandler.on_pong(data)`.
    fn on_pong(&mut self, _cx: &WebSocket, _data: &[u8]) {}

    /// Called once when the WebSocket has closed, whoever closed it (or if
    /// the client vanished); `cx.close_code()` and `cx.close_reason()` say
    /// what the client's close frame said, if one came.
    ///
    /// # Tornado
    /// `WebSocketHandler.on_close()`.
    fn on_close(&mut self, _cx: &WebSocket) {}
}
