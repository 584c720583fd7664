//! HTTP utility types shared by the codec, the server and the framework.
//!
//! # Tornado
//!
//! `tornado.httputil`: [`HTTPHeaders`], [`format_timestamp`], `responses`
//! (here [`reason_phrase`]). Nothing in this module does I/O or reads the clock;
//! functions that need the time take it as a [`std::time::SystemTime`].

mod date;
mod headers;
mod responses;

pub use date::{format_timestamp, parse_http_date, write_http_date, HTTP_DATE_LEN};
pub use headers::HTTPHeaders;
pub use responses::reason_phrase;
