//! The event loop: one per thread, on `mio::Poll`, running `!Send` tasks,
//! callbacks and timers.
//!
//! # Tornado
//! `tornado.ioloop`. The loop is single-threaded as Tornado's is; scaling across
//! cores is one loop per thread (see [`TCPServer::start`](crate::tcpserver::TCPServer::start)).
//!
//! # Implementation
//! Each iteration: wait in `poll` (not at all if work is queued; until the next
//! timer otherwise), wake the tasks whose sockets became ready, take what other
//! threads sent, fire due timers, run queued callbacks, then poll each woken task
//! once. Work queued *during* an iteration runs in the next one, so a task that
//! keeps waking itself cannot starve I/O.
//!
//! A background tokio runtime (one worker thread) owns tokio's reactor and
//! timers; the loop's thread holds that runtime's context while the loop runs,
//! so tokio-based futures (`tokio::time::sleep`, `tokio::net`, reqwest, sqlx ...)
//! can be awaited by tasks here. tokio never polls our tasks: it only calls
//! their `Waker`, which queues the task back onto this loop.

mod clock;
mod executor;
mod handle;
mod periodic;
pub(crate) mod reactor;
mod spawned;
mod task;
mod timers;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

use slab::Slab;

pub use executor::{run_in_executor, tokio_handle, Executing};
pub use handle::IOLoopHandle;
pub use periodic::PeriodicCallback;
pub(crate) use task::noop_waker;
pub use task::{JoinError, Task};
pub use timers::TimeoutHandle;

pub(crate) use clock::instant_now as loop_instant_now;
pub(crate) use clock::system_now as loop_system_now;
use handle::Shared;
use reactor::ScheduledIo;
pub(crate) use spawned::{catch_panic, CatchUnwind};
use spawned::{CancelOnDrop, Spawned};
use task::{JoinState, LocalFuture, Slot, TaskRef, TaskWaker};
pub(crate) use timers::deadline_after;
use timers::{TimerCallback, Timers};

/// The token of the loop's cross-thread `mio::Waker`; sockets use slab indexes.
const WAKER_TOKEN: mio::Token = mio::Token(usize::MAX);

/// How many events one `poll` call can return.
const EVENTS_CAPACITY: usize = 1024;

static NEXT_LOOP_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// This thread's current loop ([`IOLoop::current`]).
    static CURRENT: RefCell<Option<IOLoop>> = const { RefCell::new(None) };
}

/// A single-threaded event loop.
///
/// Cloning gives another handle to the same loop. The type is `!Send`: tasks
/// and callbacks may hold `Rc` and `RefCell`. Use [`IOLoop::handle`] to reach
/// the loop from another thread.
///
/// # Tornado
/// `tornado.ioloop.IOLoop`. `IOLoop.current()` → [`IOLoop::current`];
/// `start`/`stop`/`run_sync`/`add_callback`/`spawn_callback`/`call_later`/
/// `call_at`/`remove_timeout`/`run_in_executor`/`time` keep their names.
///
/// ```
/// use std::time::Duration;
/// use tornado::ioloop::IOLoop;
///
/// let ioloop = IOLoop::current();
/// let answer = ioloop
///     .run_sync(async {
///         tornado::gen::sleep(Duration::from_millis(1)).await;
///         42
///     })
///     .unwrap();
/// assert_eq!(answer, 42);
/// ```
#[derive(Clone)]
pub struct IOLoop {
    pub(crate) inner: Rc<Inner>,
}

/// A handle that does not keep the loop alive: what loop-owned objects
/// (sleeps, socket registrations, periodic callbacks) hold, so that a loop
/// and the tasks it owns are not kept alive by each other.
#[derive(Clone, Debug)]
pub(crate) struct WeakIOLoop(std::rc::Weak<Inner>);

impl WeakIOLoop {
    pub(crate) fn upgrade(&self) -> Option<IOLoop> {
        self.0.upgrade().map(|inner| IOLoop { inner })
    }
}

