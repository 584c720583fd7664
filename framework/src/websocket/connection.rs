//! One WebSocket after its handshake: the [`WebSocket`] context its
//! handler talks through, and the session task that reads its frames.
//!
//! # Tornado
//! `WebSocketProtocol13` over the detached stream: `_receive_frame_loop`,
//! `write_message`, `write_ping`, `close`, `_abort`, `periodic_ping`.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::rc::{Rc, Weak};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use super::deflate::{Deflater, Inflater};
use super::frame::{
    close_payload, encode_frame, Decoder, Event, Message, Role, MAX_CONTROL_PAYLOAD, OP_CLOSE,
    OP_PING, OP_PONG,
};
use super::WebSocketHandler;
use crate::gen::{moment, sleep, with_timeout};
use crate::httputil::HTTPServerRequest;
use crate::ioloop::{CatchUnwind, IOLoop, TimeoutHandle};
use crate::iostream::IOStream;
use crate::locks::Lock;
use crate::web::{Application, Settings};

/// How long a closing handshake may take: the peer's close frame after
/// ours, or our close frame reaching the peer, before the socket is closed
/// anyway (Tornado's 5 seconds).
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// The bit of a frame's first byte that marks a compressed message.
const RSV1: u8 = 0x40;

/// The most read from the socket at once.
const READ_CHUNK: usize = 64 * 1024;

/// Past this many unsent bytes the session stops reading until they are
/// sent: a client that sends without reading what it is answered waits
/// (TCP backpressure) instead of growing the server's buffer.
const WRITE_HIGH_WATER: usize = 64 * 1024;

/// The session yields to the loop after this many frames in a row, so a
/// client sending many small frames cannot starve the other connections.
const FRAMES_PER_TURN: u32 = 64;

/// Tornado's default `websocket_max_message_size`: 10 MiB.
///
/// # Tornado
/// `tornado.websocket._default_max_message_size`.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 10 * 1024 * 1024;

/// Why a message or ping could not be sent.
///
/// # Tornado
/// `WebSocketClosedError` ([`Closed`](WebSocketError::Closed)) and the
/// `ValueError` of a ping with more than 125 bytes
/// ([`PingTooLong`](WebSocketError::PingTooLong)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebSocketError {
    /// The connection is closed or closing.
    Closed,
    /// Ping data longer than 125 bytes.
    PingTooLong,
}

impl fmt::Display for WebSocketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WebSocketError::Closed => "WebSocket closed",
            WebSocketError::PingTooLong => "ping data longer than 125 bytes",
        })
    }
}

impl std::error::Error for WebSocketError {}

/// An open WebSocket, as its handler (and anything else holding a clone)
/// sees it: send messages, ping, close, and what the upgrade request was.
/// Cheap to clone (a shared handle): keep clones to send from elsewhere,
/// as the chat demo keeps its `waiters`.
///
/// # Tornado
/// The WebSocket half of `WebSocketHandler`'s `self`: `write_message`,
/// `ping`, `close`, `close_code`, `close_reason`, `selected_subprotocol`,
/// `request`, `current_user`, `settings`, and `ws_connection.is_closing()`.
#[derive(Clone)]
pub struct WebSocket {
    inner: Rc<Inner>,
}

/// What the upgrade request left for the WebSocket.
pub(crate) struct Upgraded {
    pub(crate) stream: IOStream,
    pub(crate) request: HTTPServerRequest,
    pub(crate) path_args: Vec<String>,
    pub(crate) path_kwargs: HashMap<String, String>,
    pub(crate) current_user: Option<String>,
    pub(crate) application: Application,
    pub(crate) selected_subprotocol: Option<String>,
    /// permessage-deflate, when negotiated: the server's compressor and
    /// the client's messages' decompressor.
    pub(crate) compression: Option<(Deflater, Inflater)>,
}

