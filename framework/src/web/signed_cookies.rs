//! Signed cookies on the handler context: Tornado's `set_signed_cookie`,
//! `get_signed_cookie` and friends, over [`signed_value`](super::signed_value).

use std::time::SystemTime;

use super::signed_value::{
    create_signed_value, decode_signed_value, get_signature_key_version, CookieSecret,
};
use super::{CookieOptions, Error, Handler, Result};

/// How long a signed cookie is valid for by default, in days (Tornado's
/// `get_signed_cookie(max_age_days=31)`).
const DEFAULT_MAX_AGE_DAYS: f64 = 31.0;

impl CookieOptions {
    /// The options [`Handler::set_signed_cookie`] uses: the defaults, and
    /// the cookie kept by the browser for 30 days. Start from these to keep
    /// that lifetime while setting other options:
    ///
    /// ```
    /// use tornado::web::CookieOptions;
    ///
    /// let options = CookieOptions { httponly: true, ..CookieOptions::signed() };
    /// assert_eq!(options.expires_days, Some(30.0));
    /// ```
    ///
    /// # Tornado
    /// `set_signed_cookie(name, value, expires_days=30, ...)`.
    pub fn signed() -> CookieOptions {
        CookieOptions {
            expires_days: Some(30.0),
            ..CookieOptions::default()
        }
    }
}

impl Handler {
    /// The `cookie_secret` setting, or the error Tornado raises without it.
    fn cookie_secret(&self) -> Result<&CookieSecret> {
        self.settings()
            .cookie_secret
            .as_ref()
            .filter(|secret| !secret.is_empty())
            .ok_or_else(|| {
                Error::Other(
                    "You must define the 'cookie_secret' setting in your application to use secure cookies"
                        .into(),
                )
            })
    }

    /// Signs and timestamps `value` (any bytes) under `name` with the
    /// application's `cookie_secret`, in the default format (version 2), so
    /// that it cannot be forged. For values not sent as cookies;
    /// [`get_signed_cookie_with`](Handler::get_signed_cookie_with) reads
    /// them back.
    ///
    /// # Errors
    /// No `cookie_secret` setting; a versioned secret without a
    /// `key_version` setting naming one of its keys (a 500).
    ///
    /// # Tornado
    /// `RequestHandler.create_signed_value(name, value)`.
    pub fn create_signed_value(&self, name: &str, value: impl AsRef<[u8]>) -> Result<String> {
        self.create_signed_value_with(name, value, None)
    }

    /// [`create_signed_value`](Handler::create_signed_value) in format
    /// `version` (1 or 2; `None` for the default, 2).
    ///
    /// # Errors
    /// As `create_signed_value`, and a version other than 1 or 2.
    ///
    /// # Tornado
    /// `RequestHandler.create_signed_value(name, value, version=version)`.
    pub fn create_signed_value_with(
        &self,
        name: &str,
        value: impl AsRef<[u8]>,
        version: Option<u8>,
    ) -> Result<String> {
        let secret = self.cookie_secret()?;
        // As Tornado, the setting counts only for versioned secrets: one
        // secret signs as key version 0 whatever `key_version` says.
        let key_version = match secret {
            CookieSecret::Key(_) => None,
            CookieSecret::Versioned(_) => Some(self.settings().key_version.ok_or_else(|| {
                Error::Other("key_version setting must be used for secret_key dicts".into())
            })?),
        };
        create_signed_value(secret, name, value, version, SystemTime::now(), key_version)
    }

    /// Sets cookie `name` to `value` (any bytes), signed and timestamped so
    /// it cannot be forged, kept by the browser for 30 days. Needs the
    /// `cookie_secret` setting. The value is readable by the client (it is
    /// base64, not encrypted); [`get_signed_cookie`](Handler::get_signed_cookie)
    /// reads it back on a later request, for up to 31 days.
    ///
    /// ```
    /// use tornado::web::{Handler, RequestHandler, Result};
    ///
    /// struct Login;
    ///
    /// impl RequestHandler for Login {
    ///     async fn post(&mut self, cx: &mut Handler) -> Result {
    ///         let name = cx.get_argument("name")?;
    ///         cx.set_signed_cookie("user", &name)?;
    ///         cx.redirect("/", false)
    ///     }
    /// }
    /// # let _ = Login;
    /// ```
    ///
    /// # Errors
    /// As [`create_signed_value`](Handler::create_signed_value), and a name
    /// [`set_cookie`](Handler::set_cookie) refuses.
    ///
    /// # Tornado
    /// `RequestHandler.set_signed_cookie(name, value)` (formerly
    /// `set_secure_cookie`). Cookies Tornado signed with the same secret
    /// verify here, and the other way round.
    #[doc(alias = "set_secure_cookie")]
    pub fn set_signed_cookie(&mut self, name: &str, value: impl AsRef<[u8]>) -> Result {
        self.set_signed_cookie_with(name, value, &CookieOptions::signed())
    }

