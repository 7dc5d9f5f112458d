//! Probes the jail runs: Python (stdlib only) prefixed by [`PY_NET`], printing one line per
//! attempt, `RESULT <tag> ok|fail dt=<seconds> <detail>`, and `INFO key=value` facts. A
//! client's report says how an attempt ended and how fast; whether anything *arrived* is
//! always read from the far host's log.

use crate::util::Run;

/// Prepended to every probe. `timed(tag, f)` runs `f` and reports; `tcp`, `udp`, `dns_udp`,
/// `dns_tcp` and `gai` build such `f`s; `curl(tag, url)` reports a curl run. `ME` is the jail's
/// address (the source a route lookup picks, no packet sent), `GW` its default gateway.
pub const PY_NET: &str = r#"
import os, random, socket, struct, subprocess, sys, time
def report(tag, ok, dt, detail=""):
    print("RESULT %s %s dt=%.3f %s" % (tag, "ok" if ok else "fail", dt, detail), flush=True)
def timed(tag, f):
    t = time.monotonic()
    try:
        d = f()
        report(tag, True, time.monotonic() - t, d or "")
    except socket.gaierror as e:
        report(tag, False, time.monotonic() - t, "gai=%d" % e.errno)
    except OSError as e:
        report(tag, False, time.monotonic() - t, "errno=%s" % (e.errno if e.errno is not None else "timeout"))
    except Exception as e:
        report(tag, False, time.monotonic() - t, "exc=%s" % type(e).__name__)
def tcp(host, port, payload, timeout=2.0, fam=socket.AF_INET):
    def f():
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect((host, port))
            s.sendall(payload.encode() + b"\n")
            return "reply=" + s.recv(100).decode("latin-1").strip().replace(" ", "_")
        finally:
            s.close()
    return f
def udp(host, port, payload, fam=socket.AF_INET, bind=None, opts=()):
    def f():
        s = socket.socket(fam, socket.SOCK_DGRAM)
        try:
            for level, opt in opts:
                s.setsockopt(level, opt, 1)
            if bind:
                s.bind((bind, 0))
            s.sendto(payload.encode(), (host, port))
        finally:
            s.close()
    return f
def curl(tag, url, t=3):
    t0 = time.monotonic()
    r = subprocess.run(["/usr/bin/curl", "-sS", "--max-time", str(t), url], capture_output=True)
    body = r.stdout.decode("latin-1").strip().replace(" ", "_")
    report(tag, r.returncode == 0, time.monotonic() - t0, "curl=%d body=%s" % (r.returncode, body))
def dnsq(name, qtype=1):
    qid = random.randrange(65536)
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return qid, struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q + struct.pack(">HH", qtype, 1)
def skip_name(d, i):
    while True:
        n = d[i]
        if n == 0:
            return i + 1
        if n & 0xC0 == 0xC0:
            return i + 2
        i += 1 + n
def dns_answer(d):
    rcode = d[3] & 15
    qd, an = struct.unpack(">HH", d[4:8])
    i = 12
    for _ in range(qd):
        i = skip_name(d, i) + 4
    ips = []
    for _ in range(an):
        i = skip_name(d, i)
        t, c, ttl, rl = struct.unpack(">HHIH", d[i:i + 10])
        i += 10
        if t == 1 and rl == 4:
            ips.append(socket.inet_ntoa(d[i:i + 4]))
        i += rl
    return "rcode=%d ip=%s" % (rcode, ",".join(ips) or "-")
def dns_udp(server, name, qtype=1, timeout=1.0, port=53):
    def f():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(timeout)
        qid, pkt = dnsq(name, qtype)
        s.sendto(pkt, (server, port))
        while True:
            d = s.recv(4096)
            if d[:2] == struct.pack(">H", qid):
                return dns_answer(d)
    return f
def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise OSError(None, "closed")
        b += c
    return b
def dns_tcp(server, name, qtype=1, timeout=1.0, port=53):
    def f():
        s = socket.create_connection((server, port), timeout=timeout)
        try:
            qid, pkt = dnsq(name, qtype)
            s.sendall(struct.pack(">H", len(pkt)) + pkt)
            n = struct.unpack(">H", recv_exact(s, 2))[0]
            return dns_answer(recv_exact(s, n))
        finally:
            s.close()
    return f
