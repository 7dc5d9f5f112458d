//! A jail's link: one veth pair, `pdk<id>h` on the host and `pdk<id>j` in the jail's network
//! namespace, each end with its half of the pool's /31, and the jail's default route via the
//! host end. Everything goes through rtnetlink; nothing shells out to `ip`.
//!
//! # Why synchronous netlink, not `rtnetlink`
//!
//! DESIGN names `rtnetlink`, which is an async wrapper over the very message types used here
//! (`netlink-packet-route`). We use those types with a plain blocking socket from
//! `netlink-sys` instead: the jail side must be configured from a thread that has entered the
//! jail's namespace (see [`crate::sys`]), and a blocking socket on that thread needs no tokio
//! runtime, no reactor thread that would sit in the host's namespace, and no `.await` in root
//! code. The messages and the kernel semantics are identical; the dependency tree is smaller.
//!
//! # Order
//!
//! 1. Create the pair, the peer directly inside the jail's namespace (`IFLA_NET_NS_FD` on the
//!    peer), so it never exists in the host's namespace under a jail-chosen name.
//! 2. Host side: sysctls (before the link is up, so IPv6 never configures), address, up.
//! 3. Jail side, on a thread inside the jail's namespace: IPv6 off, loopback up, address, up,
//!    default route via the host side.
//!
//! If any step fails the pair is deleted again (deleting one end deletes both), so a failed
//! start leaves no link behind.

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::error::{NetError, Result};
use crate::names::{JailId, VETH_PREFIX};
use crate::netlink::Rtnl;
use crate::pool::LinkPair;
use crate::sys::{in_netns, Netns};
use crate::sysctl;

/// Creates and configures jail `id`'s link with addresses `pair`, its jail end inside `jail_ns`.
/// The host end is created in the calling thread's namespace. `proc_sys` is the `/proc/sys`
/// root ([`sysctl::PROC_SYS`]).
pub fn prepare_host_link(
    id: &JailId,
    pair: LinkPair,
    jail_ns: &Netns,
    proc_sys: &Path,
) -> Result<()> {
    let host_veth = id.host_veth();
    let mut rtnl = Rtnl::open().map_err(|source| nl_err("open socket", "NETLINK_ROUTE", source))?;
    create_veth(&mut rtnl, &host_veth, &id.jail_veth(), jail_ns)?;
    let configured = configure_host_end(&mut rtnl, &host_veth, pair, proc_sys)
        .and_then(|()| in_netns(jail_ns, || configure_jail_end_in_jail(id, pair, proc_sys))?);
    if let Err(e) = configured {
        // Best effort: the error that stopped the start is the one to report.
        let _ = delete_link(&mut rtnl, &host_veth);
        return Err(e);
    }
    Ok(())
}

/// Deletes jail `id`'s link (both ends) from the calling thread's namespace. A link that is
/// already gone (the jail's namespace died and took its end with it) is not an error.
pub fn remove_host_link(id: &JailId) -> Result<()> {
    let mut rtnl = Rtnl::open().map_err(|source| nl_err("open socket", "NETLINK_ROUTE", source))?;
    match delete_link(&mut rtnl, &id.host_veth()) {
        Err(NetError::Netlink { source, .. }) if source.raw_os_error() == Some(libc::ENODEV) => {
            Ok(())
        }
        other => other,
    }
}

/// The jails whose host-side link exists in the calling thread's namespace, for
/// reconciliation at start.
pub fn list_host_links() -> Result<Vec<JailId>> {
    let mut rtnl = Rtnl::open().map_err(|source| nl_err("open socket", "NETLINK_ROUTE", source))?;
    let replies = rtnl
        .request(
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            NLM_F_DUMP,
        )
        .map_err(|source| nl_err("list links", "all", source))?;
    let mut ids: Vec<JailId> = replies
        .iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewLink(l) => l.attributes.iter().find_map(|a| match a {
                LinkAttribute::IfName(n) if n.starts_with(VETH_PREFIX) => JailId::from_host_veth(n),
                _ => None,
            }),
            _ => None,
        })
        .collect();
    ids.sort();
    Ok(ids)
}

fn nl_err(action: &'static str, object: &str, source: io::Error) -> NetError {
    NetError::Netlink {
        action,
        object: object.to_string(),
        source,
    }
}

fn create_veth(rtnl: &mut Rtnl, host: &str, jail: &str, jail_ns: &Netns) -> Result<()> {
    let mut peer = LinkMessage::default();
    peer.attributes
        .push(LinkAttribute::IfName(jail.to_string()));
    peer.attributes
        .push(LinkAttribute::NetNsFd(jail_ns.as_fd().as_raw_fd()));
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(host.to_string()));
    msg.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(InfoKind::Veth),
        LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))),
    ]));
    rtnl.request(RouteNetlinkMessage::NewLink(msg), NLM_F_CREATE | NLM_F_EXCL)
        .map(drop)
        .map_err(|source| {
            nl_err(
                "create veth",
                &format!("{host} (peer {jail} in {})", jail_ns.label()),
                source,
            )
        })
}

