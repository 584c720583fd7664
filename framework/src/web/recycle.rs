//! Per-thread pools of what a request needs beyond its connection: the
//! [`Handler`] context (request strings, header lists, body buffer) and the
//! slot its future runs in. A keep-alive stream of requests takes both from
//! here and gives them back, so the steady state allocates nothing.
//!
//! The pools are bounded in count and in the buffer capacity a pooled
//! context may keep, so an idle server holds a few KiB here whatever its
//! past traffic; a connection waiting for its next request holds nothing.

use std::cell::RefCell;
use std::pin::Pin;
use std::sync::Arc;

use super::task::{RequestTask, Route};
use super::{Application, Handler};

/// Most contexts, and most slots, kept per thread: enough for the requests
/// one loop has in flight at once in a busy moment.
const POOL_SIZE: usize = 64;

thread_local! {
    // Boxed on purpose: a request's future holds its context by pointer, so
    // taking one from here and giving it back moves no large struct.
    #[allow(clippy::vec_box)]
    static HANDLERS: RefCell<Vec<Box<Handler>>> = const { RefCell::new(Vec::new()) };
    static TASKS: RefCell<Vec<IdleTask>> = const { RefCell::new(Vec::new()) };
}

/// A slot waiting for its route's next request. Holding the route keeps its
/// address from being reused by another route while the slot waits.
struct IdleTask {
    route: Arc<dyn Route>,
    task: Pin<Box<dyn RequestTask>>,
}

/// A context for a new request of `application`, from the pool if it has one.
pub(crate) fn handler(application: &Application) -> Box<Handler> {
    let pooled = HANDLERS.with(|pool| pool.borrow_mut().pop());
    let mut cx = pooled.unwrap_or_else(|| Box::new(Handler::blank(application.clone())));
    cx.reset(application);
    cx
}

/// Gives a finished request's context back to the pool.
pub(crate) fn release_handler(mut cx: Box<Handler>) {
    cx.recycle();
    if !cx.fits_in_pool() {
        return;
    }
    HANDLERS.with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.len() < POOL_SIZE {
            pool.push(cx);
        }
    });
}

/// An empty slot for `route`'s next request.
pub(crate) fn task(route: &Arc<dyn Route>) -> Pin<Box<dyn RequestTask>> {
    let pooled = TASKS.with(|pool| {
        let mut pool = pool.borrow_mut();
        let at = pool
            .iter()
            .rposition(|idle| Arc::ptr_eq(&idle.route, route))?;
        Some(pool.swap_remove(at).task)
    });
    pooled.unwrap_or_else(|| route.new_task())
}

/// Gives an empty slot back to the pool.
pub(crate) fn release_task(route: &Arc<dyn Route>, task: Pin<Box<dyn RequestTask>>) {
    TASKS.with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.len() < POOL_SIZE {
            pool.push(IdleTask {
                route: route.clone(),
                task,
            });
        }
    });
}
