//! v2 memory controller: `memory.max`, and `memory.swap.max` = 0 when swap accounting exists,
//! so a jail cannot escape its memory limit by swapping.

use std::path::Path;

use crate::cgroup::error::CgroupError;
use crate::cgroup::fs;

/// Sets the memory limit of the group at `dir` and verifies it.
pub(crate) fn apply(dir: &Path, bytes: u64) -> Result<(), CgroupError> {
    fs::write_verified(&dir.join("memory.max"), &bytes.to_string())?;
    let swap = dir.join("memory.swap.max");
    if fs::has_file(&swap)? {
        fs::write_verified(&swap, "0")?;
    }
    Ok(())
}

/// Current memory use in bytes.
pub(crate) fn usage(dir: &Path) -> Result<u64, CgroupError> {
    fs::read_u64(&dir.join("memory.current"))
}
