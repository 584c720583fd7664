//! `deploy/nginx.conf`, for real: nginx in front of two instances of
//! `examples/deploy_app.rs`, checked through nginx with a raw client.
//!
//! Skipped (with the reason printed) when no `nginx` binary is found; CI
//! installs Debian's `nginx-light`. The config under test is
//! `deploy/nginx.conf` itself, with only its ports and file paths replaced,
//! so the file we ship is the file we test.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};
use test_support::wait_until;

/// How long a child may take to start listening or to stop.
const CHILD_TIMEOUT: Duration = Duration::from_secs(20);

/// The byte pattern `/stream/bytes` sends: byte `i` is `ALPHABET[i % 26]`.
const ALPHABET: &[u8; 26] = b"abcdefghijklmnopqrstuvwxyz";

/// The nginx binary: on `PATH`, or where distributions install it (a
/// non-root `PATH` often lacks `/usr/sbin`).
fn find_nginx() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain(["/usr/sbin", "/usr/local/sbin", "/usr/local/nginx/sbin"].map(PathBuf::from))
        .map(|dir| dir.join("nginx"))
        .find(|candidate| candidate.is_file())
}

/// Builds `examples/deploy_app.rs` and returns its path.
fn build_deploy_app() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new(env!("CARGO"))
        .current_dir(root)
        .args(["build", "--example", "deploy_app"])
        .output()
        .expect("cannot run cargo");
    assert!(
        output.status.success(),
        "building deploy_app failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // A relative CARGO_TARGET_DIR is relative to where cargo ran: the root.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), |dir| root.join(dir));
    target
        .join("debug")
        .join("examples")
        .join(format!("deploy_app{}", std::env::consts::EXE_SUFFIX))
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("cannot find a free port")
        .port()
}

