//! Egress, the unprivileged side of a jail's network: for now, the DNS filter.
//!
//! # Why this crate exists
//!
//! Every jail's resolver is Paddock's DNS filter. A jail that may resolve any name can
//! exfiltrate data through DNS alone (`<secret>.attacker.example` reaches the attacker's
//! authoritative server through any recursive resolver), even when nftables blocks every other
//! destination. The filter closes that channel: it answers only the names the jail's policy
//! allows, resolves those through the configured upstream resolver, and answers every other name
//! NXDOMAIN itself.
//!
//! # What it owns
//!
//! - [`FilterTable`]: client source address (each jail has its own) → [`ClientPolicy`]
//!   (jail label and allowed [`HostPattern`](paddock_policy::HostPattern)s), swapped atomically
//!   at run time; a change applies to the very next query.
//! - [`decide`]: the pure decision for one question ([`Decision`], [`DenyReason`]).
//! - [`DnsFilter`]: a hickory-server `RequestHandler` on caller-bound UDP and TCP sockets, with
//!   a per-client token bucket ([`RateLimit`]) and an [`AuditSink`] that receives one
//!   [`AuditEvent`] per decision.
//! - The answer cache: upstream answers to allowed questions (positive, and NXDOMAIN/NODATA
//!   negatively), kept for their TTL capped at 300 s, at most 10,000 entries, never SERVFAIL or
//!   an upstream error. It is consulted only *after* the asking client's own policy allowed the
//!   name, so an entry another jail's lookup created answers only clients allowed that name; a
//!   hit is still one audit event (`decision: allow`, `cached: true`).
//! - [`service::run`]: the filter as its own unprivileged process shared by every jail on the
//!   host, controlled over a Unix socket ([`control`]: JSON lines, per-connection leases, a
//!   blocking [`ControlClient`] for the root side); it exits when no client is connected.
//!
//! # What it must never do
//!
//! - **Never send a denied name upstream.** Nothing from the client's packet but the question
//!   triple (name, type, class) is forwarded, under a fresh random ID; the forwarded name is the
//!   one the policy was checked against, in its normalised form (lowercase, A-labels). EDNS
//!   options, additional records and every other section of the client's message stay here.
//! - **Never answer a name from the cache that the asking client may not resolve.** The
//!   policy decision runs first for every query; the cache is keyed by the forwarded question
//!   and its records never answer another question.
//! - **Never run as root.** The filter parses traffic from jails, which is untrusted input
//!   (DESIGN.md, "Process model"). It binds nothing itself: the caller hands it sockets (the
//!   jails' port 53 is redirected to its unprivileged port by nftables), and [`DnsFilter::new`]
//!   refuses effective uid 0 unless [`FilterConfig::dangerously_allow_root`] is set (test
//!   harnesses that CI runs as root).
//! - **Never record more than the decision.** An audit event names the client, jail, query name,
//!   type and decision; never the packet.
//!
//! # Limitations
//!
//! - A `*.suffix` pattern allows every name below the suffix, so the suffix's authoritative
//!   server sees whatever a jail encodes in those labels: wildcards should name domains the
//!   organisation controls (policy validation refuses public suffixes).
//! - A query already being answered when the table changes finishes under the policy it read.
//! - [`JsonLinesSink`] writes synchronously from the answering task. The service
//!   ([`service::run`]) uses [`BufferedJsonLinesSink`] instead: the answering task only encodes
//!   the event into a shared buffer, and a dedicated thread writes the buffer in one `write(2)`
//!   at most [`AUDIT_BATCH_WINDOW`] (5 ms) after its first event, and drains it when the service
//!   stops. Events are never dropped: a writer behind by 4 MiB makes the answering task wait
//!   (back-pressure, as with a synchronous write). The price is a crash window: if the process is
//!   killed, the events of its last few milliseconds are lost although their queries may have
//!   been answered. A failed write is counted per event in [`DnsFilter::audit_failures`]. The
//!   daemon will send
//!   events to its database instead.
//! - hickory-server itself logs every request (name included) through `tracing` at `info` under
//!   the `hickory_server` target: the binary's subscriber should keep that target at `warn`.
//! - The cache is shared by all jails. A jail can tell, from a shorter answer time or a TTL
//!   below the zone's, that some jail resolved a name in the last few minutes, but only for
//!   names its own policy allows it to resolve.
//! - The rate limit counts queries, not TCP connections; hickory-server closes a TCP connection
//!   idle for [`FilterConfig::tcp_idle_timeout`] but does not cap how many a client opens.
#![deny(missing_docs)]

mod audit;
mod cache;
pub mod control;
mod decision;
mod error;
mod name;
mod ratelimit;
mod server;
pub mod service;
mod table;
mod upstream;

pub use audit::{
    AuditDecision, AuditEvent, AuditSink, BufferedJsonLinesSink, JsonLinesSink, Transport,
    AUDIT_BATCH_WINDOW,
};
pub use control::ControlClient;
pub use decision::{decide, Decision, DenyReason, RefuseReason};
pub use error::EgressError;
pub use name::{normalize_name, InvalidName};
pub use ratelimit::RateLimit;
pub use server::{DnsFilter, FilterConfig, FilterServer};
pub use service::ServiceConfig;
pub use table::{ClientPolicy, FilterTable};
