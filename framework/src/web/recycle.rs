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
use crate::pool::{self, Pool};

/// Most contexts, and most slots, kept per thread: enough for the requests
/// one loop has in flight at once in a busy moment.
const POOL_SIZE: usize = 64;

thread_local! {
    // Boxed on purpose: a request's future holds its context by pointer, so
    // taking one from here and giving it back moves no large struct.
    #[allow(clippy::vec_box)]
    static HANDLERS: Pool<Box<Handler>> = const { RefCell::new(Vec::new()) };
    static TASKS: RefCell<TaskPool> = const {
        RefCell::new(TaskPool {
            routes: Vec::new(),
            idle: 0,
        })
    };
}

/// Idle slots, by route. A route's entry stays once made, so taking and
/// giving back a slot touches no reference count; holding the route keeps
/// its address from being reused by another route.
struct TaskPool {
    routes: Vec<RouteTasks>,
    /// Slots in all entries together, at most [`POOL_SIZE`].
    idle: usize,
}

/// The idle slots of one route.
struct RouteTasks {
    route: Arc<dyn Route>,
    idle: Vec<Pin<Box<dyn RequestTask>>>,
}

/// A context for a new request of `application`, from the pool if it has one.
pub(crate) fn handler(application: &Application) -> Box<Handler> {
    let pooled = pool::take(&HANDLERS);
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
    pool::give_back(&HANDLERS, cx, POOL_SIZE);
}

/// An empty slot for `route`'s next request.
#[inline] // into every request's path, as when it had one caller
pub(crate) fn task(route: &Arc<dyn Route>) -> Pin<Box<dyn RequestTask>> {
    let pooled = TASKS.with(|pool| {
        let mut pool = pool.borrow_mut();
        let entry = pool
            .routes
            .iter_mut()
            .find(|entry| Arc::ptr_eq(&entry.route, route))?;
        let task = entry.idle.pop()?;
        pool.idle -= 1;
        Some(task)
    });
    pooled.unwrap_or_else(|| route.new_task())
}

/// Gives an empty slot back to the pool.
#[inline] // as `task`
pub(crate) fn release_task(route: &Arc<dyn Route>, task: Pin<Box<dyn RequestTask>>) {
    // `try_with`: see `crate::pool` (a request still in flight when its
    // loop's thread exits is dropped after this pool may be gone).
    let _ = TASKS.try_with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.idle >= POOL_SIZE {
            return;
        }
        let at = match pool
            .routes
            .iter()
            .position(|entry| Arc::ptr_eq(&entry.route, route))
        {
            Some(at) => at,
            None => {
                let entry = RouteTasks {
                    route: route.clone(),
                    idle: Vec::new(),
                };
                // Fewer idle slots than entries leaves an empty entry to reuse.
                match pool.routes.iter().position(|entry| entry.idle.is_empty()) {
                    Some(empty) if pool.routes.len() >= POOL_SIZE => {
                        if let Some(old) = pool.routes.get_mut(empty) {
                            *old = entry;
                        }
                        empty
                    }
                    _ => {
                        pool.routes.push(entry);
                        pool.routes.len() - 1
                    }
                }
            }
        };
        if let Some(entry) = pool.routes.get_mut(at) {
            entry.idle.push(task);
            pool.idle += 1;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::task::RouteTo;
    use crate::web::RequestHandler;

    struct Nothing;
    impl RequestHandler for Nothing {}

    fn route() -> Arc<dyn Route> {
        Arc::new(RouteTo {
            make: Arc::new(|| Nothing),
        })
    }

    fn address(task: &Pin<Box<dyn RequestTask>>) -> usize {
        &**task as *const dyn RequestTask as *const () as usize
    }

    #[test]
    fn a_route_gets_its_own_slot_back_and_the_pool_stays_bounded() {
        let routes: Vec<_> = (0..3 * POOL_SIZE).map(|_| route()).collect();
        let first = task(&routes[0]);
        let kept = address(&first);
        release_task(&routes[0], first);
        assert_eq!(address(&task(&routes[0])), kept);

        // Many routes, each leaving its slot and taking it again: entries
        // left empty are reused, so the pool never grows past its bound.
        for route in &routes {
            let slot = task(route);
            release_task(route, slot);
            drop(task(route));
        }
        // And each leaving two slots: the idle slots stay within the bound.
        for route in &routes {
            let (a, b) = (task(route), task(route));
            release_task(route, a);
            release_task(route, b);
        }
        TASKS.with(|pool| {
            let pool = pool.borrow();
            let idle: usize = pool.routes.iter().map(|entry| entry.idle.len()).sum();
            assert_eq!(idle, pool.idle);
            assert!(pool.idle <= POOL_SIZE);
            assert!(pool.routes.len() <= POOL_SIZE, "{}", pool.routes.len());
        });
        // A route seen last still has its slots.
        let last = routes.last().map(task);
        let again = routes.last().map(task);
        assert!(last.is_some() && again.is_some());
    }
}
