//! `Application`: the route table and settings, and the HTTP delegate that
//! runs a handler for each request.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};

use super::static_file::static_routes;
use super::task::{BodyPipe, RequestTask, Route, RouteTo};
use super::{recycle, CookieSecret, ErrorHandler, Handler, RequestHandler};
use crate::http1::RequestHead;
use crate::http1connection::HTTP1Connection;
use crate::httpserver::HTTPServer;
use crate::httputil::{
    refuse_request, HTTPMessageDelegate, HTTPServerConnectionDelegate, HTTPServerRequest,
};
use crate::ioloop::{noop_waker, IOLoop};
use crate::routing::{HostMatches, PathArgs, PathMatches, ReverseError, RouteError, RuleTable};

/// Builds a fresh handler for each request.
#[derive(Clone)]
pub struct HandlerFactory(Arc<dyn Route>);

impl HandlerFactory {
    /// Wraps a closure that builds handlers of type `H`.
    pub fn new<H: RequestHandler, F: Fn() -> H + Send + Sync + 'static>(
        factory: F,
    ) -> HandlerFactory {
        HandlerFactory(Arc::new(RouteTo {
            make: Arc::new(factory),
        }))
    }
}

impl fmt::Debug for HandlerFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HandlerFactory")
    }
}

/// A route: a path pattern, the factory that builds its handler, and
/// optionally a name for [`Application::reverse_url`].
///
/// # Tornado
/// `tornado.web.URLSpec` / `url(pattern, handler, kwargs=None, name=None)`.
/// The factory closure replaces the handler class plus its `initialize`
/// keyword arguments: whatever it captures is what `initialize` received.
#[derive(Debug, Clone)]
pub struct URLSpec {
    pattern: String,
    factory: HandlerFactory,
    name: Option<String>,
}

impl URLSpec {
    /// Names the route, for `reverse_url`.
    ///
    /// # Tornado
    /// `url(..., name=name)`.
    pub fn name(mut self, name: impl Into<String>) -> URLSpec {
        self.name = Some(name.into());
        self
    }
}

/// A route for `pattern`, whose handlers `factory` builds (one per request).
///
/// ```
/// use tornado::web::{url, Application, Handler, RequestHandler, Result};
///
/// struct UserHandler {
///     greeting: String,
/// }
///
/// impl RequestHandler for UserHandler {
///     async fn get(&mut self, cx: &mut Handler) -> Result {
///         let id = cx.path_args()[0].clone();
///         cx.write(format!("{} {id}", self.greeting))
///     }
/// }
///
/// let greeting = String::from("hello");
/// let app = Application::new([
///     url(r"/user/([0-9]+)", move || UserHandler { greeting: greeting.clone() }).name("user"),
/// ]);
/// assert_eq!(app.reverse_url("user", &["42"]).unwrap(), "/user/42");
/// ```
///
/// # Tornado
/// `tornado.web.url(pattern, handler, kwargs=None, name=None)`: the factory
/// stands for `handler` plus `kwargs` (what `initialize` received).
pub fn url<H: RequestHandler, F: Fn() -> H + Send + Sync + 'static>(
    pattern: &str,
    factory: F,
) -> URLSpec {
    URLSpec {
        pattern: pattern.to_owned(),
        factory: HandlerFactory::new(factory),
        name: None,
    }
}

/// An access-log replacement: called once per finished request.
///
/// # Tornado
/// The `log_function` application setting.
pub type LogFunction = Arc<dyn Fn(&Handler) + Send + Sync>;

