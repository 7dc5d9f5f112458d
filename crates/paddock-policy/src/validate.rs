//! Rules that span fields of one layer, checked after parsing (values are already well-formed:
//! see `values.rs` and `net.rs`). Each failure names the key path; the position comes from the
//! document's [`Positions`](crate::Positions) when it was parsed from text.

use std::collections::BTreeSet;

use crate::error::{Origin, PolicyError, Problem, Warning, WarningKind};
use crate::net::{reserved_ranges, Cidr, Credential, EgressRule, TlsMode};
use crate::resolved::{AbsPath, NetworkMode, RootFs};
use crate::schema::PolicyDoc;

/// A failed rule before it is placed: key path and problem.
pub(crate) type Failure = (String, Problem);

/// Checks one layer; returns its warnings or the first rule it breaks.
pub(crate) fn validate_doc(source: &str, doc: &PolicyDoc) -> Result<Vec<Warning>, PolicyError> {
    let at = |key: String| Origin {
        source: source.to_owned(),
        position: doc.positions.get(&key),
        key,
    };
    check_doc(doc).map_err(|(key, problem)| PolicyError::Validate {
        at: at(key),
        problem,
    })?;
    Ok(warnings(doc)
        .into_iter()
        .map(|(key, kind)| Warning { at: at(key), kind })
        .collect())
}

fn check_doc(doc: &PolicyDoc) -> Result<(), Failure> {
    if let Some(v) = doc.version.filter(|v| *v != 1) {
        return Err(("version".into(), Problem::UnsupportedVersion(v)));
    }
    let fs = &doc.filesystem;
    if let Some(RootFs::Dir(d)) = &fs.root {
        if d.as_str() == "/" {
            return Err(("filesystem.root".into(), Problem::RootIsHostSlash));
        }
    }
    if fs.tmp_size.is_some_and(|s| s.0 == 0) {
        return Err(("filesystem.tmp_size".into(), Problem::Zero));
    }
    for (key, list) in [
        ("read_only", &fs.read_only),
        ("read_write", &fs.read_write),
        ("hidden", &fs.hidden),
    ] {
        if let Some(list) = list {
            unique(
                &format!("filesystem.{key}"),
                list.iter().map(AbsPath::to_string),
            )?;
        }
    }
    let none = Vec::new();
    check_binds(
        fs.read_only.as_ref().unwrap_or(&none),
        fs.read_write.as_ref().unwrap_or(&none),
        fs.hidden.as_ref().unwrap_or(&none),
    )?;

    let r = &doc.resources;
    let zero = [
        ("memory", r.memory.is_some_and(|v| v.0 == 0)),
        ("pids", r.pids == Some(0)),
        ("cpus", r.cpus.is_some_and(|v| v.0 == 0)),
        ("disk", r.disk.is_some_and(|v| v.0 == 0)),
    ];
    if let Some((key, _)) = zero.iter().find(|(_, z)| *z) {
        return Err((format!("resources.{key}"), Problem::Zero));
    }

    let net = &doc.network;
    if let Some(ranges) = &net.private_ranges {
        check_ranges(ranges)?;
    }
    if let Some(rules) = &net.egress {
        check_egress(rules)?;
    }
    if let Some(creds) = &net.credentials {
        check_credentials(creds)?;
    }

    let inf = &doc.inference;
    if let Some(models) = &inf.models {
        for (i, m) in models.iter().enumerate() {
            let ok = !m.is_empty()
                && m.len() <= 256
                && !m.chars().any(|c| c.is_whitespace() || c.is_control());
            if !ok {
                return Err((
                    format!("inference.models[{i}]"),
                    Problem::BadName(m.clone()),
                ));
            }
        }
        unique("inference.models", models.iter().cloned())?;
    }
    if inf.max_concurrency == Some(0) {
        return Err(("inference.max_concurrency".into(), Problem::Zero));
    }
    if inf.tokens_per_day == Some(0) {
        return Err(("inference.tokens_per_day".into(), Problem::Zero));
    }
    Ok(())
}

/// Bind rules, for one layer and again for a resolved policy: `/` is never writable, a path is
/// not both read-only and writable, and no bind is at or under a hidden path.
pub(crate) fn check_binds(
    ro: &[AbsPath],
    rw: &[AbsPath],
    hidden: &[AbsPath],
) -> Result<(), Failure> {
    for (i, p) in rw.iter().enumerate() {
        let key = format!("filesystem.read_write[{i}]");
        if p.as_str() == "/" {
            return Err((key, Problem::RootWritable));
        }
        if ro.contains(p) {
            return Err((key, Problem::ReadOnlyAndReadWrite(p.clone())));
        }
    }
    for (i, h) in hidden.iter().enumerate() {
        if ro.iter().chain(rw).any(|b| b.starts_with(h)) {
            return Err((
                format!("filesystem.hidden[{i}]"),
                Problem::HiddenButBound(h.clone()),
            ));
        }
    }
    Ok(())
}