struct Inner {
    up: Upgraded,
    /// Compresses outgoing messages (permessage-deflate); used only while
    /// holding `write_lock`, so messages are compressed in the order sent.
    deflater: RefCell<Option<Deflater>>,
    /// Taken by the session for its decoder.
    inflater: RefCell<Option<Inflater>>,
    max_message_size: usize,
    /// Held by whoever is flushing the stream: one flush at a time, and a
    /// message joins the stream's buffer only once the one before it has
    /// been sent (so the buffer holds one message, plus control frames).
    write_lock: Lock,
    /// A flush task for control frames is spawned and has not started.
    flush_scheduled: Cell<bool>,
    /// The client's close frame came (or the connection is gone).
    client_terminated: Cell<bool>,
    /// Our close frame is queued (or the connection is gone).
    server_terminated: Cell<bool>,
    close_code: Cell<Option<u16>>,
    close_reason: RefCell<Option<String>>,
    /// A pong came since the last periodic ping.
    received_pong: Cell<bool>,
    /// The pong owed for the latest ping, not yet queued on the stream: a
    /// newer ping replaces it (RFC 6455 §5.5.3 allows answering only the
    /// latest), so a ping flood costs one pong of memory, not one each.
    pending_pong: RefCell<Option<Bytes>>,
    /// Aborts the connection [`CLOSE_TIMEOUT`] after [`WebSocket::close`],
    /// whatever the session is doing (a hook may be stuck).
    close_timer: Cell<Option<TimeoutHandle>>,
    /// The session's read, to wake when [`WebSocket::close`] starts the
    /// closing handshake (it then waits at most [`CLOSE_TIMEOUT`]).
    reader: RefCell<Option<Waker>>,
}

impl fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocket")
            .field("uri", &self.inner.up.request.uri)
            .field("closing", &self.is_closing())
            .field("close_code", &self.close_code())
            .finish()
    }
}

impl WebSocket {
    pub(crate) fn new(mut up: Upgraded) -> WebSocket {
        let (deflater, inflater) = up.compression.take().unzip();
        let max_message_size = up
            .application
            .settings()
            .websocket_max_message_size
            .unwrap_or(DEFAULT_MAX_MESSAGE_SIZE);
        WebSocket {
            inner: Rc::new(Inner {
                up,
                deflater: RefCell::new(deflater),
                inflater: RefCell::new(inflater),
                max_message_size,
                write_lock: Lock::new(),
                flush_scheduled: Cell::new(false),
                client_terminated: Cell::new(false),
                server_terminated: Cell::new(false),
                close_code: Cell::new(None),
                close_reason: RefCell::new(None),
                received_pong: Cell::new(false),
                pending_pong: RefCell::new(None),
                close_timer: Cell::new(None),
                reader: RefCell::new(None),
            }),
        }
    }

