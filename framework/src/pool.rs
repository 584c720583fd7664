//! Per-thread pools of idle objects (read buffers, header maps, handler
//! contexts, serving slots, write queues), so that a stream of requests
//! allocates nothing: a finished request gives its parts back, the next one
//! takes them.
//!
//! A pool is a `thread_local!` stack. Two moments make it unreachable, and
//! then an object given back is simply freed, and taking finds nothing:
//! - the pool is borrowed already (a drop that gives something back while
//!   another give-back to the same pool is under way);
//! - the thread is being torn down (a request still in flight when its
//!   loop's thread exits is dropped then, and the pool may be gone first;
//!   `LocalKey::with` would panic there, and a panic in a thread-local's
//!   destructor aborts the process).

use std::cell::RefCell;
use std::thread::LocalKey;

/// What a pool's `thread_local!` holds: its idle objects, newest last.
pub(crate) type Pool<T> = RefCell<Vec<T>>;

/// The newest idle object of `pool`, if it has one.
pub(crate) fn take<T: 'static>(pool: &'static LocalKey<Pool<T>>) -> Option<T> {
    pool.try_with(|idle| idle.try_borrow_mut().ok()?.pop())
        .ok()
        .flatten()
}

/// Keeps `item` in `pool` if the pool holds fewer than `limit`; else (or if
/// the pool cannot be reached) frees it.
pub(crate) fn give_back<T: 'static>(pool: &'static LocalKey<Pool<T>>, item: T, limit: usize) {
    let kept = pool.try_with(|idle| match idle.try_borrow_mut() {
        Ok(mut idle) if idle.len() < limit => {
            idle.push(item);
            None
        }
        _ => Some(item),
    });
    // Freed here, outside the pool's borrow: its drop may give back to it.
    drop(kept);
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        static NUMBERS: Pool<u32> = const { RefCell::new(Vec::new()) };
    }

    #[test]
    fn a_pool_keeps_up_to_its_limit_and_gives_back_the_newest_first() {
        for n in 0..4 {
            give_back(&NUMBERS, n, 3);
        }
        assert_eq!(take(&NUMBERS), Some(2));
        assert_eq!(take(&NUMBERS), Some(1));
        assert_eq!(take(&NUMBERS), Some(0));
        assert_eq!(take(&NUMBERS), None);
    }

    #[test]
    fn a_borrowed_pool_frees_what_is_given_back() {
        NUMBERS.with(|idle| {
            let _held = idle.borrow_mut();
            give_back(&NUMBERS, 7, 3);
            assert_eq!(take(&NUMBERS), None);
        });
        assert_eq!(take(&NUMBERS), None);
    }
}
