//! One jail's whole network segment, start to finish: [`Segment::reserve`] before the jail's
//! namespaces exist, [`Segment::attach`] once they do (init waits meanwhile),
//! [`Segment::reload`] for a hot policy change, [`Segment::release`] when the jail ends.
//! [`Segment::reserve`] first removes what jails whose owner died left behind.
//!
//! # Ordering, so that recovery needs only the leases
//!
//! The lease is written before anything is created and removed after everything is gone, and
//! every step runs under the lease directory's lock where other jails could observe it. So every
//! link and every nftables chain Paddock holds belongs to a lease file: a dead owner's lease
//! names exactly the leftovers to remove, and nothing without a lease is ever touched. The
//! table's base chains stay between jails (installing netfilter hooks costs ~10 ms each time);
//! [`teardown_if_idle`] removes the table and switches the uplinks' forwarding back off when no
//! jail runs (`paddock net down`).
//!
//! # What it must never do
//!
//! - Leave a jail running without its rules: [`Segment::attach`] installs and verifies the
//!   rules before it returns, and the jail is released only after it returns.
//! - Remove anything of a jail whose owner is alive.
//! - Switch forwarding on for an uplink without the table that guards it being installed in
//!   the same locked step (see the crate docs, "Sysctls").

use std::path::PathBuf;

use crate::error::{NetError, Result};
use crate::lease::{Lease, LeaseDir, LeaseEntry, LeaseLock, Owner};
use crate::link::{prepare_host_link, remove_host_link};
use crate::names::{JailId, TableName};
use crate::nft::{plan_jail, plan_table, Batch, Egress, JailRules, TableConfig};
use crate::nft_apply::{Nft, PendingApply};
use crate::pool::{overlaps_host_routes, read_host_routes, Ipv4Net, LinkPair, Pool};
use crate::sys::Netns;
use crate::sysctl;

/// Where and how segments are built.
#[derive(Clone, Debug)]
pub struct NetConfig {
    /// Paddock's nftables table.
    pub table: TableName,
    /// The address pool.
    pub pool: Ipv4Net,
    /// Interfaces the operator names as the jails' way out (forwarding for replies).
    pub uplinks: Vec<String>,
    /// The `nft` binary.
    pub nft: Nft,
    /// `/proc/sys`.
    pub proc_sys: PathBuf,
    /// `/proc/net/route`.
    pub routes: PathBuf,
    /// The root of the lease directories ([`crate::lease::LEASE_ROOT`]).
    pub lease_root: PathBuf,
}

impl NetConfig {
    /// The defaults: table `paddock`, `pool`, the real `/proc` and `/run/paddock/net`.
    pub fn new(pool: Ipv4Net, uplinks: Vec<String>) -> Result<Self> {
        for u in &uplinks {
            crate::names::check_ifname(u)?;
        }
        Ok(Self {
            table: TableName::new(crate::names::DEFAULT_TABLE)?,
            pool,
            uplinks,
            nft: Nft::default(),
            proc_sys: PathBuf::from(sysctl::PROC_SYS),
            routes: PathBuf::from("/proc/net/route"),
            lease_root: PathBuf::from(crate::lease::LEASE_ROOT),
        })
    }
}

/// What [`Segment::reserve`] found of dead jails and removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Jails whose leftovers were removed.
    pub jails: Vec<JailId>,
}

/// One jail's segment.
#[derive(Debug)]
pub struct Segment {
    cfg: NetConfig,
    leases: LeaseDir,
    rules: JailRules,
    recovered: Recovered,
    /// The rules' transaction, started by [`Segment::reserve`] and waited for by
    /// [`Segment::attach`].
    install: Option<Install>,
}

/// The rules' transaction in flight.
#[derive(Debug)]
struct Install {
    pending: PendingApply,
    table: TableConfig,
    /// What the batch holds, for the read-back when it installs the table.
    batch: Batch,
    /// `Some(stamp)` when the batch (re)installs the table: checked and recorded afterwards.
    table_stamp: Option<String>,
}

