//! Reusable storage for the futures that run requests.
//!
//! Every handler type has its own request future type, so a route table of
//! mixed handlers must keep those futures behind a pointer. A new box per
//! request would be an allocation per request; instead each box is a slot
//! that runs one request after another: when a request ends its future is
//! dropped in place, and the slot waits in a per-thread pool
//! ([`super::recycle`]) for its route's next request.

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use pin_project_lite::pin_project;

use super::execute::{receive_body, run_owned};
use super::{Handler, RequestHandler};

/// Makes a route's handler, one per request.
pub(crate) type MakeHandler<H> = Arc<dyn Fn() -> H + Send + Sync>;

/// A route's handler type, erased: it makes the slots its requests run in.
pub(crate) trait Route: Send + Sync {
    /// A new, empty slot for this route's requests.
    fn new_task(&self) -> Pin<Box<dyn RequestTask>>;

    /// Whether the route's handler streams the request body
    /// ([`RequestHandler::STREAM_REQUEST_BODY`]): its request starts when
    /// the head arrives, and the body is passed through [`BodyPipe`].
    fn streams_body(&self) -> bool;
}

/// The [`Route`] to handlers of type `H`.
pub(crate) struct RouteTo<H> {
    pub(crate) make: MakeHandler<H>,
}

impl<H: RequestHandler> Route for RouteTo<H> {
    fn new_task(&self) -> Pin<Box<dyn RequestTask>> {
        if H::STREAM_REQUEST_BODY {
            return Box::pin(Slot {
                make: self.make.clone(),
                run: run_owned::<H, Rc<BodyPipe>>,
                body: Rc::default(),
                running: None,
            });
        }
        Box::pin(Slot {
            make: self.make.clone(),
            run: run_owned::<H, ()>,
            body: (),
            running: None,
        })
    }

    fn streams_body(&self) -> bool {
        H::STREAM_REQUEST_BODY
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

    /// Where a streaming request's body is handed over; `None` for a slot
    /// of a handler that reads the body whole.
    fn body(&self) -> Option<&BodyPipe>;
}

/// What a slot gives its requests besides the context: `()` for a
/// handler that reads the body whole (its code then has no body step at
/// all: `pipe` is a constant `None`, folded away), the slot's
/// [`BodyPipe`] for one that streams it.
pub(crate) trait RequestBody: Clone {
    /// The pipe the body comes through, for a streaming request.
    fn pipe(&self) -> Option<&BodyPipe>;

    /// Passes the body to `handler.data_received` piece by piece (nothing
    /// to do for a body read whole); `Ok(true)` if the method is to run
    /// next. See [`receive_body`].
    fn receive<'a, H: RequestHandler>(
        &'a self,
        handler: &'a mut H,
        cx: &'a mut Handler,
    ) -> impl Future<Output = super::Result<bool>> + 'a;
}

impl RequestBody for () {
    #[inline(always)]
    fn pipe(&self) -> Option<&BodyPipe> {
        None
    }

    #[inline(always)]
    fn receive<'a, H: RequestHandler>(
        &'a self,
        _handler: &'a mut H,
        _cx: &'a mut Handler,
    ) -> impl Future<Output = super::Result<bool>> + 'a {
        BodyRead
    }
}

impl RequestBody for Rc<BodyPipe> {
    #[inline(always)]
    fn pipe(&self) -> Option<&BodyPipe> {
        Some(self)
    }

    fn receive<'a, H: RequestHandler>(
        &'a self,
        handler: &'a mut H,
        cx: &'a mut Handler,
    ) -> impl Future<Output = super::Result<bool>> + 'a {
        receive_body(handler, cx, self)
    }
}

/// The body step of a request that read its body whole: already done. A
/// unit struct, not an `async` block, so that it adds nothing to the
/// request's future (no captured references, nothing to drop).
struct BodyRead;

impl Future for BodyRead {
    type Output = super::Result<bool>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, _task: &mut Context<'_>) -> Poll<Self::Output> {
        Poll::Ready(Ok(true))
    }
}

