//! ICMP through a jail's link, against hosts the test builds itself (`netcli/topo.rs`).
//!
//! The jail's own processes cannot send ICMP (no CAP_NET_RAW, seccomp denies raw sockets,
//! `net.ipv4.ping_group_range` is "1 0"), but Paddock's rules must still be right for any ICMP
//! that leaves the jail's namespace. So the test, as root, sends from *inside* a running
//! jail's network namespace (`nsenter --net=/proc/<pid>/ns/net`), with a raw socket: one echo
//! request per destination, with a unique id and payload, and reports for each what came back
//! within a second (an echo reply, an ICMP error and its type/code, or nothing).
//!
//! The oracle is what *arrives*: a raw ICMP listener (root) in every far host, in the host
//! namespace (a raw socket there sees only what passed Paddock's input chain) and in each
//! jail's namespace logs every echo request it sees, with its source and payload.
//!
//! Root only (STYLE rule 13): without root the test prints why and returns, unless `CI` is
//! set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)] // shared helpers; this file uses a subset
mod netcli;
#[path = "escape/util.rs"]
#[allow(dead_code)]
mod util;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use netcli::probe::context;
use netcli::servers::Reaped;
use netcli::topo::{Topology, INET, INET_UPLINK, METADATA};
use netcli::{wait, PYTHON};
use util::{Workdir, ENETUNREACH};

/// The sender. argv: UNIQ BASE-ID ITEM…, an item being `tag=IPv4` (ICMP echo), `tag=IPv6`
/// (ICMPv6 echo) or `tag=udp/IPv4/PORT` (one datagram, to see the ICMP error it earns). All
/// are sent at once, then one raw socket collects answers for one second. One line per item:
/// `RESULT <tag> reply|error|none|senderr dt=<s> [type= code= from=] [errno=]`.
const SENDER_PY: &str = r#"
import select, socket, struct, sys, time
def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF
def report(tag, kind, dt, detail=""):
    print("RESULT %s %s dt=%.3f %s" % (tag, kind, dt, detail), flush=True)
uniq, base = sys.argv[1], int(sys.argv[2])
s4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
pending = {}
for i, item in enumerate(sys.argv[3:]):
    tag, dest = item.split("=", 1)
    ident = (base + i) & 0xFFFF
    payload = ("icmp-%s-%s" % (uniq, tag)).encode()
    t0 = time.monotonic()
    try:
        if dest.startswith("udp/"):
            _, addr, port = dest.split("/")
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.bind(("0.0.0.0", 0))
            u.sendto(payload, (addr, int(port)))
            pending[("udp", u.getsockname()[1])] = (tag, t0, u)
        elif ":" in dest:
            s6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
            s6.sendto(struct.pack("!BBHHH", 128, 0, 0, ident, 1) + payload, (dest, 0))
            report(tag, "sent", time.monotonic() - t0)
        else:
            hdr = struct.pack("!BBHHH", 8, 0, 0, ident, 1)
            pkt = struct.pack("!BBHHH", 8, 0, csum(hdr + payload), ident, 1) + payload
            s4.sendto(pkt, (dest, 0))
            pending[("icmp", ident)] = (tag, t0, None)
    except OSError as e:
        report(tag, "senderr", time.monotonic() - t0, "errno=%s" % e.errno)
deadline = time.monotonic() + 1.0
while pending:
    left = deadline - time.monotonic()
    if left <= 0 or not select.select([s4], [], [], left)[0]:
        break
    d, (src, _) = s4.recvfrom(65535)
    ihl = (d[0] & 15) * 4
    typ, code = d[ihl], d[ihl + 1]
    if typ == 0:
        key, kind = ("icmp", struct.unpack("!H", d[ihl + 4:ihl + 6])[0]), "reply"
    elif typ in (3, 11, 12):
        inner = d[ihl + 8:]
        iihl = (inner[0] & 15) * 4
        if inner[9] == 1:
            key = ("icmp", struct.unpack("!H", inner[iihl + 4:iihl + 6])[0])
        elif inner[9] == 17:
            key = ("udp", struct.unpack("!H", inner[iihl:iihl + 2])[0])
        else:
            continue
        kind = "error"
    else:
        continue
    if key in pending:
        tag, t0, _ = pending.pop(key)
        report(tag, kind, time.monotonic() - t0, "type=%d code=%d from=%s" % (typ, code, src))
