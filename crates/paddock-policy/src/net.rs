//! Network values: address ranges, host patterns, HTTP methods, path globs, egress rules and
//! credential bindings. These types are shared by the YAML schema and the resolved policy, so a
//! rule that parsed is already well-formed; the cross-field checks live in `validate.rs`.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::Deserialize;

use crate::values::{deserialize_from_str, ValueError};

/// An IPv4 or IPv6 range in CIDR form, canonical (no host bits set).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// The range `addr/prefix`; `None` when the prefix is too long or host bits are set.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Self> {
        let (bits, max) = Self::bits_of(addr);
        if prefix > max || bits & !Self::mask(prefix, max) != 0 {
            return None;
        }
        Some(Self { addr, prefix })
    }

    /// An IPv4 range from constant parts; callers pass canonical values.
    pub(crate) fn v4(octets: [u8; 4], prefix: u8) -> Self {
        Self {
            addr: IpAddr::from(octets),
            prefix,
        }
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// True when every address of `other` lies in `self`.
    pub fn contains(&self, other: &Cidr) -> bool {
        let (a, max_a) = Self::bits_of(self.addr);
        let (b, max_b) = Self::bits_of(other.addr);
        max_a == max_b && other.prefix >= self.prefix && b & Self::mask(self.prefix, max_a) == a
    }

    /// True when the two ranges share at least one address.
    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.contains(other) || other.contains(self)
    }

    fn bits_of(addr: IpAddr) -> (u128, u8) {
        match addr {
            IpAddr::V4(a) => (u128::from(u32::from(a)), 32),
            IpAddr::V6(a) => (u128::from(a), 128),
        }
    }

    fn mask(prefix: u8, max: u8) -> u128 {
        let full = if max == 128 {
            u128::MAX
        } else {
            (1u128 << max) - 1
        };
        match prefix {
            0 => 0,
            p => (u128::MAX << (max - p)) & full,
        }
    }
}

impl FromStr for Cidr {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, ValueError> {
        let err = || ValueError::Cidr {
            value: s.to_owned(),
        };
        let (addr, prefix) = s.split_once('/').ok_or_else(err)?;
        let addr: IpAddr = addr.parse().map_err(|_| err())?;
        if prefix.is_empty() || prefix.len() > 3 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        let prefix: u8 = prefix.parse().map_err(|_| err())?;
        Cidr::new(addr, prefix).ok_or_else(err)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Ranges that are never "private ranges": loopback, link-local (cloud metadata lives at
/// 169.254.169.254), multicast, "this network", reserved, and IPv4-mapped IPv6 (which would let
/// a v6 socket reach any v4 address). Listing one would open the host or the metadata service.
pub(crate) fn reserved_ranges() -> Vec<(Cidr, &'static str)> {
    let v6 = |s: &str| s.parse::<Cidr>().ok();
    let mut out = vec![
        (Cidr::v4([0, 0, 0, 0], 8), "\"this network\""),
        (Cidr::v4([127, 0, 0, 0], 8), "loopback"),
        (
            Cidr::v4([169, 254, 0, 0], 16),
            "link-local (cloud metadata)",
        ),
        (Cidr::v4([224, 0, 0, 0], 4), "multicast"),
        (Cidr::v4([240, 0, 0, 0], 4), "reserved"),
    ];
    for (s, why) in [
        ("::/128", "the unspecified address"),
        ("::1/128", "loopback"),
        ("::ffff:0:0/96", "IPv4-mapped (reaches any IPv4 address)"),
        ("fe80::/10", "link-local"),
        ("ff00::/8", "multicast"),
    ] {
        if let Some(c) = v6(s) {
            out.push((c, why));
        }
    }
    out
}

/// Public suffixes refused as egress hosts and DNS wildcards: a rule for `*.com` would let a
/// jail reach (and exfiltrate to) any domain under it. A short built-in list, not the full PSL.
const PUBLIC_SUFFIXES: &[&str] = &[
    "com",
    "net",
    "org",
    "io",
    "dev",
    "app",
    "ai",
    "co",
    "edu",
    "gov",
    "mil",
    "int",
    "info",
    "biz",
    "xyz",
    "me",
    "tv",
    "cloud",
    "online",
    "site",
    "tech",
    "top",
    "eu",
    "us",
    "uk",
    "co.uk",
    "org.uk",
    "ac.uk",
    "gov.uk",
    "me.uk",
    "de",
    "fr",
    "nl",
    "be",
    "at",
    "ch",
    "it",
    "es",
    "pt",
    "se",
    "no",
    "dk",
    "fi",
    "ie",
    "pl",
    "cz",
    "ru",
    "ua",
    "ca",
    "au",
    "com.au",
    "net.au",
    "org.au",
    "nz",
    "co.nz",
    "jp",
    "co.jp",
    "ne.jp",
    "cn",
    "com.cn",
    "in",
    "co.in",
    "br",
    "com.br",
    "kr",
    "co.kr",
    "tw",
    "com.tw",
    "hk",
    "com.hk",
    "sg",
    "com.sg",
    "za",
    "co.za",
    "mx",
    "com.mx",
    "ar",
    "com.ar",
    "github.io",
    "githubusercontent.com",
    "gitlab.io",
    "herokuapp.com",
    "appspot.com",
    "cloudfront.net",
    "amazonaws.com",
    "s3.amazonaws.com",
    "azurewebsites.net",
    "blob.core.windows.net",
    "vercel.app",
    "netlify.app",
    "pages.dev",
    "workers.dev",
    "web.app",
    "firebaseapp.com",
    "blogspot.com",
    "ngrok.io",
    "ngrok-free.app",
    "trycloudflare.com",
];

/// True for the names on Paddock's built-in public suffix list.
pub fn is_public_suffix(name: &str) -> bool {
    PUBLIC_SUFFIXES.contains(&name)
}

/// A host name pattern: an exact name, or `*.suffix` for every name strictly below `suffix`.
/// Never a bare `*`, an address, or a public suffix. Stored lowercase.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HostPattern {
    /// Exactly this name.
    Exact(String),
    /// Any name ending in `.` + this suffix (not the suffix itself).
    Suffix(String),
}

impl HostPattern {
    /// True when `name` (any case, no trailing dot) matches the pattern.
    pub fn matches(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        match self {
            HostPattern::Exact(n) => *n == name,
            HostPattern::Suffix(s) => is_strictly_below(&name, s),
        }
    }