def gai(name):
    def f():
        infos = socket.getaddrinfo(name, 80, socket.AF_INET, socket.SOCK_STREAM)
        return "addr=" + ",".join(sorted({a[4][0] for a in infos}))
    return f
def me_and_gw():
    gw = "-"
    for line in open("/proc/net/route").read().splitlines()[1:]:
        f = line.split()
        if f[1] == "00000000":
            gw = socket.inet_ntoa(struct.pack("<I", int(f[2], 16)))
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect(("203.0.113.10", 9))
        me = s.getsockname()[0]
    except OSError:
        me = "-"
    return me, gw
ME, GW = me_and_gw()
print("INFO me=%s gw=%s" % (ME, GW), flush=True)
"#;

/// One attempt's report.
#[derive(Debug)]
pub struct Probe {
    /// Whether it succeeded.
    pub ok: bool,
    /// How long it took, in seconds.
    pub dt: f64,
    /// `key=value` words: `errno=`, `reply=`, `curl=`, `body=`, `rcode=`, `ip=`, `addr=`, `gai=`.
    pub detail: String,
}

impl Probe {
    /// The value of `key=` in the detail.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.detail
            .split_whitespace()
            .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
    }
}

/// The whole output of a run, for assertion messages.
pub fn context(run: &Run) -> String {
    format!(
        "exit {}\n--- stdout ---\n{}--- stderr ---\n{}",
        run.code, run.stdout, run.stderr
    )
}

/// The report of attempt `tag`; panics if the probe never reported it.
pub fn probe(run: &Run, tag: &str) -> Probe {
    let prefix = format!("RESULT {tag} ");
    let line = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no result for {tag}\n{}", context(run)));
    let mut words = line.splitn(3, ' ');
    let ok = words.next() == Some("ok");
    let dt = words
        .next()
        .and_then(|w| w.strip_prefix("dt="))
        .and_then(|w| w.parse().ok())
        .unwrap_or(f64::NAN);
    Probe {
        ok,
        dt,
        detail: words.next().unwrap_or("").to_string(),
    }
}

/// The value of `key=` on the probe's `INFO` lines.
pub fn info(run: &Run, key: &str) -> String {
    run.stdout
        .lines()
        .filter_map(|l| l.strip_prefix("INFO "))
        .flat_map(str::split_whitespace)
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no INFO {key}\n{}", context(run)))
        .to_string()
}

/// Asserts attempt `tag` succeeded; returns its report.
pub fn assert_ok(run: &Run, tag: &str) -> Probe {
    let p = probe(run, tag);
    assert!(p.ok, "{tag} must succeed: {p:?}\n{}", context(run));
    p
}

/// Asserts attempt `tag` failed; returns its report.
pub fn assert_fail(run: &Run, tag: &str) -> Probe {
    let p = probe(run, tag);
    assert!(!p.ok, "{tag} must fail: {p:?}\n{}", context(run));
    p
}

/// Asserts attempt `tag` failed in under a second (rejected, not left to time out).
pub fn assert_fail_fast(run: &Run, tag: &str) -> Probe {
    let p = assert_fail(run, tag);
    assert!(p.dt < 1.0, "{tag} must fail fast: {p:?}\n{}", context(run));
    p
}

/// Asserts attempt `tag` failed with `errno`, in under a second.
pub fn assert_errno_fast(run: &Run, tag: &str, errno: i32) -> Probe {
    let p = assert_fail_fast(run, tag);
    assert_eq!(
        p.field("errno"),
        Some(errno.to_string().as_str()),
        "{tag}: {p:?}\n{}",
        context(run)
    );
    p
}

/// The script a probe runs: [`PY_NET`], then `body` with `{KEY}` replaced from `vars`.
pub fn script(body: &str, vars: &[(&str, &str)]) -> String {
    let mut b = body.to_string();
    for (k, v) in vars {
        b = b.replace(&format!("{{{k}}}"), v);
    }
    format!("{PY_NET}\n{b}\n")
}
