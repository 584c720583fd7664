//! `tornado::locks` on a real IOLoop: the cases of Tornado's
//! `tornado/test/locks_test.py`, plus cancellation safety.
//!
//! Tornado checks `future.done()` right after a call; here a future is
//! polled once by hand (`poll_once`), which works because every waiting
//! method joins its line when called.

use std::cell::RefCell;
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use test_support::futures::{is_ready, ms, poll_once, run, spawn};
use tornado::gen::{moment, sleep, TimeoutError};
use tornado::ioloop::{IOLoop, Task};
use tornado::locks::{BoundedSemaphore, Condition, Event, Lock, ReleaseError, Semaphore};

/// A shared log that tasks append to.
#[derive(Clone, Default)]
struct History<T>(Rc<RefCell<Vec<T>>>);

impl<T: Clone + Debug + PartialEq> History<T> {
    fn push(&self, entry: T) {
        self.0.borrow_mut().push(entry);
    }

    fn get(&self) -> Vec<T> {
        self.0.borrow().clone()
    }
}

/// Spawns a task that waits on `condition` (with a timeout if given) and
/// records `key`, or "timeout": Tornado's `ConditionTest.record_done`.
fn record_done(
    condition: &Condition,
    timeout: Option<Duration>,
    history: &History<String>,
    key: impl ToString,
) -> Task<()> {
    let notified: Pin<Box<dyn Future<Output = bool>>> = match timeout {
        Some(timeout) => Box::pin(condition.wait_timeout(timeout)),
        None => {
            let wait = condition.wait();
            Box::pin(async move {
                wait.await;
                true
            })
        }
    };
    let (history, key) = (history.clone(), key.to_string());
    spawn(async move {
        let entry = if notified.await {
            key
        } else {
            "timeout".into()
        };
        history.push(entry);
    })
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

// ---- Condition ----

#[test]
fn condition_debug_shows_waiters() {
    run(async {
        let c = Condition::new();
        assert_eq!(format!("{c:?}"), "Condition { waiters: 0 }");
        let _wait = c.wait();
        assert_eq!(format!("{c:?}"), "Condition { waiters: 1 }");
    });
}

#[test]
fn condition_notify_wakes_a_waiter() {
    run(async {
        let c = Condition::new();
        let notifier = c.clone();
        IOLoop::current().call_later(ms(10), move || notifier.notify(1));
        c.wait().await;
    });
}

#[test]
fn condition_notify_1() {
    run(async {
        let c = Condition::new();
        let history = History::default();
        let waiters = [
            record_done(&c, None, &history, "wait1"),
            record_done(&c, None, &history, "wait2"),
        ];
        c.notify(1);
        moment().await;
        history.push("notify1".into());
        c.notify(1);
        moment().await;
        history.push("notify2".into());
        assert_eq!(
            history.get(),
            strings(&["wait1", "notify1", "wait2", "notify2"])
        );
        for waiter in waiters {
            waiter.await.unwrap();
        }
    });
}

#[test]
fn condition_notify_n_wakes_in_waiting_order() {
    run(async {
        let c = Condition::new();
        let history = History::default();
        for i in 0..6 {
            record_done(&c, None, &history, i);
        }
        c.notify(3);
        moment().await;
        assert_eq!(history.get(), strings(&["0", "1", "2"]));
        c.notify(1);
        moment().await;
        assert_eq!(history.get(), strings(&["0", "1", "2", "3"]));
        c.notify(2);
        moment().await;
        assert_eq!(history.get(), strings(&["0", "1", "2", "3", "4", "5"]));
    });
}

#[test]
fn condition_notify_all() {
    run(async {
        let c = Condition::new();
        let history = History::default();
        for i in 0..4 {
            record_done(&c, None, &history, i);
        }
        c.notify_all();
        moment().await;
        history.push("notify_all".into());
        assert_eq!(history.get(), strings(&["0", "1", "2", "3", "notify_all"]));
    });
}

#[test]
fn condition_wait_timeout() {
    run(async {
        let c = Condition::new();
        let wait = c.wait_timeout(ms(10));
        let notifier = c.clone();
        IOLoop::current().call_later(ms(20), move || notifier.notify(1)); // too late
        sleep(ms(30)).await;
        assert!(!wait.await);
    });
}

#[test]
fn condition_wait_timeout_preempted() {
    run(async {
        let c = Condition::new();
        let notifier = c.clone();
        // Fires before the wait times out.
        IOLoop::current().call_later(ms(10), move || notifier.notify(1));
        let wait = c.wait_timeout(ms(20));
        sleep(ms(30)).await;
        assert!(wait.await); // no timeout
    });
}

#[test]
fn condition_notify_n_with_timeout() {
    // A timed-out waiter does not count against notify's n.
    run(async {
        let c = Condition::new();
        let history = History::default();
        record_done(&c, None, &history, 0);
        record_done(&c, Some(ms(10)), &history, 1);
        record_done(&c, None, &history, 2);
        record_done(&c, None, &history, 3);

        sleep(ms(20)).await; // waiter 1 times out
        assert_eq!(history.get(), strings(&["timeout"]));

        c.notify(2);
        sleep(ms(10)).await;
        assert_eq!(history.get(), strings(&["timeout", "0", "2"]));
        c.notify(1);
        moment().await;
        assert_eq!(history.get(), strings(&["timeout", "0", "2", "3"]));
    });
}

#[test]
fn condition_notify_all_with_timeout() {
    run(async {
        let c = Condition::new();
        let history = History::default();
        record_done(&c, None, &history, 0);
        record_done(&c, Some(ms(10)), &history, 1);
        record_done(&c, None, &history, 2);

        sleep(ms(20)).await;
        assert_eq!(history.get(), strings(&["timeout"]));

        c.notify_all();
        moment().await;
        assert_eq!(history.get(), strings(&["timeout", "0", "2"]));
    });
}

#[test]
fn condition_nested_notify() {
    // No notification is lost when a woken waiter calls notify itself.
    run(async {
        let c = Condition::new();
        let waiters: Vec<_> = (0..3)
            .map(|i| {
                let (wait, c) = (c.wait(), c.clone());
                spawn(async move {
                    wait.await;
                    if i == 1 {
                        c.notify(1);
                    }
                })
            })
            .collect();
        c.notify(2);
        for waiter in waiters {
            waiter.await.unwrap();
        }
    });
}

#[test]
fn condition_timed_out_waiters_leave_the_line() {
    // Tornado collects timed-out waiters every 100 timeouts; here each
    // leaves the line as its future is dropped.
    run(async {
        let c = Condition::new();
        let timed: Vec<_> = (0..101).map(|_| spawn(c.wait_timeout(ms(10)))).collect();
        let mut last = Box::pin(c.wait());
        assert_eq!(format!("{c:?}"), "Condition { waiters: 102 }");

        for waiter in timed {
            assert!(!waiter.await.unwrap());
        }
        assert_eq!(format!("{c:?}"), "Condition { waiters: 1 }");

        assert!(!is_ready(last.as_mut())); // still active
        c.notify(1);
        assert!(is_ready(last.as_mut()));
    });
}

#[test]
fn condition_wait_is_in_line_from_the_call() {
    let c = Condition::new();
    let mut first = Box::pin(c.wait());
    let mut second = Box::pin(c.wait());
    c.notify(1);
    assert!(!is_ready(second.as_mut()));
    assert!(is_ready(first.as_mut()));
}

#[test]
fn condition_notify_without_waiters_is_lost() {
    let c = Condition::new();
    c.notify(1);
    c.notify_all();
    let mut wait = Box::pin(c.wait());
    assert!(!is_ready(wait.as_mut()));
}

#[test]
fn condition_dropped_notified_waiter_passes_notification_on() {
    run(async {
        let c = Condition::new();
        let history = History::default();
        let dropped = spawn(c.wait());
        record_done(&c, None, &history, "second");
        record_done(&c, None, &history, "third");
        c.notify(1); // goes to `dropped` ...
        dropped.abort(); // ... which is cancelled before it runs
        sleep(ms(5)).await;
        assert_eq!(history.get(), strings(&["second"]));
    });
}

#[test]
fn condition_timeout_does_not_swallow_a_later_notify() {
    run(async {
        let c = Condition::new();
        assert!(!c.wait_timeout(ms(5)).await);
        let waiting = spawn(c.wait());
        moment().await;
        c.notify(1);
        waiting.await.unwrap();
    });
}

// ---- Event ----

#[test]
fn event_debug_shows_set_or_clear() {
    let event = Event::new();
    assert_eq!(format!("{event:?}"), "Event { set: false, waiters: 0 }");
    event.set();
    assert_eq!(format!("{event:?}"), "Event { set: true, waiters: 0 }");
}

#[test]
fn event_wait_set_clear() {
    let e = Event::new();
    let mut future_0 = Box::pin(e.wait());
    e.set();
    let mut future_1 = Box::pin(e.wait());
    e.clear();
    let mut future_2 = Box::pin(e.wait());

    assert!(is_ready(future_0.as_mut()));
    assert!(is_ready(future_1.as_mut()));
    assert!(!is_ready(future_2.as_mut()));
}

#[test]
fn event_timeout() {
    run(async {
        let e = Event::new();
        assert_eq!(e.wait_timeout(ms(10)).await, Err(TimeoutError));

        // After a timed-out waiter, normal operation works.
        let setter = e.clone();
        IOLoop::current().call_later(ms(10), move || setter.set());
        assert_eq!(e.wait_timeout(Duration::from_secs(1)).await, Ok(()));
    });
}

#[test]
fn event_set_multiple() {
    let e = Event::new();
    e.set();
    e.set();
    assert!(e.is_set());
}

#[test]
fn event_wait_then_clear() {
    let e = Event::new();
    let mut f0 = Box::pin(e.wait());
    e.clear();
    let mut f1 = Box::pin(e.wait());
    e.set();
    assert!(is_ready(f0.as_mut()));
    assert!(is_ready(f1.as_mut()));
}

#[test]
fn event_wakes_every_waiting_task() {
    run(async {
        let e = Event::new();
        let waiters: Vec<_> = (0..3).map(|_| spawn(e.wait())).collect();
        sleep(ms(5)).await;
        e.set();
        for waiter in waiters {
            waiter.await.unwrap();
        }
    });
}

#[test]
fn event_dropped_waiters_leave_the_list() {
    let e = Event::new();
    let wait = e.wait();
    assert_eq!(format!("{e:?}"), "Event { set: false, waiters: 1 }");
    drop(wait);
    assert_eq!(format!("{e:?}"), "Event { set: false, waiters: 0 }");
}

// ---- Semaphore ----

#[test]
fn semaphore_debug_shows_value() {
    let sem = Semaphore::new(1);
    assert_eq!(format!("{sem:?}"), "Semaphore { value: 1 }");
    let _guard = sem.try_acquire();
    assert_eq!(format!("{sem:?}"), "Semaphore { value: 0 }");
    let bounded = BoundedSemaphore::new(2);
    assert_eq!(
        format!("{bounded:?}"),
        "BoundedSemaphore { value: 2, initial: 2 }"
    );
}

#[test]
fn semaphore_acquire() {
    let sem = Semaphore::new(1);
    let mut f0 = Box::pin(sem.acquire());
    let Poll::Ready(guard) = poll_once(f0.as_mut()) else {
        panic!("the first acquire should not wait");
    };
    guard.forget();

    // Wait for release().
    let mut f1 = Box::pin(sem.acquire());
    assert!(!is_ready(f1.as_mut()));
    let mut f2 = Box::pin(sem.acquire());
    sem.release();
    let Poll::Ready(guard) = poll_once(f1.as_mut()) else {
        panic!("release should go to the first waiter");
    };
    guard.forget();
    assert!(!is_ready(f2.as_mut()));
    sem.release();
    let Poll::Ready(guard) = poll_once(f2.as_mut()) else {
        panic!("release should go to the second waiter");
    };
    guard.forget();

    sem.release();
    // Now acquire() is instant.
    assert!(sem.try_acquire().is_some());
}

#[test]
fn semaphore_acquire_timeout() {
    run(async {
        let sem = Semaphore::new(2);
        sem.acquire().await.forget();
        sem.acquire().await.forget();
        let acquire = sem.acquire_timeout(ms(10));
        let releaser = sem.clone();
        IOLoop::current().call_later(ms(20), move || releaser.release()); // too late
        sleep(ms(30)).await;
        assert!(acquire.await.is_err());

        // The late release is still there for the next acquire.
        sem.acquire().await.forget();
        let mut f = Box::pin(sem.acquire());
        assert!(!is_ready(f.as_mut()));
        sem.release();
        assert!(is_ready(f.as_mut()));
    });
}

#[test]
fn semaphore_acquire_timeout_preempted() {
    run(async {
        let sem = Semaphore::new(1);
        sem.acquire().await.forget();
        let releaser = sem.clone();
        // Fires before the acquire times out.
        IOLoop::current().call_later(ms(10), move || releaser.release());
        let acquire = sem.acquire_timeout(ms(20));
        sleep(ms(30)).await;
        assert!(acquire.await.is_ok());
    });
}

#[test]
fn semaphore_release_unacquired() {
    // Unbounded releases are allowed and increment the counter.
    let sem = Semaphore::new(1);
    sem.release();
    sem.release();
    // Now the counter is 3: three acquires before blocking.
    let guards: Vec<_> = (0..3).map(|_| sem.try_acquire()).collect();
    assert!(guards.iter().all(Option::is_some));
    let mut fourth = Box::pin(sem.acquire());
    assert!(!is_ready(fourth.as_mut()));
}

#[test]
fn semaphore_timed_out_acquires_leave_the_line() {
    run(async {
        let sem = Semaphore::new(0);
        let timed: Vec<_> = (0..101)
            .map(|_| spawn(sem.acquire_timeout(ms(10))))
            .collect();
        let mut last = Box::pin(sem.acquire());

        for acquire in timed {
            assert!(acquire.await.unwrap().is_err());
        }
        assert!(!is_ready(last.as_mut())); // still active
        sem.release();
        assert!(is_ready(last.as_mut()));
    });
}

#[test]
fn semaphore_guard_releases_on_drop() {
    run(async {
        let sem = Semaphore::new(1);
        {
            let _guard = sem.acquire().await;
            assert!(sem.try_acquire().is_none());
        }
        // Released and can be acquired again.
        assert!(sem.try_acquire().is_some());
    });
}

#[test]
fn semaphore_guard_releases_on_early_return() {
    async fn fails(sem: Semaphore) -> Result<(), &'static str> {
        let _guard = sem.acquire().await;
        Err("boom")
    }
    run(async {
        let sem = Semaphore::new(1);
        assert_eq!(fails(sem.clone()).await, Err("boom"));
        assert!(sem.try_acquire().is_some());
    });
}