for tag, t0, _ in pending.values():
    report(tag, "none", time.monotonic() - t0)
"#;

/// The listener: argv LOG. Logs every ICMP packet its namespace receives, at most 30 s:
/// `ICMP <time> <type> <code> <src> <dst> <id> <payload>` (printable ASCII, the rest as `.`),
/// after a `READY` line.
const LISTENER_PY: &str = r#"
import select, socket, struct, sys, time
log = open(sys.argv[1], "a")
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
log.write("READY\n")
log.flush()
end = time.monotonic() + 30
while time.monotonic() < end:
    if not select.select([s], [], [], 0.2)[0]:
        continue
    d, (src, _) = s.recvfrom(65535)
    ihl = (d[0] & 15) * 4
    ident = struct.unpack("!H", d[ihl + 4:ihl + 6])[0]
    payload = "".join(chr(c) if 33 <= c < 127 else "." for c in d[ihl + 8:ihl + 128]) or "-"
    log.write("ICMP %.6f %d %d %s %s %d %s\n" % (time.time(), d[ihl], d[ihl + 1], src, socket.inet_ntoa(d[16:20]), ident, payload))
    log.flush()
"#;

/// ICMP types and codes the test asserts.
const ECHO_REPLY: &str = "0";
const UNREACH: &str = "3";
const PORT_UNREACH: &str = "3";
const ADMIN_PROHIBITED: &str = "13";

/// A network namespace, by the path `nsenter --net=` takes.
#[derive(Clone)]
struct Ns(String);

impl Ns {
    fn named(name: &str) -> Self {
        Ns(format!("/run/netns/{name}"))
    }

    fn of_pid(pid: u32) -> Self {
        Ns(format!("/proc/{pid}/ns/net"))
    }

    /// `nsenter --net=NS PROG ARGS…` (nsenter execs `prog`: its pid is the program's).
    fn command(&self, prog: &str, args: &[&str]) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net={}", self.0))
            .arg("--")
            .arg(prog)
            .args(args);
        c
    }

    /// Runs `ip ARGS` in the namespace; its stdout.
    fn ip(&self, args: &[&str]) -> String {
        let out = self.command("ip", args).output().expect("run ip");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// One echo request a listener saw.
#[derive(Debug)]
struct Request {
    src: String,
    dst: String,
}

/// A raw ICMP listener in a namespace, killed on drop.
struct Listener {
    log: PathBuf,
    _child: Reaped,
}

impl Listener {
    fn start(ns: &Ns, dir: &Path, label: &str) -> Self {
        let log = dir.join(format!("icmp-{label}.log"));
        let err = File::create(dir.join(format!("icmp-{label}.err"))).unwrap();
        let child = ns
            .command(PYTHON, &["-c", LISTENER_PY, log.to_str().unwrap()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("spawn the ICMP listener");
        let l = Listener {
            log,
            _child: Reaped(child),
        };
        wait::expect(
            Duration::from_secs(10),
            &format!("ICMP listener {label}"),
            || {
                std::fs::read_to_string(&l.log)
                    .ok()
                    .filter(|t| t.contains("READY"))
            },
        );
        l
    }

    /// Echo requests (type 8) whose payload is `payload`.
    fn requests(&self, payload: &str) -> Vec<Request> {
        requests_in(&self.log, payload)
    }
}

fn requests_in(log: &Path, payload: &str) -> Vec<Request> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (f.len() == 8 && f[0] == "ICMP" && f[2] == "8" && f[7] == payload).then(|| Request {
                src: f[4].to_string(),
                dst: f[5].to_string(),
            })
        })
        .collect()
}

