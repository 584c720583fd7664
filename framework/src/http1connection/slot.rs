//! Heap slots for the per-request serving future, reused across requests.
//!
//! A request's serving future is large (its delegate's state, the codec
//! events it waits on); kept inline, it would make every idle connection's
//! task that large too. So it lives on the heap while the request is served,
//! and the allocation goes back to a per-thread pool afterwards, ready for
//! the next request's future of the same type: a keep-alive stream of
//! requests allocates nothing here.

use std::any::Any;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::pool::{self, Pool};

/// Most idle slots kept per thread (of all future types together): enough
/// for the requests one loop has in flight at once in a busy moment.
const POOL_SIZE: usize = 64;

thread_local! {
    /// Idle slots, each a `Slot<F>` for some future type `F`.
    static IDLE: Pool<Box<dyn Any>> = const { RefCell::new(Vec::new()) };
}

/// Pinned storage for one future of type `F` at a time. The outer box lets
/// the slot wait in the pool as `Box<dyn Any>` and come back typed.
type Slot<F> = Box<Pin<Box<Option<F>>>>;

/// Builds the future `make` returns in a pooled slot (or a new one) and
/// returns a small future that runs it there. Built there, not passed in:
/// a large future is then written once instead of moved in.
pub(crate) fn in_slot<F: Future + 'static>(make: impl FnOnce() -> F) -> InSlot<F> {
    let pooled = IDLE.with(|idle| {
        let mut idle = idle.borrow_mut();
        let at = idle
            .iter()
            .rposition(|slot| slot.is::<Pin<Box<Option<F>>>>())?;
        idle.swap_remove(at).downcast::<Pin<Box<Option<F>>>>().ok()
    });
    let mut slot: Slot<F> = pooled.unwrap_or_else(|| Box::new(Box::pin(None)));
    slot.set(Some(make()));
    InSlot { slot: Some(slot) }
}

/// The future [`in_slot`] returns: pointer-sized, whatever `F`'s size.
pub(crate) struct InSlot<F: 'static> {
    slot: Option<Slot<F>>,
}

impl<F: Future + 'static> Future for InSlot<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let Some(slot) = self.slot.as_mut() else {
            // Polled after completion: the slot went back to the pool.
            return Poll::Pending;
        };
        let Some(running) = Pin::as_mut(&mut **slot).as_pin_mut() else {
            return Poll::Pending;
        };
        let output = std::task::ready!(running.poll(cx));
        release(self.slot.take());
        Poll::Ready(output)
    }
}

impl<F: 'static> Drop for InSlot<F> {
    fn drop(&mut self) {
        // Cancelled mid-request: the future is dropped in place and the
        // slot is still good for the next one.
        release(self.slot.take());
    }
}

/// Empties `slot` (dropping any future in it) and gives it back to the pool.
fn release<F: 'static>(slot: Option<Slot<F>>) {
    let Some(mut slot) = slot else {
        return;
    };
    slot.set(None);
    pool::give_back(&IDLE, slot as Box<dyn Any>, POOL_SIZE);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;
    use std::task::Waker;

    fn poll<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
        future.poll(&mut Context::from_waker(Waker::noop()))
    }

    async fn double(n: u32) -> u32 {
        n * 2
    }

    #[test]
    fn a_slot_is_reused_by_the_next_future_of_its_type() {
        let first = in_slot(|| double(1));
        let address = first.slot.as_ref().map(|slot| &**slot as *const _ as usize);
        let mut first = std::pin::pin!(first);
        assert_eq!(poll(first.as_mut()), Poll::Ready(2));
        let second = in_slot(|| double(2));
        let reused = second
            .slot
            .as_ref()
            .map(|slot| &**slot as *const _ as usize);
        assert_eq!(address, reused);
        let mut second = std::pin::pin!(second);
        assert_eq!(poll(second.as_mut()), Poll::Ready(4));
    }

    #[test]
    fn a_cancelled_future_is_dropped_and_its_slot_kept() {
        struct Guard(Rc<Cell<bool>>);
        impl Drop for Guard {
            fn drop(&mut self) {
                self.0.set(true);
            }
        }
        let dropped = Rc::new(Cell::new(false));
        let guard = Guard(dropped.clone());
        let pending = in_slot(|| async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
        let mut pending = Box::pin(pending);
        assert_eq!(poll(pending.as_mut()), Poll::Pending);
        assert!(!dropped.get());
        drop(pending);
        assert!(dropped.get());
        let kept = IDLE.with(|idle| idle.borrow().len());
        assert!(kept >= 1);
    }
}