#[test]
fn semaphore_guard_with_timeout() {
    run(async {
        let sem = Semaphore::new(1);
        {
            let _guard = sem.acquire_timeout(ms(10)).await.unwrap();
        }
        assert!(sem.try_acquire().is_some());
    });
}

#[test]
fn semaphore_timeout_error_leaves_counter() {
    run(async {
        let sem = Semaphore::new(0);
        assert!(matches!(
            sem.acquire_timeout(ms(10)).await,
            Err(TimeoutError)
        ));
        // Counter is still 0.
        assert!(sem.try_acquire().is_none());
    });
}

#[test]
fn semaphore_contended() {
    run(async {
        let sem = Semaphore::new(1);
        let history = History::default();
        let workers: Vec<_> = (0..2)
            .map(|i| {
                let (sem, history) = (sem.clone(), history.clone());
                spawn(async move {
                    let _guard = sem.acquire().await;
                    history.push(format!("acquired {i}"));
                    sleep(ms(10)).await;
                    history.push(format!("release {i}"));
                })
            })
            .collect();
        for worker in workers {
            worker.await.unwrap();
        }
        assert_eq!(
            history.get(),
            strings(&["acquired 0", "release 0", "acquired 1", "release 1"])
        );
    });
}

#[test]
fn semaphore_acquire_is_in_line_from_the_call() {
    let sem = Semaphore::new(0);
    let mut first = Box::pin(sem.acquire());
    let mut second = Box::pin(sem.acquire());
    sem.release();
    assert!(!is_ready(second.as_mut()));
    assert!(is_ready(first.as_mut()));
}

