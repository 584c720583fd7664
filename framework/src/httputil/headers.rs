//! `HTTPHeaders`: a case-insensitive, multi-valued, order-preserving header map.
//!
//! Strategy: a flat `Vec` of `(name, value)` field lines, searched linearly. A
//! request carries a few dozen fields at most, so a scan with
//! `eq_ignore_ascii_case` beats hashing, keeps the order the peer sent, and lets
//! the codec hand out names and values as [`Bytes`] slices of its receive
//! buffer: parsing a head allocates one `Vec` and nothing per field.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;

use bytes::Bytes;

/// Most spare header maps kept per thread (see [`spare_header_map`]).
const SPARE_MAPS: usize = 64;

thread_local! {
    /// Cleared header maps of finished requests, each with the capacity of a
    /// typical head, waiting to hold the next head parsed on this thread.
    static SPARE: RefCell<Vec<HTTPHeaders>> = const { RefCell::new(Vec::new()) };
}

/// A cleared header map from this thread's pool of spares, for the codec to
/// parse the next request head into without allocating. The pool is shared
/// by all connections, so an idle connection holds none.
pub(crate) fn spare_header_map() -> Option<HTTPHeaders> {
    SPARE.with(|spare| spare.borrow_mut().pop())
}

/// Gives a header map that is done with to this thread's pool of spares.
pub(crate) fn recycle_header_map(mut headers: HTTPHeaders) {
    if headers.entries.capacity() == 0 {
        return;
    }
    headers.clear();
    SPARE.with(|spare| {
        let mut spare = spare.borrow_mut();
        if spare.len() < SPARE_MAPS {
            spare.push(headers);
        }
    });
}

/// A case-insensitive, multi-valued, order-preserving map of HTTP header fields.
///
/// Each entry is one field line. Names compare ASCII-case-insensitively; they
/// keep the spelling they were added or received with. Values are bytes,
/// because HTTP allows `obs-text` (octets 0x80–0xFF) in field values: the `&str`
/// accessors ([`get`](Self::get), [`get_list`](Self::get_list),
/// [`get_all`](Self::get_all)) see only values that are valid UTF-8, and the
/// `_bytes` accessors see every value.
///
/// # Tornado
///
/// `tornado.httputil.HTTPHeaders`. Differences: names are not rewritten to
/// `Http-Header-Case`; [`len`](Self::len) counts field lines, not distinct
/// names; `headers["X"]` (values joined by `,`) is [`get_joined`](Self::get_joined),
/// while [`get`](Self::get) returns the first value. Names and values are not
/// validated on insertion: the response encoder rejects a name that is not a
/// token and a value containing CR, LF or NUL when it writes them.
///
/// # Examples
///
/// ```
/// use tornado::httputil::HTTPHeaders;
///
/// let mut h = HTTPHeaders::new();
/// h.add("Content-Type", "text/html");
/// h.add("Set-Cookie", "A=B");
/// h.add("set-cookie", "C=D");
/// assert_eq!(h.get("content-type"), Some("text/html"));
/// assert_eq!(h.get_list("SET-COOKIE").collect::<Vec<_>>(), ["A=B", "C=D"]);
/// assert_eq!(h.get_joined("Set-Cookie").as_deref(), Some("A=B,C=D"));
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct HTTPHeaders {
    /// Field lines in the order they were added or received.
    entries: Vec<(Bytes, Bytes)>,
}

impl HTTPHeaders {
    /// Creates an empty map.
    ///
    /// # Tornado
    ///
    /// `HTTPHeaders()`.
    pub fn new() -> HTTPHeaders {
        HTTPHeaders::default()
    }

    /// Creates an empty map with room for `capacity` field lines.
    pub fn with_capacity(capacity: usize) -> HTTPHeaders {
        HTTPHeaders {
            entries: Vec::with_capacity(capacity),
        }
    }

    /// Makes room for at least `additional` more field lines.
    pub fn reserve(&mut self, additional: usize) {
        self.entries.reserve(additional);
    }

    /// Appends a field line, keeping any existing values of the same name.
    ///
    /// `&'static str` literals and `String`s both convert into [`Bytes`]
    /// (literals without copying).
    ///
    /// # Tornado
    ///
    /// `HTTPHeaders.add(name, value)`.
    pub fn add(&mut self, name: impl Into<Bytes>, value: impl Into<Bytes>) {
        self.entries.push((name.into(), value.into()));
    }

    /// Replaces every value of `name` with `value`.
    ///
    /// The new line takes the position of the first existing line with that
    /// name, or goes last if there was none.
    ///
    /// # Tornado
    ///
    /// `headers[name] = value`.
    pub fn set(&mut self, name: impl Into<Bytes>, value: impl Into<Bytes>) {
        let name = name.into();
        let value = value.into();
        let Some(first) = self.position(&name) else {
            self.entries.push((name, value));
            return;
        };
        // Most names have one line: only shift the list when a later one exists.
        let later = first + 1;
        let repeated = self
            .entries
            .get(later..)
            .is_some_and(|rest| rest.iter().any(|(n, _)| names_eq(n, &name)));
        if repeated {
            let mut index = 0;
            self.entries.retain(|(n, _)| {
                let keep = index < later || !names_eq(n, &name);
                index += 1;
                keep
            });
        }
        if let Some(entry) = self.entries.get_mut(first) {
            *entry = (name, value);
        }
    }

