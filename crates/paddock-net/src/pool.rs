//! The address pool: each jail gets a point-to-point /31 (RFC 3021) out of one IPv4 range, the
//! even address for the host side of its veth and the odd one for the jail side. A /31 wastes
//! nothing (a /16 holds 32,768 jails), and since every jail has its own link and its own pair no
//! two jails share a broadcast domain.
//!
//! Pure: the pool is a value; what is allocated is whatever the caller allocated or reserved (the
//! supervisor rebuilds it from the jails it adopts at start). The host route reader takes the
//! route file's path so tests run on fixtures.

use std::collections::BTreeSet;
use std::fmt;
use std::net::Ipv4Addr;
use std::path::Path;
use std::str::FromStr;

use crate::error::{NetError, Result};

/// The default pool (`PADDOCK_NET_POOL` overrides it).
pub const DEFAULT_POOL: Ipv4Net = Ipv4Net {
    addr: Ipv4Addr::new(10, 213, 0, 0),
    prefix: 16,
};

/// An IPv4 range in canonical CIDR form (no host bits set).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4Net {
    addr: Ipv4Addr,
    prefix: u8,
}

impl Ipv4Net {
    /// `addr/prefix`; `None` when the prefix exceeds 32 or host bits are set.
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Option<Self> {
        if prefix > 32 || u32::from(addr) & !mask(prefix) != 0 {
            return None;
        }
        Some(Self { addr, prefix })
    }

    /// The network address.
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// True when `ip` lies in the range.
    pub fn contains_addr(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask(self.prefix) == u32::from(self.addr)
    }

    /// True when the two ranges share at least one address.
    pub fn overlaps(&self, other: &Ipv4Net) -> bool {
        let m = mask(self.prefix.min(other.prefix));
        u32::from(self.addr) & m == u32::from(other.addr) & m
    }

    /// The IPv4 ranges of a policy's `private_ranges`; IPv6 ranges are left out because jails
    /// have no IPv6 at all (every IPv6 packet from a jail is dropped).
    pub fn from_policy(ranges: &[paddock_policy::Cidr]) -> Vec<Ipv4Net> {
        ranges
            .iter()
            .filter_map(|c| match c.addr() {
                std::net::IpAddr::V4(a) => Ipv4Net::new(a, c.prefix()),
                std::net::IpAddr::V6(_) => None,
            })
            .collect()
    }
}

fn mask(prefix: u8) -> u32 {
    match prefix {
        0 => 0,
        p => u32::MAX << (32 - u32::from(p.min(32))),
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for Ipv4Net {
    type Err = NetError;

    fn from_str(text: &str) -> Result<Self> {
        let err = |reason| NetError::ParseCidr {
            text: text.to_string(),
            reason,
        };
        let (a, p) = text.split_once('/').ok_or_else(|| err("missing /prefix"))?;
        let addr: Ipv4Addr = a.parse().map_err(|_| err("not an IPv4 address"))?;
        let prefix: u8 = p.parse().map_err(|_| err("prefix is not a number"))?;
        if prefix > 32 {
            return Err(err("prefix longer than 32"));
        }
        Ipv4Net::new(addr, prefix).ok_or_else(|| err("host bits are set"))
    }
}

/// The two ends of one jail's link: `host/31` on the host's veth, `jail/31` in the jail, and the
/// jail's default route via `host`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkPair {
    /// The host side: the jail's gateway, where the DNS filter and proxies answer it.
    pub host: Ipv4Addr,
    /// The jail side: the only source address accepted from the jail's veth.
    pub jail: Ipv4Addr,
}

impl LinkPair {
    /// The prefix length both ends carry.
    pub const PREFIX: u8 = 31;
}

/// A pool of /31 pairs over one IPv4 range. Allocation is deterministic: always the lowest
/// free pair, so a restart that re-reserves the same jails hands out the same next address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pool {
    net: Ipv4Net,
    used: BTreeSet<u32>,
}

impl Pool {
    /// An empty pool over `net`, which must hold at least two pairs (a /30 or shorter).
    pub fn new(net: Ipv4Net) -> Result<Self> {
        if net.prefix > 30 {
            return Err(NetError::PoolTooSmall { pool: net });
        }
        Ok(Self {
            net,
            used: BTreeSet::new(),
        })
    }

    /// The range this pool hands out.
    pub fn net(&self) -> Ipv4Net {
        self.net
    }

    /// How many pairs the pool holds.
    pub fn capacity(&self) -> u32 {
        // prefix <= 30, so this is at most 2^31 and fits.
        1u32 << (31 - u32::from(self.net.prefix))
    }

    /// How many pairs are allocated.
    pub fn allocated(&self) -> usize {
        self.used.len()
    }

    /// The lowest free pair, marked used.
    pub fn allocate(&mut self) -> Result<LinkPair> {
        let mut slot = 0u32;
        for &u in &self.used {
            if u != slot {
                break;
            }
            slot += 1;
        }
        if slot >= self.capacity() {
            return Err(NetError::PoolExhausted {
                pool: self.net,
                capacity: self.capacity(),
            });
        }
        self.used.insert(slot);
        Ok(self.pair(slot))
    }

