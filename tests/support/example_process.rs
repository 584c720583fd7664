//! An example binary running as a child process, for tests that measure
//! it from outside (its RSS in `/proc`) or use it as a user would.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use crate::{example_binary, free_port, wait_for_port};

/// Example `name` serving on a free port; killed when dropped.
pub struct ExampleProcess {
    /// The process (its `stderr` is there when piped).
    pub child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl ExampleProcess {
    /// Starts example `name` with `--port=<free port>` and `args`, its
    /// stderr going to `stderr`, and waits until it listens.
    pub fn start(name: &str, args: &[&str], stderr: Stdio) -> ExampleProcess {
        let port = free_port();
        let child = Command::new(example_binary(name))
            .arg(format!("--port={port}"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|err| panic!("the {name} example runs: {err}"));
        let addr = wait_for_port(port);
        ExampleProcess { child, addr }
    }

    /// A `/proc/PID/status` field in KiB (`VmRSS`, `VmHWM`).
    pub fn status_kib(&self, field: &str) -> u64 {
        let path = format!("/proc/{}/status", self.child.id());
        let status = std::fs::read_to_string(path).expect("the example's /proc status");
        let line = status
            .lines()
            .find(|l| l.starts_with(&format!("{field}:")))
            .unwrap_or_else(|| panic!("no {field} in {status}"));
        line.split_whitespace()
            .nth(1)
            .and_then(|kib| kib.parse().ok())
            .unwrap_or_else(|| panic!("{field} is not a number of KiB: {line}"))
    }
}

/// Asserts that a server's RSS while a client paused (`paused_max`) and
/// its peak (`hwm`) stayed within `slack_kib` of `baseline` (all in KiB).
pub fn assert_rss_bounded(baseline: u64, paused_max: u64, hwm: u64, slack_kib: u64) {
    let limit = baseline + slack_kib;
    assert!(
        paused_max <= limit,
        "RSS grew to {paused_max} KiB from {baseline} KiB while paused"
    );
    assert!(
        hwm <= limit,
        "peak RSS {hwm} KiB from a baseline of {baseline} KiB"
    );
}

impl Drop for ExampleProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
