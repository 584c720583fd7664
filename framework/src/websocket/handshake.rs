//! The upgrade: a `RequestHandler` whose `get` checks the handshake
//! headers, answers `101 Switching Protocols`, detaches the connection's
//! stream and starts the WebSocket's session on it.
//!
//! # Tornado
//! `WebSocketHandler.get`, `WebSocketProtocol13.accept_connection`,
//! `_handle_websocket_headers` and `_accept_connection`.

use super::connection::{serve, Upgraded, WebSocket};
use super::deflate::negotiate;
use super::frame::compute_accept_value;
use super::WebSocketHandler;
use crate::http1::Version;
use crate::httputil::{HTTPHeaders, HTTPServerRequest};
use crate::ioloop::IOLoop;
use crate::web::{Error, Handler, RequestHandler, Result};

/// The route handler for a [`WebSocketHandler`]: register it with
/// [`url`](crate::web::url), most simply through [`websocket`]. Its `get`
/// performs the upgrade; `prepare` and `get_current_user` are the
/// WebSocket handler's. Other methods answer 405.
///
/// # Tornado
/// The `RequestHandler` half of `WebSocketHandler`.
#[derive(Debug)]
pub struct WebSocketRoute<W> {
    /// Moved into the WebSocket's session by a successful upgrade.
    handler: Option<W>,
}

impl<W: WebSocketHandler> WebSocketRoute<W> {
    /// The route handler for one upgrade request, to be served by `handler`.
    ///
    /// # Tornado
    /// Tornado instantiates the `WebSocketHandler` itself, per request.
    pub fn new(handler: W) -> WebSocketRoute<W> {
        WebSocketRoute {
            handler: Some(handler),
        }
    }
}

/// A route factory for `url`: builds a [`WebSocketRoute`] around a fresh
/// handler from `factory` for each upgrade request.
///
/// ```
/// use tornado::web::{url, Application, Result};
/// use tornado::websocket::{websocket, Message, WebSocket, WebSocketHandler};
///
/// struct Echo;
///
/// impl WebSocketHandler for Echo {
///     async fn on_message(&mut self, cx: &WebSocket, message: Message) -> Result {
///         cx.write_message(message).await?;
///         Ok(())
///     }
/// }
///
/// let app = Application::new([url(r"/echo", websocket(|| Echo))]);
/// # drop(app);
/// ```
///
/// # Tornado
/// `(r"/echo", EchoWebSocket)` in the route table.
pub fn websocket<W: WebSocketHandler>(
    factory: impl Fn() -> W + Send + Sync + 'static,
) -> impl Fn() -> WebSocketRoute<W> + Send + Sync + 'static {
    move || WebSocketRoute::new(factory())
}

impl<W: WebSocketHandler> RequestHandler for WebSocketRoute<W> {
    async fn prepare(&mut self, cx: &mut Handler) -> Result {
        match &mut self.handler {
            Some(handler) => handler.prepare(cx).await,
            None => Ok(()),
        }
    }

    async fn get(&mut self, cx: &mut Handler) -> Result {
        match self.handler.take() {
            Some(handler) => accept(handler, cx),
            None => Err(Error::Other(
                "the WebSocket handler was already used".into(),
            )),
        }
    }

    fn get_current_user(cx: &mut Handler) -> Result<Option<String>> {
        W::get_current_user(cx)
    }
}

/// Answers a request that cannot be upgraded with `status` and `message`
/// as its body, as Tornado does.
fn refuse(cx: &mut Handler, status: u16, message: &str) -> Result {
    log::debug!(target: "tornado.general", "{message}");
    cx.set_status(status);
    cx.write(message)?;
    cx.finish()
}

