//! Signed values: Tornado's `create_signed_value` and `decode_signed_value`,
//! byte for byte, so a ported application reads the signed cookies its
//! Python version set (its users stay logged in) and the other way round.
//!
//! Two formats, as in Tornado:
//! - version 1: `base64(value)|timestamp|hex(HMAC-SHA1(secret, name + base64(value) + timestamp))`;
//! - version 2 (the default): `2|len:key_version|len:timestamp|len:name|len:base64(value)|`
//!   followed by `hex(HMAC-SHA256(secret, everything before it))`.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::{Error, Result};
use crate::escape::hex;

/// The version [`create_signed_value`] writes when given none.
///
/// # Tornado
/// `tornado.web.DEFAULT_SIGNED_VALUE_VERSION`.
pub const DEFAULT_SIGNED_VALUE_VERSION: u8 = 2;

/// The oldest version [`decode_signed_value`] accepts when given no minimum.
///
/// # Tornado
/// `tornado.web.DEFAULT_SIGNED_VALUE_MIN_VERSION`.
pub const DEFAULT_SIGNED_VALUE_MIN_VERSION: u8 = 1;

/// The key that signs values: one secret, or several by key version, so
/// that keys can be rotated (values name the version that signed them; the
/// `key_version` setting picks the one new values are signed with).
///
/// ```
/// use tornado::web::{CookieSecret, Settings};
///
/// let one = Settings { cookie_secret: Some("a long random string".into()), ..Settings::default() };
/// let rotated = Settings {
///     cookie_secret: Some(CookieSecret::from([(0, "old secret"), (1, "new secret")])),
///     key_version: Some(1),
///     ..Settings::default()
/// };
/// # let _ = (one, rotated);
/// ```
///
/// # Tornado
/// The `cookie_secret` setting: a string, or a dict of key version to string.
#[derive(Clone, PartialEq, Eq)]
pub enum CookieSecret {
    /// One secret for every value.
    Key(Vec<u8>),
    /// Secrets by key version (version 2 values only).
    Versioned(BTreeMap<i64, Vec<u8>>),
}

impl CookieSecret {
    /// True if there is no secret to sign with: an empty string or map, which
    /// Tornado's `require_setting` treats as not set.
    pub fn is_empty(&self) -> bool {
        match self {
            CookieSecret::Key(key) => key.is_empty(),
            CookieSecret::Versioned(keys) => keys.is_empty(),
        }
    }
}

impl std::fmt::Debug for CookieSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secrets themselves: settings get logged.
        match self {
            CookieSecret::Key(_) => f.write_str("CookieSecret::Key(<set>)"),
            CookieSecret::Versioned(keys) => f
                .debug_tuple("CookieSecret::Versioned")
                .field(&keys.keys().collect::<Vec<_>>())
                .finish(),
        }
    }
}

impl From<&str> for CookieSecret {
    fn from(key: &str) -> CookieSecret {
        CookieSecret::Key(key.as_bytes().to_vec())
    }
}

impl From<String> for CookieSecret {
    fn from(key: String) -> CookieSecret {
        CookieSecret::Key(key.into_bytes())
    }
}

/// A secret of any bytes, as Tornado's docs recommend (`os.urandom(32)`).
impl From<&[u8]> for CookieSecret {
    fn from(key: &[u8]) -> CookieSecret {
        CookieSecret::Key(key.to_vec())
    }
}

impl From<Vec<u8>> for CookieSecret {
    fn from(key: Vec<u8>) -> CookieSecret {
        CookieSecret::Key(key)
    }
}

/// Versioned secrets, each a string or bytes.
impl<S: AsRef<[u8]>> FromIterator<(i64, S)> for CookieSecret {
    fn from_iter<I: IntoIterator<Item = (i64, S)>>(keys: I) -> CookieSecret {
        let keys = keys.into_iter().map(|(v, k)| (v, k.as_ref().to_vec()));
        CookieSecret::Versioned(keys.collect())
    }
}

impl<S: AsRef<[u8]>, const N: usize> From<[(i64, S); N]> for CookieSecret {
    fn from(keys: [(i64, S); N]) -> CookieSecret {
        keys.into_iter().collect()
    }
}

