//! Errors and warnings. Every error names where it comes from: the layer's source (a file name
//! or a label such as `session request`), the line and column when the value came from YAML
//! text, and the key path (`filesystem.read_write[0]`).

use std::fmt;

use crate::layer::LayerKind;
use crate::resolved::AbsPath;

/// A line and column in a YAML source, both counted from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// Line, from 1.
    pub line: u32,
    /// Column in characters, from 1.
    pub column: u32,
}

/// Where a problem sits: source, position (when known) and key path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The layer's source: a file name or a label.
    pub source: String,
    /// Line and column, when the value came from YAML text.
    pub position: Option<Position>,
    /// Dotted key path with list indices, e.g. `network.egress[0].host`; empty for the document.
    pub key: String,
}

impl fmt::Display for Origin {
    /// `policy.yaml:7:5: filesystem.read_write[0]`, or `policy.yaml: key` without a position.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)?;
        if let Some(p) = self.position {
            write!(f, ":{}:{}", p.line, p.column)?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        Ok(())
    }
}

/// Paddock's policy errors: what failed, on what, and what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The text is larger than the parser accepts.
    #[error("{file}: the policy is {bytes} bytes, over the {limit}-byte limit; policies are small, split or shorten it")]
    ParseTooLarge {
        /// The layer's source.
        file: String,
        /// Size of the text.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// The YAML did not parse into the schema (syntax, unknown key, bad value, duplicate key,
    /// resource budget exceeded).
    #[error("{at}: {message}")]
    Parse {
        /// Where.
        at: Origin,
        /// The parser's message.
        message: String,
    },
    /// A value parsed but breaks a rule of the policy.
    #[error("{at}: {problem}")]
    Validate {
        /// Where.
        at: Origin,
        /// Which rule.
        problem: Problem,
    },
    /// An owner layer tried to allow more than the layers above it.
    #[error("{at}: {value} is wider than {limit}, which the layers above allow; a {layer} layer owned by a user may only narrow (an admin layer can grant more)")]
    ResolveWiden {
        /// Where, in the widening layer.
        at: Origin,
        /// Which kind of layer.
        layer: LayerKind,
        /// What the layer asked for.
        value: String,
        /// What the layers above allow.
        limit: String,
    },
    /// Layers were passed out of order.
    #[error("{file}: a {layer} layer may not come after a {previous} layer; order layers system, role, user, template, session")]
    ResolveOrder {
        /// The misplaced layer's source.
        file: String,
        /// Its kind.
        layer: LayerKind,
        /// The kind of the layer before it.
        previous: LayerKind,
    },
}

/// A rule of the policy language that a value breaks. `code()` is stable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// `version` other than 1.
    UnsupportedVersion(u32),
    /// `/` listed as writable.
    RootWritable,
    /// `root:` set to `/`.
    RootIsHostSlash,
    /// A path both read-only and read-write.
    ReadOnlyAndReadWrite(AbsPath),
    /// A hidden path that is bound, or under which something is bound.
    HiddenButBound(AbsPath),
    /// A limit of zero.
    Zero,
    /// An empty list where at least one entry is needed.
    Empty,
    /// A name used twice in one list.
    Duplicate(String),
    /// An egress rule or credential name with characters outside `[A-Za-z0-9._-]`.
    BadName(String),
    /// An environment variable name that is not `[A-Za-z_][A-Za-z0-9_]*`, or one the jail needs.
    BadEnv(String),
    /// A private range that overlaps a range that must never be reachable.
    ReservedRange {
        /// The range listed.
        range: String,
        /// What it overlaps.
        what: &'static str,
    },
    /// Method/path entries on a `passthrough` rule, which cannot see requests.
    RulesNeedInspect,
    /// Two egress rules for overlapping hosts with a port in common.
    OverlappingRules {
        /// Index of the earlier rule.
        other: usize,
    },
    /// An allow entry that a deny entry fully covers, so it can never match.
    UnmatchableAllow {
        /// Index of the deny entry that covers it.
        deny: usize,
    },
}

