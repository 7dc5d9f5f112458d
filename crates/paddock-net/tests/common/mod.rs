//! Helpers shared by the root tests: a root check, and network namespaces that are removed on
//! drop, even when the test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed setup step is a failed test
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

use paddock_net::sys::Netns;

/// True when the test may run; false (after saying why) when it must skip. Under `CI` a
/// missing privilege is a failure, not a skip.
pub fn root_or_skip(test: &str) -> bool {
    // /proc/self/status names the effective uid.
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid_is_root = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(2))
        == Some("0");
    let has_ip = Command::new("ip").arg("-V").output().is_ok();
    let has_nft = std::path::Path::new(paddock_net::nft_apply::DEFAULT_NFT).exists();
    let why = if !euid_is_root {
        "not root"
    } else if !has_ip {
        "iproute2 (ip) is not installed"
    } else if !has_nft {
        "nft is not installed"
    } else {
        return true;
    };
    if std::env::var_os("CI").is_some() {
        panic!("{test} needs root, ip and nft under CI: {why}");
    }
    eprintln!("skipping {test}: {why}");
    false
}

/// Runs `ip ARGS`, panicking with its stderr on failure.
pub fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A named network namespace (`ip netns add`), deleted on drop.
pub struct TestNs {
    pub name: String,
}

impl TestNs {
    /// Creates `name`, removing a leftover of the same name from an earlier run first.
    pub fn new(name: &str) -> Self {
        let _ = Command::new("ip").args(["netns", "del", name]).output();
        ip(&["netns", "add", name]);
        ip(&["-n", name, "link", "set", "lo", "up"]);
        TestNs {
            name: name.to_string(),
        }
    }

    pub fn path(&self) -> PathBuf {
        PathBuf::from("/run/netns").join(&self.name)
    }

    pub fn open(&self) -> Netns {
        Netns::open(&self.path()).expect("open test netns")
    }
}

impl Drop for TestNs {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// A short unique tag for this test process.
pub fn tag() -> String {
    format!("{}", std::process::id() % 100_000)
}
