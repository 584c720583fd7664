// How to run (pinned to one core, so the loop, tokio's background worker and
// the waking thread share it as on a busy server):
//
//     taskset -c 0 cargo bench -p tornado-rs --bench ioloop
//
// `cargo bench -p tornado-rs` runs it with the codec benchmark.
// `-- --quick` runs a tenth of each workload (a smoke test, not a measurement).
//
//! IOLoop micro-benchmark: spawn+complete, wake→poll round trips (from the
//! loop's thread and from another thread), timer insert/cancel and timers
//! fired, with tokio's current_thread runtime as a baseline for spawn+complete.
//!
//! Each line prints the operation count, the wall time, operations per second
//! and nanoseconds per operation. One run of each workload; run it a few times
//! and compare medians before drawing conclusions.

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use tornado::gen::moment;
use tornado::ioloop::IOLoop;

fn report(name: &str, ops: usize, elapsed: Duration) {
    let secs = elapsed.as_secs_f64();
    println!(
        "{name:<46} {ops:>9} ops {:>9.1} ms {:>12.0} ops/s {:>8.1} ns/op",
        secs * 1e3,
        ops as f64 / secs,
        secs * 1e9 / ops as f64
    );
}

/// Runs `ioloop` until `done` reaches `target`, yielding one iteration at a time.
fn run_until(ioloop: &IOLoop, done: &Rc<Cell<usize>>, target: usize) -> io::Result<()> {
    let done = done.clone();
    ioloop.run_sync(async move {
        while done.get() < target {
            moment().await;
        }
    })
}

/// `n` tiny tasks spawned from outside the loop, then run to completion.
fn ioloop_spawn_complete(n: usize) -> io::Result<()> {
    let ioloop = IOLoop::new()?;
    let done = Rc::new(Cell::new(0));
    let started = Instant::now();
    for _ in 0..n {
        let done = done.clone();
        // The handle is dropped: the task is detached, as with spawn_callback.
        drop(ioloop.spawn(async move { done.set(done.get() + 1) }));
    }
    run_until(&ioloop, &done, n)?;
    report("IOLoop spawn+complete", n, started.elapsed());
    assert_eq!(ioloop.task_count(), 0);
    Ok(())
}

/// The same workload on tokio's current_thread runtime (`Send` tasks, `tokio::spawn`).
fn tokio_spawn_complete(n: usize) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let done = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    runtime.block_on(async {
        for _ in 0..n {
            let done = done.clone();
            drop(tokio::spawn(async move {
                done.fetch_add(1, Ordering::Relaxed);
            }));
        }
        while done.load(Ordering::Relaxed) < n {
            tokio::task::yield_now().await;
        }
    });
    report("tokio current_thread spawn+complete", n, started.elapsed());
    Ok(())
}

/// The same workload as `!Send` tasks on a tokio `LocalSet` (the closest
/// tokio analogue of an IOLoop task).
fn tokio_local_spawn_complete(n: usize) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let local = tokio::task::LocalSet::new();
    let done = Rc::new(Cell::new(0));
    let started = Instant::now();
    local.block_on(&runtime, async {
        for _ in 0..n {
            let done = done.clone();
            drop(tokio::task::spawn_local(
                async move { done.set(done.get() + 1) },
            ));
        }
        while done.get() < n {
            tokio::task::yield_now().await;
        }
    });
    report(
        "tokio current_thread LocalSet spawn_local",
        n,
        started.elapsed(),
    );
    Ok(())
}

