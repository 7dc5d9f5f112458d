//! Paddock's policy model: the YAML schema of a policy layer, its validation, the layering that
//! turns system → role → user → template → session layers into one [`ResolvedPolicy`], and the
//! small decisions the policy itself can make ([`Decision`]).
//!
//! # Why a crate of its own
//!
//! Everything that says what a jail may do is decided here, in pure code that is easy to test
//! and to fuzz; the jail, the network plumbing and egress only enforce a [`ResolvedPolicy`].
//! This crate must never do I/O (parsing takes text, not paths), never call the kernel, and never
//! know about jails, HTTP or the database: arrows point down. Policies are untrusted input, so
//! parsing is bounded (size cap, nesting depth, alias budget; see [`parse_layer`]).
//!
//! # Using it
//!
//! ```
//! use paddock_policy::{parse_layer, resolve, Authority, Layer, LayerKind, NetworkMode};
//!
//! let parsed = parse_layer("session.yaml", "network:\n  mode: none\n").unwrap();
//! let layer = Layer {
//!     kind: LayerKind::Session,
//!     authority: Authority::Owner,
//!     source: "session.yaml".into(),
//!     doc: parsed.doc,
//! };
//! let policy = resolve(&[layer]).unwrap();
//! assert_eq!(policy.network.mode, NetworkMode::None);
//! ```
//!
//! Errors name the source, line, column and key path, e.g.
//! `policy.yaml:7:5: filesystem.read_write[0]: "/" may not be writable; …`.
//!
//! # Merge rules
//!
//! Resolution starts from [`system_default`] and applies each layer in order. A key a layer
//! leaves out is inherited. A key it sets replaces the inherited value, except `hidden`
//! (added to the inherited list: hiding more is always allowed, no layer un-hides) and
//! `rlimits` (merged per limit). Lists that a layer sets (`read_only`, `private_ranges`,
//! `dns.allow`, `egress`, `credentials`, `models`, …) replace the inherited list as a whole.
//!
//! An [`Authority::Admin`] layer may set anything. An [`Authority::Owner`] layer may only narrow:
//! the policy after it must allow nothing the policy before it did not. "Narrower" means:
//!
//! - `root`: unchanged; `seccomp`: unchanged.
//! - `read_only`: every path at or under an inherited read-only or read-write bind;
//!   `read_write`: every path at or under an inherited read-write bind.
//! - `hidden`: any paths may be added.
//! - `tmp_size`, `memory`, `pids`, `cpus`, `disk`, each rlimit, `max_concurrency`,
//!   `tokens_per_day`: no larger; a limit may be set where none was inherited, never lifted.
//! - `landlock`: `best_effort` → `required` is allowed, never the reverse.
//! - `mode`: `none` < `intranet` < `internet`, no step up.
//! - `private_ranges`: each range inside an inherited range.
//! - `dns.allow`: each pattern covered by an inherited pattern or egress host (`*.a.example`
//!   covers `b.a.example` and `*.b.a.example`; `*.x` never matches `x` itself).
//! - `egress`: rules may be removed; a kept rule (same `name`) may narrow its host, drop ports,
//!   switch `passthrough` → `inspect`, keep fewer/narrower allow entries and keep or add deny
//!   entries. New rule names are widenings. Glob coverage is conservative: `/**` covers all,
//!   `/a/**` covers paths under `/a`; anything less certain counts as wider.
//! - `credentials`: bindings may be removed, or keep the same `env` and `secret` with fewer or
//!   narrower hosts.
//! - `models`: a subset.
//!
//! A widening attempt by an owner layer fails with [`PolicyError::ResolveWiden`], naming the
//! layer, the key, the value asked for and the inherited limit. After every layer the merged
//! binds are checked again (`/` never writable, no path both read-only and writable, nothing
//! bound at or under a hidden path), so layers cannot combine into an invalid policy.
//!
//! # Egress rules
//!
//! A rule names a host (exact or `*.suffix`, never `*` or a public suffix), ports (default
//! 443) and TLS handling (default `passthrough`). With `inspect`, `allow`/`deny` entries match
//! methods and path globs: deny wins, and no allow entries means every request not denied.
//! An allow entry that a deny entry fully covers is refused as unmatchable. See [`Decision`].
#![deny(missing_docs)]

mod decision;
mod error;
mod layer;
mod narrow;
mod net;
mod parse;
mod positions;
pub mod resolved;
mod schema;
mod validate;
mod values;

pub use decision::{Decision, DenyReason};
pub use error::{Origin, PolicyError, Position, Problem, Warning, WarningKind};
pub use layer::{resolve, Authority, Layer, LayerKind};
pub use narrow::Widening;
pub use net::{
    is_public_suffix, Cidr, Credential, EgressRule, HostPattern, HttpRule, Method, PathGlob,
    TlsMode,
};
pub use parse::{parse_layer, Parsed, MAX_POLICY_BYTES};
pub use positions::Positions;
pub use resolved::*;
pub use schema::{
    DnsDoc, FilesystemDoc, InferenceDoc, NetworkDoc, PolicyDoc, ProcessDoc, ResourcesDoc,
};
pub use values::ValueError;
