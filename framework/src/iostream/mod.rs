//! Buffered, non-blocking reads and writes over a TCP socket.
//!
//! # Tornado
//! `tornado.iostream.IOStream`. The read methods keep their names and
//! limits. One deliberate difference: [`IOStream::write`] only buffers, as
//! `RequestHandler.write` does, and [`IOStream::flush`] sends. Tornado's
//! `await stream.write(data)` is `stream.write(data)?; stream.flush().await?`.
//!
//! # Contract
//! A stream is shared (`Clone` gives another handle to the same socket), so
//! one task may read while another writes. At most one read may be pending at
//! a time (a second gets an error, as Tornado's "Already reading" does), and
//! likewise one flush.

mod close_watch;
mod error;
mod write_buffer;

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::rc::Rc;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use mio::net::TcpStream;

use crate::ioloop::reactor::{Direction, Registration};
use crate::ioloop::IOLoop;

use error::CloseCause;
pub use error::{StreamClosedError, StreamError};
use write_buffer::WriteBuffer;

/// Tornado's default `max_buffer_size`: 100 MiB.
///
/// # Tornado
/// `BaseIOStream(max_buffer_size=None)` means 104857600.
pub const DEFAULT_MAX_BUFFER_SIZE: usize = 104_857_600;

/// Tornado's default `read_chunk_size`: 64 KiB per read call at most.
///
/// # Tornado
/// `BaseIOStream(read_chunk_size=None)` means 65536.
pub const DEFAULT_READ_CHUNK_SIZE: usize = 65_536;

/// A result of a stream operation.
pub type StreamResult<T> = Result<T, StreamError>;

/// A non-blocking TCP stream registered with the current [`IOLoop`].
///
/// ```
/// use std::io::{Read, Write};
/// use tornado::ioloop::IOLoop;
/// use tornado::iostream::IOStream;
///
/// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// let addr = listener.local_addr().unwrap();
/// let peer = std::thread::spawn(move || {
///     let (mut sock, _) = listener.accept().unwrap();
///     sock.write_all(b"hello\r\nworld").unwrap();
///     let mut reply = [0; 4];
///     sock.read_exact(&mut reply).unwrap();
///     reply
/// });
/// IOLoop::current()
///     .run_sync(async move {
///         let stream = IOStream::connect(addr).await?;
///         assert_eq!(&stream.read_until(b"\r\n", None).await?[..], b"hello\r\n");
///         assert_eq!(&stream.read_bytes(5, false).await?[..], b"world");
///         stream.write(&b"pong"[..])?;
///         stream.flush().await?;
///         Ok::<(), std::io::Error>(())
///     })
///     .unwrap()
///     .unwrap();
/// assert_eq!(&peer.join().unwrap(), b"pong");
/// ```
///
/// # Tornado
/// `tornado.iostream.IOStream`; see the [module docs](self) for the
/// write/flush difference.
#[derive(Clone)]
pub struct IOStream {
    inner: Rc<Inner>,
}

struct Inner {
    /// `None` once closed: taking it out closes the descriptor at once.
    socket: RefCell<Option<TcpStream>>,
    registration: Registration,
    read_buffer: RefCell<BytesMut>,
    write_buffer: RefCell<WriteBuffer>,
    max_buffer_size: usize,
    max_write_buffer_size: Option<usize>,
    read_chunk_size: usize,
    reading: Cell<bool>,
    flushing: Cell<bool>,
    /// Set once the stream is closed, with why.
    closed: RefCell<Option<CloseCause>>,
    /// The close callback, and the task that watches for the peer's close
    /// while no read is under way (see `close_watch.rs`). Boxed: most
    /// streams never have one, and an idle connection's stream is part of
    /// what it costs.
    close_watch: RefCell<Option<Box<close_watch::CloseWatch>>>,
    /// Set by the first read that bypasses the read buffer (the HTTP
    /// connection's): such a reader notices a close itself, and a watcher
    /// would take its bytes and its wake-ups.
    direct_reads: Cell<bool>,
    /// True once the peer has sent EOF: reads return what is buffered, then Closed.
    eof: Cell<bool>,
}

