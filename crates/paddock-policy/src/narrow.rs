//! "Is this policy within that one?" — the comparison an owner layer must pass. Each check says
//! which field widened, to what, and what the layers above allow. The rules are listed in the
//! crate docs; conservative where exact comparison is hard (path globs): unsure means wider.

use std::fmt;

use crate::net::{EgressRule, HttpRule, Method, TlsMode};
use crate::resolved::{AbsPath, LandlockMode, ResolvedPolicy};

/// The first field on which a policy allows more than its parent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Widening {
    /// Key path, e.g. `resources.memory` or `network.egress[0].ports`.
    pub key: String,
    /// What the child asks for.
    pub value: String,
    /// What the parent allows.
    pub limit: String,
}

impl ResolvedPolicy {
    /// `None` when `self` allows nothing that `parent` does not; otherwise the first widening.
    pub fn widening_over(&self, parent: &ResolvedPolicy) -> Option<Widening> {
        filesystem(self, parent)
            .or_else(|| process_and_resources(self, parent))
            .or_else(|| network(self, parent))
            .or_else(|| inference(self, parent))
    }
}

fn widen(
    key: impl Into<String>,
    value: impl fmt::Display,
    limit: impl fmt::Display,
) -> Option<Widening> {
    Some(Widening {
        key: key.into(),
        value: value.to_string(),
        limit: limit.to_string(),
    })
}

fn list<T: fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    let items: Vec<String> = items.into_iter().map(|i| i.to_string()).collect();
    format!("[{}]", items.join(", "))
}

fn under_any(p: &AbsPath, roots: &[&AbsPath]) -> bool {
    roots.iter().any(|r| p.starts_with(r))
}

fn filesystem(c: &ResolvedPolicy, p: &ResolvedPolicy) -> Option<Widening> {
    let (c, p) = (&c.filesystem, &p.filesystem);
    if c.root != p.root {
        return widen("filesystem.root", &c.root, &p.root);
    }
    let visible: Vec<&AbsPath> = p.read_only.iter().chain(&p.read_write).collect();
    if let Some(i) = c.read_only.iter().position(|x| !under_any(x, &visible)) {
        return widen(
            format!("filesystem.read_only[{i}]"),
            &c.read_only[i],
            format!("binds {}", list(&visible)),
        );
    }
    let writable: Vec<&AbsPath> = p.read_write.iter().collect();
    if let Some(i) = c.read_write.iter().position(|x| !under_any(x, &writable)) {
        return widen(
            format!("filesystem.read_write[{i}]"),
            &c.read_write[i],
            format!("read_write {}", list(&writable)),
        );
    }
    if let Some(h) = p.hidden.iter().find(|h| !c.hidden.contains(h)) {
        return widen(
            "filesystem.hidden",
            format!("unhiding {h}"),
            format!("hidden {}", list(&p.hidden)),
        );
    }
    if c.tmp_size > p.tmp_size {
        return widen("filesystem.tmp_size", c.tmp_size, p.tmp_size);
    }
    if p.landlock == LandlockMode::Required && c.landlock != LandlockMode::Required {
        return widen(
            "filesystem.landlock",
            c.landlock.as_str(),
            p.landlock.as_str(),
        );
    }
    None
}

fn limit<T: Ord + fmt::Display>(key: &str, c: &Option<T>, p: &Option<T>) -> Option<Widening> {
    match (c, p) {
        (_, None) => None,
        (None, Some(pv)) => widen(key, "unlimited", pv),
        (Some(cv), Some(pv)) if cv > pv => widen(key, cv, pv),
        _ => None,
    }
}

fn process_and_resources(c: &ResolvedPolicy, p: &ResolvedPolicy) -> Option<Widening> {
    for (kind, pv) in &p.process.rlimits {
        let key = format!("process.rlimits.{}", kind.as_str());
        if let Some(w) = limit(&key, &c.process.rlimits.get(kind), &Some(pv)) {
            return Some(w);
        }
    }
    if c.process.seccomp != p.process.seccomp {
        return widen(
            "process.seccomp",
            format!("{:?}", c.process.seccomp),
            format!("{:?}", p.process.seccomp),
        );
    }
    let (c, p) = (&c.resources, &p.resources);
    limit("resources.memory", &c.memory, &p.memory)
        .or_else(|| limit("resources.pids", &c.pids, &p.pids))
        .or_else(|| limit("resources.cpus", &c.cpus, &p.cpus))
        .or_else(|| limit("resources.disk", &c.disk, &p.disk))
}