    /// True if `other` is a handle to this same connection.
    ///
    /// # Tornado
    /// Python's identity between handlers (`waiters.remove(self)` in the
    /// chat demo).
    pub fn same_connection(&self, other: &WebSocket) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }

    /// The upgrade request (its connection detached: `connection` is `None`).
    ///
    /// # Tornado
    /// `WebSocketHandler.request`.
    pub fn request(&self) -> &HTTPServerRequest {
        &self.inner.up.request
    }

    /// The route's path arguments, as `open(*args)` receives them.
    ///
    /// # Tornado
    /// `WebSocketHandler.open_args`.
    pub fn path_args(&self) -> &[String] {
        &self.inner.up.path_args
    }

    /// The route's named path arguments (`open(**kwargs)`).
    ///
    /// # Tornado
    /// `WebSocketHandler.open_kwargs`.
    pub fn path_kwargs(&self) -> &HashMap<String, String> {
        &self.inner.up.path_kwargs
    }

    /// Who was logged in when the upgrade was accepted (see
    /// [`WebSocketHandler::get_current_user`]).
    ///
    /// # Tornado
    /// `WebSocketHandler.current_user`.
    pub fn current_user(&self) -> Option<&str> {
        self.inner.up.current_user.as_deref()
    }

    /// The application's settings.
    ///
    /// # Tornado
    /// `WebSocketHandler.settings`.
    pub fn settings(&self) -> &Settings {
        self.inner.up.application.settings()
    }

    /// The subprotocol [`WebSocketHandler::select_subprotocol`] chose.
    ///
    /// # Tornado
    /// `WebSocketHandler.selected_subprotocol`.
    pub fn selected_subprotocol(&self) -> Option<&str> {
        self.inner.up.selected_subprotocol.as_deref()
    }

    /// The status code of the client's close frame, once it came.
    ///
    /// # Tornado
    /// `WebSocketHandler.close_code`.
    pub fn close_code(&self) -> Option<u16> {
        self.inner.close_code.get()
    }

    /// The reason in the client's close frame, once it came.
    ///
    /// # Tornado
    /// `WebSocketHandler.close_reason`.
    pub fn close_reason(&self) -> Option<String> {
        self.inner.close_reason.borrow().clone()
    }

    /// True once either side has started the closing handshake or the
    /// connection is gone: messages can no longer be sent.
    ///
    /// # Tornado
    /// `WebSocketProtocol.is_closing()`.
    pub fn is_closing(&self) -> bool {
        let inner = &self.inner;
        inner.up.stream.closed() || inner.client_terminated.get() || inner.server_terminated.get()
    }

    /// Sends a text or binary message ([`Message`], or anything that
    /// converts into one: `&str`/`String` as text, `Vec<u8>`/`Bytes`/`&[u8]`
    /// as binary); resolves once the kernel has it. While the client reads
    /// slowly this waits (backpressure), and messages sent meanwhile from
    /// other tasks wait their turn: memory holds about one message per
    /// sender, not a backlog.
    ///
    /// # Errors
    /// [`WebSocketError::Closed`] if the connection is closing or closed
    /// (also when it closes while this waits).
    ///
    /// # Tornado
    /// `await WebSocketHandler.write_message(message, binary=False)`; a
    /// `dict` (JSON) is `write_message(serde_json::to_string(&value)?)`.
    pub async fn write_message(&self, message: impl Into<Message>) -> Result<(), WebSocketError> {
        let message = message.into();
        if self.is_closing() {
            return Err(WebSocketError::Closed);
        }
        let _turn = self.inner.write_lock.acquire().await;
        // It may have closed while this waited: nothing may follow a close frame.
        if self.is_closing() {
            return Err(WebSocketError::Closed);
        }
        let mut frame = BytesMut::new();
        let compressed = (self.inner.deflater.borrow_mut().as_mut())
            .and_then(|deflater| deflater.compress(message.as_bytes()));
        match compressed {
            Some(data) => {
                encode_frame(&mut frame, true, message.opcode(), &data, None);
                if let Some(first) = frame.first_mut() {
                    *first |= RSV1;
                }
            }
            None => encode_frame(&mut frame, true, message.opcode(), message.as_bytes(), None),
        }
        drop(message);
        // The pong owed goes first, as it would have had it been queued at once.
        self.queue_pending_pong();
        let stream = &self.inner.up.stream;
        stream
            .write(frame.freeze())
            .map_err(|_| WebSocketError::Closed)?;
        stream.flush().await.map_err(|_| WebSocketError::Closed)
    }

    /// Sends a ping with `data` (at most 125 bytes); the client's pong
    /// reaches [`WebSocketHandler::on_pong`]. Sent in the background.
    ///
    /// # Errors
    /// [`WebSocketError::Closed`] if the connection is closing,
    /// [`WebSocketError::PingTooLong`] for more than 125 bytes.
    ///
    /// # Tornado
    /// `WebSocketHandler.ping(data=b"")`.
    pub fn ping(&self, data: impl AsRef<[u8]>) -> Result<(), WebSocketError> {
        let data = data.as_ref();
        if data.len() > MAX_CONTROL_PAYLOAD {
            return Err(WebSocketError::PingTooLong);
        }
        if self.is_closing() {
            return Err(WebSocketError::Closed);
        }
        self.send_control(OP_PING, data);
        Ok(())
    }

    /// Starts the closing handshake: sends a close frame with `code` (1000
    /// if only a `reason` is given, as Tornado) and `reason`, then waits
    /// for the client's close frame and closes the connection;
    /// [`WebSocketHandler::on_close`] runs then. Whatever happens meanwhile
    /// (a client that never answers, a hook still awaiting something), the
    /// connection is closed 5 seconds after the first call. Does nothing
    /// if already closing.
    ///
    /// # Tornado
    /// `WebSocketHandler.close(code=None, reason=None)`.
    pub fn close(&self, code: Option<u16>, reason: Option<&str>) {
        let inner = &self.inner;
        if !inner.server_terminated.replace(true) && !inner.up.stream.closed() {
            // Nothing may follow the close frame: the pong owed goes first.
            self.queue_pending_pong();
            self.send_control(OP_CLOSE, &close_payload(code, reason));
            self.start_close_timer();
        }
        self.wake_reader();
    }

    /// Tornado's `_waiting` timeout: aborts the connection
    /// [`CLOSE_TIMEOUT`] from now, unless the session ends first.
    fn start_close_timer(&self) {
        if self.inner.close_timer.get().is_some() {
            return;
        }
        // Weak: a finished connection need not live until its timer fires.
        let inner: Weak<Inner> = Rc::downgrade(&self.inner);
        let handle = IOLoop::current().call_later(CLOSE_TIMEOUT, move || {
            if let Some(inner) = inner.upgrade() {
                inner.close_timer.set(None);
                WebSocket { inner }.abort();
            }
        });
        self.inner.close_timer.set(Some(handle));
    }

    /// Closes the socket at once, without a closing handshake: a flush or
    /// `write_message` waiting on it fails, and the session ends.
    ///
    /// # Tornado
    /// `WebSocketProtocol._abort()`.
    fn abort(&self) {
        self.inner.client_terminated.set(true);
        self.inner.server_terminated.set(true);
        self.inner.up.stream.close();
        self.wake_reader();
    }

    /// Cancels the close timer: the session is over.
    fn cancel_close_timer(&self) {
        if let Some(handle) = self.inner.close_timer.take() {
            IOLoop::current().remove_timeout(handle);
        }
    }

    /// Queues the pong owed for the latest ping, if any, on the stream. Done
    /// by whoever writes next, under `write_lock` or before a close frame,
    /// so the pong keeps its place before later frames.
    fn queue_pending_pong(&self) {
        let pong = self.inner.pending_pong.borrow_mut().take();
        if let Some(data) = pong {
            let mut frame = BytesMut::new();
            encode_frame(&mut frame, true, OP_PONG, &data, None);
            // A failure closed the stream; the session sees it.
            let _ = self.inner.up.stream.write(frame.freeze());
        }
    }

    /// Owes a pong for `data`, replacing any pong not yet queued, and makes
    /// sure a flush sends it.
    fn pong(&self, data: Bytes) {
        *self.inner.pending_pong.borrow_mut() = Some(data);
        self.schedule_flush();
    }

    fn wake_reader(&self) {
        let reader = self.inner.reader.borrow_mut().take();
        if let Some(reader) = reader {
            reader.wake();
        }
    }

    /// Queues a control frame and makes sure a flush sends it.
    fn send_control(&self, opcode: u8, payload: &[u8]) {
        let mut frame = BytesMut::new();
        encode_frame(&mut frame, true, opcode, payload, None);
        if self.inner.up.stream.write(frame.freeze()).is_ok() {
            self.schedule_flush();
        }
    }

    /// Spawns a flush of what is queued, unless one is already waiting to
    /// run (a flush under way sends what is queued meanwhile too).
    fn schedule_flush(&self) {
        if self.inner.flush_scheduled.replace(true) {
            return;
        }
        let ws = self.clone();
        IOLoop::current().spawn(async move {
            let _turn = ws.inner.write_lock.acquire().await;
            ws.inner.flush_scheduled.set(false);
            if !ws.inner.server_terminated.get() {
                ws.queue_pending_pong();
            }
            // A failure closed the stream; the session sees it.
            let _ = ws.inner.up.stream.flush().await;
        });
    }

    /// Sends what is queued (the close frame), for at most
    /// [`CLOSE_TIMEOUT`], then closes the socket.
    async fn finish_closing(&self) {
        let inner = &self.inner;
        let flushed = async {
            let _turn = inner.write_lock.acquire().await;
            let _ = inner.up.stream.flush().await;
        };
        let _ = with_timeout(CLOSE_TIMEOUT, flushed).await;
        self.abort();
    }
}