/// The loop's state. Every `RefCell` here is borrowed only briefly and never
/// across a call into user code (a task poll, a callback, a waker).
pub(crate) struct Inner {
    shared: Arc<Shared>,
    poll: RefCell<mio::Poll>,
    registry: mio::Registry,
    events: RefCell<mio::Events>,
    tasks: RefCell<Slab<Slot>>,
    next_task_id: Cell<u64>,
    /// Tasks woken on this thread, to be polled this or next iteration.
    ready: RefCell<VecDeque<TaskRef>>,
    callbacks: RefCell<VecDeque<Box<dyn FnOnce()>>>,
    timers: RefCell<Timers>,
    pub(crate) sources: RefCell<Slab<Rc<ScheduledIo>>>,
    running: Cell<bool>,
    stopping: Cell<bool>,
    /// Makes the loop `!Send` and `!Sync` by construction, not by accident.
    _not_send: PhantomData<Rc<()>>,
}

/// Runs `push` on loop `loop_id` if it is this thread's current loop;
/// `None` when called from elsewhere (the caller then uses the inbox).
fn on_own_loop(loop_id: u64, push: impl FnOnce(&Inner) -> Option<()>) -> Option<()> {
    CURRENT
        .try_with(|current| {
            let current = current.try_borrow().ok()?;
            let ioloop = current.as_ref()?;
            if ioloop.inner.shared.loop_id != loop_id {
                return None;
            }
            push(&ioloop.inner)
        })
        .ok()
        .flatten()
}

/// Moves what other threads sent (tasks to run, callbacks, a stop) onto
/// the loop's own queues, in the order sent.
fn absorb_inbox(
    inner: &Inner,
    ready: &mut VecDeque<TaskRef>,
    callbacks: &mut VecDeque<Box<dyn FnOnce()>>,
) {
    let Some(inbox) = inner.shared.drain() else {
        return;
    };
    if inbox.stop {
        inner.stopping.set(true);
    }
    ready.extend(inbox.tasks);
    for callback in inbox.callbacks {
        callbacks.push_back(callback);
    }
}

/// Pushes a task woken on its own loop's thread onto that loop's run queue.
/// Returns `false` when called from elsewhere (the caller then uses the inbox).
fn schedule_local(loop_id: u64, task: TaskRef) -> bool {
    on_own_loop(loop_id, |inner| {
        inner.ready.try_borrow_mut().ok()?.push_back(task);
        Some(())
    })
    .is_some()
}

/// Queues a callback given to a loop's handle on that loop's own thread
/// with the callbacks `add_callback` queues, so the two keep their order
/// (Tornado has one queue). Gives the callback back when called from
/// elsewhere.
fn add_callback_local(
    loop_id: u64,
    callback: Box<dyn FnOnce() + Send>,
) -> Result<(), Box<dyn FnOnce() + Send>> {
    let mut callback = Some(callback);
    on_own_loop(loop_id, |inner| {
        let mut callbacks = inner.callbacks.try_borrow_mut().ok()?;
        let mut ready = inner.ready.try_borrow_mut().ok()?;
        // What other threads sent before goes first, as in Tornado's one
        // queue.
        absorb_inbox(inner, &mut ready, &mut callbacks);
        callbacks.push_back(callback.take()?);
        Some(())
    });
    // Still here if it was not queued.
    callback.map_or(Ok(()), Err)
}

impl IOLoop {
    /// Creates a new loop (not made current).
    ///
    /// # Tornado
    /// `IOLoop()`, except that Tornado makes the new loop current.
    pub fn new() -> io::Result<IOLoop> {
        let poll = mio::Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = mio::Waker::new(poll.registry(), WAKER_TOKEN)?;
        let loop_id = NEXT_LOOP_ID.fetch_add(1, Ordering::Relaxed);
        Ok(IOLoop {
            inner: Rc::new(Inner {
                shared: Arc::new(Shared::new(loop_id, waker)),
                poll: RefCell::new(poll),
                registry,
                events: RefCell::new(mio::Events::with_capacity(EVENTS_CAPACITY)),
                tasks: RefCell::new(Slab::new()),
                next_task_id: Cell::new(0),
                ready: RefCell::new(VecDeque::new()),
                callbacks: RefCell::new(VecDeque::new()),
                timers: RefCell::new(Timers::default()),
                sources: RefCell::new(Slab::new()),
                running: Cell::new(false),
                stopping: Cell::new(false),
                _not_send: PhantomData,
            }),
        })
    }

