//! A closure as the server's delegate: Tornado's `request_callback`.

use std::future::Future;

use bytes::{Bytes, BytesMut};

use crate::http1::RequestHead;
use crate::http1connection::HTTP1Connection;
use crate::httputil::{HTTPMessageDelegate, HTTPServerConnectionDelegate, HTTPServerRequest};

/// Any `Fn(HTTPServerRequest) -> impl Future<Output = ()>` (that is `Clone`)
/// serves requests: the body is read whole (bounded by `max_body_size`),
/// then the closure runs and answers through `request.connection`.
///
/// # Tornado
/// `HTTPServer(request_callback)`, via `_CallableAdapter`.
impl<F, Fut> HTTPServerConnectionDelegate for F
where
    F: Fn(HTTPServerRequest) -> Fut + Clone + 'static,
    Fut: Future<Output = ()>,
{
    type Message = CallbackMessage<F>;

    fn start_request(&self, connection: &HTTP1Connection) -> CallbackMessage<F> {
        CallbackMessage {
            callback: self.clone(),
            connection: connection.clone(),
            request: None,
            body: BytesMut::new(),
        }
    }
}

/// The message delegate of a closure-served request.
#[derive(Debug)]
pub struct CallbackMessage<F> {
    callback: F,
    connection: HTTP1Connection,
    request: Option<HTTPServerRequest>,
    body: BytesMut,
}

impl<F, Fut> HTTPMessageDelegate for CallbackMessage<F>
where
    F: Fn(HTTPServerRequest) -> Fut,
    Fut: Future<Output = ()>,
{
    async fn headers_received(&mut self, head: RequestHead) {
        self.request = Some(HTTPServerRequest::new(head, Some(&self.connection)));
    }

    async fn data_received(&mut self, chunk: Bytes) {
        self.body.extend_from_slice(&chunk);
    }

    async fn finish(&mut self) {
        let Some(mut request) = self.request.take() else {
            return;
        };
        request.body = std::mem::take(&mut self.body).freeze();
        if let Err(err) = request.parse_body() {
            log::warn!("Invalid request body from {}: {err}", request.remote_ip);
        }
        (self.callback)(request).await;
    }

    fn on_connection_close(&mut self) {
        self.request = None;
    }
}
