//! `tornado::queues` on a real IOLoop: the cases of Tornado's
//! `tornado/test/queues_test.py`, plus cancellation safety.
//!
//! Tornado checks `future.done()` right after a call; here a future is
//! polled once by hand (`poll_once`), which works because `get` and `put`
//! join their line when called.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use test_support::futures::{is_ready, ms, poll_once, run, spawn};
use tornado::gen::{moment, sleep, TimeoutError};
use tornado::ioloop::IOLoop;
use tornado::queues::{
    GenericQueue, LifoQueue, PriorityQueue, Queue, QueueBuffer, QueueEmpty, QueueFull,
    TaskDoneError,
};

// ---- QueueBasicTest ----

#[test]
fn debug_shows_size_waiters_and_tasks() {
    run(async {
        let q: Queue<()> = Queue::with_maxsize(1);
        let _get = q.get();
        assert_eq!(
            format!("{q:?}"),
            "Queue { maxsize: 1, qsize: 0, getters: 1, putters: 0, tasks: 0 }"
        );
        let _put0 = q.put(()); // handed to the getter
        let _put1 = q.put(());
        let _put2 = q.put(()); // the queue is full: this putter waits
        assert_eq!(
            format!("{q:?}"),
            "Queue { maxsize: 1, qsize: 1, getters: 0, putters: 1, tasks: 2 }"
        );
    });
}

#[test]
fn order() {
    let q = Queue::new();
    for i in [1, 3, 2] {
        q.put_nowait(i).unwrap();
    }
    let items: Vec<_> = (0..3).map(|_| q.get_nowait().unwrap()).collect();
    assert_eq!(items, [1, 3, 2]);
}

#[test]
fn maxsize() {
    run(async {
        let q = Queue::with_maxsize(2);
        assert!(q.empty());
        assert!(!q.full());
        assert_eq!(q.maxsize(), 2);
        assert!(is_ready(Box::pin(q.put(0)).as_mut()));
        assert!(is_ready(Box::pin(q.put(1)).as_mut()));
        assert!(!q.empty());
        assert!(q.full());
        let mut put2 = Box::pin(q.put(2));
        assert!(!is_ready(put2.as_mut()));
        assert_eq!(q.get().await, 0); // make room
        assert!(is_ready(put2.as_mut()));
        assert!(!q.empty());
        assert!(q.full());
    });
}

#[test]
fn unbounded_is_never_full() {
    let q = Queue::new();
    for i in 0..1000 {
        q.put_nowait(i).unwrap();
    }
    assert!(!q.full());
    assert_eq!(q.qsize(), 1000);
    assert_eq!(q.maxsize(), 0);
}

// ---- QueueGetTest ----

#[test]
fn blocking_get() {
    run(async {
        let q = Queue::new();
        q.put_nowait(0).unwrap();
        assert_eq!(q.get().await, 0);
    });
}

#[test]
fn nonblocking_get() {
    let q = Queue::new();
    q.put_nowait(0).unwrap();
    assert_eq!(q.get_nowait(), Ok(0));
}

#[test]
fn nonblocking_get_exception() {
    let q: Queue<i32> = Queue::new();
    assert_eq!(q.get_nowait(), Err(QueueEmpty));
}

#[test]
fn get_with_putters() {
    run(async {
        let q = Queue::with_maxsize(1);
        q.put_nowait(0).unwrap();
        let put = q.put(1);
        assert_eq!(q.get().await, 0);
        put.await;
        assert_eq!(q.get_nowait(), Ok(1));
    });
}

#[test]
fn blocking_get_wait() {
    run(async {
        let q = Queue::new();
        q.put(0).await;
        for (delay, item) in [(10, 1), (20, 2)] {
            let q = q.clone();
            IOLoop::current().call_later(ms(delay), move || q.put_nowait(item).unwrap());
        }
        assert_eq!(q.get_timeout(Duration::from_secs(1)).await, Ok(0));
        assert_eq!(q.get_timeout(Duration::from_secs(1)).await, Ok(1));
    });
}

