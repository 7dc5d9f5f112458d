//! Landlock, prepared before fork: the ruleset fd (created through the `landlock` crate at the
//! highest ABI the kernel offers) and the list of path rules that init adds after
//! `pivot_root`, when the paths mean what the jail will see.
//!
//! The rules mirror the filesystem policy: read and execute everywhere in the jail's view
//! (the mount tree already decides what exists), write only in the workspace, `/tmp`,
//! `/dev/shm` and the policy's `read_write` paths, device access only to the harmless nodes
//! and the jail's own pty. No rule ever grants making block or character devices.
//! With ABI ≥ 6 the jail is also scoped: it cannot signal processes outside its domain or
//! connect to abstract Unix sockets created outside it.
//!
//! Under `landlock: required`, a kernel without Landlock stops the start (fail closed).

use std::ffi::CString;
use std::os::fd::OwnedFd;

use landlock::{
    Access, AccessFs, BitFlags, CompatLevel, Compatible, Ruleset, RulesetAttr, Scope, ABI,
};
use paddock_policy::LandlockMode;

use crate::error::JailError;
use crate::sys;

/// What the kernel enforces for this jail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LandlockStatus {
    /// A ruleset is applied.
    Enforced {
        /// The kernel's Landlock ABI version.
        abi: i32,
        /// The filesystem access rights the ruleset handles (LANDLOCK_ACCESS_FS_* bits).
        fs_rights: u64,
        /// Signals and abstract Unix sockets are scoped to the jail (ABI ≥ 6).
        scoped: bool,
    },
    /// No ruleset (only possible under `best_effort`).
    NotEnforced {
        /// Why.
        reason: String,
    },
}

/// The prepared ruleset: fd and rules, consumed by init.
pub(crate) struct Prepared {
    pub fd: Option<OwnedFd>,
    pub rules: Vec<(CString, u64)>,
    pub status: LandlockStatus,
}

/// Builds the ruleset for a jail whose writable paths (jail view) are `writable`.
pub(crate) fn prepare(mode: LandlockMode, writable: &[String]) -> Result<Prepared, JailError> {
    let abi_num = sys::landlock_abi();
    if abi_num < 1 {
        return match mode {
            // Threat: silently running a jail without the filesystem layer the policy requires.
            LandlockMode::Required => Err(JailError::LandlockUnavailable),
            LandlockMode::BestEffort => Ok(Prepared {
                fd: None,
                rules: Vec::new(),
                status: LandlockStatus::NotEnforced {
                    reason: "the kernel does not offer Landlock".into(),
                },
            }),
        };
    }
    let abi = ABI::from(abi_num);
    let handled = AccessFs::from_all(abi);
    let scoped = abi_num >= 6;
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(handled)
        .map_err(landlock_err)?;
    if scoped {
        ruleset = ruleset
            .scope(Scope::AbstractUnixSocket | Scope::Signal)
            .map_err(landlock_err)?;
    }
    let created = ruleset.create().map_err(landlock_err)?;
    let fd: Option<OwnedFd> = created.into();
    let Some(fd) = fd else {
        return Err(JailError::LandlockRuleset {
            reason: "the kernel returned no ruleset".into(),
        });
    };
    Ok(Prepared {
        fd: Some(fd),
        rules: rules(handled, writable)?,
        status: LandlockStatus::Enforced {
            abi: abi_num,
            fs_rights: handled.bits(),
            scoped,
        },
    })
}

fn landlock_err(e: impl std::fmt::Display) -> JailError {
    JailError::LandlockRuleset {
        reason: e.to_string(),
    }
}

/// The path rules, each masked to what the ruleset handles.
pub(crate) fn rules(
    handled: BitFlags<AccessFs>,
    writable: &[String],
) -> Result<Vec<(CString, u64)>, JailError> {
    let read = AccessFs::Execute | AccessFs::ReadFile | AccessFs::ReadDir;
    let device = AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::IoctlDev;
    // Threat: creating device nodes in a writable directory to reach hardware or kernel memory.
    let write_tree = handled & !(AccessFs::MakeChar | AccessFs::MakeBlock);
    let mut out: Vec<(String, BitFlags<AccessFs>)> = vec![
        ("/".into(), read),
        ("/proc".into(), read | AccessFs::WriteFile),
        ("/dev/pts".into(), device | AccessFs::ReadDir),
    ];
    for dev in ["null", "zero", "full", "random", "urandom", "tty"] {
        out.push((format!("/dev/{dev}"), device));
    }
    for w in ["/tmp", "/dev/shm"] {
        out.push((w.into(), write_tree));
    }
    for w in writable {
        out.push((w.clone(), write_tree));
    }
    out.into_iter()
        .map(|(p, a)| {
            let c = CString::new(p.clone()).map_err(|_| JailError::NulInPath { path: p.into() })?;
            Ok((c, (a & handled).bits()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_grants_device_creation_and_masks_to_handled() {
        let handled = AccessFs::from_all(ABI::V3);
        let rules = rules(handled, &["/workspace".into()]).unwrap();
        let dev = (AccessFs::MakeChar | AccessFs::MakeBlock).bits();
        let write = BitFlags::from(AccessFs::WriteFile).bits();
        let ioctl = BitFlags::from(AccessFs::IoctlDev).bits();
        for (path, access) in &rules {
            assert_eq!(access & dev, 0, "{path:?} grants device creation");
            assert_eq!(
                access & !handled.bits(),
                0,
                "{path:?} exceeds the handled set"
            );
        }
        // The workspace is writable, the root is not.
        let get = |p: &str| {
            rules
                .iter()
                .find(|(c, _)| c.to_bytes() == p.as_bytes())
                .unwrap()
                .1
        };
        assert_ne!(get("/workspace") & write, 0);
        assert_eq!(get("/") & write, 0);
        // IoctlDev does not exist at ABI 3, so it must have been masked away.
        assert_eq!(get("/dev/pts") & ioctl, 0);
    }
}
