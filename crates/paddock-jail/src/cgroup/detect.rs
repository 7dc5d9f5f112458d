//! Which cgroup hierarchy serves each controller Paddock uses, read from a mount table.
//!
//! The mount table path is a parameter ([`detect_with`]) so tests run on fixture text. Parsing
//! ([`parse_mountinfo`]) and the per-controller choice ([`Hierarchies::from_mounts`]) are pure;
//! the only I/O is reading the mount table and the cgroup2 root's `cgroup.controllers`.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use super::error::CgroupError;

/// How the host mounts cgroups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CgroupSetup {
    /// cgroup v1 only: one hierarchy per controller (or group of controllers).
    Legacy,
    /// v1 controller hierarchies plus a cgroup2 mount (often `/sys/fs/cgroup/unified`).
    Hybrid,
    /// cgroup v2 only.
    Unified,
}

/// A controller Paddock uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Controller {
    /// Memory limit (and swap limit where swap accounting exists).
    Memory,
    /// Task count limit.
    Pids,
    /// CPU bandwidth (CFS quota).
    Cpu,
    /// CPU usage accounting; v1 only (v2 reports usage in the core `cpu.stat`).
    CpuAcct,
    /// Freezing the group while killing it; v1 only (v2 has `cgroup.kill`).
    Freezer,
}

impl Controller {
    /// Every controller, in the order groups are set up.
    pub const ALL: [Controller; 5] = [
        Controller::Memory,
        Controller::Pids,
        Controller::Cpu,
        Controller::CpuAcct,
        Controller::Freezer,
    ];

    /// The kernel's name for the controller.
    pub const fn name(self) -> &'static str {
        match self {
            Controller::Memory => "memory",
            Controller::Pids => "pids",
            Controller::Cpu => "cpu",
            Controller::CpuAcct => "cpuacct",
            Controller::Freezer => "freezer",
        }
    }

    /// Whether cgroup v2 has this as a controller listed in `cgroup.controllers`.
    const fn exists_on_v2(self) -> bool {
        matches!(
            self,
            Controller::Memory | Controller::Pids | Controller::Cpu
        )
    }

    fn from_name(name: &str) -> Option<Controller> {
        Controller::ALL.into_iter().find(|c| c.name() == name)
    }
}

impl fmt::Display for Controller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The hierarchy that serves one controller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hierarchy {
    /// A cgroup v1 hierarchy mounted for this controller (maybe with others, e.g. `cpu,cpuacct`).
    V1 {
        /// Mount point, e.g. `/sys/fs/cgroup/memory`.
        mount: PathBuf,
    },
    /// The cgroup2 hierarchy.
    V2 {
        /// Mount point, e.g. `/sys/fs/cgroup`.
        root: PathBuf,
    },
}

/// What [`detect`] found: the host's setup and the hierarchy serving each controller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hierarchies {
    setup: CgroupSetup,
    v2_root: Option<PathBuf>,
    controllers: BTreeMap<Controller, Hierarchy>,
}

/// One cgroup mount from the mount table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CgroupMount {
    /// Where it is mounted.
    pub(crate) mount_point: PathBuf,
    /// `None` for cgroup2; for v1 the kernel controllers named in its super options.
    pub(crate) v1_controllers: Option<Vec<String>>,
}

/// Kernel v1 controller names: a v1 mount naming none of them (e.g. `name=systemd`) is a named
/// hierarchy for process tracking and does not make the host Legacy or Hybrid.
const KERNEL_V1_CONTROLLERS: [&str; 14] = [
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "net_prio",
    "blkio",
    "perf_event",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
];

/// Detects the host's cgroups from `/proc/self/mountinfo`.
pub fn detect() -> Result<Hierarchies, CgroupError> {
    detect_with(Path::new("/proc/self/mountinfo"))
}

/// Detects cgroups from the given mount table (in `/proc/<pid>/mountinfo` format), reading
/// `cgroup.controllers` at the cgroup2 mount point it names.
pub fn detect_with(mountinfo: &Path) -> Result<Hierarchies, CgroupError> {
    let text = fs::read_to_string(mountinfo).map_err(|source| CgroupError::Detect {
        path: mountinfo.to_path_buf(),
        source,
    })?;
    let mounts = parse_mountinfo(&text);
    let v2_controllers = match mounts.iter().find(|m| m.v1_controllers.is_none()) {
        Some(v2) => {
            let path = v2.mount_point.join("cgroup.controllers");
            fs::read_to_string(&path).map_err(|source| CgroupError::Detect { path, source })?
        }
        None => String::new(),
    };
    Hierarchies::from_mounts(&mounts, &v2_controllers).ok_or_else(|| CgroupError::NoCgroupFs {
        mountinfo: mountinfo.to_path_buf(),
    })
}

