//! Tornado's `@removeslash` and `@addslash` decorators, as calls at the top
//! of a method: `cx.remove_slash()?;`.

use super::urls::is_protocol_relative;
use super::{Finish, HTTPError, Handler, Result};

impl Handler {
    /// Redirects a `GET` or `HEAD` for a path ending in `/` to the path
    /// without its trailing slashes (301, the query kept); any other method
    /// on such a path is a 404. `Ok(())` for a path without a trailing
    /// slash (and for `/`): the method goes on.
    ///
    /// ```
    /// use tornado::web::{url, Application, Handler, RequestHandler, Result};
    ///
    /// struct Page;
    ///
    /// impl RequestHandler for Page {
    ///     async fn get(&mut self, cx: &mut Handler) -> Result {
    ///         cx.remove_slash()?;
    ///         cx.write("the page")
    ///     }
    /// }
    ///
    /// // `/page/` and `/page//` redirect to `/page`.
    /// let app = Application::new([url(r"/page/*", || Page)]);
    /// # let _ = app;
    /// ```
    ///
    /// # Errors
    /// [`Finish`] after the redirect; 404 for another method; 403 for a
    /// path a browser would read as another host (`//example.com//`).
    ///
    /// # Tornado
    /// The `@tornado.web.removeslash` decorator.
    pub fn remove_slash(&mut self) -> Result {
        if !self.request.path.ends_with('/') {
            return Ok(());
        }
        if !self.is_get_or_head() {
            return Err(HTTPError::new(404).into());
        }
        let target = self.request.path.trim_end_matches('/').to_owned();
        if target.is_empty() {
            // `/` stays `/`.
            return Ok(());
        }
        self.redirect_to_path(target)
    }

    /// Redirects a `GET` or `HEAD` for a path not ending in `/` to the path
    /// with one (301, the query kept); any other method on such a path is a
    /// 404. `Ok(())` for a path ending in `/`: the method goes on.
    ///
    /// # Errors
    /// [`Finish`] after the redirect; 404 for another method; 403 for a
    /// path a browser would read as another host (`//example.com`).
    ///
    /// # Tornado
    /// The `@tornado.web.addslash` decorator.
    pub fn add_slash(&mut self) -> Result {
        if self.request.path.ends_with('/') {
            return Ok(());
        }
        if !self.is_get_or_head() {
            return Err(HTTPError::new(404).into());
        }
        let target = format!("{}/", self.request.path);
        self.redirect_to_path(target)
    }

    fn is_get_or_head(&self) -> bool {
        matches!(self.request.method.as_str(), "GET" | "HEAD")
    }

    /// A permanent redirect to `path` with the request's query, ending the
    /// method with [`Finish`].
    fn redirect_to_path(&mut self, mut path: String) -> Result {
        if is_protocol_relative(&path) {
            // `//example.com` would send the browser to another host.
            return Err(HTTPError::new(403)
                .log_message("cannot redirect path with two initial slashes")
                .into());
        }
        if !self.request.query.is_empty() {
            path.push('?');
            path.push_str(&self.request.query);
        }
        self.redirect(&path, true)?;
        Err(Finish.into())
    }
}
