//! Asynchronous queues for tasks on one loop: [`Queue`], [`PriorityQueue`]
//! and [`LifoQueue`].
//!
//! # Tornado
//! `tornado.queues`. As there, the queues are *not* thread-safe (they are
//! `!Send`): from another thread, hop onto the loop first with
//! [`IOLoopHandle::add_callback`](crate::ioloop::IOLoopHandle::add_callback).
//!
//! Native, not tokio: `tokio::sync::mpsc` has one consumer, no
//! `task_done`/`join`, no `qsize`, and no priority or LIFO order, so the three
//! queues are one small single-threaded [`GenericQueue`] over a pluggable
//! [`QueueBuffer`] (Tornado's overridable `_init`/`_put`/`_get`).
//!
//! # Contract
//! The rules of [`locks`](crate::locks) hold here too:
//! * **In line when called.** [`get`](GenericQueue::get) and
//!   [`put`](GenericQueue::put) take their place (or their item) when
//!   called, not when first polled, as Tornado's return `Future`s do.
//! * **Timeouts** are `*_timeout(Duration)` methods failing with
//!   [`TimeoutError`]. The timer starts at the call and takes the waiter out
//!   of line at the deadline even if nobody is polling it; a getter already
//!   handed an item by then keeps it. For an absolute deadline use
//!   `gen::with_deadline(deadline, q.get())`.
//! * **Cancel-safe.** A getter dropped while waiting leaves the line; one
//!   dropped after an item was handed to it gives the item back (to the next
//!   getter, or to the head of the queue, even if that puts it one past
//!   `maxsize` for a while), so a timed-out or aborted `get` never loses an
//!   item. A putter dropped while waiting leaves the line with its item,
//!   which is then never put (Tornado: "1 was never put in the queue").

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::gen::TimeoutError;
use crate::locks::waiters::{wake_all, WaitList};
use crate::locks::{timeout_from_now, Event};

/// A FIFO queue: items come out in the order they were put.
///
/// # Tornado
/// `tornado.queues.Queue(maxsize=0)`.
///
/// ```
/// use std::time::Duration;
/// use tornado::gen::sleep;
/// use tornado::ioloop::IOLoop;
/// use tornado::queues::Queue;
///
/// let ioloop = IOLoop::current();
/// let done = ioloop
///     .run_sync(async {
///         let q = Queue::with_maxsize(2);
///         let consumer = q.clone();
///         IOLoop::current().spawn(async move {
///             loop {
///                 let item: u32 = consumer.get().await;
///                 println!("Doing work on {item}");
///                 sleep(Duration::from_millis(1)).await;
///                 consumer.task_done().unwrap();
///             }
///         });
///         for item in 0..5 {
///             q.put(item).await; // waits while two items are queued
///             println!("Put {item}");
///         }
///         q.join().await; // every item has been processed
///         "Done"
///     })
///     .unwrap();
/// assert_eq!(done, "Done");
/// ```
pub type Queue<T> = GenericQueue<T, VecDeque<T>>;

/// A queue that gives the lowest item first (a min-heap). Items are
/// typically `(priority, data)` tuples.
///
/// # Tornado
/// `tornado.queues.PriorityQueue(maxsize=0)` (a `heapq`).
///
/// ```
/// use tornado::ioloop::IOLoop;
/// use tornado::queues::PriorityQueue;
///
/// IOLoop::current()
///     .run_sync(async {
///         let q = PriorityQueue::new();
///         q.put((1, "medium-priority item")).await;
///         q.put((0, "high-priority item")).await;
///         q.put((10, "low-priority item")).await;
///         assert_eq!(q.get_nowait(), Ok((0, "high-priority item")));
///         assert_eq!(q.get_nowait(), Ok((1, "medium-priority item")));
///         assert_eq!(q.get_nowait(), Ok((10, "low-priority item")));
///     })
///     .unwrap();
/// ```
pub type PriorityQueue<T> = GenericQueue<T, BinaryHeap<Reverse<T>>>;

