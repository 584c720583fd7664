//! The web layer's parsers of untrusted input, outside the codec: query
//! strings, `%XX` unescaping, form bodies (urlencoded and multipart) and
//! HTTP dates. The first byte picks the parser and its options; the rest is
//! its input. Besides "no panic", it checks that well-formed forms built
//! from the input come back whole (no data lost), that `url_escape` and
//! `url_unescape` are inverses, and that dates round-trip.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use tornado::escape::{url_escape, xhtml_escape};
use tornado::httputil::{
    format_timestamp, parse_body_arguments, parse_http_date, parse_multipart_form_data,
    parse_qs_bytes, url_unescape, Arguments, Files, HTTPHeaders, ParseBodyConfig,
    ParseMultipartConfig, ParseUrlEncodedConfig,
};
use tornado::web::Bytes;

mod reader;
use reader::Reader;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    let flag = selector & 0x10 != 0;
    match selector & 0x0f {
        0 => unescape(input, flag),
        1 => query_string(input, flag),
        2 => body_arguments(selector, input),
        3 => multipart_raw(selector, input),
        4 | 5 => multipart_round_trip(selector, input),
        6 => urlencoded_round_trip(input),
        7 | 8 => http_date(input),
        9 => timestamp_round_trip(input),
        10 => {
            let text = String::from_utf8_lossy(input);
            let escaped = xhtml_escape(&text);
            assert!(!escaped.contains(['<', '>', '"', '\'']));
        }
        _ => query_string(input, flag),
    }
});

fn unescape(input: &[u8], plus: bool) {
    let out = url_unescape(input, plus);
    // Each step consumes one or three bytes and produces one.
    assert!(out.len() <= input.len());
    assert_eq!(out.is_empty(), input.is_empty());
    if !input.iter().any(|&b| b == b'%' || (plus && b == b'+')) {
        assert_eq!(out.as_ref(), input);
    }
    // url_escape is url_unescape's inverse.
    let escaped = url_escape(input, plus);
    assert!(escaped.is_ascii());
    assert_eq!(url_unescape(escaped.as_bytes(), plus).as_ref(), input);
}

fn query_string(input: &[u8], keep_blank_values: bool) {
    let args = parse_qs_bytes(input, keep_blank_values);
    let fields = input.split(|&b| b == b'&').filter(|f| !f.is_empty());
    let count: usize = args.values().map(Vec::len).sum();
    if keep_blank_values {
        // Every non-empty field gives exactly one value.
        assert_eq!(count, fields.count());
    } else {
        assert!(count <= fields.count());
        // Blank values are dropped, and unescaping never empties a value.
        assert!(args.values().flatten().all(|v| !v.is_empty()));
    }
    assert!(args.values().all(|vs| !vs.is_empty()));
}

/// Selector bits to a small multipart configuration.
fn config(selector: u8) -> ParseMultipartConfig {
    if selector & 0x20 == 0 {
        return ParseMultipartConfig::default();
    }
    ParseMultipartConfig {
        enabled: selector & 0xf0 != 0xf0,
        max_parts: 1 + usize::from(selector >> 6) * 2,
        max_part_header_size: 8 + usize::from(selector >> 4 & 3) * 40,
    }
}

/// What a successful multipart parse must satisfy, whatever the input.
fn check_multipart(data: &Bytes, args: &Arguments, files: &Files, config: &ParseMultipartConfig) {
    let mut parts = 0;
    for (name, values) in args {
        assert!(!name.is_empty());
        for value in values {
            assert!(
                value.is_empty() || data.windows(value.len()).any(|w| w == &value[..]),
                "an argument value that is not in the body"
            );
            parts += 1;
        }
    }
    let range = data.as_ptr_range();
    for (name, uploads) in files {
        assert!(!name.is_empty());
        for file in uploads {
            assert!(!file.filename.is_empty());
            // Documented: the file's bytes are a slice of the body.
            let body = file.body.as_ptr_range();
            assert!(
                file.body.is_empty() || (range.start <= body.start && body.end <= range.end),
                "a file body that is not a slice of the request body"
            );
            parts += 1;
        }
    }
    assert!(parts <= config.max_parts);
}