    /// This thread's current loop, created on first use.
    ///
    /// # Panics
    /// If the loop cannot be created (the process is out of file descriptors).
    /// [`IOLoop::try_current`] returns that error instead.
    ///
    /// # Tornado
    /// `IOLoop.current()`.
    pub fn current() -> IOLoop {
        match IOLoop::try_current() {
            Ok(ioloop) => ioloop,
            Err(err) => panic!("cannot create the IOLoop: {err}"),
        }
    }

    /// This thread's current loop, created on first use; an error if creating it fails.
    ///
    /// # Tornado
    /// `IOLoop.current()`, with creation failure as an error.
    pub fn try_current() -> io::Result<IOLoop> {
        CURRENT.with(|current| {
            let mut current = current.borrow_mut();
            if let Some(ioloop) = &*current {
                return Ok(ioloop.clone());
            }
            let ioloop = IOLoop::new()?;
            *current = Some(ioloop.clone());
            Ok(ioloop)
        })
    }

    /// This thread's current loop if it has one, without creating one;
    /// `None` also while the thread is being torn down (so a `Drop` can
    /// call it).
    pub(crate) fn existing() -> Option<IOLoop> {
        CURRENT
            .try_with(|current| current.try_borrow().ok()?.clone())
            .ok()
            .flatten()
    }

    /// Makes this loop the thread's current one.
    ///
    /// # Tornado
    /// `IOLoop.make_current()`.
    pub fn make_current(&self) {
        let previous = CURRENT.with(|current| current.borrow_mut().replace(self.clone()));
        // Dropped after the borrow ends: the previous loop's last handle may
        // go here, and a task's drop may ask for the current loop.
        drop(previous);
    }

    /// Forgets the thread's current loop (it lives on while other handles do).
    ///
    /// # Tornado
    /// `IOLoop.clear_current()` (deprecated in Tornado 6.2).
    pub fn clear_current() {
        let previous = CURRENT.with(|current| current.borrow_mut().take());
        drop(previous);
    }

    pub(crate) fn downgrade(&self) -> WeakIOLoop {
        WeakIOLoop(Rc::downgrade(&self.inner))
    }

    /// A `Send + Clone` handle for reaching this loop from other threads.
    pub fn handle(&self) -> IOLoopHandle {
        IOLoopHandle {
            shared: self.inner.shared.clone(),
        }
    }

    /// The loop's clock. Timers compare against it.
    ///
    /// # Tornado
    /// `IOLoop.time()`; here a monotonic `Instant`.
    pub fn time(&self) -> Instant {
        Instant::now()
    }

    /// Runs `callback` on the next iteration of the loop.
    ///
    /// # Tornado
    /// `IOLoop.add_callback(callback)`. From another thread use
    /// [`IOLoopHandle::add_callback`].
    pub fn add_callback(&self, callback: impl FnOnce() + 'static) {
        self.inner
            .callbacks
            .borrow_mut()
            .push_back(Box::new(callback));
    }

