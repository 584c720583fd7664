//! Running out of file descriptors: the accept loop backs off instead of
//! spinning, keeps serving the connections it has, and accepts again once
//! descriptors are free.
//!
//! The server runs in a child process (this test binary re-run with an
//! environment variable) whose `RLIMIT_NOFILE` is lowered, so the limit
//! cannot disturb the other tests.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tornado::ioloop::IOLoop;
use tornado::iostream::IOStream;
use tornado::tcpserver::TCPServer;

const CHILD_ENV: &str = "TORNADO_FD_LIMIT_CHILD";
const FD_LIMIT: u64 = 64;

/// The child's body: an echo server under a low descriptor limit. A no-op
/// when run as an ordinary test.
#[test]
fn fd_limit_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let limit = libc::rlimit {
        rlim_cur: FD_LIMIT,
        rlim_max: FD_LIMIT,
    };
    // SAFETY: setrlimit reads the struct we pass and touches nothing else.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    let server = TCPServer::new(|stream: IOStream, _addr| async move {
        while let Ok(line) = stream.read_until(b"\n", None).await {
            if stream.write(line).is_err() || stream.flush().await.is_err() {
                break;
            }
        }
    });
    let addr = server.listen(0, "127.0.0.1").unwrap()[0];
    println!("PORT {}", addr.port());
    IOLoop::current().start().unwrap();
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// User plus system CPU time of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn echo(sock: &mut TcpStream, line: &[u8]) -> std::io::Result<Vec<u8>> {
    sock.write_all(line)?;
    let mut reply = vec![0; line.len()];
    sock.read_exact(&mut reply)?;
    Ok(reply)
}

#[test]
fn accept_backs_off_at_the_fd_limit_and_recovers() {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "fd_limit_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = KillOnDrop(child);
    let mut port = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        // The harness prints "test fd_limit_child ... " on the same line.
        if let Some((_, p)) = line.split_once("PORT ") {
            port = Some(p.trim().parse::<u16>().unwrap());
            break;
        }
    }
    let addr = SocketAddr::from(([127, 0, 0, 1], port.expect("child printed its port")));

    // Open twice as many connections as the child has descriptors. The kernel
    // completes every handshake (the backlog is 128); the child can accept
    // only until it runs out.
    let mut conns: Vec<TcpStream> = (0..2 * FD_LIMIT)
        .map(|_| {
            let sock = TcpStream::connect(addr).unwrap();
            sock.set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            sock
        })
        .collect();
    // The first connection is served while the server is at its limit.
    assert_eq!(echo(&mut conns[0], b"first\n").unwrap(), b"first\n");

    let before = cpu_ticks(child.0.id());
    std::thread::sleep(Duration::from_secs(1));
    let spent = cpu_ticks(child.0.id()) - before;
    // Spinning on accept would burn ~100 ticks (one core for one second).
    assert!(spent < 30, "the accept loop spun: {spent} ticks in 1 s");

    // The last connection waits in the backlog; free descriptors and it is served.
    let mut last = conns.pop().unwrap();
    last.write_all(b"last\n").unwrap();
    conns.truncate(1);
    let mut reply = [0u8; 5];
    last.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"last\n");
    assert_eq!(echo(&mut conns[0], b"again\n").unwrap(), b"again\n");
}