/// A queue that gives the most recently put item first.
///
/// # Tornado
/// `tornado.queues.LifoQueue(maxsize=0)`.
///
/// ```
/// use tornado::ioloop::IOLoop;
/// use tornado::queues::LifoQueue;
///
/// IOLoop::current()
///     .run_sync(async {
///         let q = LifoQueue::new();
///         for item in [3, 2, 1] {
///             q.put(item).await;
///         }
///         assert_eq!(q.get().await, 1);
///         assert_eq!(q.get().await, 2);
///         assert_eq!(q.get().await, 3);
///     })
///     .unwrap();
/// ```
pub type LifoQueue<T> = GenericQueue<T, Vec<T>>;

/// Where a queue keeps its items, and so the order they come out in.
///
/// Implement it to make a queue with another order, as a Tornado subclass
/// overrides `_init`, `_put` and `_get`.
///
/// # Tornado
/// `Queue._init()` is [`Default`], `Queue._put(item)` is
/// [`put`](QueueBuffer::put), `Queue._get()` is [`get`](QueueBuffer::get),
/// `len(self._queue)` is [`len`](QueueBuffer::len).
pub trait QueueBuffer<T>: Default {
    /// Adds an item.
    ///
    /// # Tornado
    /// `Queue._put(item)`.
    fn put(&mut self, item: T);

    /// Removes the next item in this buffer's order; `None` when empty.
    ///
    /// # Tornado
    /// `Queue._get()`.
    fn get(&mut self) -> Option<T>;

    /// Puts back an item that [`get`](QueueBuffer::get) gave, where `get`
    /// took it from, so it comes out next again. Used when a getter that was
    /// handed the item is dropped before returning it.
    fn unget(&mut self, item: T);

    /// How many items the buffer holds.
    ///
    /// # Tornado
    /// `len(Queue._queue)`.
    fn len(&self) -> usize;

    /// True if the buffer holds no items.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// FIFO: `put` at the back, `get` from the front.
impl<T> QueueBuffer<T> for VecDeque<T> {
    fn put(&mut self, item: T) {
        self.push_back(item);
    }

    fn get(&mut self) -> Option<T> {
        self.pop_front()
    }

    fn unget(&mut self, item: T) {
        self.push_front(item);
    }

    fn len(&self) -> usize {
        VecDeque::len(self)
    }
}

/// LIFO: `put` and `get` at the top of the stack.
impl<T> QueueBuffer<T> for Vec<T> {
    fn put(&mut self, item: T) {
        self.push(item);
    }

    fn get(&mut self) -> Option<T> {
        self.pop()
    }

    fn unget(&mut self, item: T) {
        self.push(item);
    }

    fn len(&self) -> usize {
        Vec::len(self)
    }
}

/// A min-heap: `get` gives the lowest item.
impl<T: Ord> QueueBuffer<T> for BinaryHeap<Reverse<T>> {
    fn put(&mut self, item: T) {
        self.push(Reverse(item));
    }

    fn get(&mut self) -> Option<T> {
        self.pop().map(|Reverse(item)| item)
    }

    fn unget(&mut self, item: T) {
        self.push(Reverse(item));
    }

    fn len(&self) -> usize {
        BinaryHeap::len(self)
    }
}

/// The error [`GenericQueue::put_nowait`] gives when the queue is full; it
/// hands the item back.
///
/// # Tornado
/// `tornado.queues.QueueFull`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull<T>(pub T);

impl<T> fmt::Display for QueueFull<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue is full")
    }
}

impl<T: fmt::Debug> std::error::Error for QueueFull<T> {}

/// The error [`GenericQueue::get_nowait`] gives when the queue has no items.
///
/// # Tornado
/// `tornado.queues.QueueEmpty`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueEmpty;

impl fmt::Display for QueueEmpty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue is empty")
    }
}

impl std::error::Error for QueueEmpty {}

/// The error [`GenericQueue::task_done`] gives when called more times than
/// items were put.
///
/// # Tornado
/// The `ValueError("task_done() called too many times")` of `Queue.task_done()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskDoneError;

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called too many times")
    }
}

