//! v2 pids controller: `pids.max`.

use std::path::Path;

use crate::cgroup::error::CgroupError;
use crate::cgroup::fs;

/// Sets the task limit of the group at `dir` and verifies it.
pub(crate) fn apply(dir: &Path, max: u64) -> Result<(), CgroupError> {
    fs::write_verified(&dir.join("pids.max"), &max.to_string())
}

/// Current number of tasks.
pub(crate) fn usage(dir: &Path) -> Result<u64, CgroupError> {
    fs::read_u64(&dir.join("pids.current"))
}
