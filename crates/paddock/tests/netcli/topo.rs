//! The hosts of a test, each a network namespace, so the real host's interfaces, routes and
//! ruleset are never touched and deleting the namespaces removes everything, even after a
//! failed assertion. Paddock itself runs inside the "host" namespace (`nsenter --net`:
//! `ip netns exec` would remount `/sys` and hide the cgroup mounts).
//!
//! ```text
//!   host ns ── ti<tag> 10.99.X.1/24   ══ eth0 10.99.X.10/24   ── intranet ns
//!                                           TCP 80, 853; UDP 9999; dnsmasq on :53
//!   host ns ── te<tag> 203.0.113.1/24 ══ eth0 203.0.113.10/24 ── internet ns
//!                                           TCP 80, 53, 853; UDP 9999, 53
//!                                           + 169.254.169.254, 100.100.100.200 on lo
//!   host ns: TCP 8080 and UDP 8081 on every address (the host's own services)
//! ```
//!
//! The far hosts route everything back through the host and run with `rp_filter` off, so a
//! packet with any source that leaves the host arrives and is logged: what a far host does
//! not log was stopped by Paddock, not by the far host.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::servers::{Dnsmasq, Server};
use super::wait;
use crate::util::paddock_bin;

/// The internet host's address.
pub const INET: &str = "203.0.113.10";
/// The host's address on the internet uplink (what masquerade makes the jail look like).
pub const INET_UPLINK: &str = "203.0.113.1";
/// Metadata addresses the internet host also holds: only Paddock's rules can stop them.
pub const METADATA: [&str; 2] = ["169.254.169.254", "100.100.100.200"];

/// Runs `prog ARGS`, panicking with its stderr on failure; returns stdout.
pub fn run_ok(prog: &str, args: &[&str]) -> String {
    let out = Command::new(prog).args(args).output().expect("spawn");
    assert!(
        out.status.success(),
        "{prog} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn ip(args: &[&str]) {
    run_ok("ip", args);
}

/// Deletes the namespaces on drop, after killing every process still inside one of them
/// (by pid: only processes this test started can be there).
struct NsGuard {
    names: Vec<String>,
}

impl NsGuard {
    fn add(&mut self, name: &str) {
        let _ = Command::new("ip").args(["netns", "del", name]).output();
        self.names.push(name.to_string());
        ip(&["netns", "add", name]);
        ip(&["-n", name, "link", "set", "lo", "up"]);
    }
}

impl Drop for NsGuard {
    fn drop(&mut self) {
        let inodes: Vec<u64> = self.names.iter().filter_map(|n| ns_inode(n)).collect();
        for pid in pids_in_netns(&inodes) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .output();
        }
        for n in &self.names {
            let _ = Command::new("ip").args(["netns", "del", n]).output();
        }
    }
}

/// The inode of a named namespace (what `/proc/PID/ns/net` shows as `net:[INODE]`).
pub fn ns_inode(name: &str) -> Option<u64> {
    std::fs::metadata(Path::new("/run/netns").join(name))
        .ok()
        .map(|m| m.ino())
}

/// Pids whose network namespace is one of `inodes`.
pub fn pids_in_netns(inodes: &[u64]) -> Vec<u32> {
    let mut pids = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return pids;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(link) = std::fs::read_link(e.path().join("ns/net")) else {
            continue;
        };
        let link = link.to_string_lossy().into_owned();
        if inodes.iter().any(|i| link == format!("net:[{i}]")) {
            pids.push(pid);
        }
    }
    pids
}

/// The command line of `pid`, arguments joined by spaces.
pub fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

/// One test's hosts, servers and resolver.
pub struct Topology {
    /// Unique to this test process and test: names the namespaces and uplinks.
    pub tag: String,
    /// X in 10.99.X.0/24, the intranet.
    pub x: u8,
    /// Paddock's "host" namespace.
    pub host: String,
    /// Host side of the intranet uplink.
    pub ti: String,
    /// Host side of the internet uplink.
    pub te: String,
    /// The intranet host's server.
    pub intra_srv: Server,
    /// The internet host's server (also on the metadata addresses).
    pub inet_srv: Server,
    /// The host's own services.
    pub host_srv: Server,
    /// The upstream resolver, on the intranet host.
    pub dns: Dnsmasq,
    /// The uplinks' forwarding sysctls before any jail ran.
    pub forwarding_before: Vec<String>,
    /// Logs, the audit file, policy files (dropped after the servers that write there).
    pub dir: tempfile::TempDir,
    // Last, as fields drop in order: deletes the namespaces once the servers are killed.
    _guard: NsGuard,
}