/// How the session's wait for more bytes ended.
enum Read {
    Data,
    Closed,
}

/// Runs a WebSocket from its handshake to its end: `open`, then each
/// frame as it comes, then `on_close` (once, however it ended).
pub(crate) async fn serve<W: WebSocketHandler>(mut handler: W, ws: WebSocket, mut buf: BytesMut) {
    // The 101 head is queued on the stream: send it now.
    ws.schedule_flush();
    let settings = ws.settings();
    let pinger = settings
        .websocket_ping_interval
        .filter(|interval| !interval.is_zero())
        .map(|interval| {
            let timeout = settings
                .websocket_ping_timeout
                .map_or(interval, |timeout| timeout.min(interval));
            IOLoop::current().spawn(periodic_ping(ws.clone(), interval, timeout))
        });
    match unless_closed(&ws, CatchUnwind::new(handler.open(&ws))).await {
        Some(Ok(Ok(()))) => receive_frames(&mut handler, &ws, &mut buf).await,
        Some(Ok(Err(err))) => {
            log_error(&ws, "open", &err);
            ws.abort();
        }
        Some(Err(panic)) => {
            log_error(&ws, "open", &panic);
            ws.abort();
        }
        // The connection is gone (the client left, or the close timer fired).
        None => {}
    }
    if let Some(pinger) = pinger {
        pinger.abort();
    }
    ws.abort();
    ws.cancel_close_timer();
    let closed = crate::ioloop::catch_panic(|| handler.on_close(&ws));
    if let Err(panic) = closed {
        log_error(&ws, "on_close", &panic);
    }
}