    /// Runs `future` as a task on this loop; the returned [`Task`] gives its output.
    ///
    /// The future need not be `Send`. It is first polled when the loop next
    /// runs its ready tasks (in this iteration, if spawned from a callback or
    /// timer; in the next, if spawned from a task).
    ///
    /// # Tornado
    /// `IOLoop.spawn_callback(callback)`, `IOLoop.add_future`, `asyncio.ensure_future`.
    pub fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let state = Rc::new(RefCell::new(JoinState::Running(None)));
        let spawned: LocalFuture = Box::pin(Spawned {
            future: CatchUnwind::new(future),
            state: CancelOnDrop(state.clone()),
        });
        let task = self.inner.insert_task(spawned);
        Task {
            task,
            state,
            owner: Rc::downgrade(&self.inner),
        }
    }

    /// Calls `callback` after `delay`.
    ///
    /// # Tornado
    /// `IOLoop.call_later(delay, callback)`.
    pub fn call_later(&self, delay: Duration, callback: impl FnOnce() + 'static) -> TimeoutHandle {
        self.call_at(deadline_after(delay), callback)
    }

    /// Calls `callback` at `deadline` (at once, on the next iteration, if it has passed).
    ///
    /// # Tornado
    /// `IOLoop.call_at(when, callback)`.
    pub fn call_at(&self, deadline: Instant, callback: impl FnOnce() + 'static) -> TimeoutHandle {
        self.inner
            .timers
            .borrow_mut()
            .insert(deadline, TimerCallback::Call(Box::new(callback)))
    }

    /// Wakes `waker` at `deadline`: a timer for a task to wait on, armed
    /// without an allocation (cancel it with [`remove_timeout`](IOLoop::remove_timeout)).
    pub(crate) fn wake_at(&self, deadline: Instant, waker: Waker) -> TimeoutHandle {
        self.inner
            .timers
            .borrow_mut()
            .insert(deadline, TimerCallback::Wake(waker))
    }

    /// True while the timeout has neither fired nor been removed.
    pub(crate) fn timeout_pending(&self, handle: TimeoutHandle) -> bool {
        self.inner.timers.borrow().contains(handle)
    }

    /// Cancels a timeout: its callback never runs and is dropped now.
    /// Returns `false` if it already ran or was removed.
    ///
    /// # Tornado
    /// `IOLoop.remove_timeout(timeout)`.
    pub fn remove_timeout(&self, handle: TimeoutHandle) -> bool {
        let removed = self.inner.timers.borrow_mut().remove(handle);
        removed.is_some()
    }

    /// Whether `handle`'s timeout is still pending (not fired, removed or
    /// dropped by [`close`](IOLoop::close)).
    pub(crate) fn has_timeout(&self, handle: TimeoutHandle) -> bool {
        self.inner.timers.borrow().contains(handle)
    }

    /// Drops every task, timer and queued callback of the loop, breaking any
    /// reference cycles user code made through them. The loop stays usable.
    ///
    /// # Tornado
    /// `IOLoop.close()`.
    pub fn close(&self) {
        let tasks = std::mem::take(&mut *self.inner.tasks.borrow_mut());
        drop(tasks);
        let timers = self.inner.timers.borrow_mut().take_all();
        drop(timers);
        let callbacks = std::mem::take(&mut *self.inner.callbacks.borrow_mut());
        drop(callbacks);
        self.inner.ready.borrow_mut().clear();
    }

    /// Number of pending timeouts.
    pub fn pending_timeouts(&self) -> usize {
        self.inner.timers.borrow().len()
    }

    /// Number of live tasks (spawned, not yet finished or aborted).
    pub fn task_count(&self) -> usize {
        self.inner.tasks.borrow().len()
    }

    /// Runs the loop until [`stop`](IOLoop::stop) is called.
    ///
    /// The loop is the thread's current loop while it runs.
    ///
    /// # Errors
    /// If the loop is already running, or polling the OS fails.
    ///
    /// # Tornado
    /// `IOLoop.start()`.
    pub fn start(&self) -> io::Result<()> {
        self.run_until(|| false)
    }

    /// Runs iterations until `done()` holds or the loop is stopped.
    fn run_until(&self, done: impl Fn() -> bool) -> io::Result<()> {
        let _running = RunningGuard::claim(self, true)?;
        let _current = CurrentGuard::enter(self);
        let _tokio = executor::enter_tokio()?;
        while !done() && !self.inner.stopping.get() {
            self.iterate(None)?;
        }
        Ok(())
    }

    /// Stops the loop after the current iteration; [`start`](IOLoop::start)
    /// then returns. Tasks and timers stay pending for a later `start`.
    ///
    /// # Tornado
    /// `IOLoop.stop()`.
    pub fn stop(&self) {
        self.inner.stopping.set(true);
    }

    /// Runs the loop until `future` completes and returns its output.
    ///
    /// # Errors
    /// If the loop is already running, polling fails, or the future panics.
    ///
    /// # Tornado
    /// `IOLoop.run_sync(func)`.
    pub fn run_sync<F>(&self, future: F) -> io::Result<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.run_sync_inner(future, None)
    }

    /// [`run_sync`](IOLoop::run_sync) with a time limit: past `timeout`, the
    /// future is dropped and an error of kind [`io::ErrorKind::TimedOut`] returned.
    ///
    /// # Tornado
    /// `IOLoop.run_sync(func, timeout=...)`, which raises `TimeoutError`.
    pub fn run_sync_with_timeout<F>(&self, future: F, timeout: Duration) -> io::Result<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.run_sync_inner(future, Some(timeout))
    }

    fn run_sync_inner<F>(&self, future: F, timeout: Option<Duration>) -> io::Result<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let task = self.spawn(future);
        let timed_out = Rc::new(Cell::new(false));
        let timer = timeout.map(|timeout| {
            let flag = timed_out.clone();
            self.call_later(timeout, move || flag.set(true))
        });
        // The task may finish, panic, time out or be stopped: any ends the run.
        let result = self.run_until(|| task.is_finished() || timed_out.get());
        if let Some(timer) = timer {
            self.remove_timeout(timer);
        }
        if let Err(err) = result {
            task.abort();
            return Err(err);
        }
        let state = std::mem::replace(&mut *task.state.borrow_mut(), JoinState::Taken);
        match state {
            JoinState::Done(Ok(output)) => Ok(output),
            JoinState::Done(Err(err)) => Err(io::Error::other(err)),
            JoinState::Running(_) | JoinState::Taken => {
                task.abort();
                Err(if timed_out.get() {
                    io::Error::new(io::ErrorKind::TimedOut, "IOLoop.run_sync timed out")
                } else {
                    io::Error::other("IOLoop stopped before the future completed")
                })
            }
        }
    }

    /// Runs one iteration of the loop, waiting at most `max_wait` for events
    /// (`None`: until the next timer, or indefinitely without one). Lets tests
    /// drive the loop step by step.
    ///
    /// # Errors
    /// If the loop is already running (called from one of its own tasks or
    /// callbacks, as asyncio refuses it), or polling the OS fails.
    pub fn run_once(&self, max_wait: Option<Duration>) -> io::Result<()> {
        // A nested iteration would find the calling task's future taken out
        // for its poll and drop its wake-up: the task would never run again.
        let _running = RunningGuard::claim(self, false)?;
        let _current = CurrentGuard::enter(self);
        let _tokio = executor::enter_tokio()?;
        self.iterate(max_wait)
    }

    fn iterate(&self, max_wait: Option<Duration>) -> io::Result<()> {
        let inner = &*self.inner;
        let has_work = !inner.ready.borrow().is_empty() || !inner.callbacks.borrow().is_empty();
        let wait = if has_work {
            Some(Duration::ZERO)
        } else {
            let until_timer = inner
                .timers
                .borrow()
                .next_deadline()
                .map(|deadline| deadline.saturating_duration_since(Instant::now()));
            match (until_timer, max_wait) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        };
        self.poll_events(wait)?;
        let _clock = clock::Iteration::start();
        self.take_inbox();
        self.fire_timers();
        self.run_callbacks();
        self.run_tasks();
        Ok(())
    }

    fn poll_events(&self, wait: Option<Duration>) -> io::Result<()> {
        let inner = &*self.inner;
        let mut events = inner.events.borrow_mut();
        match inner.poll.borrow_mut().poll(&mut events, wait) {
            Ok(()) => {}
            // A signal arrived: just go round again.
            Err(err) if err.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(err) => return Err(err),
        }
        for event in events.iter() {
            if event.token() == WAKER_TOKEN {
                continue; // the inbox is drained below either way
            }
            let source = inner.sources.borrow().get(event.token().0).cloned();
            // A missing source was deregistered after the event was queued.
            if let Some(source) = source {
                source.dispatch(event);
            }
        }
        Ok(())
    }

    fn take_inbox(&self) {
        let inner = &*self.inner;
        absorb_inbox(
            inner,
            &mut inner.ready.borrow_mut(),
            &mut inner.callbacks.borrow_mut(),
        );
    }

    fn fire_timers(&self) {
        let now = Instant::now();
        let cutoff = self.inner.timers.borrow().cutoff();
        loop {
            let due = self.inner.timers.borrow_mut().pop_due(now, cutoff);
            match due {
                Some(TimerCallback::Call(callback)) => run_guarded("timeout", callback),
                Some(TimerCallback::Wake(waker)) => run_guarded("timeout", || waker.wake()),
                None => break,
            }
        }
    }

    fn run_callbacks(&self) {
        let count = self.inner.callbacks.borrow().len();
        for _ in 0..count {
            let callback = self.inner.callbacks.borrow_mut().pop_front();
            match callback {
                Some(callback) => run_guarded("callback", callback),
                None => break,
            }
        }
    }

    fn run_tasks(&self) {
        let count = self.inner.ready.borrow().len();
        for _ in 0..count {
            let task = self.inner.ready.borrow_mut().pop_front();
            match task {
                Some(task) => self.inner.poll_task(task),
                None => break,
            }
        }
    }
}

