//! `HTTPHeaders`: a case-insensitive, multi-valued, order-preserving header map.
//!
//! Strategy: the field lines back to back in one byte buffer, with each
//! line's offsets in a `Vec`, searched linearly. A request carries a few
//! dozen fields at most, so a scan beats hashing and keeps the order the
//! peer sent. One buffer instead of a `Bytes` per name and value means no
//! reference count to take or drop per field (parsing a head copies its
//! field block once), clearing is two truncations, and a map built with
//! `add`/`set` already is its encoded header block: writing a response head
//! copies it in one go.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::ops::Range;

use super::field_name::{classify, FieldName};
use crate::pool::{self, Pool};

/// Most spare header maps kept per thread (see [`spare_header_map`]).
const SPARE_MAPS: usize = 64;

/// A spare map whose buffer grew past this (a huge head) is freed, not kept.
const SPARE_MAX_BYTES: usize = 16 * 1024;

/// Nor is one with room for more lines than this.
const SPARE_MAX_LINES: usize = 128;

thread_local! {
    /// Cleared header maps of finished requests, each with the capacity of a
    /// typical head, waiting to hold the next head parsed on this thread.
    static SPARE: Pool<HTTPHeaders> = const { RefCell::new(Vec::new()) };
}

/// A cleared header map from this thread's pool of spares, for the codec to
/// parse the next request head into without allocating. The pool is shared
/// by all connections, so an idle connection holds none.
pub(crate) fn spare_header_map() -> Option<HTTPHeaders> {
    pool::take(&SPARE)
}