/// What one sender reported.
struct Sent {
    label: String,
    out: String,
}

/// One item's outcome.
#[derive(Debug)]
struct Outcome {
    kind: String,
    dt: f64,
    detail: String,
}

impl Outcome {
    fn field(&self, key: &str) -> Option<&str> {
        self.detail
            .split_whitespace()
            .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
    }
}

impl Sent {
    fn outcome(&self, tag: &str) -> Outcome {
        let prefix = format!("RESULT {tag} ");
        let line = self
            .out
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("{}: no result for {tag}\n{}", self.label, self.out));
        let mut w = line.splitn(3, ' ');
        Outcome {
            kind: w.next().unwrap_or("").to_string(),
            dt: w
                .next()
                .and_then(|d| d.strip_prefix("dt="))
                .and_then(|d| d.parse().ok())
                .unwrap_or(f64::NAN),
            detail: w.next().unwrap_or("").to_string(),
        }
    }

    /// Asserts `tag` got an echo reply from `from`.
    fn assert_reply(&self, tag: &str, from: &str) {
        let o = self.outcome(tag);
        assert!(
            o.kind == "reply"
                && o.field("type") == Some(ECHO_REPLY)
                && o.field("from") == Some(from),
            "{}: {tag} must be answered by {from}: {o:?}\n{}",
            self.label,
            self.out
        );
    }

    /// Asserts `tag` got ICMP error type/code in under a second, from one of `from`.
    fn assert_error(&self, tag: &str, typ: &str, code: &str, from: &[&str]) -> Outcome {
        let o = self.outcome(tag);
        assert!(
            o.kind == "error"
                && o.field("type") == Some(typ)
                && o.field("code") == Some(code)
                && from.iter().any(|f| o.field("from") == Some(f))
                && o.dt < 1.0,
            "{}: {tag} must get ICMP {typ}/{code} from {from:?} in under 1 s: {o:?}\n{}",
            self.label,
            self.out
        );
        o
    }

    /// Asserts `tag` got nothing back within the sender's second.
    fn assert_nothing(&self, tag: &str) {
        let o = self.outcome(tag);
        assert_eq!(
            o.kind, "none",
            "{}: {tag} must get no answer: {o:?}\n{}",
            self.label, self.out
        );
    }

    /// Asserts sending `tag` failed with `errno`.
    fn assert_senderr(&self, tag: &str, errno: i32) {
        let o = self.outcome(tag);
        assert!(
            o.kind == "senderr" && o.field("errno") == Some(errno.to_string().as_str()),
            "{}: sending {tag} must fail with errno {errno}: {o:?}\n{}",
            self.label,
            self.out
        );
    }
}

/// Runs the sender in `ns` (at most 10 s) with `items` (`tag=dest`).
fn send(ns: &Ns, dir: &Path, label: &str, uniq: &str, base: u16, items: &[String]) -> Sent {
    let out_path = dir.join(format!("send-{label}.out"));
    let err_path = dir.join(format!("send-{label}.err"));
    let base = base.to_string();
    let mut args = vec!["-c", SENDER_PY, uniq, &base];
    args.extend(items.iter().map(String::as_str));
    let mut child = ns
        .command(PYTHON, &args)
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap())
        .spawn()
        .expect("spawn the ICMP sender");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let out = std::fs::read_to_string(&out_path).unwrap_or_default();
    let err = std::fs::read_to_string(&err_path).unwrap_or_default();
    assert!(
        status.is_some_and(|s| s.success()),
        "sender {label}: {status:?}\n{out}\n{err}"
    );
    eprintln!("--- sender {label} ---\n{out}");
    Sent {
        label: label.to_string(),
        out,
    }
}

/// A running jail: its network namespace (through a process of it), address and gateway.
struct RunningJail {
    ns: Ns,
    me: String,
    gw: String,
}

