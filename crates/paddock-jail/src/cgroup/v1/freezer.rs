//! v1 freezer: freezing a group before killing it stops its tasks from forking new ones between
//! our reading `cgroup.procs` and sending `SIGKILL` (cgroup v2 has `cgroup.kill` for this).

use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::cgroup::error::CgroupError;
use crate::cgroup::fs;

/// Writes `FROZEN` and waits up to `wait` for the kernel to report `FROZEN`. Returns whether it
/// did: a task stuck in the kernel may keep the group `FREEZING`, and the caller kills anyway.
pub(crate) fn freeze(dir: &Path, wait: Duration) -> Result<bool, CgroupError> {
    let path = dir.join("freezer.state");
    let err = |source| CgroupError::Freeze {
        path: path.clone(),
        source,
    };
    fs::write_file(&path, "FROZEN").map_err(err)?;
    let deadline = Instant::now() + wait;
    loop {
        if fs::read_file(&path).map_err(err)? == "FROZEN" {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        sleep(fs::POLL);
    }
}

/// Writes `THAWED`: frozen tasks with a pending `SIGKILL` die as they thaw.
pub(crate) fn thaw(dir: &Path) -> Result<(), CgroupError> {
    let path = dir.join("freezer.state");
    fs::write_file(&path, "THAWED").map_err(|source| CgroupError::Freeze { path, source })
}
