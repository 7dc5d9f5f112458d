//! v1 cpu controller (`cpu.cfs_period_us`, `cpu.cfs_quota_us`) and cpuacct usage
//! (`cpuacct.usage`).

use std::path::Path;

use crate::cgroup::error::CgroupError;
use crate::cgroup::fs;
use crate::cgroup::limits::CFS_PERIOD_US;

/// Sets the CFS bandwidth of the group at `dir` and verifies it.
pub(crate) fn apply(dir: &Path, quota_us: u64) -> Result<(), CgroupError> {
    // Period first: the kernel checks the quota against the period in force.
    fs::write_verified(&dir.join("cpu.cfs_period_us"), &CFS_PERIOD_US.to_string())?;
    fs::write_verified(&dir.join("cpu.cfs_quota_us"), &quota_us.to_string())
}

/// CPU time used, in microseconds, from a cpuacct group (which counts nanoseconds).
pub(crate) fn usage_usec(cpuacct_dir: &Path) -> Result<u64, CgroupError> {
    Ok(fs::read_u64(&cpuacct_dir.join("cpuacct.usage"))? / 1000)
}
