//! Listening sockets.
//!
//! # Tornado
//! `tornado.netutil`: [`bind_sockets`] keeps Tornado's name and arguments.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, ToSocketAddrs};

use socket2::{Domain, Protocol, Socket, Type};

/// Tornado's default listen backlog (`tornado.netutil._DEFAULT_BACKLOG`).
///
/// # Tornado
/// `tornado.netutil._DEFAULT_BACKLOG`.
pub const DEFAULT_BACKLOG: i32 = 128;

/// Creates listening sockets bound to `port` on `address`.
///
/// `address` may be an IP address or a host name (every address it resolves
/// to is bound); `""` means all interfaces, IPv4 and IPv6 (the IPv6 socket is
/// `IPV6_V6ONLY`, so the two do not clash). With `port` 0, the first socket
/// picks a free port and the others use the same one. `reuse_port` sets
/// `SO_REUSEPORT`, so several sockets (one per thread) can share the port and
/// the kernel spreads connections between them.
///
/// Sockets are non-blocking, with `SO_REUSEADDR` set.
///
/// # Tornado
/// `tornado.netutil.bind_sockets(port, address=None, family=AF_UNSPEC,
/// backlog=128, flags=None, reuse_port=False)`.
pub fn bind_sockets(
    port: u16,
    address: &str,
    backlog: i32,
    reuse_port: bool,
) -> io::Result<Vec<TcpListener>> {
    let mut addrs: Vec<SocketAddr> = if address.is_empty() {
        vec![
            SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
            SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port),
        ]
    } else {
        (address, port).to_socket_addrs()?.collect()
    };
    addrs.dedup();
    let mut listeners = Vec::new();
    let mut chosen_port = port;
    let mut last_error = None;
    for mut addr in addrs {
        if chosen_port != 0 {
            addr.set_port(chosen_port);
        }
        match bind_one(addr, backlog, reuse_port) {
            Ok(listener) => {
                chosen_port = listener.local_addr()?.port();
                listeners.push(listener);
            }
            // A host without IPv6 cannot bind `::`: fine when binding "all
            // interfaces", as long as some family worked.
            Err(err) if address.is_empty() && addr.is_ipv6() => last_error = Some(err),
            Err(err) => return Err(err),
        }
    }
    if listeners.is_empty() {
        return Err(last_error.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::AddrNotAvailable, "no address to bind")
        }));
    }
    Ok(listeners)
}

/// Binds one non-blocking listening socket.
pub fn bind_one(addr: SocketAddr, backlog: i32, reuse_port: bool) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    Ok(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ephemeral_port_is_shared_by_every_family() {
        let listeners = bind_sockets(0, "", DEFAULT_BACKLOG, false).unwrap();
        let ports: Vec<u16> = listeners
            .iter()
            .map(|l| l.local_addr().unwrap().port())
            .collect();
        assert!(ports[0] != 0);
        assert!(ports.iter().all(|p| *p == ports[0]), "{ports:?}");
    }

    #[test]
    fn reuse_port_lets_two_sockets_share_a_port() {
        let first = bind_sockets(0, "127.0.0.1", DEFAULT_BACKLOG, true).unwrap();
        let port = first[0].local_addr().unwrap().port();
        let second = bind_sockets(port, "127.0.0.1", DEFAULT_BACKLOG, true).unwrap();
        assert_eq!(second[0].local_addr().unwrap().port(), port);
        assert!(bind_sockets(port, "127.0.0.1", DEFAULT_BACKLOG, false).is_err());
    }
}
