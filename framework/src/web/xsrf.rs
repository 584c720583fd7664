//! Cross-site request forgery protection: Tornado's `xsrf_cookies` (a
//! token in a cookie that each unsafe request must repeat) and its
//! `cross_origin_protection` (unsafe requests from other origins refused
//! by `Sec-Fetch-Site` and `Origin`), checked before `prepare`.

use std::time::{SystemTime, UNIX_EPOCH};

use super::signed_value::constant_time_eq;
use super::static_file::python_int;
use super::urls::urlsplit_scheme_netloc;
use super::{Error, HTTPError, Handler, RequestHandler, Result};
use crate::escape::{hex, xhtml_escape};

/// The cookie holding the token unless the `xsrf_cookie_name` setting
/// names another, and the argument that repeats it.
const XSRF_NAME: &str = "_xsrf";

/// One request's XSRF token, once read or made.
#[derive(Debug, Default)]
pub(crate) struct XsrfState {
    /// The raw token and whether it came from the request's cookie.
    raw: Option<RawToken>,
    /// The token as sent in forms and the cookie (masked in version 2).
    token: Option<String>,
}

#[derive(Debug)]
struct RawToken {
    /// The format of the cookie it was read from; `None` for a token made
    /// by this request.
    version: Option<u8>,
    bytes: Vec<u8>,
    timestamp: i64,
}

impl Handler {
    /// The XSRF token for this user, to send back with every unsafe
    /// request (a `POST` form's `_xsrf` field, or an `X-XSRFToken` header).
    /// The first call in a request without the `_xsrf` cookie makes a
    /// random token and sets the cookie (for 30 days when a user is logged
    /// in). Each call in a new request masks the token with new random
    /// bytes, so pages that repeat it compress to nothing an attacker can
    /// use (BREACH).
    ///
    /// # Errors
    /// An `xsrf_cookie_version` setting other than 1 or 2; the system's
    /// random source failing; what `get_current_user` returned as an error.
    ///
    /// # Tornado
    /// `RequestHandler.xsrf_token` (bytes there, ASCII in either case).
    pub fn xsrf_token(&mut self) -> Result<String> {
        if let Some(token) = self.xsrf.token.clone() {
            return Ok(token);
        }
        let (version, bytes, timestamp) = {
            let raw = self.raw_xsrf_token()?;
            (raw.version, raw.bytes.clone(), raw.timestamp)
        };
        let token = match self.settings().xsrf_cookie_version.unwrap_or(2) {
            1 => hex(&bytes),
            2 => {
                let mut mask = [0; 4];
                getrandom::fill(&mut mask).map_err(random_failed)?;
                format!(
                    "2|{}|{}|{timestamp}",
                    hex(&mask),
                    hex(&apply_mask(&mask, &bytes))
                )
            }
            other => {
                return Err(Error::Other(
                    format!("unknown xsrf cookie version {other}").into(),
                ))
            }
        };
        if version.is_none() {
            let mut options = self
                .settings()
                .xsrf_cookie_kwargs
                .clone()
                .unwrap_or_default();
            if options.expires_days.is_none() && self.current_user()?.is_some_and(|u| !u.is_empty())
            {
                options.expires_days = Some(30.0);
            }
            let name = self.xsrf_cookie_name().to_owned();
            self.set_cookie_with(&name, &token, &options)?;
        }
        self.xsrf.token = Some(token.clone());
        Ok(token)
    }

    /// A hidden form field carrying [`xsrf_token`](Handler::xsrf_token), for
    /// every `POST` form of an application with the `xsrf_cookies` setting.
    ///
    /// # Errors
    /// As `xsrf_token`.
    ///
    /// # Tornado
    /// `RequestHandler.xsrf_form_html()`.
    pub fn xsrf_form_html(&mut self) -> Result<String> {
        let token = self.xsrf_token()?;
        Ok(format!(
            "<input type=\"hidden\" name=\"{XSRF_NAME}\" value=\"{}\"/>",
            xhtml_escape(&token)
        ))
    }