#[test]
fn get_timeout() {
    // A timed-out get does not take the next item.
    run(async {
        let q = Queue::new();
        let get_timeout = q.get_timeout(ms(10));
        let get = q.get();
        assert_eq!(get_timeout.await, Err(TimeoutError));
        q.put_nowait(0).unwrap();
        assert_eq!(get.await, 0);
    });
}

#[test]
fn get_timeout_preempted() {
    run(async {
        let q = Queue::new();
        let get = q.get_timeout(ms(10));
        q.put(0).await;
        sleep(ms(20)).await;
        assert_eq!(get.await, Ok(0));
    });
}

#[test]
fn unpolled_timed_out_get_does_not_take_a_later_item() {
    // The timeout takes the getter out of line even though nobody awaits it.
    run(async {
        let q = Queue::new();
        let get_timeout = q.get_timeout(ms(10));
        sleep(ms(20)).await;
        q.put_nowait(0).unwrap();
        assert_eq!(q.get_nowait(), Ok(0));
        assert_eq!(get_timeout.await, Err(TimeoutError));
    });
}

#[test]
fn get_clears_timed_out_putters() {
    // Tornado clears timed-out putters on the next get; here each leaves
    // the line at its deadline.
    run(async {
        let q = Queue::with_maxsize(1);
        // The first putter succeeds, the rest wait.
        let putters: Vec<_> = (0..10).map(|i| q.put_timeout(i, ms(10))).collect();
        let mut put = Box::pin(q.put(10));
        assert_eq!(
            format!("{q:?}"),
            "Queue { maxsize: 1, qsize: 1, getters: 0, putters: 10, tasks: 1 }"
        );
        sleep(ms(20)).await;
        assert!(!is_ready(put.as_mut())); // the final putter is still waiting
        assert!(format!("{q:?}").contains("putters: 1,"));
        assert_eq!(q.get().await, 0);
        assert_eq!(q.get().await, 10); // none of 1..10 was put
        assert!(is_ready(put.as_mut()));
        let mut outcomes = Vec::new();
        for putter in putters {
            outcomes.push(putter.await);
        }
        assert_eq!(outcomes[0], Ok(()));
        assert!(outcomes[1..].iter().all(|r| *r == Err(TimeoutError)));
    });
}

#[test]
fn get_clears_timed_out_getters() {
    run(async {
        let q: Queue<i32> = Queue::new();
        let getters: Vec<_> = (0..10).map(|_| spawn(q.get_timeout(ms(10)))).collect();
        let get = spawn(q.get());
        assert!(format!("{q:?}").contains("getters: 11,"));
        sleep(ms(20)).await;
        assert!(format!("{q:?}").contains("getters: 1,"));
        assert!(!get.is_finished()); // the final getter is still waiting
        for getter in getters {
            assert_eq!(getter.await.unwrap(), Err(TimeoutError));
        }
        q.put_nowait(7).unwrap();
        assert_eq!(get.await.unwrap(), 7);
    });
}

#[test]
fn get_loop_like_async_for() {
    // Tornado's `async for item in q`.
    run(async {
        let q = Queue::new();
        for i in 0..5 {
            q.put(i).await;
        }
        let mut results = Vec::new();
        loop {
            let item = q.get().await;
            results.push(item);
            if item == 4 {
                break;
            }
        }
        assert_eq!(results, [0, 1, 2, 3, 4]);
    });
}

// ---- QueuePutTest ----

#[test]
fn blocking_put() {
    run(async {
        let q = Queue::new();
        q.put(0).await;
        assert_eq!(q.get_nowait(), Ok(0));
    });
}

#[test]
fn nonblocking_put_exception_gives_the_item_back() {
    let q = Queue::with_maxsize(1);
    q.put_nowait(0).unwrap();
    assert_eq!(q.put_nowait(1), Err(QueueFull(1)));
}

#[test]
fn put_with_getters() {
    run(async {
        let q = Queue::new();
        let get0 = q.get();
        let get1 = q.get();
        q.put(0).await;
        assert_eq!(get0.await, 0);
        q.put(1).await;
        assert_eq!(get1.await, 1);
    });
}

