//! Limits that bound what a peer can make the codec buffer.

/// The codec's limits and keep-alive policy.
///
/// Every limit bounds memory or work per request, whatever the peer sends:
/// the head is never buffered past `max_header_size`, a chunk-size line past
/// `max_chunk_line`, and body bytes are handed out as soon as they arrive.
///
/// # Tornado
///
/// The parsing half of `HTTP1ConnectionParameters(no_keep_alive,
/// max_header_size, max_body_size)`; the timeouts and `chunk_size` belong to
/// the connection layer. Defaults match Tornado's where it has one.
///
/// ```
/// use tornado::http1::Config;
///
/// let config = Config { max_body_size: 1 << 20, ..Config::default() };
/// assert_eq!(config.max_header_size, 65536);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Largest request head (request line plus header fields plus the blank
    /// line), and separately the largest trailer section, in bytes. Beyond it
    /// the request is refused with 431. Default 64 KiB, Tornado's default.
    pub max_header_size: usize,
    /// Longest request line, without its line ending. Beyond it the request is
    /// refused with 414. Default 8 KiB, like nginx.
    pub max_request_line: usize,
    /// Most header fields in a head (and trailer fields in a trailer
    /// section). Beyond it the request is refused with 431. Default 100, like
    /// hyper. Up to 128 the field table lives on the stack.
    pub max_headers: usize,
    /// Largest request body. A `Content-Length` above it is refused with 413
    /// before any body byte is read; a chunked body is refused as soon as its
    /// declared chunk sizes add up past it. Can be changed for one request with
    /// [`Codec::set_max_body_size`](super::Codec::set_max_body_size). Default
    /// 100 MiB, Tornado's default `max_buffer_size`.
    pub max_body_size: u64,
    /// Longest chunk-size line (size, extensions, CRLF) in a chunked body.
    /// Beyond it the request is refused with 400. Default 1 KiB.
    pub max_chunk_line: usize,
    /// Close the connection after every response.
    pub no_keep_alive: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_header_size: 64 * 1024,
            max_request_line: 8 * 1024,
            max_headers: 100,
            max_body_size: 100 * 1024 * 1024,
            max_chunk_line: 1024,
            no_keep_alive: false,
        }
    }
}