    /// Checks that the request repeats the token of its `_xsrf` cookie in
    /// a `_xsrf` argument or an `X-XSRFToken` (or `X-CSRFToken`) header.
    /// The framework calls it (through the handler's
    /// [`check_xsrf_cookie`](RequestHandler::check_xsrf_cookie)) before
    /// `prepare` for every request but `GET`, `HEAD` and `OPTIONS` when the
    /// `xsrf_cookies` setting is on.
    ///
    /// # Errors
    /// 403 if the token is missing, malformed, or not the cookie's.
    ///
    /// # Tornado
    /// `RequestHandler.check_xsrf_cookie()`.
    pub fn check_xsrf_cookie(&mut self) -> Result {
        let argument = self.get_argument(XSRF_NAME).ok().filter(|a| !a.is_empty());
        let input = argument.or_else(|| {
            ["X-Xsrftoken", "X-Csrftoken"].iter().find_map(|name| {
                let value = self.request.headers.get_joined(name)?;
                (!value.is_empty()).then(|| value.into_owned())
            })
        });
        let Some(input) = input else {
            return Err(forbidden("'_xsrf' argument missing from POST"));
        };
        let token = decode_xsrf_token(&input).map(|raw| raw.bytes);
        let expected = &self.raw_xsrf_token()?.bytes;
        match token {
            Some(token) if !token.is_empty() => {
                if constant_time_eq(&token, expected) {
                    Ok(())
                } else {
                    Err(forbidden("XSRF cookie does not match POST argument"))
                }
            }
            _ => Err(forbidden("'_xsrf' argument has invalid format")),
        }
    }

    /// The token of the request's cookie, or a new random one.
    fn raw_xsrf_token(&mut self) -> Result<&RawToken> {
        if self.xsrf.raw.is_none() {
            let name = self.xsrf_cookie_name().to_owned();
            let from_cookie = self
                .get_cookie(&name)
                .filter(|cookie| !cookie.is_empty())
                .and_then(|cookie| decode_xsrf_token(&cookie));
            let raw = match from_cookie {
                Some(raw) => raw,
                None => {
                    let mut bytes = vec![0; 16];
                    getrandom::fill(&mut bytes).map_err(random_failed)?;
                    RawToken {
                        version: None,
                        bytes,
                        timestamp: unix_seconds(),
                    }
                }
            };
            self.xsrf.raw = Some(raw);
        }
        self.xsrf
            .raw
            .as_ref()
            .ok_or_else(|| Error::Other("no xsrf token".into()))
    }

    fn xsrf_cookie_name(&self) -> &str {
        self.settings()
            .xsrf_cookie_name
            .as_deref()
            .unwrap_or(XSRF_NAME)
    }

    /// Why this unsafe request looks cross-origin and `trusted` does not
    /// allow its origin; `None` if it may go on.
    pub(crate) fn cross_origin_error(&self, trusted: impl Fn(&str) -> bool) -> Option<String> {
        let headers = &self.request.headers;
        let origin = headers.get_joined("Origin");
        match headers.get_joined("Sec-Fetch-Site").as_deref() {
            // The same origin, or the user typed the address.
            Some("same-origin" | "none") => None,
            // An old browser, plain HTTP, or not a browser (no `Origin`).
            None => {
                let origin = origin?;
                if self.origin_matches_host(&origin) || trusted(&origin) {
                    None
                } else {
                    Some(format!("Origin {origin:?} not allowed"))
                }
            }
            Some(site) => match origin {
                Some(origin) if !origin.is_empty() && trusted(&origin) => None,
                origin => Some(format!(
                    "Sec-Fetch-Site {site} & origin {origin:?} not allowed"
                )),
            },
        }
    }

    /// True if `origin`'s host and port are the request's `Host`.
    fn origin_matches_host(&self, origin: &str) -> bool {
        let host = self.request.headers.get_joined("Host").unwrap_or_default();
        let netloc = urlsplit_scheme_netloc(origin).1;
        // An origin without one (`null`) never matches, even an empty Host.
        !netloc.is_empty() && netloc.eq_ignore_ascii_case(&host)
    }
}

/// The checks Tornado runs before `prepare` for a request that may change
/// state (any verb but `GET`, `HEAD` and `OPTIONS`), as the settings ask.
pub(crate) fn cross_origin_protection<H: RequestHandler>(cx: &mut Handler) -> Result {
    if cx.settings().xsrf_cookies {
        H::check_xsrf_cookie(cx)?;
    }
    if cx.settings().cross_origin_protection {
        if let Some(error) = cx.cross_origin_error(|origin| H::check_trusted_origin(cx, origin)) {
            return Err(forbidden(error));
        }
    }
    Ok(())
}