/// Input: a content type (up to the first `\n`), then the body.
fn body_arguments(selector: u8, input: &[u8]) {
    let (content_type, body) = match input.iter().position(|&b| b == b'\n') {
        Some(at) => (&input[..at], &input[at + 1..]),
        None => (input, &b""[..]),
    };
    let content_type = String::from_utf8_lossy(content_type);
    let body = Bytes::copy_from_slice(body);
    let config = config(selector);
    let encoded = selector & 0x10 != 0;
    let mut headers = HTTPHeaders::new();
    headers.add("Content-Type", content_type.as_bytes());
    if encoded {
        headers.add("content-encoding", "gzip");
    }
    let (mut args, mut files) = (Arguments::new(), Files::new());
    let body_config = ParseBodyConfig {
        multipart: config.clone(),
        ..ParseBodyConfig::default()
    };
    let result = parse_body_arguments(
        &content_type,
        &body,
        &mut args,
        &mut files,
        Some(&headers),
        &body_config,
    );
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    let is_multipart = content_type.starts_with("multipart/form-data");
    if let Err(error) = result {
        assert_eq!(error.status_hint(), 400);
        assert!(is_form || is_multipart);
        return;
    }
    assert!(!encoded || !(is_form || is_multipart));
    if is_form {
        assert_eq!(args, parse_qs_bytes(&body, true));
        assert!(files.is_empty());
    } else if is_multipart {
        check_multipart(&body, &args, &files, &config);
    } else {
        assert!(args.is_empty() && files.is_empty());
    }
}

/// Input: the boundary's length, the boundary, then the body.
fn multipart_raw(selector: u8, input: &[u8]) {
    let Some((&len, rest)) = input.split_first() else {
        return;
    };
    let len = usize::from(len % 16).min(rest.len());
    let (boundary, body) = rest.split_at(len);
    let body = Bytes::copy_from_slice(body);
    let config = config(selector);
    let (mut args, mut files) = (Arguments::new(), Files::new());
    match parse_multipart_form_data(boundary, &body, &mut args, &mut files, &config) {
        Ok(()) => check_multipart(&body, &args, &files, &config),
        Err(error) => assert_eq!(error.status_hint(), 400),
    }
}

