//! Root test of a whole jail segment against hosts the test builds itself. Every host is a
//! network namespace, including Paddock's "host": the library runs inside it (on threads that
//! entered it), so the real host's interfaces, sysctls and ruleset are never touched, and
//! deleting the namespaces removes everything even when an assertion fails.
//!
//! ```text
//!   jail ns ── pdk<id>j 10.213.0.1/31 ══ pdk<id>h 10.213.0.0/31 ── host ns
//!   host ns ── ti<tag> 10.99.1.1/24  ══ eth0 10.99.1.10/24   ── intranet ns (TCP 80)
//!   host ns ── te<tag> 203.0.113.1/24 ══ eth0 203.0.113.10/24 ── internet ns (TCP 80, UDP 53, 9999)
//!                                                                 + 169.254.169.254 on its lo
//! ```
//! Traffic goes only to these namespaces.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed setup step is a failed test

mod common;

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use paddock_net::link::{list_host_links, prepare_host_link, remove_host_link};
use paddock_net::nft::{plan_jail, plan_table};
use paddock_net::sys::{in_netns, Netns};
use paddock_net::sysctl::{prepare_host_uplink, PROC_SYS};
use paddock_net::{Egress, JailId, JailRules, Nft, Pool, TableConfig, TableName};

const WAIT: Duration = Duration::from_millis(1500);

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// A TCP connect from inside `ns`: Ok, or the error kind, and how long it took.
fn tcp(ns: &Netns, to: &str) -> (Result<(), ErrorKind>, Duration) {
    let to = sa(to);
    in_netns(ns, || {
        let t = Instant::now();
        let r = TcpStream::connect_timeout(&to, WAIT)
            .map(drop)
            .map_err(|e| e.kind());
        (r, t.elapsed())
    })
    .unwrap()
}

/// Sends one datagram from inside `ns`, from `from` (an address the sender holds).
fn udp_send(ns: &Netns, from: &str, to: &str, payload: &str) {
    let (from, to) = (sa(from), sa(to));
    in_netns(ns, || {
        let s = UdpSocket::bind(from).unwrap();
        // An ICMP error may come back; the oracle is what the receiver got, not this result.
        let _ = s.send_to(payload.as_bytes(), to);
    })
    .unwrap();
}

fn udp_bind(ns: &Netns, at: &str) -> UdpSocket {
    let at = sa(at);
    let s = in_netns(ns, || UdpSocket::bind(at)).unwrap().unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    s
}

fn tcp_listen(ns: &Netns, at: &str) -> TcpListener {
    let at = sa(at);
    in_netns(ns, || TcpListener::bind(at)).unwrap().unwrap()
}

/// Every datagram that arrived at `s` so far (bounded in count and time).
fn received(s: &UdpSocket) -> Vec<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    for _ in 0..100 {
        match s.recv_from(&mut buf) {
            Ok((n, _)) => got.push(String::from_utf8_lossy(&buf[..n]).into_owned()),
            Err(_) => break,
        }
    }
    got
}

fn assert_rejected_fast(r: (Result<(), ErrorKind>, Duration), what: &str) {
    assert_eq!(r.0, Err(ErrorKind::ConnectionRefused), "{what}: {r:?}");
    assert!(r.1 < Duration::from_secs(1), "{what} took {:?}", r.1);
}

fn assert_dropped(r: (Result<(), ErrorKind>, Duration), what: &str) {
    assert!(r.0.is_err(), "{what} must fail: {r:?}");
    assert_ne!(
        r.0,
        Err(ErrorKind::ConnectionRefused),
        "{what} must be dropped, not answered"
    );
}

