//! The interfaces between the HTTP server and what it serves.
//!
//! # Tornado
//! `httputil.HTTPServerConnectionDelegate` and `httputil.HTTPMessageDelegate`;
//! the third interface, `HTTPConnection`, is the concrete
//! [`HTTP1Connection`]. `web::Application` is a connection delegate; each
//! request gets its own message delegate.

use std::future::Future;

use bytes::Bytes;

use crate::http1::RequestHead;
use crate::http1connection::HTTP1Connection;

/// Makes a message delegate for each request on a connection.
///
/// # Tornado
/// `HTTPServerConnectionDelegate.start_request(server_conn, request_conn)`
/// and `on_close(server_conn)`.
pub trait HTTPServerConnectionDelegate {
    /// The per-request delegate.
    ///
    /// # Tornado
    /// The `HTTPMessageDelegate` that `start_request` returns.
    type Message: HTTPMessageDelegate + 'static;

    /// Called when a request head has been parsed, before `headers_received`.
    ///
    /// # Tornado
    /// `HTTPServerConnectionDelegate.start_request(server_conn, request_conn)`.
    fn start_request(&self, connection: &HTTP1Connection) -> Self::Message;

    /// Called once when the connection closes.
    ///
    /// # Tornado
    /// `HTTPServerConnectionDelegate.on_close(server_conn)`.
    fn on_close(&self, _connection: &HTTP1Connection) {}
}

/// Receives one request and answers it through its [`HTTP1Connection`].
///
/// # Contract
/// Called in this order: `headers_received`, then `data_received` for each
/// body chunk (at most `chunk_size` bytes each), then `finish`. If
/// `headers_received` is called, either `finish` or `on_connection_close`
/// will be called, but not both. The next call waits until the returned
/// future completes: a slow `data_received` slows the reading of the body
/// (flow control). The response must be finished
/// ([`HTTP1Connection::finish`]) by the time `finish`'s future completes, or
/// the connection is closed. The response may be finished earlier, even
/// from `headers_received` (e.g. to refuse a body); the rest of the body is
/// then not read and the connection closes after the response.
///
/// # Tornado
/// `HTTPMessageDelegate.headers_received(start_line, headers)`,
/// `data_received(chunk)`, `finish()`, `on_connection_close()`.
pub trait HTTPMessageDelegate {
    /// The request line and headers have arrived.
    ///
    /// # Tornado
    /// `HTTPMessageDelegate.headers_received(start_line, headers)`.
    fn headers_received(&mut self, head: RequestHead) -> impl Future<Output = ()>;

    /// A chunk of the (decoded, and with `decompress`, decompressed) body.
    ///
    /// # Tornado
    /// `HTTPMessageDelegate.data_received(chunk)`.
    fn data_received(&mut self, chunk: Bytes) -> impl Future<Output = ()>;

    /// The whole request has arrived: produce the response.
    ///
    /// # Tornado
    /// `HTTPMessageDelegate.finish()`, which returns nothing; here the
    /// connection waits for the returned future.
    fn finish(&mut self) -> impl Future<Output = ()>;

    /// The connection closed before the request was complete.
    ///
    /// # Tornado
    /// `HTTPMessageDelegate.on_connection_close()`.
    fn on_connection_close(&mut self);
}
