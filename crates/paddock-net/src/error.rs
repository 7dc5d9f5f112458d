//! The crate's one error type. Each variant names the action that failed, carries the object it
//! failed on, and its message says what to do about it.

use std::io;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use crate::pool::Ipv4Net;

/// Everything that can go wrong while planning or installing a jail's network segment.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A CIDR string did not parse.
    #[error("invalid IPv4 range {text:?}: {reason}; write it as A.B.C.D/N with no host bits set, e.g. 10.213.0.0/16")]
    ParseCidr {
        /// What was given.
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The pool is too small to hold even one point-to-point pair.
    #[error("address pool {pool} is too small: each jail needs a /31, so the prefix must be /30 or shorter")]
    PoolTooSmall {
        /// The pool.
        pool: Ipv4Net,
    },
    /// Every pair of the pool is in use.
    #[error("address pool {pool} is exhausted ({capacity} jails); stop a jail or configure a larger pool with PADDOCK_NET_POOL")]
    PoolExhausted {
        /// The pool.
        pool: Ipv4Net,
        /// How many pairs it holds.
        capacity: u32,
    },
    /// A pair handed back or reserved is not one this pool hands out.
    #[error("{addr} is not the host side of a pair in pool {pool}")]
    NotInPool {
        /// The address.
        addr: Ipv4Addr,
        /// The pool.
        pool: Ipv4Net,
    },
    /// A pair to reserve is already allocated.
    #[error(
        "pair {addr}/31 of pool {pool} is already allocated; two jails cannot share an address"
    )]
    PairInUse {
        /// The host-side address of the pair.
        addr: Ipv4Addr,
        /// The pool.
        pool: Ipv4Net,
    },
    /// The pool overlaps a route the host already has.
    #[error("address pool {pool} overlaps the host route {route} on {iface}; choose a pool that no host route covers (PADDOCK_NET_POOL=CIDR)")]
    PoolOverlapsRoute {
        /// The pool.
        pool: Ipv4Net,
        /// The overlapping route's destination.
        route: Ipv4Net,
        /// The route's interface.
        iface: String,
    },
    /// Reading the host's route table failed.
    #[error("cannot read host routes from {path}: {source}")]
    ReadRoutes {
        /// The file read (normally /proc/net/route).
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A line of the route table did not parse.
    #[error("cannot parse line {line} of {path}: {reason}")]
    ParseRoutes {
        /// The file read.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A jail id cannot name kernel objects.
    #[error("invalid jail id {id:?}: use 1 to 11 characters of a-z and 0-9 (it names the veth pdk<id>h)")]
    InvalidJailId {
        /// What was given.
        id: String,
    },
    /// A table name lacks Paddock's prefix.
    #[error("invalid nftables table name {name:?}: Paddock's tables start with \"paddock\" and use a-z, 0-9 and _")]
    InvalidTableName {
        /// What was given.
        name: String,
    },
    /// An interface name is not a valid Linux interface name.
    #[error("invalid interface name {name:?}: 1 to 15 characters, no '/', ':', '*', whitespace or quotes")]
    InvalidIfName {
        /// What was given.
        name: String,
    },
    /// Running `nft` failed before it could report anything.
    #[error("cannot run {binary}: {source}; install nftables (Debian: apt-get install nftables)")]
    SpawnNft {
        /// The binary run.
        binary: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// `nft` refused a batch or a listing.
    #[error("nft {action} failed (exit {status}): {stderr}")]
    Nft {
        /// What was asked: `apply`, `list`.
        action: &'static str,
        /// The exit status.
        status: String,
        /// What nft printed on stderr.
        stderr: String,
    },
    /// `nft -j` printed something that is not the JSON it documents.
    #[error("cannot parse the JSON that nft {action} printed: {reason}")]
    NftOutput {
        /// What was asked.
        action: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The kernel holds less than the plan installed (STYLE rule 8).
    #[error("nftables table {table} does not hold what was installed: {missing}; reinstall the jail or run remove_all and reconcile")]
    ReadBackMismatch {
        /// The table.
        table: String,
        /// What is missing or different.
        missing: String,
    },
    /// A netlink request failed.
    #[error("netlink {action} on {object} failed: {source}")]
    Netlink {
        /// What was asked: `create veth`, `add address`…
        action: &'static str,
        /// The link, address or route.
        object: String,
        /// The cause (the kernel's errno where there is one).
        source: io::Error,
    },
    /// Opening or entering a network namespace failed.
    #[error("cannot {action} network namespace {target}: {source}; is the jail still running?")]
    Netns {
        /// `open` or `enter`.
        action: &'static str,
        /// The namespace (path or pid).
        target: String,
        /// The cause.
        source: io::Error,
    },
    /// Paddock's own state under /run/paddock could not be read or changed.
    #[error("cannot {action} {path}: {source}; Paddock keeps its leases there (root only)")]
    State {
        /// What failed.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A running jail already holds this id or name.
    #[error("{what} is already used by a running jail; pick another --name")]
    InUse {
        /// What clashes.
        what: String,
    },
    /// Writing a sysctl failed.
    #[error("cannot write {value} to {path}: {source}")]
    Sysctl {
        /// The file under /proc/sys.
        path: PathBuf,
        /// The value written.
        value: String,
        /// The cause.
        source: io::Error,
    },
}

/// The crate's result type.
pub type Result<T, E = NetError> = std::result::Result<T, E>;
