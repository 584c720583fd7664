//! The examples refuse what a client could use to take a server down, and
//! `deploy_app` stops on SIGINT as on SIGTERM (as PID 1 in a container, a
//! signal without a handler is ignored).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use test_support::{example_binary, fetch, free_port, wait_for_port, wait_until};

/// Runs example `name` with `args` on a free port; kills it when dropped.
struct Example {
    child: Child,
    addr: std::net::SocketAddr,
}

impl Example {
    fn start(name: &str, args: &[&str]) -> Example {
        let port = free_port();
        let child = Command::new(example_binary(name))
            .arg(format!("--port={port}"))
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let addr = wait_for_port(port);
        Example { child, addr }
    }

    fn status(&self, target: &str) -> u16 {
        let request = format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        fetch(self.addr, request.as_bytes(), false).status
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_chunk_size_past_1_mib_is_a_400_not_an_allocation() {
    // A terabyte chunk aborted the process (the pattern is allocated whole).
    for (name, args) in [
        ("stream", &["--root=."][..]),
        ("deploy_app", &["--name=t"][..]),
    ] {
        let example = Example::start(name, args);
        let huge = "/stream/bytes?n=10&chunk=1099511627776";
        assert_eq!(example.status(huge), 400, "{name}");
        assert_eq!(
            example.status("/stream/bytes?n=10&chunk=1048576"),
            200,
            "{name}"
        );
    }
    let example = Example::start("deploy_app", &["--name=t"]);
    assert_eq!(
        example.status("/stream/bytes?n=2&chunk=1&delay_ms=1001"),
        400
    );
    assert_eq!(example.status("/stream/bytes?n=2&chunk=1&delay_ms=10"), 200);
}

#[test]
fn deploy_app_stops_on_sigint() {
    let mut example = Example::start("deploy_app", &["--name=t"]);
    let pid = example.child.id().to_string();
    let sent = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(sent.success());
    let mut code = None;
    wait_until(Duration::from_secs(10), || {
        code = example.child.try_wait().unwrap();
        code.is_some()
    });
    assert_eq!(code.and_then(|status| status.code()), Some(0));
}

#[test]
fn a_second_signal_makes_deploy_app_exit_without_waiting() {
    let mut example = Example::start("deploy_app", &["--name=t", "--grace=30"]);
    // A request that takes 10 s keeps the first signal's shutdown waiting.
    let mut slow = std::net::TcpStream::connect(example.addr).unwrap();
    std::io::Write::write_all(
        &mut slow,
        b"GET /stream/bytes?n=10&chunk=1&delay_ms=1000 HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let pid = example.child.id().to_string();
    for signal in ["-TERM", "-INT"] {
        assert!(Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap()
            .success());
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut code = None;
    wait_until(Duration::from_secs(5), || {
        code = example.child.try_wait().unwrap();
        code.is_some()
    });
    assert_eq!(code.and_then(|status| status.code()), Some(1));
}
