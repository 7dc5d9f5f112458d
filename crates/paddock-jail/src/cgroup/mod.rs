//! Resource limits and process tracking for jails, through the kernel's cgroups.
//!
//! # Why it exists
//!
//! A jail's namespaces, Landlock and seccomp say what its processes may touch; cgroups say how
//! much they may use (memory, tasks, CPU) and give the supervisor a handle on every process the
//! jail ever starts, so that stopping a jail kills all of it, forks included.
//!
//! # What it owns
//!
//! Exactly the groups named `paddock/<name>` under each hierarchy it uses, and the shared
//! `paddock/` parents (created on demand, never removed). It runs in the supervisor (root),
//! in ordinary code, never after `fork` in a child:
//!
//! ```no_run
//! use paddock_jail::cgroup::{self, Limits};
//! # fn main() -> Result<(), paddock_jail::cgroup::CgroupError> {
//! let setup = cgroup::detect()?;
//! let limits = Limits { memory_bytes: Some(1 << 30), pids: Some(512), cpu_millis: Some(1500) };
//! let jail = cgroup::create(&setup, "s-42", &limits)?;
//! jail.add_pid(4242)?;          // the jail's init, before it execs
//! // ... later, on stop:
//! jail.kill_all()?;
//! jail.remove()?;
//! # Ok(()) }
//! ```
//!
//! # What it must never do
//!
//! - Touch a group outside `paddock/`: it only ever writes below `<hierarchy>/paddock/`, with
//!   one exception, adding (never removing) our controllers to the cgroup2 root's
//!   `cgroup.subtree_control`, without which v2 limits cannot exist.
//! - Run a jail with a weaker limit than asked: every limit is read back after writing, and a
//!   limit for a controller the host lacks is an error naming the controller (fail closed).
//! - Reuse a group that already exists: it may hold an old jail's processes.
//! - Signal anything it did not read from a jail's `cgroup.procs`, or the supervisor itself.
//!
//! # Layout
//!
//! [`detect`] reads the mount table once and classifies the host as [`CgroupSetup`] `Legacy`,
//! `Hybrid` or `Unified`, choosing per controller the hierarchy that serves it: a v1 hierarchy
//! mounted for it wins, else cgroup2 if its root lists the controller. Two backends implement
//! one internal `CgroupBackend` trait, with one file per controller per version, and take the
//! hierarchy root as a parameter so unit tests run on a temp-dir fake cgroupfs:
//!
//! - v1 (`v1/`): a group in each distinct hierarchy, `<mount>/paddock/<name>`;
//!   `memory.limit_in_bytes` and `memory.memsw.limit_in_bytes` (equal, when swap accounting
//!   exists, so swap is no escape), `pids.max`, `cpu.cfs_period_us` = 100000 and
//!   `cpu.cfs_quota_us`; the freezer, when mounted, stops forks while `kill_all` works.
//! - v2 (`v2/`): one group, `<root>/paddock/<name>`. Its controllers are enabled for children
//!   in the root's and in `paddock/`'s `cgroup.subtree_control` (`paddock/` never holds
//!   processes, as v2's no-internal-process rule requires; `cpu` only when a CPU limit is set).
//!   It writes `memory.max`, `memory.swap.max` = 0 (when swap accounting exists), `pids.max`
//!   and `cpu.max` = `"<quota> 100000"`; `kill_all` writes `cgroup.kill` (Linux 5.14+), which
//!   kills the whole group atomically. On hybrid hosts the jail gets a v2 group too, even when
//!   cgroup2 serves none of our controllers, for `cgroup.kill` and the core `cpu.stat`.
//!
//! A [`JailCgroup`] has no `Drop`: one that is not [`JailCgroup::remove`]d leaks its groups
//! until [`remove_stale`] reclaims them (see the type's documentation).

mod backend;
mod detect;
mod error;
mod fs;
mod group;
mod limits;
mod stale;
mod v1;
mod v2;

#[cfg(test)]
mod testutil;

#[cfg(test)]
#[path = "group_tests.rs"]
mod group_tests;

use std::time::Duration;

pub use detect::{detect, detect_with, CgroupSetup, Controller, Hierarchies, Hierarchy};
pub use error::CgroupError;
pub use group::{create, create_unlimited, JailCgroup};
pub use limits::{Limits, Usage, CFS_PERIOD_US};
pub use stale::{remove_stale, StaleReport};

/// Directory under each hierarchy root that holds every jail's group (STYLE rule 14: kernel
/// objects carry a `paddock` prefix so reconciliation finds them).
pub const PARENT: &str = "paddock";

/// Longest accepted jail name.
pub const MAX_NAME_LEN: usize = 64;

/// How long `kill_all` keeps killing before it reports the processes that remain.
const KILL_TIMEOUT: Duration = Duration::from_secs(2);

/// How long `remove` retries `rmdir` while killed tasks finish exiting.
const REMOVE_BUDGET: Duration = Duration::from_secs(1);

/// Checks a jail name: 1 to [`MAX_NAME_LEN`] characters from `A-Z a-z 0-9 _ -`. No `.` at all,
/// so never `..`; no `/`, so the name is always one path component under `paddock/`.
pub fn validate_name(name: &str) -> Result<(), CgroupError> {
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name.len() > MAX_NAME_LEN {
        Some("it is longer than 64 characters")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        Some("it contains a character other than A-Z a-z 0-9 _ -")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(CgroupError::InvalidName {
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}
