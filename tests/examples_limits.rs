//! The examples refuse what a client could use to take a server down, and
//! `deploy_app` stops on SIGINT as on SIGTERM (as PID 1 in a container, a
//! signal without a handler is ignored).

use std::process::{Command, Stdio};
use std::time::Duration;

use test_support::{fetch, wait_until, ExampleProcess};

/// `GET target` from `example`: the status.
fn status(example: &ExampleProcess, target: &str) -> u16 {
    let request = format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    fetch(example.addr, request.as_bytes(), false).status
}

#[test]
fn a_chunk_size_past_1_mib_is_a_400_not_an_allocation() {
    // A terabyte chunk aborted the process (the pattern is allocated whole).
    for (name, args) in [
        ("stream", &["--root=."][..]),
        ("deploy_app", &["--name=t"][..]),
    ] {
        let example = ExampleProcess::start(name, args, Stdio::null());
        let huge = "/stream/bytes?n=10&chunk=1099511627776";
        assert_eq!(status(&example, huge), 400, "{name}");
        assert_eq!(
            status(&example, "/stream/bytes?n=10&chunk=1048576"),
            200,
            "{name}"
        );
    }
    let example = ExampleProcess::start("deploy_app", &["--name=t"], Stdio::null());
    assert_eq!(
        status(&example, "/stream/bytes?n=2&chunk=1&delay_ms=1001"),
        400
    );
    assert_eq!(
        status(&example, "/stream/bytes?n=2&chunk=1&delay_ms=10"),
        200
    );
}

#[test]
fn deploy_app_stops_on_sigint() {
    let mut example = ExampleProcess::start("deploy_app", &["--name=t"], Stdio::null());
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
    let mut example =
        ExampleProcess::start("deploy_app", &["--name=t", "--grace=30"], Stdio::null());
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