/// Checks the upgrade request and, if it is one, switches the connection
/// to the WebSocket protocol and starts `handler`'s session.
fn accept<W: WebSocketHandler>(mut handler: W, cx: &mut Handler) -> Result {
    let headers = &cx.request.headers;
    let upgrade = headers.get_joined("Upgrade").unwrap_or_default();
    if !upgrade.eq_ignore_ascii_case("websocket") {
        return refuse(cx, 400, "Can \"Upgrade\" only to \"WebSocket\".");
    }
    let connection = headers.get_joined("Connection").unwrap_or_default();
    if !connection
        .split(',')
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"))
    {
        return refuse(cx, 400, "\"Connection\" must be \"Upgrade\".");
    }
    // HTTP/1.0 has no 101 (Tornado answers one, then drops the connection).
    if cx.request.version == Version::Http10 {
        return refuse(cx, 400, "WebSocket needs HTTP/1.1 or later.");
    }
    // Browsers do not apply the same-origin policy to WebSockets: the
    // cross-origin check always runs, after `prepare` (Tornado 6.6).
    if let Some(error) = cx.cross_origin_error(|origin| handler.check_origin(cx, origin)) {
        log::debug!(target: "tornado.general", "Cross origin websockets not allowed: {error}");
        cx.set_status(403);
        cx.write("Cross origin websockets not allowed")?;
        return cx.finish();
    }
    let headers = &cx.request.headers;
    if headers.get_joined("Sec-WebSocket-Version").as_deref() != Some("13") {
        cx.set_status_reason(426, "Upgrade Required");
        return cx.set_header("Sec-WebSocket-Version", "13");
    }
    let key = headers
        .get_joined("Sec-WebSocket-Key")
        .unwrap_or_default()
        .into_owned();
    let host = headers.get_joined("Host").unwrap_or_default();
    if key.is_empty() || host.is_empty() {
        return refuse(cx, 400, "Missing/Invalid WebSocket headers");
    }
    let subprotocols: Vec<String> = match headers.get_joined("Sec-WebSocket-Protocol") {
        Some(offered) if !offered.is_empty() => {
            offered.split(',').map(|p| p.trim().to_owned()).collect()
        }
        _ => Vec::new(),
    };
    let offered_extensions = headers
        .get_joined("Sec-WebSocket-Extensions")
        .unwrap_or_default()
        .into_owned();
    let selected = handler.select_subprotocol(cx, &subprotocols);
    if let Some(selected) = &selected {
        if !subprotocols.contains(selected) {
            return Err(Error::Other(
                format!("select_subprotocol chose {selected:?}, which the client did not offer")
                    .into(),
            ));
        }
        cx.set_header("Sec-WebSocket-Protocol", selected)?;
    }
    let Some(conn) = cx.connection().cloned() else {
        return Err(Error::Other("a WebSocket needs a connection".into()));
    };
    let compression = match handler.get_compression_options() {
        Some(options) => match negotiate(&offered_extensions) {
            Ok(Some(agreed)) => {
                cx.set_header("Sec-WebSocket-Extensions", agreed.header())?;
                Some(agreed.codecs(options))
            }
            Ok(None) => None,
            Err(()) => {
                // Tornado's ValueError from `_create_compressors`: the
                // connection is dropped without an answer.
                log::debug!(target: "tornado.general", "Malformed WebSocket request received");
                conn.stream().close();
                return Ok(());
            }
        },
        None => None,
    };
    // Looked up now, while the request is here (Tornado's property caches
    // it the same way once asked).
    let current_user = cx.current_user().ok().flatten().map(str::to_owned);
    cx.clear_header("Content-Type");
    cx.set_status(101);
    cx.set_header("Upgrade", "websocket")?;
    cx.set_header("Connection", "Upgrade")?;
    cx.set_header("Sec-WebSocket-Accept", compute_accept_value(&key))?;
    conn.set_switching_protocols(true);
    if let Err(err) = cx.finish() {
        // Not switched: the error page is an ordinary response.
        conn.set_switching_protocols(false);
        cx.set_status(500);
        return Err(err);
    }
    let (stream, rest) = conn.detach()?;
    let ws = WebSocket::new(Upgraded {
        stream,
        request: snapshot(&cx.request),
        path_args: cx.path_args().to_vec(),
        path_kwargs: cx.path_kwargs().clone(),
        current_user,
        application: cx.application().clone(),
        selected_subprotocol: selected,
        compression,
    });
    IOLoop::current().spawn(serve(handler, ws, rest));
    Ok(())
}

/// A copy of the upgrade request for the WebSocket, which outlives the
/// request's context; without its connection, which is detached.
fn snapshot(request: &HTTPServerRequest) -> HTTPServerRequest {
    let mut copy = HTTPServerRequest::empty();
    copy.method.clone_from(&request.method);
    copy.uri.clone_from(&request.uri);
    copy.version = request.version;
    let mut headers = HTTPHeaders::with_capacity(request.headers.len());
    for (name, value) in request.headers.iter() {
        headers.add(name, value);
    }
    copy.headers = headers;
    copy.body = request.body.clone();
    copy.remote_ip.clone_from(&request.remote_ip);
    copy.protocol.clone_from(&request.protocol);
    copy.host.clone_from(&request.host);
    copy.host_name.clone_from(&request.host_name);
    copy.path.clone_from(&request.path);
    copy.query.clone_from(&request.query);
    copy.arguments.clone_from(&request.arguments);
    copy.query_arguments.clone_from(&request.query_arguments);
    copy.body_arguments.clone_from(&request.body_arguments);
    copy
}