pin_project! {
    /// Runs requests for handler type `H`; `Fut` is [`run_owned`]'s future
    /// for `H` and `B`.
    struct Slot<H, B, Fut> {
        make: MakeHandler<H>,
        run: fn(H, Box<Handler>, B) -> Fut,
        // A streaming handler's pipe: one per slot, reused request after
        // request (no allocation).
        body: B,
        #[pin]
        running: Option<Fut>,
    }
}

impl<H, B: RequestBody, Fut: Future<Output = Box<Handler>>> RequestTask for Slot<H, B, Fut> {
    fn start(self: Pin<&mut Self>, cx: Box<Handler>) {
        let mut this = self.project();
        if let Some(pipe) = this.body.pipe() {
            // Drop a request still running first: it may hold the pipe's state.
            this.running.set(None);
            pipe.reset();
        }
        let handler = (this.make)();
        // Written over the previous request's (finished) future: no allocation.
        this.running
            .set(Some((this.run)(handler, cx, this.body.clone())));
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

    fn body(&self) -> Option<&BodyPipe> {
        self.body.pipe()
    }
}

/// What the connection passes to a streaming request next.
#[derive(Debug)]
pub(crate) enum BodyEvent {
    /// A piece of the body.
    Chunk(Bytes),
    /// The body has ended.
    End,
    /// The body will not end: the client left, or the connection refused
    /// the rest (too large, malformed, too slow).
    Aborted,
}

/// Hands a streaming request's body from its delegate to its running
/// future, one piece at a time.
///
/// Both run in the connection's task, and only the delegate polls the
/// future: it puts a piece here, then polls the future until the future
/// waits here again (the handler's `data_received` is done with the piece)
/// or ends. So there is no waker to store, and at most one piece is ever
/// held: the connection reads no more until then (backpressure).
#[derive(Default)]
pub(crate) struct BodyPipe {
    /// A piece not yet taken by the request.
    chunk: Cell<Option<Bytes>>,
    /// The body's end, once known; kept (not taken) once set.
    end: Cell<Option<bool>>,
    /// The request is waiting here for the next event.
    waiting: Cell<bool>,
}

impl BodyPipe {
    fn reset(&self) {
        self.chunk.set(None);
        self.end.set(None);
        self.waiting.set(false);
    }

    /// Hands `chunk` to the request.
    pub(crate) fn send(&self, chunk: Bytes) {
        self.waiting.set(false);
        self.chunk.set(Some(chunk));
    }

    /// Tells the request the body has ended (`complete`) or never will.
    pub(crate) fn end(&self, complete: bool) {
        self.waiting.set(false);
        if self.end.get().is_none() {
            self.end.set(Some(complete));
        }
    }

    /// True while the request waits for the next event, having dealt with
    /// every piece sent so far.
    pub(crate) fn waiting(&self) -> bool {
        self.waiting.get()
    }

    /// True once the body was cut short.
    pub(crate) fn aborted(&self) -> bool {
        self.end.get() == Some(false)
    }

    /// Runs `work` (the handler's `data_received`) until it ends, or
    /// `None` once the body is cut short while it still waits.
    ///
    /// No waker either: the delegate polls the request right after it
    /// ends the body (see the type's comment).
    pub(crate) async fn unless_aborted<T>(&self, work: impl Future<Output = T>) -> Option<T> {
        let mut work = pin!(work);
        poll_fn(|task| match work.as_mut().poll(task) {
            Poll::Ready(output) => Poll::Ready(Some(output)),
            Poll::Pending if self.aborted() => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        })
        .await
    }

    /// The next event, once the delegate has sent one.
    pub(crate) async fn next(&self) -> BodyEvent {
        poll_fn(|_| {
            if let Some(chunk) = self.chunk.take() {
                return Poll::Ready(BodyEvent::Chunk(chunk));
            }
            match self.end.get() {
                Some(true) => Poll::Ready(BodyEvent::End),
                Some(false) => Poll::Ready(BodyEvent::Aborted),
                None => {
                    // No waker: the delegate polls the request again after
                    // it sends the next event (see the type's comment).
                    self.waiting.set(true);
                    Poll::Pending
                }
            }
        })
        .await
    }
}