#[test]
fn nonblocking_put_with_getters() {
    run(async {
        let q = Queue::new();
        let get0 = spawn(q.get());
        let get1 = spawn(q.get());
        q.put_nowait(0).unwrap();
        // put_nowait does not run the getter at once ...
        assert!(!get0.is_finished());
        moment().await; // ... but on the next iteration.
        assert_eq!(get0.await.unwrap(), 0);
        q.put_nowait(1).unwrap();
        moment().await;
        assert_eq!(get1.await.unwrap(), 1);
    });
}

#[test]
fn blocking_put_wait() {
    run(async {
        let q = Queue::with_maxsize(1);
        q.put_nowait(0).unwrap();
        for delay in [10, 20] {
            let q = q.clone();
            IOLoop::current().call_later(ms(delay), move || {
                q.get_nowait().unwrap();
            });
        }
        let mut puts = [Box::pin(q.put(0)), Box::pin(q.put(1))];
        assert!(!puts.iter_mut().any(|put| is_ready(put.as_mut())));
        for put in puts {
            put.await;
        }
    });
}

#[test]
fn put_timeout() {
    run(async {
        let q = Queue::with_maxsize(1);
        q.put_nowait(0).unwrap(); // now it's full
        let put_timeout = q.put_timeout(1, ms(10));
        let put = q.put(2);
        assert_eq!(put_timeout.await, Err(TimeoutError));
        assert_eq!(q.get_nowait(), Ok(0));
        // 1 was never put in the queue.
        assert_eq!(q.get().await, 2);
        // The final get() let this putter in.
        put.await;
    });
}

#[test]
fn put_timeout_preempted() {
    run(async {
        let q = Queue::with_maxsize(1);
        q.put_nowait(0).unwrap();
        let put = q.put_timeout(1, ms(10));
        assert_eq!(q.get().await, 0);
        sleep(ms(20)).await;
        assert_eq!(put.await, Ok(())); // no timeout
        assert_eq!(q.get_nowait(), Ok(1));
    });
}

#[test]
fn put_clears_timed_out_putters() {
    run(async {
        let q = Queue::with_maxsize(1);
        let putters: Vec<_> = (0..10).map(|i| spawn(q.put_timeout(i, ms(10)))).collect();
        let put = spawn(q.put(10));
        assert!(format!("{q:?}").contains("putters: 10,"));
        sleep(ms(20)).await;
        assert!(format!("{q:?}").contains("putters: 1,"));
        assert!(!put.is_finished()); // the final putter is still waiting
        let _put11 = q.put(11);
        assert!(format!("{q:?}").contains("putters: 2,"));
        for (i, putter) in putters.into_iter().enumerate() {
            let expected = if i == 0 { Ok(()) } else { Err(TimeoutError) };
            assert_eq!(putter.await.unwrap(), expected);
        }
    });
}

#[test]
fn put_clears_timed_out_getters() {
    run(async {
        let q = Queue::new();
        let getters: Vec<_> = (0..10).map(|_| spawn(q.get_timeout(ms(10)))).collect();
        let get = spawn(q.get());
        let _another = q.get();
        assert!(format!("{q:?}").contains("getters: 12,"));
        sleep(ms(20)).await;
        assert!(format!("{q:?}").contains("getters: 2,"));
        assert!(!get.is_finished()); // the final getters are still waiting
        q.put_nowait(0).unwrap();
        assert!(format!("{q:?}").contains("getters: 1,"));
        assert_eq!(get.await.unwrap(), 0);
        for getter in getters {
            assert_eq!(getter.await.unwrap(), Err(TimeoutError));
        }
    });
}

// ---- QueueJoinTest, for each kind of queue ----

fn task_done_underflow<B: QueueBuffer<i32> + 'static>() {
    let q: GenericQueue<i32, B> = GenericQueue::new();
    assert_eq!(q.task_done(), Err(TaskDoneError));
}