/// Application settings, named as Tornado's.
///
/// # Tornado
/// The `**settings` of `Application(handlers, **settings)`.
#[derive(Clone, Default)]
pub struct Settings {
    /// Debug mode; implies `serve_traceback`.
    pub debug: bool,
    /// Error pages show the error and its chain as text.
    pub serve_traceback: bool,
    /// Serves requests no route matches (instead of Tornado's 404).
    pub default_handler: Option<HandlerFactory>,
    /// Replaces the access log line.
    pub log_function: Option<LogFunction>,
    /// The key that signs cookies ([`Handler::set_signed_cookie`]): one
    /// secret, or several by key version.
    ///
    /// [`Handler::set_signed_cookie`]: super::Handler::set_signed_cookie
    pub cookie_secret: Option<CookieSecret>,
    /// Which key of a [`CookieSecret::Versioned`] secret signs new values
    /// (values signed with the others still verify).
    pub key_version: Option<i64>,
    /// Where [`Handler::authenticated`] sends a visitor nobody is logged
    /// in as (a `GET` or `HEAD`), with `?next=` and the page asked for
    /// unless the URL has a query already.
    ///
    /// [`Handler::authenticated`]: super::Handler::authenticated
    pub login_url: Option<String>,
    /// Every request but `GET`, `HEAD` and `OPTIONS` must repeat the
    /// token of its `_xsrf` cookie (a `_xsrf` argument or an
    /// `X-XSRFToken` header; see [`Handler::xsrf_token`]), or gets a 403.
    ///
    /// [`Handler::xsrf_token`]: super::Handler::xsrf_token
    pub xsrf_cookies: bool,
    /// The format of new XSRF tokens: 2 (the default, masked anew in every
    /// response) or 1 (plain hex, for clients of old Tornado versions).
    pub xsrf_cookie_version: Option<u8>,
    /// The XSRF cookie's name; `_xsrf` by default.
    pub xsrf_cookie_name: Option<String>,
    /// Options for the XSRF cookie (`secure`, `httponly`, `samesite` ...).
    pub xsrf_cookie_kwargs: Option<super::CookieOptions>,
    /// Requests but `GET`, `HEAD` and `OPTIONS` that a browser says come
    /// from another site (`Sec-Fetch-Site`, else an `Origin` that is not
    /// the `Host`) get a 403, unless the handler's `check_trusted_origin`
    /// allows their origin.
    pub cross_origin_protection: bool,
    /// The origins (`https://app.example.com`) the default
    /// `check_trusted_origin` allows past `cross_origin_protection`.
    pub trusted_origins: Vec<String>,
    /// A host name whose [`Application::add_handlers`] tables also serve
    /// requests that neither their own host's tables nor the main routes
    /// match (a `Host` no pattern matches, such as `localhost` while
    /// developing): the tables whose host pattern matches this name are
    /// tried last, in the order added. Not for a request with an
    /// `X-Real-Ip` header (one that came through a proxy). Do not set it
    /// for an application a DNS rebinding attack can reach (one without TLS
    /// on a private address), as Tornado warns.
    ///
    /// # Tornado
    /// `Application(handlers, default_host=...)` (an argument there, not a
    /// setting): `DefaultHostMatches` rules after the wildcard routes.
    pub default_host: Option<String>,
    /// The directory of static files: served under `static_url_prefix`
    /// (and `/favicon.ico`, `/robots.txt`) by a
    /// [`StaticFileHandler`](super::StaticFileHandler), routes tried before
    /// the application's own, and what [`Handler::static_url`] versions.
    ///
    /// # Tornado
    /// The `static_path` setting.
    pub static_path: Option<PathBuf>,
    /// Where static files are served; `None` is Tornado's `/static/`.
    ///
    /// # Tornado
    /// The `static_url_prefix` setting.
    pub static_url_prefix: Option<String>,
    /// Whether static file versions are cached (computed once per path);
    /// `None` is Tornado's default: cached unless `debug`.
    ///
    /// # Tornado
    /// The `static_hash_cache` setting.
    pub static_hash_cache: Option<bool>,
    /// Gzip-encodes responses for clients that accept it
    /// ([`GZipContentEncoding`](super::GZipContentEncoding)): a response
    /// whose `Content-Type` is compressible (`text/*`, JSON, JavaScript,
    /// XML, SVG), that has no `Content-Encoding` of its own, and is either
    /// flushed in pieces or at least 1024 bytes. Every response then says
    /// `Vary: Accept-Encoding`. The `Etag` stays the uncompressed body's.
    ///
    /// # Tornado
    /// The `compress_response` setting (and its old name `gzip`).
    pub compress_response: bool,
    /// Each WebSocket is pinged this often (`None`, the default: never).
    ///
    /// # Tornado
    /// The `websocket_ping_interval` setting.
    pub websocket_ping_interval: Option<Duration>,
    /// A WebSocket whose pong does not come within this long after a ping
    /// is closed (`None`: the ping interval; capped at it, as in Tornado).
    ///
    /// # Tornado
    /// The `websocket_ping_timeout` setting.
    pub websocket_ping_timeout: Option<Duration>,
    /// The largest WebSocket message accepted (`None`: Tornado's 10 MiB);
    /// a larger one closes the connection with 1009.
    ///
    /// # Tornado
    /// The `websocket_max_message_size` setting.
    pub websocket_max_message_size: Option<usize>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("debug", &self.debug)
            .field("serve_traceback", &self.serve_traceback)
            .field("default_handler", &self.default_handler.is_some())
            .field("log_function", &self.log_function.is_some())
            .field("cookie_secret", &self.cookie_secret)
            .field("key_version", &self.key_version)
            .field("login_url", &self.login_url)
            .field("xsrf_cookies", &self.xsrf_cookies)
            .field("xsrf_cookie_version", &self.xsrf_cookie_version)
            .field("xsrf_cookie_name", &self.xsrf_cookie_name)
            .field("xsrf_cookie_kwargs", &self.xsrf_cookie_kwargs)
            .field("cross_origin_protection", &self.cross_origin_protection)
            .field("trusted_origins", &self.trusted_origins)
            .field("default_host", &self.default_host)
            .field("static_path", &self.static_path)
            .field("static_url_prefix", &self.static_url_prefix)
            .field("static_hash_cache", &self.static_hash_cache)
            .field("compress_response", &self.compress_response)
            .field("websocket_ping_interval", &self.websocket_ping_interval)
            .field("websocket_ping_timeout", &self.websocket_ping_timeout)
            .field(
                "websocket_max_message_size",
                &self.websocket_max_message_size,
            )
            .finish()
    }
}

