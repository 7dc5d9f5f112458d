//! The rule table's types and, for tests, their translation into seccompiler's IR (the
//! reference the compact emitter in `emit.rs` is checked against).
//!
//! A profile is plain data (`&[Rule]`), so tests can inspect it by value; only
//! [`to_seccompiler`] knows how an [`Args`] filter becomes BPF conditions.

#[cfg(test)]
use std::collections::BTreeMap;

#[cfg(test)]
use seccompiler::{BackendError, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompRule};

/// Syscalls numbered 424 and up share one number on every architecture (the unified table
/// since Linux 5.1). `libc` 0.2.191 lacks these; the numbers are from the kernel's
/// `include/uapi/asm-generic/unistd.h`.
pub(crate) mod unified {
    /// `fchmodat2` (Linux 6.6).
    pub(crate) const FCHMODAT2: libc::c_long = 452;
    /// `map_shadow_stack` (Linux 6.6).
    pub(crate) const MAP_SHADOW_STACK: libc::c_long = 453;
    /// `lsm_get_self_attr` (Linux 6.8).
    pub(crate) const LSM_GET_SELF_ATTR: libc::c_long = 459;
    /// `lsm_set_self_attr` (Linux 6.8).
    pub(crate) const LSM_SET_SELF_ATTR: libc::c_long = 460;
    /// `lsm_list_modules` (Linux 6.8).
    pub(crate) const LSM_LIST_MODULES: libc::c_long = 461;
}

/// One allowlisted syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rule {
    /// Syscall number for the running architecture (`libc::SYS_*`).
    pub(crate) nr: libc::c_long,
    /// Syscall name, for errors, tests and humans.
    pub(crate) name: &'static str,
    /// Which calls are allowed.
    pub(crate) args: Args,
    /// Who needs it, or which threat an argument filter closes.
    pub(crate) comment: &'static str,
}

/// Argument filters. Anything a filter does not allow gets the profile's deny action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Args {
    /// Every call is allowed.
    Any,
    /// `ioctl` except `TIOCSTI` and `TIOCLINUX` (typing into the controlling terminal).
    IoctlNoTerminalInjection,
    /// `socket`/`socketpair`: `AF_UNIX`; `AF_INET`/`AF_INET6` stream, datagram, seqpacket;
    /// `AF_NETLINK` with `NETLINK_ROUTE` only.
    SocketFamilies,
    /// `clone` without any `CLONE_NEW*` flag.
    CloneWithoutNamespaces,
    /// `unshare` without any `CLONE_NEW*` flag.
    UnshareWithoutNamespaces,
    /// `personality` with the values Docker allows (query, `PER_LINUX`, `PER_LINUX32`, `UNAME26`).
    PersonalityHarmless,
}

/// Namespace flags that `clone` accepts. `CLONE_NEWTIME` (0x80) is absent on purpose: on
/// `clone` the low byte is `CSIGNAL`, the exit signal, and `CLONE_NEWTIME` only works through
/// `clone3` (refused with `ENOSYS`) and `unshare`.
pub(crate) const CLONE_NAMESPACE_FLAGS: u64 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWCGROUP
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET) as u64;

/// Namespace flags that `unshare` accepts: the `clone` set plus `CLONE_NEWTIME`.
pub(crate) const UNSHARE_NAMESPACE_FLAGS: u64 = CLONE_NAMESPACE_FLAGS | libc::CLONE_NEWTIME as u64;

/// `personality` values allowed: the same list as Docker's default profile.
pub(crate) const PERSONALITY_ALLOWED: [u64; 5] = [
    0x0,         // PER_LINUX
    0x8,         // PER_LINUX32 (setarch i686 / linux32 on 32-bit builds)
    0x2_0000,    // UNAME26: old build scripts that parse `uname -r`
    0x2_0008,    // UNAME26 | PER_LINUX32
    0xffff_ffff, // query the current persona without changing it
];

#[cfg(test)]
/// `SOCK_TYPE_MASK` from the kernel: the type without `SOCK_NONBLOCK | SOCK_CLOEXEC`.
const SOCK_TYPE_MASK: u64 = 0xf;