/// Runs a callback; a panic in it is logged and ends only that callback, as
/// Tornado logs an exception in a callback and carries on.
fn run_guarded(what: &str, callback: impl FnOnce()) {
    if let Err(message) = catch_panic(callback) {
        log::error!(target: "tornado.application", "Exception in {what}: {message}");
    }
}

impl Inner {
    fn insert_task(&self, future: LocalFuture) -> TaskRef {
        let id = self.next_task_id.get();
        self.next_task_id.set(id + 1);
        let mut tasks = self.tasks.borrow_mut();
        let entry = tasks.vacant_entry();
        let task = TaskRef {
            index: entry.key(),
            id,
        };
        let waker = Arc::new(TaskWaker {
            task,
            scheduled: true.into(),
            shared: self.shared.clone(),
        });
        entry.insert(Slot {
            id,
            future: Some(future),
            waker,
            aborted: false,
        });
        self.ready.borrow_mut().push_back(task);
        task
    }

    fn poll_task(&self, task: TaskRef) {
        let (mut future, waker) = {
            let mut tasks = self.tasks.borrow_mut();
            let Some(slot) = tasks.get_mut(task.index).filter(|slot| slot.id == task.id) else {
                return; // finished or aborted since it was woken
            };
            let Some(future) = slot.future.take() else {
                return;
            };
            // Cleared before the poll: a wake during the poll schedules it again.
            slot.waker.scheduled.store(false, Ordering::Release);
            (future, slot.waker.waker())
        };
        let done = future
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_ready();
        let mut future = Some(future);
        let finished = {
            let mut tasks = self.tasks.borrow_mut();
            match tasks.get_mut(task.index).filter(|slot| slot.id == task.id) {
                Some(slot) if !done && !slot.aborted => {
                    slot.future = future.take();
                    None
                }
                Some(_) => Some(tasks.remove(task.index)),
                None => None,
            }
        };
        // Dropped here, outside the borrow: destructors may spawn or abort tasks.
        drop(finished);
        drop(future);
    }