impl Segment {
    /// Before the clone: checks the pool against the host's routes, removes dead jails'
    /// leftovers, allocates a pair, records the lease, and starts the `nft` transaction that
    /// installs the jail's rules (they name the jail's link, which need not exist yet), so that
    /// it runs while the jail is being built; [`Segment::attach`] waits for it.
    pub fn reserve(
        cfg: NetConfig,
        egress: Egress,
        dns_port: u16,
        host_ports: Vec<u16>,
        name: Option<String>,
    ) -> Result<Self> {
        // A pool that overlaps a host route would make a jail's address shadow a real host.
        overlaps_host_routes(&cfg.pool, &read_host_routes(&cfg.routes)?)?;
        let owner = Owner::current()?;
        let id = JailId::new(&base36(owner.pid))?;
        let leases = LeaseDir::for_current_netns(&cfg.lease_root)?;
        let lock = leases.lock()?;
        let (live, recovered) = recover(&lock, &cfg)?;
        if let Some(l) = live
            .iter()
            .find(|l| l.id == id || (name.is_some() && l.name == name))
        {
            return Err(NetError::InUse {
                what: format!(
                    "jail id {} / name {:?}",
                    l.id,
                    l.name.as_deref().unwrap_or("")
                ),
            });
        }
        let mut pool = Pool::new(cfg.pool)?;
        for l in &live {
            // A live lease outside the pool (the pool changed) keeps its address; skip it.
            let _ = pool.reserve(l.pair);
        }
        let pair = pool.allocate_after(lock.last_pair())?;
        lock.set_last_pair(pair)?;
        lock.write(&Lease {
            id: id.clone(),
            pair,
            owner,
            name,
        })?;
        let mut segment = Self {
            rules: JailRules {
                id,
                pair,
                egress,
                dns_port,
                host_ports,
            },
            cfg,
            leases: leases.clone(),
            recovered,
            install: None,
        };
        match segment.start_install(&lock) {
            Ok(install) => segment.install = Some(install),
            Err(e) => {
                // Nothing was created in the kernel: the lease is all there is to undo.
                let _ = lock.remove(&segment.rules.id);
                return Err(e);
            }
        }
        // From here on the caller releases the segment, whatever happens.
        Ok(segment)
    }

    /// Starts the transaction: this jail's chains, plus the table when it is missing or was
    /// built from other settings. The table's base chains are installed once and kept
    /// (registering and unregistering netfilter hooks costs ~10 ms per transaction).
    fn start_install(&self, lock: &LeaseLock<'_>) -> Result<Install> {
        let table = self.table_config(lock)?;
        let stamp = table_stamp(&table);
        let jail = plan_jail(&table, &self.rules);
        let (batch, table_stamp) = if lock.table_stamp().as_deref() == Some(stamp.as_str()) {
            (jail, None)
        } else {
            let mut batch = plan_table(&table);
            batch.extend(jail);
            (batch, Some(stamp))
        };
        Ok(Install {
            pending: self.cfg.nft.spawn_apply(&batch)?,
            table,
            batch,
            table_stamp,
        })
    }

    /// The jail's id (names its links and chains).
    pub fn id(&self) -> &JailId {
        &self.rules.id
    }

    /// The jail's addresses.
    pub fn pair(&self) -> LinkPair {
        self.rules.pair
    }

    /// What reserving removed of dead jails.
    pub fn recovered(&self) -> &Recovered {
        &self.recovered
    }

