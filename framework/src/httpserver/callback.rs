//! A closure as the server's delegate: Tornado's `request_callback`.

use std::future::Future;

use bytes::Bytes;

use crate::http1::RequestHead;
use crate::http1connection::HTTP1Connection;
use crate::httputil::{
    HTTPMessageDelegate, HTTPServerConnectionDelegate, HTTPServerRequest, RequestCollector,
};

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
            collector: RequestCollector::new(connection),
        }
    }
}

/// The message delegate of a closure-served request.
///
/// # Tornado
/// `tornado.httpserver._CallableAdapter`.
#[derive(Debug)]
pub struct CallbackMessage<F> {
    callback: F,
    collector: RequestCollector,
}

impl<F, Fut> HTTPMessageDelegate for CallbackMessage<F>
where
    F: Fn(HTTPServerRequest) -> Fut,
    Fut: Future<Output = ()>,
{
    async fn headers_received(&mut self, head: RequestHead) {
        self.collector.head(head);
    }

    async fn data_received(&mut self, chunk: Bytes) {
        self.collector.data(&chunk);
    }

    async fn finish(&mut self) {
        let Some(request) = self.collector.take() else {
            return;
        };
        (self.callback)(request).await;
    }

    fn on_connection_close(&mut self) {
        self.collector.clear();
    }
}