impl std::error::Error for TaskDoneError {}

/// The queue behind [`Queue`], [`PriorityQueue`] and [`LifoQueue`]: producer
/// and consumer tasks coordinate through it, in the order `B` gives.
///
/// `maxsize` 0 means unbounded; otherwise [`put`](GenericQueue::put) waits
/// while `maxsize` items are queued. Getters and putters are each served
/// first come, first served. Clones share one queue.
///
/// # Tornado
/// `tornado.queues.Queue` and its subclasses; use the aliases.
pub struct GenericQueue<T, B> {
    state: Rc<RefCell<State<T, B>>>,
    /// Set while every item put has been matched by a `task_done`.
    finished: Event,
}

struct State<T, B> {
    buffer: B,
    maxsize: usize,
    /// Getters waiting for an item. Non-empty only while `buffer` is empty.
    getters: WaitList,
    /// Items handed to a getter that has not returned them yet, by getter id.
    delivered: BTreeMap<u64, T>,
    /// Putters waiting for room, each with its item. Non-empty only while full.
    putters: WaitList<T>,
    /// Items put and not yet matched by a `task_done`.
    unfinished_tasks: usize,
}

impl<T, B: QueueBuffer<T>> State<T, B> {
    fn full(&self) -> bool {
        self.maxsize > 0 && self.buffer.len() >= self.maxsize
    }

    /// `put_nowait` without the wake-ups: hands `item` to the first getter or
    /// buffers it. Returns the waker of the getter it went to.
    fn put(&mut self, item: T) -> Result<Option<Waker>, QueueFull<T>> {
        let getter = match self.getters.pop_front() {
            Some((id, waker, ())) => {
                self.delivered.insert(id, item);
                waker
            }
            None if self.full() => return Err(QueueFull(item)),
            None => {
                self.buffer.put(item);
                None
            }
        };
        self.unfinished_tasks += 1;
        Ok(getter)
    }

    /// `get_nowait` without the wake-ups: first lets the oldest putter's item
    /// in (taking one item makes room), then takes the next item. Returns the
    /// waker of the putter it let in.
    ///
    /// A putter is not let in while the queue is past `maxsize` (an item given
    /// back by a dropped getter can do that), so the excess drains first.
    fn get(&mut self) -> (Option<T>, Option<Waker>) {
        let next_putter = if self.buffer.len() <= self.maxsize {
            self.putters.pop_front()
        } else {
            None
        };
        let putter = next_putter.and_then(|(_, waker, item)| {
            self.buffer.put(item);
            self.unfinished_tasks += 1;
            waker
        });
        (self.buffer.get(), putter)
    }

    /// Takes back an item handed to a getter that was dropped before
    /// returning it: to the next getter, or to where the buffer's `get` took it.
    fn give_back(&mut self, item: T) -> Option<Waker> {
        match self.getters.pop_front() {
            Some((id, waker, ())) => {
                self.delivered.insert(id, item);
                waker
            }
            None => {
                self.buffer.unget(item);
                None
            }
        }
    }
}

impl<T, B: QueueBuffer<T>> GenericQueue<T, B> {
    /// An unbounded queue.
    ///
    /// # Tornado
    /// `Queue()`.
    pub fn new() -> Self {
        Self::with_maxsize(0)
    }

    /// A queue holding at most `maxsize` items; 0 means unbounded.
    ///
    /// # Tornado
    /// `Queue(maxsize=maxsize)`.
    pub fn with_maxsize(maxsize: usize) -> Self {
        let finished = Event::new();
        finished.set();
        GenericQueue {
            state: Rc::new(RefCell::new(State {
                buffer: B::default(),
                maxsize,
                getters: WaitList::default(),
                delivered: BTreeMap::new(),
                putters: WaitList::default(),
                unfinished_tasks: 0,
            })),
            finished,
        }
    }

