//! Per-interface sysctls, planned as values and written under a `/proc/sys` root given as a
//! parameter (tests use a temporary directory). The full list, and why, is in the crate docs.

use std::path::{Path, PathBuf};

use crate::error::{NetError, Result};

/// The usual root.
pub const PROC_SYS: &str = "/proc/sys";

/// One sysctl to write: a path relative to the `/proc/sys` root, and a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sysctl {
    /// Relative path, e.g. `net/ipv4/conf/pdk1h/forwarding`.
    pub path: PathBuf,
    /// The value written.
    pub value: &'static str,
}

fn conf(family: &str, ifname: &str, key: &str, value: &'static str) -> Sysctl {
    Sysctl {
        path: Path::new("net")
            .join(family)
            .join("conf")
            .join(ifname)
            .join(key),
        value,
    }
}

/// The host side of a jail's veth, written before the link goes up:
/// no IPv6 (no link-local address the jail could reach), forwarding for packets arriving from
/// the jail, strict reverse-path filtering (a second, kernel-side anti-spoofing layer).
pub fn host_link_sysctls(host_veth: &str) -> Vec<Sysctl> {
    vec![
        conf("ipv6", host_veth, "disable_ipv6", "1"),
        conf("ipv4", host_veth, "forwarding", "1"),
        conf("ipv4", host_veth, "rp_filter", "1"),
    ]
}

/// The jail side, written inside the jail's namespace before the link goes up: no IPv6.
pub fn jail_link_sysctls(jail_veth: &str) -> Vec<Sysctl> {
    vec![conf("ipv6", jail_veth, "disable_ipv6", "1")]
}

/// An uplink through which the jails' replies come back: the kernel forwards a packet only if
/// forwarding is on for the interface it *arrived* on, so replies to masqueraded jail traffic
/// need it on the uplink too. Pair it with the table's `uplinks` guard set.
pub fn uplink_sysctls(uplink: &str) -> Vec<Sysctl> {
    vec![conf("ipv4", uplink, "forwarding", "1")]
}

/// Writes `sysctls` under `root`. IPv6 entries are skipped when the kernel has no IPv6 at all
/// (no `net/ipv6` directory): there is then nothing to disable.
pub fn write_sysctls(root: &Path, sysctls: &[Sysctl]) -> Result<()> {
    for s in sysctls {
        if s.path.starts_with("net/ipv6") && !root.join("net/ipv6").exists() {
            continue;
        }
        let path = root.join(&s.path);
        std::fs::write(&path, s.value).map_err(|source| NetError::Sysctl {
            path,
            value: s.value.to_string(),
            source,
        })?;
    }
    Ok(())
}

/// Reads one sysctl's current value (trimmed), e.g. to learn whether an uplink already
/// forwarded before Paddock touched it.
pub fn read_sysctl(root: &Path, rel: &Path) -> Result<String> {
    let path = root.join(rel);
    std::fs::read_to_string(&path)
        .map(|s| s.trim().to_string())
        .map_err(|source| NetError::Sysctl {
            path,
            value: "(read)".into(),
            source,
        })
}

/// Switches forwarding on for `uplink` and returns whether it was off before, in which case the
/// caller puts the uplink in [`crate::TableConfig::uplinks`] so that the host still forwards
/// nothing but the jails' replies through it.
pub fn prepare_host_uplink(root: &Path, uplink: &str) -> Result<bool> {
    crate::names::check_ifname(uplink)?;
    let plan = uplink_sysctls(uplink);
    let was_off = read_sysctl(root, &plan[0].path)? == "0";
    if was_off {
        write_sysctls(root, &plan)?;
    }
    Ok(was_off)
}

/// Switches forwarding for `uplink` back off (the last jail is gone). An uplink that no longer
/// exists is not an error.
pub fn restore_host_uplink(root: &Path, uplink: &str) -> Result<()> {
    crate::names::check_ifname(uplink)?;
    let plan: Vec<Sysctl> = uplink_sysctls(uplink)
        .into_iter()
        .map(|s| Sysctl { value: "0", ..s })
        .filter(|s| root.join(&s.path).exists())
        .collect();
    write_sysctls(root, &plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_side_sysctls_are_per_interface_only() {
        let p: Vec<String> = host_link_sysctls("pdk1h")
            .iter()
            .map(|s| format!("{}={}", s.path.display(), s.value))
            .collect();
        assert_eq!(
            p,
            [
                "net/ipv6/conf/pdk1h/disable_ipv6=1",
                "net/ipv4/conf/pdk1h/forwarding=1",
                "net/ipv4/conf/pdk1h/rp_filter=1"
            ]
        );
        for s in host_link_sysctls("pdk1h")
            .iter()
            .chain(&jail_link_sysctls("pdk1j"))
            .chain(&uplink_sysctls("eth0"))
        {
            let p = s.path.display().to_string();
            assert!(
                !p.contains("/all/") && !p.contains("/default/") && !p.ends_with("ip_forward"),
                "{p}"
            );
        }
    }

    #[test]
    fn writes_under_the_given_root_and_names_the_file_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in ["net/ipv4/conf/pdk1h", "net/ipv6/conf/pdk1h"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        write_sysctls(root, &host_link_sysctls("pdk1h")).unwrap();
        assert_eq!(
            read_sysctl(root, Path::new("net/ipv4/conf/pdk1h/rp_filter")).unwrap(),
            "1"
        );
        let e = write_sysctls(root, &host_link_sysctls("pdk2h")).unwrap_err();
        assert!(e.to_string().contains("pdk2h"), "{e}");
    }

    #[test]
    fn skips_ipv6_when_the_kernel_has_none() {
        let dir = tempfile::tempdir().unwrap();
        write_sysctls(dir.path(), &jail_link_sysctls("pdk1j")).unwrap();
    }

    #[test]
    fn uplink_forwarding_reports_whether_it_was_off() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("net/ipv4/conf/eth0")).unwrap();
        std::fs::write(root.join("net/ipv4/conf/eth0/forwarding"), "0\n").unwrap();
        assert!(prepare_host_uplink(root, "eth0").unwrap());
        assert!(!prepare_host_uplink(root, "eth0").unwrap());
        restore_host_uplink(root, "eth0").unwrap();
        assert_eq!(
            read_sysctl(root, Path::new("net/ipv4/conf/eth0/forwarding")).unwrap(),
            "0"
        );
        restore_host_uplink(root, "gone0").unwrap();
        assert!(prepare_host_uplink(root, "../x").is_err());
    }
}
