//! Log records a test expects: while an expectation is active, a record it
//! matches is counted and not printed ([`crate::testing::ExpectLog`]).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use ::log::{Level, Record};
use regex::Regex;

/// One active expectation.
#[derive(Debug)]
pub(crate) struct Expectation {
    /// The logger (`log` target) whose records it looks at, exactly.
    pub(crate) target: String,
    /// Matched at the start of the message, as Python's `re.match`.
    pub(crate) regex: Regex,
    /// The level a match must have; `None` for any.
    pub(crate) level: Option<Level>,
    /// Records matched so far.
    pub(crate) matched: AtomicUsize,
}

/// How many expectations are active: the common case, none, costs a
/// record one atomic load.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

static EXPECTATIONS: Mutex<Vec<Arc<Expectation>>> = Mutex::new(Vec::new());

fn expectations() -> std::sync::MutexGuard<'static, Vec<Arc<Expectation>>> {
    // A panic while holding the lock leaves the list whole.
    EXPECTATIONS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Makes `expectation` active.
pub(crate) fn add(expectation: Arc<Expectation>) {
    let mut list = expectations();
    list.push(expectation);
    ACTIVE.store(list.len(), Ordering::Release);
}

/// Makes `expectation` inactive.
pub(crate) fn remove(expectation: &Arc<Expectation>) {
    let mut list = expectations();
    list.retain(|active| !Arc::ptr_eq(active, expectation));
    ACTIVE.store(list.len(), Ordering::Release);
}

/// True if an active expectation takes `record` (it is then not printed).
/// A match at another level than the one expected is let through, with a
/// warning, as Tornado does.
pub(crate) fn intercepts(record: &Record<'_>) -> bool {
    if ACTIVE.load(Ordering::Acquire) == 0 {
        return false;
    }
    let message = record.args().to_string();
    let list = expectations();
    let Some(expectation) = list.iter().find(|e| {
        e.target == record.target()
            && e.regex
                .find(&message)
                .is_some_and(|found| found.start() == 0)
    }) else {
        return false;
    };
    if expectation
        .level
        .is_some_and(|level| level != record.level())
    {
        let expected = expectation.level.map_or("", |level| level.as_str());
        drop(list);
        ::log::warn!(
            target: "tornado.application",
            "Got expected log message {message:?} at unexpected level ({expected} vs {})",
            record.level()
        );
        return false;
    }
    expectation.matched.fetch_add(1, Ordering::AcqRel);
    true
}