    /// Number of items allowed in the queue; 0 means unbounded.
    ///
    /// # Tornado
    /// `Queue.maxsize`.
    pub fn maxsize(&self) -> usize {
        self.state.borrow().maxsize
    }

    /// Number of items in the queue (not counting putters still waiting).
    ///
    /// # Tornado
    /// `Queue.qsize()`.
    pub fn qsize(&self) -> usize {
        self.state.borrow().buffer.len()
    }

    /// True if the queue holds no items.
    ///
    /// # Tornado
    /// `Queue.empty()`.
    pub fn empty(&self) -> bool {
        self.state.borrow().buffer.is_empty()
    }

    /// True if the queue holds `maxsize` items (never, when unbounded).
    ///
    /// # Tornado
    /// `Queue.full()`.
    pub fn full(&self) -> bool {
        self.state.borrow().full()
    }

    /// Puts `item` into the queue, waiting while it is full.
    ///
    /// The item is in line from the call: dropping the future before it
    /// completes withdraws the item.
    ///
    /// # Tornado
    /// `await q.put(item)`.
    pub fn put(&self, item: T) -> impl Future<Output = ()> {
        let putter = match self.put_nowait(item) {
            Ok(()) => None,
            Err(QueueFull(item)) => Some(Put {
                id: self.state.borrow_mut().putters.push(item),
                state: self.state.clone(),
            }),
        };
        async move {
            if let Some(putter) = putter {
                putter.await;
            }
        }
    }

    /// [`put`](GenericQueue::put), failing with [`TimeoutError`] (the item
    /// dropped, never put) if there is no room within `timeout`.
    ///
    /// # Tornado
    /// `await q.put(item, timeout=timedelta(...))`.
    pub fn put_timeout(
        &self,
        item: T,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), TimeoutError>>
    where
        T: 'static,
        B: 'static,
    {
        timeout_from_now(timeout, self.put(item))
    }

    /// Puts `item` into the queue without waiting; [`QueueFull`], with the
    /// item, if there is no room. A waiting getter is handed the item (and
    /// runs on a later iteration of the loop).
    ///
    /// # Tornado
    /// `Queue.put_nowait(item)`, which raises `QueueFull`.
    pub fn put_nowait(&self, item: T) -> Result<(), QueueFull<T>> {
        let getter = self.state.borrow_mut().put(item)?;
        self.finished.clear();
        wake_all(getter);
        Ok(())
    }

    /// Removes and returns the next item, waiting while the queue is empty.
    ///
    /// The getter is in line from the call; if it is dropped after an item was
    /// handed to it, the item goes back (see the module's contract).
    ///
    /// # Tornado
    /// `await q.get()`.
    pub fn get(&self) -> impl Future<Output = T> {
        let (item, putter) = self.state.borrow_mut().get();
        let id = {
            let mut state = self.state.borrow_mut();
            match item {
                Some(item) => {
                    let id = state.getters.new_id();
                    state.delivered.insert(id, item);
                    id
                }
                None => state.getters.push(()),
            }
        };
        self.sync_finished();
        wake_all(putter);
        Get {
            id,
            state: self.state.clone(),
        }
    }

    /// [`get`](GenericQueue::get), failing with [`TimeoutError`] if no item
    /// comes within `timeout`. An item put after the timeout is not lost: it
    /// goes to the next getter.
    ///
    /// # Tornado
    /// `await q.get(timeout=timedelta(...))`.
    pub fn get_timeout(&self, timeout: Duration) -> impl Future<Output = Result<T, TimeoutError>>
    where
        T: 'static,
        B: 'static,
    {
        timeout_from_now(timeout, self.get())
    }

    /// Removes and returns the next item without waiting; [`QueueEmpty`] if
    /// there is none.
    ///
    /// # Tornado
    /// `Queue.get_nowait()`, which raises `QueueEmpty`.
    pub fn get_nowait(&self) -> Result<T, QueueEmpty> {
        let (item, putter) = self.state.borrow_mut().get();
        self.sync_finished();
        wake_all(putter);
        item.ok_or(QueueEmpty)
    }

