//! The compact emitter against seccompiler's compilation of the same table: a small
//! classic-BPF interpreter runs both programs on every syscall number and on every argument
//! class the filters distinguish; they must return the same action every time.

use seccompiler::{SeccompAction, SeccompFilter, TargetArch};

use super::*;
use crate::seccomp::profile_default;
use crate::seccomp::table;

const DENY: u32 = libc::EPERM as u32;

/// Runs a classic-BPF program over `struct seccomp_data` fields.
fn run(prog: &[sock_filter], nr: u32, arch: u32, args: [u64; 6]) -> u32 {
    let mut data = [0u8; 64];
    data[0..4].copy_from_slice(&nr.to_ne_bytes());
    data[4..8].copy_from_slice(&arch.to_ne_bytes());
    for (i, a) in args.iter().enumerate() {
        data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_ne_bytes());
    }
    let (mut acc, mut pc) = (0u32, 0usize);
    for _ in 0..100_000 {
        let ins = &prog[pc];
        let k = ins.k;
        pc += 1;
        match ins.code {
            0x20 => {
                let o = k as usize;
                acc = u32::from_ne_bytes(data[o..o + 4].try_into().unwrap());
            }
            0x06 => return k,
            0x05 => pc += k as usize,
            0x54 => acc &= k,
            0x15 | 0x25 | 0x35 | 0x45 => {
                let taken = match ins.code {
                    0x15 => acc == k,
                    0x25 => acc > k,
                    0x35 => acc >= k,
                    _ => acc & k != 0,
                };
                pc += usize::from(if taken { ins.jt } else { ins.jf });
            }
            other => panic!("interpreter lacks opcode {other:#x}"),
        }
    }
    panic!("program did not return");
}

fn reference() -> Vec<sock_filter> {
    let map = table::to_seccompiler(profile_default::rules()).unwrap();
    #[cfg(target_arch = "x86_64")]
    let arch = TargetArch::x86_64;
    #[cfg(target_arch = "aarch64")]
    let arch = TargetArch::aarch64;
    let allow =
        SeccompFilter::new(map, SeccompAction::Errno(DENY), SeccompAction::Allow, arch).unwrap();
    seccompiler::BpfProgram::try_from(allow).unwrap()
}

fn ours() -> Vec<sock_filter> {
    let rules: Vec<Rule> = profile_default::rules().collect();
    emit(&rules, DENY).unwrap()
}

fn arg_classes() -> Vec<[u64; 6]> {
    let mut v = vec![[0; 6]];
    let ioctl = |c: libc::Ioctl| table::ioctl_cmd(c);
    for cmd in [
        ioctl(libc::TIOCSTI),
        ioctl(libc::TIOCLINUX),
        ioctl(libc::TIOCSTI) | 1 << 32,
        ioctl(libc::TCGETS),
        ioctl(libc::FIONREAD),
    ] {
        v.push([3, cmd, 0, 0, 0, 0]);
    }
    for dom in [
        libc::AF_UNIX,
        libc::AF_INET,
        libc::AF_INET6,
        libc::AF_NETLINK,
        libc::AF_PACKET,
        38,
    ] {
        for ty in [
            libc::SOCK_STREAM,
            libc::SOCK_DGRAM,
            libc::SOCK_RAW,
            libc::SOCK_SEQPACKET,
            10, // SOCK_PACKET (obsolete, still refused)
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
        ] {
            for proto in [0, libc::NETLINK_AUDIT, libc::IPPROTO_ICMP] {
                v.push([dom as u64, ty as u64, proto as u64, 0, 0, 0]);
            }
        }
    }
    for flags in [
        libc::SIGCHLD as u64,
        (libc::CLONE_VM | libc::CLONE_THREAD | libc::CLONE_SIGHAND) as u64,
        (libc::CLONE_NEWUSER | libc::SIGCHLD) as u64,
        libc::CLONE_NEWNS as u64,
        libc::CLONE_NEWNET as u64 | 1 << 40,
        libc::CLONE_NEWTIME as u64,
        libc::CLONE_FS as u64,
        1 << 40,
    ] {
        v.push([flags, 0, 0, 0, 0, 0]);
    }
    for p in [
        0u64,
        8,
        0x2_0000,
        0x2_0008,
        0xffff_ffff,
        0x40000,
        0x0400_0000,
    ] {
        v.push([p, 0, 0, 0, 0, 0]);
    }
    v
}

#[test]
fn decides_like_seccompiler_for_every_syscall_and_argument_class() {
    let (a, b) = (ours(), reference());
    let clone3 = libc::SYS_clone3 as u32;
    for nr in (0..600u32).chain((0..600).map(|n| n | 0x4000_0000)) {
        for args in arg_classes() {
            let got = run(&a, nr, AUDIT_ARCH, args);
            if nr == clone3 || nr > LAST_REVIEWED_NR {
                assert_eq!(got, RET_ERRNO | libc::ENOSYS as u32, "nr {nr}");
                continue;
            }
            assert_eq!(got, run(&b, nr, AUDIT_ARCH, args), "nr {nr} args {args:x?}");
        }
    }
}

#[test]
fn foreign_architecture_is_killed() {
    // AUDIT_ARCH_I386: the int 0x80 entry point on x86_64.
    assert_eq!(run(&ours(), 0, 0x4000_0003, [0; 6]), RET_KILL_PROCESS);
}

#[test]
fn is_an_order_of_magnitude_shorter_than_a_linear_filter() {
    let (a, b) = (ours(), reference());
    assert!(
        a.len() * 5 < b.len(),
        "ours {} vs linear {}",
        a.len(),
        b.len()
    );
}

#[test]
fn terminal_injection_with_high_bits_is_still_refused() {
    let cmd = table::ioctl_cmd(libc::TIOCSTI) | 0xdead_0000_0000;
    let ioctl = libc::SYS_ioctl as u32;
    assert_eq!(
        run(&ours(), ioctl, AUDIT_ARCH, [0, cmd, 0, 0, 0, 0]),
        RET_ERRNO | DENY
    );
}

#[test]
fn ranges_merge_neighbours() {
    assert_eq!(
        ranges(vec![5, 1, 2, 3, 7, 6, 10]),
        vec![(1, 3), (5, 7), (10, 10)]
    );
    assert_eq!(ranges(vec![]), vec![]);
}

#[test]
fn an_empty_table_denies_everything_but_still_checks_arch() {
    let prog = emit(&[], DENY).unwrap();
    assert_eq!(
        run(&prog, libc::SYS_read as u32, AUDIT_ARCH, [0; 6]),
        RET_ERRNO | DENY
    );
}

#[test]
fn syscalls_newer_than_the_review_are_not_implemented_rather_than_forbidden() {
    let prog = ours();
    assert_eq!(
        run(&prog, LAST_REVIEWED_NR + 1, AUDIT_ARCH, [0; 6]),
        RET_ERRNO | libc::ENOSYS as u32
    );
    // Known but refused calls keep the deny errno.
    let bpf = libc::SYS_bpf as u32;
    assert_eq!(run(&prog, bpf, AUDIT_ARCH, [0; 6]), RET_ERRNO | DENY);
}
