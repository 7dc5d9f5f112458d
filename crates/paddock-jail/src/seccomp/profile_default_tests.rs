//! The default profile, tested by value: what the table allows, not what the kernel does
//! (that is `install_tests.rs`).

use std::collections::BTreeMap;

use super::super::must_deny::MUST_DENY;
use super::super::table::{Args, Rule};
use super::rules;

fn table() -> Vec<Rule> {
    rules().collect()
}

#[test]
fn default_profile_compiles_for_this_arch() {
    let filters = crate::seccomp::build(paddock_policy::SeccompProfile::Default)
        .expect("the default profile compiles");
    assert_eq!(
        filters.len(),
        1,
        "one compact filter (clone3 -> ENOSYS inside it)"
    );
}

#[test]
fn must_deny_syscalls_are_not_in_the_allowlist() {
    let allowed: BTreeMap<libc::c_long, &str> = table().iter().map(|r| (r.nr, r.name)).collect();
    let leaks: Vec<String> = MUST_DENY
        .iter()
        .filter_map(|(nr, name, threat)| {
            allowed
                .get(nr)
                .map(|entry| format!("{name} (nr {nr}, allowed as `{entry}`): {threat}"))
        })
        .collect();
    assert!(leaks.is_empty(), "must-deny syscalls allowed: {leaks:#?}");
}

