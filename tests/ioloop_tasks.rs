//! Tasks on the real IOLoop: output, wake coalescing, abort, stale wakers,
//! panics, dropping the loop, fairness, callback batching, many timers.

use std::cell::{Cell, RefCell};
use std::future::{pending, poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use tornado::gen::{moment, sleep};
use tornado::ioloop::{IOLoop, JoinError, Task};

/// Sets a flag when dropped: proves a future (and what it holds) was released.
struct DropFlag(Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

/// A waker slot another thread can read.
type SharedWaker = Arc<Mutex<Option<Waker>>>;

/// A future that never completes, counts its polls and keeps its latest waker
/// where another thread can reach it.
struct Parked {
    polls: Rc<Cell<usize>>,
    waker: SharedWaker,
}

impl Parked {
    fn new() -> (Parked, Rc<Cell<usize>>, SharedWaker) {
        let polls = Rc::new(Cell::new(0));
        let waker = Arc::new(Mutex::new(None));
        let parked = Parked {
            polls: polls.clone(),
            waker: waker.clone(),
        };
        (parked, polls, waker)
    }
}

impl Future for Parked {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.polls.set(self.polls.get() + 1);
        *self.waker.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// Runs a few loop iterations, enough for anything already woken to be polled
/// (and for any duplicate wake-up to show as an extra poll).
fn settle(ioloop: &IOLoop) {
    ioloop
        .run_sync(async {
            for _ in 0..4 {
                moment().await;
            }
        })
        .unwrap();
}

/// The slab slot a task occupies, read from its `Debug` output.
fn slot_of<T>(task: &Task<T>) -> String {
    let debug = format!("{task:?}");
    let start = debug.find("index: ").expect("Task's Debug shows its index");
    debug[start..].split(',').next().unwrap().to_owned()
}

#[test]
fn spawned_task_output_is_awaited_from_another_task_and_from_run_sync() {
    let ioloop = IOLoop::new().unwrap();
    let direct = ioloop.spawn(async { 6 * 7 });
    assert!(!direct.is_finished(), "spawn does not poll at once");
    assert_eq!(ioloop.run_sync(direct).unwrap().unwrap(), 42);

    let nested = ioloop
        .run_sync(async {
            let inner = IOLoop::current().spawn(async {
                sleep(Duration::from_millis(1)).await;
                String::from("from a task")
            });
            inner.await
        })
        .unwrap();
    assert_eq!(nested.unwrap(), "from a task");
    assert_eq!(ioloop.task_count(), 0);
}

#[test]
fn many_wakes_before_a_poll_cost_one_poll() {
    let ioloop = IOLoop::new().unwrap();
    let polls = Rc::new(Cell::new(0));
    let counter = polls.clone();
    let latest: SharedWaker = Arc::new(Mutex::new(None));
    let slot = latest.clone();
    let _task = ioloop.spawn(poll_fn(move |cx| {
        counter.set(counter.get() + 1);
        *slot.lock().unwrap() = Some(cx.waker().clone());
        if counter.get() == 1 {
            // Woken 200 times from inside its own poll ...
            for _ in 0..100 {
                cx.waker().wake_by_ref();
                let owned = cx.waker().clone();
                owned.wake(); // by value, too
            }
            // ... and 100 times from another thread, all before it is polled again.
            let waker = cx.waker().clone();
            thread::spawn(move || (0..100).for_each(|_| waker.wake_by_ref()))
                .join()
                .unwrap();
        }
        Poll::<()>::Pending
    }));
    settle(&ioloop);
    assert_eq!(polls.get(), 2, "300 wakes during one poll: one more poll");

    // Parked now; 1000 wakes from another thread while the loop is not running.
    // (Wakes that race with a poll in progress rightly cause another poll, so
    // the count is exact only when all of them land before the loop looks.)
    let waker = latest.lock().unwrap().clone().unwrap();
    thread::spawn(move || (0..1000).for_each(|_| waker.wake_by_ref()))
        .join()
        .unwrap();
    assert_eq!(polls.get(), 2, "a wake never polls by itself");
    settle(&ioloop);
    assert_eq!(polls.get(), 3, "1000 wakes while parked: one more poll");
}

#[test]
fn aborting_a_parked_task_drops_its_future_at_once() {
    let ioloop = IOLoop::new().unwrap();
    let dropped = Rc::new(Cell::new(false));
    let guard = DropFlag(dropped.clone());
    let task = ioloop.spawn(async move {
        let _guard = guard;
        pending::<u32>().await
    });
    settle(&ioloop);
    assert!(!dropped.get(), "parked, not dropped");
    assert_eq!(ioloop.task_count(), 1);

    task.abort();
    assert!(dropped.get(), "abort drops the future before returning");
    assert!(task.is_finished());
    assert_eq!(ioloop.task_count(), 0);
    assert!(matches!(
        ioloop.run_sync(task).unwrap(),
        Err(JoinError::Cancelled)
    ));

    // The same from inside another task while the loop runs.
    let dropped = Rc::new(Cell::new(false));
    let guard = DropFlag(dropped.clone());
    let victim = ioloop.spawn(async move {
        let _guard = guard;
        pending::<()>().await
    });
    let seen = dropped.clone();
    let outcome = ioloop
        .run_sync(async move {
            moment().await;
            assert!(!seen.get());
            victim.abort();
            assert!(seen.get(), "dropped during abort(), mid-iteration");
            victim.await
        })
        .unwrap();
    assert!(matches!(outcome, Err(JoinError::Cancelled)));
}

#[test]
fn stale_waker_of_a_finished_task_does_not_poll_the_slots_new_task() {
    let ioloop = IOLoop::new().unwrap();
    let stale = Rc::new(RefCell::new(None::<Waker>));
    let keep = stale.clone();
    let first = ioloop.spawn(poll_fn(move |cx| {
        *keep.borrow_mut() = Some(cx.waker().clone());
        Poll::Ready(())
    }));
    let first_slot = slot_of(&first);
    // One bare iteration (run_sync would add a wrapper task of its own to the slab).
    ioloop.run_once(Some(Duration::ZERO)).unwrap();
    assert!(first.is_finished());
    let stale = stale.borrow_mut().take().unwrap();

    let (parked, polls, fresh) = Parked::new();
    let second = ioloop.spawn(parked);
    assert_eq!(slot_of(&second), first_slot, "the slot was reused");
    settle(&ioloop);
    assert_eq!(polls.get(), 1);

    // The stale waker, from this thread outside the loop, from another thread,
    // and from inside a running task (the loop's local queue).
    stale.wake_by_ref();
    let remote = stale.clone();
    thread::spawn(move || (0..100).for_each(|_| remote.wake_by_ref()))
        .join()
        .unwrap();
    ioloop
        .run_sync(async move {
            stale.wake_by_ref();
            stale.wake();
            for _ in 0..4 {
                moment().await;
            }
        })
        .unwrap();
    assert_eq!(polls.get(), 1, "no spurious poll of the new task");

    // The new task's own waker still works.
    fresh.lock().unwrap().take().unwrap().wake();
    settle(&ioloop);
    assert_eq!(polls.get(), 2);
    second.abort();
}

#[test]
fn a_panicking_task_reports_panicked_and_the_loop_runs_on() {
    let ioloop = IOLoop::new().unwrap();
    let dropped = Rc::new(Cell::new(false));
    let guard = DropFlag(dropped.clone());
    let doomed = ioloop.spawn(async move {
        let _guard = guard;
        moment().await;
        panic!("boom {}", 7);
    });
    let steps = Rc::new(Cell::new(0));
    let counter = steps.clone();
    let bystander = ioloop.spawn(async move {
        for _ in 0..10 {
            counter.set(counter.get() + 1);
            moment().await;
        }
        "still here"
    });
    let (panicked, other) = ioloop
        .run_sync(async move { (doomed.await, bystander.await) })
        .unwrap();
    match panicked {
        Err(JoinError::Panicked(message)) => assert!(message.contains("boom 7"), "{message}"),
        other => panic!("expected Panicked, got {other:?}"),
    }
    assert!(dropped.get(), "the panicked task's state was released");
    assert_eq!(other.unwrap(), "still here");
    assert_eq!(steps.get(), 10);
    assert_eq!(ioloop.task_count(), 0);
    assert_eq!(
        ioloop.run_sync(async { 1 }).unwrap(),
        1,
        "loop still usable"
    );
}

#[test]
fn run_sync_of_a_panicking_future_returns_an_error() {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let ioloop = IOLoop::new().unwrap();
        let result = ioloop.run_sync(async {
            moment().await;
            panic!("boom in run_sync");
        });
        let _ = tx.send(result.map_err(|err| err.to_string()));
    });
    // On failure the loop thread stays blocked in poll; the process exits anyway.
    let result = rx
        .recv_timeout(Duration::from_secs(2))
        .expect("run_sync returned");
    let message = result.unwrap_err();
    assert!(message.contains("boom in run_sync"), "{message}");
}

#[test]
fn dropping_the_loop_drops_parked_tasks_and_later_wakes_are_no_ops() {
    let ioloop = IOLoop::new().unwrap();
    let dropped = Arc::new(AtomicBool::new(false));
    struct SendDropFlag(Arc<AtomicBool>);
    impl Drop for SendDropFlag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let guard = SendDropFlag(dropped.clone());
    let (tx, rx) = mpsc::channel::<Waker>();
    let task = ioloop.spawn(async move {
        let _guard = guard;
        let mut sent = false;
        poll_fn(|cx| {
            if !sent {
                tx.send(cx.waker().clone()).unwrap();
                sent = true;
            }
            Poll::<()>::Pending
        })
        .await
    });
    settle(&ioloop);
    let waker = rx.try_recv().expect("the task published its waker");
    let handle = ioloop.handle();
    assert!(!dropped.load(Ordering::SeqCst));

    drop(ioloop);
    assert!(
        dropped.load(Ordering::SeqCst),
        "parked task dropped with the loop"
    );
    assert!(task.is_finished());
    assert!(!handle.add_callback(|| {}), "the loop is gone");

    // A waker that outlived its loop, called from another thread: a no-op.
    thread::spawn(move || {
        waker.wake_by_ref();
        let owned = waker.clone();
        owned.wake();
        waker.wake();
    })
    .join()
    .expect("waking a dead loop's task must not panic");
}

#[test]
fn dropping_the_loop_drops_a_task_parked_in_sleep() {
    let ioloop = IOLoop::new().unwrap();
    let dropped = Rc::new(Cell::new(false));
    let guard = DropFlag(dropped.clone());
    let _task = ioloop.spawn(async move {
        let _guard = guard;
        sleep(Duration::from_secs(60)).await;
    });
    settle(&ioloop);
    assert_eq!(ioloop.pending_timeouts(), 1);
    drop(ioloop);
    assert!(dropped.get(), "the sleeping task was dropped with its loop");
}

#[test]
fn moment_lets_other_ready_tasks_run() {
    let ioloop = IOLoop::new().unwrap();
    let log = Rc::new(RefCell::new(String::new()));
    let tasks: Vec<_> = ['a', 'b']
        .into_iter()
        .map(|name| {
            let log = log.clone();
            ioloop.spawn(async move {
                for _ in 0..4 {
                    log.borrow_mut().push(name);
                    moment().await;
                }
            })
        })
        .collect();
    ioloop
        .run_sync(async move {
            for task in tasks {
                task.await.unwrap();
            }
        })
        .unwrap();
    assert_eq!(*log.borrow(), "abababab");
}

#[test]
fn a_task_that_always_yields_does_not_starve_timers() {
    let ioloop = IOLoop::new().unwrap();
    let spins = Rc::new(Cell::new(0u64));
    let counter = spins.clone();
    let spinner = ioloop.spawn(async move {
        loop {
            counter.set(counter.get() + 1);
            moment().await;
        }
    });
    let started = Instant::now();
    ioloop
        .run_sync_with_timeout(sleep(Duration::from_millis(5)), Duration::from_secs(2))
        .expect("the timer fired despite a task that is always ready");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(spins.get() > 1, "the spinner ran meanwhile");
    spinner.abort();
}

#[test]
fn callbacks_added_during_an_iteration_run_on_the_next() {
    let ioloop = IOLoop::new().unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    let (first, lp) = (log.clone(), ioloop.clone());
    ioloop.add_callback(move || {
        first.borrow_mut().push(1);
        let second = first.clone();
        lp.add_callback(move || {
            second.borrow_mut().push(2);
        });
    });
    let other = log.clone();
    ioloop.add_callback(move || other.borrow_mut().push(10));
    ioloop.run_once(Some(Duration::ZERO)).unwrap();
    assert_eq!(
        *log.borrow(),
        vec![1, 10],
        "both queued callbacks, not the new one"
    );
    ioloop.run_once(Some(Duration::ZERO)).unwrap();
    assert_eq!(*log.borrow(), vec![1, 10, 2]);
    ioloop.run_once(Some(Duration::ZERO)).unwrap();
    assert_eq!(*log.borrow(), vec![1, 10, 2]);
}

#[test]
fn run_once_drives_a_task_that_sleeps() {
    let ioloop = IOLoop::new().unwrap(); // not made current: run_once must not need it
    let task = ioloop.spawn(async {
        sleep(Duration::from_millis(2)).await;
        "woke"
    });
    let deadline = Instant::now() + Duration::from_secs(2);
    while !task.is_finished() && Instant::now() < deadline {
        ioloop.run_once(Some(Duration::from_millis(10))).unwrap();
    }
    assert!(task.is_finished(), "the sleep's timer fired on this loop");
    assert_eq!(ioloop.run_sync(task).unwrap().unwrap(), "woke");
}

#[test]
fn hundred_thousand_timers_insert_and_cancel() {
    const N: u64 = 100_000;
    let ioloop = IOLoop::new().unwrap();
    let fired = Rc::new(RefCell::new(Vec::new()));
    let base = Instant::now() + Duration::from_millis(1);
    let handles: Vec<_> = (0..N)
        .map(|i| {
            let fired = fired.clone();
            let deadline = base + Duration::from_micros(i % 5_000);
            ioloop.call_at(deadline, move || fired.borrow_mut().push(i))
        })
        .collect();
    assert_eq!(ioloop.pending_timeouts(), N as usize);
    for (i, handle) in (0..N).zip(&handles) {
        if i % 10 != 0 {
            assert!(ioloop.remove_timeout(*handle));
        }
    }
    assert_eq!(ioloop.pending_timeouts(), (N / 10) as usize);
    assert_eq!(
        Rc::strong_count(&fired),
        1 + (N / 10) as usize,
        "cancelled closures dropped"
    );

    ioloop.run_sync(sleep(Duration::from_millis(10))).unwrap();
    assert_eq!(ioloop.pending_timeouts(), 0);
    let fired = fired.borrow();
    assert_eq!(fired.len(), (N / 10) as usize, "only the kept tenth fired");
    assert!(
        fired.iter().all(|i| i % 10 == 0),
        "no cancelled timer fired"
    );
    assert!(!ioloop.remove_timeout(handles[0]), "fired timers are gone");
}

#[test]
fn run_once_from_inside_the_running_loop_is_refused_and_the_task_runs_on() {
    // A nested iteration would drop the calling task's wake-up (its future
    // is out for this very poll): asyncio refuses it, and so does this.
    let ioloop = IOLoop::new().unwrap();
    let refused = ioloop
        .run_sync_with_timeout(
            async {
                let mut timer = Box::pin(sleep(Duration::from_millis(5)));
                // Arm the timer, let it come due, then try a nested iteration.
                let _ = poll_fn(|cx| Poll::Ready(timer.as_mut().poll(cx))).await;
                thread::sleep(Duration::from_millis(10));
                let nested = IOLoop::current().run_once(Some(Duration::ZERO));
                sleep(Duration::from_millis(20)).await;
                nested.is_err()
            },
            Duration::from_secs(10),
        )
        .unwrap();
    assert!(refused);
}
