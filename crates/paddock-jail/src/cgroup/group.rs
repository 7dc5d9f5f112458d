//! `JailCgroup`: one jail's groups across every hierarchy, and `create`, which makes them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::unistd::{sysconf, SysconfVar};

use super::backend::CgroupBackend;
use super::detect::{Controller, Hierarchies};
use super::error::CgroupError;
use super::fs;
use super::limits::{Limits, Plan, Usage};
use super::v1::V1Group;
use super::v2::V2Group;
use super::{validate_name, KILL_TIMEOUT, REMOVE_BUDGET};

/// One jail's cgroup: `paddock/<name>` in every hierarchy that serves a controller Paddock
/// uses, plus the cgroup2 hierarchy when the host has one.
///
/// There is no `Drop`: a `JailCgroup` dropped without [`JailCgroup::remove`] leaves its groups
/// in the kernel (with whatever processes are in them). That is deliberate: removing needs the
/// processes gone, which can take time and can fail, and a destructor could neither wait nor
/// report it. Call [`JailCgroup::kill_all`] then [`JailCgroup::remove`]; after a crash,
/// [`remove_stale`](super::remove_stale) reclaims what was left.
#[derive(Debug)]
#[must_use = "a JailCgroup dropped without remove() leaks its kernel cgroups"]
pub struct JailCgroup {
    name: String,
    enforced: Limits,
    backends: Vec<Box<dyn CgroupBackend>>,
    /// The limits to write; kept so [`create_unlimited`] callers can apply them later.
    plan: Plan,
}

/// Creates the cgroup of jail `name` and applies `limits`, reading every limit back.
///
/// Fails closed: a limit for a controller the host lacks is [`CgroupError::MissingController`];
/// a value the kernel did not take exactly is [`CgroupError::LimitMismatch`]. A group of the
/// same name left by an earlier jail is [`CgroupError::AlreadyExists`]. On any failure the
/// groups made so far are removed.
pub fn create(setup: &Hierarchies, name: &str, limits: &Limits) -> Result<JailCgroup, CgroupError> {
    create_with_page_size(setup, name, limits, page_size())
}

/// [`create`] with the page size given, for tests.
pub(crate) fn create_with_page_size(
    setup: &Hierarchies,
    name: &str,
    limits: &Limits,
    page_size: u64,
) -> Result<JailCgroup, CgroupError> {
    let cgroup = create_unlimited_with_page_size(setup, name, limits, page_size)?;
    match cgroup.apply_limits() {
        Ok(()) => Ok(cgroup),
        Err(e) => {
            // Best effort: the error worth reporting is `e`; leftovers are remove_stale's.
            let _ = cgroup.remove_groups();
            Err(e)
        }
    }
}

/// Creates the groups of jail `name` (directories and, on v2, enabled controllers) but does
/// not write `limits` yet: call [`JailCgroup::apply_limits`] before anything runs in them.
/// This lets a caller clone a child straight into the groups and write the limits while the
/// child prepares, instead of before the clone. Validates `limits` and the controllers they
/// need up front, exactly as [`create`] does.
pub fn create_unlimited(
    setup: &Hierarchies,
    name: &str,
    limits: &Limits,
) -> Result<JailCgroup, CgroupError> {
    create_unlimited_with_page_size(setup, name, limits, page_size())
}

fn create_unlimited_with_page_size(
    setup: &Hierarchies,
    name: &str,
    limits: &Limits,
    page_size: u64,
) -> Result<JailCgroup, CgroupError> {
    validate_name(name)?;
    let plan = limits.plan(page_size)?;
    require_controllers(setup, &plan)?;
    let mut cgroup = JailCgroup {
        name: name.to_owned(),
        enforced: limits.enforced(&plan),
        backends: Vec::new(),
        plan,
    };
    match cgroup.build(setup) {
        Ok(()) => Ok(cgroup),
        Err(e) => {
            let _ = cgroup.remove_groups();
            Err(e)
        }
    }
}

/// Fails with the first controller a requested limit needs and the host lacks.
pub(crate) fn require_controllers(setup: &Hierarchies, plan: &Plan) -> Result<(), CgroupError> {
    let needed = [
        (plan.memory_bytes.is_some(), Controller::Memory),
        (plan.pids.is_some(), Controller::Pids),
        (plan.cpu_quota_us.is_some(), Controller::Cpu),
    ];
    match needed
        .into_iter()
        .find(|&(wanted, c)| wanted && setup.hierarchy(c).is_none())
    {
        Some((_, controller)) => Err(CgroupError::MissingController { controller }),
        None => Ok(()),
    }
}

/// Whether a v1 hierarchy serving `c` needs a group for this jail. Every group costs a
/// mkdir and an rmdir on each jail start. With a v2 group beside it (hybrid hosts), v2's
/// `cgroup.kill` replaces the v1 freezer and its `cpu.stat` replaces cpuacct, and the v1 cpu
/// group only matters when a CPU limit is set.
fn v1_group_needed(c: Controller, has_v2: bool, plan: &Plan) -> bool {
    match c {
        Controller::Memory | Controller::Pids => true,
        Controller::Cpu => plan.cpu_quota_us.is_some() || !has_v2,
        Controller::CpuAcct | Controller::Freezer => !has_v2,
    }
}