#[test]
fn build_refuses_a_table_that_allows_a_must_deny_syscall() {
    let sneaky = Rule {
        nr: libc::SYS_io_uring_setup,
        name: "io_uring_setup",
        args: Args::Any,
        comment: "a well-meant edit for a fast runtime",
    };
    let err = crate::seccomp::compile("default", rules().chain([sneaky]), libc::EPERM as u32)
        .expect_err("must fail closed");
    assert!(
        matches!(
            err,
            crate::seccomp::SeccompError::AllowsMustDeny {
                syscall: "io_uring_setup",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn must_deny_list_covers_the_named_threats() {
    // The list itself can rot: these are the ones the jail's design relies on.
    let names: Vec<&str> = MUST_DENY.iter().map(|(_, name, _)| *name).collect();
    for required in [
        "mount",
        "umount2",
        "pivot_root",
        "chroot",
        "fsopen",
        "fsconfig",
        "fsmount",
        "fspick",
        "move_mount",
        "open_tree",
        "mount_setattr",
        "ptrace",
        "process_vm_readv",
        "process_vm_writev",
        "process_madvise",
        "pidfd_getfd",
        "kcmp",
        "bpf",
        "perf_event_open",
        "kexec_load",
        "kexec_file_load",
        "init_module",
        "finit_module",
        "delete_module",
        "userfaultfd",
        "keyctl",
        "add_key",
        "request_key",
        "io_uring_setup",
        "io_uring_enter",
        "io_uring_register",
        "setns",
        "acct",
        "swapon",
        "swapoff",
        "reboot",
        "sethostname",
        "setdomainname",
        "settimeofday",
        "clock_settime",
        "clock_adjtime",
        "adjtimex",
        "open_by_handle_at",
        "name_to_handle_at",
        "quotactl",
        "syslog",
        "vhangup",
        "lookup_dcookie",
        "nfsservctl",
        "lsm_set_self_attr",
        "fanotify_init",
        "mbind",
        "move_pages",
        "migrate_pages",
        "clone3",
    ] {
        assert!(names.contains(&required), "MUST_DENY lost `{required}`");
    }
    #[cfg(target_arch = "x86_64")]
    for required in [
        "modify_ldt",
        "iopl",
        "ioperm",
        "uselib",
        "create_module",
        "get_kernel_syms",
        "query_module",
    ] {
        assert!(names.contains(&required), "MUST_DENY lost `{required}`");
    }
}

#[test]
fn must_deny_numbers_match_their_names() {
    // Guards the hand-written numbers (unified table, removed x86_64 module syscalls).
    let mut seen = BTreeMap::new();
    for (nr, name, _) in MUST_DENY {
        assert!(*nr >= 0, "{name}: negative number");
        if let Some(other) = seen.insert(*nr, *name) {
            panic!("MUST_DENY lists nr {nr} twice: `{other}` and `{name}`");
        }
    }
    assert_eq!(seen.get(&libc::SYS_clone3), Some(&"clone3"));
    assert_eq!(seen.get(&460), Some(&"lsm_set_self_attr"));
}

#[test]
fn allowlist_has_no_duplicate_syscalls() {
    let mut seen: BTreeMap<libc::c_long, &str> = BTreeMap::new();
    for rule in table() {
        if let Some(first) = seen.insert(rule.nr, rule.name) {
            panic!("nr {} listed twice: `{first}` and `{}`", rule.nr, rule.name);
        }
    }
}

#[test]
fn every_rule_names_its_user_or_threat() {
    for rule in table() {
        assert!(
            rule.comment.trim().len() >= 8,
            "`{}` needs a comment naming its user or the threat",
            rule.name
        );
        assert!(!rule.name.is_empty() && !rule.name.starts_with("SYS_"));
    }
}

#[test]
fn argument_filters_sit_on_the_right_syscalls() {
    let args: BTreeMap<libc::c_long, Args> = table().iter().map(|r| (r.nr, r.args)).collect();
    let expect = [
        (libc::SYS_ioctl, Args::IoctlNoTerminalInjection),
        (libc::SYS_socket, Args::SocketFamilies),
        (libc::SYS_socketpair, Args::SocketFamilies),
        (libc::SYS_clone, Args::CloneWithoutNamespaces),
        (libc::SYS_unshare, Args::UnshareWithoutNamespaces),
        (libc::SYS_personality, Args::PersonalityHarmless),
    ];
    for (nr, want) in expect {
        assert_eq!(args.get(&nr), Some(&want), "syscall nr {nr}");
    }
    let filtered = args.values().filter(|a| **a != Args::Any).count();
    assert_eq!(
        filtered,
        expect.len(),
        "an unexpected argument filter appeared"
    );
}

#[test]
fn essentials_for_shells_and_runtimes_are_allowed() {
    // A regression here breaks every program, long before an attack test would notice.
    let allowed: Vec<libc::c_long> = table().iter().map(|r| r.nr).collect();
    for (nr, name) in [
        (libc::SYS_execve, "execve"),
        (libc::SYS_wait4, "wait4"),
        (libc::SYS_faccessat2, "faccessat2"),
        (libc::SYS_rseq, "rseq"),
        (libc::SYS_close_range, "close_range"),
        (libc::SYS_statx, "statx"),
        (libc::SYS_getrandom, "getrandom"),
        (libc::SYS_prctl, "prctl"),
        (libc::SYS_seccomp, "seccomp"),
    ] {
        assert!(allowed.contains(&nr), "`{name}` must be allowed");
    }
    #[cfg(target_arch = "x86_64")]
    assert!(allowed.contains(&libc::SYS_arch_prctl), "arch_prctl (TLS)");
}

#[test]
fn namespace_masks_cover_every_namespace_flag() {
    use super::super::table::{CLONE_NAMESPACE_FLAGS, UNSHARE_NAMESPACE_FLAGS};
    for flag in [
        libc::CLONE_NEWUSER,
        libc::CLONE_NEWNS,
        libc::CLONE_NEWPID,
        libc::CLONE_NEWNET,
        libc::CLONE_NEWUTS,
        libc::CLONE_NEWIPC,
        libc::CLONE_NEWCGROUP,
    ] {
        assert_ne!(
            CLONE_NAMESPACE_FLAGS & flag as u64,
            0,
            "clone mask lacks {flag:#x}"
        );
        assert_ne!(
            UNSHARE_NAMESPACE_FLAGS & flag as u64,
            0,
            "unshare mask lacks {flag:#x}"
        );
    }
    // CLONE_NEWTIME shares bits with CSIGNAL (the exit signal) on clone: only unshare masks it.
    assert_eq!(libc::CLONE_NEWTIME, 0x80);
    assert_eq!(
        CLONE_NAMESPACE_FLAGS & 0xff,
        0,
        "clone mask must not touch CSIGNAL"
    );
    assert_ne!(
        UNSHARE_NAMESPACE_FLAGS & 0x80,
        0,
        "unshare mask lacks CLONE_NEWTIME"
    );
    // Docker's value, for comparison.
    assert_eq!(CLONE_NAMESPACE_FLAGS, 0x7E02_0000);
}
