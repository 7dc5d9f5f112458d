//! The per-client policy table: source address → what that jail may resolve.
//!
//! Readers (every query) take a lock-free snapshot; writers copy the map, change it and swap the
//! pointer, so an `update` or `remove` is in force for every query that starts after it returns.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::IpAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use paddock_policy::{HostPattern, NetworkMode, NetworkPolicy};

/// What one client (one jail's address) may resolve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientPolicy {
    jail: Option<String>,
    allow: Vec<HostPattern>,
}

impl ClientPolicy {
    /// A policy allowing exactly `allow`; `jail` labels audit events.
    pub fn new(jail: Option<String>, allow: Vec<HostPattern>) -> Self {
        Self { jail, allow }
    }

    /// The DNS view of a resolved network policy: `dns.allow` plus every egress host
    /// ([`NetworkPolicy::dns_patterns`]); nothing at all in mode `none`.
    pub fn from_network(jail: Option<String>, policy: &NetworkPolicy) -> Self {
        let allow = if policy.mode == NetworkMode::None {
            Vec::new()
        } else {
            policy.dns_patterns().cloned().collect()
        };
        Self { jail, allow }
    }

    /// The jail label, if any.
    pub fn jail(&self) -> Option<&str> {
        self.jail.as_deref()
    }

    /// The allowed patterns.
    pub fn allow(&self) -> &[HostPattern] {
        &self.allow
    }

    /// The first pattern matching a normalised name (see [`crate::normalize_name`]).
    pub fn matching_rule(&self, normalized: &str) -> Option<&HostPattern> {
        self.allow.iter().find(|p| p.matches(normalized))
    }
}

/// The table's hasher: FxHash-style multiply-rotate, unkeyed and several times cheaper than the
/// standard SipHash on a 4- or 16-byte address, looked up once per query.
///
/// Safe only because the *keys* are not attacker-chosen: entries are the jail addresses root
/// registers over the control socket (at most a few thousand), and a query from any other
/// address is only a lookup that misses, which costs one probe sequence whatever its address. A
/// flood of spoofed sources cannot grow this map or lengthen its chains. (The rate limiter's
/// map, which any source address reaching the port inserts into, keeps SipHash: see
/// `ratelimit.rs`.)
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct AddrHasher(u64);

const SEED: u64 = 0xf135_7aea_2e62_a9c5;

impl AddrHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0 ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for AddrHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // The multiply leaves its best bits high; hashbrown takes the bucket from the low ones.
        self.0.rotate_left(26)
    }
}

type Map = HashMap<IpAddr, Arc<ClientPolicy>, BuildHasherDefault<AddrHasher>>;

/// Client address → [`ClientPolicy`], shared by the filter and whoever pushes policy.
///
/// Cloning gives another handle to the same table. A client with no entry resolves nothing.
#[derive(Clone, Debug)]
pub struct FilterTable {
    inner: Arc<ArcSwap<Map>>,
}

impl Default for FilterTable {
    fn default() -> Self {
        Self::new()
    }
}