#[cfg(test)]
/// Builds seccompiler's rule map for `rules`. An empty `Vec` means "any arguments".
pub(crate) fn to_seccompiler(
    rules: impl Iterator<Item = Rule>,
) -> Result<BTreeMap<i64, Vec<SeccompRule>>, (&'static str, BackendError)> {
    let mut map = BTreeMap::new();
    for rule in rules {
        let chain = conditions(rule.args).map_err(|e| (rule.name, e))?;
        map.insert(nr_to_i64(rule.nr), chain);
    }
    Ok(map)
}

#[cfg(test)]
/// Every argument below is a C `int` or `unsigned int`, and the kernel reads only the low 32
/// bits, so comparisons are `Dword`: a caller setting the high half (the TIOCSTI bypass that hit
/// filters comparing all 64 bits) changes nothing.
fn conditions(args: Args) -> Result<Vec<SeccompRule>, BackendError> {
    match args {
        Args::Any => Ok(Vec::new()),
        Args::IoctlNoTerminalInjection => Ok(vec![SeccompRule::new(vec![
            dword(1, SeccompCmpOp::Ne, ioctl_cmd(libc::TIOCSTI))?,
            dword(1, SeccompCmpOp::Ne, ioctl_cmd(libc::TIOCLINUX))?,
        ])?]),
        Args::SocketFamilies => socket_rules(),
        Args::CloneWithoutNamespaces => Ok(vec![SeccompRule::new(vec![dword(
            0,
            SeccompCmpOp::MaskedEq(CLONE_NAMESPACE_FLAGS),
            0,
        )?])?]),
        Args::UnshareWithoutNamespaces => Ok(vec![SeccompRule::new(vec![dword(
            0,
            SeccompCmpOp::MaskedEq(UNSHARE_NAMESPACE_FLAGS),
            0,
        )?])?]),
        Args::PersonalityHarmless => PERSONALITY_ALLOWED
            .iter()
            .map(|&v| SeccompRule::new(vec![dword(0, SeccompCmpOp::Eq, v)?]))
            .collect(),
    }
}

#[cfg(test)]
fn socket_rules() -> Result<Vec<SeccompRule>, BackendError> {
    let family = |f: libc::c_int| dword(0, SeccompCmpOp::Eq, f as u64);
    let sock_type = |t: libc::c_int| dword(1, SeccompCmpOp::MaskedEq(SOCK_TYPE_MASK), t as u64);
    // Local IPC: D-Bus, X11/Wayland, ssh-agent, language servers, test runners.
    let mut rules = vec![SeccompRule::new(vec![family(libc::AF_UNIX)?])?];
    // TCP, UDP (and unprivileged ICMP "ping" sockets, which the kernel gates with
    // net.ipv4.ping_group_range) and SCTP. SOCK_RAW and SOCK_PACKET are left out: raw IP
    // lets a process forge packets, and the egress policy is only as good as what it can parse.
    for inet in [libc::AF_INET, libc::AF_INET6] {
        for ty in [libc::SOCK_STREAM, libc::SOCK_DGRAM, libc::SOCK_SEQPACKET] {
            rules.push(SeccompRule::new(vec![family(inet)?, sock_type(ty)?])?);
        }
    }
    // glibc's getaddrinfo(AI_ADDRCONFIG), `ip addr`, node's os.networkInterfaces() read
    // interfaces and routes. Other netlink families (audit, netfilter, uevent, sock_diag…) are
    // kernel attack surface no ordinary program needs.
    rules.push(SeccompRule::new(vec![
        family(libc::AF_NETLINK)?,
        dword(2, SeccompCmpOp::Eq, libc::NETLINK_ROUTE as u64)?,
    ])?);
    Ok(rules)
}

#[cfg(test)]
/// seccompiler keys rules by `i64`; `c_long` is `i64` on every target this module supports.
#[allow(clippy::useless_conversion)]
pub(crate) fn nr_to_i64(nr: libc::c_long) -> i64 {
    i64::from(nr)
}

/// `libc::Ioctl` is `c_ulong` on glibc and `c_int` on musl.
#[allow(clippy::unnecessary_cast)]
pub(crate) const fn ioctl_cmd(cmd: libc::Ioctl) -> u64 {
    cmd as u64
}

#[cfg(test)]
fn dword(arg: u8, op: SeccompCmpOp, value: u64) -> Result<SeccompCondition, BackendError> {
    SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, value)
}