    /// Tells the queue that one item taken with `get` has been processed.
    /// When every put is matched by a `task_done`, [`join`](GenericQueue::join)
    /// returns. [`TaskDoneError`] if called more times than items were put.
    ///
    /// # Tornado
    /// `Queue.task_done()`, which raises `ValueError`.
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        {
            let mut state = self.state.borrow_mut();
            state.unfinished_tasks = state.unfinished_tasks.checked_sub(1).ok_or(TaskDoneError)?;
        }
        self.sync_finished();
        Ok(())
    }

    /// Waits until every item put has been processed (matched by a
    /// [`task_done`](GenericQueue::task_done)); done at once if none is pending.
    ///
    /// # Tornado
    /// `await q.join()`.
    pub fn join(&self) -> impl Future<Output = ()> {
        self.finished.wait()
    }

    /// [`join`](GenericQueue::join), failing with [`TimeoutError`] if items
    /// are still unprocessed after `timeout`.
    ///
    /// # Tornado
    /// `await q.join(timeout=timedelta(...))`.
    pub fn join_timeout(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), TimeoutError>> {
        self.finished.wait_timeout(timeout)
    }

    /// Sets or clears `finished` to match the count of unfinished tasks.
    fn sync_finished(&self) {
        let finished = self.state.borrow().unfinished_tasks == 0;
        if finished {
            self.finished.set();
        } else {
            self.finished.clear();
        }
    }
}

impl<T, B: QueueBuffer<T>> Default for GenericQueue<T, B> {
    /// An unbounded queue.
    fn default() -> Self {
        Self::new()
    }
}

impl<T, B> Clone for GenericQueue<T, B> {
    /// Another handle to the same queue.
    fn clone(&self) -> Self {
        GenericQueue {
            state: self.state.clone(),
            finished: self.finished.clone(),
        }
    }
}

impl<T, B: QueueBuffer<T>> fmt::Debug for GenericQueue<T, B> {
    /// Tornado's `repr`: maxsize, size, waiters and unfinished tasks (not the items).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("Queue")
            .field("maxsize", &state.maxsize)
            .field("qsize", &state.buffer.len())
            .field("getters", &state.getters.len())
            .field("putters", &state.putters.len())
            .field("tasks", &state.unfinished_tasks)
            .finish()
    }
}

/// The future of a [`GenericQueue::get`].
struct Get<T, B: QueueBuffer<T>> {
    id: u64,
    state: Rc<RefCell<State<T, B>>>,
}

impl<T, B: QueueBuffer<T>> Future for Get<T, B> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut state = self.state.borrow_mut();
        match state.delivered.remove(&self.id) {
            Some(item) => Poll::Ready(item),
            None => {
                // Not handed an item yet, so still in line.
                state.getters.register(self.id, cx.waker());
                Poll::Pending
            }
        }
    }
}

impl<T, B: QueueBuffer<T>> Drop for Get<T, B> {
    fn drop(&mut self) {
        let handed = {
            let mut state = self.state.borrow_mut();
            state.getters.remove(self.id);
            state.delivered.remove(&self.id)
        };
        if let Some(item) = handed {
            let waker = self.state.borrow_mut().give_back(item);
            wake_all(waker);
        }
    }
}

/// The future of a [`GenericQueue::put`] that found the queue full.
struct Put<T, B> {
    id: u64,
    state: Rc<RefCell<State<T, B>>>,
}

impl<T, B> Future for Put<T, B> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self
            .state
            .borrow_mut()
            .putters
            .register(self.id, cx.waker())
        {
            Poll::Pending
        } else {
            // A getter let the item in.
            Poll::Ready(())
        }
    }
}

impl<T, B> Drop for Put<T, B> {
    fn drop(&mut self) {
        // Withdraws the item if still waiting; dropped after the borrow ends,
        // in case its destructor touches the queue.
        let withdrawn = self.state.borrow_mut().putters.remove(self.id);
        drop(withdrawn);
    }
}
