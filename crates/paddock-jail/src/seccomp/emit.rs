//! Emits the allowlist as one compact classic-BPF program.
//!
//! Why not seccompiler's output: it tests syscalls one after another (1,500+ instructions for
//! the default profile). The kernel converts, JITs and emulates a filter for every syscall
//! number when it is installed (the action cache), so a linear filter cost ~0.5 ms per jail
//! start and every syscall in the jail walked the chain. Here the unconditional allowlist is
//! collapsed into ranges of syscall numbers searched as a binary tree, and only the six
//! syscalls with argument filters get small blocks of their own: ~10× fewer instructions.
//! seccompiler still compiles the same table in tests, and `emit_tests.rs` interprets both
//! programs to prove they decide alike for every syscall number and argument class.
//!
//! Layout: arch check (foreign arch → kill) · load nr · `clone3` → ENOSYS · numbers above
//! [`LAST_REVIEWED_NR`] → ENOSYS · one block per
//! argument-filtered syscall · range tree → allow · everything else → deny.
//! Argument checks read only the low 32 bits: every filtered argument is a C `int` /
//! `unsigned int` (or, for `clone`, flags whose namespace bits are all in the low word).

use seccompiler::sock_filter;

use super::table::{
    Args, Rule, CLONE_NAMESPACE_FLAGS, PERSONALITY_ALLOWED, UNSHARE_NAMESPACE_FLAGS,
};

const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const BPF_JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const BPF_JGT_K: u16 = 0x25; // BPF_JMP | BPF_JGT | BPF_K
const BPF_JGE_K: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const BPF_JSET_K: u16 = 0x45; // BPF_JMP | BPF_JSET | BPF_K
const BPF_AND_K: u16 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const BPF_RET_K: u16 = 0x06; // BPF_RET | BPF_K

const RET_ALLOW: u32 = 0x7fff_0000;
const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_ERRNO: u32 = 0x0005_0000;

/// The highest syscall number the profiles were reviewed against (Linux 6.18: `file_setattr`,
/// 469, in the unified table every architecture shares above 424). Anything above gets
/// `ENOSYS`, as runc does: a newer libc probing a call the profile has never seen falls back
/// (most only fall back on ENOSYS) instead of failing with EPERM. Raise it when a profile
/// is reviewed against a newer kernel.
pub(crate) const LAST_REVIEWED_NR: u32 = 469;

const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xc000_003e;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xc000_00b7;

/// Offset of the low 32 bits of argument `i` in `struct seccomp_data`.
const fn arg_lo(i: u32) -> u32 {
    16 + 8 * i + if cfg!(target_endian = "big") { 4 } else { 0 }
}

/// Why a program could not be emitted.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum EmitError {
    /// A jump would exceed classic BPF's 255-instruction reach.
    JumpTooFar,
    /// A syscall number does not fit the 32-bit `nr` field.
    BadNumber(&'static str),
}

fn stmt(code: u16, k: u32) -> sock_filter {
    sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: usize, jf: usize) -> Result<sock_filter, EmitError> {
    Ok(sock_filter {
        code,
        jt: u8::try_from(jt).map_err(|_| EmitError::JumpTooFar)?,
        jf: u8::try_from(jf).map_err(|_| EmitError::JumpTooFar)?,
        k,
    })
}

/// Emits the profile: `deny_errno` for refused calls, ENOSYS for `clone3`.
pub(crate) fn emit(rules: &[Rule], deny_errno: u32) -> Result<Vec<sock_filter>, EmitError> {
    let deny = RET_ERRNO | (deny_errno & 0xffff);
    let mut prog = vec![
        stmt(BPF_LD_W_ABS, OFF_ARCH),
        // Threat: the i386 or x32 entry points, whose syscall numbers mean other calls.
        jump(BPF_JEQ_K, AUDIT_ARCH, 1, 0)?,
        stmt(BPF_RET_K, RET_KILL_PROCESS),
        stmt(BPF_LD_W_ABS, OFF_NR),
    ];
    // clone3 keeps its flags in memory seccomp cannot read; ENOSYS makes libc fall back to clone.
    prog.push(jump(BPF_JEQ_K, nr32(libc::SYS_clone3, "clone3")?, 0, 1)?);
    prog.push(stmt(BPF_RET_K, RET_ERRNO | libc::ENOSYS as u32));
    // Syscalls newer than the review: "not implemented" (x32 numbers land here too: refused).
    prog.push(jump(BPF_JGT_K, LAST_REVIEWED_NR, 0, 1)?);
    prog.push(stmt(BPF_RET_K, RET_ERRNO | libc::ENOSYS as u32));
    let mut plain: Vec<u32> = Vec::new();
    for rule in rules {
        let nr = nr32(rule.nr, rule.name)?;
        match rule.args {
            Args::Any => plain.push(nr),
            args => {
                let block = arg_block(args, deny)?;
                prog.push(jump(BPF_JEQ_K, nr, 0, block.len())?);
                prog.extend(block);
            }
        }
    }
    prog.extend(range_tree(&ranges(plain), deny)?);
    Ok(prog)
}

fn nr32(nr: libc::c_long, name: &'static str) -> Result<u32, EmitError> {
    u32::try_from(nr).map_err(|_| EmitError::BadNumber(name))
}

/// Sorted, merged ranges of syscall numbers.
pub(crate) fn ranges(mut nrs: Vec<u32>) -> Vec<(u32, u32)> {
    nrs.sort_unstable();
    nrs.dedup();
    let mut out: Vec<(u32, u32)> = Vec::new();
    for nr in nrs {
        match out.last_mut() {
            Some((_, hi)) if hi.checked_add(1) == Some(nr) => *hi = nr,
            _ => out.push((nr, nr)),
        }
    }
    out
}