    /// True when every name `other` matches is also matched by `self`.
    pub fn covers(&self, other: &HostPattern) -> bool {
        match (self, other) {
            (HostPattern::Exact(a), HostPattern::Exact(b)) => a == b,
            (HostPattern::Exact(_), HostPattern::Suffix(_)) => false,
            (HostPattern::Suffix(s), HostPattern::Exact(n)) => is_strictly_below(n, s),
            (HostPattern::Suffix(s), HostPattern::Suffix(t)) => s == t || is_strictly_below(t, s),
        }
    }
}

fn is_strictly_below(name: &str, suffix: &str) -> bool {
    name.len() > suffix.len() + 1
        && name.ends_with(suffix)
        && name.as_bytes()[name.len() - suffix.len() - 1] == b'.'
}

fn check_dns_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > 253 {
        return Err("a host name has 1 to 253 characters");
    }
    if name.parse::<IpAddr>().is_ok() {
        return Err(
            "write a host name, not an address (private addresses come from private_ranges)",
        );
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("each dot-separated label has 1 to 63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err("a name may contain only letters, digits, '-', '_' and dots; wildcards only as a leading \"*.\"");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a label may not start or end with '-'");
        }
    }
    if is_public_suffix(name) {
        return Err("it is a public suffix: name a host or a domain you control");
    }
    Ok(())
}

impl FromStr for HostPattern {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, ValueError> {
        let err = |reason| ValueError::Host {
            value: s.to_owned(),
            reason,
        };
        let lower = s.to_ascii_lowercase();
        if lower == "*" {
            return Err(err("a bare * would allow every host; name the hosts"));
        }
        let (suffix, name) = match lower.strip_prefix("*.") {
            Some("") => return Err(err("a wildcard needs a suffix, as in *.corp.example")),
            Some(rest) => (true, rest),
            None => (false, lower.as_str()),
        };
        check_dns_name(name).map_err(err)?;
        Ok(if suffix {
            HostPattern::Suffix(name.to_owned())
        } else {
            HostPattern::Exact(name.to_owned())
        })
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostPattern::Exact(n) => f.write_str(n),
            HostPattern::Suffix(s) => write!(f, "*.{s}"),
        }
    }
}

/// An HTTP method an egress rule can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
#[allow(missing_docs)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
    Connect,
    Trace,
}

impl Method {
    /// Every method: what a rule without `methods` applies to.
    pub fn all() -> BTreeSet<Method> {
        use Method::*;
        BTreeSet::from([Get, Head, Post, Put, Patch, Delete, Options, Connect, Trace])
    }

    /// The method as written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Connect => "CONNECT",
            Method::Trace => "TRACE",
        }
    }
}

/// A URL path glob: starts with `/`; `*` matches within one segment, a whole `**` segment matches
/// any number of segments (`/**` matches every path).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PathGlob(String);

impl PathGlob {
    /// `/**`: every path.
    pub fn any() -> Self {
        PathGlob("/**".to_owned())
    }

    /// The glob as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when the request path (without query) matches. Linear in segments × glob segments.
    pub fn matches(&self, path: &str) -> bool {
        let Some(path) = path.strip_prefix('/') else {
            return false;
        };
        let glob: Vec<&str> = self.0[1..].split('/').collect();
        let segs: Vec<&str> = path.split('/').collect();
        // reach[j]: the glob prefix processed so far can consume exactly segs[..j].
        let mut reach = vec![false; segs.len() + 1];
        reach[0] = true;
        for g in &glob {
            let mut next = vec![false; segs.len() + 1];
            if *g == "**" {
                let mut seen = false;
                for j in 0..=segs.len() {
                    seen |= reach[j];
                    next[j] = seen;
                }
            } else {
                for j in 0..segs.len() {
                    next[j + 1] = reach[j] && segment_matches(g, segs[j]);
                }
            }
            reach = next;
        }
        reach[segs.len()]
    }