/// The sh loop a jail runs until `/workspace/stop` exists (at most 20 s), carrying `marker`.
fn idle_script(marker: &str) -> String {
    format!(
        ": {marker}; echo up > /workspace/up-{marker}; n=0; \
         while [ ! -e /workspace/stop ] && [ $n -lt 200 ]; do sleep 0.1; n=$((n+1)); done"
    )
}

/// Waits for the jail carrying `marker` to run; finds its namespace, address and gateway.
fn find_jail(t: &Topology, w: &Workdir, marker: &str) -> RunningJail {
    let up = w.path().join(format!("up-{marker}"));
    wait::expect(Duration::from_secs(10), "the jail to start", || {
        up.exists().then_some(())
    });
    let host_ino = t.host_inode();
    let own = std::fs::read_link("/proc/self/ns/net").unwrap();
    let pid: u32 = wait::expect(Duration::from_secs(5), "a process of the jail", || {
        util::pgrep(marker).into_iter().find_map(|p| {
            let ns = std::fs::read_link(format!("/proc/{p}/ns/net")).ok()?;
            (ns != own && ns.to_string_lossy() != format!("net:[{host_ino}]"))
                .then(|| p.parse().ok())
                .flatten()
        })
    });
    let ns = Ns::of_pid(pid);
    let me = wait::expect(Duration::from_secs(5), "the jail's address", || {
        ns.ip(&["-4", "-o", "addr", "show", "scope", "global"])
            .split_whitespace()
            .skip_while(|w| *w != "inet")
            .nth(1)
            .and_then(|a| a.split('/').next())
            .map(str::to_string)
    });
    let gw = wait::expect(Duration::from_secs(5), "the jail's gateway", || {
        ns.ip(&["-4", "route", "show", "default"])
            .split_whitespace()
            .skip_while(|w| *w != "via")
            .nth(1)
            .map(str::to_string)
    });
    RunningJail { ns, me, gw }
}

fn items(list: &[(&str, &str)]) -> Vec<String> {
    list.iter().map(|(t, d)| format!("{t}={d}")).collect()
}