/// The default [`RequestHandler::check_trusted_origin`]: listed in the
/// `trusted_origins` setting.
pub(crate) fn is_trusted_origin(cx: &Handler, origin: &str) -> bool {
    cx.settings()
        .trusted_origins
        .iter()
        .any(|trusted| trusted == origin)
}

/// A cookie or submitted token: version 2 (`2|mask|masked token|time`),
/// or version 1 (the token in hex, or as it is when not hex). `None` for a
/// malformed version 2 token or another version.
fn decode_xsrf_token(text: &str) -> Option<RawToken> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let versioned = digits > 0
        && !text.starts_with('0')
        && text.as_bytes().get(digits) == Some(&b'|')
        // Tornado's `^([1-9][0-9]*)\|(.*)$`: no line feed but a final one.
        && text.get(digits + 1..).is_some_and(|rest| {
            rest.find('\n').map_or(true, |at| at + 1 == rest.len())
        });
    if !versioned {
        return Some(RawToken {
            version: Some(1),
            bytes: unhex(text).unwrap_or_else(|| text.as_bytes().to_vec()),
            timestamp: unix_seconds(),
        });
    }
    let mut parts = text.split('|');
    let (Some("2"), Some(mask), Some(masked), Some(timestamp), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let mask: [u8; 4] = unhex(mask)?.try_into().ok()?;
    Some(RawToken {
        version: Some(2),
        bytes: apply_mask(&mask, &unhex(masked)?),
        timestamp: python_int(timestamp).and_then(|t| i64::try_from(t).ok())?,
    })
}

/// WebSocket-style masking (RFC 6455 5.3): each byte XORed with the mask's
/// bytes in turn. Its own inverse.
fn apply_mask(mask: &[u8; 4], data: &[u8]) -> Vec<u8> {
    data.iter()
        .zip(mask.iter().cycle())
        .map(|(byte, key)| byte ^ key)
        .collect()
}

/// Python's `binascii.a2b_hex`: pairs of hex digits, either case.
fn unhex(text: &str) -> Option<Vec<u8>> {
    let digits = text.as_bytes();
    if digits.len() % 2 != 0 {
        return None;
    }
    digits
        .chunks_exact(2)
        .map(|pair| {
            let high = char::from(pair[0]).to_digit(16)?;
            let low = char::from(pair[1]).to_digit(16)?;
            u8::try_from(high * 16 + low).ok()
        })
        .collect()
}

fn unix_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
        })
}

fn forbidden(message: impl Into<String>) -> Error {
    HTTPError::new(403).log_message(message).into()
}

fn random_failed(err: getrandom::Error) -> Error {
    Error::Other(format!("no random bytes for the xsrf token: {err}").into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_decode_as_tornado_decodes_them() {
        // From Tornado 6.6.1: mask 01020304 over token 00..0f.
        let raw =
            decode_xsrf_token("2|01020304|0103010705070503090b090f0d0f0d0b|1300000000").unwrap();
        assert_eq!(raw.version, Some(2));
        assert_eq!(raw.bytes, (0..16).collect::<Vec<u8>>());
        assert_eq!(raw.timestamp, 1_300_000_000);
        let v1 = decode_xsrf_token("000102030405060708090A0B0C0D0E0F").unwrap();
        assert_eq!((v1.version, v1.bytes), (Some(1), (0..16).collect()));
        // Not hex: the text itself is the token.
        assert_eq!(decode_xsrf_token("not hex!").unwrap().bytes, b"not hex!");
        assert_eq!(decode_xsrf_token("abc").unwrap().bytes, b"abc");
        for malformed in [
            "2|0102030|00|1",
            "2|0102030405|00|1",
            "2|01020304|0g|1",
            "2|01020304|00|x",
            "2|01020304|00",
            "2|01020304|00|1|2",
            "3|01020304|00|1",
        ] {
            assert!(decode_xsrf_token(malformed).is_none(), "{malformed}");
        }
        assert_eq!(
            decode_xsrf_token("2|01020304|00| 1_0 ").unwrap().timestamp,
            10
        );
        // A version with a leading zero is version 1 text.
        assert_eq!(decode_xsrf_token("02|x").unwrap().version, Some(1));
    }

    #[test]
    fn masking_is_its_own_inverse() {
        let mask = [9, 8, 7, 6];
        let data: Vec<u8> = (0..=255).collect();
        assert_eq!(apply_mask(&mask, &apply_mask(&mask, &data)), data);
        assert_eq!(apply_mask(&mask, &[0; 5]), [9, 8, 7, 6, 9]);
    }
}
