//! Helpers shared by the integration tests in `tests/`.
#![deny(missing_docs)]

use std::time::{Duration, Instant};

/// Polls `condition` every millisecond until it holds or `timeout` passes;
/// returns whether it held. For waiting on another thread without fixed sleeps.
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    condition()
}