/// A web application: routes and settings. Cheap to clone (shared, host
/// tables added later included), and `Send`, so `HTTPServer::start(n)` can
/// serve it on every thread.
///
/// # Tornado
/// `tornado.web.Application(handlers, default_host=None, **settings)`.
#[derive(Clone)]
pub struct Application {
    inner: Arc<Inner>,
}

struct Inner {
    /// The routes given to `new`.
    routes: Routes,
    /// Host-specific tables from `add_handlers`, tried in order before `routes`.
    hosts: HostTables,
    settings: Settings,
    /// Tornado's 404 page, for a path no route matches.
    not_found: HandlerFactory,
    /// Some route (or the default handler) streams the request body, so
    /// routes are found as soon as a head arrives. Without one, they are
    /// found once the body has, and the serving of requests is exactly what
    /// it was before streaming existed (the common case pays nothing).
    streams_bodies: AtomicBool,
}

/// A route table and its named routes.
struct Routes {
    table: RuleTable<HandlerFactory>,
    /// For `reverse_url`: the last route of each name, as in Tornado.
    named: HashMap<String, PathMatches>,
    /// Some route's handler streams the request body.
    streams_bodies: bool,
}

impl Routes {
    /// Compiles every spec before anything uses the result, so a bad
    /// pattern changes nothing (as in Tornado).
    fn compile(handlers: impl IntoIterator<Item = URLSpec>) -> Result<Routes, RouteError> {
        let mut routes = Routes {
            table: RuleTable::default(),
            named: HashMap::new(),
            streams_bodies: false,
        };
        for spec in handlers {
            let matcher = PathMatches::new(&spec.pattern)?;
            if let Some(name) = spec.name {
                if routes.named.contains_key(&name) {
                    log::warn!(target: "tornado.application", "Multiple handlers named {name}; replacing previous value");
                }
                routes.named.insert(name, matcher.clone());
            }
            routes.streams_bodies |= spec.factory.0.streams_body();
            routes.table.push(matcher, spec.factory);
        }
        Ok(routes)
    }
}

/// The routes `add_handlers` gave for one host pattern.
struct HostTable {
    host: HostMatches,
    /// Whether `default_host` matches `host` (settings do not change).
    serves_default_host: bool,
    routes: Routes,
}

/// The host tables, in the order added, shared by every clone of the
/// application (a running server's, on each of its threads, too).
///
/// A list whose links are each set once: a lookup follows them with one
/// atomic load apiece and no lock, `add_handlers` never waits for requests,
/// and a table, once added, stays where it is while the application lives
/// (requests borrow their handler factory from it).
#[derive(Default)]
struct HostTables {
    first: OnceLock<Box<HostNode>>,
}

struct HostNode {
    table: HostTable,
    next: OnceLock<Box<HostNode>>,
}

impl HostTables {
    fn iter(&self) -> impl Iterator<Item = &HostTable> {
        std::iter::successors(self.first.get(), |node| node.next.get()).map(|node| &node.table)
    }