fn check_ranges(ranges: &[Cidr]) -> Result<(), Failure> {
    let reserved = reserved_ranges();
    for (i, r) in ranges.iter().enumerate() {
        if let Some((_, what)) = reserved.iter().find(|(c, _)| c.overlaps(r)) {
            let problem = Problem::ReservedRange {
                range: r.to_string(),
                what,
            };
            return Err((format!("network.private_ranges[{i}]"), problem));
        }
    }
    unique("network.private_ranges", ranges.iter().map(Cidr::to_string))
}

fn check_egress(rules: &[EgressRule]) -> Result<(), Failure> {
    for (i, rule) in rules.iter().enumerate() {
        let key = format!("network.egress[{i}]");
        if !is_name(&rule.name) {
            return Err((format!("{key}.name"), Problem::BadName(rule.name.clone())));
        }
        if rule.ports.is_empty() {
            return Err((format!("{key}.ports"), Problem::Empty));
        }
        if rule.ports.contains(&0) {
            return Err((format!("{key}.ports"), Problem::Zero));
        }
        if rule.tls == TlsMode::Passthrough && !(rule.allow.is_empty() && rule.deny.is_empty()) {
            return Err((format!("{key}.tls"), Problem::RulesNeedInspect));
        }
        for (list, entries) in [("allow", &rule.allow), ("deny", &rule.deny)] {
            if let Some(j) = entries.iter().position(|e| e.methods.is_empty()) {
                return Err((format!("{key}.{list}[{j}].methods"), Problem::Empty));
            }
        }
        for (j, allow) in rule.allow.iter().enumerate() {
            if let Some(deny) = rule.deny.iter().position(|d| d.covers(allow)) {
                return Err((
                    format!("{key}.allow[{j}]"),
                    Problem::UnmatchableAllow { deny },
                ));
            }
        }
        // One rule governs each host and port. Otherwise removing a rule (which an owner layer
        // may do) could un-shadow a laxer rule for the same requests and so widen the policy.
        let overlaps = |o: &EgressRule| {
            (o.host.covers(&rule.host) || rule.host.covers(&o.host))
                && !o.ports.is_disjoint(&rule.ports)
        };
        if let Some(other) = rules[..i].iter().position(overlaps) {
            return Err((format!("{key}.host"), Problem::OverlappingRules { other }));
        }
    }
    unique("network.egress", rules.iter().map(|r| r.name.clone()))
}

fn check_credentials(creds: &[Credential]) -> Result<(), Failure> {
    for (i, c) in creds.iter().enumerate() {
        let key = format!("network.credentials[{i}]");
        if !is_env_name(&c.env) {
            return Err((format!("{key}.env"), Problem::BadEnv(c.env.clone())));
        }
        if !is_name(&c.secret) {
            return Err((format!("{key}.secret"), Problem::BadName(c.secret.clone())));
        }
        if c.hosts.is_empty() {
            return Err((format!("{key}.hosts"), Problem::Empty));
        }
    }
    unique("network.credentials", creds.iter().map(|c| c.env.clone()))
}

fn warnings(doc: &PolicyDoc) -> Vec<(String, WarningKind)> {
    let net = &doc.network;
    let mut out = Vec::new();
    let dns_empty = net.dns.allow.as_ref().is_none_or(Vec::is_empty);
    match net.mode {
        Some(NetworkMode::Intranet | NetworkMode::Internet) if dns_empty => {
            out.push(("network.mode".into(), WarningKind::NoDnsAllow));
        }
        Some(NetworkMode::None) => {
            let has = |v: Option<usize>| v.is_some_and(|n| n > 0);
            if has(net.egress.as_ref().map(Vec::len))
                || has(net.credentials.as_ref().map(Vec::len))
                || !dns_empty
            {
                out.push(("network.mode".into(), WarningKind::NetworkNoneIgnoresRules));
            }
        }
        _ => {}
    }
    out
}

/// Rule, secret and model names: 1 to 128 of `A-Z a-z 0-9 . _ -`.
fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Environment variable names a credential placeholder may use. Names the jail's own plumbing
/// or the dynamic loader reads are refused: a placeholder there would break or subvert the jail.
fn is_env_name(s: &str) -> bool {
    let well_formed = s.len() <= 128
        && s.bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let reserved = ["PATH", "HOME", "USER", "SHELL", "PWD", "TERM"].contains(&s)
        || s.starts_with("LD_")
        || s.starts_with("PADDOCK_");
    well_formed && !reserved
}

fn unique(key: &str, items: impl Iterator<Item = String>) -> Result<(), Failure> {
    let mut seen = BTreeSet::new();
    for (i, item) in items.enumerate() {
        if !seen.insert(item.clone()) {
            return Err((format!("{key}[{i}]"), Problem::Duplicate(item)));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
