//! The serving loop: read a request, let the delegate answer it, repeat
//! while the connection is kept alive.
//!
//! # Tornado
//! `HTTP1ServerConnection._server_request_loop` and
//! `HTTP1Connection._read_message`, with the parsing moved into the pure
//! codec, so this file only moves bytes, waits, and calls the delegate.

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::decompress::GzipMessageDelegate;
use super::slot::in_slot;
use super::HTTP1Connection;
use crate::gen::{sleep_until, Sleep};
use crate::http1::{Event, ParseError, RequestHead};
use crate::httputil::{spare_header_map, HTTPMessageDelegate, HTTPServerConnectionDelegate};

/// Tornado answers a client that stalls mid-head with this, then closes. It
/// is written as it stands: the codec has no request to answer.
const REQUEST_TIMEOUT: &[u8] =
    b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// The first read of an idle connection's next request, into a stack buffer:
/// a typical request fits; a longer one continues in a pooled buffer.
const IDLE_READ: usize = 4096;

/// Encoded responses to pipelined requests are written together, up to this
/// many bytes, before the loop flushes.
const PIPELINE_FLUSH_THRESHOLD: usize = 64 * 1024;

/// What the server may tell a connection while it runs.
#[derive(Debug, Default)]
pub(crate) struct ConnectionControl {
    /// True while the connection waits for the first byte of a request: it
    /// may be closed at once without losing anything.
    pub(crate) idle: Cell<bool>,
    /// Set when the server shuts down: finish the current response, then close.
    pub(crate) closing: Cell<bool>,
}

/// The serving loop's one deadline timer, moved from deadline to deadline
/// (idle, head, body) for the life of the connection instead of a timer
/// made and cancelled for every wait: between keep-alive requests it costs
/// no allocation and, while the deadline only moves later, no timer-heap
/// operation (see [`Sleep::reset`]).
#[derive(Default)]
pub(super) struct DeadlineTimer(RefCell<Option<Sleep>>);

impl DeadlineTimer {
    /// Makes `deadline` the one the next waits end at.
    fn set(&self, deadline: Instant) {
        let mut timer = self.0.borrow_mut();
        match &mut *timer {
            Some(timer) => timer.reset(deadline),
            None => *timer = Some(sleep_until(deadline)),
        }
    }

    /// Ready once the deadline has passed; never without one.
    fn poll(&self, cx: &mut Context<'_>) -> Poll<()> {
        match self.0.borrow_mut().as_mut() {
            Some(timer) => Pin::new(timer).poll(cx),
            None => Poll::Pending,
        }
    }

    /// Cancels the timer: the serving loop is over.
    fn cancel(&self) {
        let timer = self.0.borrow_mut().take();
        drop(timer); // outside the borrow
    }
}

/// A deadline `timeout` after the first time a wait asks for it: a request
/// already buffered (pipelined, or a body that came with its head) never
/// waits, so it costs no clock read.
struct LazyDeadline {
    timeout: Option<Duration>,
    at: Option<Option<Instant>>,
}

impl LazyDeadline {
    fn new(timeout: Option<Duration>) -> LazyDeadline {
        LazyDeadline { timeout, at: None }
    }

    /// The deadline, fixed the first time it is asked for; `None`: no limit.
    fn get(&mut self) -> Option<Instant> {
        *self
            .at
            .get_or_insert_with(|| self.timeout.and_then(|t| Instant::now().checked_add(t)))
    }
}

/// How one read ended.
enum Read {
    Data,
    Closed,
    TimedOut,
}

/// Serves requests on `conn` until it closes, then calls `delegate.on_close`.
pub(crate) async fn serve_connection<D: HTTPServerConnectionDelegate>(
    conn: HTTP1Connection,
    delegate: &D,
    control: &ConnectionControl,
) {
    serve_requests(&conn, delegate, control).await;
    // Now, not when the last handle to the connection goes.
    conn.shared.deadline.cancel();
    if conn.detached() {
        // The stream now belongs to another protocol (a WebSocket): not
        // closed here, and not the server's connection any more.
        delegate.on_close(&conn);
        return;
    }
    if !conn.closed() && conn.pending_output() > 0 {
        // The last response (or an error response): nothing else to do if it fails.
        let _ = conn.flush().await;
    }
    conn.shared.stream.close();
    conn.fire_close_callback();
    delegate.on_close(&conn);
}