    fn abort_task(&self, task: TaskRef) {
        let removed = {
            let mut tasks = self.tasks.borrow_mut();
            match tasks.get_mut(task.index).filter(|slot| slot.id == task.id) {
                Some(slot) if slot.future.is_none() => {
                    slot.aborted = true; // aborting itself mid-poll: dropped after the poll
                    None
                }
                Some(_) => Some(tasks.remove(task.index)),
                None => None,
            }
        };
        drop(removed);
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Wakers on other threads may outlive the loop: make their sends no-ops.
        drop(self.shared.close());
        let tasks = std::mem::take(&mut *self.tasks.borrow_mut());
        drop(tasks);
        let timers = self.timers.borrow_mut().take_all();
        drop(timers);
    }
}

/// Marks a loop running, refusing a second run inside the first; clears
/// the mark (and, for `start`, a pending `stop`) however the run exits.
struct RunningGuard<'a> {
    ioloop: &'a IOLoop,
    clears_stop: bool,
}

impl<'a> RunningGuard<'a> {
    fn claim(ioloop: &'a IOLoop, clears_stop: bool) -> io::Result<RunningGuard<'a>> {
        if ioloop.inner.running.replace(true) {
            return Err(io::Error::other("IOLoop is already running"));
        }
        Ok(RunningGuard {
            ioloop,
            clears_stop,
        })
    }
}

impl Drop for RunningGuard<'_> {
    fn drop(&mut self) {
        self.ioloop.inner.running.set(false);
        if self.clears_stop {
            self.ioloop.inner.stopping.set(false);
        }
    }
}