fn configure_host_end(
    rtnl: &mut Rtnl,
    host_veth: &str,
    pair: LinkPair,
    proc_sys: &Path,
) -> Result<()> {
    sysctl::write_sysctls(proc_sys, &sysctl::host_link_sysctls(host_veth))?;
    let index = link_index(rtnl, host_veth)?;
    add_address(rtnl, index, host_veth, pair.host)?;
    set_up(rtnl, index, host_veth)
}

/// Runs on a thread inside the jail's namespace.
fn configure_jail_end_in_jail(id: &JailId, pair: LinkPair, proc_sys: &Path) -> Result<()> {
    let jail_veth = id.jail_veth();
    let mut rtnl =
        Rtnl::open().map_err(|source| nl_err("open socket", "NETLINK_ROUTE in jail", source))?;
    sysctl::write_sysctls(proc_sys, &sysctl::jail_link_sysctls(&jail_veth))?;
    let lo = link_index(&mut rtnl, "lo")?;
    set_up(&mut rtnl, lo, "lo")?;
    let index = link_index(&mut rtnl, &jail_veth)?;
    add_address(&mut rtnl, index, &jail_veth, pair.jail)?;
    set_up(&mut rtnl, index, &jail_veth)?;
    add_default_route(&mut rtnl, index, &jail_veth, pair.host)
}

fn link_index(rtnl: &mut Rtnl, name: &str) -> Result<u32> {
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(name.to_string()));
    let replies = rtnl
        .request(RouteNetlinkMessage::GetLink(msg), 0)
        .map_err(|source| nl_err("look up link", name, source))?;
    replies
        .iter()
        .find_map(|m| match m {
            RouteNetlinkMessage::NewLink(l) => Some(l.header.index),
            _ => None,
        })
        .ok_or_else(|| {
            nl_err(
                "look up link",
                name,
                io::Error::from_raw_os_error(libc::ENODEV),
            )
        })
}

fn add_address(rtnl: &mut Rtnl, index: u32, name: &str, addr: Ipv4Addr) -> Result<()> {
    let mut msg = AddressMessage::default();
    msg.header.family = AddressFamily::Inet;
    msg.header.prefix_len = LinkPair::PREFIX;
    msg.header.index = index;
    msg.attributes
        .push(AddressAttribute::Local(IpAddr::V4(addr)));
    msg.attributes
        .push(AddressAttribute::Address(IpAddr::V4(addr)));
    rtnl.request(
        RouteNetlinkMessage::NewAddress(msg),
        NLM_F_CREATE | NLM_F_EXCL,
    )
    .map(drop)
    .map_err(|source| nl_err("add address", &format!("{addr}/31 on {name}"), source))
}

fn set_up(rtnl: &mut Rtnl, index: u32, name: &str) -> Result<()> {
    let mut msg = LinkMessage::default();
    msg.header.index = index;
    msg.header.flags = LinkFlags::Up;
    msg.header.change_mask = LinkFlags::Up;
    rtnl.request(RouteNetlinkMessage::SetLink(msg), 0)
        .map(drop)
        .map_err(|source| nl_err("set link up", name, source))
}

fn add_default_route(rtnl: &mut Rtnl, index: u32, name: &str, via: Ipv4Addr) -> Result<()> {
    let mut msg = RouteMessage::default();
    msg.header.address_family = AddressFamily::Inet;
    msg.header.table = RouteHeader::RT_TABLE_MAIN;
    msg.header.protocol = RouteProtocol::Static;
    msg.header.scope = RouteScope::Universe;
    msg.header.kind = RouteType::Unicast;
    msg.attributes
        .push(RouteAttribute::Gateway(RouteAddress::Inet(via)));
    msg.attributes.push(RouteAttribute::Oif(index));
    rtnl.request(
        RouteNetlinkMessage::NewRoute(msg),
        NLM_F_CREATE | NLM_F_EXCL,
    )
    .map(drop)
    .map_err(|source| {
        nl_err(
            "add default route",
            &format!("via {via} dev {name}"),
            source,
        )
    })
}

fn delete_link(rtnl: &mut Rtnl, name: &str) -> Result<()> {
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(name.to_string()));
    rtnl.request(RouteNetlinkMessage::DelLink(msg), 0)
        .map(drop)
        .map_err(|source| nl_err("delete link", name, source))
}