impl FilterTable {
    /// An empty table: every client is denied everything.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(ArcSwap::from_pointee(Map::default())),
        }
    }

    /// Sets the policy of `client`; the next query from it is decided by `policy`.
    pub fn update(&self, client: IpAddr, policy: ClientPolicy) {
        let client = client.to_canonical();
        let policy = Arc::new(policy);
        self.inner.rcu(|map| {
            let mut next = Map::clone(map);
            next.insert(client, Arc::clone(&policy));
            next
        });
    }

    /// Removes `client`'s entry (it then resolves nothing); true when there was one.
    pub fn remove(&self, client: IpAddr) -> bool {
        let client = client.to_canonical();
        let mut removed = false;
        self.inner.rcu(|map| {
            let mut next = Map::clone(map);
            removed = next.remove(&client).is_some();
            next
        });
        removed
    }

    /// The policy of `client`, if it has one.
    pub fn get(&self, client: IpAddr) -> Option<Arc<ClientPolicy>> {
        self.inner.load().get(&client.to_canonical()).cloned()
    }

    /// Number of clients with an entry.
    pub fn len(&self) -> usize {
        self.inner.load().len()
    }

    /// True when no client has an entry.
    pub fn is_empty(&self) -> bool {
        self.inner.load().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_addresses_spread_over_buckets() {
        use std::hash::BuildHasher;
        let build = BuildHasherDefault::<AddrHasher>::default();
        let mut low = std::collections::HashSet::new();
        for i in 0..4096u32 {
            let v4 = IpAddr::from(std::net::Ipv4Addr::from(0x0a4d_0000 + i));
            low.insert(build.hash_one(v4) & 0xfff);
        }
        // Sequential jail addresses must not collide into a few buckets.
        assert!(low.len() > 2000, "{} distinct buckets of 4096", low.len());
        let table = FilterTable::new();
        for i in 0..4096u32 {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a4d_0000 + i));
            table.update(ip, ClientPolicy::new(Some(format!("j{i}")), Vec::new()));
        }
        for i in 0..4096u32 {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a4d_0000 + i));
            assert_eq!(
                table.get(ip).unwrap().jail(),
                Some(format!("j{i}").as_str())
            );
        }
        let v6: IpAddr = "fd00::1".parse().unwrap();
        assert!(table.get(v6).is_none());
    }

    fn patterns(list: &[&str]) -> Vec<HostPattern> {
        list.iter().filter_map(|p| p.parse().ok()).collect()
    }

    #[test]
    fn update_and_remove_apply_at_once() {
        let table = FilterTable::new();
        let ip: IpAddr = "10.213.0.2".parse().unwrap();
        assert!(table.get(ip).is_none());
        table.update(ip, ClientPolicy::new(None, patterns(&["a.corp.test"])));
        assert!(table
            .get(ip)
            .is_some_and(|p| p.matching_rule("a.corp.test").is_some()));
        table.update(ip, ClientPolicy::new(None, patterns(&["b.corp.test"])));
        assert!(table
            .get(ip)
            .is_some_and(|p| p.matching_rule("a.corp.test").is_none()));
        assert!(table.remove(ip));
        assert!(!table.remove(ip));
        assert!(table.is_empty());
    }

    #[test]
    fn v4_mapped_clients_find_their_v4_entry() {
        let table = FilterTable::new();
        let v4: IpAddr = "10.213.0.3".parse().unwrap();
        let mapped: IpAddr = "::ffff:10.213.0.3".parse().unwrap();
        table.update(v4, ClientPolicy::new(Some("j".into()), Vec::new()));
        assert_eq!(
            table.get(mapped).and_then(|p| p.jail().map(str::to_owned)),
            Some("j".into())
        );
    }

    fn network(mode: NetworkMode) -> NetworkPolicy {
        NetworkPolicy {
            mode,
            private_ranges: Vec::new(),
            dns_allow: patterns(&["*.svc.corp.test"]),
            egress: vec![paddock_policy::EgressRule {
                name: "git".into(),
                host: "git.corp.test".parse().unwrap(),
                ports: [443].into(),
                tls: paddock_policy::TlsMode::Passthrough,
                allow: Vec::new(),
                deny: Vec::new(),
            }],
            credentials: Vec::new(),
        }
    }

    #[test]
    fn from_network_agrees_with_dns_allows() {
        let names = [
            "a.svc.corp.test",
            "svc.corp.test",
            "git.corp.test",
            "x.git.corp.test",
            "evil.test",
        ];
        for mode in [
            NetworkMode::None,
            NetworkMode::Intranet,
            NetworkMode::Internet,
        ] {
            let net = network(mode);
            let client = ClientPolicy::from_network(Some("j".into()), &net);
            for name in names {
                assert_eq!(
                    client.matching_rule(name).is_some(),
                    net.dns_allows(name),
                    "{mode:?} {name}"
                );
            }
        }
        assert!(
            ClientPolicy::from_network(None, &network(NetworkMode::None))
                .allow()
                .is_empty()
        );
    }
}
