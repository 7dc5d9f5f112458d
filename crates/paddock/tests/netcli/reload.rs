//! The hot-reload probe: a loop in the jail that, every 100 ms, tries a TCP connection to the
//! internet host and asks the filter for a name only the "open" policy allows, logging each
//! attempt with its wall-clock start time, so the test can say what held when.

use crate::util::Workdir;

/// The loop (after `PY_NET`): at most 20 s, or until `/workspace/stop` exists. One line per
/// attempt in `/workspace/reload.log`: `L <start> <n> tcp=ok|fail dns=<rcode,ip>|timeout`.
pub const RELOAD_LOOP: &str = r#"
log = open("/workspace/reload.log", "a")
end = time.monotonic() + 20
i = 0
while time.monotonic() < end and not os.path.exists("/workspace/stop"):
    t0 = time.time()
    try:
        s = socket.create_connection(("203.0.113.10", 80), timeout=0.3)
        s.sendall(b"reload-%d\n" % i)
        s.close()
        r = "ok"
    except OSError:
        r = "fail"
    try:
        d = dns_udp(GW, "api.other.test", timeout=0.3)().replace(" ", ",")
    except OSError:
        d = "timeout"
    log.write("L %.3f %d tcp=%s dns=%s\n" % (t0, i, r, d))
    log.flush()
    i += 1
    time.sleep(0.1)
"#;

/// The reload probe's log: `(start time, tcp ok, dns detail)` per attempt.
pub fn reload_log(w: &Workdir) -> Vec<(f64, bool, String)> {
    let text = std::fs::read_to_string(w.path().join("reload.log")).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 5 && f[0] == "L").then(|| {
                (
                    f[1].parse().unwrap_or(0.0),
                    f[3] == "tcp=ok",
                    f[4].to_string(),
                )
            })
        })
        .collect()
}

/// Asserts every attempt started in `[from, to)` saw `internet` (open) or not (closed), and
/// that there were some.
pub fn assert_attempts(w: &Workdir, from: f64, to: f64, internet: bool, intra: &str) {
    let log = reload_log(w);
    let window: Vec<&(f64, bool, String)> = log
        .iter()
        .filter(|(t, _, _)| *t >= from && *t < to)
        .collect();
    assert!(window.len() >= 3, "too few attempts in the window: {log:?}");
    let allowed_dns = format!("dns=rcode=0,ip={intra}");
    for a in &window {
        let dns_ok = a.2 == allowed_dns;
        assert!(
            a.1 == internet && dns_ok == internet,
            "attempt at {:.3} (window {from:.3}..{to:.3}) expected internet={internet}: {a:?}\n{log:?}",
            a.0
        );
        if !internet {
            assert_eq!(a.2, "dns=rcode=3,ip=-", "{a:?}");
        }
    }
}
