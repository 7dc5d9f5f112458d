//! Seccomp: which syscalls a jailed process may make.
//!
//! What this module enforces:
//! - an allowlist per profile ([`profile_default`]): any syscall not listed fails with `EPERM`,
//!   including x32 syscall numbers on x86_64 (they carry bit 30 and match no entry);
//! - argument filters on `ioctl` (no terminal injection), `socket`/`socketpair` (no raw or
//!   packet sockets, no exotic families), `clone`/`unshare` (no new namespaces) and
//!   `personality`;
//! - `clone3` fails with `ENOSYS`, from a second stacked filter, so glibc falls back to
//!   `clone`, whose flags seccomp can read (`clone3` keeps them in memory);
//! - a foreign architecture (i386 `int 0x80` on x86_64, arm32 on aarch64) kills the process:
//!   seccompiler's arch check.
//!
//! What lives elsewhere: setting `no_new_privs` (the jail setup, right before [`SeccompFilters::install`]),
//! dropping capabilities, Landlock, namespaces and cgroups (their own modules), and the raw
//! `seccomp(2)` call (`crate::sys::seccomp`, the only `unsafe`).
//!
//! Plan, then act: [`build`] compiles everything before `fork` and may allocate and fail with a
//! [`SeccompError`]; [`SeccompFilters::install`] runs in the child after `fork`, allocates
//! nothing and only makes raw syscalls.

mod must_deny;
mod profile_default;
mod table;

#[cfg(test)]
#[path = "install_tests.rs"]
mod install_tests;

use std::collections::BTreeMap;

use nix::errno::Errno;
use paddock_policy::SeccompProfile;
use seccompiler::{BackendError, BpfProgram, SeccompAction, SeccompFilter, TargetArch};

use crate::sys::seccomp as sys;

/// Why the seccomp filters could not be built or installed.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// The jail runs on an architecture the profiles do not cover.
    #[error(
        "seccomp: no filter for CPU architecture `{arch}`; Paddock's profiles cover x86_64 \
         and aarch64: run the jail on one of those"
    )]
    UnsupportedArch {
        /// `std::env::consts::ARCH` of this build.
        arch: &'static str,
    },
    /// One rule of a profile table could not be turned into BPF conditions.
    #[error(
        "seccomp: the `{profile}` profile's rule for `{syscall}` is invalid: {source}; this is \
         a bug in Paddock's rule table, report it"
    )]
    CompileRule {
        /// Profile name.
        profile: &'static str,
        /// Syscall whose rule failed.
        syscall: &'static str,
        /// seccompiler's reason.
        source: BackendError,
    },
    /// A profile table allows a syscall on the must-deny list (`must_deny.rs`).
    #[error(
        "seccomp: the `{profile}` profile allows `{syscall}`, which no profile may allow \
         ({threat}); remove it from the profile's table"
    )]
    AllowsMustDeny {
        /// Profile name.
        profile: &'static str,
        /// The syscall that must stay refused.
        syscall: &'static str,
        /// Why it must stay refused.
        threat: &'static str,
    },
    /// A whole filter could not be compiled (e.g. longer than the kernel's 4096 instructions).
    #[error(
        "seccomp: compiling the `{profile}` profile's {filter} filter failed: {source}; this is \
         a bug in Paddock's rule table, report it"
    )]
    CompileFilter {
        /// Profile name.
        profile: &'static str,
        /// Which of the stacked filters.
        filter: FilterKind,
        /// seccompiler's reason.
        source: BackendError,
    },
    /// `install` found `no_new_privs` unset (it reports `EACCES`, as the kernel would).
    #[error(
        "seccomp: cannot install the filters: no_new_privs is not set on the jailed process; \
         the jail setup must call prctl(PR_SET_NO_NEW_PRIVS, 1) before installing seccomp"
    )]
    NoNewPrivs,
    /// The kernel refused a filter.
    #[error(
        "seccomp: the kernel refused the filters: {errno}; check that the kernel is built with \
         CONFIG_SECCOMP_FILTER (`grep Seccomp /proc/self/status` shows the field) and that no \
         earlier filter denies seccomp(2) or prctl(2)"
    )]
    Install {
        /// What `seccomp(2)` or `prctl(2)` returned.
        errno: Errno,
    },
}

impl SeccompError {
    /// Turns the errno that [`SeccompFilters::install`] returned in the child (and the child
    /// reported back) into an actionable error in the parent.
    pub fn from_install_errno(errno: Errno) -> Self {
        match errno {
            Errno::EACCES => Self::NoNewPrivs,
            errno => Self::Install { errno },
        }
    }
}

/// The stacked filters of a profile, in installation order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterKind {
    /// The allowlist: allowed syscalls pass, everything else gets `EPERM`.
    Allowlist,
    /// Syscalls refused with `ENOSYS` so libc falls back (`clone3`).
    Enosys,
}

impl std::fmt::Display for FilterKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Allowlist => "allowlist",
            Self::Enosys => "ENOSYS",
        })
    }
}