/// Makes a loop current for the duration of a run, then restores the previous one.
struct CurrentGuard {
    previous: Option<IOLoop>,
}

impl CurrentGuard {
    fn enter(ioloop: &IOLoop) -> CurrentGuard {
        let previous = CURRENT.with(|current| current.borrow_mut().replace(ioloop.clone()));
        CurrentGuard { previous }
    }
}

impl Drop for CurrentGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let ours = CURRENT.with(|current| std::mem::replace(&mut *current.borrow_mut(), previous));
        drop(ours);
    }
}

impl fmt::Debug for IOLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IOLoop")
            .field("id", &self.inner.shared.loop_id)
            .field("tasks", &self.task_count())
            .field("timeouts", &self.pending_timeouts())
            .field("running", &self.inner.running.get())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::IOLoop;

    #[test]
    fn existing_finds_the_current_loop_without_making_one() {
        std::thread::spawn(|| {
            assert!(IOLoop::existing().is_none());
            let current = IOLoop::current();
            let found = IOLoop::existing().map(|found| found.inner.shared.loop_id);
            assert_eq!(found, Some(current.inner.shared.loop_id));
        })
        .join()
        .unwrap();
    }

    #[test]
    fn huge_delays_are_never_not_a_panic() {
        // Tornado accepts call_later(float("inf")).
        let ioloop = IOLoop::new().unwrap();
        let handle = ioloop.call_later(Duration::MAX, || {});
        assert!(ioloop.remove_timeout(handle));
        let timed = ioloop.run_sync(crate::gen::with_timeout(Duration::MAX, async { 7 }));
        assert_eq!(timed.unwrap(), Ok(7));
        let periodic = super::PeriodicCallback::new(|| {}, Duration::MAX);
        periodic.start();
        periodic.stop();
        ioloop.close();
    }

    #[test]
    fn with_timeout_counts_from_the_call() {
        // Tornado's deadline is set when with_timeout is called, not when
        // its result is first awaited: awaited 250 ms after a 100 ms
        // timeout, a 300 ms sleep has timed out (counted from the await, it
        // would have finished at 300 ms, before 350).
        let ioloop = IOLoop::new().unwrap();
        let result = ioloop.run_sync(async {
            let waiting = crate::gen::with_timeout(
                Duration::from_millis(100),
                crate::gen::sleep(Duration::from_millis(300)),
            );
            crate::gen::sleep(Duration::from_millis(250)).await;
            waiting.await.is_err()
        });
        assert!(result.unwrap());
        ioloop.close();
    }

    /// Calls its function when dropped: code that asks for the loop from a
    /// destructor, at an awkward moment.
    struct AsksOnDrop(fn());

    impl Drop for AsksOnDrop {
        fn drop(&mut self) {
            (self.0)();
        }
    }

    #[test]
    fn make_current_drops_the_previous_loop_outside_its_borrow() {
        std::thread::spawn(|| {
            let first = IOLoop::new().unwrap();
            first.make_current();
            let guard = AsksOnDrop(|| drop(IOLoop::current()));
            first.spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            });
            drop(first);
            // The first loop's last handle goes here, and with it the task
            // whose drop asks for the current loop.
            IOLoop::new().unwrap().make_current();
        })
        .join()
        .unwrap();
    }

    #[test]
    fn existing_can_be_called_while_the_thread_is_torn_down() {
        // Whichever thread-local goes first, this must not panic (a panic in
        // a thread-local's destructor aborts).
        thread_local! {
            static PROBE: AsksOnDrop = const { AsksOnDrop(|| drop(IOLoop::existing())) };
        }
        std::thread::spawn(|| {
            PROBE.with(|_| ());
            let _ = IOLoop::current();
            PROBE.with(|_| ());
        })
        .join()
        .unwrap();
    }
}