/// Gives a header map that is done with to this thread's pool of spares.
pub(crate) fn recycle_header_map(mut headers: HTTPHeaders) {
    let Some(lines) = headers.lines.as_ref() else {
        return;
    };
    if lines.fields.capacity() == 0
        || lines.fields.capacity() > SPARE_MAX_LINES
        || lines.buf.capacity() > SPARE_MAX_BYTES
    {
        return;
    }
    headers.clear();
    pool::give_back(&SPARE, headers, SPARE_MAPS);
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
#[derive(Default)]
pub struct HTTPHeaders {
    /// The lines, boxed so that a map (and a request head holding one) stays
    /// pointer-sized; `None` until the first line (a new map allocates nothing).
    lines: Option<Box<Lines>>,
}

/// The field lines of an [`HTTPHeaders`] and where each one is.
#[derive(Default)]
struct Lines {
    /// The field lines, back to back. Lines added here read
    /// `name: value\r\n`; lines copied from a received head keep the
    /// peer's spacing.
    buf: Vec<u8>,
    /// Each line's place in `buf`, in the order added or received.
    fields: Vec<Field>,
    /// Some line was copied from a received head: `buf` is not in the form
    /// a response head is written in.
    received: bool,
}

/// The lines of a map that has none.
static NO_LINES: Lines = Lines {
    buf: Vec::new(),
    fields: Vec::new(),
    received: false,
};

/// One field line's offsets in [`Lines::buf`]: `start..name_end` is
/// the name, `value..value_end` the value, and the line ends at `end`;
/// `known` is the name if it is one looked up often.
#[derive(Clone, Copy, Debug)]
struct Field {
    known: FieldName,
    start: usize,
    name_end: usize,
    value: usize,
    value_end: usize,
    end: usize,
}

impl Field {
    fn shifted(self, by: isize) -> Field {
        let at = |offset: usize| offset.wrapping_add_signed(by);
        Field {
            known: self.known,
            start: at(self.start),
            name_end: at(self.name_end),
            value: at(self.value),
            value_end: at(self.value_end),
            end: at(self.end),
        }
    }
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
            lines: Some(Box::new(Lines::with_capacity(capacity))),
        }
    }

    fn lines(&self) -> &Lines {
        self.lines.as_deref().unwrap_or(&NO_LINES)
    }

    fn lines_mut(&mut self) -> &mut Lines {
        self.lines.get_or_insert_with(Box::default)
    }

    /// Makes room for at least `additional` more field lines.
    pub fn reserve(&mut self, additional: usize) {
        self.lines_mut().reserve(additional);
    }

    /// Appends a field line, keeping any existing values of the same name.
    ///
    /// # Tornado
    ///
    /// `HTTPHeaders.add(name, value)`.
    pub fn add(&mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        let name = name.as_ref();
        self.add_named(classify(name), name, value.as_ref());
    }

    /// [`add`](Self::add) of a name [`classify`] found `known`.
    pub(crate) fn add_named(&mut self, known: FieldName, name: &[u8], value: &[u8]) {
        self.lines_mut().add_named(known, name, value);
    }

    /// Replaces every value of `name` with `value`.
    ///
    /// The new line takes the position of the first existing line with that
    /// name, or goes last if there was none.
    ///
    /// # Tornado
    ///
    /// `headers[name] = value`.
    pub fn set(&mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        let name = name.as_ref();
        self.set_named(classify(name), name, value.as_ref());
    }

    /// [`set`](Self::set) of a name [`classify`] found `known`.
    pub(crate) fn set_named(&mut self, known: FieldName, name: &[u8], value: &[u8]) {
        self.lines_mut().set_named(known, name, value);
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
        let lines = self.lines();
        lines
            .position(name.as_bytes())
            .and_then(|i| lines.fields.get(i))
            .map(|f| lines.value(f))
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
        self.iter()
            .filter(move |(n, _)| names_eq(n, name.as_bytes()))
            .map(|(_, v)| v)
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
        self.lines().iter()
    }

    /// Removes every value of `name`; returns whether there was any.
    ///
    /// # Tornado
    ///
    /// `del headers[name]`.
    pub fn remove(&mut self, name: &str) -> bool {
        self.lines.as_mut().is_some_and(|lines| lines.remove(name))
    }

    /// Returns whether `name` has at least one value.
    ///
    /// # Tornado
    ///
    /// `name in headers`.
    pub fn contains(&self, name: &str) -> bool {
        self.lines().position(name.as_bytes()).is_some()
    }

    /// Returns the number of field lines (not of distinct names).
    ///
    /// # Tornado
    ///
    /// `len(headers)` counts distinct names.
    pub fn len(&self) -> usize {
        self.lines().fields.len()
    }

    /// Keeps the first `len` field lines and removes the rest.
    pub(crate) fn truncate(&mut self, len: usize) {
        if let Some(lines) = self.lines.as_mut() {
            lines.remove_lines(|index, _, _| index >= len);
        }
    }

    /// Returns whether the map has no field lines.
    pub fn is_empty(&self) -> bool {
        self.lines().fields.is_empty()
    }

    /// Removes every field line, keeping the allocation.
    ///
    /// # Tornado
    ///
    /// `HTTPHeaders.clear()`.
    pub fn clear(&mut self) {
        if let Some(lines) = self.lines.as_mut() {
            lines.clear();
        }
    }

    /// The bytes the lines' buffer holds room for.
    pub(crate) fn buffer_capacity(&self) -> usize {
        self.lines().buf.capacity()
    }

    /// The lines as a response head's header block (`name: value\r\n`
    /// each), if every line was added here rather than received.
    pub(crate) fn encoded(&self) -> Option<&[u8]> {
        self.lines().encoded()
    }

    /// Appends the fields of a received head: `block` holds their lines,
    /// and each `(name, value)` is where one field's name and value are in
    /// it. The block is copied once; a field outside it is skipped.
    pub(crate) fn extend_received(
        &mut self,
        block: &[u8],
        fields: impl Iterator<Item = (Range<usize>, Range<usize>)>,
    ) {
        self.lines_mut().extend_received(block, fields);
    }

    /// The first value of a known name (not `Other`).
    pub(crate) fn get_known(&self, known: FieldName) -> Option<&[u8]> {
        self.lines().get_known(known)
    }

    /// Writes `value` over the first value of `known` (not `Other`) if it
    /// is as long, leaving every other line as it is; `false` (and nothing
    /// changed) otherwise.
    pub(crate) fn overwrite_known(&mut self, known: FieldName, value: &[u8]) -> bool {
        match self.lines.as_mut() {
            Some(lines) => lines.overwrite_known(known, value),
            None => false,
        }
    }

    /// Every line's recognized name and value, in order.
    pub(crate) fn iter_known(&self) -> impl Iterator<Item = (FieldName, &[u8])> + '_ {
        self.lines().iter_known()
    }
}