/// Compiled BPF programs, ready to install after `fork` without allocating.
#[derive(Clone, Debug)]
pub struct SeccompFilters {
    /// Installation order matters: see [`SeccompFilters::install`].
    programs: Vec<BpfProgram>,
}

/// Compiles `profile` to BPF for the architecture this binary runs on. Call it before `fork`.
pub fn build(profile: SeccompProfile) -> Result<SeccompFilters, SeccompError> {
    let (name, rules) = match profile {
        SeccompProfile::Default => ("default", profile_default::rules()),
    };
    compile(name, rules, libc::EPERM as u32)
}

/// The architecture of this build, as seccompiler names it.
fn target_arch() -> Result<TargetArch, SeccompError> {
    #[cfg(target_arch = "x86_64")]
    return Ok(TargetArch::x86_64);
    #[cfg(target_arch = "aarch64")]
    return Ok(TargetArch::aarch64);
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    return Err(SeccompError::UnsupportedArch {
        arch: std::env::consts::ARCH,
    });
}

/// Builds the stacked filters: the allowlist denying with `deny_errno`, then the `ENOSYS`
/// filter. `deny_errno` is a parameter so tests can tell the filter's refusal apart from the
/// kernel's own `EPERM` (see `install_tests.rs`).
fn compile(
    profile: &'static str,
    rules: impl Iterator<Item = table::Rule>,
    deny_errno: u32,
) -> Result<SeccompFilters, SeccompError> {
    let arch = target_arch()?;
    let rules: Vec<table::Rule> = rules.collect();
    // Fail closed on a table edit that re-allows something on the must-deny list.
    for rule in &rules {
        if let Some((_, syscall, threat)) =
            must_deny::MUST_DENY.iter().find(|(nr, ..)| *nr == rule.nr)
        {
            return Err(SeccompError::AllowsMustDeny {
                profile,
                syscall,
                threat,
            });
        }
    }
    let rule_map = table::to_seccompiler(rules.into_iter()).map_err(|(syscall, source)| {
        SeccompError::CompileRule {
            profile,
            syscall,
            source,
        }
    })?;
    let allowlist = to_bpf(
        profile,
        FilterKind::Allowlist,
        SeccompFilter::new(
            rule_map,
            SeccompAction::Errno(deny_errno),
            SeccompAction::Allow,
            arch,
        ),
    )?;
    // clone3 passes its flags in a struct seccomp cannot read, so it cannot be filtered like
    // clone. ENOSYS (not EPERM) makes glibc and musl retry with clone. It needs its own filter
    // because a seccompiler filter has a single match action.
    let enosys = to_bpf(
        profile,
        FilterKind::Enosys,
        SeccompFilter::new(
            BTreeMap::from([(table::nr_to_i64(libc::SYS_clone3), Vec::new())]),
            SeccompAction::Allow,
            SeccompAction::Errno(libc::ENOSYS as u32),
            arch,
        ),
    )?;
    Ok(SeccompFilters {
        programs: vec![allowlist, enosys],
    })
}

fn to_bpf(
    profile: &'static str,
    filter: FilterKind,
    compiled: Result<SeccompFilter, BackendError>,
) -> Result<BpfProgram, SeccompError> {
    let program =
        compiled
            .and_then(BpfProgram::try_from)
            .map_err(|source| SeccompError::CompileFilter {
                profile,
                filter,
                source,
            })?;
    if program.is_empty() || u16::try_from(program.len()).is_err() {
        return Err(SeccompError::CompileFilter {
            profile,
            filter,
            source: BackendError::FilterTooLarge(program.len()),
        });
    }
    Ok(program)
}

impl SeccompFilters {
    /// Installs the filters on the calling thread. Runs in the jailed child after `fork`: no
    /// allocation, no locks, only raw syscalls.
    ///
    /// `no_new_privs` must already be set; if it is not, this returns `EACCES` without
    /// installing anything (even where the kernel would accept the filter, i.e. with
    /// `CAP_SYS_ADMIN`). [`SeccompError::from_install_errno`] explains any errno in the parent.
    ///
    /// Order: the allowlist first, the `ENOSYS` filter last. The kernel runs every filter and
    /// keeps the most restrictive action; both answer `clone3` with `SECCOMP_RET_ERRNO`, and
    /// between equal actions the most recently installed filter's errno wins, so `clone3`
    /// fails with `ENOSYS`. The allowlist allows `prctl` and `seccomp`, so the second install
    /// passes through the first filter.
    pub(crate) fn install(&self) -> Result<(), Errno> {
        sys::install_filters(&self.programs)
    }

    /// How many stacked filters [`SeccompFilters::install`] installs.
    pub fn len(&self) -> usize {
        self.programs.len()
    }

    /// Always `false` for a built profile; here because clippy pairs it with `len`.
    pub fn is_empty(&self) -> bool {
        self.programs.is_empty()
    }
}
