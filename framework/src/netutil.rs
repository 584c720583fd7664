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
    in_binding_order(&mut addrs);
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
            Err(err) if may_skip(address, addr, &err) => last_error = Some(err),
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

/// IPv4 first, each address once, as Tornado sorts and dedups
/// `getaddrinfo`'s answers.
fn in_binding_order(addrs: &mut Vec<SocketAddr>) {
    addrs.sort_by_key(SocketAddr::is_ipv6);
    let mut seen = Vec::with_capacity(addrs.len());
    addrs.retain(|addr| {
        let first = !seen.contains(addr);
        seen.push(*addr);
        first
    });
}

/// Whether a failure to bind `addr`, one of the addresses `address` stands
/// for, leaves the others to bind (as long as one binds). Any family the
/// kernel does not support is skipped, as Tornado skips `EAFNOSUPPORT`; so
/// is an IPv6 address the host does not have: `::` for "all interfaces"
/// where IPv6 is disabled, and `::1` for `localhost` where it is partly
/// disabled (Docker's default: `/etc/hosts` names `::1`, the loopback
/// interface lacks it), as Tornado skips `EADDRNOTAVAIL` there. Any other
/// failure (the port in use) fails the call, as in Tornado: a server
/// answering on IPv4 alone would leave its IPv6 clients to whoever holds
/// the port there.
fn may_skip(address: &str, addr: SocketAddr, err: &io::Error) -> bool {
    let missing_v6 = addr.is_ipv6() && err.kind() == io::ErrorKind::AddrNotAvailable;
    err.raw_os_error() == Some(libc::EAFNOSUPPORT)
        || (missing_v6 && address.is_empty())
        || (missing_v6 && address == "localhost" && addr.ip() == IpAddr::V6(Ipv6Addr::LOCALHOST))
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
    fn failures_that_leave_the_other_addresses_to_bind() {
        let v6_loopback = SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 80);
        let v4_loopback = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 80);
        let not_available = io::Error::from(io::ErrorKind::AddrNotAvailable);
        let no_family = io::Error::from_raw_os_error(libc::EAFNOSUPPORT);
        let in_use = io::Error::from(io::ErrorKind::AddrInUse);
        assert!(may_skip("localhost", v6_loopback, &not_available));
        assert!(may_skip("example.test", v6_loopback, &no_family));
        let v6_any = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 80);
        assert!(may_skip("", v6_any, &not_available));
        // A port in use, or an address missing that was asked for, fails.
        assert!(!may_skip("", v6_any, &in_use));
        assert!(!may_skip("localhost", v6_loopback, &in_use));
        assert!(!may_skip("localhost", v4_loopback, &not_available));
        assert!(!may_skip("::1", v6_loopback, &not_available));
    }

    #[test]
    fn all_interfaces_fails_when_the_ipv6_port_is_taken() {
        // Someone holds the port on IPv6 only: binding "" must not settle
        // for IPv4 alone (skipped where this host has no IPv6).
        let Ok(taken) = bind_one("[::]:0".parse().unwrap(), DEFAULT_BACKLOG, false) else {
            return;
        };
        let port = taken.local_addr().unwrap().port();
        let err = bind_sockets(port, "", DEFAULT_BACKLOG, false).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    }

    #[test]
    fn ipv4_addresses_come_first_and_each_once() {
        let v6: SocketAddr = "[::1]:80".parse().unwrap();
        let v4: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let mut addrs = vec![v6, v4, v6, v4];
        in_binding_order(&mut addrs);
        assert_eq!(addrs, [v4, v6]);
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
