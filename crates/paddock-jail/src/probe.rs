//! What this kernel supports, for `paddock doctor`: each layer the jail uses, whether the
//! default policy requires it, and what was found. Read-only: probes never change the host.
//! The `/proc` root is a parameter so the parsing is tested on fixtures.

use std::path::Path;

use crate::cgroup;
use crate::sys;

/// The outcome of one probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Present; the detail says what was found.
    Available(String),
    /// Absent or unusable; the detail says why and what to do.
    Missing(String),
}

/// One layer checked by `doctor`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// Layer name.
    pub layer: &'static str,
    /// Whether the default policy needs it (a missing required layer fails `doctor`).
    pub required: bool,
    /// What was found.
    pub status: Status,
}

impl Check {
    /// True when a required layer is missing.
    pub fn fails(&self) -> bool {
        self.required && matches!(self.status, Status::Missing(_))
    }
}

/// Runs every probe against the live system.
pub fn probe_all() -> Vec<Check> {
    let proc_root = Path::new("/proc");
    vec![
        namespaces(proc_root),
        landlock(sys::landlock_abi()),
        seccomp(proc_root),
        overlay(proc_root),
        cgroups(),
        nftables(),
    ]
}

/// Namespaces the jail creates.
pub fn namespaces(proc_root: &Path) -> Check {
    let wanted = ["mnt", "pid", "ipc", "uts", "net", "cgroup"];
    let missing: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|ns| !proc_root.join("self/ns").join(ns).exists())
        .collect();
    Check {
        layer: "namespaces",
        required: true,
        status: if missing.is_empty() {
            Status::Available(wanted.join(", "))
        } else {
            Status::Missing(format!("kernel lacks {} namespaces", missing.join(", ")))
        },
    }
}

/// Landlock at ABI `abi` (0 = unavailable).
pub fn landlock(abi: i32) -> Check {
    Check {
        layer: "landlock",
        required: true,
        status: if abi >= 1 {
            Status::Available(format!("ABI {abi}"))
        } else {
            Status::Missing(
                "not offered by this kernel; enable CONFIG_SECURITY_LANDLOCK and add landlock to lsm= \
                 (or set filesystem.landlock: best_effort)"
                    .into(),
            )
        },
    }
}

/// Seccomp filter mode.
pub fn seccomp(proc_root: &Path) -> Check {
    let status = std::fs::read_to_string(proc_root.join("self/status")).unwrap_or_default();
    let has = status.lines().any(|l| l.starts_with("Seccomp:"));
    Check {
        layer: "seccomp",
        required: true,
        status: if has {
            Status::Available("filter mode".into())
        } else {
            Status::Missing("kernel built without CONFIG_SECCOMP_FILTER".into())
        },
    }
}

/// overlayfs, used to make `/etc/shadow` and friends absent.
pub fn overlay(proc_root: &Path) -> Check {
    let fs = std::fs::read_to_string(proc_root.join("filesystems")).unwrap_or_default();
    let has = fs
        .lines()
        .any(|l| l.split_whitespace().last() == Some("overlay"));
    Check {
        layer: "overlayfs",
        required: true,
        status: if has {
            Status::Available("for the filtered /etc".into())
        } else {
            Status::Missing("not registered; run `modprobe overlay`".into())
        },
    }
}

/// Cgroup layout and the controllers the jail limits.
pub fn cgroups() -> Check {
    match cgroup::detect() {
        Ok(h) => {
            let mut found = Vec::new();
            let mut missing = Vec::new();
            for (name, c) in [
                ("memory", cgroup::Controller::Memory),
                ("pids", cgroup::Controller::Pids),
                ("cpu", cgroup::Controller::Cpu),
            ] {
                match h.hierarchy(c) {
                    Some(cgroup::Hierarchy::V1 { .. }) => found.push(format!("{name} (v1)")),
                    Some(cgroup::Hierarchy::V2 { .. }) => found.push(format!("{name} (v2)")),
                    None => missing.push(name),
                }
            }
            let desc = format!("{:?}: {}", h.setup(), found.join(", "));
            Check {
                layer: "cgroups",
                required: true,
                status: if missing.is_empty() {
                    Status::Available(desc)
                } else {
                    Status::Missing(format!(
                        "{desc}; missing controllers: {}",
                        missing.join(", ")
                    ))
                },
            }
        }
        Err(e) => Check {
            layer: "cgroups",
            required: true,
            status: Status::Missing(e.to_string()),
        },
    }
}

/// nftables (used by network segments; loopback-only jails do not need it).
pub fn nftables() -> Check {
    let found = ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"]
        .iter()
        .find(|p| Path::new(p).exists());
    Check {
        layer: "nftables",
        required: false,
        status: match found {
            Some(p) => Status::Available((*p).to_string()),
            None => Status::Missing(
                "nft not installed (apt-get install nftables); needed for networked jails".into(),
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn landlock_zero_is_a_failing_required_layer() {
        assert!(landlock(0).fails());
        assert!(!landlock(7).fails());
        assert_eq!(landlock(7).status, Status::Available("ABI 7".into()));
    }

    #[test]
    fn parses_fixture_proc() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("filesystems"),
            "nodev\tproc\nnodev\toverlay\n",
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("self")).unwrap();
        std::fs::write(dir.path().join("self/status"), "Name:\tx\nSeccomp:\t0\n").unwrap();
        assert!(!overlay(dir.path()).fails());
        assert!(!seccomp(dir.path()).fails());
        std::fs::write(dir.path().join("filesystems"), "nodev\tproc\n").unwrap();
        assert!(overlay(dir.path()).fails());
        // No ns directory in the fixture: every namespace is missing.
        assert!(namespaces(dir.path()).fails());
    }
}
