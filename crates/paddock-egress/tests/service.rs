//! The egress service as a process sees it: `service::run` on a thread (or in a child process
//! for signals and foreign uids), driven through its control socket with [`ControlClient`] and
//! queried over loopback. The upstream is the logging authority of `util`; 127.0.0.x addresses
//! play the jails. Every wait is bounded.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed setup step is a failed test

mod util;

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use paddock_egress::control::{Reply, MAX_LINE};
use paddock_egress::service::{self, ServiceConfig};
use paddock_egress::{ControlClient, EgressError, AUDIT_BATCH_WINDOW};
use paddock_policy::HostPattern;
use util::{
    a_records, ascii, ask, exchange_tcp, jail_ip, query, start_upstream, Upstream, IO_TIMEOUT,
};

/// The upstream on its own runtime, so the tests themselves can block.
struct Net {
    upstream: Upstream,
    rt: tokio::runtime::Runtime,
}

impl Net {
    fn new() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let upstream = rt.block_on(start_upstream());
        Self { upstream, rt }
    }

    /// One question over UDP from `from` to the service on `port`.
    fn ask(&self, from: IpAddr, port: u16, name: &str) -> Message {
        let server = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
        self.rt
            .block_on(ask(from, server, ascii(name), RecordType::A))
    }
}

fn config(dir: &Path, upstream: SocketAddr) -> ServiceConfig {
    let mut cfg = ServiceConfig::new(dir.join("egress.sock"), upstream);
    cfg.listen = IpAddr::V4(Ipv4Addr::LOCALHOST);
    cfg.idle_exit = Duration::from_millis(500);
    // CI runs tests as root; the service itself needs no privilege.
    cfg.dangerously_allow_root = nix::unistd::geteuid().is_root();
    cfg
}

/// A service running on a thread.
struct Service {
    socket: PathBuf,
    port: u16,
    audit: PathBuf,
    thread: JoinHandle<Result<(), EgressError>>,
}

impl Service {
    fn client(&self) -> ControlClient {
        ControlClient::connect(&self.socket, IO_TIMEOUT).unwrap()
    }