/// Extracts the cgroup mounts from mount table text, in mount order. Lines that do not parse
/// are skipped: the table comes from the kernel, and a line we cannot read is not a cgroup.
pub(crate) fn parse_mountinfo(text: &str) -> Vec<CgroupMount> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<CgroupMount> {
    // "36 25 0:32 / /sys/fs/cgroup/memory rw,relatime shared:14 - cgroup cgroup rw,memory"
    let (left, right) = line.split_once(" - ")?;
    let mount_point = unescape(left.split_whitespace().nth(4)?);
    let mut right = right.split_whitespace();
    let fstype = right.next()?;
    let _source = right.next()?;
    let super_options = right.next().unwrap_or("");
    let v1_controllers = match fstype {
        "cgroup2" => None,
        "cgroup" => Some(
            super_options
                .split(',')
                .filter(|o| KERNEL_V1_CONTROLLERS.contains(o))
                .map(str::to_owned)
                .collect(),
        ),
        _ => return None,
    };
    Some(CgroupMount {
        mount_point: PathBuf::from(mount_point),
        v1_controllers,
    })
}

/// Undoes the kernel's octal escapes (`\040` for space, `\011`, `\012`, `\134`).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match octal {
            Some(d) => {
                let value = d.iter().fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
                out.push(u8::try_from(value).unwrap_or(b'?'));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Hierarchies {
    /// Chooses a hierarchy per controller: a v1 hierarchy mounted for it wins (the first listed,
    /// if mounted twice); otherwise cgroup2 if `v2_controllers` (the cgroup2 root's
    /// `cgroup.controllers`) names it. `None` when there is no cgroup filesystem at all.
    pub(crate) fn from_mounts(mounts: &[CgroupMount], v2_controllers: &str) -> Option<Self> {
        let v2_root = mounts
            .iter()
            .find(|m| m.v1_controllers.is_none())
            .map(|m| m.mount_point.clone());
        let has_v1 = mounts
            .iter()
            .any(|m| m.v1_controllers.as_ref().is_some_and(|c| !c.is_empty()));
        let setup = match (has_v1, v2_root.is_some()) {
            (true, false) => CgroupSetup::Legacy,
            (true, true) => CgroupSetup::Hybrid,
            (false, true) => CgroupSetup::Unified,
            (false, false) => return None,
        };
        let mut controllers = BTreeMap::new();
        for m in mounts {
            for name in m.v1_controllers.iter().flatten() {
                if let Some(c) = Controller::from_name(name) {
                    controllers.entry(c).or_insert_with(|| Hierarchy::V1 {
                        mount: m.mount_point.clone(),
                    });
                }
            }
        }
        if let Some(root) = &v2_root {
            for name in v2_controllers.split_whitespace() {
                match Controller::from_name(name) {
                    Some(c) if c.exists_on_v2() => {
                        controllers
                            .entry(c)
                            .or_insert_with(|| Hierarchy::V2 { root: root.clone() });
                    }
                    _ => {}
                }
            }
        }
        Some(Hierarchies {
            setup,
            v2_root,
            controllers,
        })
    }

    /// Legacy, hybrid or unified.
    pub fn setup(&self) -> CgroupSetup {
        self.setup
    }

    /// The hierarchy serving `controller`, or `None` when the host lacks it.
    pub fn hierarchy(&self, controller: Controller) -> Option<&Hierarchy> {
        self.controllers.get(&controller)
    }

    /// The cgroup2 mount point, if any. Jails always get a group there: even with no
    /// controller it tracks their processes and offers `cgroup.kill`.
    pub fn v2_root(&self) -> Option<&Path> {
        self.v2_root.as_deref()
    }

    /// Distinct v1 mount points and the controllers each serves for us, in controller order.
    pub(crate) fn v1_mounts(&self) -> Vec<(PathBuf, Vec<Controller>)> {
        let mut out: Vec<(PathBuf, Vec<Controller>)> = Vec::new();
        for (c, h) in &self.controllers {
            if let Hierarchy::V1 { mount } = h {
                match out.iter_mut().find(|(m, _)| m == mount) {
                    Some((_, cs)) => cs.push(*c),
                    None => out.push((mount.clone(), vec![*c])),
                }
            }
        }
        out
    }

    /// Controllers served by cgroup2.
    pub(crate) fn v2_controllers(&self) -> Vec<Controller> {
        self.controllers
            .iter()
            .filter(|(_, h)| matches!(h, Hierarchy::V2 { .. }))
            .map(|(c, _)| *c)
            .collect()
    }
}

#[cfg(test)]
#[path = "detect_tests.rs"]
mod tests;