#[test]
fn root_net_jail_segment_intranet_then_internet() {
    if !common::root_or_skip("root_net_jail_segment_intranet_then_internet") {
        return;
    }
    let started = Instant::now();
    let tag = common::tag();
    let host = common::TestNs::new(&format!("pdkt{tag}host"));
    let jail_ns = common::TestNs::new(&format!("pdkt{tag}jail"));
    let intra = common::TestNs::new(&format!("pdkt{tag}intra"));
    let inet = common::TestNs::new(&format!("pdkt{tag}inet"));
    let (ti, te) = (format!("ti{tag}"), format!("te{tag}"));
    let (h, i, e) = (host.name.as_str(), intra.name.as_str(), inet.name.as_str());
    let ip = common::ip;
    ip(&[
        "link", "add", &ti, "netns", h, "type", "veth", "peer", "name", "eth0", "netns", i,
    ]);
    ip(&[
        "link", "add", &te, "netns", h, "type", "veth", "peer", "name", "eth0", "netns", e,
    ]);
    ip(&["-n", h, "addr", "add", "10.99.1.1/24", "dev", &ti]);
    ip(&["-n", h, "addr", "add", "203.0.113.1/24", "dev", &te]);
    ip(&["-n", i, "addr", "add", "10.99.1.10/24", "dev", "eth0"]);
    ip(&["-n", e, "addr", "add", "203.0.113.10/24", "dev", "eth0"]);
    ip(&["-n", e, "addr", "add", "169.254.169.254/32", "dev", "lo"]);
    for (ns, dev) in [(h, ti.as_str()), (h, te.as_str()), (i, "eth0"), (e, "eth0")] {
        ip(&["-n", ns, "link", "set", dev, "up"]);
    }
    // The "internet" routes metadata to itself, so only Paddock's rule can stop it.
    ip(&[
        "-n",
        h,
        "route",
        "add",
        "169.254.169.254/32",
        "via",
        "203.0.113.10",
    ]);
    let (hns, jns, ins, ens) = (host.open(), jail_ns.open(), intra.open(), inet.open());
    let proc_sys = Path::new(PROC_SYS);

    // Plumbing, inside the "host" namespace.
    let mut pool = Pool::new(paddock_net::pool::DEFAULT_POOL).unwrap();
    let pair = pool.allocate().unwrap();
    let id = JailId::new(&format!("t{tag}")).unwrap();
    let mut uplinks = Vec::new();
    for up in [&ti, &te] {
        if in_netns(&hns, || prepare_host_uplink(proc_sys, up))
            .unwrap()
            .unwrap()
        {
            uplinks.push(up.clone());
        }
    }
    assert_eq!(uplinks.len(), 2, "a fresh namespace does not forward");
    in_netns(&hns, || prepare_host_link(&id, pair, &jns, proc_sys))
        .unwrap()
        .unwrap();
    assert_eq!(
        in_netns(&hns, list_host_links).unwrap().unwrap(),
        vec![id.clone()]
    );

    let cfg = TableConfig {
        table: TableName::default(),
        pool: pool.net(),
        uplinks,
    };
    let mut rules = JailRules {
        id: id.clone(),
        pair,
        egress: Egress::Intranet {
            ranges: vec!["10.0.0.0/8".parse().unwrap()],
        },
        dns_port: 5353,
        host_ports: vec![],
    };
    let nft = Nft::default();
    let mut batch = plan_table(&cfg);
    batch.extend(plan_jail(&cfg, &rules));
    in_netns(&hns, || nft.apply_verified(&cfg.table, &batch))
        .unwrap()
        .unwrap();

    // Services: the intranet and internet web servers, a foreign resolver, a UDP sink, the
    // "DNS filter" on the gateway, and a host service that jails must not reach.
    let _web_i = tcp_listen(&ins, "10.99.1.10:80");
    let _web_e = tcp_listen(&ens, "203.0.113.10:80");
    let _meta = tcp_listen(&ens, "169.254.169.254:80");
    let foreign_dns = udp_bind(&ens, "203.0.113.10:53");
    let sink = udp_bind(&ens, "203.0.113.10:9999");
    let filter_udp = udp_bind(&hns, &format!("{}:5353", pair.host));
    let _filter_tcp = tcp_listen(&hns, &format!("{}:5353", pair.host));
    let _host_svc = tcp_listen(&hns, "0.0.0.0:8080");
    let jail_src = format!("{}:0", pair.jail);
    let gw = pair.host;

    // IPv6 is not configured in the jail: no address, and every IPv6 connect fails at once.
    let if_inet6 = in_netns(&jns, || {
        std::fs::read_to_string("/proc/thread-self/net/if_inet6").unwrap_or_default()
    })
    .unwrap();
    assert!(
        !if_inet6.contains(&id.jail_veth()),
        "IPv6 on the jail link: {if_inet6}"
    );
    let v6 = tcp(&jns, "[2001:db8::10]:80");
    assert!(
        v6.0.is_err() && v6.1 < Duration::from_secs(1),
        "IPv6 escape: {v6:?}"
    );

    // --- intranet ---
    assert_eq!(
        tcp(&jns, "10.99.1.10:80").0,
        Ok(()),
        "intranet host reachable"
    );
    assert_rejected_fast(
        tcp(&jns, "203.0.113.10:80"),
        "internet host in intranet mode",
    );
    assert_dropped(tcp(&jns, "169.254.169.254:80"), "metadata in intranet mode");
    assert_rejected_fast(tcp(&jns, "10.99.1.1:8080"), "host's own uplink address");
    assert_rejected_fast(
        tcp(&jns, &format!("{gw}:8080")),
        "host service on the gateway",
    );
    assert_rejected_fast(
        tcp(&jns, "10.99.1.1:5353"),
        "filter port on another host address",
    );
    assert_eq!(
        tcp(&jns, &format!("{gw}:53")).0,
        Ok(()),
        "TCP DNS to the gateway reaches the filter"
    );
    udp_send(&jns, &jail_src, &format!("{gw}:53"), "dns-intranet");
    udp_send(&jns, &jail_src, "203.0.113.10:53", "foreign-dns-intranet");
    udp_send(
        &jns,
        &jail_src,
        "203.0.113.10:9999",
        "internet-in-intranet-mode",
    );
    assert_eq!(received(&filter_udp), ["dns-intranet"]);
    assert!(received(&foreign_dns).is_empty());
    assert!(received(&sink).is_empty());

    // --- internet, as a hot reload of the same jail ---
    rules.egress = Egress::Internet;
    in_netns(&hns, || nft.install_jail(&cfg, &rules))
        .unwrap()
        .unwrap();
    assert_eq!(
        tcp(&jns, "203.0.113.10:80").0,
        Ok(()),
        "internet host reachable"
    );
    assert_eq!(
        tcp(&jns, "10.99.1.10:80").0,
        Ok(()),
        "intranet host still reachable"
    );
    assert_dropped(tcp(&jns, "169.254.169.254:80"), "metadata in internet mode");
    assert_rejected_fast(tcp(&jns, "10.99.1.1:8080"), "host in internet mode");
    udp_send(&jns, &jail_src, &format!("{gw}:53"), "dns-internet");
    udp_send(&jns, &jail_src, "203.0.113.10:53", "foreign-dns-internet");
    // Spoofing: the attacker gives the jail link a second address and sends from it.
    ip(&[
        "-n",
        &jail_ns.name,
        "addr",
        "add",
        "10.213.0.99/32",
        "dev",
        &id.jail_veth(),
    ]);
    udp_send(&jns, "10.213.0.99:0", "203.0.113.10:9999", "spoofed");
    udp_send(&jns, &jail_src, "203.0.113.10:9999", "legit");
    assert_eq!(received(&filter_udp), ["dns-internet"]);
    assert!(received(&foreign_dns).is_empty());
    assert_eq!(received(&sink), ["legit"], "spoofed source must be dropped");

    // --- cleanup through the library, then nothing of Paddock's is left ---
    in_netns(&hns, || {
        nft.remove_jail(&cfg, &id).unwrap();
        remove_host_link(&id).unwrap();
        remove_host_link(&id).unwrap();
        nft.remove_all(&cfg.table).unwrap();
        assert_eq!(list_host_links().unwrap(), vec![]);
        assert_eq!(nft.read_back(&cfg.table).unwrap(), None);
    })
    .unwrap();
    pool.release(pair).unwrap();
    drop((hns, jns, ins, ens));
    let names = [
        host.name.clone(),
        jail_ns.name.clone(),
        intra.name.clone(),
        inet.name.clone(),
    ];
    drop((host, jail_ns, intra, inet));
    let out = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&out.stdout);
    for n in names {
        assert!(!list.contains(&n), "netns {n} left behind");
    }
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
}
