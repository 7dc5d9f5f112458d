//! Network attacks. The jail has its own network namespace with loopback only, so nothing
//! here can put a packet on the host's wire: connects to other addresses fail with
//! ENETUNREACH before any packet is built. Host-side listeners bind loopback or abstract
//! Unix names only.

use std::io::ErrorKind;
use std::net::TcpListener;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener};

use crate::util::{jail, require_root, unique, ECONNREFUSED, ENETUNREACH, EPERM};

#[test]
fn blocks_raw_inet_sockets() {
    if !require_root("blocks_raw_inet_sockets") {
        return;
    }
    let run = jail(&[]).py(r#"
attempt("raw4", lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))
attempt("raw4-tcp", lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP))
attempt("raw6", lambda: socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6))
attempt("udp", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
attempt("tcp6", lambda: socket.socket(socket.AF_INET6, socket.SOCK_STREAM))
"#);
    run.assert_errno("raw4", EPERM);
    run.assert_errno("raw4-tcp", EPERM);
    run.assert_errno("raw6", EPERM);
    run.assert_ok("udp");
    run.assert_ok("tcp6");
}

#[test]
fn blocks_packet_sockets() {
    if !require_root("blocks_packet_sockets") {
        return;
    }
    let run = jail(&[]).py(r#"
attempt("packet-raw", lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)))
attempt("packet-dgram", lambda: socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(3)))
attempt("unix", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
"#);
    run.assert_errno("packet-raw", EPERM);
    run.assert_errno("packet-dgram", EPERM);
    run.assert_ok("unix");
}

#[test]
fn blocks_reaching_non_loopback_addresses() {
    if !require_root("blocks_reaching_non_loopback_addresses") {
        return;
    }
    let run = jail(&[]).py(r#"
import time
def tcp(addr, port, fam=socket.AF_INET):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(3)
    s.connect((addr, port))
def udp(addr, port):
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", (addr, port))
t = time.monotonic()
attempt("tcp-203.0.113.10", lambda: tcp("203.0.113.10", 80))
attempt("tcp-10.0.0.1", lambda: tcp("10.0.0.1", 80))
attempt("tcp-10.213.0.1", lambda: tcp("10.213.0.1", 80))
attempt("udp-203.0.113.10", lambda: udp("203.0.113.10", 53))
attempt("tcp6-2001:db8::1", lambda: tcp("2001:db8::1", 80, socket.AF_INET6))
must("immediate", time.monotonic() - t < 1.0)
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
attempt("loopback", lambda: socket.create_connection(l.getsockname(), timeout=3))
"#);
    for tag in [
        "tcp-203.0.113.10",
        "tcp-10.0.0.1",
        "tcp-10.213.0.1",
        "udp-203.0.113.10",
        "tcp6-2001:db8::1",
    ] {
        run.assert_errno(tag, ENETUNREACH);
    }
    run.assert_ok("immediate");
    run.assert_ok("loopback");
}

#[test]
fn blocks_reaching_host_loopback_services() {
    if !require_root("blocks_reaching_host_loopback_services") {
        return;
    }
    let host = TcpListener::bind("127.0.0.1:0").unwrap();
    host.set_nonblocking(true).unwrap();
    let port = host.local_addr().unwrap().port();
    let run = jail(&[]).py(&format!(
        r#"
attempt("host-port", lambda: socket.create_connection(("127.0.0.1", {port}), timeout=3))
l = socket.socket(); l.bind(("127.0.0.1", {port})); l.listen(1)
attempt("jail-port", lambda: socket.create_connection(("127.0.0.1", {port}), timeout=3))
"#
    ));
    run.assert_errno("host-port", ECONNREFUSED);
    // Control: the same port in the jail's own namespace takes connections.
    run.assert_ok("jail-port");
    let accepted = host.accept().map(|_| ()).map_err(|e| e.kind());
    assert_eq!(
        accepted,
        Err(ErrorKind::WouldBlock),
        "the host listener got a connection"
    );
}

#[test]
fn blocks_abstract_socket_to_host_listener() {
    if !require_root("blocks_abstract_socket_to_host_listener") {
        return;
    }
    let name = unique("paddock-test");
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let host = UnixListener::bind_addr(&addr).unwrap();
    host.set_nonblocking(true).unwrap();
    let run = jail(&[]).py(&format!(
        r#"
def connect(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect("\0" + n)
attempt("host-abstract", lambda: connect("{name}"))
own = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
own.bind("\0{name}-jail"); own.listen(1)
attempt("jail-abstract", lambda: connect("{name}-jail"))
"#
    ));
    run.assert_errno("host-abstract", ECONNREFUSED);
    run.assert_ok("jail-abstract");
    let accepted = host.accept().map(|_| ()).map_err(|e| e.kind());
    assert_eq!(
        accepted,
        Err(ErrorKind::WouldBlock),
        "the host listener got a connection"
    );
}

#[test]
fn blocks_netfilter_and_other_netlink_families() {
    if !require_root("blocks_netfilter_and_other_netlink_families") {
        return;
    }
    let run = jail(&[]).py(r#"
for tag, proto in (("netfilter", 12), ("audit", 9), ("uevent", 15), ("generic", 16), ("xfrm", 6)):
    attempt(tag, lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, proto))
attempt("route", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0))
"#);
    for tag in ["netfilter", "audit", "uevent", "generic", "xfrm"] {
        run.assert_errno(tag, EPERM);
    }
    run.assert_ok("route");
}

#[test]
fn blocks_rare_socket_families() {
    if !require_root("blocks_rare_socket_families") {
        return;
    }
    let run = jail(&[]).py(r#"
attempt("af-alg", lambda: socket.socket(38, socket.SOCK_SEQPACKET, 0))
attempt("af-vsock", lambda: socket.socket(40, socket.SOCK_STREAM, 0))
attempt("af-key", lambda: socket.socket(15, socket.SOCK_RAW, 2))
attempt("af-bluetooth", lambda: socket.socket(31, socket.SOCK_RAW, 1))
"#);
    for tag in ["af-alg", "af-vsock", "af-key", "af-bluetooth"] {
        run.assert_errno(tag, EPERM);
    }
}

#[test]
fn blocks_seeing_host_network_interfaces() {
    if !require_root("blocks_seeing_host_network_interfaces") {
        return;
    }
    let run = jail(&[]).py(r#"
must("if-nameindex", [n for _, n in socket.if_nameindex()] == ["lo"])
must("sysfs", os.listdir("/sys/class/net") == ["lo"])
devs = [l.split(":")[0].strip() for l in open("/proc/net/dev").readlines()[2:]]
must("proc-net-dev", devs == ["lo"])
routes = open("/proc/net/route").readlines()[1:]
must("no-routes", all(r.split()[0] == "lo" for r in routes))
"#);
    for tag in ["if-nameindex", "sysfs", "proc-net-dev", "no-routes"] {
        run.assert_ok(tag);
    }
    // Control, where the host has more than loopback: the jail sees fewer interfaces.
    let host: Vec<_> = std::fs::read_dir("/sys/class/net")
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    if !host.iter().any(|n| n != "lo") {
        eprintln!("note: the host itself has only loopback ({host:?}); control is weak");
    }
}