async fn serve_requests<D: HTTPServerConnectionDelegate>(
    conn: &HTTP1Connection,
    delegate: &D,
    control: &ConnectionControl,
) {
    loop {
        control.idle.set(true);
        let head = read_head(conn, control).await;
        control.idle.set(false);
        let Some(head) = head else {
            return;
        };
        let message = delegate.start_request(conn);
        // In a heap slot: the request's state exists only while a request is
        // served, so an idle connection's task stays small; the slot is
        // reused by the next request, so this allocates nothing either.
        let reusable = if conn.shared.params.decompress {
            let message = GzipMessageDelegate::new(message, conn.clone());
            in_slot(|| serve_one(conn.clone(), message, head)).await
        } else {
            in_slot(|| serve_one(conn.clone(), message, head)).await
        };
        if !reusable || control.closing.get() {
            return;
        }
        if conn.shared.codec.borrow_mut().start_next_cycle().is_err() {
            return; // not keep-alive
        }
        // Keep encoding while pipelined requests are already buffered: their
        // responses then leave in one write.
        let pipelined = !conn.shared.codec.borrow_mut().read_buf().is_empty();
        if (!pipelined || conn.pending_output() >= PIPELINE_FLUSH_THRESHOLD)
            && conn.flush().await.is_err()
        {
            return;
        }
    }
}

/// Waits for a whole request head; `None` when the connection is done (closed
/// by the peer, timed out, or answered with an error status).
async fn read_head(conn: &HTTP1Connection, control: &ConnectionControl) -> Option<RequestHead> {
    let params = &conn.shared.params;
    let mut idle_deadline = LazyDeadline::new(params.idle_connection_timeout);
    let mut head_deadline = None;
    loop {
        let event = next_head_event(conn);
        match event {
            Ok(Event::Request(head)) => return Some(head),
            Ok(Event::NeedData) => {}
            // The peer closed between requests, or something no request cycle
            // allows at this point: either way the connection is over.
            Ok(_) => return None,
            Err(err) => {
                respond_to_parse_error(conn, err);
                return None;
            }
        }
        if control.closing.get() {
            return None;
        }
        // Responses to pipelined requests go out before we wait for more.
        if conn.pending_output() > 0 && conn.flush().await.is_err() {
            return None;
        }
        let started = !conn.shared.codec.borrow_mut().read_buf().is_empty();
        if !started && conn.release_buffers() {
            match read_idle(conn, idle_deadline.get()).await {
                Read::Data => continue,
                // Closed by the client, or idle too long: close quietly.
                Read::Closed | Read::TimedOut => return None,
            }
        }
        if started && head_deadline.is_none() {
            head_deadline = params
                .header_timeout
                .and_then(|t| Instant::now().checked_add(t));
        }
        match read_more(
            conn,
            if started {
                head_deadline
            } else {
                idle_deadline.get()
            },
        )
        .await
        {
            Read::Data => {}
            Read::Closed => return None,
            Read::TimedOut => {
                if started {
                    log::info!(target: "tornado.general",
                        "Timeout reading request head from {}",
                        conn.context().remote_ip
                    );
                    conn.shared
                        .out
                        .borrow_mut()
                        .extend_from_slice(REQUEST_TIMEOUT);
                }
                return None;
            }
        }
    }
}

/// The codec's next event while a head is awaited. Once a head has begun
/// to arrive the codec gets a spare header map from the thread's pool to
/// parse it into, so neither a parse nor an idle connection costs one.
fn next_head_event(conn: &HTTP1Connection) -> Result<Event, ParseError> {
    let mut codec = conn.shared.codec.borrow_mut();
    if codec.wants_headers() && !codec.read_buf().is_empty() {
        if let Some(headers) = spare_header_map() {
            codec.recycle_headers(headers);
        }
    }
    codec.next_event()
}