impl Lines {
    /// Creates an empty map with room for `capacity` field lines.
    pub fn with_capacity(capacity: usize) -> Lines {
        Lines {
            buf: Vec::with_capacity(capacity * 32),
            fields: Vec::with_capacity(capacity),
            received: false,
        }
    }

    /// Makes room for at least `additional` more field lines.
    pub fn reserve(&mut self, additional: usize) {
        self.fields.reserve(additional);
    }

    /// [`HTTPHeaders::add`] of a name [`classify`] found `known`.
    pub(crate) fn add_named(&mut self, known: FieldName, name: &[u8], value: &[u8]) {
        debug_assert_eq!(known, classify(name));
        let start = self.buf.len();
        self.buf
            .reserve(name.len() + value.len() + LINE_PUNCTUATION);
        self.buf.extend_from_slice(name);
        self.buf.extend_from_slice(b": ");
        self.buf.extend_from_slice(value);
        self.buf.extend_from_slice(b"\r\n");
        self.fields
            .push(line_at(start, name.len(), value.len(), known));
    }

    /// [`HTTPHeaders::set`] of a name [`classify`] found `known`.
    pub(crate) fn set_named(&mut self, known: FieldName, name: &[u8], value: &[u8]) {
        let Some(first) = self
            .fields
            .iter()
            .position(|f| self.is_named(f, name, known))
        else {
            self.add_named(known, name, value);
            return;
        };
        // Later lines of the name go first, so `first` keeps its index.
        self.remove_lines(|index, lines, field| {
            index > first && lines.is_named(field, name, known)
        });
        let Some(&old) = self.fields.get(first) else {
            return;
        };
        let len = name.len() + value.len() + LINE_PUNCTUATION;
        let line = self.resize_range(old.start..old.end, len);
        let mut written = 0;
        for part in [name, b": ", value, b"\r\n"] {
            if let Some(to) = line.get_mut(written..written + part.len()) {
                to.copy_from_slice(part);
            }
            written += part.len();
        }
        if let Some(field) = self.fields.get_mut(first) {
            *field = line_at(old.start, name.len(), value.len(), known);
        }
    }