    /// After the clone, while init waits: the veth pair into init's network namespace, then
    /// the rules' transaction must have held. A jail-only install is not read back (the
    /// transaction is atomic and `nft` fails it as a whole; the same plan shape is read back on
    /// every table install and hot reload); a table install is.
    pub fn attach(&mut self, init_pid: u32) -> Result<()> {
        let ns = Netns::of_pid(init_pid)?;
        prepare_host_link(&self.rules.id, self.rules.pair, &ns, &self.cfg.proc_sys)?;
        let Some(install) = self.install.take() else {
            return Err(NetError::State {
                action: "install rules for",
                path: self.leases.path().to_path_buf(),
                source: std::io::Error::other("attach called twice"),
            });
        };
        let jail_only = install.table_stamp.is_none();
        match install.pending.wait() {
            Ok(_) if jail_only => return Ok(()),
            Ok(_) => {}
            // The table went away behind our back (e.g. a ruleset flush): install it again.
            Err(_) if jail_only => {}
            Err(e) => return Err(e),
        }
        let lock = self.leases.lock()?;
        let (table, batch) = if jail_only {
            let table = self.table_config(&lock)?;
            let mut batch = plan_table(&table);
            batch.extend(plan_jail(&table, &self.rules));
            self.cfg.nft.apply(&batch)?;
            (table, batch)
        } else {
            (install.table, install.batch)
        };
        let state = self.cfg.nft.read_back(&table.table)?.unwrap_or_default();
        state
            .holds(&table.table, &batch)
            .map_err(|missing| NetError::ReadBackMismatch {
                table: table.table.to_string(),
                missing,
            })?;
        lock.set_table_stamp(Some(&table_stamp(&table)))
    }

    /// Replaces the jail's egress (hot reload): in force when this returns; flows the new
    /// rules deny stop at their next packet.
    pub fn reload(&mut self, egress: Egress) -> Result<()> {
        let mut rules = self.rules.clone();
        rules.egress = egress;
        let lock = self.leases.lock()?;
        let table = self.table_config(&lock)?;
        self.cfg.nft.install_jail(&table, &rules)?;
        drop(lock);
        self.rules = rules;
        Ok(())
    }

    /// The jail ended: removes its rules, link and lease, now. The table stays for the next
    /// jail (see [`teardown_if_idle`]).
    pub fn release(self) -> Result<()> {
        release_jail(&self.cfg, &self.rules.id)
    }

    /// The jail ended and process `pid` will release it ([`release_jail`]): the lease names
    /// that process as its owner from now on, so no other Paddock mistakes the lease for a dead
    /// jail's while the removal runs, and takes it over if that process dies.
    pub fn hand_over(self, pid: u32) -> Result<()> {
        let owner = Owner::of_pid(pid)?;
        let lock = self.leases.lock()?;
        let mine = lock.entries()?.into_iter().find_map(|e| match e {
            LeaseEntry::Valid(l) if l.id == self.rules.id => Some(l),
            _ => None,
        });
        match mine {
            Some(lease) => lock.write(&Lease { owner, ..lease }),
            None => Ok(()),
        }
    }

    /// The table's configuration: the uplinks the operator named, forwarding switched on for
    /// each (and recorded, so the last jail out switches it off again). Under the lock.
    fn table_config(&self, lock: &LeaseLock<'_>) -> Result<TableConfig> {
        let mut guarded = lock.uplinks();
        for uplink in &self.cfg.uplinks {
            if !guarded.contains(uplink) && sysctl::prepare_host_uplink(&self.cfg.proc_sys, uplink)?
            {
                guarded.push(uplink.clone());
                // Recorded at once: if the rules below fail, the next start still knows.
                lock.set_uplinks(&guarded)?;
            }
        }
        Ok(TableConfig {
            table: self.cfg.table.clone(),
            pool: self.cfg.pool,
            uplinks: guarded,
        })
    }
}

/// Removes the leftovers of every lease whose owner is gone; returns the live leases.
fn recover(lock: &LeaseLock<'_>, cfg: &NetConfig) -> Result<(Vec<Lease>, Recovered)> {
    let mut live = Vec::new();
    let mut recovered = Recovered::default();
    for entry in lock.entries()? {
        match entry {
            LeaseEntry::Valid(l) if l.owner.alive() => live.push(l),
            LeaseEntry::Valid(l) => {
                remove_jail(lock, cfg, &l.id)?;
                recovered.jails.push(l.id);
            }
            LeaseEntry::Corrupt { id, path } => {
                if let Some(id) = id {
                    remove_jail(lock, cfg, &id)?;
                    recovered.jails.push(id);
                }
                lock.remove_path(&path)?;
            }
        }
    }
    Ok((live, recovered))
}

