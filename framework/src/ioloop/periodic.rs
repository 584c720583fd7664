//! `PeriodicCallback`: a callback on a fixed period, skipping missed ticks.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::{deadline_after, IOLoop, TimeoutHandle, WeakIOLoop};

/// Calls a function every `period` on the loop that is current when it is
/// started.
///
/// If the loop was busy past one or more ticks, the missed ticks are skipped
/// (the callback runs once, and the next run is on the original schedule)
/// instead of running in a burst.
///
/// # Tornado
/// `tornado.ioloop.PeriodicCallback(callback, callback_time)` with `start()`,
/// `stop()`, `is_running()`. The period is a `Duration`, not milliseconds.
///
/// ```
/// use std::{cell::Cell, rc::Rc, time::Duration};
/// use tornado::ioloop::{IOLoop, PeriodicCallback};
///
/// let ticks = Rc::new(Cell::new(0));
/// let counter = ticks.clone();
/// let periodic = PeriodicCallback::new(move || counter.set(counter.get() + 1), Duration::from_millis(5));
/// periodic.start();
/// IOLoop::current()
///     .run_sync(tornado::gen::sleep(Duration::from_millis(60)))
///     .unwrap();
/// periodic.stop();
/// assert!(ticks.get() >= 3);
/// ```
#[derive(Clone)]
pub struct PeriodicCallback {
    inner: Rc<State>,
}

struct State {
    callback: RefCell<Box<dyn FnMut()>>,
    period: Duration,
    /// The loop current at `start` (weak: the loop's timer holds this state).
    ioloop: RefCell<Option<WeakIOLoop>>,
    /// The pending tick while running; `None` when stopped.
    timeout: Cell<Option<TimeoutHandle>>,
    /// True while the callback runs (its tick has fired, and it is running).
    in_callback: Cell<bool>,
    next: Cell<Instant>,
}

impl PeriodicCallback {
    /// Creates a stopped periodic callback; [`start`](Self::start) puts it
    /// on the loop current then.
    ///
    /// A zero period is raised to one millisecond, so the loop cannot spin.
    ///
    /// # Tornado
    /// `PeriodicCallback(callback, callback_time)`, which raises `ValueError`
    /// for a non-positive `callback_time`; `jitter` is not ported.
    pub fn new(callback: impl FnMut() + 'static, period: Duration) -> PeriodicCallback {
        PeriodicCallback {
            inner: Rc::new(State {
                callback: RefCell::new(Box::new(callback)),
                period: period.max(Duration::from_millis(1)),
                ioloop: RefCell::new(None),
                timeout: Cell::new(None),
                in_callback: Cell::new(false),
                next: Cell::new(Instant::now()),
            }),
        }
    }

    /// Starts the timer on the current loop; the first call is one period
    /// from now. No effect if running.
    ///
    /// # Tornado
    /// `PeriodicCallback.start()`, which also takes `IOLoop.current()` then.
    pub fn start(&self) {
        if self.is_running() {
            return;
        }
        *self.inner.ioloop.borrow_mut() = Some(IOLoop::current().downgrade());
        self.inner.next.set(deadline_after(self.inner.period));
        schedule(&self.inner);
    }

    /// Stops the timer; a pending tick never fires.
    ///
    /// # Tornado
    /// `PeriodicCallback.stop()`.
    pub fn stop(&self) {
        if let (Some(handle), Some(ioloop)) = (self.inner.timeout.take(), self.inner.ioloop()) {
            ioloop.remove_timeout(handle);
        }
    }

    /// True between `start` and `stop`, while its loop still holds its
    /// next tick (not after [`IOLoop::close`] dropped it).
    ///
    /// # Tornado
    /// `PeriodicCallback.is_running()`.
    pub fn is_running(&self) -> bool {
        let Some(handle) = self.inner.timeout.get() else {
            return false;
        };
        self.inner.in_callback.get()
            || self
                .inner
                .ioloop()
                .is_some_and(|ioloop| ioloop.has_timeout(handle))
    }
}

impl State {
    fn ioloop(&self) -> Option<IOLoop> {
        self.ioloop.borrow().as_ref()?.upgrade()
    }
}

fn schedule(state: &Rc<State>) {
    // The timer holds the state, as Tornado's loop holds a started
    // PeriodicCallback: it keeps ticking even if every handle is dropped.
    let Some(ioloop) = state.ioloop() else {
        return; // the loop is gone, and with it any reason to tick
    };
    let held = state.clone();
    let handle = ioloop.call_at(state.next.get(), move || run(&held));
    state.timeout.set(Some(handle));
}

fn run(state: &Rc<State>) {
    // The callback first, then the next tick from the time it returned, as
    // Tornado's `_run` then `_schedule_next`: a call that overran its period
    // skips the ticks it covered instead of being followed by another at
    // once. While it runs, `timeout` still holds the fired handle, so it is
    // running, and `stop` in it clears that.
    let fired = state.timeout.get();
    state.in_callback.set(true);
    let ran = panic::catch_unwind(AssertUnwindSafe(|| (state.callback.borrow_mut())()));
    state.in_callback.set(false);
    if ran.is_err() {
        // As Tornado logs the exception and keeps the schedule.
        log::error!(target: "tornado.application", "Exception in callback for PeriodicCallback");
    }
    if state.timeout.get() != fired {
        // Stopped by the callback, or stopped and started again (which
        // scheduled its own first tick): either way not this chain's to go on.
        return;
    }
    let now = Instant::now();
    let mut next = state.next.get() + state.period;
    if next <= now {
        // Skip every tick that has already passed, keeping the original phase.
        let behind = now.duration_since(next).as_nanos() / state.period.as_nanos().max(1);
        let skip = u32::try_from(behind + 1).unwrap_or(u32::MAX);
        next += state.period.saturating_mul(skip);
    }
    state.next.set(next);
    schedule(state);
}

impl fmt::Debug for PeriodicCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeriodicCallback")
            .field("period", &self.inner.period)
            .field("running", &self.is_running())
            .finish()
    }
}