    /// Iterates over all field lines as raw bytes, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.fields
            .iter()
            .map(|f| (slice(&self.buf, f.start..f.name_end), self.value(f)))
    }

    /// Removes every value of `name`; returns whether there was any.
    ///
    /// # Tornado
    ///
    /// `del headers[name]`.
    pub fn remove(&mut self, name: &str) -> bool {
        let (name, known) = (name.as_bytes(), classify(name.as_bytes()));
        self.remove_lines(|_, lines, field| lines.is_named(field, name, known))
    }

    /// Removes every field line, keeping the allocation.
    ///
    /// # Tornado
    ///
    /// `HTTPHeaders.clear()`.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.fields.clear();
        self.received = false;
    }

    /// The lines as a response head's header block (`name: value\r\n`
    /// each), if every line was added here rather than received.
    pub(crate) fn encoded(&self) -> Option<&[u8]> {
        (!self.received).then_some(&self.buf[..])
    }

    /// See [`HTTPHeaders::extend_received`].
    fn extend_received(
        &mut self,
        block: &[u8],
        fields: impl Iterator<Item = (Range<usize>, Range<usize>)>,
    ) {
        let base = self.buf.len();
        self.buf.extend_from_slice(block);
        self.received = true;
        let within = |range: &Range<usize>| range.start <= range.end && range.end <= block.len();
        for (name, value) in fields {
            if !within(&name) || !within(&value) {
                continue;
            }
            let start = base + name.start;
            if let Some(last) = self.fields.last_mut() {
                last.end = start;
            }
            self.fields.push(Field {
                known: classify(slice(&self.buf, start..base + name.end)),
                start,
                name_end: base + name.end,
                value: base + value.start,
                value_end: base + value.end,
                end: self.buf.len(),
            });
        }
    }

    /// Index of the first line named `name`.
    fn position(&self, name: &[u8]) -> Option<usize> {
        let known = classify(name);
        self.fields
            .iter()
            .position(|f| self.is_named(f, name, known))
    }

    /// Whether `field` is named `name`, which [`classify`] found `known`:
    /// a known name compares as one byte; other names never match a line
    /// with a known name.
    #[inline]
    fn is_named(&self, field: &Field, name: &[u8], known: FieldName) -> bool {
        field.known == known
            && (known != FieldName::Other
                || names_eq(slice(&self.buf, field.start..field.name_end), name))
    }

    /// The first value of a known name (not `Other`).
    pub(crate) fn get_known(&self, known: FieldName) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|f| f.known == known)
            .map(|f| self.value(f))
    }

    /// Every line's recognized name and value, in order.
    pub(crate) fn iter_known(&self) -> impl Iterator<Item = (FieldName, &[u8])> + '_ {
        self.fields.iter().map(|f| (f.known, self.value(f)))
    }

    /// See [`HTTPHeaders::overwrite_known`].
    fn overwrite_known(&mut self, known: FieldName, value: &[u8]) -> bool {
        let Some(field) = self.fields.iter().find(|f| f.known == known) else {
            return false;
        };
        match self.buf.get_mut(field.value..field.value_end) {
            Some(old) if old.len() == value.len() => {
                old.copy_from_slice(value);
                true
            }
            _ => false,
        }
    }

    fn value(&self, field: &Field) -> &[u8] {
        slice(&self.buf, field.value..field.value_end)
    }

    /// Removes the lines `doomed(index, self, line)` picks, in one pass over
    /// the buffer (however many there are); returns whether there were any.
    fn remove_lines(&mut self, doomed: impl Fn(usize, &Lines, &Field) -> bool) -> bool {
        // Lines before the first doomed one stay where they are.
        let Some(first) = (0..self.fields.len()).find(|&index| {
            self.fields
                .get(index)
                .is_some_and(|f| doomed(index, self, f))
        }) else {
            return false;
        };
        let mut kept = first;
        let mut to = self.fields.get(first).map_or(0, |f| f.start);
        for index in first + 1..self.fields.len() {
            let Some(&line) = self.fields.get(index) else {
                break;
            };
            if doomed(index, self, &line) {
                continue;
            }
            // Lines are back to back: moving a kept one down closes the gap.
            self.buf.copy_within(line.start..line.end, to);
            let moved = line.shifted(to as isize - line.start as isize);
            to = moved.end;
            if let Some(slot) = self.fields.get_mut(kept) {
                *slot = moved;
            }
            kept += 1;
        }
        self.fields.truncate(kept);
        self.buf.truncate(to);
        true
    }

    /// Makes `range` of the buffer `len` bytes long, moving what follows
    /// (and the later lines' offsets), and returns it to be written.
    fn resize_range(&mut self, range: Range<usize>, len: usize) -> &mut [u8] {
        let Range { start, end } = range;
        let old_len = self.buf.len();
        let tail = end..old_len;
        let new_end = start + len;
        if new_end > end {
            self.buf.resize(old_len + (new_end - end), 0);
        }
        self.buf.copy_within(tail, new_end);
        self.buf.truncate(old_len + new_end - end);
        let by = new_end as isize - end as isize;
        for field in self.fields.iter_mut().filter(|f| f.start >= end) {
            *field = field.shifted(by);
        }
        self.buf.get_mut(start..new_end).unwrap_or_default()
    }
}

/// The bytes of a line besides its name and value: `": "` and CRLF.
const LINE_PUNCTUATION: usize = 4;

/// The offsets of a `name: value\r\n` line written at `start`.
fn line_at(start: usize, name_len: usize, value_len: usize, known: FieldName) -> Field {
    let name_end = start + name_len;
    let value = name_end + 2;
    let value_end = value + value_len;
    Field {
        known,
        start,
        name_end,
        value,
        value_end,
        end: value_end + 2,
    }
}

/// `buf[range]`, empty if the range is out of bounds (never, by construction).
fn slice(buf: &[u8], range: Range<usize>) -> &[u8] {
    buf.get(range).unwrap_or_default()
}

impl Clone for Lines {
    fn clone(&self) -> Lines {
        Lines {
            buf: self.buf.clone(),
            fields: self.fields.clone(),
            received: self.received,
        }
    }

