//! Per-connection limits and timeouts.

use std::time::Duration;

use crate::http1::Config;

/// Limits and timeouts of one HTTP/1.x connection.
///
/// # Tornado
/// `tornado.http1connection.HTTP1ConnectionParameters(no_keep_alive,
/// chunk_size, max_header_size, header_timeout, max_body_size, body_timeout,
/// decompress)`, plus the server's `idle_connection_timeout`.
#[derive(Debug, Clone)]
pub struct HTTP1ConnectionParameters {
    /// Close the connection after each response.
    pub no_keep_alive: bool,
    /// The most bytes read from the socket at once, and so the largest body
    /// chunk passed to `data_received`. Default 64 KiB, as Tornado.
    pub chunk_size: usize,
    /// The largest request head. Past it: 431. Default 64 KiB, as Tornado.
    pub max_header_size: usize,
    /// How long a request head may take to arrive once its first byte has;
    /// past it: 408 and close (against slowloris). Default 60 s (Tornado
    /// reuses `idle_connection_timeout`, an hour, here; nginx uses 60 s).
    pub header_timeout: Option<Duration>,
    /// How long a keep-alive connection may wait for the first byte of its
    /// next request before it is closed. Default one hour, as Tornado.
    pub idle_connection_timeout: Option<Duration>,
    /// The largest request body. Past it: 413. Default 100 MiB, as Tornado.
    pub max_body_size: u64,
    /// How long the whole request body may take; past it the connection is
    /// closed (with 408 if no response was started). Default none, as Tornado.
    pub body_timeout: Option<Duration>,
    /// Decompress `Content-Encoding: gzip` request bodies before the delegate
    /// sees them.
    pub decompress: bool,
}

impl Default for HTTP1ConnectionParameters {
    fn default() -> Self {
        HTTP1ConnectionParameters {
            no_keep_alive: false,
            chunk_size: 64 * 1024,
            max_header_size: 64 * 1024,
            header_timeout: Some(Duration::from_secs(60)),
            idle_connection_timeout: Some(Duration::from_secs(3600)),
            max_body_size: 100 * 1024 * 1024,
            body_timeout: None,
            decompress: false,
        }
    }
}

impl HTTP1ConnectionParameters {
    /// The codec limits these parameters imply.
    pub(crate) fn codec_config(&self) -> Config {
        Config {
            max_header_size: self.max_header_size,
            max_body_size: self.max_body_size,
            no_keep_alive: self.no_keep_alive,
            ..Config::default()
        }
    }
}
