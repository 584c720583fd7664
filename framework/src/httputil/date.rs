//! HTTP dates (RFC 9110 §5.6.7) without a date crate.
//!
//! Calendar arithmetic uses Howard Hinnant's `days_from_civil` /
//! `civil_from_days` algorithms, which are exact for the proleptic Gregorian
//! calendar. Only years 1970–9999 are representable: earlier times clamp to
//! the Unix epoch, later ones to the last second of 9999.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Length of an IMF-fixdate such as `Sun, 06 Nov 1994 08:49:37 GMT`.
pub const HTTP_DATE_LEN: usize = 29;

const DAY_NAMES: [&[u8; 3]; 7] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];
const LONG_DAY_NAMES: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTH_NAMES: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];
const SECS_PER_DAY: u64 = 86_400;
/// 9999-12-31T23:59:59Z, the last instant with a four-digit year.
const MAX_SECS: u64 = 253_402_300_799;

/// Formats `time` as an IMF-fixdate, e.g. `Sun, 27 Jan 2013 18:43:20 GMT`.
///
/// # Tornado
///
/// `httputil.format_timestamp(ts)`.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use tornado::httputil::format_timestamp;
///
/// let t = UNIX_EPOCH + Duration::from_secs(1_359_312_200);
/// assert_eq!(format_timestamp(t), "Sun, 27 Jan 2013 18:43:20 GMT");
/// ```
pub fn format_timestamp(time: SystemTime) -> String {
    let mut buf = [0; HTTP_DATE_LEN];
    write_http_date(time, &mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// Writes `time` as an IMF-fixdate into `out` without allocating.
///
/// This is the formatter behind the per-second `Date` cache
/// (`http1::DateCache`); [`format_timestamp`] is the allocating convenience.
pub fn write_http_date(time: SystemTime, out: &mut [u8; HTTP_DATE_LEN]) {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .min(MAX_SECS);
    let days = secs / SECS_PER_DAY;
    let rem = secs % SECS_PER_DAY;
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday (index 4 with Sunday = 0).
    let weekday = ((days + 4) % 7) as usize;
    let (hour, minute, second) = (rem / 3600, rem / 60 % 60, rem % 60);

    let mut i = 0;
    let mut put = |bytes: &[u8]| {
        for &b in bytes {
            if let Some(slot) = out.get_mut(i) {
                *slot = b;
            }
            i += 1;
        }
    };
    put(DAY_NAMES.get(weekday).map_or(b"Sun", |d| *d));
    put(b", ");
    put(&two_digits(day));
    put(b" ");
    put(MONTH_NAMES
        .get(month.saturating_sub(1) as usize)
        .map_or(b"Jan", |m| *m));
    put(b" ");
    put(&two_digits(year / 100));
    put(&two_digits(year % 100));
    put(b" ");
    put(&two_digits(hour));
    put(b":");
    put(&two_digits(minute));
    put(b":");
    put(&two_digits(second));
    put(b" GMT");
}

/// Parses an HTTP date in any of the three formats RFC 9110 §5.6.7 requires
/// recipients to accept:
///
/// * IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`
/// * obsolete RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT` (two-digit years
///   00–69 are read as 20xx, 70–99 as 19xx)
/// * ANSI C `asctime()`: `Sun Nov  6 08:49:37 1994`
///
/// Returns `None` for anything else, including out-of-range fields and years
/// before 1970. The weekday name must be valid but is not checked against the
/// date, as the RFC's recipients are told to be lenient there.
///
/// # Tornado
///
/// Tornado uses `email.utils.parsedate` for `If-Modified-Since`; this is the
/// strict HTTP subset of it.
pub fn parse_http_date(s: &str) -> Option<SystemTime> {
    let s = s.as_bytes();
    if let Some(rest) = strip_short_day(s).and_then(|r| r.strip_prefix(b", ")) {
        // IMF-fixdate: "06 Nov 1994 08:49:37 GMT"
        let [day, month, year, time, gmt] = split_n::<5>(rest, b' ')?;
        if gmt != b"GMT" || day.len() != 2 || year.len() != 4 {
            return None;
        }
        return to_system_time(number(year)?, month_number(month)?, number(day)?, time);
    }
    if let Some(rest) = strip_long_day(s).and_then(|r| r.strip_prefix(b", ")) {
        // RFC 850: "06-Nov-94 08:49:37 GMT"
        let [date, time, gmt] = split_n::<3>(rest, b' ')?;
        let [day, month, year] = split_n::<3>(date, b'-')?;
        if gmt != b"GMT" || day.len() != 2 || year.len() != 2 {
            return None;
        }
        let year = number(year)?;
        let year = if year < 70 { 2000 + year } else { 1900 + year };
        return to_system_time(year, month_number(month)?, number(day)?, time);
    }
    // asctime: "Nov  6 08:49:37 1994" (day padded with a space to two columns)
    let rest = strip_short_day(s)?.strip_prefix(b" ")?;
    let month = rest.get(..3)?;
    let day = rest.get(4..6)?;
    if rest.get(3) != Some(&b' ') || rest.get(6) != Some(&b' ') {
        return None;
    }
    let [time, year] = split_n::<2>(rest.get(7..)?, b' ')?;
    let day = match day {
        [b' ', d] => std::slice::from_ref(d),
        _ => day,
    };
    if year.len() != 4 {
        return None;
    }
    to_system_time(number(year)?, month_number(month)?, number(day)?, time)
}

fn strip_short_day(s: &[u8]) -> Option<&[u8]> {
    DAY_NAMES.iter().find_map(|d| s.strip_prefix(&d[..]))
}

fn strip_long_day(s: &[u8]) -> Option<&[u8]> {
    LONG_DAY_NAMES
        .iter()
        .find_map(|d| s.strip_prefix(d.as_bytes()))
}

fn month_number(m: &[u8]) -> Option<u64> {
    let index = MONTH_NAMES.iter().position(|name| &name[..] == m)?;
    Some(index as u64 + 1)
}

/// Splits `s` into exactly `N` non-empty pieces separated by single `sep`s.
fn split_n<const N: usize>(s: &[u8], sep: u8) -> Option<[&[u8]; N]> {
    let mut out = [&s[..0]; N];
    let mut pieces = s.split(|&b| b == sep);
    for slot in out.iter_mut() {
        *slot = pieces.next().filter(|p| !p.is_empty())?;
    }
    pieces.next().is_none().then_some(out)
}

/// Parses 1–4 ASCII digits.
fn number(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 4 {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0'))
    })
}

fn to_system_time(year: u64, month: u64, day: u64, time: &[u8]) -> Option<SystemTime> {
    let [h, m, s] = split_n::<3>(time, b':')?;
    if h.len() != 2 || m.len() != 2 || s.len() != 2 {
        return None;
    }
    let (h, m, s) = (number(h)?, number(m)?, number(s)?);
    // Second 60 is a leap second; SystemTime has none, so it is refused.
    if !(1970..=9999).contains(&year) || h > 23 || m > 59 || s > 59 {
        return None;
    }
    if day == 0 || day > days_in_month(year, month)? {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * SECS_PER_DAY + h * 3600 + m * 60 + s;
    Some(UNIX_EPOCH + Duration::from_secs(secs))
}

fn days_in_month(year: u64, month: u64) -> Option<u64> {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    Some(match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    })
}

/// Days since 1970-01-01 of a date in 1970–9999 (Hinnant's `days_from_civil`,
/// specialised to non-negative eras).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `(year, month, day)` of a count of days since 1970-01-01 (Hinnant's
/// `civil_from_days`, specialised to non-negative eras).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

fn two_digits(n: u64) -> [u8; 2] {
    [b'0' + (n / 10 % 10) as u8, b'0' + (n % 10) as u8]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    const KNOWN: &[(u64, &str)] = &[
        (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
        (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT"),
        (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
        (1_359_312_200, "Sun, 27 Jan 2013 18:43:20 GMT"),
        (1_795_622_622, "Wed, 25 Nov 2026 16:03:42 GMT"),
        (4_102_444_799, "Thu, 31 Dec 2099 23:59:59 GMT"),
        (MAX_SECS, "Fri, 31 Dec 9999 23:59:59 GMT"),
    ];

    #[test]
    fn formats_known_instants() {
        for &(secs, text) in KNOWN {
            assert_eq!(format_timestamp(at(secs)), text, "{secs}");
            assert_eq!(parse_http_date(text), Some(at(secs)), "{text}");
        }
    }

    #[test]
    fn clamps_out_of_range_times() {
        assert_eq!(
            format_timestamp(UNIX_EPOCH - Duration::from_secs(1)),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
        assert_eq!(
            format_timestamp(at(MAX_SECS + 10_000_000)),
            "Fri, 31 Dec 9999 23:59:59 GMT"
        );
    }

    #[test]
    fn every_day_round_trips() {
        // Every day from 1970 to 2100, at a time that exercises all fields.
        for day in 0..47_482u64 {
            let t = at(day * SECS_PER_DAY + 3723);
            let text = format_timestamp(t);
            assert_eq!(parse_http_date(&text), Some(t), "{text}");
        }
    }

    #[test]
    fn parses_obsolete_formats() {
        let t = Some(at(784_111_777));
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), t);
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), t);
        assert_eq!(
            parse_http_date("Sun Nov 16 08:49:37 1994"),
            Some(at(784_111_777 + 10 * SECS_PER_DAY))
        );
        assert_eq!(
            parse_http_date("Thursday, 01-Jan-09 00:00:00 GMT"),
            Some(at(1_230_768_000))
        );
    }

    #[test]
    fn rejects_malformed_dates() {
        for bad in [
            "",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 94 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT ",
            "Sun,  06 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:60:00 GMT",
            "Sun, 06 Nov 1994 08:49:60 GMT",
            "Sun, 31 Nov 1994 08:49:37 GMT",
            "Sun, 29 Feb 1900 08:49:37 GMT",
            "Sun, 00 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1969 08:49:37 GMT",
            "Xyz, 06 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 8:49:37 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 06 Nov +994 08:49:37 GMT",
            "Sunday, 06-Nov-1994 08:49:37 GMT",
            "Sun Nov 6 08:49:37 1994",
            "Sun Nov  6 08:49:37 94",
            "Sun Nov  6 08:49:37 1994 ",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad:?}");
        }
    }
}
