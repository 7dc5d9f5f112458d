//! The nftables plan: pure functions that build libnftables JSON batches (`nft -j -f -`), one
//! atomic transaction each. Nothing here runs anything; [`crate::nft_apply`] does.
//!
//! # Layout
//!
//! One `inet` table, `paddock` by default, that Paddock alone writes. Its base chains are hooked
//! at the standard priorities with policy `accept` and act only on packets whose input or output
//! interface is one of Paddock's veths (`pdk*`), so the host's own traffic passes through them
//! untouched:
//!
//! | chain | hook, priority | what it does |
//! |---|---|---|
//! | `raw_prerouting` | filter prerouting, raw (-300) | drops IPv6 from jails; dispatches to the jail's anti-spoofing chain; drops what comes from a `pdk*` link with no jail |
//! | `nat_prerouting` | nat prerouting, dstnat (-100) | dispatches to the jail's DNS redirect |
//! | `input` | filter input, filter (0) | dispatches to the jail's host-access chain; drops the rest from `pdk*` |
//! | `forward` | filter forward, filter (0) | drops jail-to-jail; dispatches to the jail's egress chain; lets only replies into jails; guards the uplinks |
//! | `nat_postrouting` | nat postrouting, srcnat (100) | masquerades pool addresses leaving through a non-`pdk*` link |
//!
//! # Per-jail rules
//!
//! Each jail has four regular chains, `j_<id>_raw`, `j_<id>_dnat`, `j_<id>_input` and
//! `j_<id>_forward`, reached from the base chains through four verdict maps (`jail_raw`,
//! `jail_dnat`, `jail_input`, `jail_forward`) keyed by the jail's host-side veth name
//! (`iifname vmap @jail_forward` → `"pdk42h" : goto j_42_forward`). Keying by the veth means a
//! packet reaches a jail's chain only if it really entered through that jail's link, and the map
//! lookup costs the same for one jail or ten thousand. Installing, replacing (hot reload) or
//! removing a jail is one batch that touches only its own chains and map elements: no rule
//! handles, no other jail's rules, no window in which the jail is half-configured.
//!
//! Masquerade applies in both modes: the intranet does not know the pool, so replies must come
//! back to the host's own address, which conntrack then maps back to the jail.

use std::net::Ipv4Addr;

use serde_json::{json, Value};

use crate::names::{JailId, TableName, VETH_PREFIX};
use crate::pool::{Ipv4Net, LinkPair};

/// The address family of Paddock's table.
pub const FAMILY: &str = "inet";

/// Link-local (cloud metadata at 169.254.169.254) and Alibaba's metadata address: always
/// dropped, whatever the mode or the private ranges say.
pub const METADATA: [(Ipv4Addr, u8); 2] = [
    (Ipv4Addr::new(169, 254, 0, 0), 16),
    (Ipv4Addr::new(100, 100, 100, 200), 32),
];

/// DNS ports that may reach nothing but the DNS filter: plain DNS and DNS over TLS.
pub const DNS_PORTS: [u16; 2] = [53, 853];

/// The base chains: name, type, hook, priority.
pub const BASE_CHAINS: [(&str, &str, &str, i32); 5] = [
    ("raw_prerouting", "filter", "prerouting", -300),
    ("nat_prerouting", "nat", "prerouting", -100),
    ("input", "filter", "input", 0),
    ("forward", "filter", "forward", 0),
    ("nat_postrouting", "nat", "postrouting", 100),
];

/// The per-jail dispatch maps and the suffix of the jail chain each one leads to.
pub const JAIL_MAPS: [(&str, &str); 4] = [
    ("jail_raw", "raw"),
    ("jail_dnat", "dnat"),
    ("jail_input", "input"),
    ("jail_forward", "forward"),
];

/// The set of uplink interfaces whose forwarding Paddock switched on (see the crate docs).
pub const UPLINKS_SET: &str = "uplinks";

/// What the whole table needs to know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableConfig {
    /// The table's name (`paddock` unless a test or a second instance needs another).
    pub table: TableName,
    /// The address pool; masquerade applies to sources in it.
    pub pool: Ipv4Net,
    /// Uplinks on which forwarding was switched on only for the jails' return traffic: packets
    /// arriving on them are forwarded only towards a jail (see the crate docs, "Sysctls").
    pub uplinks: Vec<String>,
}

/// Where a jail's packets may go, beyond its gateway's service ports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Egress {
    /// Only these ranges (the policy's `private_ranges`, IPv4 part); everything else is
    /// rejected at once (TCP reset, ICMP admin-prohibited).
    Intranet {
        /// The reachable ranges.
        ranges: Vec<Ipv4Net>,
    },
    /// Everything, through masquerade, except the host, other jails and metadata addresses.
    Internet,
}

