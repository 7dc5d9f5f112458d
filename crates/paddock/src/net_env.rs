//! The network settings of `paddock jail` without a daemon, from the environment: where the
//! pool is, which interfaces are the jails' way out, which resolver allowed names go to, where
//! DNS decisions are recorded, and which account the DNS filter runs as.
//!
//! Nothing here touches the system; it only reads variables and `/etc/resolv.conf`.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use paddock_net::Ipv4Net;

/// The default address pool (DESIGN.md, "Network").
pub const DEFAULT_POOL: &str = "10.213.0.0/16";
/// Where DNS decisions go when `PADDOCK_AUDIT` is not set.
pub const DEFAULT_AUDIT: &str = "/var/log/paddock/audit.jsonl";
/// The account the egress services run as (DESIGN.md, "Process model").
pub const DEFAULT_EGRESS_USER: &str = "paddock-net";

/// The settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetEnv {
    /// `PADDOCK_NET_POOL`.
    pub pool: Ipv4Net,
    /// `PADDOCK_NET_UPLINKS`, comma-separated interface names.
    pub uplinks: Vec<String>,
    /// `PADDOCK_DNS_UPSTREAM`, else the first `nameserver` of `/etc/resolv.conf`.
    pub upstream: SocketAddr,
    /// `PADDOCK_AUDIT`.
    pub audit: PathBuf,
    /// `PADDOCK_EGRESS_USER`.
    pub egress_user: String,
}

impl NetEnv {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let resolv = || std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        Self::from_vars(&var, &resolv)
    }

    /// Only the pool and the uplinks (what removing state needs; no resolver involved).
    pub fn pool_and_uplinks() -> Result<(Ipv4Net, Vec<String>)> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        pool_and_uplinks(&var)
    }

    fn from_vars(
        var: &dyn Fn(&str) -> Option<String>,
        resolv: &dyn Fn() -> String,
    ) -> Result<Self> {
        let (pool, uplinks) = pool_and_uplinks(var)?;
        let upstream = match var("PADDOCK_DNS_UPSTREAM") {
            Some(text) => parse_upstream(&text).with_context(|| format!("PADDOCK_DNS_UPSTREAM={text:?}"))?,
            None => first_nameserver(&resolv()).context(
                "no upstream resolver: /etc/resolv.conf names no nameserver; set PADDOCK_DNS_UPSTREAM=IP[:PORT]",
            )?,
        };
        Ok(Self {
            pool,
            uplinks,
            upstream,
            audit: var("PADDOCK_AUDIT").map_or_else(|| PathBuf::from(DEFAULT_AUDIT), PathBuf::from),
            egress_user: var("PADDOCK_EGRESS_USER")
                .unwrap_or_else(|| DEFAULT_EGRESS_USER.to_string()),
        })
    }
}

fn pool_and_uplinks(var: &dyn Fn(&str) -> Option<String>) -> Result<(Ipv4Net, Vec<String>)> {
    let pool_text = var("PADDOCK_NET_POOL").unwrap_or_else(|| DEFAULT_POOL.to_string());
    let pool: Ipv4Net = pool_text
        .parse()
        .with_context(|| format!("PADDOCK_NET_POOL={pool_text:?}"))?;
    let uplinks: Vec<String> = var("PADDOCK_NET_UPLINKS")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    Ok((pool, uplinks))
}

/// `IP`, `IP:PORT` or `[IPv6]:PORT`; port 53 when left out.
pub fn parse_upstream(text: &str) -> Result<SocketAddr> {
    if let Ok(sa) = text.parse::<SocketAddr>() {
        return Ok(sa);
    }
    match text.parse::<IpAddr>() {
        Ok(ip) => Ok(SocketAddr::new(ip, 53)),
        Err(_) => bail!("expected IP or IP:PORT, e.g. 10.0.0.2 or 10.0.0.2:5353"),
    }
}

/// The first usable `nameserver` line of a resolv.conf.
fn first_nameserver(text: &str) -> Option<SocketAddr> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|rest| rest.split_whitespace().next())
        // A scoped IPv6 address (fe80::1%eth0) is not usable from another namespace.
        .find_map(|ip| ip.parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)], resolv: &str) -> Result<NetEnv> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        let resolv = resolv.to_string();
        NetEnv::from_vars(
            &|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()),
            &|| resolv.clone(),
        )
    }

    #[test]
    fn defaults_come_from_resolv_conf() {
        let e = env(
            &[],
            "# x\nsearch corp\nnameserver fe80::1%eth0\nnameserver 10.0.0.2\n",
        )
        .unwrap();
        assert_eq!(e.pool.to_string(), DEFAULT_POOL);
        assert!(e.uplinks.is_empty());
        assert_eq!(e.upstream, "10.0.0.2:53".parse().unwrap());
        assert_eq!(e.audit, PathBuf::from(DEFAULT_AUDIT));
        assert_eq!(e.egress_user, "paddock-net");
    }

    #[test]
    fn variables_override_and_errors_name_the_variable() {
        let e = env(
            &[
                ("PADDOCK_NET_POOL", "10.50.0.0/20"),
                ("PADDOCK_NET_UPLINKS", "eth0, te1,"),
                ("PADDOCK_DNS_UPSTREAM", "10.1.1.1:5353"),
                ("PADDOCK_AUDIT", "/tmp/a.jsonl"),
            ],
            "",
        )
        .unwrap();
        assert_eq!(e.pool.to_string(), "10.50.0.0/20");
        assert_eq!(e.uplinks, ["eth0", "te1"]);
        assert_eq!(e.upstream, "10.1.1.1:5353".parse().unwrap());
        let err = env(
            &[("PADDOCK_NET_POOL", "10.50.0.1/16")],
            "nameserver 1.1.1.1",
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("PADDOCK_NET_POOL"), "{err:#}");
        let err = env(&[("PADDOCK_DNS_UPSTREAM", "resolver")], "").unwrap_err();
        assert!(
            format!("{err:#}").contains("PADDOCK_DNS_UPSTREAM"),
            "{err:#}"
        );
        let err = env(&[], "search corp\n").unwrap_err();
        assert!(
            format!("{err:#}").contains("PADDOCK_DNS_UPSTREAM"),
            "{err:#}"
        );
        assert_eq!(parse_upstream("::1").unwrap(), "[::1]:53".parse().unwrap());
    }
}