/// Removes jail `id`'s rules, its link (when the kernel has not yet removed it with the jail's
/// namespace) and then its lease, whoever owned it.
///
/// This takes tens of milliseconds that are the kernel's, not ours: deleting nftables objects
/// defers their destruction to an RCU grace period that closing the netlink socket waits for
/// (`nft` spends ~15–25 ms in `close`), and deleting a veth waits for another one. A caller on
/// a latency path runs it in a separate process; if that fails, the lease stays and the next
/// jail's recovery finishes the job.
pub fn release_jail(cfg: &NetConfig, id: &JailId) -> Result<()> {
    let leases = LeaseDir::for_current_netns(&cfg.lease_root)?;
    // Not under the lock: both steps are idempotent, and the lease, still held by this
    // process, keeps the pair and the id from being handed out meanwhile.
    remove_rules_and_link(cfg, id)?;
    leases.lock()?.remove(id)
}

/// Removes jail `id`'s rules, its link, then its lease.
fn remove_jail(lock: &LeaseLock<'_>, cfg: &NetConfig, id: &JailId) -> Result<()> {
    remove_rules_and_link(cfg, id)?;
    lock.remove(id)
}

/// Removes jail `id`'s chains and map entries (idempotent), then its link if the kernel has
/// not yet removed it with the jail's namespace.
fn remove_rules_and_link(cfg: &NetConfig, id: &JailId) -> Result<()> {
    let table = TableConfig {
        table: cfg.table.clone(),
        pool: cfg.pool,
        uplinks: Vec::new(),
    };
    // Applied without a read-back: the transaction is atomic, and a failure is an error here.
    cfg.nft.apply(&crate::nft::plan_remove_jail(&table, id))?;
    remove_host_link(id)
}

/// When no jail runs in this namespace (after removing dead jails' leftovers): deletes the
/// table and switches the uplinks' forwarding back off. Returns whether it did; `false` when a
/// jail still runs.
pub fn teardown_if_idle(cfg: &NetConfig) -> Result<bool> {
    let leases = LeaseDir::for_current_netns(&cfg.lease_root)?;
    let lock = leases.lock()?;
    let (live, _) = recover(&lock, cfg)?;
    if !live.is_empty() {
        return Ok(false);
    }
    cfg.nft.remove_all(&cfg.table)?;
    for uplink in lock.uplinks() {
        sysctl::restore_host_uplink(&cfg.proc_sys, &uplink)?;
    }
    lock.set_uplinks(&[])?;
    lock.remove_dir()?;
    Ok(true)
}

/// What the installed table was built from; a change means the base chains are rewritten.
fn table_stamp(t: &TableConfig) -> String {
    format!("{} {} {}", t.table, t.pool, t.uplinks.join(","))
}

/// `n` in base 36 (`0-9a-z`): a pid is at most 4,194,304, i.e. five characters.
pub fn base36(mut n: u32) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_install_start_leaves_no_lease() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = NetConfig::new("10.213.0.0/16".parse().unwrap(), Vec::new()).unwrap();
        cfg.lease_root = dir.path().to_path_buf();
        cfg.nft = Nft::new(&dir.path().join("no-such-nft"));
        let egress = Egress::Intranet { ranges: Vec::new() };
        let err = Segment::reserve(cfg.clone(), egress, 5353, Vec::new(), None).unwrap_err();
        assert!(matches!(err, NetError::SpawnNft { .. }), "{err}");
        let leases = LeaseDir::for_current_netns(&cfg.lease_root).unwrap();
        let lock = leases.lock().unwrap();
        assert!(lock.entries().unwrap().is_empty(), "a lease was left");
        // The allocation still moved on (round-robin), which is harmless.
        assert!(lock.last_pair().is_some());
    }

    #[test]
    fn base36_fits_a_jail_id() {
        assert_eq!(base36(0), "0");
        assert_eq!(base36(35), "z");
        assert_eq!(base36(36), "10");
        assert_eq!(base36(1295), "zz");
        assert!(JailId::new(&base36(u32::MAX)).is_ok());
    }
}