#[test]
fn icmp_leaving_a_jails_namespace_follows_its_modes_rules() {
    let test = "icmp_leaving_a_jails_namespace_follows_its_modes_rules";
    if !netcli::require(test) {
        return;
    }
    let t = Topology::new(0);
    let (intra, up) = (t.intra_ip(), t.intra_uplink());
    let w = Workdir::jail_owned();
    let uniq = format!("u{}", t.tag);
    let (mark_i, mark_e) = (
        format!("icmpjail-{}-i", t.tag),
        format!("icmpjail-{}-e", t.tag),
    );
    let wd = ["--workdir", w.arg()];
    let bg_i = t
        .jail(&[&["--net", "intranet"][..], &wd[..]].concat())
        .spawn(&["sh", "-c", &idle_script(&mark_i)]);
    let bg_e = t
        .jail(&[&["--net", "internet"][..], &wd[..]].concat())
        .spawn(&["sh", "-c", &idle_script(&mark_e)]);
    let ji = find_jail(&t, &w, &mark_i);
    let je = find_jail(&t, &w, &mark_e);
    eprintln!(
        "intranet jail {} gw {}; internet jail {} gw {}",
        ji.me, ji.gw, je.me, je.gw
    );

    let dir = t.dir.path();
    // The far hosts' namespaces are named like the host's, `pnc<tag>i` and `pnc<tag>e`.
    let far = |suffix: &str| Ns::named(&format!("{}{suffix}", t.host.strip_suffix('h').unwrap()));
    let (ns_intra, ns_inet, ns_host) = (far("i"), far("e"), Ns::named(&t.host));
    let l_intra = Listener::start(&ns_intra, dir, "intranet");
    let l_inet = Listener::start(&ns_inet, dir, "internet");
    let l_host = Listener::start(&ns_host, dir, "host");
    let l_ji = Listener::start(&ji.ns, dir, "jail-intranet");
    let l_je = Listener::start(&je.ns, dir, "jail-internet");

    // Outbound from each jail's namespace: every destination the modes name, the host's
    // addresses, the other jail, a closed UDP port (its ICMP error is a related packet),
    // IPv6, and the jail's own address (the jail listener's positive control). At most four
    // ICMP errors per jail from the host: the kernel allows a burst of six per destination
    // (`net.ipv4.icmp_ratelimit`), beyond which rejects would go unanswered.
    let outbound = |j: &RunningJail, other: &RunningJail, allowed_udp: &str| {
        items(&[
            ("intra", intra.as_str()),
            ("inet", INET),
            ("meta-aws", METADATA[0]),
            ("meta-ali", METADATA[1]),
            ("host-intra-uplink", up.as_str()),
            ("host-inet-uplink", INET_UPLINK),
            ("host-gw", j.gw.as_str()),
            ("other-jail", other.me.as_str()),
            ("self", j.me.as_str()),
            ("udp-closed", &format!("udp/{allowed_udp}/9")),
            ("v6-doc", "2001:db8::1"),
        ])
    };
    let out_i = outbound(&ji, &je, &intra);
    let out_e = outbound(&je, &ji, INET);
    // Inbound, unsolicited, from the far hosts: to each jail, and to the host's own addresses
    // (the host's listener's positive control: the host answers what reaches it).
    let in_intra = items(&[
        ("to-jail-i", ji.me.as_str()),
        ("to-jail-e", je.me.as_str()),
        ("host-uplink", up.as_str()),
        ("host-gw", ji.gw.as_str()),
    ]);
    let in_inet = items(&[
        ("to-jail-i", ji.me.as_str()),
        ("to-jail-e", je.me.as_str()),
        ("host-uplink", INET_UPLINK),
    ]);
    // Echo ids: 16 per sender, unique to this run (masquerade would remap a clash anyway).
    let base = (std::process::id() as u16).wrapping_mul(64);
    let (ui, ue, uin, uie) = (
        format!("{uniq}-ji"),
        format!("{uniq}-je"),
        format!("{uniq}-in"),
        format!("{uniq}-ie"),
    );
    let (s_i, s_e, s_in, s_ie) = std::thread::scope(|s| {
        let a = s.spawn(|| send(&ji.ns, dir, "jail-intranet", &ui, base, &out_i));
        let b = s.spawn(|| {
            send(
                &je.ns,
                dir,
                "jail-internet",
                &ue,
                base.wrapping_add(16),
                &out_e,
            )
        });
        let c = s.spawn(|| {
            send(
                &ns_intra,
                dir,
                "from-intranet",
                &uin,
                base.wrapping_add(32),
                &in_intra,
            )
        });
        let d = s.spawn(|| {
            send(
                &ns_inet,
                dir,
                "from-internet",
                &uie,
                base.wrapping_add(48),
                &in_inet,
            )
        });
        (
            a.join().unwrap(),
            b.join().unwrap(),
            c.join().unwrap(),
            d.join().unwrap(),
        )
    });
    wait::settle();

    // The jails' namespaces must not outlive them: their listeners go first.
    let (log_ji, log_je) = (l_ji.log.clone(), l_je.log.clone());
    drop(l_ji);
    drop(l_je);
    std::fs::write(w.path().join("stop"), "").unwrap();
    for (label, bg) in [("intranet", bg_i), ("internet", bg_e)] {
        let run = bg.finish(Duration::from_secs(5));
        assert_eq!(run.code, 0, "{label} jail\n{}", context(&run));
    }
    for (label, log) in [("intranet", &log_ji), ("internet", &log_je)] {
        eprintln!(
            "--- listener jail-{label} ---\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }
    for l in [&l_intra, &l_inet, &l_host] {
        eprintln!(
            "--- listener {} ---\n{}",
            l.log.display(),
            std::fs::read_to_string(&l.log).unwrap_or_default()
        );
    }
    let seen = |l: &Listener, u: &str, tag: &str| l.requests(&format!("icmp-{u}-{tag}"));
    let seen_in = |log: &Path, u: &str, tag: &str| requests_in(log, &format!("icmp-{u}-{tag}"));

    for (s, j, u, own_log, other_log) in [
        (&s_i, &ji, &ui, &log_ji, &log_je),
        (&s_e, &je, &ue, &log_je, &log_ji),
    ] {
        // Both modes reach the intranet, masqueraded behind the host's intranet uplink.
        s.assert_reply("intra", &intra);
        let r = seen(&l_intra, u, "intra");
        assert!(
            r.len() == 1 && r[0].src == up && r[0].dst == intra,
            "{}: {r:?}",
            s.label
        );
        // Metadata: dropped, silently, in both modes; nothing arrives.
        for tag in ["meta-aws", "meta-ali"] {
            s.assert_nothing(tag);
            let r = seen(&l_inet, u, tag);
            assert!(r.is_empty(), "{}: {tag} arrived: {r:?}", s.label);
        }
        // The host: refused at once (admin-prohibited), never answered, never delivered.
        // The error comes from the very address the jail tried.
        for (tag, addr) in [
            ("host-intra-uplink", up.as_str()),
            ("host-inet-uplink", INET_UPLINK),
            ("host-gw", j.gw.as_str()),
        ] {
            s.assert_error(tag, UNREACH, ADMIN_PROHIBITED, &[addr]);
            let r = seen(&l_host, u, tag);
            assert!(r.is_empty(), "{}: {tag} reached the host: {r:?}", s.label);
        }
        // The other jail: dropped, silently; its namespace sees nothing.
        s.assert_nothing("other-jail");
        let r = seen_in(other_log, u, "other-jail");
        assert!(r.is_empty(), "{}: reached the other jail: {r:?}", s.label);
        // Positive control of the jail listeners: the jail's own address, over loopback.
        s.assert_reply("self", &j.me);
        assert_eq!(seen_in(own_log, u, "self").len(), 1, "{}", s.label);
        // IPv6: not configured in the jail, the kernel has no route to send it by.
        s.assert_senderr("v6-doc", ENETUNREACH);
    }

    // Intranet: the internet is refused at once with admin-prohibited, from the gateway, and
    // nothing arrives; the intranet host's port unreachable (a related packet) comes back.
    s_i.assert_error("inet", UNREACH, ADMIN_PROHIBITED, &[&ji.gw]);
    let r = seen(&l_inet, &ui, "inet");
    assert!(r.is_empty(), "intranet jail reached the internet: {r:?}");
    s_i.assert_error("udp-closed", UNREACH, PORT_UNREACH, &[&intra]);

    // Internet: arrives from the host's internet uplink (masquerade) and is answered.
    s_e.assert_reply("inet", INET);
    let r = seen(&l_inet, &ue, "inet");
    assert!(
        r.len() == 1 && r[0].src == INET_UPLINK && r[0].dst == INET,
        "{r:?}"
    );
    s_e.assert_error("udp-closed", UNREACH, PORT_UNREACH, &[INET]);

    // Unsolicited ICMP from outside never enters a jail; the host answers its own addresses.
    let from_intra = [("host-uplink", up.as_str()), ("host-gw", ji.gw.as_str())];
    let from_inet = [("host-uplink", INET_UPLINK)];
    for (s, u, host) in [
        (&s_in, &uin, &from_intra[..]),
        (&s_ie, &uie, &from_inet[..]),
    ] {
        for tag in ["to-jail-i", "to-jail-e"] {
            s.assert_nothing(tag);
            let mut r = seen_in(&log_ji, u, tag);
            r.extend(seen_in(&log_je, u, tag));
            assert!(r.is_empty(), "{}: {tag} entered a jail: {r:?}", s.label);
        }
        for &(tag, addr) in host {
            s.assert_reply(tag, addr);
            let r = seen(&l_host, u, tag);
            assert!(
                r.len() == 1 && r[0].dst == addr,
                "{}: host listener: {r:?}",
                s.label
            );
        }
    }
    drop((l_intra, l_inet, l_host));
    t.assert_clean();
}
