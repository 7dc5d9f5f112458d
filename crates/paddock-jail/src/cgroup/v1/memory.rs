//! v1 memory controller: `memory.limit_in_bytes`, plus `memory.memsw.limit_in_bytes` (memory +
//! swap) set to the same value when swap accounting exists, so a jail cannot escape its memory
//! limit by swapping.

use std::path::Path;

use crate::cgroup::error::CgroupError;
use crate::cgroup::fs;

/// Sets the memory limit of the group at `dir` and verifies it.
pub(crate) fn apply(dir: &Path, bytes: u64) -> Result<(), CgroupError> {
    let value = bytes.to_string();
    // memsw must stay >= limit_in_bytes: a new group has both unlimited, so limit goes first.
    fs::write_verified(&dir.join("memory.limit_in_bytes"), &value)?;
    let memsw = dir.join("memory.memsw.limit_in_bytes");
    if fs::has_file(&memsw)? {
        fs::write_verified(&memsw, &value)?;
    }
    Ok(())
}

/// Current memory use in bytes.
pub(crate) fn usage(dir: &Path) -> Result<u64, CgroupError> {
    fs::read_u64(&dir.join("memory.usage_in_bytes"))
}
