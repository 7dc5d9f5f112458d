//! Helpers of `root_net_cli.rs`: hosts built as network namespaces ([`topo`]), logging servers
//! and the upstream resolver that live in them ([`servers`]), `paddock` runs inside the test's
//! "host" namespace ([`jailrun`]), the Python probes run in the jail and their results
//! ([`probe`]), the hot-reload loop ([`reload`]), and bounded waiting ([`wait`]).

pub mod jailrun;
pub mod probe;
pub mod reload;
pub mod servers;
pub mod topo;
pub mod wait;

use std::path::Path;
use std::process::Command;

/// The Python the jail runs (the host's, mounted read-only): an absolute path, so neither the
/// test's `PATH` (pyenv shims) nor the jail's decides which interpreter runs.
pub const PYTHON: &str = "/usr/bin/python3";

/// True when the test may run. Needs root (the shared check), and the tools the topology and
/// the probes use; a missing tool is a skip, and a failure under `CI`.
pub fn require(test: &str) -> bool {
    if !crate::util::require_root(test) {
        return false;
    }
    let missing: Vec<&str> = [
        "/usr/sbin/dnsmasq",
        "/usr/bin/curl",
        PYTHON,
        "/usr/sbin/nft",
        "/usr/bin/nsenter",
    ]
    .into_iter()
    .filter(|p| !Path::new(p).exists())
    .collect();
    let has_ip = Command::new("ip").arg("-V").output().is_ok();
    if missing.is_empty() && has_ip {
        return true;
    }
    let why = format!("missing {missing:?} (ip found: {has_ip})");
    if std::env::var_os("CI").is_some() {
        panic!("{test} needs dnsmasq, curl, python3, nft, nsenter and ip under CI: {why}");
    }
    eprintln!("skipping {test}: {why}");
    false
}