    /// Waits (bounded by `within`) for `run` to return.
    fn exit(self, within: Duration) -> Result<(), EgressError> {
        let deadline = Instant::now() + within;
        while !self.thread.is_finished() {
            assert!(
                Instant::now() < deadline,
                "service still running after {within:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        self.thread.join().unwrap()
    }

    /// The audit file once the service's writer has written what was recorded so far: events
    /// are written in batches at most `AUDIT_BATCH_WINDOW` after they are recorded.
    fn audit(&self) -> Vec<serde_json::Value> {
        std::thread::sleep(AUDIT_BATCH_WINDOW * 20);
        std::fs::read_to_string(&self.audit)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// Starts `run` on a thread and waits for `ready`; the error if it fails before that.
fn try_spawn(cfg: ServiceConfig) -> Result<Service, EgressError> {
    let socket = cfg.socket.clone();
    let audit = socket.with_extension("audit.jsonl");
    let file = std::fs::File::create(&audit).unwrap();
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        service::run(cfg, Box::new(file), move |port| {
            let _ = tx.send(port);
        })
    });
    match rx.recv_timeout(IO_TIMEOUT) {
        Ok(port) => Ok(Service {
            socket,
            port,
            audit,
            thread,
        }),
        // `ready` was dropped uncalled: run returned an error.
        Err(mpsc::RecvTimeoutError::Disconnected) => match thread.join().unwrap() {
            Err(error) => Err(error),
            Ok(()) => panic!("run returned Ok without calling ready"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("service not ready in {IO_TIMEOUT:?}"),
    }
}

fn spawn(cfg: ServiceConfig) -> Service {
    try_spawn(cfg).unwrap()
}

fn patterns(list: &[&str]) -> Vec<HostPattern> {
    list.iter().map(|p| p.parse().unwrap()).collect()
}

/// Asks until the answer is `want` (the service applies a closed connection's leases
/// asynchronously), bounded.
fn ask_until(net: &Net, from: IpAddr, port: u16, name: &str, want: ResponseCode) -> Message {
    let deadline = Instant::now() + IO_TIMEOUT;
    loop {
        let reply = net.ask(from, port, name);
        if reply.metadata.response_code == want || Instant::now() > deadline {
            return reply;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn hello_returns_the_dns_port() {
    let dir = tempfile::tempdir().unwrap();
    let svc = spawn(config(dir.path(), "127.0.0.1:9".parse().unwrap()));
    assert_ne!(svc.port, 0);
    let mut c = svc.client();
    assert_eq!(c.hello().unwrap(), svc.port);
    // The control socket is its owner's alone.
    let mode = std::fs::metadata(&svc.socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    drop(c);
    svc.exit(IO_TIMEOUT).unwrap();
}

#[test]
fn set_allows_listed_names_and_blocks_the_rest_without_asking_upstream() {
    let net = Net::new();
    let dir = tempfile::tempdir().unwrap();
    let svc = spawn(config(dir.path(), net.upstream.addr));
    let mut c = svc.client();
    let jail = jail_ip(2);
    c.set(jail, "j2", &patterns(&["api.corp.test", "*.svc.corp.test"]))
        .unwrap();
    // The reply came after the table changed: the very next query is decided by the policy.
    let reply = net.ask(jail, svc.port, "api.corp.test.");
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert_eq!(a_records(&reply), vec![Ipv4Addr::new(10, 1, 0, 1)]);
    let reply = net.ask(jail, svc.port, "db.svc.corp.test.");
    assert_eq!(a_records(&reply), vec![Ipv4Addr::new(10, 1, 0, 2)]);
    // TCP answers on the same port.
    let server = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), svc.port);
    let msg = query(ascii("api.corp.test."), RecordType::A);
    let reply = net.rt.block_on(exchange_tcp(jail, server, &msg));
    assert_eq!(a_records(&reply), vec![Ipv4Addr::new(10, 1, 0, 1)]);
    let reply = net.ask(jail, svc.port, "secret.corp.test.");
    assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
    assert!(!net.upstream.saw("secret"), "{:?}", net.upstream.seen());
    let audit = svc.audit();
    assert!(audit
        .iter()
        .any(|e| e["name"] == "secret.corp.test" && e["reason"] == "not_allowed"));
    assert!(audit.iter().all(|e| e["jail"] == "j2"));
    drop(c);
    svc.exit(IO_TIMEOUT).unwrap();
}

#[test]
fn remove_denies_again() {
    let net = Net::new();
    let dir = tempfile::tempdir().unwrap();
    let svc = spawn(config(dir.path(), net.upstream.addr));
    let mut c = svc.client();
    let jail = jail_ip(3);
    c.set(jail, "j3", &patterns(&["api.corp.test"])).unwrap();
    let reply = net.ask(jail, svc.port, "api.corp.test.");
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    c.remove(jail).unwrap();
    let reply = net.ask(jail, svc.port, "api.corp.test.");
    assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(net.upstream.seen().len(), 1);
    assert_eq!(svc.audit().last().unwrap()["reason"], "unknown_client");
    // Removing an address that has no entry is not an error.
    c.remove(jail).unwrap();
    // Two more queries just before the service stops: their events are written at exit.
    for _ in 0..2 {
        let reply = net.ask(jail, svc.port, "api.corp.test.");
        assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
    }
    drop(c);
    let audit_path = svc.audit.clone();
    svc.exit(IO_TIMEOUT).unwrap();
    let lines = std::fs::read_to_string(audit_path).unwrap();
    let decisions: Vec<String> = lines
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["decision"].to_string())
        .collect();
    assert_eq!(decisions, ["\"allow\"", "\"deny\"", "\"deny\"", "\"deny\""]);
}

#[test]
fn blocks_a_killed_runners_jail_when_its_connection_closes() {
    let net = Net::new();
    let dir = tempfile::tempdir().unwrap();
    let svc = spawn(config(dir.path(), net.upstream.addr));
    // Keeps the service up while the runner's connection comes and goes.
    let mut keeper = svc.client();
    keeper.hello().unwrap();
    let jail = jail_ip(4);
    let mut runner = svc.client();
    runner
        .set(jail, "j4", &patterns(&["api.corp.test"]))
        .unwrap();
    assert_eq!(
        net.ask(jail, svc.port, "api.corp.test.")
            .metadata
            .response_code,
        ResponseCode::NoError
    );
    // What the kernel does for a SIGKILLed runner: the connection closes.
    drop(runner);
    let reply = ask_until(
        &net,
        jail,
        svc.port,
        "api.corp.test.",
        ResponseCode::NXDomain,
    );
    assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(svc.audit().last().unwrap()["reason"], "unknown_client");
    drop(keeper);
    svc.exit(IO_TIMEOUT).unwrap();
}

#[test]
fn a_lease_moved_to_a_new_connection_survives_the_old_one_closing() {
    let net = Net::new();
    let dir = tempfile::tempdir().unwrap();
    let svc = spawn(config(dir.path(), net.upstream.addr));
    let (jail, marker) = (jail_ip(5), jail_ip(6));
    let mut old = svc.client();
    old.set(jail, "old", &patterns(&["api.corp.test"])).unwrap();
    old.set(marker, "old", &patterns(&["api.corp.test"]))
        .unwrap();
    let mut new = svc.client();
    new.set(jail, "new", &patterns(&["later.corp.test"]))
        .unwrap();
    drop(old);
    // Once the old connection's leases are released (the marker is gone)…
    let reply = ask_until(
        &net,
        marker,
        svc.port,
        "api.corp.test.",
        ResponseCode::NXDomain,
    );
    assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
    // …the moved address still has the new connection's policy.
    let reply = net.ask(jail, svc.port, "later.corp.test.");
    assert_eq!(a_records(&reply), vec![Ipv4Addr::new(10, 1, 0, 6)]);
    let reply = net.ask(jail, svc.port, "api.corp.test.");
    assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
    drop(new);
    svc.exit(IO_TIMEOUT).unwrap();
}

/// Sends raw lines and reads raw replies.
fn raw(socket: &Path) -> (BufReader<UnixStream>, UnixStream) {
    let stream = UnixStream::connect(socket).unwrap();
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    (BufReader::new(stream.try_clone().unwrap()), stream)
}

fn read_reply(reader: &mut BufReader<UnixStream>) -> Reply {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap()
}

fn assert_closed(reader: &mut BufReader<UnixStream>) {
    let mut rest = String::new();
    // EOF, or a reset when the service closed with our bytes unread.
    let n = reader.read_line(&mut rest).unwrap_or(0);
    assert_eq!(n, 0, "connection still open: {rest:?}");
}

#[test]
fn invalid_json_gets_an_error_reply_and_the_connection_closes() {
    let dir = tempfile::tempdir().unwrap();
    let svc = spawn(config(dir.path(), "127.0.0.1:9".parse().unwrap()));
    let (mut reader, mut writer) = raw(&svc.socket);
    writer.write_all(b"{\"op\":\"hello\"}\n").unwrap();
    assert_eq!(
        read_reply(&mut reader),
        Reply::Ok {
            port: Some(svc.port)
        }
    );
    writer.write_all(b"not json\n").unwrap();
    let Reply::Error { message } = read_reply(&mut reader) else {
        panic!("invalid JSON accepted");
    };
    assert!(message.contains("invalid request"), "{message}");
    assert_closed(&mut reader);

    let (mut reader, mut writer) = raw(&svc.socket);
    writer.write_all(b"{\"op\":\"reboot\"}\n").unwrap();
    assert!(matches!(read_reply(&mut reader), Reply::Error { .. }));
    assert_closed(&mut reader);
    svc.exit(IO_TIMEOUT).unwrap();
}

#[test]
fn an_over_long_line_gets_an_error_reply_and_the_connection_closes() {
    let dir = tempfile::tempdir().unwrap();
    let svc = spawn(config(dir.path(), "127.0.0.1:9".parse().unwrap()));
    let (mut reader, mut writer) = raw(&svc.socket);
    // Written from another thread: the service stops reading after the limit.
    let sender = std::thread::spawn(move || {
        let _ = writer.write_all(&vec![b' '; MAX_LINE + 100]);
        writer
    });
    let Reply::Error { message } = read_reply(&mut reader) else {
        panic!("over-long line accepted");
    };
    assert!(message.contains("longer than"), "{message}");
    assert_closed(&mut reader);
    drop(sender.join().unwrap());
    svc.exit(IO_TIMEOUT).unwrap();
}

#[test]
fn an_invalid_pattern_is_refused_and_the_connection_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    let svc = spawn(config(dir.path(), "127.0.0.1:9".parse().unwrap()));
    let (mut reader, mut writer) = raw(&svc.socket);
    for pattern in ["*", "*.com", "10.0.0.1", "a..b"] {
        let line = format!(
            "{{\"op\":\"set\",\"client\":\"127.0.0.7\",\"jail\":\"j\",\"allow\":[\"ok.corp.test\",\"{pattern}\"]}}\n"
        );
        writer.write_all(line.as_bytes()).unwrap();
        let Reply::Error { message } = read_reply(&mut reader) else {
            panic!("{pattern} accepted");
        };
        assert!(message.contains(pattern), "{message}");
    }
    writer.write_all(b"{\"op\":\"hello\"}\n").unwrap();
    assert_eq!(
        read_reply(&mut reader),
        Reply::Ok {
            port: Some(svc.port)
        }
    );
    drop((reader, writer));
    svc.exit(IO_TIMEOUT).unwrap();
}

#[test]
fn exits_when_the_last_client_leaves_and_unlinks_its_socket() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), "127.0.0.1:9".parse().unwrap());
    cfg.idle_exit = Duration::from_millis(200);
    let svc = spawn(cfg);
    let socket = svc.socket.clone();
    let mut c = svc.client();
    c.hello().unwrap();
    // Held well past idle_exit: an open connection keeps the service up.
    std::thread::sleep(Duration::from_millis(600));
    assert!(!svc.thread.is_finished());
    assert_eq!(c.hello().unwrap(), svc.port);
    let left = Instant::now();
    drop(c);
    svc.exit(Duration::from_secs(1)).unwrap();
    assert!(left.elapsed() >= Duration::from_millis(200));
    assert!(!socket.exists());
    // A client arriving now finds no socket, and starts a new service.
    assert!(matches!(
        ControlClient::connect(&socket, IO_TIMEOUT),
        Err(EgressError::ControlConnect { .. })
    ));
}

#[test]
fn a_client_racing_the_idle_exit_is_answered_or_closed_never_left_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), "127.0.0.1:9".parse().unwrap());
    cfg.idle_exit = Duration::from_millis(100);
    let svc = spawn(cfg);
    let socket = svc.socket.clone();
    // Connect at varying delays around idle_exit until the service is gone.
    for delay in (80..160).step_by(3) {
        std::thread::sleep(Duration::from_millis(delay));
        let started = Instant::now();
        let Ok(mut c) = ControlClient::connect(&socket, IO_TIMEOUT) else {
            break;
        };
        match c.hello() {
            Ok(port) => assert_eq!(port, svc.port),
            Err(EgressError::ControlClosed { .. } | EgressError::ControlExchange { .. }) => {}
            Err(other) => panic!("{other}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "a client waited {:?}",
            started.elapsed()
        );
    }
    svc.exit(IO_TIMEOUT).unwrap();
    assert!(!socket.exists());
}

