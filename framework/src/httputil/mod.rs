//! HTTP utility types shared by the codec, the server and the framework.
//!
//! # Tornado
//!
//! `tornado.httputil`: [`HTTPHeaders`], [`format_timestamp`], `responses`
//! (here [`reason_phrase`]), [`parse_body_arguments`] and
//! [`parse_multipart_form_data`] with [`HTTPFile`]; and from `tornado.escape`,
//! [`url_unescape`] and [`parse_qs_bytes`].
//!
//! Nothing in this module does I/O or reads the clock; functions that need
//! the time take it as a [`std::time::SystemTime`].

mod date;
mod delegate;
mod field_name;
mod form;
mod headers;
mod request;
mod responses;

pub use date::{format_timestamp, parse_http_date, write_http_date, HTTP_DATE_LEN};
pub use delegate::{HTTPMessageDelegate, HTTPServerConnectionDelegate};
pub(crate) use field_name::{classify, FieldName};
pub use form::{
    parse_body_arguments, parse_body_config, parse_multipart_form_data, parse_qs_bytes,
    parse_qs_bytes_limited, set_parse_body_config, url_unescape, Arguments, Files, HTTPFile,
    HTTPInputError, ParseBodyConfig, ParseMultipartConfig, ParseUrlEncodedConfig,
};
pub use headers::HTTPHeaders;
pub(crate) use headers::{is_tchar, names_eq, recycle_header_map, spare_header_map};
pub use request::HTTPServerRequest;
pub(crate) use request::{clear_map, refuse_request, RequestCollector};
pub use responses::reason_phrase;