    /// Returns the first value of `name`, if there is one and it is UTF-8.
    ///
    /// # Tornado
    ///
    /// `headers.get(name)` for a single-valued field; see
    /// [`get_joined`](Self::get_joined) for the comma-joined form.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_bytes(name)
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Returns the first value of `name` as raw bytes.
    pub fn get_bytes(&self, name: &str) -> Option<&[u8]> {
        self.position(name.as_bytes())
            .and_then(|i| self.entries.get(i))
            .map(|(_, v)| &v[..])
    }

    /// Returns every value of `name` joined with `,`, as Tornado's
    /// `headers[name]` does. Values that are not UTF-8 are left out.
    ///
    /// Borrows when there is exactly one value; allocates only to join several.
    ///
    /// # Tornado
    ///
    /// `headers[name]`.
    pub fn get_joined(&self, name: &str) -> Option<Cow<'_, str>> {
        let mut values = self.get_list(name);
        let first = values.next()?;
        match values.next() {
            None => Some(Cow::Borrowed(first)),
            Some(second) => {
                let mut joined = String::with_capacity(first.len() + second.len() + 1);
                joined.push_str(first);
                for value in std::iter::once(second).chain(values) {
                    joined.push(',');
                    joined.push_str(value);
                }
                Some(Cow::Owned(joined))
            }
        }
    }

    /// Iterates over the UTF-8 values of `name`, in order.
    ///
    /// # Tornado
    ///
    /// `HTTPHeaders.get_list(name)`.
    pub fn get_list<'a: 'n, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a str> + 'n {
        self.get_list_bytes(name)
            .filter_map(|v| std::str::from_utf8(v).ok())
    }

    /// Iterates over every value of `name` as raw bytes, in order.
    pub fn get_list_bytes<'a: 'n, 'n>(
        &'a self,
        name: &'n str,
    ) -> impl Iterator<Item = &'a [u8]> + 'n {
        self.entries
            .iter()
            .filter(move |(n, _)| names_eq(n, name.as_bytes()))
            .map(|(_, v)| &v[..])
    }

    /// Iterates over all `(name, value)` field lines whose name and value are
    /// UTF-8, in order; a name with several values appears several times.
    ///
    /// # Tornado
    ///
    /// `HTTPHeaders.get_all()`.
    pub fn get_all(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.iter()
            .filter_map(|(n, v)| Some((std::str::from_utf8(n).ok()?, std::str::from_utf8(v).ok()?)))
    }

    /// Iterates over all field lines as raw bytes, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.entries.iter().map(|(n, v)| (&n[..], &v[..]))
    }

    /// Removes every value of `name`; returns whether there was any.
    ///
    /// # Tornado
    ///
    /// `del headers[name]`.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.entries.len();
        self.entries.retain(|(n, _)| !names_eq(n, name.as_bytes()));
        self.entries.len() != before
    }

    /// Returns whether `name` has at least one value.
    ///
    /// # Tornado
    ///
    /// `name in headers`.
    pub fn contains(&self, name: &str) -> bool {
        self.position(name.as_bytes()).is_some()
    }

    /// Returns the number of field lines (not of distinct names).
    ///
    /// # Tornado
    ///
    /// `len(headers)` counts distinct names.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Returns whether the map has no field lines.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Removes every field line, keeping the allocation.
    ///
    /// # Tornado
    ///
    /// `HTTPHeaders.clear()`.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Index of the first line named `name`.
    fn position(&self, name: &[u8]) -> Option<usize> {
        self.entries.iter().position(|(n, _)| names_eq(n, name))
    }
}

impl fmt::Debug for HTTPHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.entries
                    .iter()
                    .map(|(n, v)| (String::from_utf8_lossy(n), String::from_utf8_lossy(v))),
            )
            .finish()
    }
}

impl<N: Into<Bytes>, V: Into<Bytes>> FromIterator<(N, V)> for HTTPHeaders {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> HTTPHeaders {
        HTTPHeaders {
            entries: iter
                .into_iter()
                .map(|(n, v)| (n.into(), v.into()))
                .collect(),
        }
    }
}

impl<N: Into<Bytes>, V: Into<Bytes>> Extend<(N, V)> for HTTPHeaders {
    fn extend<I: IntoIterator<Item = (N, V)>>(&mut self, iter: I) {
        self.entries
            .extend(iter.into_iter().map(|(n, v)| (n.into(), v.into())));
    }
}

