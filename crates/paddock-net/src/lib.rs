//! Network segments, the root side: the address pool, each jail's veth pair and addresses
//! (rtnetlink), and the nftables rules that confine what a jail's packets may reach.
//!
//! # Why it exists
//!
//! DESIGN.md, "Network": every jail in mode `intranet` or `internet` has its own network
//! namespace joined to the host by its own veth, and every packet it sends passes a policy the
//! kernel enforces. This crate is the part of that which needs root: the supervisor (and
//! `paddock jail` without a daemon) calls it; everything that parses jail traffic (the DNS filter,
//! the proxy) lives unprivileged in `paddock-egress`.
//!
//! # What it owns
//!
//! - [`pool`]: one /31 per jail out of a configurable range (default `10.213.0.0/16`), and the
//!   check that refuses a pool overlapping a host route.
//! - [`link`]: the veth pair `pdk<id>h` (host) / `pdk<id>j` (jail), its addresses, the jail's
//!   default route via the host side, through netlink ([`sys`] enters namespaces per thread).
//! - [`nft`]: pure planners of atomic JSON batches for one `inet` table, `paddock`; [`nft_apply`]
//!   runs `nft -j -f -` and reads the table back to check the kernel holds the plan.
//! - [`sysctl`]: the per-interface sysctls below.
//! - [`lease`]: one file per jail under `/run/paddock/net/netns-<inode>/` naming its pair and
//!   its owner (pid and start time), so that leftovers of a killed owner are recognised.
//! - [`segment`]: one jail's segment start to finish (reserve → attach → reload → release),
//!   recovery of dead jails' leftovers, and the idle teardown of the shared table.
//!
//! # What it must never do
//!
//! - Touch an nftables table that is not Paddock's: every batch names `inet paddock…` and only
//!   it; nothing here flushes the ruleset or writes the host's own chains. Paddock's base chains
//!   have policy `accept` and match only packets on `pdk*` links or from the pool, so the host's
//!   own traffic is unaffected.
//! - Change the host's routes or addresses, or any link but the `pdk*` veths it created.
//! - Change the calling process's namespace: namespace work runs on short-lived threads.
//! - Shell out to `ip` or `iptables`. The only program run is `nft`, by absolute path.
//! - Switch on host-wide sysctls. In particular `net.ipv4.ip_forward` stays as it is.
//!
//! # Sysctls
//!
//! All per interface, under `/proc/sys` (a parameter, so tests run on a fake tree):
//!
//! | sysctl | value | where | why |
//! |---|---|---|---|
//! | `net.ipv6.conf.pdk<id>h.disable_ipv6` | 1 | host | no link-local IPv6 address a jail could reach the host on |
//! | `net.ipv4.conf.pdk<id>h.forwarding` | 1 | host | the kernel forwards a packet only if forwarding is on for the interface it *arrived* on: this lets the jail's packets out |
//! | `net.ipv4.conf.pdk<id>h.rp_filter` | 1 | host | strict reverse-path check: a second, kernel-side anti-spoofing layer under the nftables rule |
//! | `net.ipv6.conf.pdk<id>j.disable_ipv6` | 1 | jail namespace | IPv6 is not configured in the jail at all |
//! | `net.ipv4.conf.<uplink>.forwarding` | 1 | host, only via [`sysctl::prepare_host_uplink`] | replies to the jails' (masqueraded) traffic arrive on the uplink and are forwarded to the jail after de-NAT, so forwarding must be on for the uplink too |
//!
//! The global switch `net.ipv4.ip_forward` is **not** needed and never written: it only sets
//! every interface's `forwarding` at once. Measured on kernel 6.18 (namespaces, global switch 0):
//! with forwarding on only for the jail link, the jail's connection out fails (the reply is not
//! forwarded); with forwarding on for the jail link and the uplink it succeeds; with the uplink
//! only, it fails. Forwarding on an uplink would make the host a router for everything arriving
//! there, so [`sysctl::prepare_host_uplink`] reports whether it had been off, and the caller then
//! lists the uplink in [`TableConfig::uplinks`]: Paddock's forward chain drops every forwarded
//! packet that arrived on such an uplink and is not going to a jail (and only replies may go to a
//! jail), which restores exactly what the host did before. An uplink that already forwarded
//! (the host was a router) is left alone and not guarded.
//!
//! # nftables layout
//!
//! See [`nft`]: base chains hooked at the standard priorities that dispatch through verdict maps
//! keyed by the jail's host-side veth name to four chains per jail, so that one jail is installed,
//! replaced (hot reload) or removed in one transaction without touching any other.
#![deny(missing_docs)]

pub mod error;
pub mod lease;
pub mod link;
pub mod names;
mod netlink;
pub mod nft;
pub mod nft_apply;
pub mod pool;
pub mod segment;
pub mod sys;
pub mod sysctl;

pub use error::{NetError, Result};
pub use names::{JailId, TableName};
pub use nft::{Batch, Egress, JailRules, TableConfig};
pub use nft_apply::{Nft, TableState};
pub use pool::{Ipv4Net, LinkPair, Pool};
pub use segment::{release_jail, teardown_if_idle, NetConfig, Recovered, Segment};
