//! cgroup v1 backend: one group per hierarchy, `<mount>/paddock/<name>`, where `<mount>` is
//! each distinct hierarchy serving a controller we use (`cpu` and `cpuacct` often share one).

mod cpu;
mod freezer;
mod memory;
mod pids;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::backend::CgroupBackend;
use super::detect::Controller;
use super::error::CgroupError;
use super::fs;
use super::limits::{Plan, Usage};
use super::PARENT;

/// How long `kill_all` waits for the freezer before killing anyway.
const FREEZE_WAIT: Duration = Duration::from_millis(500);

/// A jail's groups in the v1 hierarchies.
#[derive(Debug)]
pub(crate) struct V1Group {
    dirs: Vec<V1Dir>,
}

#[derive(Debug)]
struct V1Dir {
    path: PathBuf,
    controllers: Vec<Controller>,
}

impl V1Group {
    /// Creates `<mount>/paddock/<name>` in each of `mounts` (mount point, controllers it
    /// serves). On failure removes what it created and returns the first error.
    pub(crate) fn create(
        mounts: &[(PathBuf, Vec<Controller>)],
        name: &str,
    ) -> Result<Self, CgroupError> {
        let mut group = V1Group { dirs: Vec::new() };
        for (mount, controllers) in mounts {
            let parent = mount.join(PARENT);
            let path = parent.join(name);
            if let Err(e) = fs::mkdir_shared(&parent).and_then(|()| fs::mkdir_new(&path)) {
                // Best effort, no retry (the new groups are empty): the error that matters is
                // `e`; leftovers are remove_stale's.
                let _ = group.remove(Instant::now());
                return Err(e);
            }
            group.dirs.push(V1Dir {
                path,
                controllers: controllers.clone(),
            });
        }
        Ok(group)
    }

    fn dir_of(&self, controller: Controller) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|d| d.controllers.contains(&controller))
            .map(|d| d.path.as_path())
    }
}

impl CgroupBackend for V1Group {
    fn dirs(&self) -> Vec<&Path> {
        self.dirs.iter().map(|d| d.path.as_path()).collect()
    }

    fn apply(&self, plan: &Plan) -> Result<(), CgroupError> {
        if let (Some(bytes), Some(dir)) = (plan.memory_bytes, self.dir_of(Controller::Memory)) {
            memory::apply(dir, bytes)?;
        }
        if let (Some(max), Some(dir)) = (plan.pids, self.dir_of(Controller::Pids)) {
            pids::apply(dir, max)?;
        }
        if let (Some(quota), Some(dir)) = (plan.cpu_quota_us, self.dir_of(Controller::Cpu)) {
            cpu::apply(dir, quota)?;
        }
        Ok(())
    }

    fn start_kill(&self) -> Result<(), CgroupError> {
        let files = self.procs_files();
        let Some(freezer_dir) = self.dir_of(Controller::Freezer) else {
            return fs::kill_listed(&files);
        };
        // Frozen tasks cannot fork while we list and kill them; SIGKILL takes effect on thaw.
        // A freeze that fails or times out only loses that protection: kill anyway, and
        // kill_all's loop judges the result.
        let _ = freezer::freeze(freezer_dir, FREEZE_WAIT);
        let killed = fs::kill_listed(&files);
        freezer::thaw(freezer_dir)?;
        killed
    }

    fn usage(&self, usage: &mut Usage) -> Result<(), CgroupError> {
        if let Some(dir) = self.dir_of(Controller::Memory) {
            usage.memory_bytes = Some(memory::usage(dir)?);
        }
        if let Some(dir) = self.dir_of(Controller::Pids) {
            usage.pids = Some(pids::usage(dir)?);
        }
        if let Some(dir) = self.dir_of(Controller::CpuAcct) {
            usage.cpu_usec = Some(cpu::usage_usec(dir)?);
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "../v1_tests.rs"]
mod tests;
