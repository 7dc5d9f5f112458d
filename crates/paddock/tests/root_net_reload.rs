//! Hot reload against flows that are already open: a policy change that denies a destination
//! must stop a TCP connection and a UDP "connection" the jail opened while it was allowed, not
//! only new ones (DESIGN.md, "dynamic parts take effect within a second"; the issue: "flows
//! that the new policy denies stop"). Hosts are namespaces built by `netcli::topo`; the oracle
//! is what the far host logs, line by line, on the open connection.
//!
//! Root only: without root the test prints why and returns, unless `CI` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)] // shared helpers; this file uses a subset
mod netcli;
#[path = "escape/util.rs"]
#[allow(dead_code)]
mod util;

use std::process::{Command, Stdio};
use std::time::Duration;

use netcli::probe::{context, script};
use netcli::servers::Reaped;
use netcli::topo::Topology;
use netcli::{wait, PYTHON};
use util::Workdir;

/// Logs every line received on every TCP connection and every datagram, with the time.
const FLOW_SERVER: &str = r#"
import socket, sys, threading, time
logf = open(sys.argv[1], "a")
lock = threading.Lock()
def log(kind, data):
    with lock:
        logf.write("F %.6f %s %s\n" % (time.time(), kind, data))
        logf.flush()
def conn(c):
    buf = b""
    c.settimeout(30)
    try:
        while True:
            d = c.recv(4096)
            if not d:
                break
            buf += d
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                log("tcp", line.decode("latin-1"))
    except OSError:
        pass
    log("tcp-closed", "-")
def tcp_loop(s):
    while True:
        c, _ = s.accept()
        threading.Thread(target=conn, args=(c,), daemon=True).start()
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("203.0.113.10", 7001))
t.listen(16)
threading.Thread(target=tcp_loop, args=(t,), daemon=True).start()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("203.0.113.10", 7002))
def udp_loop():
    while True:
        d, _ = u.recvfrom(4096)
        log("udp", d.decode("latin-1"))
threading.Thread(target=udp_loop, daemon=True).start()
with lock:
    logf.write("READY\n")
    logf.flush()
time.sleep(60)
"#;

/// In the jail: one TCP connection and one connected UDP socket, opened once, then a numbered
/// line on each every 50 ms until `/workspace/stop` (at most 15 s). Send errors are logged.
const FLOW_CLIENT: &str = r#"
log = open("/workspace/flow.log", "a")
t = socket.create_connection(("203.0.113.10", 7001), timeout=2)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.connect(("203.0.113.10", 7002))
end = time.monotonic() + 15
i = 0
tcp_ok = True
while time.monotonic() < end and not os.path.exists("/workspace/stop"):
    if tcp_ok:
        try:
            t.sendall(b"flow-%d\n" % i)
        except OSError as e:
            log.write("tcp-error %.3f %d\n" % (time.time(), e.errno))
            tcp_ok = False
    try:
        u.send(b"flow-%d" % i)
    except OSError as e:
        log.write("udp-error %.3f %d\n" % (time.time(), e.errno))
    log.flush()
    i += 1
    time.sleep(0.05)
"#;

/// `(time, kind)` of every line the flow server logged.
fn flow_lines(path: &std::path::Path) -> Vec<(f64, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 3 && f[0] == "F").then(|| (f[1].parse().unwrap_or(0.0), f[2].to_string()))
        })
        .collect()
}

