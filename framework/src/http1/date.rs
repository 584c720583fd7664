//! A `Date` header value formatted at most once per second.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::httputil::{write_http_date, HTTP_DATE_LEN};

/// The current `Date` header value, reformatted only when the second changes.
///
/// The codec never reads the clock: the connection layer keeps one
/// `DateCache` per thread (a `thread_local!`, as hyper does), calls
/// [`update`](Self::update) with `SystemTime::now()` before writing responses,
/// and passes the cache in [`ResponseHead::date`](super::ResponseHead::date).
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use tornado::http1::DateCache;
///
/// let mut date = DateCache::new(UNIX_EPOCH + Duration::from_secs(1_359_312_200));
/// assert_eq!(date.as_str(), "Sun, 27 Jan 2013 18:43:20 GMT");
/// assert!(!date.update(UNIX_EPOCH + Duration::from_millis(1_359_312_200_900)));
/// assert!(date.update(UNIX_EPOCH + Duration::from_secs(1_359_312_201)));
/// assert_eq!(date.as_str(), "Sun, 27 Jan 2013 18:43:21 GMT");
/// ```
#[derive(Clone, Debug)]
pub struct DateCache {
    /// The time last passed in: the loop passes the same one for a whole
    /// iteration, which then needs no conversion to seconds.
    last: SystemTime,
    /// Whole seconds since the epoch that `bytes` shows.
    secs: u64,
    /// An IMF-fixdate, always ASCII.
    bytes: [u8; HTTP_DATE_LEN],
}

impl DateCache {
    /// Formats `now`.
    pub fn new(now: SystemTime) -> DateCache {
        let mut bytes = [0; HTTP_DATE_LEN];
        write_http_date(now, &mut bytes);
        DateCache {
            last: now,
            secs: unix_secs(now),
            bytes,
        }
    }

    /// Moves the cache to `now`, reformatting only if the second changed.
    /// Returns whether it did.
    pub fn update(&mut self, now: SystemTime) -> bool {
        if now == self.last {
            return false;
        }
        self.last = now;
        let secs = unix_secs(now);
        if secs == self.secs {
            return false;
        }
        self.secs = secs;
        write_http_date(now, &mut self.bytes);
        true
    }

    /// The formatted date, e.g. `Wed, 25 Nov 2026 16:03:42 GMT`.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The formatted date as a string.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes).unwrap_or_default()
    }
}

/// Two caches are equal when they show the same date, whatever time within
/// its second each was last given.
impl PartialEq for DateCache {
    fn eq(&self, other: &DateCache) -> bool {
        self.secs == other.secs && self.bytes == other.bytes
    }
}

impl Eq for DateCache {}

fn unix_secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
