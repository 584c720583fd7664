//! The web framework: [`Application`], [`RequestHandler`] and the
//! per-request [`Handler`] context.
//!
//! # Tornado
//! `tornado.web`. Tornado's `self` in a handler is split in two: your own
//! fields stay on your handler type; the framework's methods (`write`,
//! `flush`, `finish`, `get_argument`, `set_header`, `request` ...) are on
//! the `cx: &mut Handler` passed to every hook.
//!
//! ```no_run
//! use tornado::ioloop::IOLoop;
//! use tornado::web::{url, Application, Handler, RequestHandler, Result};
//!
//! struct MainHandler;
//!
//! impl RequestHandler for MainHandler {
//!     async fn get(&mut self, cx: &mut Handler) -> Result {
//!         cx.write("Hello, world")
//!     }
//! }
//!
//! fn main() -> std::io::Result<()> {
//!     let app = Application::new([url(r"/", || MainHandler)]);
//!     app.listen(8888)?;
//!     IOLoop::current().start()
//! }
//! ```

mod application;
mod context;
mod cookies;
mod current_user;
mod error;
mod error_handler;
mod execute;
mod gzip;
mod handler;
mod recycle;
mod redirect;
mod signed_cookies;
mod signed_value;
mod slashes;
mod static_file;
mod task;
mod urls;
mod xsrf;

pub use application::{
    url, Application, HandlerFactory, LogFunction, RequestDelegate, Settings, URLSpec,
};
pub use context::Handler;
pub use cookies::CookieOptions;
pub use error::{Error, Finish, HTTPError, Result};
pub use error_handler::ErrorHandler;
pub use gzip::GZipContentEncoding;
pub use handler::{RequestHandler, Unimplemented, DEFAULT_SUPPORTED_METHODS};
pub use redirect::RedirectHandler;
// The default origin check, shared with `WebSocketHandler::check_trusted_origin`.
pub use signed_value::{
    create_signed_value, decode_signed_value, get_signature_key_version, CookieSecret,
    DEFAULT_SIGNED_VALUE_MIN_VERSION, DEFAULT_SIGNED_VALUE_VERSION,
};
pub use static_file::StaticFileHandler;
pub(crate) use xsrf::is_trusted_origin;

/// The shared byte buffer [`Handler::write_bytes`] takes (the `bytes`
/// crate's), re-exported so a handler needs no dependency of its own.
pub use bytes::Bytes;