/// Limits for a new stream.
///
/// # Tornado
/// The `IOStream(socket, max_buffer_size=None, read_chunk_size=None,
/// max_write_buffer_size=None)` keyword arguments.
#[derive(Debug, Clone, Copy)]
pub struct StreamOptions {
    /// The most bytes the read buffer may hold; past it a read fails and the
    /// stream is closed. Default 100 MiB.
    pub max_buffer_size: usize,
    /// The most bytes read from the socket in one call. Default 64 KiB.
    pub read_chunk_size: usize,
    /// The most bytes [`IOStream::write`] may buffer; `None` for no limit
    /// (the default, as in Tornado).
    pub max_write_buffer_size: Option<usize>,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            max_buffer_size: DEFAULT_MAX_BUFFER_SIZE,
            read_chunk_size: DEFAULT_READ_CHUNK_SIZE,
            max_write_buffer_size: None,
        }
    }
}

/// Marks a read or flush as in progress; clears the mark however it ends.
struct Busy<'a> {
    flag: &'a Cell<bool>,
    /// A read's: the close watcher, to wake when the read ends.
    stream: Option<&'a IOStream>,
}

impl<'a> Busy<'a> {
    fn claim(flag: &'a Cell<bool>, what: &'static str) -> StreamResult<Busy<'a>> {
        if flag.replace(true) {
            return Err(StreamError::UnsatisfiableRead(what));
        }
        Ok(Busy { flag, stream: None })
    }

    fn claim_read(stream: &'a IOStream) -> StreamResult<Busy<'a>> {
        let mut busy = Busy::claim(&stream.inner.reading, "already reading")?;
        busy.stream = Some(stream);
        Ok(busy)
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.flag.set(false);
        if let Some(stream) = self.stream {
            stream.wake_watcher();
        }
    }
}

impl IOStream {
    /// Wraps a connected socket with default limits.
    ///
    /// # Tornado
    /// `IOStream(socket)`.
    pub fn new(socket: TcpStream) -> io::Result<IOStream> {
        IOStream::with_options(socket, StreamOptions::default())
    }

    /// Wraps a connected socket with the given limits.
    ///
    /// # Tornado
    /// `IOStream(socket, max_buffer_size=..., read_chunk_size=...,
    /// max_write_buffer_size=...)`.
    pub fn with_options(mut socket: TcpStream, options: StreamOptions) -> io::Result<IOStream> {
        let registration = Registration::new(&mut socket)?;
        Ok(IOStream {
            inner: Rc::new(Inner {
                socket: RefCell::new(Some(socket)),
                registration,
                read_buffer: RefCell::new(BytesMut::new()),
                write_buffer: RefCell::new(WriteBuffer::default()),
                max_buffer_size: options.max_buffer_size,
                max_write_buffer_size: options.max_write_buffer_size,
                read_chunk_size: options.read_chunk_size.max(1),
                reading: Cell::new(false),
                flushing: Cell::new(false),
                closed: RefCell::new(None),
                close_watch: RefCell::new(None),
                direct_reads: Cell::new(false),
                eof: Cell::new(false),
            }),
        })
    }

    /// Connects to `addr` and waits until the connection is established.
    ///
    /// # Tornado
    /// `IOStream.connect(address)`; also what `TCPClient.connect` gives.
    pub async fn connect(addr: SocketAddr) -> io::Result<IOStream> {
        let stream = IOStream::new(TcpStream::connect(addr)?)?;
        // A non-blocking connect completes when the socket becomes writable.
        // Readiness starts out set (a hint), so until then SO_ERROR is clear
        // and `peer_addr` says "not connected": wait for a real writable
        // event and look again. SO_ERROR tells whether it failed.
        let outcome = poll_fn(|cx| {
            stream.inner.registration.poll_io(cx, Direction::Write, || {
                stream.with_socket(|socket| {
                    if let Some(err) = socket.take_error()? {
                        return Err(err);
                    }
                    match socket.peer_addr() {
                        Ok(_) => Ok(()),
                        Err(err) if err.kind() == io::ErrorKind::NotConnected => {
                            Err(io::ErrorKind::WouldBlock.into())
                        }
                        Err(err) => Err(err),
                    }
                })
            })
        })
        .await;
        match outcome {
            Ok(()) => Ok(stream),
            Err(err) => {
                stream.close_with(CloseCause::from_error(&err));
                Err(err)
            }
        }
    }