    /// Copies `source` into this map's buffers, reusing their capacity.
    fn clone_from(&mut self, source: &Lines) {
        self.buf.clone_from(&source.buf);
        self.fields.clone_from(&source.fields);
        self.received = source.received;
    }
}

impl Clone for HTTPHeaders {
    fn clone(&self) -> HTTPHeaders {
        HTTPHeaders {
            lines: self.lines.clone(),
        }
    }

    /// Copies `source` into this map, reusing its buffers.
    fn clone_from(&mut self, source: &HTTPHeaders) {
        self.lines.clone_from(&source.lines);
    }
}

impl PartialEq for HTTPHeaders {
    fn eq(&self, other: &HTTPHeaders) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for HTTPHeaders {}

impl fmt::Debug for HTTPHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.iter()
                    .map(|(n, v)| (String::from_utf8_lossy(n), String::from_utf8_lossy(v))),
            )
            .finish()
    }
}

impl<N: AsRef<[u8]>, V: AsRef<[u8]>> FromIterator<(N, V)> for HTTPHeaders {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> HTTPHeaders {
        let mut headers = HTTPHeaders::new();
        headers.extend(iter);
        headers
    }
}

impl<N: AsRef<[u8]>, V: AsRef<[u8]>> Extend<(N, V)> for HTTPHeaders {
    fn extend<I: IntoIterator<Item = (N, V)>>(&mut self, iter: I) {
        for (name, value) in iter {
            self.add(name, value);
        }
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
        // Every length through three words, every position, and bytes that
        // differ by case, by 0x20 without being letters, or by one.
        for len in 1..=24 {
            for at in 0..len {
                for a in 0..=255u8 {
                    for b in [a, a ^ 0x20, a.wrapping_add(1), a ^ 0x80] {
                        let mut x = b"Access-Control-Allow-Ori".to_vec();
                        x.truncate(len);
                        let mut y = x.to_ascii_uppercase();
                        x[at] = a;
                        y[at] = b;
                        assert_eq!(names_eq(&x, &y), x.eq_ignore_ascii_case(&y), "{x:?} {y:?}");
                    }
                }
            }
        }
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
    fn overwrite_known_replaces_only_a_first_value_of_the_same_length() {
        let mut h: HTTPHeaders = [
            ("Host", "a.example"),
            ("Accept", "*/*"),
            ("Host", "b.example"),
        ]
        .into_iter()
        .collect();
        assert!(h.overwrite_known(FieldName::Host, b"c.example"));
        assert_eq!(
            h.get_list("Host").collect::<Vec<_>>(),
            ["c.example", "b.example"]
        );
        assert!(
            !h.overwrite_known(FieldName::Host, b"longer.example"),
            "other length"
        );
        assert!(!h.overwrite_known(FieldName::Date, b"c.example"), "absent");
        assert!(
            !HTTPHeaders::new().overwrite_known(FieldName::Host, b"x"),
            "empty map"
        );
        let lines: Vec<_> = h.get_all().collect();
        assert_eq!(
            lines,
            [
                ("Host", "c.example"),
                ("Accept", "*/*"),
                ("Host", "b.example")
            ]
        );
        assert_eq!(
            h.encoded(),
            Some(&b"Host: c.example\r\nAccept: */*\r\nHost: b.example\r\n"[..])
        );
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
        h.add("X-Latin1", b"caf\xe9");
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

    /// The lines as a response head writes them, one by one.
    fn lines_of(h: &HTTPHeaders) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, value) in h.iter() {
            out.extend_from_slice(name);
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    proptest::proptest! {
        /// Any sequence of adds, sets and removes leaves the same lines as a
        /// plain list would, and the encoded block is exactly those lines:
        /// the in-place edits move later lines' offsets correctly.
        #[test]
        fn edits_match_a_plain_list_and_the_encoded_block(
            ops in proptest::collection::vec((0..3u8, 0..4usize, "[a-z]{0,12}"), 0..40),
            received in proptest::bool::ANY,
        ) {
            const NAMES: [&str; 4] = ["Content-Type", "x-a", "X-A", "Set-Cookie"];
            let mut h = HTTPHeaders::new();
            let mut model: Vec<(String, String)> = Vec::new();
            if received {
                let head = b"Host: example.com\r\nX-A:  spaced \r\n\r\n";
                let fields = [(0..4, 6..17), (19..22, 25..31)];
                h.extend_received(&head[..], fields.into_iter());
                model.push(("Host".into(), "example.com".into()));
                model.push(("X-A".into(), "spaced".into()));
                proptest::prop_assert_eq!(h.encoded(), None);
            }
            for (op, name, value) in ops {
                let name = NAMES[name];
                let same = |n: &String| n.eq_ignore_ascii_case(name);
                match op {
                    0 => {
                        h.add(name, &value);
                        model.push((name.into(), value));
                    }
                    1 => {
                        h.set(name, &value);
                        match model.iter().position(|(n, _)| same(n)) {
                            Some(first) => {
                                model[first] = (name.into(), value);
                                let mut index = 0;
                                model.retain(|(n, _)| {
                                    index += 1;
                                    index - 1 <= first || !same(n)
                                });
                            }
                            None => model.push((name.into(), value)),
                        }
                    }
                    _ => {
                        let had = model.iter().any(|(n, _)| same(n));
                        proptest::prop_assert_eq!(h.remove(name), had);
                        model.retain(|(n, _)| !same(n));
                    }
                }
                let lines: Vec<(&[u8], &[u8])> = h.iter().collect();
                let expected: Vec<(&[u8], &[u8])> =
                    model.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())).collect();
                proptest::prop_assert_eq!(lines, expected);
            }
            if !received {
                proptest::prop_assert_eq!(h.encoded(), Some(&lines_of(&h)[..]));
            }
            let rebuilt: HTTPHeaders = model.iter().map(|(n, v)| (n, v)).collect();
            proptest::prop_assert_eq!(&h, &rebuilt);
        }
    }

