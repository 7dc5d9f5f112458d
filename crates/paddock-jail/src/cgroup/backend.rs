//! `CgroupBackend`: what a jail's groups in one cgroup version can do. `JailCgroup` holds one
//! backend per version in use (both on hybrid hosts) and combines them.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::error::CgroupError;
use super::fs;
use super::limits::{Plan, Usage};

/// A jail's groups in the v1 hierarchies or in the cgroup2 hierarchy.
pub(crate) trait CgroupBackend: fmt::Debug + Send + Sync {
    /// The group directories, one per hierarchy.
    fn dirs(&self) -> Vec<&Path>;

    /// Writes the limits its controllers serve, reading each back.
    fn apply(&self, plan: &Plan) -> Result<(), CgroupError>;

    /// First step of `kill_all`: v2 writes `cgroup.kill`, v1 freezes, SIGKILLs what is listed
    /// and thaws. `kill_all` then loops until every group is empty.
    fn start_kill(&self) -> Result<(), CgroupError>;

    /// Fills in the usage counters its controllers keep.
    fn usage(&self, usage: &mut Usage) -> Result<(), CgroupError>;

    /// The `cgroup.procs` file of each group.
    fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs().iter().map(|d| d.join("cgroup.procs")).collect()
    }

    /// Moves `pid` into every group.
    fn add_pid(&self, pid: i32) -> Result<(), CgroupError> {
        self.dirs().iter().try_for_each(|d| fs::add_pid(d, pid))
    }

    /// Removes every group directory, retrying busy ones until `deadline`, trying all of them;
    /// returns the first error.
    fn remove(&self, deadline: Instant) -> Result<(), CgroupError> {
        let mut first = Ok(());
        for dir in self.dirs() {
            let result = fs::rmdir_retry(dir, deadline);
            if first.is_ok() {
                first = result;
            }
        }
        first
    }
}