/// A binary search over `ranges`: allow inside one, `deny` outside all.
fn range_tree(ranges: &[(u32, u32)], deny: u32) -> Result<Vec<sock_filter>, EmitError> {
    match ranges {
        [] => Ok(vec![stmt(BPF_RET_K, deny)]),
        [(lo, hi)] if lo == hi => Ok(vec![
            jump(BPF_JEQ_K, *lo, 0, 1)?,
            stmt(BPF_RET_K, RET_ALLOW),
            stmt(BPF_RET_K, deny),
        ]),
        [(lo, hi)] => Ok(vec![
            jump(BPF_JGE_K, *lo, 0, 2)?,
            jump(BPF_JGT_K, *hi, 1, 0)?,
            stmt(BPF_RET_K, RET_ALLOW),
            stmt(BPF_RET_K, deny),
        ]),
        _ => {
            let mid = ranges.len() / 2;
            let left = range_tree(&ranges[..mid], deny)?;
            let right = range_tree(&ranges[mid..], deny)?;
            let mut out = vec![jump(BPF_JGE_K, ranges[mid].0, left.len(), 0)?];
            out.extend(left);
            out.extend(right);
            Ok(out)
        }
    }
}

/// Returns `ret` when the accumulator equals any of `values`, else falls through to `other`.
fn any_of(values: &[u32], then_skip: usize) -> Result<Vec<sock_filter>, EmitError> {
    let n = values.len();
    values
        .iter()
        .enumerate()
        .map(|(i, v)| jump(BPF_JEQ_K, *v, n - 1 - i + then_skip, 0))
        .collect()
}

/// The block for one argument-filtered syscall; it always ends in a return.
fn arg_block(args: Args, deny: u32) -> Result<Vec<sock_filter>, EmitError> {
    let allow = || stmt(BPF_RET_K, RET_ALLOW);
    let refuse = || stmt(BPF_RET_K, deny);
    let lo32 = |v: u64| (v & 0xffff_ffff) as u32;
    Ok(match args {
        Args::Any => vec![allow()],
        Args::IoctlNoTerminalInjection => {
            // Threat: TIOCSTI/TIOCLINUX type into the terminal the jail shares with a user.
            let mut b = vec![stmt(BPF_LD_W_ABS, arg_lo(1))];
            b.extend(any_of(
                &[
                    lo32(super::table::ioctl_cmd(libc::TIOCSTI)),
                    lo32(super::table::ioctl_cmd(libc::TIOCLINUX)),
                ],
                1,
            )?);
            b.extend([allow(), refuse()]);
            b
        }
        Args::CloneWithoutNamespaces | Args::UnshareWithoutNamespaces => {
            // Threat: new namespaces (a user namespace above all) re-open kernel attack surface.
            let flags = if args == Args::CloneWithoutNamespaces {
                CLONE_NAMESPACE_FLAGS
            } else {
                UNSHARE_NAMESPACE_FLAGS
            };
            vec![
                stmt(BPF_LD_W_ABS, arg_lo(0)),
                jump(BPF_JSET_K, lo32(flags), 1, 0)?,
                allow(),
                refuse(),
            ]
        }
        Args::PersonalityHarmless => {
            let values: Vec<u32> = PERSONALITY_ALLOWED.iter().map(|v| lo32(*v)).collect();
            let mut b = vec![stmt(BPF_LD_W_ABS, arg_lo(0))];
            b.extend(any_of(&values, 1)?);
            b.extend([refuse(), allow()]);
            b
        }
        Args::SocketFamilies => socket_block(deny)?,
    })
}

/// `socket`/`socketpair`: AF_UNIX any type; AF_INET/AF_INET6 stream, datagram, seqpacket;
/// AF_NETLINK with NETLINK_ROUTE. Threat: raw and packet sockets forge traffic around the
/// egress policy; other families are kernel attack surface.
fn socket_block(deny: u32) -> Result<Vec<sock_filter>, EmitError> {
    let allow = || stmt(BPF_RET_K, RET_ALLOW);
    let refuse = || stmt(BPF_RET_K, deny);
    let af = |f: libc::c_int| f as u32;
    // Indices:  0 ld domain | 1 unix | 2 inet | 3 inet6 | 4 netlink | 5 refuse
    //           6 ld type | 7 and | 8 stream | 9 dgram | 10 seqpacket | 11 refuse
    //           12 ld proto | 13 route | 14 refuse | 15 allow
    Ok(vec![
        stmt(BPF_LD_W_ABS, arg_lo(0)),
        jump(BPF_JEQ_K, af(libc::AF_UNIX), 13, 0)?,
        jump(BPF_JEQ_K, af(libc::AF_INET), 3, 0)?,
        jump(BPF_JEQ_K, af(libc::AF_INET6), 2, 0)?,
        jump(BPF_JEQ_K, af(libc::AF_NETLINK), 7, 0)?,
        refuse(),
        stmt(BPF_LD_W_ABS, arg_lo(1)),
        stmt(BPF_AND_K, 0xf),
        jump(BPF_JEQ_K, libc::SOCK_STREAM as u32, 6, 0)?,
        jump(BPF_JEQ_K, libc::SOCK_DGRAM as u32, 5, 0)?,
        jump(BPF_JEQ_K, libc::SOCK_SEQPACKET as u32, 4, 0)?,
        refuse(),
        stmt(BPF_LD_W_ABS, arg_lo(2)),
        jump(BPF_JEQ_K, libc::NETLINK_ROUTE as u32, 1, 0)?,
        refuse(),
        allow(),
    ])
}

#[cfg(test)]
#[path = "emit_tests.rs"]
mod tests;