/// One task that wakes itself `n` times: each wake→poll is one loop iteration.
fn wake_from_loop_thread(n: usize) -> io::Result<()> {
    let ioloop = IOLoop::new()?;
    let mut polls = 0;
    let started = Instant::now();
    ioloop.run_sync(poll_fn(move |cx| {
        polls += 1;
        if polls == n {
            return Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }))?;
    report("wake->poll round trip, same thread", n, started.elapsed());
    Ok(())
}

/// A task parked on a waker held by another thread; that thread wakes it as
/// soon as the task says it was polled (a ping-pong across threads).
fn wake_from_other_thread(n: usize) -> io::Result<()> {
    struct PingPong {
        polls: usize,
        n: usize,
        to_waker: mpsc::Sender<Option<Waker>>,
    }
    impl Future for PingPong {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            self.polls += 1;
            if self.polls > self.n {
                let _ = self.to_waker.send(None);
                return Poll::Ready(());
            }
            let _ = self.to_waker.send(Some(cx.waker().clone()));
            Poll::Pending
        }
    }
    let ioloop = IOLoop::new()?;
    let (to_waker, wakes) = mpsc::channel::<Option<Waker>>();
    let waker_thread = thread::spawn(move || {
        while let Ok(Some(waker)) = wakes.recv() {
            waker.wake();
        }
    });
    let started = Instant::now();
    ioloop.run_sync(PingPong {
        polls: 0,
        n,
        to_waker,
    })?;
    report("wake->poll round trip, other thread", n, started.elapsed());
    let _ = waker_thread.join();
    Ok(())
}

/// Another thread calls `wake` `n` times as fast as it can on a task that
/// returns `Pending` each time: wakes coalesce, so polls stay far fewer.
fn wake_flood_from_other_thread(n: usize) -> io::Result<()> {
    let ioloop = IOLoop::new()?;
    let polls = Rc::new(Cell::new(0usize));
    let (tx, rx) = mpsc::channel::<Waker>();
    let counter = polls.clone();
    let task = ioloop.spawn(poll_fn(move |cx| {
        if counter.get() == 0 {
            let _ = tx.send(cx.waker().clone());
        }
        counter.set(counter.get() + 1);
        Poll::<()>::Pending
    }));
    ioloop.run_sync(moment())?;
    let waker = rx.recv().map_err(io::Error::other)?;
    let started = Instant::now();
    let flood = thread::spawn(move || (0..n).for_each(|_| waker.wake_by_ref()));
    ioloop.run_sync(poll_fn(move |cx| {
        if flood.is_finished() {
            return Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }))?;
    let elapsed = started.elapsed();
    ioloop.run_sync(moment())?;
    report("wake from other thread, coalesced (flood)", n, elapsed);
    println!(
        "    ... {n} wakes caused {} polls (scheduling-dependent)",
        polls.get() - 1
    );
    task.abort();
    Ok(())
}

/// `n` timers inserted (deadlines spread over a second, none due), then all cancelled.
fn timers_insert_cancel(n: usize) -> io::Result<()> {
    let ioloop = IOLoop::new()?;
    let base = Instant::now() + Duration::from_secs(60);
    let started = Instant::now();
    // A multiplicative spread so that deadlines arrive out of order.
    let handles: Vec<_> = (0..n as u64)
        .map(|i| {
            let offset = Duration::from_nanos(i.wrapping_mul(2_654_435_761) % 1_000_000_000);
            ioloop.call_at(base + offset, || {})
        })
        .collect();
    report("timer insert (call_at)", n, started.elapsed());
    let started = Instant::now();
    for handle in handles {
        ioloop.remove_timeout(handle);
    }
    report("timer cancel (remove_timeout)", n, started.elapsed());
    assert_eq!(ioloop.pending_timeouts(), 0);
    Ok(())
}

/// `n` timers, all due, fired by the loop.
fn timers_fired(n: usize) -> io::Result<()> {
    let ioloop = IOLoop::new()?;
    let fired = Rc::new(Cell::new(0));
    let due = Instant::now();
    for _ in 0..n {
        let fired = fired.clone();
        ioloop.call_at(due, move || fired.set(fired.get() + 1));
    }
    let started = Instant::now();
    run_until(&ioloop, &fired, n)?;
    report("timers fired", n, started.elapsed());
    Ok(())
}

fn main() -> io::Result<()> {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let scale = if quick { 10 } else { 1 };
    let million = 1_000_000 / scale;
    println!(
        "IOLoop micro-benchmark ({} run)",
        if quick { "quick" } else { "full" }
    );
    ioloop_spawn_complete(million)?;
    tokio_spawn_complete(million)?;
    tokio_local_spawn_complete(million)?;
    wake_from_loop_thread(million)?;
    wake_from_other_thread(100_000 / scale)?;
    wake_flood_from_other_thread(million)?;
    timers_insert_cancel(million)?;
    timers_fired(million)?;
    Ok(())
}