/// Passes one request to its delegate and waits for the response. Returns
/// whether the connection may carry another request.
///
/// Owns its connection handle so the future borrows nothing and can run in
/// a reusable slot (see `slot.rs`).
async fn serve_one<M: HTTPMessageDelegate + 'static>(
    conn: HTTP1Connection,
    mut message: M,
    head: RequestHead,
) -> bool {
    let conn = &conn;
    let expect_continue = head.expect_continue();
    let mut body_deadline = LazyDeadline::new(conn.shared.params.body_timeout);
    message.headers_received(head).await;
    let mut continue_sent = false;
    loop {
        let event = conn.shared.codec.borrow_mut().next_event();
        match event {
            Ok(Event::Data(chunk)) => {
                // The delegate may take its time over a piece (a streaming
                // handler's `data_received`), and the connection reads no
                // more meanwhile: `body_timeout` covers that wait too, as
                // Tornado's `with_timeout` wraps the whole body read.
                let received = message.data_received(chunk);
                if until_deadline(conn, body_deadline.get(), received)
                    .await
                    .is_none()
                {
                    log::info!(target: "tornado.general",
                        "Timeout reading request body from {}",
                        conn.context().remote_ip
                    );
                    // No 408 here, as in Tornado: the delegate may be mid
                    // response. Closed first, so the request ends seeing it.
                    conn.shared.stream.close();
                    message.on_connection_close();
                    return false;
                }
            }
            Ok(Event::EndOfMessage { .. }) => break,
            Ok(Event::NeedData) => {
                if conn.response_finished() {
                    break; // answered early: the rest of the body is not wanted
                }
                // Only now is the body wanted: a final status sent instead
                // (413 for a Content-Length over the limit, say) means no 100.
                if expect_continue && !continue_sent && !conn.response_started() {
                    continue_sent = true;
                    if conn
                        .shared
                        .codec
                        .borrow_mut()
                        .write_continue(&mut *conn.out())
                        .is_err()
                        || conn.flush().await.is_err()
                    {
                        message.on_connection_close();
                        return false;
                    }
                }
                match read_more(conn, body_deadline.get()).await {
                    Read::Data => {}
                    Read::Closed => {
                        message.on_connection_close();
                        return false;
                    }
                    Read::TimedOut => {
                        log::info!(target: "tornado.general",
                            "Timeout reading request body from {}",
                            conn.context().remote_ip
                        );
                        conn.respond_with_status(408);
                        message.on_connection_close();
                        return false;
                    }
                }
            }
            Err(err) => {
                respond_to_parse_error(conn, err);
                message.on_connection_close();
                return false;
            }
            Ok(_) => {
                message.on_connection_close();
                return false;
            }
        }
    }
    if conn.response_finished() {
        // Finished before the body was read: Tornado skips `finish` then.
        message.on_connection_close();
        return true;
    }
    run_watching_for_close(conn, message.finish()).await;
    if !conn.response_finished() {
        if !conn.closed() && !conn.detached() {
            log::error!(target: "tornado.general",
                "Request delegate returned without finishing the response; closing the connection"
            );
        }
        return false;
    }
    true
}

/// Runs the delegate's `finish` to completion while watching the socket: if
/// the client goes away meanwhile, the stream is closed (so the delegate's
/// next flush fails) and the close callback runs at once. Pipelined request
/// bytes read meanwhile are kept, up to a bound.
///
/// Whenever the work waits, what is encoded and not yet sent goes out: the
/// responses to earlier pipelined requests (batched while handlers finish
/// without waiting), and this one's if `finish()` came before the wait, as
/// Tornado sends a response when it is finished.
async fn run_watching_for_close(conn: &HTTP1Connection, work: impl Future<Output = ()>) {
    let mut work = pin!(work);
    let params = &conn.shared.params;
    let read_limit = params.max_header_size.saturating_add(params.chunk_size);
    let mut watching = true;
    poll_fn(|cx| {
        if work.as_mut().poll(cx).is_ready() {
            return Poll::Ready(());
        }
        if conn.pending_output() > 0 && !conn.closed() {
            if let Poll::Ready(Err(_)) = conn.shared.stream.poll_write_out(cx, &conn.shared.out) {
                // The client is gone: as when a read finds it so, below.
                watching = false;
                conn.fire_close_callback();
                cx.waker().wake_by_ref();
            }
        }
        // A detached stream's bytes are the new protocol's to read.
        while watching && !conn.detached() {
            if conn.shared.codec.borrow_mut().read_buf().len() >= read_limit {
                // Enough buffered: stop reading until the response is done,
                // but still notice the client leaving (a long poll would
                // otherwise hold its connection forever).
                if conn.shared.stream.poll_peer_closed(cx).is_ready() {
                    watching = false;
                    conn.fire_close_callback();
                    cx.waker().wake_by_ref();
                }
                break;
            }
            let polled = conn.poll_read(cx);
            match polled {
                Poll::Pending => break,
                Poll::Ready(Ok(n)) if n > 0 => {}
                Poll::Ready(_) => {
                    // EOF or an error: the stream has closed itself.
                    watching = false;
                    conn.fire_close_callback();
                    // The work's next flush now fails; poll it to let it see that.
                    cx.waker().wake_by_ref();
                }
            }
        }
        Poll::Pending
    })
    .await;
}