#[test]
fn semaphore_dropped_acquire_passes_its_permit_on() {
    let sem = Semaphore::new(0);
    let first = Box::pin(sem.acquire());
    let mut second = Box::pin(sem.acquire());
    sem.release(); // handed to `first` ...
    drop(first); // ... which is dropped before returning it
    assert!(is_ready(second.as_mut()));
}

#[test]
fn semaphore_aborted_waiter_does_not_block_the_line() {
    run(async {
        let sem = Semaphore::new(0);
        let aborted = spawn(sem.acquire());
        let waiting = spawn(sem.acquire());
        moment().await;
        aborted.abort();
        sem.release();
        waiting.await.unwrap().forget();
    });
}

// ---- BoundedSemaphore ----

#[test]
fn bounded_semaphore_release_unacquired() {
    let sem = BoundedSemaphore::new(1);
    assert_eq!(sem.release(), Err(ReleaseError));
    // Value is 0.
    sem.try_acquire().expect("value was 1").forget();
    // Block on acquire().
    let mut future = Box::pin(sem.acquire());
    assert!(!is_ready(future.as_mut()));
    assert_eq!(sem.release(), Ok(()));
    let Poll::Ready(guard) = poll_once(future.as_mut()) else {
        panic!("the release should go to the waiter");
    };
    guard.forget();
    // Value is 1.
    assert_eq!(sem.release(), Ok(()));
    assert_eq!(sem.release(), Err(ReleaseError));
}