fn log_error(ws: &WebSocket, hook: &str, err: &dyn fmt::Display) {
    let request = ws.request();
    log::error!(target: "tornado.application",
        "Uncaught exception in {hook} {} {} ({}): {err}",
        request.method, request.uri, request.remote_ip
    );
}

/// Reads frames until the connection ends, handing each event to the handler.
async fn receive_frames<W: WebSocketHandler>(handler: &mut W, ws: &WebSocket, buf: &mut BytesMut) {
    let mut decoder = Decoder::new(Role::Server, ws.inner.max_message_size);
    if let Some(inflater) = ws.inner.inflater.borrow_mut().take() {
        decoder.set_inflater(inflater);
    }
    let mut frames = 0_u32;
    loop {
        frames += 1;
        if frames >= FRAMES_PER_TURN {
            frames = 0;
            moment().await;
        }
        let event = match decoder.decode(buf) {
            Ok(Some(event)) => event,
            Ok(None) => {
                if !wait_for_writes(ws).await {
                    return;
                }
                match read_more(ws, buf).await {
                    // Other connections' turn before decoding what came:
                    // a socket that stays readable must not hold the loop.
                    Read::Data => {
                        frames = 0;
                        moment().await;
                        continue;
                    }
                    // The client vanished, or the close timer fired.
                    Read::Closed => return,
                }
            }
            Err(err) => {
                log::info!(target: "tornado.general",
                    "WebSocket protocol error from {}: {err}", ws.request().remote_ip
                );
                ws.close(Some(err.close_code()), Some(err.as_str()));
                ws.finish_closing().await;
                return;
            }
        };
        match event {
            Event::Message(message) => {
                // Tornado delivers nothing after the client's close.
                if ws.inner.client_terminated.get() {
                    continue;
                }
                let hook = CatchUnwind::new(handler.on_message(ws, message));
                let failed = match unless_closed(ws, hook).await {
                    Some(Ok(Ok(()))) => continue,
                    Some(Ok(Err(err))) => err.to_string(),
                    Some(Err(panic)) => panic,
                    // Gone while the hook ran: it is dropped, on_close runs.
                    None => return,
                };
                if !ws.inner.up.stream.closed() {
                    log_error(ws, "on_message", &failed);
                }
                ws.abort();
                return;
            }
            Event::Ping(data) => {
                if !ws.is_closing() {
                    ws.pong(data.clone());
                }
                if let Err(panic) = crate::ioloop::catch_panic(|| handler.on_ping(ws, &data)) {
                    log_error(ws, "on_ping", &panic);
                }
            }
            Event::Pong(data) => {
                ws.inner.received_pong.set(true);
                if let Err(panic) = crate::ioloop::catch_panic(|| handler.on_pong(ws, &data)) {
                    log_error(ws, "on_pong", &panic);
                }
            }
            Event::Close { code, reason } => {
                ws.inner.client_terminated.set(true);
                ws.inner.close_code.set(code);
                *ws.inner.close_reason.borrow_mut() = reason;
                // Echo the code, if any (RFC 6455 §5.5.1), unless ours went first.
                ws.close(code, None);
                ws.finish_closing().await;
                return;
            }
        }
    }
}

