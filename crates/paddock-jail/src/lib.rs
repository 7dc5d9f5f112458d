//! One policy + one identity → one isolated process tree (Linux only).
//!
//! `paddock-jail` turns a resolved policy (`paddock-policy`) and an identity into a jail:
//! new mount, PID, IPC, UTS, network and cgroup namespaces; a root assembled from read-only
//! binds with `/etc` filtered; every capability dropped; `no_new_privs`; Landlock at the
//! kernel's highest ABI; an allowlist seccomp filter; rlimits and cgroup limits; a
//! non-root uid. A small init runs as PID 1, reaps orphans and forwards signals.
//!
//! Design, in the order the code runs (see `docs/jail.md`):
//! - **Plan, then act.** `plan` builds the mount layout as data (tested without root),
//!   `lower` turns it into syscall arguments, `child` carries them out.
//! - **Only syscalls after fork.** The parent prepares everything — C strings, the seccomp
//!   BPF, the Landlock ruleset fd — so that init and the workload do nothing between
//!   `clone` and `execve` but raw, async-signal-safe syscalls (`sys`).
//! - **The parent keeps the host view.** It never changes its own namespaces, so it can
//!   always clean up the cgroup it created.
//! - **Fail closed.** A layer the policy requires and the kernel lacks stops the start with
//!   one error naming it; nothing runs half-jailed.
//!
//! What this crate must never do: run anything from the jail as root, parse data produced
//! inside a jail, decide policy (that is `paddock-policy`), or touch the network beyond the
//! jail's own loopback (that is `paddock-net`).
#![deny(missing_docs)]

pub mod cgroup;
mod child;
mod error;
mod files;
mod host;
pub mod identity;
pub mod landlock;
mod lower;
pub mod plan;
pub mod probe;
mod relay;
mod run;
pub mod seccomp;
mod sys;

pub use child::Stage;
pub use error::JailError;
pub use identity::Identity;
pub use lower::{PROC_MASKED_DIRS, PROC_MASKED_FILES, PROC_READ_ONLY};
pub use run::{
    run, run_with, Enforcement, JailOutcome, JailSpec, NoHook, StartHook, DEFAULT_PATH, STATE_DIR,
};

/// Closes every descriptor above stderr. Call first thing in `main`, before anything opens
/// a file: nothing the caller leaked may reach a jail.
pub fn close_inherited_fds() {
    let _ = sys::close_range(3, u32::MAX);
}

/// A one-line description of what the kernel enforced, for `--verbose`.
pub fn describe(e: &Enforcement) -> String {
    let landlock = match &e.landlock {
        landlock::LandlockStatus::Enforced {
            abi,
            fs_rights,
            scoped,
        } => format!(
            "landlock ABI {abi} ({} fs rights{})",
            fs_rights.count_ones(),
            if *scoped {
                ", signals and abstract sockets scoped"
            } else {
                ""
            }
        ),
        landlock::LandlockStatus::NotEnforced { reason } => {
            format!("landlock NOT enforced ({reason})")
        }
    };
    let lim = &e.cgroup;
    let show = |v: Option<u64>| v.map_or("unlimited".to_string(), |v| v.to_string());
    format!(
        "namespaces {}; {landlock}; seccomp {} filter(s); cgroup memory={} pids={} cpu_millis={}",
        e.namespaces.join(","),
        e.seccomp_filters,
        show(lim.memory_bytes),
        show(lim.pids),
        show(lim.cpu_millis),
    )
}
