//! Escaping and unescaping: HTML, URLs, JSON.
//!
//! # Tornado
//! `tornado.escape`. [`json_encode`] gives exactly the bytes Tornado's
//! `json_encode` gives (Python's `json.dumps` defaults, then `</` written as
//! `<\/`), so a ported app's JSON responses are byte-for-byte the same.

use std::fmt;
use std::io;

use serde::Serialize;
use serde_json::ser::Formatter;

pub use crate::httputil::url_unescape;

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML text or a quoted attribute.
///
/// # Tornado
/// `tornado.escape.xhtml_escape(value)` (Python's `html.escape`).
pub fn xhtml_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes `value` for a query value (`plus`: spaces become `+`
/// and `/` is escaped) or a URL path (spaces become `%20`, `/` stays).
///
/// # Tornado
/// `tornado.escape.url_escape(value, plus=True)`: Python's `quote_plus`
/// (no safe characters beyond `_.-~`) or, without `plus`, `quote` (which
/// also keeps `/`).
pub fn url_escape(value: &[u8], plus: bool) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(value.len());
    for &b in value {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(char::from(b))
            }
            b'/' if !plus => out.push('/'),
            b' ' if plus => out.push('+'),
            b => {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 15)]));
            }
        }
    }
    out
}

/// Serializes `value` as Tornado's `json_encode` does: `", "` and `": "`
/// separators, non-ASCII as `\uXXXX` escapes (surrogate pairs past U+FFFF),
/// and `</` as `<\/` so the JSON is safe inside a `<script>` element.
///
/// # Errors
/// If `value` cannot be represented in JSON (a map with non-string keys, say).
///
/// ```
/// let json = tornado::escape::json_encode(&serde_json::json!({"a": "é</b>", "n": [1, null]})).unwrap();
/// assert_eq!(json, r#"{"a": "\u00e9<\/b>", "n": [1, null]}"#);
/// ```
///
/// # Tornado
/// `tornado.escape.json_encode(value)`.
pub fn json_encode<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::with_capacity(128);
    json_encode_into(value, &mut out)?;
    // Every byte written is ASCII (non-ASCII is escaped), so this is valid UTF-8.
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// [`json_encode`], appending the bytes to `out` instead of returning them.
pub(crate) fn json_encode_into<T: Serialize + ?Sized>(
    value: &T,
    out: impl io::Write,
) -> serde_json::Result<()> {
    let mut serializer = serde_json::Serializer::with_formatter(out, PythonFormatter);
    value.serialize(&mut serializer)
}

/// `", "` before every array element or object member but the first.
fn item_separator<W: ?Sized + io::Write>(writer: &mut W, first: bool) -> io::Result<()> {
    if first {
        Ok(())
    } else {
        writer.write_all(b", ")
    }
}

/// Python's `json.dumps` defaults: spaced separators and `ensure_ascii`.
struct PythonFormatter;

impl Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        item_separator(writer, first)
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        item_separator(writer, first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        write_python_float(writer, format_args!("{value:e}"))
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        write_python_float(writer, format_args!("{value:e}"))
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // `</` only occurs inside a string, and never across two fragments
        // (serde_json splits a string only at the characters it escapes).
        // Bytes, decoding a char only where one starts: most strings are
        // ASCII, and decoding each char cost as much as serde_json's own pass.
        let bytes = fragment.as_bytes();
        let mut units = [0u16; 2];
        let mut start = 0;
        let mut at = 0;
        while let Some(&b) = bytes.get(at) {
            if b == b'<' && bytes.get(at + 1) == Some(&b'/') {
                writer.write_all(&bytes[start..at])?;
                writer.write_all(b"<\\")?;
                start = at + 1;
                at += 1;
            } else if b.is_ascii() && b != 0x7f {
                at += 1;
            } else {
                // A lead byte (or DEL, which Python escapes too and serde_json
                // does not): `at` is a char boundary of the valid `fragment`.
                let Some(c) = fragment.get(at..).and_then(|rest| rest.chars().next()) else {
                    break;
                };
                writer.write_all(&bytes[start..at])?;
                for unit in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
                at += c.len_utf8();
                start = at;
            }
        }
        writer.write_all(&bytes[start..])
    }
}