    /// [`set_signed_cookie`](Handler::set_signed_cookie) with cookie
    /// options. Start from [`CookieOptions::signed`] to keep the 30-day
    /// lifetime; `CookieOptions::default()` makes a session cookie
    /// (Tornado's `expires_days=None`).
    ///
    /// For Tornado's `version=1`, sign with
    /// [`create_signed_value_with`](Handler::create_signed_value_with) and
    /// set the result with [`set_cookie_with`](Handler::set_cookie_with).
    ///
    /// # Errors
    /// As `set_signed_cookie`, and an attribute `set_cookie_with` refuses.
    ///
    /// # Tornado
    /// `RequestHandler.set_signed_cookie(name, value, expires_days=..., **kwargs)`.
    pub fn set_signed_cookie_with(
        &mut self,
        name: &str,
        value: impl AsRef<[u8]>,
        options: &CookieOptions,
    ) -> Result {
        let signed = self.create_signed_value(name, value)?;
        self.set_cookie_with(name, &signed, options)
    }

    /// The value of signed cookie `name` if the request carries it with a
    /// valid signature from the last 31 days; `None` if it is missing,
    /// forged, tampered with or expired. Bytes, as in Tornado. Cookies set
    /// by this request's own `set_signed_cookie` are not seen.
    ///
    /// ```
    /// use tornado::web::{Handler, RequestHandler, Result};
    ///
    /// struct Home;
    ///
    /// impl RequestHandler for Home {
    ///     async fn get(&mut self, cx: &mut Handler) -> Result {
    ///         match cx.get_signed_cookie("user")? {
    ///             Some(user) => cx.write(format!("Hello, {}", String::from_utf8_lossy(&user))),
    ///             None => cx.redirect("/login", false),
    ///         }
    ///     }
    /// }
    /// # let _ = Home;
    /// ```
    ///
    /// # Errors
    /// No `cookie_secret` setting (a 500).
    ///
    /// # Tornado
    /// `RequestHandler.get_signed_cookie(name)` (formerly `get_secure_cookie`).
    #[doc(alias = "get_secure_cookie")]
    pub fn get_signed_cookie(&mut self, name: &str) -> Result<Option<Vec<u8>>> {
        self.get_signed_cookie_with(name, None, DEFAULT_MAX_AGE_DAYS, None)
    }

    /// [`get_signed_cookie`](Handler::get_signed_cookie) of `value` when
    /// given (a value from [`create_signed_value`](Handler::create_signed_value)
    /// that came some other way) instead of the request's cookie, valid for
    /// `max_age_days`, in a format no older than `min_version` (`None`: both
    /// 1 and 2).
    ///
    /// # Errors
    /// No `cookie_secret` setting; a `min_version` past 2.
    ///
    /// # Tornado
    /// `RequestHandler.get_signed_cookie(name, value=None, max_age_days=31, min_version=None)`.
    pub fn get_signed_cookie_with(
        &mut self,
        name: &str,
        value: Option<&str>,
        max_age_days: f64,
        min_version: Option<u8>,
    ) -> Result<Option<Vec<u8>>> {
        self.cookie_secret()?;
        let Some(signed) = self.signed_text(name, value) else {
            return Ok(None);
        };
        let secret = self.cookie_secret()?;
        decode_signed_value(
            secret,
            name,
            signed,
            max_age_days,
            SystemTime::now(),
            min_version,
        )
    }

    /// The key version that signed cookie `name` (or `value`, when given);
    /// `None` if it is missing, a version 1 value or malformed. The
    /// signature is not checked.
    ///
    /// # Errors
    /// No `cookie_secret` setting.
    ///
    /// # Tornado
    /// `RequestHandler.get_signed_cookie_key_version(name, value=None)`.
    pub fn get_signed_cookie_key_version(
        &mut self,
        name: &str,
        value: Option<&str>,
    ) -> Result<Option<i64>> {
        self.cookie_secret()?;
        Ok(self
            .signed_text(name, value)
            .and_then(get_signature_key_version))
    }

    /// `value`, or else the request's cookie `name`.
    fn signed_text(&mut self, name: &str, value: Option<&str>) -> Option<String> {
        match value {
            Some(value) => Some(value.to_owned()),
            None => self.get_cookie(name),
        }
    }
}