impl Problem {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Problem::UnsupportedVersion(_) => "unsupported_version",
            Problem::RootWritable => "root_writable",
            Problem::RootIsHostSlash => "root_is_host_slash",
            Problem::ReadOnlyAndReadWrite(_) => "read_only_and_read_write",
            Problem::HiddenButBound(_) => "hidden_but_bound",
            Problem::Zero => "zero_limit",
            Problem::Empty => "empty_list",
            Problem::Duplicate(_) => "duplicate",
            Problem::BadName(_) => "bad_name",
            Problem::BadEnv(_) => "bad_env",
            Problem::ReservedRange { .. } => "reserved_range",
            Problem::RulesNeedInspect => "rules_need_inspect",
            Problem::OverlappingRules { .. } => "overlapping_rules",
            Problem::UnmatchableAllow { .. } => "unmatchable_allow",
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::UnsupportedVersion(v) => {
                write!(f, "version {v} is not supported; this Paddock reads version 1")
            }
            Problem::RootWritable => f.write_str("\"/\" may not be writable; list the directories the agent needs"),
            Problem::RootIsHostSlash => {
                f.write_str("root may not be \"/\"; write `root: host` for the host's system directories")
            }
            Problem::ReadOnlyAndReadWrite(p) => {
                write!(f, "{p} is listed both read_only and read_write; keep one")
            }
            Problem::HiddenButBound(p) => write!(
                f,
                "{p} is hidden but is (or contains) a bind; remove the bind or the hidden entry"
            ),
            Problem::Zero => f.write_str("must be greater than zero"),
            Problem::Empty => f.write_str("must list at least one entry (leave the key out to inherit)"),
            Problem::Duplicate(n) => write!(f, "{n:?} is listed twice"),
            Problem::BadName(n) => {
                write!(f, "{n:?} is not a valid name: use 1 to 128 of A-Z a-z 0-9 . _ -")
            }
            Problem::BadEnv(n) => write!(
                f,
                "{n:?} cannot hold a credential: use [A-Za-z_][A-Za-z0-9_]*, not PATH, HOME, LD_* or PADDOCK_*"
            ),
            Problem::ReservedRange { range, what } => write!(
                f,
                "{range} overlaps {what} addresses, which a jail may never reach; list only private ranges"
            ),
            Problem::RulesNeedInspect => f.write_str(
                "allow/deny entries need `tls: inspect`; a passthrough rule cannot see methods or paths",
            ),
            Problem::OverlappingRules { other } => write!(
                f,
                "this rule's host and ports overlap network.egress[{other}]; one rule governs each host and port: merge them or split the ports"
            ),
            Problem::UnmatchableAllow { deny } => write!(
                f,
                "this allow entry can never match: deny[{deny}] covers all its methods and paths, and deny wins"
            ),
        }
    }
}

/// Something valid but probably not what the author meant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// Where.
    pub at: Origin,
    /// What.
    pub kind: WarningKind,
}

/// The kinds of warnings. `code()` is stable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WarningKind {
    /// Network enabled but no `dns.allow`: only egress hosts resolve.
    NoDnsAllow,
    /// Mode `none` next to egress rules, DNS names or credentials, which then never apply.
    NetworkNoneIgnoresRules,
}

impl WarningKind {
    /// A stable, machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            WarningKind::NoDnsAllow => "no_dns_allow",
            WarningKind::NetworkNoneIgnoresRules => "network_none_ignores_rules",
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            WarningKind::NoDnsAllow => "the network is on but dns.allow is empty: only egress hosts will resolve, intranet names will not",
            WarningKind::NetworkNoneIgnoresRules => "mode is none, so egress rules, DNS names and credentials in this layer never apply",
        };
        write!(f, "{}: warning: {what}", self.at)
    }
}