/// A fresh directory under the system's temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "tornado-deploy-nginx-{}-{nanos}",
            std::process::id()
        ));
        fs::create_dir_all(&dir).expect("cannot create a temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Every child process the test started; each is stopped on drop, on every
/// path (a failed assertion included). nginx gets SIGTERM first so its
/// master takes its workers down with it.
#[derive(Default)]
struct Children {
    running: Vec<(String, Child)>,
}

impl Children {
    fn spawn(&mut self, name: &str, command: &mut Command) -> u32 {
        let child = command
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {name}: {err}"));
        let pid = child.id();
        self.running.push((name.to_owned(), child));
        pid
    }

    fn get_mut(&mut self, name: &str) -> &mut Child {
        &mut self
            .running
            .iter_mut()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no child named {name}"))
            .1
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for (_, child) in &mut self.running {
            if matches!(child.try_wait(), Ok(None)) {
                signal(child.id(), "TERM");
            }
        }
        for (_, child) in &mut self.running {
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Sends `SIG<name>` to `pid` with kill(1).
fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .args([format!("-{name}"), pid.to_string()])
        .status();
}

/// Waits until something accepts connections on `port`; panics with `log`'s
/// contents if `child` exits first or the time runs out.
fn wait_listening(children: &mut Children, name: &str, port: u16, log: &Path) {
    let child = children.get_mut(name);
    let up = wait_until(CHILD_TIMEOUT, || {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{name} exited with {status}:\n{}",
                fs::read_to_string(log).unwrap_or_default()
            );
        }
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(
        up,
        "{name} is not listening on {port}:\n{}",
        fs::read_to_string(log).unwrap_or_default()
    );
}

/// `deploy/nginx.conf` with the upstream servers, the listen port and the
/// file paths replaced for this test. Every replacement must find its line,
/// so the test breaks loudly if the shipped file changes shape.
fn test_config(shipped: &str, upstreams: &[u16], listen: u16, dir: &Path) -> String {
    let mut out = String::new();
    let mut replaced = [false; 5];
    for line in shipped.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("server 127.0.0.1:") {
            if !replaced[0] {
                for port in upstreams {
                    out.push_str(&format!("        server 127.0.0.1:{port};\n"));
                }
            }
            replaced[0] = true;
        } else if trimmed == "listen 8080;" {
            out.push_str(&format!("        listen 127.0.0.1:{listen};\n"));
            replaced[1] = true;
        } else if trimmed.starts_with("access_log ") {
            out.push_str(&format!("    access_log {}/access.log;\n", dir.display()));
            replaced[2] = true;
        } else if trimmed == "worker_processes auto;" {
            out.push_str("worker_processes 2;\n");
            replaced[3] = true;
        } else if trimmed == "http {" {
            out.push_str("http {\n");
            // The distribution's temp paths may not be writable by this user.
            for name in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
                out.push_str(&format!(
                    "    {name}_temp_path {};\n",
                    dir.join(format!("{name}_temp")).display()
                ));
            }
            replaced[4] = true;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    assert_eq!(
        replaced,
        [true; 5],
        "deploy/nginx.conf changed shape: [upstream servers, listen 8080, access_log, worker_processes auto, http {{]"
    );
    out
}

/// A response read by [`get`].
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body_len: u64,
    /// The body, if short enough to keep.
    body: Vec<u8>,
    /// From sending the request to the first body byte, and to the end.
    first_byte: Option<Duration>,
    total: Duration,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Connects to `addr` from `source` (any 127/8 address works on loopback).
fn connect_from(source: &str, addr: SocketAddr) -> io::Result<TcpStream> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    let from: SocketAddr = format!("{source}:0").parse().expect("a source address");
    socket.bind(&from.into())?;
    socket.connect(&addr.into())?;
    let stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    Ok(stream)
}

/// `GET path` over HTTP/1.1 from `source`, with `extra` header lines; reads
/// to the end, checking a `/stream/bytes` body byte by byte. `on_head` runs
/// once the head has arrived.
fn get_with(
    source: &str,
    addr: SocketAddr,
    path: &str,
    extra: &str,
    on_head: impl FnOnce(),
) -> io::Result<Response> {
    let mut sock = connect_from(source, addr)?;
    let started = Instant::now();
    write!(
        sock,
        "GET {path} HTTP/1.1\r\nHost: example.test\r\n{extra}Connection: close\r\n\r\n"
    )?;
    let mut buf = vec![0; 256 * 1024];
    let mut head = Vec::new();
    let (head_end, mut pending) = loop {
        let n = sock.read(&mut buf)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("closed before the head: {}", String::from_utf8_lossy(&head)),
            ));
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = head.split_off(end + 4);
            break (end, rest);
        }
    };
    on_head();
    let text = String::from_utf8_lossy(&head[..head_end]).into_owned();
    let mut lines = text.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let check_pattern = path.starts_with("/stream/bytes");
    let mut response = Response {
        status,
        headers,
        body_len: 0,
        body: Vec::new(),
        first_byte: None,
        total: Duration::ZERO,
    };
    loop {
        if !pending.is_empty() {
            response.first_byte.get_or_insert_with(|| started.elapsed());
            if check_pattern {
                for (i, byte) in pending.iter().enumerate() {
                    let at = response.body_len + i as u64;
                    if *byte != ALPHABET[(at % 26) as usize] {
                        return Err(io::Error::other(format!("wrong byte at offset {at}")));
                    }
                }
            }
            if response.body.len() < 64 * 1024 {
                response.body.extend_from_slice(&pending);
            }
            response.body_len += pending.len() as u64;
        }
        let n = sock.read(&mut buf)?;
        if n == 0 {
            break;
        }
        pending = buf[..n].to_vec();
    }
    response.total = started.elapsed();
    if let Some(length) = response.header("Content-Length") {
        let length: u64 = length.parse().map_err(io::Error::other)?;
        if length != response.body_len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{} of {length} body bytes", response.body_len),
            ));
        }
    }
    Ok(response)
}

fn get(addr: SocketAddr, path: &str) -> Response {
    get_with("127.0.0.1", addr, path, "", || {}).unwrap_or_else(|err| panic!("GET {path}: {err}"))
}