    fn with_socket<R>(&self, op: impl FnOnce(&TcpStream) -> io::Result<R>) -> io::Result<R> {
        match &*self.inner.socket.borrow() {
            Some(socket) => op(socket),
            None => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "stream is closed",
            )),
        }
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.with_socket(TcpStream::peer_addr)
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.with_socket(TcpStream::local_addr)
    }

    /// Sets `TCP_NODELAY` (no Nagle delay for small writes).
    ///
    /// # Tornado
    /// `IOStream.set_nodelay(value)`.
    pub fn set_nodelay(&self, value: bool) -> io::Result<()> {
        self.with_socket(|socket| socket.set_nodelay(value))
    }

    /// Reads until `delimiter` and returns the bytes up to and including it.
    ///
    /// With `max_bytes`, if the delimiter is not within the first `max_bytes`
    /// bytes, the stream is closed and [`StreamError::UnsatisfiableRead`] returned.
    ///
    /// # Tornado
    /// `IOStream.read_until(delimiter, max_bytes=None)`.
    pub async fn read_until(
        &self,
        delimiter: &[u8],
        max_bytes: Option<usize>,
    ) -> StreamResult<Bytes> {
        if delimiter.is_empty() {
            return Err(StreamError::UnsatisfiableRead("empty delimiter"));
        }
        let _busy = Busy::claim_read(self)?;
        let limit = max_bytes.unwrap_or(usize::MAX);
        // How far this read has searched without finding the delimiter, so
        // trickling input is scanned once, not again from the start on
        // every read; this call's own (a read cancelled halfway leaves the
        // next one nothing to trust).
        let mut scanned = 0;
        poll_fn(|cx| loop {
            if let Some(end) = self.find_delimiter(delimiter, &mut scanned) {
                if end > limit {
                    return Poll::Ready(
                        Err(self.fail_read("delimiter not found within max_bytes")),
                    );
                }
                return Poll::Ready(Ok(self
                    .inner
                    .read_buffer
                    .borrow_mut()
                    .split_to(end)
                    .freeze()));
            }
            if self.inner.read_buffer.borrow().len() >= limit {
                return Poll::Ready(Err(self.fail_read("delimiter not found within max_bytes")));
            }
            match self.poll_fill(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                Poll::Pending => return Poll::Pending,
            }
        })
        .await
    }

    /// Searches the read buffer for `delimiter`, resuming at `scanned`,
    /// where the last search of this read stopped; returns the offset just
    /// past it.
    fn find_delimiter(&self, delimiter: &[u8], scanned: &mut usize) -> Option<usize> {
        let buffer = self.inner.read_buffer.borrow();
        // Back up by the delimiter's length less one: it may straddle the
        // boundary between what was searched and what arrived since.
        let start = scanned.saturating_sub(delimiter.len() - 1);
        let found = buffer
            .get(start..)?
            .windows(delimiter.len())
            .position(|window| window == delimiter);
        match found {
            Some(at) => Some(start + at + delimiter.len()),
            None => {
                *scanned = buffer.len();
                None
            }
        }
    }

    /// Reads exactly `n` bytes, or with `partial`, between 1 and `n` bytes as
    /// soon as any are available.
    ///
    /// # Tornado
    /// `IOStream.read_bytes(num_bytes, partial=False)`.
    pub async fn read_bytes(&self, n: usize, partial: bool) -> StreamResult<Bytes> {
        let _busy = Busy::claim_read(self)?;
        if n == 0 {
            return Ok(Bytes::new());
        }
        if !partial && n > self.inner.max_buffer_size {
            return Err(self.fail_read_full());
        }
        poll_fn(|cx| loop {
            let buffered = self.inner.read_buffer.borrow().len();
            if buffered >= n || (partial && buffered > 0) {
                let take = n.min(buffered);
                return Poll::Ready(Ok(self
                    .inner
                    .read_buffer
                    .borrow_mut()
                    .split_to(take)
                    .freeze()));
            }
            match self.poll_fill(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                Poll::Pending => return Poll::Pending,
            }
        })
        .await
    }

    /// Reads into `buf`: fills it completely, or with `partial`, returns as
    /// soon as at least one byte was copied. Returns the count copied.
    ///
    /// # Tornado
    /// `IOStream.read_into(buf, partial=False)`.
    pub async fn read_into(&self, buf: &mut [u8], partial: bool) -> StreamResult<usize> {
        let _busy = Busy::claim_read(self)?;
        let mut filled = 0;
        poll_fn(|cx| loop {
            {
                let mut buffer = self.inner.read_buffer.borrow_mut();
                let take = buffer.len().min(buf.len() - filled);
                buffer.copy_to_slice(&mut buf[filled..filled + take]);
                filled += take;
            }
            if filled == buf.len() || (partial && filled > 0) {
                return Poll::Ready(Ok(filled));
            }
            match self.poll_fill(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                Poll::Pending => return Poll::Pending,
            }
        })
        .await
    }

    /// Reads until the peer closes; returns everything read.
    ///
    /// Fails with [`StreamError::BufferFull`] (and closes) if that is more than
    /// `max_buffer_size`.
    ///
    /// # Tornado
    /// `IOStream.read_until_close()`.
    pub async fn read_until_close(&self) -> StreamResult<Bytes> {
        let _busy = Busy::claim_read(self)?;
        poll_fn(|cx| loop {
            if self.inner.eof.get() || self.closed() {
                let rest = self.inner.read_buffer.borrow_mut().split().freeze();
                return Poll::Ready(Ok(rest));
            }
            match self.poll_fill(cx) {
                Poll::Ready(Ok(())) => {}
                // EOF surfaces as Closed from poll_fill; the loop top returns
                // the data. So does a reset, as in Tornado: some peers that
                // close with our bytes unread are reported that way.
                Poll::Ready(Err(StreamError::Closed(closed)))
                    if self.inner.eof.get() || closed.is_reset() => {}
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                Poll::Pending => return Poll::Pending,
            }
        })
        .await
    }

    /// Reads once from the socket into the read buffer. `Ready(Ok)` means
    /// bytes arrived; errors close the stream.
    fn poll_fill(&self, cx: &mut Context<'_>) -> Poll<StreamResult<()>> {
        if let Some(cause) = &*self.inner.closed.borrow() {
            return Poll::Ready(Err(cause.to_error()));
        }
        if self.inner.eof.get() {
            return Poll::Ready(Err(CloseCause::clean().to_error()));
        }
        let room = self
            .inner
            .max_buffer_size
            .saturating_sub(self.inner.read_buffer.borrow().len());
        // A full buffer still reads one byte, to tell "exactly
        // max_buffer_size, then EOF" (which `read_until_close` returns) from
        // more than that (an error), as Tornado errs only past the limit.
        let want = room.min(self.inner.read_chunk_size).max(1);
        let result = {
            let mut buffer = self.inner.read_buffer.borrow_mut();
            self.poll_read_raw(cx, &mut buffer, want)
        };
        match result {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(0)) => {
                self.inner.eof.set(true);
                self.close_with(CloseCause::clean());
                Poll::Ready(Err(CloseCause::clean().to_error()))
            }
            Poll::Ready(Ok(_)) if room == 0 => {
                // The buffer never holds more than max_buffer_size.
                (self.inner.read_buffer.borrow_mut()).truncate(self.inner.max_buffer_size);
                Poll::Ready(Err(self.fail_read_full()))
            }
            Poll::Ready(Ok(_)) => Poll::Ready(Ok(())),
            Poll::Ready(Err(err)) => {
                let cause = CloseCause::from_error(&err);
                self.close_with(cause.clone());
                Poll::Ready(Err(cause.to_error()))
            }
        }
    }

    /// One read from the socket, appending at most `want` bytes to `buffer`;
    /// `Ok(0)` is EOF. Does not touch the stream's own state.
    fn poll_read_raw(
        &self,
        cx: &mut Context<'_>,
        buffer: &mut BytesMut,
        want: usize,
    ) -> Poll<io::Result<usize>> {
        self.inner.registration.poll_read(cx, want, || {
            let start = buffer.len();
            // Zero-filling the spare room keeps this free of `unsafe`; it is a
            // memset next to a syscall.
            buffer.resize(start + want, 0);
            let outcome = self.with_socket(|mut socket| socket.read(&mut buffer[start..]));
            buffer.truncate(start + *outcome.as_ref().unwrap_or(&0));
            outcome
        })
    }

    /// Reads once from the socket straight into `buffer` (at most `want`
    /// bytes), bypassing the stream's read buffer, which must be empty: the
    /// HTTP connection reads into its codec's buffer this way, with no copy.
    /// `Ok(0)` means EOF; the stream is then closed. An error closes it too.
    pub(crate) fn poll_read_into(
        &self,
        cx: &mut Context<'_>,
        buffer: &mut BytesMut,
        want: usize,
    ) -> Poll<StreamResult<usize>> {
        if let Some(cause) = &*self.inner.closed.borrow() {
            return Poll::Ready(Err(cause.to_error()));
        }
        self.inner.direct_reads.set(true);
        let polled = self.poll_read_raw(cx, buffer, want.max(1));
        self.end_direct_read(polled)
    }

    /// [`poll_read_into`](Self::poll_read_into) into a plain slice (a
    /// caller's stack buffer, say), bypassing the stream's read buffer.
    pub(crate) fn poll_read_slice(
        &self,
        cx: &mut Context<'_>,
        buffer: &mut [u8],
    ) -> Poll<StreamResult<usize>> {
        if let Some(cause) = &*self.inner.closed.borrow() {
            return Poll::Ready(Err(cause.to_error()));
        }
        self.inner.direct_reads.set(true);
        let len = buffer.len();
        let polled = self.inner.registration.poll_read(cx, len, || {
            self.with_socket(|mut socket| socket.read(buffer))
        });
        self.end_direct_read(polled)
    }

    /// Ready once the peer has closed its side or the socket failed (the
    /// stream is then closed, its close callback run), or if the stream is
    /// closed already: for a reader that stopped reading, its buffer full,
    /// to notice the peer leaving without reading what it sent first.
    pub(crate) fn poll_peer_closed(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.closed() {
            return Poll::Ready(());
        }
        ready!(self.inner.registration.poll_read_closed(cx));
        self.close();
        Poll::Ready(())
    }

    /// A direct read's outcome: EOF and errors close the stream.
    fn end_direct_read(&self, polled: Poll<io::Result<usize>>) -> Poll<StreamResult<usize>> {
        match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(0)) => {
                self.inner.eof.set(true);
                self.close_with(CloseCause::clean());
                Poll::Ready(Ok(0))
            }
            Poll::Ready(Ok(n)) => Poll::Ready(Ok(n)),
            Poll::Ready(Err(err)) => {
                let cause = CloseCause::from_error(&err);
                self.close_with(cause.clone());
                Poll::Ready(Err(cause.to_error()))
            }
        }
    }

    fn fail_read(&self, why: &'static str) -> StreamError {
        self.close_with(CloseCause::clean());
        StreamError::UnsatisfiableRead(why)
    }

    fn fail_read_full(&self) -> StreamError {
        self.close_with(CloseCause::clean());
        StreamError::BufferFull
    }

    /// Number of bytes read from the socket but not yet consumed.
    ///
    /// # Tornado
    /// `IOStream._read_buffer_size` (private in Tornado).
    pub fn read_buffer_size(&self) -> usize {
        self.inner.read_buffer.borrow().len()
    }

    /// Buffers `data` for the next [`flush`](IOStream::flush); sends nothing.
    ///
    /// # Errors
    /// [`StreamError::Closed`] if the stream is closed;
    /// [`StreamError::BufferFull`] if `max_write_buffer_size` would be exceeded.
    ///
    /// # Tornado
    /// `IOStream.write(data)`, except that sending waits for `flush` (see the
    /// module docs).
    pub fn write(&self, data: impl Into<Bytes>) -> StreamResult<()> {
        let data = data.into();
        self.check_writable(data.len())?;
        self.inner.write_buffer.borrow_mut().push(data);
        Ok(())
    }

    /// Buffers a copy of `data` (small writes are coalesced without allocating).
    ///
    /// # Tornado
    /// `IOStream.write(data)`, buffering only, as [`write`](IOStream::write).
    pub fn write_slice(&self, data: &[u8]) -> StreamResult<()> {
        self.check_writable(data.len())?;
        self.inner.write_buffer.borrow_mut().push_slice(data);
        Ok(())
    }

    fn check_writable(&self, adding: usize) -> StreamResult<()> {
        if let Some(cause) = &*self.inner.closed.borrow() {
            return Err(cause.to_error());
        }
        if let Some(limit) = self.inner.max_write_buffer_size {
            if self
                .inner
                .write_buffer
                .borrow()
                .len()
                .saturating_add(adding)
                > limit
            {
                return Err(StreamError::BufferFull);
            }
        }
        Ok(())
    }

    /// Number of bytes buffered by [`write`](IOStream::write) and not yet
    /// taken by the kernel.
    pub fn write_buffer_size(&self) -> usize {
        self.inner.write_buffer.borrow().len()
    }

    /// Sends everything buffered; resolves once the kernel holds every byte.
    ///
    /// While the peer reads slowly (the socket's send buffer is full) this
    /// waits: that is the backpressure a producer needs. If the connection
    /// fails or the stream is closed, the buffered bytes are dropped and this
    /// returns [`StreamError::Closed`] with the cause.
    ///
    /// # Tornado
    /// No `flush` in Tornado: `await stream.write(data)` resolves once the
    /// data is sent, which is `write` then `flush().await` here.
    pub async fn flush(&self) -> StreamResult<()> {
        let _busy = Busy::claim(&self.inner.flushing, "already flushing")?;
        poll_fn(|cx| self.poll_flush(cx)).await
    }

    fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<StreamResult<()>> {
        loop {
            if let Some(cause) = &*self.inner.closed.borrow() {
                return Poll::Ready(Err(cause.to_error()));
            }
            if self.inner.write_buffer.borrow().is_empty() {
                return Poll::Ready(Ok(()));
            }
            let result = self.inner.registration.poll_io(cx, Direction::Write, || {
                self.with_socket(|socket| self.inner.write_buffer.borrow_mut().write_to(socket))
            });
            match result {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(0)) => {
                    let err = io::Error::new(io::ErrorKind::WriteZero, "socket accepted no bytes");
                    self.close_with(CloseCause::from_error(&err));
                }
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(err)) => self.close_with(CloseCause::from_error(&err)),
            }
        }
    }

    /// [`flush`](IOStream::flush), then `out`'s bytes after what was queued;
    /// resolves once the kernel holds them all, and fails as `flush` does.
    ///
    /// With nothing queued (the usual case: a response encoded into its
    /// connection's buffer) `out` is written to the socket as it is and
    /// advanced by what the kernel takes, costing no copy and no allocation;
    /// behind queued bytes it joins the queue. `out` is borrowed only during
    /// each poll, so its owner may append to it while this waits.
    pub(crate) async fn flush_from(&self, out: &RefCell<BytesMut>) -> StreamResult<()> {
        let _busy = match Busy::claim(&self.inner.flushing, "already flushing") {
            Ok(busy) => busy,
            Err(err) => {
                // As `write` then `flush` would: the bytes are queued for
                // the flush under way, and this one fails.
                self.queue_from(out)?;
                return Err(err);
            }
        };
        poll_fn(|cx| self.poll_flush_from(cx, out)).await
    }

    /// Writes what it can of the queue and then `out` without waiting for
    /// it to finish, as [`flush_from`](IOStream::flush_from) would start
    /// to; `Ready(Ok)` once all of it is written. While a flush is under way
    /// this does nothing: that flush writes `out` too.
    pub(crate) fn poll_write_out(
        &self,
        cx: &mut Context<'_>,
        out: &RefCell<BytesMut>,
    ) -> Poll<StreamResult<()>> {
        if self.inner.flushing.get() {
            return Poll::Pending;
        }
        self.poll_flush_from(cx, out)
    }

    /// Moves `out`'s bytes to the end of the write queue.
    fn queue_from(&self, out: &RefCell<BytesMut>) -> StreamResult<()> {
        let mut out = out.borrow_mut();
        self.check_writable(out.len())?;
        // Splitting even an empty buffer may allocate (to share it).
        if !out.is_empty() {
            self.inner
                .write_buffer
                .borrow_mut()
                .push(out.split().freeze());
        }
        Ok(())
    }

    /// One poll of [`flush_from`](IOStream::flush_from).
    fn poll_flush_from(
        &self,
        cx: &mut Context<'_>,
        out: &RefCell<BytesMut>,
    ) -> Poll<StreamResult<()>> {
        loop {
            if let Some(cause) = &*self.inner.closed.borrow() {
                // Dropped, as the stream's own buffered bytes were at close.
                out.borrow_mut().clear();
                return Poll::Ready(Err(cause.to_error()));
            }
            if !self.inner.write_buffer.borrow().is_empty() {
                // Queued bytes (large pieces `write` kept as they are) go
                // first: `out`'s follow them through the queue.
                if let Err(err) = self.queue_from(out) {
                    return Poll::Ready(Err(err));
                }
                return self.poll_flush(cx);
            }
            if out.borrow().is_empty() {
                return Poll::Ready(Ok(()));
            }
            let result = self.inner.registration.poll_io(cx, Direction::Write, || {
                self.with_socket(|mut socket| socket.write(&out.borrow()))
            });
            match result {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(0)) => {
                    let err = io::Error::new(io::ErrorKind::WriteZero, "socket accepted no bytes");
                    self.close_with(CloseCause::from_error(&err));
                }
                Poll::Ready(Ok(n)) => consume(&mut out.borrow_mut(), n),
                Poll::Ready(Err(err)) => self.close_with(CloseCause::from_error(&err)),
            }
        }
    }

    /// True once the stream is closed (locally, by the peer, or by an error).
    ///
    /// # Tornado
    /// `IOStream.closed()`.
    pub fn closed(&self) -> bool {
        self.inner.closed.borrow().is_some()
    }

    /// Why the stream closed: `None` while open or after a clean close.
    ///
    /// # Tornado
    /// `IOStream.error`.
    pub fn error(&self) -> Option<io::Error> {
        match self
            .inner
            .closed
            .borrow()
            .as_ref()
            .map(CloseCause::to_error)
        {
            Some(StreamError::Closed(closed)) => closed.real_error,
            _ => None,
        }
    }

    /// Closes the stream: the socket is closed at once, buffered writes are
    /// dropped, pending reads and flushes fail with [`StreamError::Closed`],
    /// and the close callback runs on the next loop iteration.
    ///
    /// # Tornado
    /// `IOStream.close()`.
    pub fn close(&self) {
        self.close_with(CloseCause::clean());
    }

    fn close_with(&self, cause: CloseCause) {
        if self.closed() {
            return;
        }
        *self.inner.closed.borrow_mut() = Some(cause);
        let socket = self.inner.socket.borrow_mut().take();
        if let Some(mut socket) = socket {
            // Errors here mean the socket is already gone; closing is all that is left.
            let _ = self.inner.registration.deregister(&mut socket);
            let _ = socket.shutdown(Shutdown::Both);
        }
        self.inner.write_buffer.borrow_mut().clear();
        self.inner.registration.wake_all();
        self.wake_watcher();
        let callback = self.take_close_callback();
        // On the stream's own loop, whichever is current. A stream closed
        // as that loop is torn down (its task dropped) has no loop left to
        // run the callback on: it is dropped.
        if let (Some(callback), Some(ioloop)) = (callback, self.inner.registration.ioloop()) {
            ioloop.add_callback(callback);
        }
    }

    /// Calls `callback` once when the stream closes, for whatever reason:
    /// also when the peer closes while nothing reads, flushes or waits in
    /// the buffer. Until then, bytes that arrive while no read is under way
    /// and nothing is buffered are read into the buffer (one chunk) for the
    /// next read. (Not when the socket is read by an HTTP connection, which
    /// watches for the close itself.)
    ///
    /// # Tornado
    /// `IOStream.set_close_callback(callback)`.
    pub fn set_close_callback(&self, callback: impl FnOnce() + 'static) {
        if self.closed() {
            IOLoop::current().add_callback(callback);
        } else {
            self.watch_for_close(Box::new(callback));
        }
    }
}

/// Drops the first `n` bytes of `out`, which the kernel took.
fn consume(out: &mut BytesMut, n: usize) {
    if n < out.len() {
        out.advance(n);
        return;
    }
    out.clear();
    // Partial sends advanced the start; with the buffer empty, moving it
    // back copies nothing and allocates nothing (`try_reclaim` never does),
    // and gives the next response, or the buffer pool, the whole capacity.
    // Asking for one byte more than the capacity is what makes it look.
    let _ = out.try_reclaim(out.capacity() + 1);
}

impl fmt::Debug for IOStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IOStream")
            .field("peer", &self.peer_addr().ok())
            .field("closed", &self.closed())
            .field("read_buffer", &self.read_buffer_size())
            .field("write_buffer", &self.write_buffer_size())
            .finish()
    }
}