/// Signs and timestamps `value` (any bytes) under `name`, as of `now`, in
/// `version` 1 or 2 (`None`: [`DEFAULT_SIGNED_VALUE_VERSION`]).
/// `key_version` names the key of a [`CookieSecret::Versioned`] secret.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use tornado::web::{create_signed_value, decode_signed_value};
///
/// let secret = "It's a secret to everybody".into();
/// let at = UNIX_EPOCH + Duration::from_secs(1_300_000_000);
/// let signed = create_signed_value(&secret, "key", "value", None, at, None).unwrap();
/// assert_eq!(
///     signed,
///     "2|1:0|10:1300000000|3:key|8:dmFsdWU=|\
///      3d4e60b996ff9c5d5788e333a0cba6f238a22c6c0f94788870e1a9ecd482e152"
/// );
/// let value = decode_signed_value(&secret, "key", &signed, 31.0, at, None).unwrap();
/// assert_eq!(value.as_deref(), Some(&b"value"[..]));
/// ```
///
/// # Errors
/// A version other than 1 or 2; a versioned secret with version 1, without
/// `key_version`, or without a key of that version.
///
/// # Tornado
/// `tornado.web.create_signed_value(secret, name, value, version=None,
/// clock=None, key_version=None)`; `clock` is `now` here.
pub fn create_signed_value(
    secret: &CookieSecret,
    name: &str,
    value: impl AsRef<[u8]>,
    version: Option<u8>,
    now: SystemTime,
    key_version: Option<i64>,
) -> Result<String> {
    let timestamp = unix_seconds(now).to_string();
    let value = BASE64.encode(value);
    match (version.unwrap_or(DEFAULT_SIGNED_VALUE_VERSION), secret) {
        (1, CookieSecret::Key(key)) => {
            let signature = signature_v1(key, &[name, &value, &timestamp]);
            Ok(format!("{value}|{timestamp}|{signature}"))
        }
        (1, CookieSecret::Versioned(_)) => {
            Err(misuse("Version must be at least 2 for key version support"))
        }
        (2, secret) => {
            let key = match secret {
                CookieSecret::Key(key) => key,
                CookieSecret::Versioned(keys) => key_version
                    .and_then(|version| keys.get(&version))
                    .ok_or_else(|| misuse("Key version must be set when sign key dict is used"))?,
            };
            let mut signed = String::from("2|");
            for field in [
                &key_version.unwrap_or(0).to_string(),
                &timestamp,
                name,
                &value,
            ] {
                // Python's len() of a str: characters, not bytes.
                signed.push_str(&field.chars().count().to_string());
                signed.push(':');
                signed.push_str(field);
                signed.push('|');
            }
            let signature = signature_v2(key, signed.as_bytes());
            signed.push_str(&signature);
            Ok(signed)
        }
        (version, _) => Err(Error::Other(
            format!("Unsupported version {version}").into(),
        )),
    }
}

/// The value `signed` carries if it was signed under `name` with `secret`
/// no more than `max_age_days` before `now`, in a version no older than
/// `min_version` (`None`: [`DEFAULT_SIGNED_VALUE_MIN_VERSION`]); `None`
/// for a value that is forged, tampered with, expired or malformed.
///
/// # Errors
/// A `min_version` past 2.
///
/// # Tornado
/// `tornado.web.decode_signed_value(secret, name, value, max_age_days=31,
/// clock=None, min_version=None)`. A version 1 value checked against a
/// versioned secret is `None` here; Tornado fails an assertion (a 500).
pub fn decode_signed_value(
    secret: &CookieSecret,
    name: &str,
    signed: impl AsRef<[u8]>,
    max_age_days: f64,
    now: SystemTime,
    min_version: Option<u8>,
) -> Result<Option<Vec<u8>>> {
    let min_version = min_version.unwrap_or(DEFAULT_SIGNED_VALUE_MIN_VERSION);
    if min_version > 2 {
        return Err(Error::Other(
            format!("Unsupported min_version {min_version}").into(),
        ));
    }
    let signed = signed.as_ref();
    if signed.is_empty() {
        return Ok(None);
    }
    let version = version_of(signed);
    if version < u32::from(min_version) {
        return Ok(None);
    }
    let now = unix_seconds_f64(now);
    let earliest = now - max_age_days * 86_400.0;
    Ok(match (version, secret) {
        (1, CookieSecret::Key(key)) => decode_v1(key, name, signed, earliest, now),
        (2, secret) => decode_v2(secret, name, signed, earliest),
        _ => None,
    })
}

/// The key version a version 2 value names; `None` for a version 1 value or
/// a malformed one.
///
/// # Tornado
/// `tornado.web.get_signature_key_version(value)`.
pub fn get_signature_key_version(signed: impl AsRef<[u8]>) -> Option<i64> {
    let signed = signed.as_ref();
    if version_of(signed) < 2 {
        return None;
    }
    fields_v2(signed).map(|fields| fields.key_version)
}

