//! The bridge to tokio: a background runtime whose context the loop's thread
//! holds while it runs, and `run_in_executor` on tokio's blocking pool.
//!
//! tokio's reactor and timers are driven by the runtime's one worker thread.
//! A tokio future awaited by one of our tasks registers with that reactor (the
//! entered context tells it which); when it becomes ready, tokio calls our
//! task's `Waker`, which is `Send` and queues the task back onto our loop.
//! tokio's scheduler never polls our tasks.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll};

use super::task::{panic_message, JoinError};

static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();

/// Held while the runtime is built: one thread builds it. Two building at
/// once would drop the loser's runtime, which panics in a thread that is
/// inside a tokio runtime (`#[tokio::main]` starting loops on threads).
static BUILDING: Mutex<()> = Mutex::new(());

fn runtime() -> io::Result<&'static tokio::runtime::Runtime> {
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    let _building = BUILDING.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("tornado-tokio")
        .enable_all()
        .build()?;
    Ok(RUNTIME.get_or_init(|| runtime))
}

/// The background tokio runtime's handle, for code that wants to `spawn` onto
/// tokio itself (e.g. `Send` work that should not run on the IOLoop thread).
pub fn tokio_handle() -> io::Result<tokio::runtime::Handle> {
    Ok(runtime()?.handle().clone())
}

/// Enters the tokio context on this thread for as long as the guard lives.
pub(super) fn enter_tokio() -> io::Result<tokio::runtime::EnterGuard<'static>> {
    Ok(runtime()?.enter())
}

/// Runs blocking `work` on a thread pool; the returned future gives its result.
///
/// Use it for file I/O, CPU-heavy work or blocking client libraries, which
/// would otherwise stall every connection on the loop.
///
/// # Tornado
/// `IOLoop.run_in_executor(executor, func, *args)`; the pool is tokio's
/// blocking pool, shared by every loop in the process.
///
/// ```
/// use tornado::ioloop::{run_in_executor, IOLoop};
///
/// let sum = IOLoop::current()
///     .run_sync(async { run_in_executor(|| (1..=10u64).sum::<u64>()).await })
///     .unwrap();
/// assert_eq!(sum.unwrap(), 55);
/// ```
pub fn run_in_executor<F, T>(work: F) -> Executing<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match runtime() {
        Ok(runtime) => Executing {
            state: Ok(runtime.spawn_blocking(work)),
        },
        Err(err) => Executing {
            state: Err(Some(err)),
        },
    }
}

/// The future returned by [`run_in_executor`].
#[derive(Debug)]
pub struct Executing<T> {
    state: Result<tokio::task::JoinHandle<T>, Option<io::Error>>,
}

impl<T> Future for Executing<T> {
    type Output = io::Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        match &mut self.state {
            Ok(handle) => Pin::new(handle).poll(cx).map(|joined| {
                joined.map_err(|err| {
                    let cause = match err.try_into_panic() {
                        Ok(payload) => JoinError::Panicked(panic_message(payload.as_ref())),
                        Err(_) => JoinError::Cancelled,
                    };
                    io::Error::other(cause)
                })
            }),
            Err(err) => Poll::Ready(Err(err
                .take()
                .unwrap_or_else(|| io::Error::other("run_in_executor polled after completion")))),
        }
    }
}