#[test]
fn bounded_semaphore_guard_does_not_exceed_the_bound() {
    let sem = BoundedSemaphore::new(1);
    let guard = sem.try_acquire().expect("value was 1");
    assert_eq!(sem.release(), Ok(())); // back at 1, with the guard still out
    drop(guard); // must not raise the counter to 2
    let first = sem.try_acquire();
    assert!(first.is_some());
    assert!(sem.try_acquire().is_none());
}

#[test]
fn bounded_semaphore_acquire_timeout() {
    run(async {
        let sem = BoundedSemaphore::new(1);
        let _guard = sem.acquire().await;
        assert!(sem.acquire_timeout(ms(10)).await.is_err());
    });
}

// ---- Lock ----

#[test]
fn lock_acquire_release() {
    let lock = Lock::new();
    let guard = lock.try_acquire().expect("a new lock is unlocked");
    let mut future = Box::pin(lock.acquire());
    assert!(!is_ready(future.as_mut()));
    drop(guard);
    assert!(is_ready(future.as_mut()));
}

#[test]
fn lock_acquire_fifo() {
    run(async {
        let lock = Lock::new();
        let guard = lock.acquire().await;
        let history = History::default();
        let tasks: Vec<_> = (0..5)
            .map(|i| {
                let (lock, history) = (lock.clone(), history.clone());
                spawn(async move {
                    let _guard = lock.acquire().await;
                    history.push(i);
                })
            })
            .collect();
        sleep(ms(5)).await;
        assert!(tasks.iter().all(|task| !task.is_finished()));
        drop(guard);
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(history.get(), vec![0, 1, 2, 3, 4]);
    });
}

