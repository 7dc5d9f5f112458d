//! Seccomp: which syscalls a jailed process may make.
//!
//! What this module enforces:
//! - an allowlist per profile ([`profile_default`]): any syscall not listed fails with `EPERM`,
//!   including x32 syscall numbers on x86_64 (they carry bit 30 and match no entry);
//! - argument filters on `ioctl` (no terminal injection), `socket`/`socketpair` (no raw or
//!   packet sockets, no exotic families), `clone`/`unshare` (no new namespaces) and
//!   `personality`;
//! - `clone3` fails with `ENOSYS`, so glibc falls back to `clone`, whose flags seccomp can
//!   read (`clone3` keeps them in memory);
//! - a foreign architecture (i386 `int 0x80` on x86_64, arm32 on aarch64) kills the process.
//!
//! The program is one compact filter emitted by `emit.rs` (ranges of syscall numbers searched
//! as a binary tree); seccompiler compiles the same table in tests as the reference it must
//! agree with.
//!
//! What lives elsewhere: setting `no_new_privs` (the jail setup, right before [`SeccompFilters::install`]),
//! dropping capabilities, Landlock, namespaces and cgroups (their own modules), and the raw
//! `seccomp(2)` call (`crate::sys::seccomp`, the only `unsafe`).
//!
//! Plan, then act: [`build`] compiles everything before `fork` and may allocate and fail with a
//! [`SeccompError`]; [`SeccompFilters::install`] runs in the child after `fork`, allocates
//! nothing and only makes raw syscalls.

mod emit;
mod must_deny;
mod profile_default;
mod table;

#[cfg(test)]
#[path = "install_tests.rs"]
mod install_tests;

use nix::errno::Errno;
use paddock_policy::SeccompProfile;
use seccompiler::BpfProgram;

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
    /// The compact emitter could not lay out the program.
    #[error("seccomp: cannot emit the {profile} profile: {reason}; this is a bug in Paddock's rule table, report it")]
    Emit {
        /// Profile name.
        profile: &'static str,
        /// What went wrong.
        reason: String,
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
fn target_arch() -> Result<(), SeccompError> {
    #[cfg(target_arch = "x86_64")]
    return Ok(());
    #[cfg(target_arch = "aarch64")]
    return Ok(());
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    return Err(SeccompError::UnsupportedArch {
        arch: std::env::consts::ARCH,
    });
}

/// Builds the filter: the allowlist denying with `deny_errno`, `clone3` answered with
/// `ENOSYS`. `deny_errno` is a parameter so tests can tell the filter's refusal apart from the
/// kernel's own `EPERM` (see `install_tests.rs`).
fn compile(
    profile: &'static str,
    rules: impl Iterator<Item = table::Rule>,
    deny_errno: u32,
) -> Result<SeccompFilters, SeccompError> {
    // Fail on architectures the profiles do not cover, before emitting anything.
    target_arch()?;
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
    let program = emit::emit(&rules, deny_errno).map_err(|e| SeccompError::Emit {
        profile,
        reason: format!("{e:?}"),
    })?;
    if program.len() > usize::from(u16::MAX) {
        return Err(SeccompError::Emit {
            profile,
            reason: format!("{} instructions", program.len()),
        });
    }
    Ok(SeccompFilters {
        programs: vec![program],
    })
}

impl SeccompFilters {
    /// Installs the filters on the calling thread. Runs in the jailed child after `fork`: no
    /// allocation, no locks, only raw syscalls.
    ///
    /// `no_new_privs` must already be set; if it is not, this returns `EACCES` without
    /// installing anything (even where the kernel would accept the filter, i.e. with
    /// `CAP_SYS_ADMIN`). [`SeccompError::from_install_errno`] explains any errno in the parent.
    ///
    pub(crate) fn install(&self) -> Result<(), Errno> {
        sys::install_filters(&self.programs)
    }

    /// How many filters [`SeccompFilters::install`] installs (one for the built-in profiles).
    pub fn len(&self) -> usize {
        self.programs.len()
    }

    /// Always `false` for a built profile; here because clippy pairs it with `len`.
    pub fn is_empty(&self) -> bool {
        self.programs.is_empty()
    }
}
