//! Syscalls no Paddock profile may allow, each with the threat it opens.
//!
//! [`super::build`] checks every profile against this list before compiling it, so a table
//! edit that allows one of these fails closed with [`super::SeccompError::AllowsMustDeny`];
//! a test proves the default profile passes, and `install_tests.rs` proves a sample fails in a
//! real kernel.

use super::table::unified;

/// `(number, name, threat)`, numbers from `libc::SYS_*` for the architecture being built.
///
/// Not listed because x86_64 and aarch64 have no such syscall: `vm86`/`vm86old` (i386 only).
pub(crate) const MUST_DENY: &[(libc::c_long, &str, &str)] = &[
    (libc::SYS_mount, "mount", "mounts over the jail's filesystem view"),
    (libc::SYS_umount2, "umount2", "unmounts masks and exposes what is under them"),
    (libc::SYS_pivot_root, "pivot_root", "changes the root"),
    (libc::SYS_chroot, "chroot", "chroot escapes with a held directory fd"),
    (libc::SYS_fsopen, "fsopen", "new mount API"),
    (libc::SYS_fsconfig, "fsconfig", "new mount API: filesystem parsers are attack surface"),
    (libc::SYS_fsmount, "fsmount", "new mount API"),
    (libc::SYS_fspick, "fspick", "new mount API: reconfigure mounts"),
    (libc::SYS_move_mount, "move_mount", "new mount API"),
    (libc::SYS_open_tree, "open_tree", "new mount API: detached mount clones"),
    (libc::SYS_mount_setattr, "mount_setattr", "changes mount flags (e.g. drops nosuid)"),
    (libc::SYS_ptrace, "ptrace", "reads/writes other processes of the same uid"),
    (libc::SYS_process_vm_readv, "process_vm_readv", "reads another process's memory"),
    (libc::SYS_process_vm_writev, "process_vm_writev", "writes another process's memory"),
    (libc::SYS_process_madvise, "process_madvise", "acts on another process's memory"),
    (libc::SYS_pidfd_getfd, "pidfd_getfd", "steals descriptors from another process"),
    (libc::SYS_kcmp, "kcmp", "probes kernel object identity across processes"),
    (libc::SYS_bpf, "bpf", "eBPF verifier bugs: the classic local root"),
    (libc::SYS_perf_event_open, "perf_event_open", "side channels and a long CVE list"),
    (libc::SYS_kexec_load, "kexec_load", "replaces the running kernel"),
    (libc::SYS_kexec_file_load, "kexec_file_load", "replaces the running kernel"),
    (libc::SYS_init_module, "init_module", "loads kernel code"),
    (libc::SYS_finit_module, "finit_module", "loads kernel code"),
    (libc::SYS_delete_module, "delete_module", "unloads kernel code"),
    (libc::SYS_userfaultfd, "userfaultfd", "stalls kernel copies: race exploitation aid"),
    (libc::SYS_keyctl, "keyctl", "kernel keyrings are not namespaced"),
    (libc::SYS_add_key, "add_key", "kernel keyrings are not namespaced"),
    (libc::SYS_request_key, "request_key", "kernel keyrings; may call out to user space"),
    (libc::SYS_io_uring_setup, "io_uring_setup", "io_uring makes sockets and opens files without the filtered syscalls"),
    (libc::SYS_io_uring_enter, "io_uring_enter", "io_uring: see io_uring_setup"),
    (libc::SYS_io_uring_register, "io_uring_register", "io_uring: see io_uring_setup"),
    (libc::SYS_setns, "setns", "joins other namespaces"),
    (libc::SYS_acct, "acct", "process accounting is host-wide"),
    (libc::SYS_swapon, "swapon", "host-wide swap"),
    (libc::SYS_swapoff, "swapoff", "host-wide swap"),
    (libc::SYS_reboot, "reboot", "host reboot / Ctrl-Alt-Del behaviour"),
    (libc::SYS_sethostname, "sethostname", "hostname (UTS namespace is the jail's, still not its business)"),
    (libc::SYS_setdomainname, "setdomainname", "NIS domain name"),
    (libc::SYS_settimeofday, "settimeofday", "host clock"),
    (libc::SYS_clock_settime, "clock_settime", "host clock"),
    (libc::SYS_clock_adjtime, "clock_adjtime", "host clock (Docker allows reads; nothing here needs them)"),
    (libc::SYS_adjtimex, "adjtimex", "host clock (Docker allows reads; nothing here needs them)"),
    (libc::SYS_open_by_handle_at, "open_by_handle_at", "opens files by handle, bypassing paths (the shocker escape)"),
    (libc::SYS_name_to_handle_at, "name_to_handle_at", "half of the shocker escape; leaks inode handles"),
    (libc::SYS_quotactl, "quotactl", "filesystem quotas are the host's"),
    (libc::SYS_quotactl_fd, "quotactl_fd", "filesystem quotas are the host's"),
    (libc::SYS_syslog, "syslog", "kernel log leaks addresses"),
    (libc::SYS_vhangup, "vhangup", "hangs up the terminal"),
    (libc::SYS_lookup_dcookie, "lookup_dcookie", "oprofile leftover"),
    (libc::SYS_nfsservctl, "nfsservctl", "removed syscall"),
    (libc::SYS_fanotify_init, "fanotify_init", "filesystem-wide monitoring"),
    (libc::SYS_mbind, "mbind", "NUMA placement: Docker gates it behind CAP_SYS_NICE; mempolicy code has had use-after-frees"),
    (libc::SYS_set_mempolicy, "set_mempolicy", "NUMA placement: as mbind"),
    (libc::SYS_set_mempolicy_home_node, "set_mempolicy_home_node", "NUMA placement: as mbind"),
    (libc::SYS_get_mempolicy, "get_mempolicy", "NUMA: Docker gates it behind CAP_SYS_NICE; libnuma reports no NUMA"),
    (libc::SYS_move_pages, "move_pages", "moves/inspects other processes' pages"),
    (libc::SYS_migrate_pages, "migrate_pages", "moves other processes' pages"),
    (unified::LSM_SET_SELF_ATTR, "lsm_set_self_attr", "changes LSM attributes"),
    (unified::LSM_GET_SELF_ATTR, "lsm_get_self_attr", "LSM introspection, not needed"),
    (unified::LSM_LIST_MODULES, "lsm_list_modules", "LSM introspection, not needed"),
    (libc::SYS_clone3, "clone3", "flags live in memory seccomp cannot read; refused with ENOSYS so glibc falls back to clone"),
    (libc::SYS_memfd_secret, "memfd_secret", "memory hidden from the kernel; not needed"),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_modify_ldt, "modify_ldt", "x86 LDT: CVE-2015-5157 and friends; only wine and 16-bit code need it"),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_iopl, "iopl", "raw I/O port access"),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_ioperm, "ioperm", "raw I/O port access"),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_uselib, "uselib", "a.out loader: old, unmaintained"),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS__sysctl, "_sysctl", "removed binary sysctl"),
    #[cfg(target_arch = "x86_64")]
    (174, "create_module", "removed module syscall (x86_64 number; not in libc)"),
    #[cfg(target_arch = "x86_64")]
    (177, "get_kernel_syms", "removed module syscall (x86_64 number; not in libc)"),
    #[cfg(target_arch = "x86_64")]
    (178, "query_module", "removed module syscall (x86_64 number; not in libc)"),
];