    #[test]
    fn received_lines_keep_their_values_and_can_be_edited() {
        let head = b"Host: a\r\nCookie:x=1\r\nAccept: */*\r\n\r\n";
        let fields = [(0..4, 6..7), (9..15, 16..19), (21..27, 29..32)];
        let mut h = HTTPHeaders::new();
        h.extend_received(&head[..], fields.into_iter());
        assert_eq!(h.get("cookie"), Some("x=1"));
        assert_eq!(h.get("accept"), Some("*/*"));
        h.set("Cookie", "longer=value");
        assert!(h.remove("host"));
        assert_eq!(
            h.get_all().collect::<Vec<_>>(),
            [("Cookie", "longer=value"), ("Accept", "*/*")]
        );
        // A field that is not within the block is skipped, not misread.
        let mut other = HTTPHeaders::new();
        other.extend_received(&head[..], [(100..109, 111..112)].into_iter());
        assert!(other.is_empty());
    }

    #[test]
    fn spare_maps_are_kept_cleared_and_only_if_small() {
        let mut small = HTTPHeaders::new();
        small.add("Host", "a");
        recycle_header_map(small);
        let reused = spare_header_map();
        assert!(reused.as_ref().is_some_and(HTTPHeaders::is_empty));
        assert!(reused.is_some_and(|map| map.buffer_capacity() > 0));

        let mut large = HTTPHeaders::new();
        large.add("X-Big", vec![b'x'; SPARE_MAX_BYTES + 1]);
        recycle_header_map(large);
        let mut many = HTTPHeaders::new();
        for _ in 0..=SPARE_MAX_LINES {
            many.add("X", "1");
        }
        recycle_header_map(many);
        recycle_header_map(HTTPHeaders::new()); // never held a line
        assert!(spare_header_map().is_none());
    }

    #[test]
    fn a_map_is_pointer_sized_and_empty_until_its_first_line() {
        // An idle connection's task holds request heads, and so maps, in
        // several states: their size is part of its memory.
        assert_eq!(
            std::mem::size_of::<HTTPHeaders>(),
            std::mem::size_of::<usize>()
        );
        let mut h = HTTPHeaders::new();
        assert_eq!(h.buffer_capacity(), 0);
        assert!(!h.remove("x") && h.is_empty() && h.get("x").is_none());
        h.clear();
        assert!(h.lines.is_none());
    }
}