fn task_done<B: QueueBuffer<i32> + 'static>() {
    run(async {
        let q: GenericQueue<i32, B> = GenericQueue::new();
        for i in 0..100 {
            q.put_nowait(i).unwrap();
        }
        let accumulator = Rc::new(Cell::new(0));
        // Two workers share the work, with uneven pauses.
        for worker in 0..2u64 {
            let (q, accumulator) = (q.clone(), accumulator.clone());
            spawn(async move {
                for round in 0u64.. {
                    let item = q.get().await;
                    accumulator.set(accumulator.get() + item);
                    q.task_done().unwrap();
                    sleep(Duration::from_micros((round * 7 + worker * 3) % 10 * 100)).await;
                }
            });
        }
        q.join().await;
        assert_eq!(accumulator.get(), (0..100).sum::<i32>());
    });
}

fn task_done_delay<B: QueueBuffer<i32> + 'static>() {
    // It is task_done(), not get(), that ends join().
    run(async {
        let q: GenericQueue<i32, B> = GenericQueue::new();
        q.put_nowait(0).unwrap();
        let mut join = Box::pin(q.join());
        assert!(!is_ready(join.as_mut()));
        q.get().await;
        assert!(!is_ready(join.as_mut()));
        moment().await;
        assert!(!is_ready(join.as_mut()));
        q.task_done().unwrap();
        assert!(is_ready(join.as_mut()));
    });
}

fn join_empty_queue<B: QueueBuffer<i32> + 'static>() {
    run(async {
        let q: GenericQueue<i32, B> = GenericQueue::new();
        q.join().await;
        q.join().await;
    });
}

fn join_timeout<B: QueueBuffer<i32> + 'static>() {
    run(async {
        let q: GenericQueue<i32, B> = GenericQueue::new();
        q.put(0).await;
        assert_eq!(q.join_timeout(ms(10)).await, Err(TimeoutError));
    });
}

macro_rules! join_tests {
    ($module:ident, $buffer:ty) => {
        mod $module {
            #[test]
            fn task_done_underflow() {
                super::task_done_underflow::<$buffer>();
            }

            #[test]
            fn task_done() {
                super::task_done::<$buffer>();
            }

            #[test]
            fn task_done_delay() {
                super::task_done_delay::<$buffer>();
            }

            #[test]
            fn join_empty_queue() {
                super::join_empty_queue::<$buffer>();
            }

            #[test]
            fn join_timeout() {
                super::join_timeout::<$buffer>();
            }
        }
    };
}

join_tests!(queue_join, std::collections::VecDeque<i32>);
join_tests!(
    priority_queue_join,
    std::collections::BinaryHeap<std::cmp::Reverse<i32>>
);
join_tests!(lifo_queue_join, Vec<i32>);

#[test]
fn priority_queue_order() {
    run(async {
        let q = PriorityQueue::with_maxsize(2);
        q.put_nowait((1, "a")).unwrap();
        q.put_nowait((0, "b")).unwrap();
        assert!(q.full());
        let put_c = q.put((3, "c"));
        let put_d = q.put((2, "d"));
        assert_eq!(q.get_nowait(), Ok((0, "b")));
        assert_eq!(q.get().await, (1, "a"));
        assert_eq!(q.get_nowait(), Ok((2, "d")));
        assert_eq!(q.get().await, (3, "c"));
        assert!(q.empty());
        put_c.await;
        put_d.await;
    });
}

#[test]
fn lifo_queue_order() {
    run(async {
        let q = LifoQueue::with_maxsize(2);
        q.put_nowait(1).unwrap();
        q.put_nowait(0).unwrap();
        assert!(q.full());
        let put_3 = q.put(3);
        let put_2 = q.put(2);
        assert_eq!(q.get_nowait(), Ok(3));
        assert_eq!(q.get().await, 2);
        assert_eq!(q.get_nowait(), Ok(0));
        assert_eq!(q.get().await, 1);
        assert!(q.empty());
        put_3.await;
        put_2.await;
    });
}

// ---- ProducerConsumerTest ----

#[test]
fn producer_consumer() {
    run(async {
        let q = Queue::with_maxsize(3);
        let history = Rc::new(RefCell::new(Vec::new()));
        // No pause between get() and task_done(): the degenerate case.
        spawn({
            let (q, history) = (q.clone(), history.clone());
            async move {
                loop {
                    let item = q.get().await;
                    history.borrow_mut().push(item);
                    q.task_done().unwrap();
                }
            }
        });
        for item in 0..10 {
            q.put(item).await;
        }
        q.join().await;
        assert_eq!(*history.borrow(), (0..10).collect::<Vec<_>>());
    });
}

