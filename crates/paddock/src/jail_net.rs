//! A `paddock jail`'s network, start to finish: reserve an address and a DNS-filter lease
//! before the clone, join the jail's namespace to the host while init waits, apply hot policy
//! changes, and remove everything when the jail ends.
//!
//! # What it must never do
//!
//! - Let the jail run before its rules are installed and verified (the hook returns first).
//! - Leave anything behind on an error path: every step after the reservation is undone by
//!   [`JailNet::release`], which the caller runs whatever happened.

use std::net::IpAddr;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::{Context, Result};
use paddock_jail::{JailError, StartHook};
use paddock_net::{Egress, NetConfig, Segment};
use paddock_policy::{HostPattern, NetworkMode, NetworkPolicy};

use crate::dns_service::DnsLease;
use crate::net_env::NetEnv;

/// A networked jail's segment and DNS lease.
pub struct JailNet {
    segment: Segment,
    dns: DnsLease,
    label: String,
    policy: NetworkPolicy,
}

/// Shared between the jail's runner, its start hook and its control socket.
pub type SharedNet = Arc<Mutex<Option<JailNet>>>;

impl JailNet {
    /// Reserves what a jail in `policy`'s mode needs; `None` for mode `none`.
    pub fn prepare(policy: &NetworkPolicy, name: Option<&str>) -> Result<Option<Self>> {
        let Some(egress) = egress_of(policy) else {
            return Ok(None);
        };
        let env = NetEnv::from_env()?;
        let mut dns = DnsLease::acquire(&env)?;
        let cfg = NetConfig::new(env.pool, env.uplinks.clone())?;
        let segment = Segment::reserve(cfg, egress, dns.port, Vec::new(), name.map(str::to_string))
            .context("cannot reserve the jail's network segment")?;
        let label = name.map_or_else(|| format!("jail-{}", segment.id()), str::to_string);
        let allow = dns_patterns(policy);
        if let Err(e) = dns.set(IpAddr::V4(segment.pair().jail), &label, &allow) {
            let _ = segment.release();
            return Err(e.context("cannot register the jail with the DNS filter"));
        }
        Ok(Some(Self {
            segment,
            dns,
            label,
            policy: policy.clone(),
        }))
    }

    /// The jail's `/etc/resolv.conf`: its gateway, where port 53 reaches the DNS filter.
    pub fn resolv_conf(&self) -> Vec<u8> {
        format!(
            "# Paddock: this jail's resolver is its DNS filter; only allowed names resolve.\n\
             nameserver {}\noptions attempts:1 timeout:2\n",
            self.segment.pair().host
        )
        .into_bytes()
    }

    /// Applies a new network policy to the running jail: rules first (they are the wall), then
    /// the DNS filter. In force when this returns.
    pub fn apply(&mut self, policy: NetworkPolicy) -> Result<()> {
        // A jail that has a segment keeps it: `none` becomes "no destination at all".
        let egress = egress_of(&policy).unwrap_or(Egress::Intranet { ranges: Vec::new() });
        self.segment
            .reload(egress)
            .context("cannot change the jail's nftables rules")?;
        let allow = if policy.mode == NetworkMode::None {
            Vec::new()
        } else {
            dns_patterns(&policy)
        };
        self.dns
            .set(IpAddr::V4(self.segment.pair().jail), &self.label, &allow)
            .context("cannot update the DNS filter")?;
        self.policy = policy;
        Ok(())
    }

    /// Removes the jail's DNS entry now, and its rules, link and lease in a process of its own
    /// (`paddock net release`, see `paddock_net::release_jail` for why), not waited for: the
    /// lease is handed over to that process first. If it cannot start, the removal happens
    /// here.
    pub fn release(mut self) -> Result<()> {
        let dns = self.dns.remove(IpAddr::V4(self.segment.pair().jail));
        let spawned = std::fs::read_link("/proc/self/exe").and_then(|exe| {
            Command::new(exe)
                .args(["net", "release", "--jail-id", self.segment.id().as_str()])
                .current_dir("/")
                // Its own process group: a ^C meant for the next command must not stop it.
                .process_group(0)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .spawn()
        });
        match spawned {
            Ok(child) => self
                .segment
                .hand_over(child.id())
                .context("cannot hand the jail's network segment over for removal")?,
            Err(_) => self
                .segment
                .release()
                .context("cannot remove the jail's network segment")?,
        }
        dns
    }
}

fn egress_of(policy: &NetworkPolicy) -> Option<Egress> {
    Egress::from_policy(policy)
}

fn dns_patterns(policy: &NetworkPolicy) -> Vec<HostPattern> {
    policy.dns_patterns().cloned().collect()
}

/// Locks the shared state; a panic elsewhere while holding it does not stop clean-up.
pub fn lock(net: &SharedNet) -> MutexGuard<'_, Option<JailNet>> {
    net.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The start hook: joins init's network namespace to the host and installs the rules, then
/// (for a named jail) opens its control socket.
pub struct NetHook {
    /// The jail's network.
    pub net: SharedNet,
    /// Started once the rules hold.
    pub after: Option<Box<dyn FnOnce(SharedNet) -> Result<()>>>,
}

impl StartHook for NetHook {
    fn before_release(&mut self, init_pid: u32) -> Result<(), JailError> {
        let hook_err = |what: &'static str| {
            move |e: anyhow::Error| JailError::StartHook {
                what,
                source: e.into(),
            }
        };
        if let Some(net) = lock(&self.net).as_mut() {
            net.segment
                .attach(init_pid)
                .map_err(|e| hook_err("cannot join the jail to its network segment")(e.into()))?;
        }
        if let Some(after) = self.after.take() {
            after(Arc::clone(&self.net))
                .map_err(hook_err("cannot open the jail's control socket"))?;
        }
        Ok(())
    }
}