/// A quoted-string (RFC 9110 §5.6.4) holding `text`.
fn quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Builds a well-formed multipart body from the input (field names and file
/// names as quoted strings or RFC 5987 `filename*=`, values of any bytes
/// without the boundary) and checks that every field comes back.
fn multipart_round_trip(selector: u8, input: &[u8]) {
    const CONTENT_TYPES: [&str; 4] = ["", "text/plain", "application/octet-stream", "image/png"];
    let mut reader = Reader(input);
    // An alphanumeric boundary of 1..=70 characters.
    let Some(boundary) = reader.bytes(70) else {
        return;
    };
    let boundary: String = boundary
        .iter()
        .map(|&b| {
            char::from(
                b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    [usize::from(b) % 62],
            )
        })
        .collect();
    if boundary.is_empty() {
        return;
    }
    // No preamble: as in Tornado (6.5), a non-empty one is an error.
    let mut body = Vec::new();
    let mut expected_args = Arguments::new();
    let mut expected_files: HashMap<String, Vec<(String, Vec<u8>, String)>> = HashMap::new();
    let mut parts = 0;
    while let Some(kind) = reader.byte() {
        let (Some(name), Some(filename), Some(value)) =
            (reader.bytes(40), reader.bytes(40), reader.bytes(255))
        else {
            break;
        };
        // Names and file names: any text without control characters.
        let clean = |s: &[u8]| -> String {
            String::from_utf8_lossy(s)
                .chars()
                .filter(|c| !c.is_control())
                .collect()
        };
        let name = clean(name);
        let filename = if kind & 1 != 0 {
            clean(filename)
        } else {
            String::new()
        };
        if name.is_empty() {
            continue;
        }
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        // Header name spelling and parameter order vary; extra parameters are ignored.
        let disposition = match kind & 0x06 {
            0 => "Content-Disposition",
            2 => "content-disposition",
            4 => "CONTENT-DISPOSITION",
            _ => "Content-disposition",
        };
        let mut header = format!("{disposition}: form-data; name={}", quote(&name));
        if !filename.is_empty() {
            if kind & 0x08 != 0 {
                header.push_str("; filename*=UTF-8''");
                header.push_str(&url_escape(filename.as_bytes(), false));
            } else {
                header.push_str("; filename=");
                header.push_str(&quote(&filename));
            }
        }
        if kind & 0x10 != 0 {
            header.push_str("; x-extra=\"a;b=c\"");
        }
        body.extend_from_slice(header.as_bytes());
        body.extend_from_slice(b"\r\n");
        let content_type = CONTENT_TYPES[usize::from(kind >> 6)];
        if !content_type.is_empty() {
            body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
        if filename.is_empty() {
            expected_args.entry(name).or_default().push(value.to_vec());
        } else {
            let content_type = if content_type.is_empty() {
                "application/unknown"
            } else {
                content_type
            };
            expected_files.entry(name).or_default().push((
                filename,
                value.to_vec(),
                content_type.to_owned(),
            ));
        }
        parts += 1;
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    // An epilogue is ignored.
    if selector & 0x20 != 0 {
        body.extend_from_slice(b"epilogue\r\n\r\n");
    }
    // The boundary must occur only where it was put (values are arbitrary).
    let dash_boundary = format!("--{boundary}");
    // (Alphanumeric, so two occurrences cannot overlap.)
    let occurrences = body
        .windows(dash_boundary.len())
        .filter(|w| *w == dash_boundary.as_bytes())
        .count();
    if occurrences != parts + 1 {
        return;
    }
    let body = Bytes::from(body);
    let content_type = if selector & 0x40 != 0 {
        format!("multipart/form-data; charset=utf-8; boundary=\"{boundary}\"")
    } else {
        format!("multipart/form-data; boundary={boundary}")
    };
    let config = ParseBodyConfig::default();
    let (mut args, mut files) = (Arguments::new(), Files::new());
    let result = parse_body_arguments(&content_type, &body, &mut args, &mut files, None, &config);
    if parts + 1 > config.multipart.max_parts {
        assert!(result.is_err());
        return;
    }
    if let Err(error) = result {
        panic!(
            "a well-formed body was refused ({}): {:?}",
            error.message(),
            String::from_utf8_lossy(&body)
        );
    }
    assert_eq!(args, expected_args, "{:?}", String::from_utf8_lossy(&body));
    let got: HashMap<String, Vec<(String, Vec<u8>, String)>> = files
        .into_iter()
        .map(|(name, uploads)| {
            let uploads = uploads
                .into_iter()
                .map(|f| (f.filename, f.body.to_vec(), f.content_type))
                .collect();
            (name, uploads)
        })
        .collect();
    assert_eq!(got, expected_files, "{:?}", String::from_utf8_lossy(&body));
}

/// Builds `name=value&...` with `url_escape` from the input and checks that
/// `parse_qs_bytes` gives every pair back.
fn urlencoded_round_trip(input: &[u8]) {
    let mut reader = Reader(input);
    let mut qs = Vec::new();
    let mut expected = Arguments::new();
    while let (Some(name), Some(value)) = (reader.bytes(32), reader.bytes(64)) {
        let name = String::from_utf8_lossy(name).into_owned();
        if !qs.is_empty() {
            qs.push(b'&');
        }
        qs.extend_from_slice(url_escape(name.as_bytes(), true).as_bytes());
        qs.push(b'=');
        qs.extend_from_slice(url_escape(value, true).as_bytes());
        expected.entry(name).or_default().push(value.to_vec());
    }
    let qs_str = String::from_utf8_lossy(&qs);
    assert_eq!(parse_qs_bytes(&qs, true), expected, "{qs_str}");
    // Without blank values, only the empty ones are dropped.
    expected
        .values_mut()
        .for_each(|vs| vs.retain(|v| !v.is_empty()));
    expected.retain(|_, vs| !vs.is_empty());
    assert_eq!(parse_qs_bytes(&qs, false), expected, "{qs_str}");
    let body = Bytes::from(qs);
    let (mut args, mut files) = (Arguments::new(), Files::new());
    parse_body_arguments(
        "application/x-www-form-urlencoded; charset=utf-8",
        &body,
        &mut args,
        &mut files,
        None,
        &ParseBodyConfig {
            urlencoded: ParseUrlEncodedConfig {
                max_arguments: usize::MAX,
            },
            ..ParseBodyConfig::default()
        },
    )
    .unwrap();
    assert_eq!(args, parse_qs_bytes(&body, true));
    assert!(files.is_empty());
}

fn http_date(input: &[u8]) {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let Some(time) = parse_http_date(text) else {
        return;
    };
    let formatted = format_timestamp(time);
    assert_eq!(parse_http_date(&formatted), Some(time), "{text:?}");
    // An accepted IMF-fixdate is the canonical form but for the weekday,
    // which is not checked against the date.
    if text.as_bytes().get(3) == Some(&b',') {
        assert_eq!(&text[3..], &formatted[3..], "{text:?}");
    }
}

fn timestamp_round_trip(input: &[u8]) {
    let Some(bytes) = input.first_chunk::<8>() else {
        return;
    };
    // 1970 to 9999.
    let secs = u64::from_le_bytes(*bytes) % 253_402_300_800;
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    let formatted = format_timestamp(time);
    assert_eq!(formatted.len(), tornado::httputil::HTTP_DATE_LEN);
    assert_eq!(parse_http_date(&formatted), Some(time), "{formatted}");
}
