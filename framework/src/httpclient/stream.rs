//! The stream under a client connection, behind a small trait so that TLS
//! can slot in later: [`ClientStream`] and the [`Connector`] that makes them.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};

use crate::ioloop::run_in_executor;
use crate::iostream::IOStream;

/// A boxed, `!Send` future, as the traits here return.
pub type LocalBoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// A connected byte stream the client speaks HTTP/1.1 over: plain TCP
/// ([`IOStream`]) today, TLS later.
///
/// # Contract
///
/// Used by one task at a time, on the IOLoop that created it; that task
/// polls a read and a flush at once (the response is read while the
/// request goes out). `poll_read_into` appends at most `want` bytes to
/// `buf` and returns how many, `Ok(0)` meaning EOF; `write` only buffers
/// and `flush` sends everything buffered, resolving once the kernel has it.
pub trait ClientStream: fmt::Debug {
    /// Reads once into `buf` (at most `want` bytes); `Ok(0)` is EOF.
    fn poll_read_into(
        &self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
        want: usize,
    ) -> Poll<io::Result<usize>>;

    /// Buffers `data` for the next [`flush`](Self::flush).
    fn write(&self, data: Bytes) -> io::Result<()>;

    /// Sends everything buffered.
    fn flush(&self) -> LocalBoxFuture<'_, io::Result<()>>;

    /// Closes the stream at once.
    fn close(&self);
}

impl ClientStream for IOStream {
    fn poll_read_into(
        &self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
        want: usize,
    ) -> Poll<io::Result<usize>> {
        IOStream::poll_read_into(self, cx, buf, want).map_err(io::Error::from)
    }

    fn write(&self, data: Bytes) -> io::Result<()> {
        IOStream::write(self, data).map_err(io::Error::from)
    }

    fn flush(&self) -> LocalBoxFuture<'_, io::Result<()>> {
        Box::pin(async move { IOStream::flush(self).await.map_err(io::Error::from) })
    }

    fn close(&self) {
        IOStream::close(self);
    }
}

/// Opens connections for the client.
///
/// # Tornado
///
/// `tornado.tcpclient.TCPClient.connect(host, port, ssl_options=...)`.
pub trait Connector: fmt::Debug {
    /// Connects to `host:port` for `scheme` (`"http"` or `"https"`). Timeouts
    /// are the caller's: the future is dropped when they fire.
    fn connect<'a>(
        &'a self,
        scheme: &'a str,
        host: &'a str,
        port: u16,
    ) -> LocalBoxFuture<'a, io::Result<Box<dyn ClientStream>>>;
}

/// The default [`Connector`]: plain TCP with `TCP_NODELAY`, names resolved
/// off the loop (on the executor), addresses tried in order. `https` is
/// refused until TLS lands.
///
/// # Tornado
///
/// `TCPClient` with the default (threaded) resolver; it tries addresses one
/// after the other rather than with Happy Eyeballs.
#[derive(Debug, Default, Clone, Copy)]
pub struct TcpConnector;

impl Connector for TcpConnector {
    fn connect<'a>(
        &'a self,
        scheme: &'a str,
        host: &'a str,
        port: u16,
    ) -> LocalBoxFuture<'a, io::Result<Box<dyn ClientStream>>> {
        Box::pin(async move {
            if scheme != "http" {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!("{scheme} is not supported yet (plain http only)"),
                ));
            }
            let addrs = resolve(host, port).await?;
            let mut last_error =
                io::Error::new(io::ErrorKind::NotFound, format!("no addresses for {host}"));
            for addr in addrs {
                match IOStream::connect(addr).await {
                    Ok(stream) => {
                        // Requests are written whole; do not let Nagle hold them.
                        let _ = stream.set_nodelay(true);
                        return Ok(Box::new(stream) as Box<dyn ClientStream>);
                    }
                    Err(err) => last_error = err,
                }
            }
            Err(last_error)
        })
    }
}

/// IP literals directly; names with `getaddrinfo` on the executor, so a
/// slow resolver does not stall the loop.
async fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let host = host.to_owned();
    run_in_executor(move || {
        std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port)).map(Iterator::collect)
    })
    .await?
}
