//! The `RequestHandler` trait: what a route's handler implements.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;

use super::{Error, HTTPError, Handler, Result};

/// Tornado's default `SUPPORTED_METHODS`.
pub const DEFAULT_SUPPORTED_METHODS: &[&str] =
    &["GET", "HEAD", "POST", "DELETE", "PATCH", "PUT", "OPTIONS"];

/// A request handler: your fields on `self`, the framework's methods on the
/// [`Handler`] context passed to each hook.
///
/// Implement the HTTP methods you serve (`get`, `post`, ...) as `async fn`s;
/// the others answer 405 with an `Allow` header listing the ones you did
/// implement. A fresh handler is built by the route's factory for every
/// request, as Tornado builds a fresh `RequestHandler`.
///
/// # Tornado
/// `tornado.web.RequestHandler`: `prepare`, `get`/`head`/`post`/`delete`/
/// `patch`/`put`/`options` (and [`other_method`](RequestHandler::other_method)
/// for any other verb in `SUPPORTED_METHODS`), `on_finish`, `on_connection_close`,
/// `write_error`, `compute_etag`, `set_default_headers`,
/// `SUPPORTED_METHODS`. Differences: path arguments are on the context
/// (`cx.path_args()`), not method parameters; `on_connection_close` runs once
/// the method has returned (its `flush()` having failed), since the method
/// holds `&mut self` until then (and before `on_finish`, which every
/// request ends with); `on_finish` runs after the method returns, not
/// inside `finish()`.
///
/// # Contract
/// Implement methods as `async fn` (or return a future that does nothing
/// until polled): to build the 405 `Allow` header the framework creates,
/// without polling, the futures of the methods to see which are implemented.
///
/// ```
/// use tornado::web::{url, Application, Handler, RequestHandler, Result};
///
/// struct MainHandler;
///
/// impl RequestHandler for MainHandler {
///     async fn get(&mut self, cx: &mut Handler) -> Result {
///         cx.write("Hello, world")
///     }
/// }
///
/// let app = Application::new([url(r"/", || MainHandler)]);
/// # drop(app);
/// ```
pub trait RequestHandler: 'static {
    /// Methods this handler accepts at all; others get 405 before `prepare`.
    ///
    /// # Tornado
    /// `RequestHandler.SUPPORTED_METHODS`.
    const SUPPORTED_METHODS: &'static [&'static str] = DEFAULT_SUPPORTED_METHODS;

    /// Whether the request body is streamed to
    /// [`data_received`](RequestHandler::data_received) as it arrives
    /// instead of being read whole into `cx.request.body` first.
    ///
    /// With `true`: the handler is made and [`prepare`](RequestHandler::prepare)
    /// runs as soon as the request head has arrived (it may raise this
    /// request's body limit with
    /// [`HTTP1Connection::set_max_body_size`](crate::http1connection::HTTP1Connection::set_max_body_size),
    /// or refuse the request before its body is read); then each piece of
    /// the body is passed to `data_received`, and the connection reads no
    /// further while that is pending (so a slow handler slows the client,
    /// and memory holds about one piece, `chunk_size`, whatever the body's
    /// size); then the method (`post`, `put` ...) runs once the body has
    /// ended. `cx.request.body` stays empty and the body's arguments are not
    /// parsed. A `100 Continue` goes out only once `prepare` has returned
    /// without finishing the response.
    ///
    /// ```
    /// use sha2::{Digest, Sha256};
    /// use tornado::web::{Bytes, Handler, RequestHandler, Result};
    ///
    /// /// Hashes an upload of any size, holding one piece of it at a time.
    /// #[derive(Default)]
    /// struct Upload {
    ///     hash: Sha256,
    ///     bytes: u64,
    /// }
    ///
    /// impl RequestHandler for Upload {
    ///     const STREAM_REQUEST_BODY: bool = true;
    ///
    ///     async fn prepare(&mut self, cx: &mut Handler) -> Result {
    ///         if let Some(conn) = cx.connection() {
    ///             conn.set_max_body_size(10 << 30); // this request only
    ///         }
    ///         Ok(())
    ///     }
    ///
    ///     async fn data_received(&mut self, _cx: &mut Handler, chunk: Bytes) -> Result {
    ///         self.hash.update(&chunk);
    ///         self.bytes += chunk.len() as u64;
    ///         Ok(())
    ///     }
    ///
    ///     async fn put(&mut self, cx: &mut Handler) -> Result {
    ///         let digest = std::mem::take(&mut self.hash).finalize();
    ///         cx.write(format!("{} bytes, sha256 {digest:x}", self.bytes))
    ///     }
    /// }
    /// # let _ = Upload::default();
    /// ```
    ///
    /// # Tornado
    /// The `@tornado.web.stream_request_body` class decorator.
    const STREAM_REQUEST_BODY: bool = false;

    /// Called before the method, for every method. Finishing the response
    /// here (or returning an error) skips the method. For a handler with
    /// [`STREAM_REQUEST_BODY`](RequestHandler::STREAM_REQUEST_BODY), it runs
    /// when the request head has arrived, before the body is read; finishing
    /// the response here then also leaves the body unread (the connection
    /// closes after the response).
    ///
    /// # Tornado
    /// `RequestHandler.prepare()`, sync or `async def`.
    fn prepare(&mut self, _cx: &mut Handler) -> impl Future<Output = Result> {
        std::future::ready(Ok(()))
    }

    /// A piece of the request body, for a handler with
    /// [`STREAM_REQUEST_BODY`](RequestHandler::STREAM_REQUEST_BODY): called
    /// zero or more times (not at all for an empty body), after `prepare`
    /// and before the method, with the body as it arrives (decoded from its
    /// chunked framing and, with `decompress_request`, decompressed); at
    /// most `chunk_size` bytes at a time. The connection reads no more of
    /// the body until the returned future completes.
    ///
    /// An error ends the request as one from the method would (its error
    /// page, unless part of the response was sent); the rest of the body is
    /// not read and the connection closes after the response. Finishing the
    /// response here ends the request too: the method does not run. If the
    /// client leaves before the body has ended, the method does not run
    /// either: [`on_connection_close`](RequestHandler::on_connection_close)
    /// does, then `on_finish`.
    ///
    /// Not implemented, a body is a 500 (Tornado's `NotImplementedError`).
    ///
    /// # Tornado
    /// `RequestHandler.data_received(chunk)`, sync or `async def`. An error
    /// in it closes the connection without a response in Tornado; here it
    /// gets the error page first.
    fn data_received(&mut self, _cx: &mut Handler, _chunk: Bytes) -> impl Future<Output = Result> {
        std::future::ready(Err(Error::Other(
            "data_received is not implemented (STREAM_REQUEST_BODY needs it)".into(),
        )))
    }

    /// `GET`.
    ///
    /// # Tornado
    /// `RequestHandler.get(*args, **kwargs)`; path arguments are on `cx`. Left
    /// unimplemented: 405, with an `Allow` header Tornado does not send.
    fn get(&mut self, _cx: &mut Handler) -> impl Future<Output = Result> {
        Unimplemented
    }

    /// `HEAD`. Only the headers of what is written are sent.
    ///
    /// # Tornado
    /// `RequestHandler.head(*args, **kwargs)`.
    fn head(&mut self, _cx: &mut Handler) -> impl Future<Output = Result> {
        Unimplemented
    }

    /// `POST`.
    ///
    /// # Tornado
    /// `RequestHandler.post(*args, **kwargs)`.
    fn post(&mut self, _cx: &mut Handler) -> impl Future<Output = Result> {
        Unimplemented
    }

    /// `DELETE`.
    ///
    /// # Tornado
    /// `RequestHandler.delete(*args, **kwargs)`.
    fn delete(&mut self, _cx: &mut Handler) -> impl Future<Output = Result> {
        Unimplemented
    }

    /// `PATCH`.
    ///
    /// # Tornado
    /// `RequestHandler.patch(*args, **kwargs)`.
    fn patch(&mut self, _cx: &mut Handler) -> impl Future<Output = Result> {
        Unimplemented
    }

    /// `PUT`.
    ///
    /// # Tornado
    /// `RequestHandler.put(*args, **kwargs)`.
    fn put(&mut self, _cx: &mut Handler) -> impl Future<Output = Result> {
        Unimplemented
    }

    /// `OPTIONS`.
    ///
    /// # Tornado
    /// `RequestHandler.options(*args, **kwargs)`.
    fn options(&mut self, _cx: &mut Handler) -> impl Future<Output = Result> {
        Unimplemented
    }

    /// Any other verb the handler lists in
    /// [`SUPPORTED_METHODS`](RequestHandler::SUPPORTED_METHODS) (WebDAV's
    /// `PROPFIND`, a cache's `PURGE`, ...); `cx.request.method` says which.
    /// Not implemented, such a verb is a 405 like the others.
    ///
    /// # Tornado
    /// The method named after the verb: `def propfind(self)` for a
    /// `SUPPORTED_METHODS` that adds `"PROPFIND"`. One method serves every
    /// extra verb here, since a trait cannot grow a method per name.
    ///
    /// ```
    /// use tornado::web::{Handler, RequestHandler, Result, DEFAULT_SUPPORTED_METHODS};
    ///
    /// struct Collection;
    ///
    /// impl RequestHandler for Collection {
    ///     const SUPPORTED_METHODS: &'static [&'static str] =
    ///         &["GET", "HEAD", "POST", "DELETE", "PATCH", "PUT", "OPTIONS", "PROPFIND", "MKCOL"];
    ///
    ///     async fn other_method(&mut self, cx: &mut Handler) -> Result {
    ///         match cx.request.method.as_str() {
    ///             "PROPFIND" => cx.write("<multistatus/>"),
    ///             _ => {
    ///                 cx.set_status(201);
    ///                 Ok(())
    ///             }
    ///         }
    ///     }
    /// }
    /// # assert_eq!(&Collection::SUPPORTED_METHODS[..7], DEFAULT_SUPPORTED_METHODS);
    /// ```
    fn other_method(&mut self, _cx: &mut Handler) -> impl Future<Output = Result> {
        Unimplemented
    }

    /// Called at the end of every request, for cleanup and logging: after
    /// the response has been sent, or after
    /// [`on_connection_close`](RequestHandler::on_connection_close) when the
    /// client left first. A panic in it is logged; the response still goes
    /// out.
    ///
    /// # Tornado
    /// `RequestHandler.on_finish()`; runs after the method returns, not inside
    /// `finish()`.
    fn on_finish(&mut self, _cx: &mut Handler) {}

    /// Called if the client closed the connection before the response was
    /// finished (a streaming handler's `flush()` returned an error), or,
    /// for a handler with
    /// [`STREAM_REQUEST_BODY`](RequestHandler::STREAM_REQUEST_BODY), if
    /// the request body never ended (the client left mid-body, or the
    /// connection refused the rest: too large, too slow, malformed).
    ///
    /// # Tornado
    /// `RequestHandler.on_connection_close()`; runs once the method has
    /// returned, since the method holds `&mut self` until then.
    fn on_connection_close(&mut self, _cx: &mut Handler) {}

    /// Writes the error page for `status`. `error` is what the method
    /// returned (or a panic, as [`Error::Other`]), if anything. The default
    /// is Tornado's page; with the `serve_traceback` (or `debug`) setting
    /// it is the error and its chain as plain text.
    ///
    /// # Tornado
    /// `RequestHandler.write_error(status_code, **kwargs)`; `error` stands for
    /// `kwargs["exc_info"]`, and the debug text is the error chain, not a Python
    /// traceback.
    fn write_error(&mut self, cx: &mut Handler, status: u16, error: Option<&Error>) -> Result {
        cx.write_default_error(status, error)
    }

    /// Who is logged in, looked up from the request (typically a signed
    /// cookie); `None` for nobody. [`Handler::current_user`] calls it at
    /// most once per request, when first asked. An associated function, not
    /// a method, so `cx` can call it from inside your method. To look the
    /// user up asynchronously (a database), set it in `prepare` with
    /// [`Handler::set_current_user`] instead.
    ///
    /// ```
    /// use tornado::web::{Handler, RequestHandler, Result};
    ///
    /// struct Profile;
    ///
    /// impl RequestHandler for Profile {
    ///     fn get_current_user(cx: &mut Handler) -> Result<Option<String>> {
    ///         let user = cx.get_signed_cookie("user")?;
    ///         Ok(user.and_then(|name| String::from_utf8(name).ok()))
    ///     }
    ///
    ///     async fn get(&mut self, cx: &mut Handler) -> Result {
    ///         let user = cx.authenticated()?;
    ///         cx.write(format!("Hello, {user}"))
    ///     }
    /// }
    /// # let _ = Profile;
    /// ```
    ///
    /// # Tornado
    /// `RequestHandler.get_current_user()`. The user is a `String` here (a
    /// name or id to look more up by), not any object.
    fn get_current_user(_cx: &mut Handler) -> Result<Option<String>>
    where
        Self: Sized,
    {
        Ok(None)
    }

    /// Checks the XSRF token of a request that may change state, when the
    /// `xsrf_cookies` setting is on; runs before `prepare`. The default is
    /// [`Handler::check_xsrf_cookie`]; an endpoint that must take requests
    /// without the token (an API authenticated another way) returns
    /// `Ok(())`.
    ///
    /// # Tornado
    /// `RequestHandler.check_xsrf_cookie()`, overridden.
    fn check_xsrf_cookie(cx: &mut Handler) -> Result
    where
        Self: Sized,
    {
        cx.check_xsrf_cookie()
    }

    /// Whether a request that may change state and comes from `origin`
    /// (its `Origin` header), another site, is allowed, when the
    /// `cross_origin_protection` setting is on; runs before `prepare`. The
    /// default allows the origins of the `trusted_origins` setting.
    /// Returning `true` for any origin opens the endpoint to every site:
    /// it must then not rely on cookies to authenticate.
    ///
    /// # Tornado
    /// `RequestHandler.check_trusted_origin(origin)`.
    fn check_trusted_origin(cx: &Handler, origin: &str) -> bool
    where
        Self: Sized,
    {
        super::xsrf::is_trusted_origin(cx, origin)
    }

    /// The `Etag` for a response that was never flushed (the body is
    /// `cx.write_buffer()`); `None` for none. The default is Tornado's: the
    /// quoted SHA-1 hex of the body. An associated function, not a method, so
    /// `cx.finish()` can call it from inside your method.
    ///
    /// # Tornado
    /// `RequestHandler.compute_etag()`.
    fn compute_etag(cx: &Handler) -> Option<String>
    where
        Self: Sized,
    {
        Some(cx.default_etag())
    }

    /// Sets headers every response of this handler carries (also error
    /// responses and responses after `cx.clear()`, which start again from
    /// the headers it set). A panic in it is the request's error (a 500).
    ///
    /// # Tornado
    /// `RequestHandler.set_default_headers()`. It runs once, when the request
    /// starts; where Tornado's `clear()` runs it again, [`Handler::clear`]
    /// restores what it set then.
    fn set_default_headers(&mut self, _cx: &mut Handler) {}
}

/// The future of a method the handler did not implement: a 405.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct Unimplemented;

impl Future for Unimplemented {
    type Output = Result;

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result> {
        Poll::Ready(Err(HTTPError::new(405).into()))
    }
}

/// True if `future` is a method's default body (the method is not implemented).
pub(crate) fn is_unimplemented<F: Future>(_future: &F) -> bool {
    // After monomorphization an opaque `impl Future` is its concrete type, so
    // the default body's type name is `Unimplemented`'s, and a user's is not.
    std::any::type_name::<F>() == std::any::type_name::<Unimplemented>()
}
