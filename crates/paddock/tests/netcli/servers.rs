//! What runs on the far hosts: a logging TCP/UDP server and the upstream resolver (dnsmasq).
//! Both log what *arrives*, which is the oracle of every test: a client's own report proves
//! nothing about what left the jail.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::wait;
use super::PYTHON;

/// The logging server, run as root inside a namespace. argv: LOG LABEL SPEC…, a spec being
/// `tcp:ADDR:PORT` or `udp:ADDR:PORT`. One line per event:
/// `EV <time> <kind> <local> <peer> <data>`, kind `tcp-accept`, `tcp-data` or `udp`. A TCP
/// client gets `HTTP/1.0 200` with `hello from LABEL` for a GET, else `ack LABEL`.
const SERVER_PY: &str = r#"
import socket, sys, threading, time
log_path, label = sys.argv[1], sys.argv[2]
lock = threading.Lock()
logf = open(log_path, "a")
def log(kind, local, peer, data=""):
    with lock:
        logf.write("EV %.6f %s %s:%d %s:%d %s\n" % (time.time(), kind, local[0], local[1], peer[0], peer[1], data))
        logf.flush()
def clean(b):
    return b.decode("latin-1").strip().replace("\r", "").replace("\n", "|")[:300]
def conn(c, peer):
    local = c.getsockname()
    log("tcp-accept", local, peer)
    c.settimeout(2)
    try:
        data = c.recv(4096)
    except OSError:
        data = b""
    log("tcp-data", local, peer, clean(data))
    try:
        if data.startswith(b"GET"):
            body = ("hello from %s\n" % label).encode()
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
        else:
            c.sendall(("ack %s\n" % label).encode())
    except OSError:
        pass
    c.close()
def tcp_loop(s):
    while True:
        c, peer = s.accept()
        threading.Thread(target=conn, args=(c, peer), daemon=True).start()
def udp_loop(s):
    while True:
        data, peer = s.recvfrom(65535)
        log("udp", s.getsockname(), peer, clean(data))
for spec in sys.argv[3:]:
    proto, host, port = spec.split(":")
    if proto == "tcp":
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, int(port)))
        s.listen(128)
        threading.Thread(target=tcp_loop, args=(s,), daemon=True).start()
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((host, int(port)))
        threading.Thread(target=udp_loop, args=(s,), daemon=True).start()
with lock:
    logf.write("READY\n")
    logf.flush()
while True:
    time.sleep(3600)
"#;

/// One event a server logged.
#[derive(Clone, Debug)]
pub struct Event {
    /// Wall-clock time the server saw it.
    pub time: f64,
    /// `tcp-accept`, `tcp-data` or `udp`.
    pub kind: String,
    /// The address the packet was sent to, `IP:PORT`.
    pub local: String,
    /// The source the server saw, `IP:PORT`.
    pub peer: String,
    /// The payload (first line of a TCP request; a datagram).
    pub data: String,
}

impl Event {
    /// The peer's address without the port.
    pub fn peer_ip(&self) -> &str {
        self.peer.rsplit_once(':').map_or("", |(ip, _)| ip)
    }

    /// The local address without the port.
    pub fn local_ip(&self) -> &str {
        self.local.rsplit_once(':').map_or("", |(ip, _)| ip)
    }
}

/// A child process killed on drop.
pub struct Reaped(pub Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A logging server inside a namespace.
pub struct Server {
    /// Its event log.
    pub log: PathBuf,
    _child: Reaped,
}

impl Server {
    /// Starts the server in `ns` on `specs`, and waits until every socket is bound.
    pub fn start(ns: &str, label: &str, dir: &Path, specs: &[String]) -> Self {
        let log = dir.join(format!("server-{label}.log"));
        let err = File::create(dir.join(format!("server-{label}.err"))).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", ns, PYTHON, "-c", SERVER_PY])
            .arg(&log)
            .arg(label)
            .args(specs)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("spawn the logging server");
        let server = Server {
            log,
            _child: Reaped(child),
        };
        wait::expect(Duration::from_secs(10), &format!("server {label}"), || {
            std::fs::read_to_string(&server.log)
                .ok()
                .filter(|t| t.contains("READY"))
        });
        server
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<Event> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines().filter_map(parse_event).collect()
    }

    /// Events whose payload contains `needle`.
    pub fn with_data(&self, needle: &str) -> Vec<Event> {
        self.events()
            .into_iter()
            .filter(|e| e.data.contains(needle))
            .collect()
    }

    /// Waits up to 3 s for an event whose payload contains `needle`.
    pub fn expect_data(&self, needle: &str) -> Event {
        let what = format!("{needle:?} to arrive at {}", self.log.display());
        wait::expect(Duration::from_secs(3), &what, || {
            self.with_data(needle).into_iter().next()
        })
    }
}

fn parse_event(line: &str) -> Option<Event> {
    let mut f = line.splitn(6, ' ');
    if f.next()? != "EV" {
        return None;
    }
    Some(Event {
        time: f.next()?.parse().ok()?,
        kind: f.next()?.to_string(),
        local: f.next()?.to_string(),
        peer: f.next()?.to_string(),
        data: f.next().unwrap_or("").to_string(),
    })
}

/// The upstream resolver, dnsmasq, answering the test zones from its own configuration.
pub struct Dnsmasq {
    /// Its query log (`--log-queries=extra`: one line per query, with the client).
    pub log: PathBuf,
    _child: Reaped,
}

impl Dnsmasq {
    /// Starts dnsmasq in `ns` on `listen`:53, answering `zones` (`(domain, address)`), and
    /// waits until it has started.
    pub fn start(ns: &str, listen: &str, dir: &Path, zones: &[(&str, &str)]) -> Self {
        let log = dir.join("dnsmasq.log");
        let err = File::create(dir.join("dnsmasq.err")).unwrap();
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns, "/usr/sbin/dnsmasq"]);
        c.args([
            "--no-daemon",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--no-poll",
            "--bind-interfaces",
            "--port=53",
            "--cache-size=0",
            "--log-queries=extra",
            "--pid-file=",
            "--user=root",
            "--group=root",
        ]);
        c.arg(format!("--listen-address={listen}"));
        c.arg(format!("--log-facility={}", log.display()));
        for (domain, addr) in zones {
            c.arg(format!("--address=/{domain}/{addr}"));
        }
        let child = c
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("spawn dnsmasq");
        let d = Dnsmasq {
            log,
            _child: Reaped(child),
        };
        wait::expect(Duration::from_secs(10), "dnsmasq to start", || {
            std::fs::read_to_string(&d.log)
                .ok()
                .filter(|t| t.contains("started, version"))
        });
        d
    }

    /// The whole query log.
    pub fn text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Log lines that mention `needle` (a query, its answer, its forwarding).
    pub fn lines_with(&self, needle: &str) -> Vec<String> {
        self.text()
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_string)
            .collect()
    }
}
