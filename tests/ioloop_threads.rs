//! Reaching a loop from other threads through `IOLoopHandle`.
//!
//! Each loop under test runs on its own thread so that a missed wake-up makes
//! the test fail on a timeout instead of hanging the test binary.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::{self, ThreadId};
use std::time::Duration;

use test_support::wait_until;
use tornado::ioloop::{IOLoop, IOLoopHandle};

const WAIT: Duration = Duration::from_secs(5);

/// Starts a loop on a new thread with nothing to do (no tasks, no timers), so
/// it blocks in `poll` until woken. Returns its handle, its thread's id and a
/// flag set when `start()` has returned `Ok`.
fn idle_loop_on_a_thread() -> (IOLoopHandle, ThreadId, Arc<AtomicBool>) {
    let (tx, rx) = mpsc::channel();
    let returned = Arc::new(AtomicBool::new(false));
    let done = returned.clone();
    thread::spawn(move || {
        let ioloop = IOLoop::new().unwrap();
        let handle = ioloop.handle();
        // Report readiness from inside the loop, so the loop is running (and
        // about to block in poll) by the time the test sees the handle.
        ioloop.add_callback(move || tx.send((handle, thread::current().id())).unwrap());
        ioloop.start().unwrap();
        done.store(true, Ordering::SeqCst);
    });
    let (handle, id) = rx.recv_timeout(WAIT).expect("the loop started");
    (handle, id, returned)
}

#[test]
fn callbacks_from_several_threads_wake_a_blocked_loop_and_keep_per_sender_order() {
    const SENDERS: usize = 4;
    const EACH: usize = 2_000;
    let (handle, loop_thread, returned) = idle_loop_on_a_thread();
    let log = Arc::new(Mutex::new(Vec::with_capacity(SENDERS * EACH)));
    let off_thread = Arc::new(AtomicUsize::new(0));
    let senders: Vec<_> = (0..SENDERS)
        .map(|sender| {
            let (handle, log, off_thread) = (handle.clone(), log.clone(), off_thread.clone());
            thread::spawn(move || {
                for seq in 0..EACH {
                    let (log, off_thread) = (log.clone(), off_thread.clone());
                    assert!(handle.add_callback(move || {
                        if thread::current().id() != loop_thread {
                            off_thread.fetch_add(1, Ordering::SeqCst);
                        }
                        log.lock().unwrap().push((sender, seq));
                    }));
                    if seq % 500 == 0 {
                        // Let the loop drain and go back to sleep in poll now and then.
                        thread::yield_now();
                    }
                }
            })
        })
        .collect();
    for sender in senders {
        sender.join().unwrap();
    }
    assert!(
        wait_until(WAIT, || log.lock().unwrap().len() == SENDERS * EACH),
        "every callback ran: {} of {}",
        log.lock().unwrap().len(),
        SENDERS * EACH
    );
    assert_eq!(
        off_thread.load(Ordering::SeqCst),
        0,
        "all on the loop thread"
    );
    let log = log.lock().unwrap();
    for sender in 0..SENDERS {
        let seqs: Vec<usize> = log
            .iter()
            .filter(|(s, _)| *s == sender)
            .map(|(_, q)| *q)
            .collect();
        assert_eq!(
            seqs,
            (0..EACH).collect::<Vec<_>>(),
            "sender {sender} in order"
        );
    }
    drop(log);

    // A single late callback still wakes the (again idle) loop.
    let late = Arc::new(AtomicBool::new(false));
    let flag = late.clone();
    assert!(handle.add_callback(move || flag.store(true, Ordering::SeqCst)));
    assert!(wait_until(WAIT, || late.load(Ordering::SeqCst)));

    assert!(handle.stop());
    assert!(wait_until(WAIT, || returned.load(Ordering::SeqCst)));
}

#[test]
fn stop_from_another_thread_ends_start() {
    let (handle, _, returned) = idle_loop_on_a_thread();
    assert!(
        !returned.load(Ordering::SeqCst),
        "blocked in poll, not returned"
    );
    assert!(handle.stop());
    assert!(
        wait_until(WAIT, || returned.load(Ordering::SeqCst)),
        "start() returned after IOLoopHandle::stop"
    );
}

#[test]
fn add_callback_after_the_loop_is_dropped_returns_false_and_drops_the_callback() {
    let ioloop = IOLoop::new().unwrap();
    let handle = ioloop.handle();
    let held = Arc::new(());

    // Queued while the loop is alive but never run: dropped with the loop.
    let queued = held.clone();
    assert!(handle.add_callback(move || drop(queued)));
    assert_eq!(Arc::strong_count(&held), 2);
    drop(ioloop);
    assert_eq!(
        Arc::strong_count(&held),
        1,
        "unrun callback dropped with the loop"
    );

    let ran = Arc::new(AtomicBool::new(false));
    let (late, flag) = (held.clone(), ran.clone());
    let accepted = thread::spawn(move || {
        handle.add_callback(move || {
            drop(late);
            flag.store(true, Ordering::SeqCst);
        }) || handle.stop()
    })
    .join()
    .unwrap();
    assert!(!accepted, "add_callback and stop report the loop is gone");
    assert_eq!(
        Arc::strong_count(&held),
        1,
        "the refused callback was dropped"
    );
    assert!(!ran.load(Ordering::SeqCst));
}

/// The order in which the callbacks `queue` adds run: `queue` gets a
/// handle to the loop and the record to push to, on the loop's thread while
/// it runs.
fn callback_order(
    queue: impl FnOnce(IOLoopHandle, Arc<Mutex<Vec<&'static str>>>) + 'static,
) -> Vec<&'static str> {
    let ioloop = IOLoop::new().unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let (record, handle) = (order.clone(), ioloop.handle());
    ioloop
        .run_sync(async move {
            queue(handle, record);
            tornado::gen::sleep(Duration::from_millis(10)).await;
        })
        .unwrap();
    let order = order.lock().unwrap().clone();
    order
}

#[test]
fn a_handle_used_on_its_loops_thread_keeps_callback_order() {
    // Tornado has one callback queue: `a` through the handle, then `b`
    // directly, run in that order.
    let order = callback_order(|handle, record| {
        let second = record.clone();
        assert!(handle.add_callback(move || record.lock().unwrap().push("a")));
        IOLoop::current().add_callback(move || second.lock().unwrap().push("b"));
    });
    assert_eq!(order, ["a", "b"]);
}

#[test]
fn a_handle_keeps_the_order_of_callbacks_sent_from_two_threads() {
    // Another thread sends `x`, then says so; the loop's thread, told, sends
    // `y` through the same handle: `x` runs first, as in Tornado's queue.
    let order = callback_order(|handle, record| {
        let (sent, told) = mpsc::channel();
        let (remote, from_thread) = (handle.clone(), record.clone());
        thread::spawn(move || {
            remote.add_callback(move || from_thread.lock().unwrap().push("x"));
            sent.send(()).unwrap();
        });
        told.recv().unwrap();
        handle.add_callback(move || record.lock().unwrap().push("y"));
    });
    assert_eq!(order, ["x", "y"]);
}