fn network(c: &ResolvedPolicy, p: &ResolvedPolicy) -> Option<Widening> {
    let (c, p) = (&c.network, &p.network);
    if c.mode.breadth() > p.mode.breadth() {
        return widen("network.mode", c.mode.as_str(), p.mode.as_str());
    }
    for (i, r) in c.private_ranges.iter().enumerate() {
        if !p.private_ranges.iter().any(|pr| pr.contains(r)) {
            return widen(
                format!("network.private_ranges[{i}]"),
                r,
                list(&p.private_ranges),
            );
        }
    }
    for (i, d) in c.dns_allow.iter().enumerate() {
        if !p.dns_patterns().any(|pd| pd.covers(d)) {
            return widen(
                format!("network.dns.allow[{i}]"),
                d,
                format!("DNS names {}", list(p.dns_patterns())),
            );
        }
    }
    for (i, rule) in c.egress.iter().enumerate() {
        let key = format!("network.egress[{i}]");
        let Some(parent) = p.egress.iter().find(|r| r.name == rule.name) else {
            let names = list(p.egress.iter().map(|r| &r.name));
            return widen(
                format!("{key}.name"),
                format!("new rule {:?}", rule.name),
                format!("rules {names}"),
            );
        };
        if let Some(w) = egress_rule(&key, rule, parent) {
            return Some(w);
        }
    }
    for (i, cred) in c.credentials.iter().enumerate() {
        let key = format!("network.credentials[{i}]");
        let Some(parent) = p
            .credentials
            .iter()
            .find(|x| x.env == cred.env && x.secret == cred.secret)
        else {
            let known = list(
                p.credentials
                    .iter()
                    .map(|x| format!("{}={}", x.env, x.secret)),
            );
            return widen(
                key,
                format!("{}={}", cred.env, cred.secret),
                format!("credentials {known}"),
            );
        };
        for (j, h) in cred.hosts.iter().enumerate() {
            if !parent.hosts.iter().any(|ph| ph.covers(h)) {
                return widen(format!("{key}.hosts[{j}]"), h, list(&parent.hosts));
            }
        }
    }
    None
}

impl fmt::Display for HttpRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.methods == Method::all() {
            write!(f, "any method {}", self.path)
        } else {
            let m: Vec<&str> = self.methods.iter().map(|m| m.as_str()).collect();
            write!(f, "{} {}", m.join(","), self.path)
        }
    }
}

fn egress_rule(key: &str, c: &EgressRule, p: &EgressRule) -> Option<Widening> {
    if !p.host.covers(&c.host) {
        return widen(format!("{key}.host"), &c.host, &p.host);
    }
    if let Some(port) = c.ports.iter().find(|x| !p.ports.contains(x)) {
        return widen(format!("{key}.ports"), port, list(&p.ports));
    }
    if p.tls == TlsMode::Passthrough {
        // The parent lets every request to the host through: anything here is narrower.
        return None;
    }
    if c.tls == TlsMode::Passthrough {
        return widen(format!("{key}.tls"), "passthrough", "inspect");
    }
    if !p.allow.is_empty() {
        if c.allow.is_empty() {
            return widen(
                format!("{key}.allow"),
                "every request (no allow entries)",
                list(&p.allow),
            );
        }
        for (j, a) in c.allow.iter().enumerate() {
            if !p.allow.iter().any(|pa| pa.covers(a)) {
                return widen(format!("{key}.allow[{j}]"), a, list(&p.allow));
            }
        }
    }
    if let Some(d) = p
        .deny
        .iter()
        .find(|pd| !c.deny.iter().any(|cd| cd.covers(pd)))
    {
        return widen(
            format!("{key}.deny"),
            format!("no deny entry covering {d}"),
            list(&p.deny),
        );
    }
    None
}

fn inference(c: &ResolvedPolicy, p: &ResolvedPolicy) -> Option<Widening> {
    let (c, p) = (&c.inference, &p.inference);
    if let Some(m) = c.models.iter().find(|m| !p.models.contains(*m)) {
        return widen("inference.models", m, list(&p.models));
    }
    if c.max_concurrency > p.max_concurrency {
        return widen(
            "inference.max_concurrency",
            c.max_concurrency,
            p.max_concurrency,
        );
    }
    limit(
        "inference.tokens_per_day",
        &c.tokens_per_day,
        &p.tokens_per_day,
    )
}