#[test]
fn hot_reload_stops_open_flows_the_new_policy_denies() {
    let test = "hot_reload_stops_open_flows_the_new_policy_denies";
    if !netcli::require(test) {
        return;
    }
    let t = Topology::new(0);
    let inet_ns = format!("pnc{}e", t.tag);
    let flow_log = t.path("flow-server.log");
    let server = Command::new("ip")
        .args(["netns", "exec", &inet_ns, PYTHON, "-c", FLOW_SERVER])
        .arg(&flow_log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the flow server");
    let _server = Reaped(server);
    wait::expect(Duration::from_secs(10), "the flow server", || {
        std::fs::read_to_string(&flow_log)
            .ok()
            .filter(|t| t.contains("READY"))
    });

    let w = Workdir::jail_owned();
    let name = format!("f{}", t.tag);
    let closed = t.write("intranet.yaml", "network:\n  mode: intranet\n");
    let bg = t
        .jail(&["--net", "internet", "--name", &name, "--workdir", w.arg()])
        .spawn(&[PYTHON, "-c", &script(FLOW_CLIENT, &[])]);
    // Positive control: both flows carry lines while the internet is allowed.
    wait::expect(Duration::from_secs(10), "lines on both open flows", || {
        let lines = flow_lines(&flow_log);
        let n = |k: &str| lines.iter().filter(|(_, kind)| kind == k).count();
        (n("tcp") >= 5 && n("udp") >= 5).then_some(())
    });

    let run = t.paddock(&[
        "policy",
        "set",
        "--jail",
        &name,
        "--wait",
        closed.to_str().unwrap(),
    ]);
    let done = wait::now();
    assert_eq!(run.code, 0, "policy set\n{}", context(&run));
    std::thread::sleep(Duration::from_millis(1200));
    std::fs::write(w.path().join("stop"), "").unwrap();
    let jail = bg.finish(Duration::from_secs(10));
    wait::settle();

    let lines = flow_lines(&flow_log);
    let before = |k: &str| {
        lines
            .iter()
            .filter(|(t, kind)| kind == k && *t < done)
            .count()
    };
    assert!(before("tcp") >= 5 && before("udp") >= 5, "{lines:?}");
    // `--wait` returned once the rules were in force: nothing of either flow may arrive after
    // it (a few ms of slack for a packet already on the wire).
    let late: Vec<&(f64, String)> = lines
        .iter()
        .filter(|(t, kind)| *t > done + 0.05 && (kind == "tcp" || kind == "udp"))
        .collect();
    assert!(
        late.is_empty(),
        "the open flows went on after the change: {late:?}"
    );
    // The jail learns at once: its TCP connection is reset by the new rules.
    let client_log = std::fs::read_to_string(w.path().join("flow.log")).unwrap_or_default();
    assert!(
        client_log.contains("tcp-error"),
        "the jail's TCP connection was not reset: {client_log}\n{}",
        context(&jail)
    );
    t.assert_clean();
}

/// The table is installed once and then only jails' chains are added (docs/network.md). If
/// someone deletes it behind Paddock's back, the next jail must notice and install it again,
/// never run unconfined.
#[test]
fn a_table_deleted_behind_paddocks_back_is_installed_again() {
    let test = "a_table_deleted_behind_paddocks_back_is_installed_again";
    if !netcli::require(test) {
        return;
    }
    let t = Topology::new(1);
    let curl = |url: &str| {
        t.jail(&["--net", "intranet"])
            .run(&["/usr/bin/curl", "-sS", "--max-time", "3", url])
    };
    let first = curl(&format!("http://{}/first", t.intra_ip()));
    assert_eq!(first.code, 0, "{}", context(&first));
    assert!(t.nft_tables().contains("inet paddock"));
    netcli::topo::run_ok(
        "ip",
        &[
            "netns", "exec", &t.host, "nft", "delete", "table", "inet", "paddock",
        ],
    );
    let intra = curl(&format!("http://{}/second", t.intra_ip()));
    assert_eq!(intra.code, 0, "{}", context(&intra));
    let inet = curl("http://203.0.113.10/escape-after-delete");
    // curl exit 7: connection refused (the rules' TCP reset), at once.
    assert_eq!(inet.code, 7, "{}", context(&inet));
    wait::settle();
    assert!(t.inet_srv.with_data("escape-after-delete").is_empty());
    assert!(t.nft_tables().contains("inet paddock"), "not reinstalled");
    t.assert_clean();
}