    /// Appends `table`, whole: a lookup sees all of it or nothing.
    fn push(&self, table: HostTable) {
        let mut node = Box::new(HostNode {
            table,
            next: OnceLock::new(),
        });
        let mut link = &self.first;
        loop {
            match link.set(node) {
                Ok(()) => return,
                // Taken, by an earlier table or a concurrent `add_handlers`:
                // the next link, then.
                Err(back) => {
                    node = back;
                    if let Some(taken) = link.get() {
                        link = &taken.next;
                    }
                }
            }
        }
    }
}

impl Drop for HostTables {
    /// One node at a time: the default drop recurses once per table, which
    /// a program adding thousands of hosts would feel in its stack.
    fn drop(&mut self) {
        let mut next = self.first.take();
        while let Some(mut node) = next {
            next = node.next.take();
        }
    }
}

impl Application {
    /// An application serving `handlers`, with default settings.
    ///
    /// # Panics
    /// If a route pattern is not valid (for instance it uses look-around,
    /// which the `regex` crate lacks); the message names the pattern. Use
    /// [`Application::try_new`] to get the error instead.
    ///
    /// # Tornado
    /// `Application(handlers)`, which raises `re.error` for a bad pattern.
    pub fn new(handlers: impl IntoIterator<Item = URLSpec>) -> Application {
        Application::with_settings(handlers, Settings::default())
    }

    /// An application with `settings`.
    ///
    /// # Panics
    /// As [`Application::new`].
    ///
    /// # Tornado
    /// `Application(handlers, **settings)`.
    pub fn with_settings(
        handlers: impl IntoIterator<Item = URLSpec>,
        settings: Settings,
    ) -> Application {
        match Application::try_with_settings(handlers, settings) {
            Ok(app) => app,
            Err(err) => panic!("{err}"),
        }
    }

    /// [`Application::new`], returning a bad route pattern as an error.
    pub fn try_new(handlers: impl IntoIterator<Item = URLSpec>) -> Result<Application, RouteError> {
        Application::try_with_settings(handlers, Settings::default())
    }

    /// [`Application::with_settings`], returning a bad route pattern as an error.
    pub fn try_with_settings(
        handlers: impl IntoIterator<Item = URLSpec>,
        mut settings: Settings,
    ) -> Result<Application, RouteError> {
        settings.serve_traceback |= settings.debug;
        // Tornado inserts the static routes first: they win over the
        // application's own.
        let routes = static_routes(&settings).into_iter().chain(handlers);
        let routes = Routes::compile(routes)?;
        let default_streams =
            (settings.default_handler.as_ref()).is_some_and(|factory| factory.0.streams_body());
        let inner = Inner {
            streams_bodies: AtomicBool::new(routes.streams_bodies || default_streams),
            routes,
            hosts: HostTables::default(),
            settings,
            // As Tornado: no route is an `ErrorHandler` for 404.
            not_found: HandlerFactory::new(|| ErrorHandler::new(404)),
        };
        Ok(Application {
            inner: Arc::new(inner),
        })
    }

    /// Adds routes served only for hosts matching `host_pattern` (a regex
    /// on the host name, anchored). Tried, in the order added, before the
    /// routes given to `new`, as in Tornado.
    ///
    /// Every clone of the application sees them, a server already serving
    /// it included (every thread of `start(n)`), from its next request on;
    /// it takes `&self`, so a handler can call it on `cx.application()`.
    ///
    /// # Errors
    /// A pattern is not valid; then nothing is added.
    ///
    /// # Tornado
    /// `Application.add_handlers(host_pattern, host_handlers)`.
    pub fn add_handlers(
        &self,
        host_pattern: &str,
        handlers: impl IntoIterator<Item = URLSpec>,
    ) -> Result<(), RouteError> {
        let host = HostMatches::new(host_pattern)?;
        let routes = Routes::compile(handlers)?;
        let serves_default_host =
            (self.inner.settings.default_host.as_deref()).is_some_and(|name| host.matches(name));
        if routes.streams_bodies {
            // Before the table is visible: a request it serves finds its
            // route from its head on.
            self.inner.streams_bodies.store(true, Ordering::Release);
        }
        self.inner.hosts.push(HostTable {
            host,
            serves_default_host,
            routes,
        });
        Ok(())
    }