impl Topology {
    /// Builds the hosts for test number `n` (0–9, unique within this file).
    pub fn new(n: u8) -> Self {
        let tag = format!("{}{n}", std::process::id() % 100_000);
        let x = 100 + n;
        let (host, intra, inet) = (
            format!("pnc{tag}h"),
            format!("pnc{tag}i"),
            format!("pnc{tag}e"),
        );
        let mut guard = NsGuard { names: Vec::new() };
        for name in [&host, &intra, &inet] {
            guard.add(name);
        }
        let (ti, te) = (format!("ti{tag}"), format!("te{tag}"));
        let (h, i, e) = (host.as_str(), intra.as_str(), inet.as_str());
        let intra_net = format!("10.99.{x}");
        ip(&[
            "link", "add", &ti, "netns", h, "type", "veth", "peer", "name", "eth0", "netns", i,
        ]);
        ip(&[
            "link", "add", &te, "netns", h, "type", "veth", "peer", "name", "eth0", "netns", e,
        ]);
        ip(&[
            "-n",
            h,
            "addr",
            "add",
            &format!("{intra_net}.1/24"),
            "dev",
            &ti,
        ]);
        ip(&["-n", h, "addr", "add", "203.0.113.1/24", "dev", &te]);
        ip(&[
            "-n",
            i,
            "addr",
            "add",
            &format!("{intra_net}.10/24"),
            "dev",
            "eth0",
        ]);
        ip(&["-n", e, "addr", "add", "203.0.113.10/24", "dev", "eth0"]);
        for m in METADATA {
            ip(&["-n", e, "addr", "add", &format!("{m}/32"), "dev", "lo"]);
        }
        for (ns, dev) in [(h, ti.as_str()), (h, te.as_str()), (i, "eth0"), (e, "eth0")] {
            ip(&["-n", ns, "link", "set", dev, "up"]);
        }
        // The host routes metadata to the internet host, as a cloud network would.
        for m in METADATA {
            ip(&["-n", h, "route", "add", &format!("{m}/32"), "via", INET]);
        }
        // The far hosts answer any source and filter none (see the module docs).
        ip(&[
            "-n",
            i,
            "route",
            "add",
            "default",
            "via",
            &format!("{intra_net}.1"),
        ]);
        ip(&["-n", e, "route", "add", "default", "via", INET_UPLINK]);
        for ns in [i, e] {
            run_ok(
                "ip",
                &[
                    "netns",
                    "exec",
                    ns,
                    "sysctl",
                    "-qw",
                    "net.ipv4.conf.all.rp_filter=0",
                    "net.ipv4.conf.default.rp_filter=0",
                    "net.ipv4.conf.eth0.rp_filter=0",
                ],
            );
        }

        let dir = tempfile::Builder::new()
            .prefix("paddock-netcli-")
            .tempdir()
            .unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let specs = |v: &[&str]| v.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
        let intra_srv = Server::start(
            i,
            "intranet",
            dir.path(),
            &specs(&[
                "tcp:0.0.0.0:80",
                "tcp:0.0.0.0:853",
                &format!("udp:{intra_net}.10:9999"),
            ]),
        );
        let inet_srv = Server::start(
            e,
            "internet",
            dir.path(),
            &specs(&[
                "tcp:0.0.0.0:80",
                "tcp:0.0.0.0:53",
                "tcp:0.0.0.0:853",
                "udp:0.0.0.0:9999",
                "udp:0.0.0.0:53",
            ]),
        );
        let host_srv = Server::start(
            h,
            "host",
            dir.path(),
            &specs(&["tcp:0.0.0.0:8080", "udp:0.0.0.0:8081"]),
        );
        let intra_ip = format!("{intra_net}.10");
        let dns = Dnsmasq::start(
            i,
            &intra_ip,
            dir.path(),
            &[
                ("corp.test", &intra_ip),
                ("other.test", &intra_ip),
                ("evil.test", INET),
            ],
        );
        let mut t = Topology {
            tag,
            x,
            host,
            ti,
            te,
            intra_srv,
            inet_srv,
            host_srv,
            dns,
            forwarding_before: Vec::new(),
            dir,
            _guard: guard,
        };
        t.forwarding_before = t.uplink_forwarding();
        t
    }

    /// The intranet host, 10.99.X.10.
    pub fn intra_ip(&self) -> String {
        format!("10.99.{}.10", self.x)
    }

    /// The host's address on the intranet uplink, 10.99.X.1.
    pub fn intra_uplink(&self) -> String {
        format!("10.99.{}.1", self.x)
    }

    /// The intranet's prefix, 10.99.X.0/24.
    pub fn intra_net(&self) -> String {
        format!("10.99.{}.0/24", self.x)
    }

    /// The inode of the host namespace.
    pub fn host_inode(&self) -> u64 {
        ns_inode(&self.host).expect("host namespace exists")
    }