/// Writes a finite float as Python's `repr` does, from Rust's shortest
/// round-trip digits in exponent form (`scientific`, `"1.5e-7"`): positional
/// with at least one decimal (`100.0`, `0.0001`) for exponents -5 < e < 16,
/// else `1.5e-07` (a signed exponent of at least two digits).
fn write_python_float<W: ?Sized + io::Write>(
    writer: &mut W,
    scientific: fmt::Arguments<'_>,
) -> io::Result<()> {
    // At most "-d.<16 digits>e-308": formatted on the stack, no allocation.
    let mut text = [0u8; 32];
    let mut cursor = io::Cursor::new(&mut text[..]);
    io::Write::write_fmt(&mut cursor, scientific)?;
    let len = usize::try_from(cursor.position()).unwrap_or(0);
    let text = text.get(..len).unwrap_or_default();
    let (negative, text) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let at = text.iter().position(|&b| b == b'e').unwrap_or(text.len());
    let (mantissa, exponent) = text.split_at(at);
    let exponent = std::str::from_utf8(exponent.get(1..).unwrap_or_default())
        .ok()
        .and_then(|e| e.parse::<i32>().ok())
        .unwrap_or(0);
    let mut digits = [0u8; 24];
    let mut n = 0;
    for &b in mantissa.iter().filter(|b| b.is_ascii_digit()) {
        if let Some(slot) = digits.get_mut(n) {
            *slot = b;
            n += 1;
        }
    }
    let digits = digits.get(..n).unwrap_or_default();
    if negative {
        writer.write_all(b"-")?;
    }
    if (-5 < exponent) && (exponent < 16) {
        // Where the decimal point goes among (or beyond) the digits.
        let point = exponent + 1;
        if point <= 0 {
            writer.write_all(b"0.")?;
            for _ in point..0 {
                writer.write_all(b"0")?;
            }
            return writer.write_all(digits);
        }
        let point = usize::try_from(point).unwrap_or(0);
        match (digits.get(..point), digits.get(point..)) {
            (Some(whole), Some(fraction)) if !fraction.is_empty() => {
                writer.write_all(whole)?;
                writer.write_all(b".")?;
                writer.write_all(fraction)
            }
            _ => {
                writer.write_all(digits)?;
                for _ in digits.len()..point {
                    writer.write_all(b"0")?;
                }
                writer.write_all(b".0")
            }
        }
    } else {
        let (first, rest) = digits.split_at(digits.len().min(1));
        writer.write_all(first)?;
        if !rest.is_empty() {
            writer.write_all(b".")?;
            writer.write_all(rest)?;
        }
        let sign = if exponent < 0 { '-' } else { '+' };
        write!(writer, "e{sign}{:02}", exponent.unsigned_abs())
    }
}

/// `byte` as two lowercase hex digits, from one table (no shifts and
/// masks per digit).
pub(crate) fn hex_pair(byte: u8) -> &'static [u8] {
    const DIGITS: &[u8; 512] = b"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\
        202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f\
        404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f\
        606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f\
        808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f\
        a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf\
        c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf\
        e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
    // At most 510: always within the 512-byte table.
    let at = usize::from(byte) * 2;
    &DIGITS[at..at + 2]
}

/// `bytes` in lowercase hex (Python's `bytes.hex()`, `hexdigest()`).
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        for &digit in hex_pair(byte) {
            out.push(char::from(digit));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_pairs_are_every_byte_in_lowercase_hex() {
        for byte in 0..=255u8 {
            assert_eq!(hex_pair(byte), format!("{byte:02x}").as_bytes(), "{byte}");
        }
    }

    #[test]
    fn hex_is_lowercase_pairs() {
        assert_eq!(hex(&[0, 0xab, 0x10, 0xff]), "00ab10ff");
        assert_eq!(hex(&[]), "");
    }
    use serde_json::json;

    #[test]
    fn json_matches_pythons_bytes() {
        // Expected values printed by Python 3.11's tornado.escape.json_encode.
        let cases = [
            (
                json!({"a": "é</x", "b": [1, 2.5, null, true]}),
                r#"{"a": "\u00e9<\/x", "b": [1, 2.5, null, true]}"#,
            ),
            (json!("😀"), r#""\ud83d\ude00""#),
            (
                json!({"nested": {"k": []}, "s": "tab\tq\"\\"}),
                r#"{"nested": {"k": []}, "s": "tab\tq\"\\"}"#,
            ),
            (json!("\u{1f}"), r#""\u001f""#),
            (json!({"c": "\u{7f}\u{1f}~"}), r#"{"c": "\u007f\u001f~"}"#),
            (
                json!({"</k": "a</b<</c<", "é</": "<"}),
                r#"{"<\/k": "a<\/b<<\/c<", "\u00e9<\/": "<"}"#,
            ),
            // Two-, three- and four-byte characters between ASCII and `</`.
            (
                json!({"x€y</z😀": "€<</ü/<"}),
                r#"{"x\u20acy<\/z\ud83d\ude00": "\u20ac<<\/\u00fc/<"}"#,
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(json_encode(&value).unwrap(), expected);
        }
    }

    #[test]
    fn floats_are_written_as_python_writes_them() {
        // Python 3's json.dumps (float.__repr__) of the same values.
        let cases = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (2.5, "2.5"),
            (-1.5, "-1.5"),
            (100.0, "100.0"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (123456.789, "123456.789"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.2345e100, "1.2345e+100"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (1.0 / 3.0, "0.3333333333333333"),
            (123.0e-10, "1.23e-08"),
        ];
        for (value, python) in cases {
            assert_eq!(json_encode(&value).unwrap(), python, "{value:e}");
        }
        assert_eq!(json_encode(&json!([0.5, 1e-5])).unwrap(), "[0.5, 1e-05]");
        // Not finite: serde_json writes null (Python writes NaN and
        // Infinity, which are not JSON).
        assert_eq!(json_encode(&f64::NAN).unwrap(), "null");
    }

    #[test]
    fn objects_keep_the_order_they_were_written_in() {
        // A Python dict's order, with serde_json's preserve_order.
        let value = json!({"b": 1, "a": {"z": 2, "y": 3}});
        assert_eq!(
            json_encode(&value).unwrap(),
            r#"{"b": 1, "a": {"z": 2, "y": 3}}"#
        );
    }

    #[test]
    fn html_and_url_escaping() {
        assert_eq!(
            xhtml_escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#x27;&amp;&#x27;&lt;/a&gt;"
        );
        assert_eq!(url_escape("a b/c?é".as_bytes(), true), "a+b%2Fc%3F%C3%A9");
        assert_eq!(url_escape(b"a b", false), "a%20b");
        // Python's quote keeps `/`; quote_plus does not.
        assert_eq!(url_escape(b"a/b c?", false), "a/b%20c%3F");
    }
}