    /// Whether `a` and `b` are the same application (clones of one).
    pub(crate) fn ptr_eq(a: &Application, b: &Application) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }

    /// The application's settings.
    ///
    /// # Tornado
    /// `Application.settings`.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The path of the route named `name`, with `args` in its groups.
    ///
    /// The host tables are searched first, in the order added, then the
    /// routes given to `new`; within one list the last route of a name wins.
    ///
    /// # Errors
    /// No route has that name, or its pattern cannot be reversed with these
    /// arguments (see [`ReverseError`]).
    ///
    /// # Tornado
    /// `Application.reverse_url(name, *args)`.
    pub fn reverse_url(&self, name: &str, args: &[&str]) -> Result<String, ReverseError> {
        let inner = &*self.inner;
        let matcher = (inner.hosts.iter().map(|host| &host.routes))
            .chain([&inner.routes])
            .find_map(|routes| routes.named.get(name));
        match matcher {
            Some(matcher) => matcher.reverse(args),
            None => Err(ReverseError::NotFound(name.to_owned())),
        }
    }

    /// Serves the application on `port` (all interfaces) on this thread's
    /// loop; returns the server (dropping it does not stop it).
    ///
    /// # Tornado
    /// `Application.listen(port)`.
    pub fn listen(&self, port: u16) -> io::Result<HTTPServer<Application>> {
        let server = HTTPServer::new(self.clone());
        server.listen(port, "")?;
        Ok(server)
    }

    /// The handler factory and path arguments for `request`.
    ///
    /// The tables of hosts the request's matches come first, in the order
    /// added, then the routes given to `new` (Tornado inserts each host
    /// rule before its catch-all one), so a host's `/x` wins over a general
    /// `/.*`; a path a matching host table lacks falls through. Then the
    /// tables of `default_host`, as Tornado appends them to its catch-all.
    #[inline(always)] // as `route_for`
    fn find_handler(&self, request: &HTTPServerRequest) -> Option<(&HandlerFactory, PathArgs)> {
        let inner = &*self.inner;
        let path = &request.path;
        let for_host = (inner.hosts.iter())
            .filter(|host| host.host.matches(&request.host_name))
            .find_map(|host| host.routes.table.find(path));
        for_host
            .or_else(|| inner.routes.table.find(path))
            .or_else(|| {
                // Tornado's DefaultHostMatches: never behind a proxy.
                if inner.settings.default_host.is_none() || request.headers.contains("X-Real-Ip") {
                    return None;
                }
                (inner.hosts.iter())
                    .filter(|host| host.serves_default_host)
                    .find_map(|host| host.routes.table.find(path))
            })
    }

    /// Writes the access log line (or calls `log_function`): info below 400,
    /// warning below 500, error from 500.
    ///
    /// # Tornado
    /// `Application.log_request(handler)`, same format: `200 GET /path (127.0.0.1) 1.23ms`.
    pub fn log_request(&self, cx: &Handler) {
        if let Some(log_function) = &self.inner.settings.log_function {
            log_function(cx);
            return;
        }
        let status = cx.get_status();
        let level = match status {
            0..=399 => log::Level::Info,
            400..=499 => log::Level::Warn,
            _ => log::Level::Error,
        };
        if log::log_enabled!(target: "tornado.access", level) {
            let millis = cx.request.request_time().as_secs_f64() * 1000.0;
            log::log!(target: "tornado.access", level, "{status} {} {millis:.2}ms", cx.request_summary());
        }
    }
}

impl fmt::Debug for Application {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Application")
            .field("routes", &self.inner.routes.table.rules().count())
            .field("hosts", &self.inner.hosts.iter().count())
            .field("settings", &self.inner.settings)
            .finish()
    }
}

impl HTTPServerConnectionDelegate for Application {
    type Message = RequestDelegate;

    fn start_request(&self, connection: &HTTP1Connection) -> RequestDelegate {
        RequestDelegate {
            app: self.clone(),
            connection: connection.clone(),
            cx: None,
            route: Routed::Later,
            body: BytesMut::new(),
        }
    }
}

/// Collects one request and runs its handler.
///
/// A handler that reads the body whole (the usual case) is run once the
/// body has been gathered straight into a pooled [`Handler`] context; one
/// that streams it ([`RequestHandler::STREAM_REQUEST_BODY`]) is started as
/// soon as the head arrives, and each piece of the body is passed on as it
/// does. Either runs in a pooled slot of its route (see `recycle.rs`), so
/// serving a request allocates nothing once the pools are warm.
///
/// # Tornado
/// `tornado.web._HandlerDelegate`.
pub struct RequestDelegate {
    app: Application,
    connection: HTTP1Connection,
    /// The context, from the head on, until the handler runs.
    cx: Option<Box<Handler>>,
    route: Routed,
    body: BytesMut,
}