/// Reads once more into `buf`; `Closed` once the stream is (also when
/// [`WebSocket::abort`] closes it meanwhile).
async fn read_more(ws: &WebSocket, buf: &mut BytesMut) -> Read {
    poll_fn(|cx| {
        let inner = &ws.inner;
        *inner.reader.borrow_mut() = Some(cx.waker().clone());
        if inner.up.stream.closed() {
            return Poll::Ready(Read::Closed);
        }
        match inner.up.stream.poll_read_into(cx, buf, READ_CHUNK) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(n)) if n > 0 => Poll::Ready(Read::Data),
            // EOF or an error: the stream closed itself.
            Poll::Ready(_) => Poll::Ready(Read::Closed),
        }
    })
    .await
}

/// Backpressure on the reader: while more than [`WRITE_HIGH_WATER`] bytes
/// wait to be sent, sends them before reading on. False if the stream
/// closed meanwhile.
async fn wait_for_writes(ws: &WebSocket) -> bool {
    let stream = &ws.inner.up.stream;
    if stream.write_buffer_size() > WRITE_HIGH_WATER {
        let _turn = ws.inner.write_lock.acquire().await;
        if !ws.inner.server_terminated.get() {
            ws.queue_pending_pong();
        }
        if stream.flush().await.is_err() {
            return false;
        }
    }
    !stream.closed()
}

/// Runs a hook until it returns, or until the connection is gone (the
/// client left, or [`WebSocket::abort`] closed it): then the hook is
/// dropped and this is `None`.
///
/// # Tornado
/// Tornado notices a closed stream while a hook runs and calls `on_close`
/// then; a Rust hook holds `&mut self`, so it is cancelled first.
async fn unless_closed<F: Future>(ws: &WebSocket, hook: F) -> Option<F::Output> {
    let mut hook = pin!(hook);
    poll_fn(|cx| {
        if let Poll::Ready(output) = hook.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        *ws.inner.reader.borrow_mut() = Some(cx.waker().clone());
        ws.inner.up.stream.poll_peer_closed(cx).map(|()| None)
    })
    .await
}

/// Pings every `interval`; closes the connection if no pong came within
/// `timeout` of a ping (a zero `timeout`: never).
///
/// # Tornado
/// `WebSocketProtocol13.periodic_ping()`.
async fn periodic_ping(ws: WebSocket, interval: Duration, timeout: Duration) {
    sleep(interval).await;
    loop {
        if ws.is_closing() {
            return;
        }
        ws.inner.received_pong.set(false);
        let ping_time = Instant::now();
        if ws.ping(b"").is_err() {
            return;
        }
        sleep(timeout).await;
        if ws.is_closing() {
            return;
        }
        if !timeout.is_zero() && !ws.inner.received_pong.get() {
            ws.close(None, Some("ping timed out"));
            return;
        }
        let next = (ping_time + interval).saturating_duration_since(Instant::now());
        sleep(next).await;
    }
}
