//! Layering: system → role → user → template → session. Each layer overrides what it sets; an
//! owner layer must come out no wider than the layers above it (see `narrow.rs` and the crate
//! docs for the rules), an admin layer may widen.

use std::collections::BTreeSet;
use std::fmt;

use crate::error::{Origin, PolicyError};
use crate::resolved::{system_default, ResolvedPolicy};
use crate::schema::PolicyDoc;
use crate::validate::{check_binds, validate_doc};

/// Where a layer sits in the chain. Layers must be passed in this order (repeats allowed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LayerKind {
    /// Deployment-wide settings over the built-in default.
    System,
    /// A role's policy (e.g. "ci", "research").
    Role,
    /// A user's own policy.
    User,
    /// An agent template's policy.
    Template,
    /// What one session request asks for.
    Session,
}

impl fmt::Display for LayerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LayerKind::System => "system",
            LayerKind::Role => "role",
            LayerKind::User => "user",
            LayerKind::Template => "template",
            LayerKind::Session => "session",
        })
    }
}

/// Who wrote a layer, which decides whether it may widen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Authority {
    /// An administrator: may grant more than the layers above.
    Admin,
    /// The session's owner (or anything the owner controls): may only narrow.
    Owner,
}

/// One layer to resolve.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    /// Where it sits in the chain.
    pub kind: LayerKind,
    /// Who wrote it.
    pub authority: Authority,
    /// Its name in errors: a file name or a label such as `session request`.
    pub source: String,
    /// The layer itself.
    pub doc: PolicyDoc,
}

/// Resolves `layers` (in order) on top of [`system_default`]. Every layer is validated again,
/// so documents built in code get the same checks as parsed ones. Fails on the first layer that
/// breaks a rule, widens without authority, or is out of order.
pub fn resolve(layers: &[Layer]) -> Result<ResolvedPolicy, PolicyError> {
    let mut acc = system_default();
    let mut previous: Option<LayerKind> = None;
    for layer in layers {
        if let Some(prev) = previous.filter(|p| layer.kind < *p) {
            return Err(PolicyError::ResolveOrder {
                file: layer.source.clone(),
                layer: layer.kind,
                previous: prev,
            });
        }
        previous = Some(layer.kind);
        validate_doc(&layer.source, &layer.doc)?;
        let next = apply(&acc, &layer.doc);
        let at = |key: String| Origin {
            source: layer.source.clone(),
            position: layer.doc.positions.get(&key),
            key,
        };
        if layer.authority == Authority::Owner {
            if let Some(w) = next.widening_over(&acc) {
                return Err(PolicyError::ResolveWiden {
                    at: at(w.key),
                    layer: layer.kind,
                    value: w.value,
                    limit: w.limit,
                });
            }
        }
        let fs = &next.filesystem;
        check_binds(&fs.read_only, &fs.read_write, &fs.hidden).map_err(|(key, problem)| {
            // Indices here count the merged lists, not this layer's: name the list only.
            let key = key.split('[').next().unwrap_or_default().to_owned();
            PolicyError::Validate {
                at: at(key),
                problem,
            }
        })?;
        acc = next;
    }
    Ok(acc)
}

/// `parent` with every field `doc` sets replaced; `hidden` and `rlimits` merge instead.
pub(crate) fn apply(parent: &ResolvedPolicy, doc: &PolicyDoc) -> ResolvedPolicy {
    let mut out = parent.clone();
    let (fs, d) = (&mut out.filesystem, &doc.filesystem);
    set(&mut fs.root, &d.root);
    set(&mut fs.read_only, &d.read_only);
    set(&mut fs.read_write, &d.read_write);
    for h in d.hidden.iter().flatten() {
        if !fs.hidden.contains(h) {
            fs.hidden.push(h.clone());
        }
    }
    set(&mut fs.tmp_size, &d.tmp_size);
    set(&mut fs.landlock, &d.landlock);

    let (p, d) = (&mut out.process, &doc.process);
    for (k, v) in d.rlimits.iter().flatten() {
        p.rlimits.insert(*k, *v);
    }
    set(&mut p.seccomp, &d.seccomp);

    let (r, d) = (&mut out.resources, &doc.resources);
    set_some(&mut r.memory, &d.memory);
    set_some(&mut r.pids, &d.pids);
    set_some(&mut r.cpus, &d.cpus);
    set_some(&mut r.disk, &d.disk);

    let (n, d) = (&mut out.network, &doc.network);
    set(&mut n.mode, &d.mode);
    set(&mut n.private_ranges, &d.private_ranges);
    set(&mut n.dns_allow, &d.dns.allow);
    set(&mut n.egress, &d.egress);
    set(&mut n.credentials, &d.credentials);

    let (i, d) = (&mut out.inference, &doc.inference);
    if let Some(models) = &d.models {
        i.models = models.iter().cloned().collect::<BTreeSet<_>>();
    }
    set(&mut i.max_concurrency, &d.max_concurrency);
    set_some(&mut i.tokens_per_day, &d.tokens_per_day);
    out
}

fn set<T: Clone>(field: &mut T, value: &Option<T>) {
    if let Some(v) = value {
        *field = v.clone();
    }
}

fn set_some<T: Clone>(field: &mut Option<T>, value: &Option<T>) {
    if value.is_some() {
        field.clone_from(value);
    }
}

#[cfg(test)]
#[path = "layer_tests.rs"]
mod tests;