    /// True when every path `other` matches is certainly matched by `self`. Conservative: it
    /// answers false when unsure, which only makes narrowing stricter and overlap checks laxer.
    pub fn covers(&self, other: &PathGlob) -> bool {
        if self == other || self.0 == "/**" {
            return true;
        }
        if !other.0.contains('*') {
            return self.matches(&other.0);
        }
        match self.0.strip_suffix("/**") {
            Some(prefix) if !prefix.contains('*') => {
                other.0 == prefix || other.0.starts_with(&format!("{prefix}/"))
            }
            _ => false,
        }
    }
}

fn segment_matches(glob: &str, seg: &str) -> bool {
    // Classic wildcard match with one backtrack point: linear in practice, no recursion.
    let (g, s) = (glob.as_bytes(), seg.as_bytes());
    let (mut gi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if gi < g.len() && g[gi] == b'*' {
            star = Some((gi, si));
            gi += 1;
        } else if gi < g.len() && g[gi] == s[si] {
            gi += 1;
            si += 1;
        } else if let Some((sg, ss)) = star {
            gi = sg + 1;
            si = ss + 1;
            star = Some((sg, ss + 1));
        } else {
            return false;
        }
    }
    g[gi..].iter().all(|&b| b == b'*')
}

impl FromStr for PathGlob {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, ValueError> {
        let err = |reason| ValueError::PathGlob {
            value: s.to_owned(),
            reason,
        };
        if !s.starts_with('/') {
            return Err(err("a path glob starts with /"));
        }
        if s.len() > 1024 {
            return Err(err("a path glob has at most 1024 characters"));
        }
        if s.chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '?' || c == '#')
        {
            return Err(err(
                "no spaces, control characters, '?' or '#' (rules match the path, not the query)",
            ));
        }
        if s[1..]
            .split('/')
            .any(|seg| seg.contains("**") && seg != "**")
        {
            return Err(err("** must be a whole segment, as in /repos/**"));
        }
        Ok(PathGlob(s.to_owned()))
    }
}

impl fmt::Display for PathGlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

deserialize_from_str!(Cidr, HostPattern, PathGlob);

/// How the egress proxy treats TLS to a host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsMode {
    /// Terminate TLS with the deployment CA so method and path rules apply.
    Inspect,
    /// Relay the TLS stream untouched; only host (SNI) and port are checked.
    #[default]
    Passthrough,
}

/// One `allow` or `deny` entry: methods and a path glob.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpRule {
    /// Methods this entry applies to; all methods when left out.
    #[serde(default = "Method::all")]
    pub methods: BTreeSet<Method>,
    /// Paths this entry applies to; `/**` when left out.
    #[serde(default = "PathGlob::any")]
    pub path: PathGlob,
}

impl HttpRule {
    /// True when the request matches this entry.
    pub fn matches(&self, method: Method, path: &str) -> bool {
        self.methods.contains(&method) && self.path.matches(path)
    }

    /// True when every request `other` matches is certainly matched by `self`.
    pub fn covers(&self, other: &HttpRule) -> bool {
        other.methods.is_subset(&self.methods) && self.path.covers(&other.path)
    }
}

fn default_ports() -> BTreeSet<u16> {
    BTreeSet::from([443])
}

/// An egress rule: which host and ports a jail may reach through the proxy, and with `inspect`,
/// which requests. Deny entries win over allow entries; no allow entries means every request
/// not denied.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EgressRule {
    /// Rule name, shown in denials and audit events; unique within a policy.
    pub name: String,
    /// Host the rule applies to.
    pub host: HostPattern,
    /// Destination ports; `[443]` when left out.
    #[serde(default = "default_ports")]
    pub ports: BTreeSet<u16>,
    /// TLS handling; `passthrough` when left out (method and path rules need `inspect`).
    #[serde(default)]
    pub tls: TlsMode,
    /// Requests allowed; empty means all requests that no deny entry matches.
    #[serde(default)]
    pub allow: Vec<HttpRule>,
    /// Requests refused, whatever `allow` says.
    #[serde(default)]
    pub deny: Vec<HttpRule>,
}

/// A secret bound to hosts: the jail sees a placeholder in `env`, egress swaps in the value of
/// `secret` only on requests to `hosts`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    /// Environment variable holding the placeholder inside the jail.
    pub env: String,
    /// Name of a stored secret of the session's owner (or an admin default).
    pub secret: String,
    /// Hosts whose requests get the real value.
    pub hosts: Vec<HostPattern>,
}

#[cfg(test)]
#[path = "net_tests.rs"]
mod tests;
