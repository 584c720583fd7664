//! Reusable storage for the futures that run requests.
//!
//! Every handler type has its own request future type, so a route table of
//! mixed handlers must keep those futures behind a pointer. A new box per
//! request would be an allocation per request; instead each box is a slot
//! that runs one request after another: when a request ends its future is
//! dropped in place, and the slot waits in a per-thread pool
//! ([`super::recycle`]) for its route's next request.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::execute::run_owned;
use super::{Handler, RequestHandler};

/// Makes a route's handler, one per request.
pub(crate) type MakeHandler<H> = Arc<dyn Fn() -> H + Send + Sync>;

/// A route's handler type, erased: it makes the slots its requests run in.
pub(crate) trait Route: Send + Sync {
    /// A new, empty slot for this route's requests.
    fn new_task(&self) -> Pin<Box<dyn RequestTask>>;
}

/// The [`Route`] to handlers of type `H`.
pub(crate) struct RouteTo<H> {
    pub(crate) make: MakeHandler<H>,
}

impl<H: RequestHandler> Route for RouteTo<H> {
    fn new_task(&self) -> Pin<Box<dyn RequestTask>> {
        Box::pin(Slot {
            make: self.make.clone(),
            run: run_owned::<H>,
            running: None,
        })
    }
}

/// A slot, type-erased: start a request in it, then poll it to its end.
pub(crate) trait RequestTask {
    /// Starts a request on `cx` with a new handler. A request still running
    /// in the slot is dropped first.
    fn start(self: Pin<&mut Self>, cx: Box<Handler>);

    /// Polls the running request: `Ready(Some(cx))` once it has ended (the
    /// slot is empty again), `Ready(None)` if no request was started.
    fn poll_request(self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Option<Box<Handler>>>;
}

pin_project! {
    /// Runs requests for handler type `H`; `Fut` is [`run_owned`]'s future.
    struct Slot<H, Fut> {
        make: MakeHandler<H>,
        run: fn(H, Box<Handler>) -> Fut,
        #[pin]
        running: Option<Fut>,
    }
}

impl<H, Fut: Future<Output = Box<Handler>>> RequestTask for Slot<H, Fut> {
    fn start(self: Pin<&mut Self>, cx: Box<Handler>) {
        let mut this = self.project();
        let handler = (this.make)();
        // Written over the previous request's (finished) future: no allocation.
        this.running.set(Some((this.run)(handler, cx)));
    }

    fn poll_request(self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Option<Box<Handler>>> {
        let mut this = self.project();
        let Some(running) = this.running.as_mut().as_pin_mut() else {
            return Poll::Ready(None);
        };
        let cx = std::task::ready!(running.poll(task));
        this.running.set(None);
        Poll::Ready(Some(cx))
    }
}
