//! Who is logged in: Tornado's `current_user`, `get_login_url` and the
//! `@authenticated` decorator, on the handler context.

use super::urls::urlsplit_scheme_netloc;
use super::{Error, Finish, HTTPError, Handler, Result};
use crate::escape::url_escape;

/// One request's current user.
#[derive(Debug, Default)]
pub(crate) enum CurrentUser {
    /// Not asked for yet.
    #[default]
    Unknown,
    /// `get_current_user` is running: asking again from inside it would
    /// recurse until the stack overflows, which aborts the process.
    LookingUp,
    /// Looked up or set.
    Known(Option<String>),
}

impl Handler {
    /// The logged-in user: what [`set_current_user`](Handler::set_current_user)
    /// set, or else what the handler's
    /// [`get_current_user`](super::RequestHandler::get_current_user) returns,
    /// asked once per request.
    ///
    /// # Errors
    /// What `get_current_user` returned as an error; an error (a 500) when
    /// `get_current_user` itself asks for the current user.
    ///
    /// # Tornado
    /// `RequestHandler.current_user`.
    pub fn current_user(&mut self) -> Result<Option<&str>> {
        match self.current_user {
            CurrentUser::Known(_) => {}
            CurrentUser::LookingUp => {
                return Err(Error::Other(
                    "get_current_user asked for the current user".into(),
                ))
            }
            CurrentUser::Unknown => {
                self.current_user = CurrentUser::LookingUp;
                let lookup = self.current_user_fn;
                match lookup(self) {
                    Ok(user) => self.current_user = CurrentUser::Known(user),
                    Err(err) => {
                        // Still unknown: the next call asks again, as
                        // Tornado's `_current_user` stays unset.
                        self.current_user = CurrentUser::Unknown;
                        return Err(err);
                    }
                }
            }
        }
        match &self.current_user {
            CurrentUser::Known(user) => Ok(user.as_deref()),
            _ => Ok(None),
        }
    }

    /// Sets the logged-in user for the rest of the request, as `prepare`
    /// does when it looks the user up asynchronously (then
    /// `get_current_user` is not called).
    ///
    /// # Tornado
    /// `self.current_user = user`.
    pub fn set_current_user(&mut self, user: Option<String>) {
        self.current_user = CurrentUser::Known(user);
    }

    /// The `login_url` setting.
    ///
    /// # Errors
    /// No `login_url` setting (a 500).
    ///
    /// # Tornado
    /// `RequestHandler.get_login_url()`.
    pub fn get_login_url(&self) -> Result<String> {
        self.settings()
            .login_url
            .clone()
            .filter(|url| !url.is_empty())
            .ok_or_else(|| {
                Error::Other(
                    "You must define the 'login_url' setting in your application to use \
                     @tornado.web.authenticated"
                        .into(),
                )
            })
    }

    /// The logged-in user, for a method only logged-in users may call. With
    /// nobody logged in (no user, or an empty name), a `GET` or `HEAD` is
    /// redirected to the `login_url` setting (with `?next=` and this
    /// request's URI, unless `login_url` has a query already) and any
    /// other method gets a 403; either way the error returned ends the
    /// method at its `?`:
    ///
    /// ```
    /// use tornado::web::{Handler, RequestHandler, Result};
    ///
    /// struct Admin;
    ///
    /// impl RequestHandler for Admin {
    ///     fn get_current_user(cx: &mut Handler) -> Result<Option<String>> {
    ///         Ok(cx.get_signed_cookie("user")?.and_then(|u| String::from_utf8(u).ok()))
    ///     }
    ///
    ///     async fn get(&mut self, cx: &mut Handler) -> Result {
    ///         let user = cx.authenticated()?;
    ///         cx.write(format!("Welcome back, {user}"))
    ///     }
    /// }
    /// # let _ = Admin;
    /// ```
    ///
    /// # Errors
    /// [`Finish`] after the redirect; a 403 [`HTTPError`]; a 500 without a
    /// `login_url` setting; what `get_current_user` returned as an error.
    ///
    /// # Tornado
    /// The `@tornado.web.authenticated` decorator: a call at the top of the
    /// method instead of a decorator above it.
    pub fn authenticated(&mut self) -> Result<String> {
        if let Some(user) = self.current_user()?.filter(|user| !user.is_empty()) {
            return Ok(user.to_owned());
        }
        if !matches!(self.request.method.as_str(), "GET" | "HEAD") {
            return Err(HTTPError::new(403).into());
        }
        let mut url = self.get_login_url()?;
        if !url.contains('?') {
            // An absolute login URL (another host) gets an absolute `next`.
            let next = if !urlsplit_scheme_netloc(&url).0.is_empty() {
                self.request.full_url()
            } else {
                self.request.uri.clone()
            };
            url.push_str("?next=");
            url.push_str(&url_escape(next.as_bytes(), true));
        }
        self.redirect(&url, false)?;
        Err(Finish.into())
    }
}