#[test]
fn lock_acquire_timeout() {
    run(async {
        let lock = Lock::new();
        let _guard = lock.acquire().await;
        assert!(matches!(
            lock.acquire_timeout(ms(10)).await,
            Err(TimeoutError)
        ));
        // Still locked.
        assert!(lock.try_acquire().is_none());
    });
}

#[test]
fn lock_is_released_once_per_guard() {
    // Tornado's test_multi_release: a second release is a RuntimeError
    // there; here each guard releases exactly once, when dropped.
    let lock = Lock::new();
    let guard = lock.try_acquire().expect("unlocked");
    drop(guard);
    let again = lock.try_acquire();
    assert!(again.is_some());
    assert!(lock.try_acquire().is_none());
}

#[test]
fn lock_timed_out_acquire_does_not_take_a_later_release() {
    run(async {
        let lock = Lock::new();
        let guard = lock.acquire().await;
        assert!(lock.acquire_timeout(ms(5)).await.is_err());
        let waiting = spawn({
            let lock = lock.clone();
            async move {
                let _guard = lock.acquire().await;
            }
        });
        moment().await;
        drop(guard);
        waiting.await.unwrap();
        assert!(lock.try_acquire().is_some());
    });
}

#[test]
fn a_dropped_loop_frees_a_task_waiting_with_a_timeout() {
    // The timed wait holds its loop weakly: a task waiting in it (which the
    // loop holds) does not keep the loop, and so itself, alive.
    struct Flag(Rc<std::cell::Cell<bool>>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    let dropped = Rc::new(std::cell::Cell::new(false));
    let flag = Flag(dropped.clone());
    let ioloop = IOLoop::new().unwrap();
    ioloop.make_current();
    let condition = Condition::new();
    drop(ioloop.spawn(async move {
        let _flag = flag;
        let _ = condition.wait_timeout(Duration::from_secs(3600)).await;
    }));
    ioloop.run_sync(moment()).unwrap();
    IOLoop::clear_current();
    drop(ioloop);
    assert!(dropped.get(), "the task went with its loop");
}
