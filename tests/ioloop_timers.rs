//! Timer order, cancellation, `run_sync` and its timeout, `PeriodicCallback`.

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tornado::gen::sleep;
use tornado::ioloop::{IOLoop, PeriodicCallback};

#[test]
fn timers_fire_in_deadline_order() {
    let ioloop = IOLoop::new().unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    for (delay, n) in [(30, 3), (10, 1), (20, 2), (10, 11)] {
        let log = log.clone();
        ioloop.call_later(Duration::from_millis(delay), move || {
            log.borrow_mut().push(n)
        });
    }
    ioloop.run_sync(sleep(Duration::from_millis(50))).unwrap();
    assert_eq!(*log.borrow(), vec![1, 11, 2, 3]);
}

#[test]
fn cancelled_timer_never_fires_and_is_dropped() {
    let ioloop = IOLoop::new().unwrap();
    let fired = Rc::new(Cell::new(false));
    let held = Rc::new(());
    let (flag, token) = (fired.clone(), held.clone());
    let handle = ioloop.call_later(Duration::from_millis(5), move || {
        let _token = token;
        flag.set(true);
    });
    assert_eq!(Rc::strong_count(&held), 2);
    assert!(ioloop.remove_timeout(handle));
    assert_eq!(Rc::strong_count(&held), 1, "closure dropped at cancel time");
    ioloop.run_sync(sleep(Duration::from_millis(20))).unwrap();
    assert!(!fired.get());
    assert!(!ioloop.remove_timeout(handle));
}

#[test]
fn timer_cancelled_by_an_earlier_timer_in_the_same_iteration_never_fires() {
    let ioloop = IOLoop::new().unwrap();
    let fired = Rc::new(Cell::new(false));
    let flag = fired.clone();
    let deadline = Instant::now() + Duration::from_millis(5);
    let victim = Rc::new(Cell::new(None));
    let slot = victim.clone();
    let lp = ioloop.clone();
    ioloop.call_at(deadline, move || {
        lp.remove_timeout(slot.get().unwrap());
    });
    victim.set(Some(ioloop.call_at(deadline, move || flag.set(true))));
    ioloop.run_sync(sleep(Duration::from_millis(20))).unwrap();
    assert!(!fired.get());
}

