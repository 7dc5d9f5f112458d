//! What a jail may use (`Limits`), what it used (`Usage`), and the checked plan the backends
//! write (`Plan`): validation and unit conversion are pure and happen before any file is touched.

use super::error::CgroupError;

/// CFS period used for CPU limits, in microseconds (the kernel default).
pub const CFS_PERIOD_US: u64 = 100_000;

/// Smallest CFS quota the kernel accepts, in microseconds.
const MIN_CFS_QUOTA_US: u64 = 1_000;

/// Resource limits of one jail. `None` means unlimited; a limit that is `Some` must be enforced
/// or `create` fails.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// Memory limit in bytes, rounded down to the page size as the kernel does. On v1 also the
    /// memory+swap limit (when swap accounting exists), on v2 `memory.swap.max` is 0: no swap.
    pub memory_bytes: Option<u64>,
    /// Maximum number of tasks (processes and threads).
    pub pids: Option<u64>,
    /// CPU bandwidth in thousandths of a CPU: 1500 = 1.5 CPUs (quota 150000 µs per 100000 µs).
    pub cpu_millis: Option<u64>,
}

/// What a jail's group has used so far; `None` where this host does not account it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Memory in use, in bytes.
    pub memory_bytes: Option<u64>,
    /// Tasks alive.
    pub pids: Option<u64>,
    /// CPU time consumed, in microseconds.
    pub cpu_usec: Option<u64>,
}

/// Limits checked and converted to the units the kernel files take.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Page-aligned bytes.
    pub(crate) memory_bytes: Option<u64>,
    /// Task count.
    pub(crate) pids: Option<u64>,
    /// CFS quota per [`CFS_PERIOD_US`].
    pub(crate) cpu_quota_us: Option<u64>,
}

impl Limits {
    /// Checks the limits and converts them for the kernel, given the host's page size.
    pub(crate) fn plan(&self, page_size: u64) -> Result<Plan, CgroupError> {
        let page_size = page_size.max(1);
        let memory_bytes = match self.memory_bytes {
            Some(b) if b < page_size => {
                return Err(CgroupError::InvalidLimit {
                    limit: "memory_bytes",
                    value: b,
                    reason: "less than one memory page",
                })
            }
            Some(b) => Some(b - b % page_size),
            None => None,
        };
        let pids = match self.pids {
            Some(0) => {
                return Err(CgroupError::InvalidLimit {
                    limit: "pids",
                    value: 0,
                    reason: "a jail needs at least one task",
                })
            }
            p => p,
        };
        let cpu_quota_us = match self.cpu_millis {
            Some(m) => Some(cpu_quota_us(m)?),
            None => None,
        };
        Ok(Plan {
            memory_bytes,
            pids,
            cpu_quota_us,
        })
    }

    /// The limits in force after `plan` (memory rounded to the page size).
    pub(crate) fn enforced(&self, plan: &Plan) -> Limits {
        Limits {
            memory_bytes: plan.memory_bytes,
            ..self.clone()
        }
    }
}

/// Converts thousandths of a CPU into a CFS quota per [`CFS_PERIOD_US`].
pub(crate) fn cpu_quota_us(millis: u64) -> Result<u64, CgroupError> {
    let invalid = |reason| CgroupError::InvalidLimit {
        limit: "cpu_millis",
        value: millis,
        reason,
    };
    let quota = millis
        .checked_mul(CFS_PERIOD_US / 1000)
        .ok_or_else(|| invalid("too large"))?;
    if quota < MIN_CFS_QUOTA_US {
        return Err(invalid(
            "below the kernel's minimum of 10 (1 ms per 100 ms period)",
        ));
    }
    Ok(quota)
}