impl Egress {
    /// The egress of a resolved network policy; `None` for mode `none` (no link at all).
    pub fn from_policy(net: &paddock_policy::NetworkPolicy) -> Option<Self> {
        match net.mode {
            paddock_policy::NetworkMode::None => None,
            paddock_policy::NetworkMode::Intranet => Some(Egress::Intranet {
                ranges: Ipv4Net::from_policy(&net.private_ranges),
            }),
            paddock_policy::NetworkMode::Internet => Some(Egress::Internet),
        }
    }
}

/// One jail's rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JailRules {
    /// The jail (names its veth and chains).
    pub id: JailId,
    /// Its link's addresses.
    pub pair: LinkPair,
    /// Where it may go.
    pub egress: Egress,
    /// The port of the DNS filter on the host side; DNS to the gateway's port 53 is
    /// redirected there.
    pub dns_port: u16,
    /// Further ports the jail may reach on its gateway (egress proxy, inference router).
    pub host_ports: Vec<u16>,
}

/// One atomic nftables transaction in libnftables' JSON schema.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Batch {
    commands: Vec<Value>,
}

impl Batch {
    /// The commands, in order (`{"add": {...}}`, `{"flush": {...}}`, `{"delete": {...}}`).
    pub fn commands(&self) -> &[Value] {
        &self.commands
    }

    /// The document `nft -j -f -` reads.
    pub fn to_json(&self) -> String {
        json!({ "nftables": self.commands }).to_string()
    }

    /// Appends another batch's commands, to install several things in one transaction.
    pub fn extend(&mut self, other: Batch) {
        self.commands.extend(other.commands);
    }

    fn cmd(&mut self, verb: &str, kind: &str, body: Value) {
        self.commands.push(json!({ verb: { kind: body } }));
    }
}

/// The jail chain a dispatch map leads to: `j_<id>_<suffix>`.
pub fn jail_chain(id: &JailId, suffix: &str) -> String {
    format!("j_{id}_{suffix}")
}