// ---- Cancellation safety and call-time registration ----

#[test]
fn get_is_in_line_from_the_call() {
    let q = Queue::new();
    let mut first = Box::pin(q.get());
    let mut second = Box::pin(q.get());
    q.put_nowait("a").unwrap();
    q.put_nowait("b").unwrap();
    assert_eq!(poll_once(second.as_mut()), Poll::Ready("b"));
    assert_eq!(poll_once(first.as_mut()), Poll::Ready("a"));
}

#[test]
fn dropped_getter_passes_its_item_to_the_next_getter() {
    let q = Queue::new();
    let first = Box::pin(q.get());
    let mut second = Box::pin(q.get());
    q.put_nowait(0).unwrap(); // handed to `first` ...
    drop(first); // ... which is dropped before returning it
    assert_eq!(poll_once(second.as_mut()), Poll::Ready(0));
}

#[test]
fn dropped_getter_puts_its_item_back_at_the_head() {
    let q = Queue::new();
    for i in 0..3 {
        q.put_nowait(i).unwrap();
    }
    let get = q.get(); // takes 0 at the call
    assert_eq!(q.qsize(), 2);
    drop(get);
    let items: Vec<_> = (0..3).map(|_| q.get_nowait().unwrap()).collect();
    assert_eq!(items, [0, 1, 2]);
}

#[test]
fn item_given_back_to_a_full_queue_drains_before_putters() {
    let q = Queue::with_maxsize(1);
    let get = q.get();
    q.put_nowait(0).unwrap(); // handed to `get`
    q.put_nowait(1).unwrap(); // the queue is full
    let mut put = Box::pin(q.put(2));
    drop(get); // 0 goes back to the head: one past maxsize
    assert_eq!(q.qsize(), 2);
    assert_eq!(q.get_nowait(), Ok(0));
    assert!(!is_ready(put.as_mut())); // still full: the putter waits
    assert_eq!(q.get_nowait(), Ok(1)); // this get lets the putter in
    assert!(is_ready(put.as_mut()));
    assert_eq!(q.get_nowait(), Ok(2));
    assert!(q.empty());
}

#[test]
fn aborted_getter_task_loses_no_item() {
    run(async {
        let q = Queue::new();
        let aborted = spawn(q.get());
        let waiting = spawn(q.get());
        moment().await;
        q.put_nowait("item").unwrap(); // handed to `aborted` ...
        aborted.abort(); // ... which is cancelled before it runs
        assert_eq!(waiting.await.unwrap(), "item");
    });
}

#[test]
fn dropped_putter_withdraws_its_item() {
    let q = Queue::with_maxsize(1);
    q.put_nowait(0).unwrap();
    let put = q.put(1);
    assert!(format!("{q:?}").contains("putters: 1,"));
    drop(put);
    assert_eq!(q.get_nowait(), Ok(0));
    assert_eq!(q.get_nowait(), Err(QueueEmpty));
    assert_eq!(q.task_done(), Ok(()));
    assert_eq!(q.task_done(), Err(TaskDoneError)); // 1 was never counted
}

#[test]
fn maxsize_blocks_producers_in_order() {
    run(async {
        let q = Queue::with_maxsize(1);
        q.put_nowait(0).unwrap();
        let producers: Vec<_> = (1..4).map(|i| spawn(q.put(i))).collect();
        moment().await;
        assert_eq!(q.qsize(), 1);
        let mut got = Vec::new();
        for _ in 0..4 {
            got.push(q.get().await);
        }
        assert_eq!(got, [0, 1, 2, 3]);
        for producer in producers {
            producer.await.unwrap();
        }
    });
}

#[test]
fn queues_are_shared_by_clones() {
    let q = Queue::new();
    let other = q.clone();
    q.put_nowait(1).unwrap();
    assert_eq!(other.get_nowait(), Ok(1));
}