/// How far the request's route has been taken.
enum Routed {
    /// Not found yet: it is once the body is in (an application without
    /// streaming routes finds it then); or the request is over.
    Later,
    /// Found with the head, for a handler that reads the body whole.
    Found(Arc<dyn Route>),
    /// A streaming request, running in its route's slot from the head on;
    /// back to `Later` (the slot in the pool) once it has ended.
    Streaming(Arc<dyn Route>, Pin<Box<dyn RequestTask>>),
}

/// Where a streaming request stands after being polled.
enum Step {
    /// Waiting for the next piece of the body (or its end).
    Waiting,
    /// Over, with its context (if it had one) to give back.
    Ended(Option<Box<Handler>>),
}

impl fmt::Debug for RequestDelegate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestDelegate")
            .field("request", &self.cx.as_ref().map(|cx| &cx.request))
            .field("streaming", &matches!(self.route, Routed::Streaming(..)))
            .finish()
    }
}

impl RequestDelegate {
    /// The body pipe of the streaming request, while it runs.
    fn streaming_body(&self) -> Option<&BodyPipe> {
        match &self.route {
            Routed::Streaming(_, task) => task.body(),
            _ => None,
        }
    }

    /// Polls the streaming request until it waits for the body (if
    /// `to_end` is false) or ends; once ended, its context and slot go
    /// back to their pools.
    async fn run_streaming(&mut self, to_end: bool) {
        let Routed::Streaming(_, task) = &mut self.route else {
            return;
        };
        let step = poll_fn(|waker| match task.as_mut().poll_request(waker) {
            Poll::Ready(cx) => Poll::Ready(Step::Ended(cx)),
            Poll::Pending if !to_end && task.body().is_some_and(BodyPipe::waiting) => {
                Poll::Ready(Step::Waiting)
            }
            Poll::Pending => Poll::Pending,
        })
        .await;
        if let Step::Ended(cx) = step {
            self.end_streaming(cx);
        }
    }

    /// Gives an ended streaming request's context and slot back.
    fn end_streaming(&mut self, cx: Option<Box<Handler>>) {
        if let Some(cx) = cx {
            recycle::release_handler(cx);
        }
        if let Routed::Streaming(route, task) = std::mem::replace(&mut self.route, Routed::Later) {
            recycle::release_task(&route, task);
        }
    }
}

impl HTTPMessageDelegate for RequestDelegate {
    async fn headers_received(&mut self, head: RequestHead) {
        let mut cx = recycle::handler(&self.app);
        if let Err(err) = cx.request.refill(head, Some(&self.connection)) {
            recycle::release_handler(cx);
            refuse_request(&self.connection, &err);
            return;
        }
        if !self.app.inner.streams_bodies.load(Ordering::Acquire) {
            // No route streams: the route is found once the body is in.
            self.cx = Some(cx);
            return;
        }
        let route = route_for(&self.app, &mut cx).clone();
        if !route.streams_body() {
            self.route = Routed::Found(route);
            self.cx = Some(cx);
            return;
        }
        // Streaming: the handler starts now, and the connection reads the
        // body (or sends `100 Continue`) only once `prepare` is done, as
        // Tornado's `_prepared_future` makes it wait.
        let mut task = recycle::task(&route);
        task.as_mut().start(cx);
        self.route = Routed::Streaming(route, task);
        self.run_streaming(false).await;
    }

    async fn data_received(&mut self, chunk: Bytes) {
        if let Some(body) = self.streaming_body() {
            body.send(chunk);
            // Returns once `data_received` is done with the piece: only then
            // does the connection read more (flow control).
            self.run_streaming(false).await;
        } else if self.cx.is_some() {
            // The codec bounds the total by max_body_size.
            self.body.extend_from_slice(&chunk);
        }
        // Else a request refused at its head, or a streaming request that
        // has ended (finished early, or failed): its body is not wanted, as
        // Tornado's connection diverts it from the delegate once the
        // response is finished.
    }