/// Creates the table, its maps, set and base chains, and (re)writes the base chains' rules.
/// Idempotent and safe while jails run: it flushes only the base chains, in the same
/// transaction that refills them, and leaves the jails' chains and map elements alone.
pub fn plan_table(cfg: &TableConfig) -> Batch {
    let t = cfg.table.as_str();
    let mut b = Batch::default();
    b.cmd("add", "table", json!({"family": FAMILY, "name": t}));
    b.cmd(
        "add",
        "set",
        json!({"family": FAMILY, "table": t, "name": UPLINKS_SET, "type": "ifname"}),
    );
    b.cmd(
        "flush",
        "set",
        json!({"family": FAMILY, "table": t, "name": UPLINKS_SET}),
    );
    if !cfg.uplinks.is_empty() {
        b.cmd(
            "add",
            "element",
            json!({"family": FAMILY, "table": t, "name": UPLINKS_SET, "elem": cfg.uplinks}),
        );
    }
    for (map, _) in JAIL_MAPS {
        b.cmd(
            "add",
            "map",
            json!({"family": FAMILY, "table": t, "name": map, "type": "ifname", "map": "verdict"}),
        );
    }
    for (name, kind, hook, prio) in BASE_CHAINS {
        b.cmd(
            "add",
            "chain",
            json!({"family": FAMILY, "table": t, "name": name, "type": kind, "hook": hook, "prio": prio, "policy": "accept"}),
        );
        b.cmd(
            "flush",
            "chain",
            json!({"family": FAMILY, "table": t, "name": name}),
        );
    }
    let jail_if = || is(meta("iifname"), json!(format!("{VETH_PREFIX}*")));
    let to_jail = || is(meta("oifname"), json!(format!("{VETH_PREFIX}*")));
    let mut rule = |chain: &str, comment: &str, expr: Vec<Value>| {
        b.cmd(
            "add",
            "rule",
            json!({"family": FAMILY, "table": t, "chain": chain, "expr": expr, "comment": comment}),
        );
    };
    rule(
        "raw_prerouting",
        "no IPv6 from jails",
        vec![
            jail_if(),
            is(meta("nfproto"), json!("ipv6")),
            verdict("drop"),
        ],
    );
    rule(
        "raw_prerouting",
        "per-jail anti-spoofing",
        vec![vmap("iifname", "jail_raw")],
    );
    rule(
        "raw_prerouting",
        "a pdk link without a jail",
        vec![jail_if(), verdict("drop")],
    );
    rule(
        "nat_prerouting",
        "per-jail DNS redirect",
        vec![vmap("iifname", "jail_dnat")],
    );
    rule(
        "input",
        "per-jail host access",
        vec![vmap("iifname", "jail_input")],
    );
    rule(
        "input",
        "a pdk link without a jail",
        vec![jail_if(), verdict("drop")],
    );
    rule(
        "forward",
        "jails never reach each other",
        vec![jail_if(), to_jail(), verdict("drop")],
    );
    rule(
        "forward",
        "per-jail egress",
        vec![vmap("iifname", "jail_forward")],
    );
    rule(
        "forward",
        "a pdk link without a jail",
        vec![jail_if(), verdict("drop")],
    );
    rule(
        "forward",
        "only replies enter a jail",
        vec![
            to_jail(),
            json!({"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}}),
            verdict("accept"),
        ],
    );
    rule(
        "forward",
        "nothing else enters a jail",
        vec![to_jail(), verdict("drop")],
    );
    rule(
        "forward",
        "uplinks forward only to jails",
        vec![
            is(meta("iifname"), json!(format!("@{UPLINKS_SET}"))),
            not(meta("oifname"), json!(format!("{VETH_PREFIX}*"))),
            verdict("drop"),
        ],
    );
    rule(
        "nat_postrouting",
        "jails leave with the host's address",
        vec![
            jail_if(),
            not(meta("oifname"), json!(format!("{VETH_PREFIX}*"))),
            is(payload("ip", "saddr"), prefix(cfg.pool)),
            json!({"masquerade": null}),
        ],
    );
    b
}

/// Installs or replaces one jail's rules in one transaction: creates its chains if needed,
/// empties them, refills them and points the dispatch maps at them. Replacing is how a hot
/// reload changes a running jail's mode or ranges: the new rules hold from the next packet on,
/// and since the forward chain judges every packet (not only new flows), flows the new policy
/// denies stop. The table must exist ([`plan_table`]).
pub fn plan_jail(cfg: &TableConfig, jail: &JailRules) -> Batch {
    let t = cfg.table.as_str();
    let mut b = Batch::default();
    for (_, suffix) in JAIL_MAPS {
        let chain = jail_chain(&jail.id, suffix);
        b.cmd(
            "add",
            "chain",
            json!({"family": FAMILY, "table": t, "name": chain}),
        );
        b.cmd(
            "flush",
            "chain",
            json!({"family": FAMILY, "table": t, "name": chain}),
        );
        for expr in jail_rules(cfg, jail, suffix) {
            b.cmd(
                "add",
                "rule",
                json!({"family": FAMILY, "table": t, "chain": chain, "expr": expr}),
            );
        }
    }
    for (map, suffix) in JAIL_MAPS {
        b.cmd("add", "element", map_elem(t, map, &jail.id, suffix));
    }
    b
}

/// Removes one jail's map elements and chains, and nothing else. Idempotent: it first adds
/// what it deletes (a no-op when present), so removing a jail that is already gone succeeds.
pub fn plan_remove_jail(cfg: &TableConfig, id: &JailId) -> Batch {
    let t = cfg.table.as_str();
    let mut b = Batch::default();
    b.cmd("add", "table", json!({"family": FAMILY, "name": t}));
    for (map, suffix) in JAIL_MAPS {
        b.cmd(
            "add",
            "map",
            json!({"family": FAMILY, "table": t, "name": map, "type": "ifname", "map": "verdict"}),
        );
        b.cmd(
            "add",
            "chain",
            json!({"family": FAMILY, "table": t, "name": jail_chain(id, suffix)}),
        );
        b.cmd("add", "element", map_elem(t, map, id, suffix));
    }
    for (map, suffix) in JAIL_MAPS {
        b.cmd("delete", "element", map_elem(t, map, id, suffix));
    }
    for (_, suffix) in JAIL_MAPS {
        let chain = jail_chain(id, suffix);
        b.cmd(
            "flush",
            "chain",
            json!({"family": FAMILY, "table": t, "name": chain}),
        );
        b.cmd(
            "delete",
            "chain",
            json!({"family": FAMILY, "table": t, "name": chain}),
        );
    }
    b
}

/// Deletes Paddock's table and everything in it, and nothing else (no other table, never a
/// ruleset flush). Idempotent the same way as [`plan_remove_jail`].
pub fn plan_remove_all(table: &TableName) -> Batch {
    let mut b = Batch::default();
    b.cmd(
        "add",
        "table",
        json!({"family": FAMILY, "name": table.as_str()}),
    );
    b.cmd(
        "delete",
        "table",
        json!({"family": FAMILY, "name": table.as_str()}),
    );
    b
}

fn jail_rules(cfg: &TableConfig, j: &JailRules, suffix: &str) -> Vec<Vec<Value>> {
    let gw = || is(payload("ip", "daddr"), json!(j.pair.host.to_string()));
    let tcp_reset = vec![
        is(meta("l4proto"), json!("tcp")),
        json!({"reject": {"type": "tcp reset"}}),
    ];
    let prohibited = vec![json!({"reject": {"type": "icmpx", "expr": "admin-prohibited"}})];
    match suffix {
        // Anti-spoofing: from this link, only the jail's own address.
        "raw" => vec![vec![
            not(payload("ip", "saddr"), json!(j.pair.jail.to_string())),
            verdict("drop"),
        ]],
        // DNS to the gateway goes to the filter, whatever port the filter listens on.
        "dnat" => ["udp", "tcp"]
            .iter()
            .map(|proto| {
                vec![
                    gw(),
                    is(payload(proto, "dport"), json!(53)),
                    json!({"redirect": {"port": j.dns_port}}),
                ]
            })
            .collect(),
        // The host: only the gateway's service ports; replies to the host's own connections.
        "input" => {
            let mut ports: Vec<u16> = vec![j.dns_port];
            ports.extend(&j.host_ports);
            ports.sort_unstable();
            ports.dedup();
            vec![
                vec![
                    gw(),
                    is(meta("l4proto"), json!({"set": ["tcp", "udp"]})),
                    is(
                        payload("th", "dport"),
                        set_or_one(ports.iter().map(|p| json!(p)).collect()),
                    ),
                    verdict("accept"),
                ],
                vec![
                    json!({"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}}),
                    verdict("accept"),
                ],
                tcp_reset,
                prohibited,
            ]
        }
        // Egress: metadata, other jails and foreign DNS first, whatever the mode.
        _ => {
            let meta_set = METADATA
                .iter()
                .map(|&(a, p)| {
                    if p == 32 {
                        json!(a.to_string())
                    } else {
                        prefix_of(a, p)
                    }
                })
                .collect();
            let mut rules = vec![
                vec![
                    is(
                        payload("ip", "daddr"),
                        json!({"set": Value::Array(meta_set)}),
                    ),
                    verdict("drop"),
                ],
                vec![
                    is(payload("ip", "daddr"), prefix(cfg.pool)),
                    json!({"reject": {"type": "icmpx", "expr": "admin-prohibited"}}),
                ],
                vec![
                    is(meta("l4proto"), json!({"set": ["tcp", "udp"]})),
                    is(payload("th", "dport"), json!({"set": DNS_PORTS})),
                    verdict("drop"),
                ],
            ];
            match &j.egress {
                Egress::Internet => rules.push(vec![verdict("accept")]),
                Egress::Intranet { ranges } => {
                    if !ranges.is_empty() {
                        let set = ranges.iter().map(|r| prefix(*r)).collect();
                        rules.push(vec![
                            is(payload("ip", "daddr"), set_or_one(set)),
                            verdict("accept"),
                        ]);
                    }
                    rules.push(tcp_reset);
                    rules.push(prohibited);
                }
            }
            rules
        }
    }
}

fn map_elem(table: &str, map: &str, id: &JailId, suffix: &str) -> Value {
    json!({"family": FAMILY, "table": table, "name": map,
        "elem": [[id.host_veth(), {"goto": {"target": jail_chain(id, suffix)}}]]})
}

fn meta(key: &str) -> Value {
    json!({"meta": {"key": key}})
}

fn payload(protocol: &str, field: &str) -> Value {
    json!({"payload": {"protocol": protocol, "field": field}})
}

fn is(left: Value, right: Value) -> Value {
    json!({"match": {"op": "==", "left": left, "right": right}})
}

fn not(left: Value, right: Value) -> Value {
    json!({"match": {"op": "!=", "left": left, "right": right}})
}

fn verdict(v: &str) -> Value {
    json!({ v: null })
}

fn vmap(key: &str, map: &str) -> Value {
    json!({"vmap": {"key": meta(key), "data": format!("@{map}")}})
}

fn prefix(net: Ipv4Net) -> Value {
    prefix_of(net.addr(), net.prefix())
}

fn prefix_of(addr: Ipv4Addr, len: u8) -> Value {
    json!({"prefix": {"addr": addr.to_string(), "len": len}})
}

fn set_or_one(mut items: Vec<Value>) -> Value {
    if items.len() == 1 {
        items.remove(0)
    } else {
        json!({ "set": items })
    }
}

#[cfg(test)]
#[path = "nft_tests.rs"]
mod tests;