/// The host's page size; the kernel rounds memory limits down to it.
fn page_size() -> u64 {
    // A wrong guess cannot loosen a limit: the read-back would differ and create would fail.
    match sysconf(SysconfVar::PAGE_SIZE) {
        Ok(Some(size)) => u64::try_from(size).unwrap_or(4096),
        _ => 4096,
    }
}

impl JailCgroup {
    fn build(&mut self, setup: &Hierarchies) -> Result<(), CgroupError> {
        let plan = &self.plan;
        let has_v2 = setup.v2_root().is_some();
        let v1_mounts: Vec<_> = setup
            .v1_mounts()
            .into_iter()
            .filter(|(_, controllers)| {
                controllers
                    .iter()
                    .any(|&c| v1_group_needed(c, has_v2, plan))
            })
            .collect();
        if !v1_mounts.is_empty() {
            let group = V1Group::create(&v1_mounts, &self.name)?;
            self.backends.push(Box::new(group));
        }
        if let Some(root) = setup.v2_root() {
            // The cpu controller only when limited: enabling it fails on hosts running
            // realtime tasks, and `cpu.stat` reports usage without it.
            let controllers: Vec<Controller> = setup
                .v2_controllers()
                .into_iter()
                .filter(|&c| c != Controller::Cpu || plan.cpu_quota_us.is_some())
                .collect();
            let group = V2Group::create(root, &controllers, &self.name)?;
            self.backends.push(Box::new(group));
        }
        Ok(())
    }

    /// Writes the limits given at creation and reads each back; a value the kernel does not
    /// hold exactly is an error. [`create`] has already done this; after
    /// [`create_unlimited`] it must be called before anything runs in the groups.
    pub fn apply_limits(&self) -> Result<(), CgroupError> {
        self.backends.iter().try_for_each(|b| b.apply(&self.plan))
    }

    /// The jail name the groups are called by.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The limits the kernel holds, as read back (memory rounded down to the page size).
    pub fn enforced(&self) -> &Limits {
        &self.enforced
    }

    /// The group directories, one per hierarchy.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.backends
            .iter()
            .flat_map(|b| b.dirs())
            .map(Path::to_path_buf)
            .collect()
    }

    fn procs_files(&self) -> Vec<PathBuf> {
        self.backends.iter().flat_map(|b| b.procs_files()).collect()
    }

    /// Moves process `pid` (and, from then on, its children) into every group.
    pub fn add_pid(&self, pid: i32) -> Result<(), CgroupError> {
        self.backends.iter().try_for_each(|b| b.add_pid(pid))
    }

    /// The processes in the jail's groups (union over hierarchies), sorted.
    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        fs::read_all_procs(&self.procs_files())
    }

    /// Kills every process in the jail and waits, at most 2 s, until the groups are empty.
    /// v2 writes `cgroup.kill`; v1 freezes the group (when the freezer is mounted), sends
    /// SIGKILL to each listed process and thaws; then SIGKILL is repeated until nothing is
    /// listed. Fails with [`CgroupError::KillTimeout`] naming the pids that remain.
    pub fn kill_all(&self) -> Result<(), CgroupError> {
        self.kill_all_within(KILL_TIMEOUT)
    }

    pub(crate) fn kill_all_within(&self, timeout: Duration) -> Result<(), CgroupError> {
        // Fast path: a jail whose init has been reaped leaves its groups empty; freezing
        // and polling an empty group would only add latency to every jail's exit.
        if self.pids()?.is_empty() {
            return Ok(());
        }
        let deadline = Instant::now() + timeout;
        // cgroup.kill would not stop at the supervisor: check before any backend acts.
        fs::refuse_self(&self.procs_files())?;
        let mut first_error = None;
        for b in &self.backends {
            if let Err(e) = b.start_kill() {
                first_error.get_or_insert(e);
            }
        }
        match fs::kill_until_empty(&self.procs_files(), deadline) {
            // Every group is empty: an earlier step's failure did not matter.
            Ok(()) => Ok(()),
            Err(e) => Err(first_error.unwrap_or(e)),
        }
    }

    /// Removes the groups, retrying for up to 1 s while killed tasks finish exiting. The shared
    /// `paddock/` parents stay. Kill the processes first: the kernel refuses to remove a group
    /// that still has any.
    pub fn remove(self) -> Result<(), CgroupError> {
        self.remove_groups()
    }

    fn remove_groups(&self) -> Result<(), CgroupError> {
        let deadline = Instant::now() + REMOVE_BUDGET;
        let mut first = Ok(());
        for b in &self.backends {
            let result = b.remove(deadline);
            if first.is_ok() {
                first = result;
            }
        }
        first
    }

    /// Current memory, task and CPU use; `None` where the host does not account it.
    pub fn usage(&self) -> Result<Usage, CgroupError> {
        let mut usage = Usage::default();
        for b in &self.backends {
            b.usage(&mut usage)?;
        }
        Ok(usage)
    }
}
