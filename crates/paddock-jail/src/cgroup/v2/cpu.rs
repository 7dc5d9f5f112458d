//! v2 cpu controller: `cpu.max` ("$QUOTA $PERIOD"), and usage from the core `cpu.stat`, which
//! every v2 group has even without the cpu controller.

use std::path::Path;

use crate::cgroup::error::CgroupError;
use crate::cgroup::fs;
use crate::cgroup::limits::CFS_PERIOD_US;

/// Sets the CPU bandwidth of the group at `dir` and verifies it.
pub(crate) fn apply(dir: &Path, quota_us: u64) -> Result<(), CgroupError> {
    fs::write_verified(&dir.join("cpu.max"), &format!("{quota_us} {CFS_PERIOD_US}"))
}

/// CPU time used, in microseconds; `None` on kernels without `cpu.stat` in every group.
pub(crate) fn usage_usec(dir: &Path) -> Result<Option<u64>, CgroupError> {
    let stat = dir.join("cpu.stat");
    if !fs::has_file(&stat)? {
        return Ok(None);
    }
    fs::read_keyed_u64(&stat, "usage_usec").map(Some)
}