    /// The first free pair after `previous` (wrapping around), marked used: consecutive jails
    /// get different pairs, so a new jail never takes the address of a link the kernel is still
    /// deleting with its dead namespace.
    pub fn allocate_after(&mut self, previous: Option<LinkPair>) -> Result<LinkPair> {
        let cap = self.capacity();
        let start = previous
            .and_then(|p| self.slot_of(p).ok())
            .map_or(0, |s| (s + 1) % cap);
        let free = (0..cap)
            .map(|i| (start + i) % cap)
            .find(|slot| !self.used.contains(slot))
            .ok_or(NetError::PoolExhausted {
                pool: self.net,
                capacity: cap,
            })?;
        self.used.insert(free);
        Ok(self.pair(free))
    }

    /// Marks a pair the kernel already holds (a jail adopted at start) as used.
    pub fn reserve(&mut self, pair: LinkPair) -> Result<()> {
        let slot = self.slot_of(pair)?;
        if !self.used.insert(slot) {
            return Err(NetError::PairInUse {
                addr: pair.host,
                pool: self.net,
            });
        }
        Ok(())
    }

    /// Hands a pair back; releasing a free pair is a no-op (release is idempotent so that
    /// cleanup after a partial failure can always call it).
    pub fn release(&mut self, pair: LinkPair) -> Result<()> {
        let slot = self.slot_of(pair)?;
        self.used.remove(&slot);
        Ok(())
    }

    fn pair(&self, slot: u32) -> LinkPair {
        let host = u32::from(self.net.addr) + 2 * slot;
        LinkPair {
            host: Ipv4Addr::from(host),
            jail: Ipv4Addr::from(host + 1),
        }
    }

    fn slot_of(&self, pair: LinkPair) -> Result<u32> {
        let h = u32::from(pair.host);
        let base = u32::from(self.net.addr);
        let not_in = || NetError::NotInPool {
            addr: pair.host,
            pool: self.net,
        };
        if !self.net.contains_addr(pair.host) || h % 2 != 0 || u32::from(pair.jail) != h + 1 {
            return Err(not_in());
        }
        Ok((h - base) / 2)
    }
}

/// One IPv4 route of the host's main table, as /proc/net/route lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostRoute {
    /// The outgoing interface.
    pub iface: String,
    /// The destination range.
    pub dest: Ipv4Net,
}

/// Reads the host's IPv4 routes from `path` (normally `/proc/net/route`).
pub fn read_host_routes(path: &Path) -> Result<Vec<HostRoute>> {
    let text = std::fs::read_to_string(path).map_err(|source| NetError::ReadRoutes {
        path: path.to_path_buf(),
        source,
    })?;
    parse_host_routes(&text).map_err(|(line, reason)| NetError::ParseRoutes {
        path: path.to_path_buf(),
        line,
        reason,
    })
}

/// Parses the text of /proc/net/route: a header line, then `Iface Destination Gateway Flags
/// RefCnt Use Metric Mask …` with addresses as the kernel's in-memory 32-bit words in hex.
pub fn parse_host_routes(text: &str) -> Result<Vec<HostRoute>, (usize, &'static str)> {
    let mut routes = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.is_empty() {
            continue;
        }
        if f.len() < 8 {
            return Err((i + 1, "fewer than 8 fields"));
        }
        let word = |s: &str| {
            u32::from_str_radix(s, 16)
                .map(|w| Ipv4Addr::from(w.to_ne_bytes()))
                .map_err(|_| (i + 1, "address is not 8 hex digits"))
        };
        let dest = word(f[1])?;
        let m = u32::from(word(f[7])?);
        if m.leading_ones() + m.trailing_zeros() != 32 {
            return Err((i + 1, "mask is not contiguous"));
        }
        // leading_ones is at most 32, so the cast is lossless.
        let prefix = m.leading_ones() as u8;
        let dest = Ipv4Net::new(dest, prefix).ok_or((i + 1, "destination has host bits set"))?;
        routes.push(HostRoute {
            iface: f[0].to_string(),
            dest,
        });
    }
    Ok(routes)
}

/// The first host route that overlaps `pool`, as an error naming both. Default routes (/0) are
/// skipped (they overlap everything and only say where traffic leaves), and so are routes on
/// Paddock's own veths (`pdk…`), which are the pool's own pairs after a restart.
pub fn overlaps_host_routes(pool: &Ipv4Net, routes: &[HostRoute]) -> Result<()> {
    for r in routes {
        if r.dest.prefix() == 0 || r.iface.starts_with(crate::names::VETH_PREFIX) {
            continue;
        }
        if r.dest.overlaps(pool) {
            return Err(NetError::PoolOverlapsRoute {
                pool: *pool,
                route: r.dest,
                iface: r.iface.clone(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;