    async fn finish(&mut self) {
        if let Some(body) = self.streaming_body() {
            body.end(true);
            self.run_streaming(true).await;
            return;
        }
        let Some(mut cx) = self.cx.take() else {
            return;
        };
        if !self.body.is_empty() {
            cx.request.body = self.body.split().freeze();
        }
        let body_error = cx.request.parse_body().err();
        // Found with the head (and borrowed, so that this future owns
        // nothing to drop), or now: borrowed from the application, which
        // outlives the request.
        let route = match &self.route {
            Routed::Found(route) => route,
            _ => route_for(&self.app, &mut cx),
        };
        // A body that does not parse is the route's handler's 400, as a
        // path argument that is not UTF-8 (which wins, being found first),
        // raised before `prepare` as Tornado's `_execute` does.
        if let (None, Some(err)) = (cx.refusal, body_error) {
            log::warn!(target: "tornado.general", "Invalid body from {}: {err}", cx.request.remote_ip);
            cx.refusal = Some(err.status_hint());
        }
        let mut task = recycle::task(route);
        task.as_mut().start(cx);
        if let Some(cx) = poll_fn(|waker| task.as_mut().poll_request(waker)).await {
            recycle::release_handler(cx);
        }
        recycle::release_task(route, task);
    }

    fn on_connection_close(&mut self) {
        self.cx = None;
        self.body.clear();
        let Routed::Streaming(_, task) = &mut self.route else {
            self.route = Routed::Later;
            return;
        };
        if let Some(body) = task.body() {
            body.end(false);
        }
        // The handler learns it now (`on_connection_close`, `on_finish`):
        // a `data_received` still waiting gives way to the cut body, and
        // what follows in the request is synchronous, so one poll ends it.
        let waker = noop_waker();
        let mut poll = Context::from_waker(&waker);
        if let Poll::Ready(cx) = task.as_mut().poll_request(&mut poll) {
            self.end_streaming(cx);
            return;
        }
        // Still waiting on something else (the delegate was given up on
        // mid-request): dropping it would skip its hooks, so the IOLoop
        // runs it to its end, where it sees the cut body.
        if let Routed::Streaming(route, task) = std::mem::replace(&mut self.route, Routed::Later) {
            finish_abandoned(route, task);
        }
    }
}

/// Runs a streaming request its delegate gave up on to its end on the
/// current IOLoop, then gives its context and slot back.
fn finish_abandoned(route: Arc<dyn Route>, mut task: Pin<Box<dyn RequestTask>>) {
    let Ok(ioloop) = IOLoop::try_current() else {
        return; // no loop to run it: dropped with its slot, not pooled
    };
    // Detached: the handle is not kept, the task runs on.
    drop(ioloop.spawn(async move {
        if let Some(cx) = poll_fn(|waker| task.as_mut().poll_request(waker)).await {
            recycle::release_handler(cx);
        }
        recycle::release_task(&route, task);
    }));
}

/// The route for `cx`'s request (the default handler's, or the 404's, if
/// none matches), with its path arguments decoded into `cx`. A path
/// argument that is not UTF-8 is the route's handler's 400 (its
/// `write_error`, default headers and `on_finish`), raised before
/// `prepare` as Tornado's `_execute` does.
// Inlined into `finish`, the hot path, as the code was before a second
// caller (streaming) made the compiler keep it apart (~60 instructions a
// request in benches/instructions.sh).
#[inline(always)]
fn route_for<'a>(app: &'a Application, cx: &mut Handler) -> &'a Arc<dyn Route> {
    let (route, args) = match app.find_handler(&cx.request) {
        Some((factory, args)) => (&factory.0, args),
        None => match &app.inner.settings.default_handler {
            Some(factory) => (&factory.0, PathArgs::default()),
            None => (&app.inner.not_found.0, PathArgs::default()),
        },
    };
    if let Err(status) = set_path_args(cx, args) {
        cx.refusal = Some(status);
    }
    route
}

/// Decodes path arguments as UTF-8 into the context; `Err(400)` if one is not.
#[inline(always)] // as `route_for`
fn set_path_args(cx: &mut Handler, args: PathArgs) -> Result<(), u16> {
    let decode = |raw: Vec<u8>| String::from_utf8(raw).map_err(|_| 400u16);
    for raw in args.args {
        cx.path_args.push(decode(raw)?);
    }
    for (name, raw) in args.kwargs {
        cx.path_kwargs.insert(name, decode(raw)?);
    }
    Ok(())
}