/// Runs `work` until `deadline` (`None`: no limit) on the connection's
/// [`DeadlineTimer`]; `None` if the deadline came first.
async fn until_deadline<T>(
    conn: &HTTP1Connection,
    deadline: Option<Instant>,
    work: impl Future<Output = T>,
) -> Option<T> {
    let Some(deadline) = deadline else {
        return Some(work.await);
    };
    let mut work = pin!(work);
    let mut armed = false;
    poll_fn(|cx| {
        if let Poll::Ready(output) = work.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        // Armed only once the work waits: a delegate that takes a body
        // piece at once (the usual case) costs no timer operation.
        if !armed {
            armed = true;
            conn.shared.deadline.set(deadline);
        }
        conn.shared.deadline.poll(cx).map(|()| None)
    })
    .await
}

/// Reads once into the codec's buffer, giving up at `deadline`.
async fn read_more(conn: &HTTP1Connection, deadline: Option<Instant>) -> Read {
    let read = poll_fn(|cx| conn.poll_read(cx));
    match until_deadline(conn, deadline, read).await {
        Some(Ok(n)) if n > 0 => Read::Data,
        Some(_) => Read::Closed,
        None => Read::TimedOut,
    }
}

thread_local! {
    /// Where idle connections read the first bytes of their next request:
    /// one buffer per thread, zeroed once (a fresh stack buffer would be
    /// zeroed on every poll).
    static IDLE_BUFFER: RefCell<[u8; IDLE_READ]> = const { RefCell::new([0; IDLE_READ]) };
}

/// Waits for the next request while holding no buffer: its first bytes are
/// read into the thread's [`IDLE_BUFFER`] (so the waiting task stays small)
/// and then copied into a pooled one. One read per request, no readiness
/// probe.
async fn read_idle(conn: &HTTP1Connection, deadline: Option<Instant>) -> Read {
    let read = poll_fn(|cx| {
        IDLE_BUFFER.with(|first| match first.try_borrow_mut() {
            Ok(mut first) => read_first(conn, cx, &mut first[..]),
            // Only if a read re-entered this one from a close callback.
            Err(_) => read_first(conn, cx, &mut [0; IDLE_READ]),
        })
    });
    until_deadline(conn, deadline, read)
        .await
        .unwrap_or(Read::TimedOut)
}

/// One read of [`read_idle`] into `buffer`, handing what came to the codec.
fn read_first(conn: &HTTP1Connection, cx: &mut Context<'_>, buffer: &mut [u8]) -> Poll<Read> {
    match conn.shared.stream.poll_read_slice(cx, buffer) {
        Poll::Pending => Poll::Pending,
        Poll::Ready(Ok(n)) if n > 0 => {
            conn.receive(buffer.get(..n).unwrap_or_default());
            Poll::Ready(Read::Data)
        }
        Poll::Ready(_) => Poll::Ready(Read::Closed),
    }
}

/// Answers a malformed request with its status and logs one line.
#[cold]
fn respond_to_parse_error(conn: &HTTP1Connection, err: ParseError) {
    log::info!(target: "tornado.general",
        "Malformed HTTP message from {}: {}",
        conn.context().remote_ip,
        err.as_str()
    );
    conn.respond_with_status(err.status_hint());
}