/// A version 1 value's payload, if its signature and timestamp check out.
fn decode_v1(key: &[u8], name: &str, signed: &[u8], earliest: f64, now: f64) -> Option<Vec<u8>> {
    let mut parts = signed.split(|&b| b == b'|');
    let (Some(value), Some(timestamp), Some(passed), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let expected = signature_v1_bytes(key, &[name.as_bytes(), value, timestamp]);
    if !constant_time_eq(passed, expected.as_bytes()) {
        log::warn!(target: "tornado.general", "Invalid cookie signature {:?}", lossy(signed));
        return None;
    }
    let timestamp_value = parse_int(timestamp)? as f64;
    if timestamp_value < earliest {
        log::warn!(target: "tornado.general", "Expired cookie {:?}", lossy(signed));
        return None;
    }
    // Version 1 signs no separator between the parts: an attacker could
    // move trailing digits of the payload into the timestamp. Tornado
    // guards with these two checks rather than change the format.
    if timestamp_value > now + 31.0 * 86_400.0 {
        log::warn!(
            target: "tornado.general",
            "Cookie timestamp in future; possible tampering {:?}",
            lossy(signed)
        );
        return None;
    }
    if timestamp.starts_with(b"0") {
        log::warn!(target: "tornado.general", "Tampered cookie {:?}", lossy(signed));
        return None;
    }
    BASE64.decode(value).ok()
}

/// A version 2 value's payload, if its signature, name and timestamp
/// check out.
fn decode_v2(secret: &CookieSecret, name: &str, signed: &[u8], earliest: f64) -> Option<Vec<u8>> {
    let fields = fields_v2(signed)?;
    let key = match secret {
        CookieSecret::Key(key) => key,
        CookieSecret::Versioned(keys) => keys.get(&fields.key_version)?,
    };
    let signed_part = signed.get(..signed.len() - fields.signature.len())?;
    let expected = signature_v2(key, signed_part);
    if !constant_time_eq(fields.signature, expected.as_bytes()) || fields.name != name.as_bytes() {
        return None;
    }
    if (parse_int(fields.timestamp)? as f64) < earliest {
        return None;
    }
    BASE64.decode(fields.value).ok()
}

/// The fields of a version 2 value.
struct FieldsV2<'a> {
    key_version: i64,
    timestamp: &'a [u8],
    name: &'a [u8],
    value: &'a [u8],
    signature: &'a [u8],
}

/// Splits a version 2 value into its length-prefixed fields and the
/// signature after them; `None` if a length does not match its field.
fn fields_v2(signed: &[u8]) -> Option<FieldsV2<'_>> {
    fn field(rest: &[u8]) -> Option<(&[u8], &[u8])> {
        let colon = rest.iter().position(|&b| b == b':')?;
        let length = usize::try_from(parse_int(rest.get(..colon)?)?).ok()?;
        let after = rest.get(colon + 1..)?;
        let value = after.get(..length)?;
        match after.get(length..)? {
            [b'|', rest @ ..] => Some((value, rest)),
            _ => None,
        }
    }
    let rest = signed.get(2..)?;
    let (key_version, rest) = field(rest)?;
    let (timestamp, rest) = field(rest)?;
    let (name, rest) = field(rest)?;
    let (value, signature) = field(rest)?;
    Some(FieldsV2 {
        key_version: parse_int(key_version)?,
        timestamp,
        name,
        value,
        signature,
    })
}

/// The format version of a signed value: its leading number (`1`-`999`,
/// no leading zero) before a `|`; else 1, the format without a version
/// field (whose base64 payload may itself start with digits).
fn version_of(signed: &[u8]) -> u32 {
    let digits = signed.iter().take_while(|b| b.is_ascii_digit()).count();
    let rest = signed.get(digits..).unwrap_or_default();
    // Tornado matches `^([1-9][0-9]*)\|(.*)$`: `.` stops at a line feed,
    // and `$` matches before a final one.
    let rest_is_one_line = match rest.iter().position(|&b| b == b'\n') {
        None => true,
        Some(at) => at + 1 == rest.len(),
    };
    if digits == 0
        || signed.first() == Some(&b'0')
        || rest.first() != Some(&b'|')
        || !rest_is_one_line
    {
        return 1;
    }
    match parse_int(signed.get(..digits).unwrap_or_default()) {
        Some(version @ 1..=999) => version as u32,
        _ => 1,
    }
}

/// A decimal integer with an optional leading `-` (what Tornado writes);
/// `None` for anything else.
fn parse_int(digits: &[u8]) -> Option<i64> {
    std::str::from_utf8(digits)
        .ok()
        .filter(|s| {
            let unsigned = s.strip_prefix('-').unwrap_or(s);
            !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit())
        })?
        .parse()
        .ok()
}

fn signature_v1(key: &[u8], parts: &[&str]) -> String {
    let parts: Vec<&[u8]> = parts.iter().map(|part| part.as_bytes()).collect();
    signature_v1_bytes(key, &parts)
}

/// Lowercase hex of the HMAC-SHA1 of the parts, one after another.
fn signature_v1_bytes(key: &[u8], parts: &[&[u8]]) -> String {
    // HMAC takes a key of any length: `new_from_slice` cannot fail.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(key) else {
        return String::new();
    };
    for part in parts {
        mac.update(part);
    }
    hex(&mac.finalize().into_bytes())
}

/// Lowercase hex of the HMAC-SHA256 of `signed`.
fn signature_v2(key: &[u8], signed: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(signed);
    hex(&mac.finalize().into_bytes())
}

/// Compares without stopping at the first difference, so the time taken
/// does not tell an attacker how much of a forged signature or token was
/// right (Python's `hmac.compare_digest`).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Seconds since the epoch, truncated toward zero, as Python's `int(time.time())`.
fn unix_seconds(now: SystemTime) -> i64 {
    match now.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

fn unix_seconds_f64(now: SystemTime) -> f64 {
    match now.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_secs_f64(),
        Err(before) => -before.duration().as_secs_f64(),
    }
}

fn lossy(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

fn misuse(message: &'static str) -> Error {
    Error::Other(message.into())
}

#[cfg(test)]
mod tests;
