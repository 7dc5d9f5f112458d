//! The resolved policy: every field concrete, after layering. This is what the jail,
//! the network plumbing and egress consume. Values here are already validated.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// An absolute, normalised path: starts with `/`, no `.`/`..` segments, no empty segments,
/// no trailing slash (except `/` itself), and none of `:` `,` `\` or control characters.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AbsPath(String);

impl AbsPath {
    /// Validates and wraps `s`; `None` when it is not an absolute normalised path.
    pub fn new(s: &str) -> Option<Self> {
        if !s.starts_with('/') || s.len() > 4096 {
            return None;
        }
        if s.chars().any(|c| c.is_control() || c == ':' || c == ',' || c == '\\') {
            return None;
        }
        if s == "/" {
            return Some(Self(s.to_owned()));
        }
        if s.ends_with('/') {
            return None;
        }
        if s[1..].split('/').any(|seg| seg.is_empty() || seg == "." || seg == "..") {
            return None;
        }
        Some(Self(s.to_owned()))
    }
    /// The path as a `Path`.
    pub fn as_path(&self) -> &Path {
        Path::new(&self.0)
    }
    /// The path as a `str`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// True when `self` is `other` or lies below it.
    pub fn starts_with(&self, other: &AbsPath) -> bool {
        self.as_path().starts_with(other.as_path())
    }
}

impl fmt::Display for AbsPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A size in bytes, written in YAML as `512M`, `1G`, `1048576`, `64K` (binary multiples).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// The size in bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }
}

/// CPU share as thousandths of a CPU (`1.5` → 1500).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cpus(pub u64);

impl Cpus {
    /// Thousandths of one CPU.
    pub fn millis(self) -> u64 {
        self.0
    }
}

/// What the jail's root is built from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootFs {
    /// Read-only binds of the host's system directories.
    Host,
    /// A root filesystem directory on the host.
    Dir(AbsPath),
}

/// Whether Landlock must be enforced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LandlockMode {
    /// Refuse to start when the kernel cannot enforce the ruleset fully.
    #[default]
    Required,
    /// Enforce what the kernel supports; record what it did.
    BestEffort,
}

/// The resolved `filesystem` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilesystemPolicy {
    /// Root image.
    pub root: RootFs,
    /// Extra read-only binds (same path inside as outside).
    pub read_only: Vec<AbsPath>,
    /// Extra writable binds (same path inside as outside).
    pub read_write: Vec<AbsPath>,
    /// Paths never visible inside (in addition to the always-hidden ones).
    pub hidden: Vec<AbsPath>,
    /// Size of the jail's private `/tmp`.
    pub tmp_size: ByteSize,
    /// Landlock requirement.
    pub landlock: LandlockMode,
}

/// Resource limits a process may set with `setrlimit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RlimitKind {
    /// RLIMIT_NOFILE
    Nofile,
    /// RLIMIT_NPROC
    Nproc,
    /// RLIMIT_CORE
    Core,
    /// RLIMIT_FSIZE
    Fsize,
    /// RLIMIT_STACK
    Stack,
    /// RLIMIT_CPU (seconds)
    Cpu,
    /// RLIMIT_AS
    As,
    /// RLIMIT_MEMLOCK
    Memlock,
}

/// The seccomp profile a jail runs under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SeccompProfile {
    /// Paddock's allowlist (default deny).
    #[default]
    Default,
}

/// The resolved `process` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessPolicy {
    /// Soft = hard limit for each listed resource.
    pub rlimits: BTreeMap<RlimitKind, u64>,
    /// Seccomp profile.
    pub seccomp: SeccompProfile,
}

/// The resolved `resources` section. `None` means unlimited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourcePolicy {
    /// Memory limit.
    pub memory: Option<ByteSize>,
    /// Maximum number of tasks.
    pub pids: Option<u64>,
    /// CPU bandwidth.
    pub cpus: Option<Cpus>,
    /// Disk quota for the workspace.
    pub disk: Option<ByteSize>,
}

/// Network mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum NetworkMode {
    /// Loopback only.
    None,
    /// Private ranges only.
    #[default]
    Intranet,
    /// Everything via NAT except host, other jails, metadata.
    Internet,
}