#[test]
fn run_sync_returns_output_and_times_out() {
    let ioloop = IOLoop::new().unwrap();
    assert_eq!(ioloop.run_sync(async { 7 }).unwrap(), 7);
    let dropped = Rc::new(Cell::new(false));
    struct SetOnDrop(Rc<Cell<bool>>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    let guard = SetOnDrop(dropped.clone());
    let err = ioloop
        .run_sync_with_timeout(
            async move {
                let _guard = guard;
                sleep(Duration::from_secs(30)).await;
            },
            Duration::from_millis(20),
        )
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    assert!(dropped.get(), "the timed-out future is dropped");
    assert_eq!(ioloop.task_count(), 0);
    assert_eq!(
        ioloop.pending_timeouts(),
        0,
        "its sleep timer is cancelled too"
    );
}

/// When a `PeriodicCallback` of `period` ticked during `run_for`, its first
/// call blocking the loop for `stall`.
fn ticks_after_a_stalled_first_call(
    period: Duration,
    stall: Duration,
    run_for: Duration,
) -> Vec<Instant> {
    let ioloop = IOLoop::new().unwrap();
    ioloop.make_current();
    let ticks = Rc::new(RefCell::new(Vec::new()));
    let log = ticks.clone();
    let periodic = PeriodicCallback::new(
        move || {
            log.borrow_mut().push(Instant::now());
            if log.borrow().len() == 1 {
                std::thread::sleep(stall);
            }
        },
        period,
    );
    periodic.start();
    assert!(periodic.is_running());
    ioloop.run_sync(sleep(run_for)).unwrap();
    periodic.stop();
    IOLoop::clear_current();
    let ticks = ticks.borrow().clone();
    ticks
}

#[test]
fn periodic_callback_skips_missed_ticks() {
    // The loop blocked for five periods: those ticks are skipped, not burst.
    let ticks = ticks_after_a_stalled_first_call(
        Duration::from_millis(20),
        Duration::from_millis(100),
        Duration::from_millis(190),
    );
    assert!(
        (4..=6).contains(&ticks.len()),
        "expected about 5 ticks, got {}",
        ticks.len()
    );
    let gap = ticks[1].duration_since(ticks[0]);
    assert!(
        gap >= Duration::from_millis(100),
        "no burst after the stall: {gap:?}"
    );
}

#[test]
fn periodic_callback_counts_the_next_tick_from_when_the_call_returned() {
    // Tornado's schedule: period 50 ms, the first call (at 50) takes 125 ms
    // and returns at 175; the ticks it covered are skipped and the next is
    // 200, the first multiple after it (not straight away at 175).
    let ticks = ticks_after_a_stalled_first_call(
        Duration::from_millis(50),
        Duration::from_millis(125),
        Duration::from_millis(230),
    );
    assert!(ticks.len() >= 2, "{}", ticks.len());
    let gap = ticks[1].duration_since(ticks[0]);
    assert!(
        gap >= Duration::from_millis(140),
        "the second tick is at 200 ms: {gap:?}"
    );
}

#[test]
fn a_periodic_callback_restarted_from_inside_ticks_once_per_period() {
    // stop() then start() in the callback: one schedule goes on (the one
    // start made), not two; and after the last stop() nothing ticks.
    let ioloop = IOLoop::new().unwrap();
    ioloop.make_current();
    let calls = Rc::new(Cell::new(0));
    let itself: Rc<RefCell<Option<PeriodicCallback>>> = Rc::new(RefCell::new(None));
    let (counter, handle) = (calls.clone(), itself.clone());
    let periodic = PeriodicCallback::new(
        move || {
            counter.set(counter.get() + 1);
            if let Some(periodic) = &*handle.borrow() {
                periodic.stop();
                periodic.start();
            }
        },
        Duration::from_millis(40),
    );
    *itself.borrow_mut() = Some(periodic.clone());
    periodic.start();
    ioloop.run_sync(sleep(Duration::from_millis(300))).unwrap();
    let ticked = calls.get();
    // About seven; two schedules would make about fourteen.
    assert!((3..=9).contains(&ticked), "{ticked}");
    periodic.stop();
    ioloop.run_sync(sleep(Duration::from_millis(100))).unwrap();
    assert_eq!(calls.get(), ticked, "nothing after stop()");
    itself.borrow_mut().take();
    IOLoop::clear_current();
}

#[test]
fn a_panicking_periodic_callback_keeps_its_schedule() {
    let ioloop = IOLoop::new().unwrap();
    ioloop.make_current();
    let calls = Rc::new(Cell::new(0));
    let counter = calls.clone();
    let periodic = PeriodicCallback::new(
        move || {
            counter.set(counter.get() + 1);
            panic!("periodic boom");
        },
        Duration::from_millis(10),
    );
    periodic.start();
    let seen = calls.clone();
    // Each panic may take a while to report (a backtrace): wait for three.
    let three = ioloop.run_sync_with_timeout(
        async move {
            while seen.get() < 3 {
                sleep(Duration::from_millis(5)).await;
            }
        },
        Duration::from_secs(10),
    );
    assert!(three.is_ok() && periodic.is_running(), "{}", calls.get());
    periodic.stop();
    IOLoop::clear_current();
}

#[test]
fn a_panicking_callback_or_timer_is_logged_and_the_loop_runs_on() {
    let ioloop = IOLoop::new().unwrap();
    let ran = Rc::new(Cell::new(0));
    ioloop.add_callback(|| panic!("callback boom"));
    ioloop.call_later(Duration::from_millis(1), || panic!("timer boom"));
    let counter = ran.clone();
    ioloop.call_later(Duration::from_millis(2), move || {
        counter.set(counter.get() + 1)
    });
    ioloop.run_sync(sleep(Duration::from_millis(20))).unwrap();
    assert_eq!(ran.get(), 1);
}

#[test]
fn handle_stop_stops_that_loop_even_when_it_is_not_current() {
    let ioloop = IOLoop::new().unwrap();
    IOLoop::current(); // a different loop is this thread's current one
    let handle = ioloop.handle();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        handle.stop();
    });
    // `start` returns (instead of hanging) only if the stop reached this loop.
    ioloop.start().unwrap();
}

#[test]
fn periodic_callback_ticks_on_the_loop_current_at_start_not_at_new() {
    // Tornado takes `IOLoop.current()` in `start()`: a callback made before
    // a fresh loop runs belongs to that loop once started inside it.
    let ioloop = IOLoop::new().unwrap();
    let ticks = Rc::new(Cell::new(0));
    let counter = ticks.clone();
    let periodic = PeriodicCallback::new(
        move || counter.set(counter.get() + 1),
        Duration::from_millis(5),
    );
    let started = periodic.clone();
    ioloop
        .run_sync(async move {
            started.start();
            sleep(Duration::from_millis(60)).await;
        })
        .unwrap();
    assert!(periodic.is_running());
    periodic.stop();
    assert!(ticks.get() >= 3, "{} ticks", ticks.get());
}

#[test]
fn periodic_callback_restarts_after_its_loop_was_closed() {
    let ioloop = IOLoop::new().unwrap();
    ioloop.make_current();
    let ticks = Rc::new(Cell::new(0));
    let counter = ticks.clone();
    let periodic = PeriodicCallback::new(
        move || counter.set(counter.get() + 1),
        Duration::from_millis(5),
    );
    periodic.start();
    ioloop.run_sync(sleep(Duration::from_millis(20))).unwrap();
    ioloop.close();
    // `close` dropped its next tick: no longer running, and it can start again.
    assert!(!periodic.is_running());
    let before = ticks.get();
    periodic.start();
    ioloop.run_sync(sleep(Duration::from_millis(60))).unwrap();
    assert!(
        ticks.get() >= before + 3,
        "{} ticks after the restart",
        ticks.get() - before
    );
}