    /// A file in the test's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file in the test's directory (mode 0644) and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        p
    }

    /// The PADDOCK_AUDIT file.
    pub fn audit(&self) -> PathBuf {
        self.path("audit.jsonl")
    }

    /// Names of `pdk*` links in the host namespace.
    pub fn host_pdk_links(&self) -> Vec<String> {
        let out = run_ok("ip", &["-n", &self.host, "-o", "link", "show"]);
        out.lines()
            .filter_map(|l| l.split_whitespace().nth(1))
            .map(|n| n.trim_end_matches(':').split('@').next().unwrap_or(""))
            .filter(|n| n.starts_with("pdk"))
            .map(str::to_string)
            .collect()
    }

    /// `nft list tables` in the host namespace.
    pub fn nft_tables(&self) -> String {
        run_ok(
            "ip",
            &["netns", "exec", &self.host, "nft", "list", "tables"],
        )
    }

    /// `nft list table inet paddock` in the host namespace, if the table exists.
    pub fn nft_paddock(&self) -> Option<String> {
        let out = Command::new("ip")
            .args([
                "netns", "exec", &self.host, "nft", "list", "table", "inet", "paddock",
            ])
            .output()
            .expect("run nft");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Per-jail chains (`chain j_…`) in Paddock's table in the host namespace.
    pub fn jail_chains(&self) -> Vec<String> {
        let table = self.nft_paddock().unwrap_or_default();
        table
            .lines()
            .filter_map(|l| l.trim().strip_prefix("chain j_"))
            .map(|c| format!("j_{}", c.trim_end_matches(" {")))
            .collect()
    }

    /// Processes in the host namespace whose command line contains `needle` (the servers the
    /// test runs there never do for `egress`).
    pub fn host_procs(&self, needle: &str) -> Vec<(u32, String)> {
        pids_in_netns(&[self.host_inode()])
            .into_iter()
            .map(|p| (p, cmdline(p)))
            .filter(|(_, c)| c.contains(needle))
            .collect()
    }

    /// Leases (`<id>.lease`) in Paddock's lease directory for the host namespace,
    /// `/run/paddock/net/netns-<inode>/`. The directory's other files (its lock, the table's
    /// stamp, the last pair handed out) are shared state, not a jail's.
    pub fn lease_files(&self) -> Vec<String> {
        let dir = PathBuf::from(format!("/run/paddock/net/netns-{}", self.host_inode()));
        let Ok(rd) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        rd.flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".lease"))
            .map(|e| {
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                format!("{}: {}", e.path().display(), text.trim())
            })
            .collect()
    }

    /// `net.ipv4.conf.<uplink>.forwarding` of both uplinks in the host namespace.
    pub fn uplink_forwarding(&self) -> Vec<String> {
        [&self.ti, &self.te]
            .iter()
            .map(|up| {
                let key = format!("net.ipv4.conf.{up}.forwarding");
                let out = run_ok("ip", &["netns", "exec", &self.host, "sysctl", "-n", &key]);
                format!("{up}={}", out.trim())
            })
            .collect()
    }

    /// Lines of Paddock's table that refer to a jail (`chain j_…`, `"pdk…h" : goto j_…`).
    pub fn jail_refs(&self) -> Vec<String> {
        let table = self.nft_paddock().unwrap_or_default();
        table
            .lines()
            .filter(|l| {
                l.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                    .any(|w| w.starts_with("j_"))
            })
            .map(|l| l.trim().to_string())
            .collect()
    }

    /// Asserts that no jail left anything in the host namespace: call once every jail of the
    /// test has exited. A jail's link, rules and lease are removed by a process of its own
    /// (`paddock net release`) and the shared DNS filter exits about 1 s after the last jail,
    /// so this waits up to 3 s. Paddock keeps the table's base chains and the uplinks'
    /// forwarding for the next jail until `paddock net down`, which must then remove them.
    pub fn assert_clean(&self) {
        let leftovers = || {
            let mut left: Vec<String> = Vec::new();
            left.extend(
                self.host_pdk_links()
                    .into_iter()
                    .map(|n| format!("link {n}")),
            );
            left.extend(self.jail_refs().into_iter().map(|r| format!("nft: {r}")));
            left.extend(self.lease_files().into_iter().map(|f| format!("lease {f}")));
            left.extend(
                self.host_procs(paddock_bin())
                    .into_iter()
                    .map(|(pid, cmd)| format!("process {pid}: {cmd}")),
            );
            left
        };
        let clean = wait::until(Duration::from_secs(3), || {
            leftovers().is_empty().then_some(())
        });
        assert!(
            clean.is_some(),
            "left 3 s after the last jail ended: {:#?}",
            leftovers()
        );
        let down = self.paddock(&["net", "down"]);
        assert_eq!(down.code, 0, "paddock net down: {down:?}");
        let tables = self.nft_tables();
        assert!(
            !tables.contains("inet paddock"),
            "table left after paddock net down: {tables}"
        );
        assert_eq!(
            self.uplink_forwarding(),
            self.forwarding_before,
            "uplink forwarding not restored by paddock net down"
        );
    }
}