#[test]
fn exits_when_nobody_connects_after_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), "127.0.0.1:9".parse().unwrap());
    cfg.idle_exit = Duration::from_millis(200);
    let svc = spawn(cfg);
    let socket = svc.socket.clone();
    svc.exit(Duration::from_secs(1)).unwrap();
    assert!(!socket.exists());
}

#[test]
fn replaces_a_stale_socket_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "127.0.0.1:9".parse().unwrap());
    // A crashed service leaves its socket file behind, with nobody listening.
    drop(UnixListener::bind(&cfg.socket).unwrap());
    assert!(cfg.socket.exists());
    let svc = spawn(cfg);
    assert_eq!(svc.client().hello().unwrap(), svc.port);
    svc.exit(IO_TIMEOUT).unwrap();
}

#[test]
fn refuses_to_replace_a_file_that_is_not_a_socket() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "127.0.0.1:9".parse().unwrap());
    std::fs::write(&cfg.socket, b"keep me").unwrap();
    let socket = cfg.socket.clone();
    assert!(matches!(
        try_spawn(cfg),
        Err(EgressError::NotASocket { .. })
    ));
    assert_eq!(std::fs::read(&socket).unwrap(), b"keep me");
}

#[test]
fn a_second_service_on_the_same_socket_fails_as_already_running() {
    let dir = tempfile::tempdir().unwrap();
    let first = spawn(config(dir.path(), "127.0.0.1:9".parse().unwrap()));
    let mut c = first.client();
    c.hello().unwrap();
    let error = match try_spawn(config(dir.path(), "127.0.0.1:9".parse().unwrap())) {
        Err(error) => error,
        Ok(_) => panic!("two services on one socket"),
    };
    assert!(
        matches!(error, EgressError::AlreadyRunning { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("already answers"), "{error}");
    // The first one is untouched.
    assert_eq!(c.hello().unwrap(), first.port);
    drop(c);
    first.exit(IO_TIMEOUT).unwrap();
}

#[test]
fn refuses_to_run_as_root_unless_told_to() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("not root: the root refusal cannot be observed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), "127.0.0.1:9".parse().unwrap());
    cfg.dangerously_allow_root = false;
    let socket = cfg.socket.clone();
    assert!(matches!(try_spawn(cfg), Err(EgressError::RunningAsRoot)));
    assert!(!socket.exists());
}

// ---- Child processes: signals are process-wide, uids too. ----

const ROLE: &str = "PADDOCK_EGRESS_TEST_ROLE";
const SOCKET: &str = "PADDOCK_EGRESS_TEST_SOCKET";
const PEER_RESULT: &str = "PEER_RESULT:";

/// Not a test of its own: the body of the child processes below, selected by `ROLE`.
#[test]
fn helper_process() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let socket = PathBuf::from(std::env::var_os(SOCKET).unwrap());
    match role.as_str() {
        "service" => {
            let mut cfg = ServiceConfig::new(socket, "127.0.0.1:9".parse().unwrap());
            cfg.listen = IpAddr::V4(Ipv4Addr::LOCALHOST);
            cfg.idle_exit = Duration::from_secs(30);
            cfg.dangerously_allow_root = nix::unistd::geteuid().is_root();
            service::run(cfg, Box::new(std::io::sink()), |_| {}).unwrap();
        }
        "peer" => {
            let result = ControlClient::connect(&socket, IO_TIMEOUT).and_then(|mut c| {
                c.set(jail_ip(9), "evil", &patterns(&["*.corp.test"]))?;
                c.hello()
            });
            match result {
                Ok(port) => println!("{PEER_RESULT} accepted {port}"),
                Err(error) => println!("{PEER_RESULT} {error}"),
            }
        }
        other => panic!("unknown role {other}"),
    }
}

/// Runs `exe`'s `helper_process` in a child with `role`.
fn helper(exe: &Path, role: &str, socket: &Path) -> Command {
    let mut cmd = Command::new(exe);
    cmd.args([
        "--exact",
        "helper_process",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(ROLE, role)
    .env(SOCKET, socket)
    .stdin(Stdio::null());
    cmd
}

/// Kills the child if the test fails before it exits.
struct Reap(Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_child(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "child still running after {within:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn connect_when_up(socket: &Path) -> ControlClient {
    let deadline = Instant::now() + IO_TIMEOUT;
    loop {
        match ControlClient::connect(socket, IO_TIMEOUT) {
            Ok(c) => return c,
            Err(error) => assert!(Instant::now() < deadline, "service never came up: {error}"),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, sig: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, sig).unwrap();
}

#[test]
fn sigterm_unlinks_the_socket_and_exits_cleanly_and_sighup_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("egress.sock");
    let exe = std::env::current_exe().unwrap();
    let mut child = Reap(
        helper(&exe, "service", &socket)
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut c = connect_when_up(&socket);
    let port = c.hello().unwrap();
    // A closing terminal must not take every jail's resolver with it.
    signal(&child.0, nix::sys::signal::Signal::SIGHUP);
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        child.0.try_wait().unwrap().is_none(),
        "SIGHUP killed the service"
    );
    assert_eq!(c.hello().unwrap(), port);
    signal(&child.0, nix::sys::signal::Signal::SIGTERM);
    let status = wait_child(&mut child.0, IO_TIMEOUT);
    assert!(status.success(), "{status}");
    assert!(!socket.exists());
    // The open connection was closed, not left hanging.
    assert!(c.hello().is_err());
}

#[test]
fn blocks_policy_changes_from_other_users() {
    if !nix::unistd::geteuid().is_root() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run this test as root"
        );
        eprintln!("skipping: running a client as another uid needs root");
        return;
    }
    let net = Net::new();
    let dir = tempfile::tempdir().unwrap();
    let svc = spawn(config(dir.path(), net.upstream.addr));
    let mut keeper = svc.client();
    keeper.hello().unwrap();
    // Open the file-permission layer so that only the peer check stands in the way; a copy of
    // this binary lets uid 65534 run it wherever the build directory lives.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&svc.socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let exe = dir.path().join("helper");
    std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = helper(&exe, "peer", &svc.socket);
    cmd.uid(65534).gid(65534).stdout(Stdio::piped());
    let mut child = Reap(cmd.spawn().unwrap());
    let status = wait_child(&mut child.0, IO_TIMEOUT);
    let mut out = String::new();
    std::io::Read::read_to_string(child.0.stdout.as_mut().unwrap(), &mut out).unwrap();
    assert!(status.success(), "{status}: {out}");
    let result = out
        .split_once(PEER_RESULT)
        .and_then(|(_, rest)| rest.lines().next())
        .unwrap_or_else(|| panic!("no result from the peer: {out}"));
    assert!(result.contains("not allowed: uid 65534"), "{result}");
    // Nothing changed: the address the peer tried to open still resolves nothing.
    let reply = net.ask(jail_ip(9), svc.port, "api.corp.test.");
    assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
    assert!(net.upstream.seen().is_empty());
    drop(keeper);
    svc.exit(IO_TIMEOUT).unwrap();
}