/// ASCII-case-insensitive equality of two field names (or other tokens).
///
/// Unlike `<[u8]>::eq_ignore_ascii_case` it has no early exit, so the
/// compiler vectorizes it: every header lookup, and every field the codec
/// reads or writes, compares names this way.
pub(crate) fn names_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .fold(0, |diff, (&x, &y)| diff | (ascii_lower(x) ^ ascii_lower(y)))
            == 0
}

/// `b` lowercased if it is an ASCII capital, branch-free.
const fn ascii_lower(b: u8) -> u8 {
    b | (((b.wrapping_sub(b'A') < 26) as u8) << 5)
}

/// Whether `b` is a `tchar` (RFC 9110 §5.6.2), the bytes of a token such as a
/// field name or a method.
pub(crate) fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

/// [`is_tchar`] as a table: one load per byte on the hot path of every
/// header name parsed, set or written.
const TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = matches!(b as u8,
            b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_'
            | b'`' | b'|' | b'~' | b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z');
        b += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_like_eq_ignore_ascii_case() {
        // Every pair of bytes, including those 0x20 apart that are not
        // letters ('@' and '`', '[' and '{'), and bytes past ASCII.
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                assert_eq!(names_eq(&[a], &[b]), a.eq_ignore_ascii_case(&b), "{a} {b}");
            }
        }
        assert!(names_eq(b"Content-Type", b"content-TYPE"));
        assert!(!names_eq(b"Content-Type", b"Content-Typ"));
        assert!(!names_eq(b"Content-Typf", b"Content-Type"));
    }

    fn sample() -> HTTPHeaders {
        [
            ("Host", "example.com"),
            ("Set-Cookie", "a=1"),
            ("Accept", "*/*"),
            ("set-cookie", "b=2"),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn lookups_ignore_ascii_case() {
        let h = sample();
        for name in ["host", "HOST", "Host", "hOsT"] {
            assert_eq!(h.get(name), Some("example.com"));
            assert!(h.contains(name));
        }
        assert_eq!(h.get("missing"), None);
        assert!(!h.contains("hos"));
    }

    #[test]
    fn multiple_values_keep_order() {
        let h = sample();
        assert_eq!(h.get("Set-Cookie"), Some("a=1"));
        assert_eq!(h.get_list("SET-COOKIE").collect::<Vec<_>>(), ["a=1", "b=2"]);
        assert_eq!(h.get_joined("set-cookie").as_deref(), Some("a=1,b=2"));
        assert!(matches!(
            h.get_joined("host"),
            Some(Cow::Borrowed("example.com"))
        ));
        assert_eq!(h.get_joined("nope"), None);
        let names: Vec<_> = h.get_all().map(|(n, _)| n).collect();
        assert_eq!(names, ["Host", "Set-Cookie", "Accept", "set-cookie"]);
        assert_eq!(h.len(), 4);
    }

    #[test]
    fn set_replaces_all_values_in_place_of_the_first() {
        let mut h = sample();
        h.set("SET-COOKIE", "c=3");
        let lines: Vec<_> = h.get_all().collect();
        assert_eq!(
            lines,
            [
                ("Host", "example.com"),
                ("SET-COOKIE", "c=3"),
                ("Accept", "*/*")
            ]
        );
        h.set("X-New", "1");
        assert_eq!(h.get_all().last(), Some(("X-New", "1")));
        // A name with one line is replaced where it stands.
        h.set("host", "other.example");
        assert_eq!(h.get_all().next(), Some(("host", "other.example")));
        assert_eq!(h.len(), 4);
    }

    #[test]
    fn remove_and_clear() {
        let mut h = sample();
        assert!(h.remove("set-cookie"));
        assert!(!h.remove("set-cookie"));
        assert_eq!(h.len(), 2);
        h.clear();
        assert!(h.is_empty());
    }

    #[test]
    fn non_utf8_values_are_only_visible_as_bytes() {
        let mut h = HTTPHeaders::new();
        h.add("X-Latin1", Bytes::from_static(b"caf\xe9"));
        h.add("X-Latin1", "ok");
        assert_eq!(h.get("x-latin1"), None);
        assert_eq!(h.get_bytes("x-latin1"), Some(&b"caf\xe9"[..]));
        assert_eq!(h.get_list("x-latin1").collect::<Vec<_>>(), ["ok"]);
        assert_eq!(h.get_list_bytes("x-latin1").count(), 2);
        assert_eq!(h.get_all().count(), 1);
        assert_eq!(h.iter().count(), 2);
        assert_eq!(
            format!("{h:?}"),
            r#"[("X-Latin1", "caf�"), ("X-Latin1", "ok")]"#
        );
    }

    #[test]
    fn extend_appends() {
        let mut h = HTTPHeaders::with_capacity(2);
        h.extend([("A", "1"), ("B", "2")]);
        h.extend(vec![(String::from("a"), String::from("3"))]);
        assert_eq!(h.get_joined("A").as_deref(), Some("1,3"));
    }
}