#[test]
fn nginx_in_front_of_two_instances() {
    let Some(nginx) = find_nginx() else {
        println!("SKIPPED deploy_nginx: no nginx binary (apt-get install nginx-light)");
        return;
    };
    let app = build_deploy_app();
    let dir = TempDir::new();
    let mut children = Children::default();

    // Two instances, as deploy/tornado-app@.service starts them.
    let ports = [free_port(), free_port()];
    let mut pids = Vec::new();
    for (name, port) in ["a", "b"].iter().zip(ports) {
        let log = dir.0.join(format!("{name}.log"));
        let pid = children.spawn(
            name,
            Command::new(&app)
                .args([format!("--port={port}"), format!("--name={name}")])
                .stdout(Stdio::null())
                .stderr(File::create(&log).expect("a log file")),
        );
        pids.push(pid);
        wait_listening(&mut children, name, port, &log);
    }

    // nginx with the shipped config, as this user, in the foreground.
    let shipped =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/nginx.conf"))
            .expect("deploy/nginx.conf");
    let nginx_port = free_port();
    let conf = dir.0.join("nginx.conf");
    fs::write(&conf, test_config(&shipped, &ports, nginx_port, &dir.0)).expect("write nginx.conf");
    let error_log = dir.0.join("error.log");
    let globals = format!(
        "daemon off; pid {}; error_log {} info;",
        dir.0.join("nginx.pid").display(),
        error_log.display()
    );
    children.spawn(
        "nginx",
        Command::new(&nginx)
            .arg("-p")
            .arg(&dir.0)
            .arg("-c")
            .arg(&conf)
            .args(["-g", &globals])
            .stdout(Stdio::null())
            .stderr(File::create(dir.0.join("nginx.stderr")).expect("a log file")),
    );
    wait_listening(&mut children, "nginx", nginx_port, &error_log);
    let front: SocketAddr = ([127, 0, 0, 1], nginx_port).into();

    // Requests spread over both instances (round robin, shared by workers).
    let mut answered = [0; 2];
    for _ in 0..20 {
        let response = get(front, "/whoami");
        assert_eq!(response.status, 200, "{}", response.text());
        match response.header("X-Instance") {
            Some("a") => answered[0] += 1,
            Some("b") => answered[1] += 1,
            other => panic!("answered by {other:?}"),
        }
    }
    assert!(
        answered[0] >= 5 && answered[1] >= 5,
        "requests not spread: a {}, b {}",
        answered[0],
        answered[1]
    );

    // remote_ip is the client's, from nginx's X-Real-IP (xheaders), even
    // when the client sends a forged one: nginx replaces it.
    let response = get_with(
        "127.0.0.2",
        front,
        "/whoami",
        "X-Real-IP: 6.6.6.6\r\n",
        || {},
    )
    .expect("GET /whoami from 127.0.0.2");
    let text = response.text();
    assert!(
        text.contains(r#""remote_ip": "127.0.0.2""#) && text.contains(r#""protocol": "http""#),
        "{text}"
    );

    // A slow trickle passes through at once: proxy_buffering is off on
    // /stream/ (with it on, nginx would hold the first byte until the end).
    let response = get(front, "/stream/bytes?n=3&chunk=1&delay_ms=400");
    assert_eq!((response.status, response.text().as_str()), (200, "abc"));
    let first = response.first_byte.expect("a body");
    assert!(
        first < Duration::from_millis(300) && response.total >= Duration::from_millis(700),
        "first byte after {first:?}, all after {:?}",
        response.total
    );

    // 64 MiB arrives whole, and its first bytes long before its last.
    let n = 64 * 1024 * 1024;
    let response = get(
        front,
        &format!("/stream/bytes?n={n}&chunk=65536&delay_ms=1"),
    );
    assert_eq!((response.status, response.body_len), (200, n));
    let first = response.first_byte.expect("a body");
    assert!(
        first * 4 < response.total,
        "first byte after {first:?}, all after {:?}",
        response.total
    );

    // Stopping instance a gracefully loses nothing: requests in flight on
    // it finish, and new ones go to b.
    let (started_tx, started_rx) = mpsc::channel();
    let in_flight: Vec<_> = (0..6)
        .map(|_| {
            let started = started_tx.clone();
            thread::spawn(move || {
                get_with(
                    "127.0.0.1",
                    front,
                    "/stream/bytes?n=2097152&chunk=65536&delay_ms=50",
                    "",
                    move || {
                        let _ = started.send(());
                    },
                )
            })
        })
        .collect();
    for _ in 0..in_flight.len() {
        started_rx
            .recv_timeout(CHILD_TIMEOUT)
            .expect("every streaming request started");
    }
    signal(pids[0], "TERM");
    for _ in 0..20 {
        let response = get(front, "/whoami");
        assert_eq!(response.status, 200, "after SIGTERM: {}", response.text());
    }
    let mut served_by = Vec::new();
    for request in in_flight {
        let response = request
            .join()
            .expect("client thread")
            .expect("an in-flight request survives the stop");
        assert_eq!((response.status, response.body_len), (200, 2_097_152));
        served_by.push(response.header("X-Instance").unwrap_or("?").to_owned());
    }
    assert!(
        served_by.iter().any(|name| name == "a"),
        "no in-flight request was on the stopped instance: {served_by:?}"
    );
    let a = children.get_mut("a");
    assert!(
        wait_until(CHILD_TIMEOUT, || matches!(a.try_wait(), Ok(Some(_)))),
        "instance a did not exit after SIGTERM"
    );
    let status = a.try_wait().ok().flatten().expect("a has exited");
    assert!(status.success(), "instance a exited with {status}");
    let response = get(front, "/whoami");
    assert_eq!(response.header("X-Instance"), Some("b"));
}
