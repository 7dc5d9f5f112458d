//! The resolved policy: every field concrete, after layering. This is what the jail,
//! the network plumbing and egress consume. Values here are already validated.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use serde::Deserialize;

use crate::net::{Cidr, Credential, EgressRule, HostPattern};

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
        if s.chars()
            .any(|c| c.is_control() || c == ':' || c == ',' || c == '\\')
        {
            return None;
        }
        if s == "/" {
            return Some(Self(s.to_owned()));
        }
        if s.ends_with('/') {
            return None;
        }
        if s[1..]
            .split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == "..")
        {
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkMode {
    /// Loopback only.
    None,
    /// Private ranges only.
    #[default]
    Intranet,
    /// Everything via NAT except host, other jails, metadata.
    Internet,
}

impl std::str::FromStr for NetworkMode {
    type Err = String;

    /// The YAML spelling (`none`, `intranet`, `internet`), for command-line flags.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            NetworkMode::None,
            NetworkMode::Intranet,
            NetworkMode::Internet,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
        .ok_or_else(|| format!("unknown network mode {s:?}: expected none, intranet or internet"))
    }
}

impl fmt::Display for NetworkMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl NetworkMode {
    /// How much the mode lets through: `none` < `intranet` < `internet`.
    pub fn breadth(self) -> u8 {
        match self {
            NetworkMode::None => 0,
            NetworkMode::Intranet => 1,
            NetworkMode::Internet => 2,
        }
    }

    /// The YAML spelling of the mode (also what [`FromStr`](std::str::FromStr) reads).
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkMode::None => "none",
            NetworkMode::Intranet => "intranet",
            NetworkMode::Internet => "internet",
        }
    }
}

impl LandlockMode {
    /// The YAML spelling of the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            LandlockMode::Required => "required",
            LandlockMode::BestEffort => "best_effort",
        }
    }
}

impl RlimitKind {
    /// The YAML spelling of the limit (`nofile`, `core`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            RlimitKind::Nofile => "nofile",
            RlimitKind::Nproc => "nproc",
            RlimitKind::Core => "core",
            RlimitKind::Fsize => "fsize",
            RlimitKind::Stack => "stack",
            RlimitKind::Cpu => "cpu",
            RlimitKind::As => "as",
            RlimitKind::Memlock => "memlock",
        }
    }
}

/// The resolved `network` section: pushed to egress, changeable while a jail runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkPolicy {
    /// What the jail may reach at the IP level.
    pub mode: NetworkMode,
    /// Ranges reachable directly in `intranet` mode.
    pub private_ranges: Vec<Cidr>,
    /// Names the DNS filter answers (egress hosts are allowed in addition, see
    /// [`NetworkPolicy::dns_allows`]).
    pub dns_allow: Vec<HostPattern>,
    /// Per-host rules applied by the egress proxy.
    pub egress: Vec<EgressRule>,
    /// Secrets the proxy substitutes for placeholders, per host.
    pub credentials: Vec<Credential>,
}

impl NetworkPolicy {
    /// True when the DNS filter may answer `name`: it matches a `dns.allow` pattern or the host
    /// of an egress rule (an egress host is allowed in DNS implicitly). Always false in `none`.
    pub fn dns_allows(&self, name: &str) -> bool {
        self.mode != NetworkMode::None
            && (self.dns_allow.iter().any(|p| p.matches(name))
                || self.egress.iter().any(|r| r.host.matches(name)))
    }

    /// The patterns the DNS filter answers: `dns.allow` followed by every egress host.
    pub fn dns_patterns(&self) -> impl Iterator<Item = &HostPattern> {
        self.dns_allow
            .iter()
            .chain(self.egress.iter().map(|r| &r.host))
    }
}

/// The resolved `inference` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InferencePolicy {
    /// Models the jail may call through the inference router; empty means none.
    pub models: BTreeSet<String>,
    /// Requests in flight at once for this session.
    pub max_concurrency: u32,
    /// Token budget per user and day; `None` means no daily limit.
    pub tokens_per_day: Option<u64>,
}

/// A policy after layering: every field concrete and validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedPolicy {
    /// Static: the jail's filesystem view.
    pub filesystem: FilesystemPolicy,
    /// Static: rlimits and seccomp.
    pub process: ProcessPolicy,
    /// Static: cgroup limits.
    pub resources: ResourcePolicy,
    /// Dynamic: network mode, DNS, egress, credentials.
    pub network: NetworkPolicy,
    /// Dynamic: models and token limits.
    pub inference: InferencePolicy,
}

/// The RFC 1918 ranges, the default `private_ranges`.
pub fn rfc1918_ranges() -> Vec<Cidr> {
    vec![
        Cidr::v4([10, 0, 0, 0], 8),
        Cidr::v4([172, 16, 0, 0], 12),
        Cidr::v4([192, 168, 0, 0], 16),
    ]
}

/// The built-in system layer: the safe default every resolution starts from.
///
/// Host root with no extra binds, a 256 MiB `/tmp`, Landlock required, no core dumps, the
/// default seccomp allowlist, 1 GiB of memory and 512 tasks, `intranet` over the RFC 1918
/// ranges, no DNS names beyond egress hosts, no egress rules, no credentials, no models.
/// Shadow files and Paddock's own state are hidden by the jail itself, not listed here.
pub fn system_default() -> ResolvedPolicy {
    const MIB: u64 = 1024 * 1024;
    ResolvedPolicy {
        filesystem: FilesystemPolicy {
            root: RootFs::Host,
            read_only: Vec::new(),
            read_write: Vec::new(),
            hidden: Vec::new(),
            tmp_size: ByteSize(256 * MIB),
            landlock: LandlockMode::Required,
        },
        process: ProcessPolicy {
            rlimits: BTreeMap::from([(RlimitKind::Core, 0)]),
            seccomp: SeccompProfile::Default,
        },
        resources: ResourcePolicy {
            memory: Some(ByteSize(1024 * MIB)),
            pids: Some(512),
            cpus: None,
            disk: None,
        },
        network: NetworkPolicy {
            mode: NetworkMode::Intranet,
            private_ranges: rfc1918_ranges(),
            dns_allow: Vec::new(),
            egress: Vec::new(),
            credentials: Vec::new(),
        },
        inference: InferencePolicy {
            models: BTreeSet::new(),
            max_concurrency: 2,
            tokens_per_day: None,
        },
    }
}
