//! cgroup v2 backend: one group, `<root>/paddock/<name>`.
//!
//! Controllers reach a v2 group only when every ancestor enables them for its children in
//! `cgroup.subtree_control`, so `create` enables ours in the root's file (adding only what is
//! missing: that file is shared with the rest of the host, and we never remove from it) and in
//! `paddock/`, which holds no processes of its own, as the no-internal-process rule requires.
//! The group is made even when cgroup2 serves none of our controllers (hybrid hosts): it tracks
//! the jail's processes and gives `cgroup.kill`, which kills the whole group atomically.

mod cpu;
mod memory;
mod pids;

use std::io;
use std::path::{Path, PathBuf};

use super::backend::CgroupBackend;
use super::detect::Controller;
use super::error::CgroupError;
use super::fs;
use super::limits::{Plan, Usage};
use super::PARENT;

/// A jail's group in the cgroup2 hierarchy.
#[derive(Debug)]
pub(crate) struct V2Group {
    dir: PathBuf,
    controllers: Vec<Controller>,
}

impl V2Group {
    /// Enables `controllers` down to `<root>/paddock/` and creates `<root>/paddock/<name>`.
    pub(crate) fn create(
        root: &Path,
        controllers: &[Controller],
        name: &str,
    ) -> Result<Self, CgroupError> {
        let parent = root.join(PARENT);
        enable_controllers(&root.join("cgroup.subtree_control"), controllers)?;
        fs::mkdir_shared(&parent)?;
        enable_controllers(&parent.join("cgroup.subtree_control"), controllers)?;
        let dir = parent.join(name);
        fs::mkdir_new(&dir)?;
        Ok(V2Group {
            dir,
            controllers: controllers.to_vec(),
        })
    }

    fn has(&self, controller: Controller) -> bool {
        self.controllers.contains(&controller)
    }
}

/// Enables `controllers` in a `cgroup.subtree_control` file: writes `+<name>` for each one not
/// listed yet, then reads the file back and fails unless all are listed.
pub(crate) fn enable_controllers(
    file: &Path,
    controllers: &[Controller],
) -> Result<(), CgroupError> {
    if controllers.is_empty() {
        return Ok(());
    }
    let read = || {
        fs::read_file(file).map_err(|source| CgroupError::ReadBack {
            path: file.to_path_buf(),
            source,
        })
    };
    let enabled = read()?;
    for &c in controllers {
        if !lists(&enabled, c) {
            fs::write_file(file, &format!("+{c}")).map_err(|source| {
                CgroupError::EnableController {
                    path: file.to_path_buf(),
                    controller: c,
                    source,
                }
            })?;
        }
    }
    let enabled = read()?;
    match controllers.iter().find(|&&c| !lists(&enabled, c)) {
        Some(&controller) => Err(CgroupError::ControllerNotEnabled {
            path: file.to_path_buf(),
            controller,
        }),
        None => Ok(()),
    }
}

fn lists(subtree_control: &str, controller: Controller) -> bool {
    subtree_control
        .split_whitespace()
        .any(|n| n == controller.name())
}

impl CgroupBackend for V2Group {
    fn dirs(&self) -> Vec<&Path> {
        vec![self.dir.as_path()]
    }

    fn apply(&self, plan: &Plan) -> Result<(), CgroupError> {
        if let (Some(bytes), true) = (plan.memory_bytes, self.has(Controller::Memory)) {
            memory::apply(&self.dir, bytes)?;
        }
        if let (Some(max), true) = (plan.pids, self.has(Controller::Pids)) {
            pids::apply(&self.dir, max)?;
        }
        if let (Some(quota), true) = (plan.cpu_quota_us, self.has(Controller::Cpu)) {
            cpu::apply(&self.dir, quota)?;
        }
        Ok(())
    }

    fn start_kill(&self) -> Result<(), CgroupError> {
        let kill = self.dir.join("cgroup.kill");
        if !fs::has_file(&kill)? {
            // Kernels before 5.14: signal what is listed; kill_all's loop catches new forks.
            return fs::kill_listed(&self.procs_files());
        }
        fs::write_file(&kill, "1").map_err(|source: io::Error| CgroupError::Kill {
            path: kill.clone(),
            pid: 0,
            source,
        })
    }

    fn usage(&self, usage: &mut Usage) -> Result<(), CgroupError> {
        if self.has(Controller::Memory) {
            usage.memory_bytes = Some(memory::usage(&self.dir)?);
        }
        if self.has(Controller::Pids) {
            usage.pids = Some(pids::usage(&self.dir)?);
        }
        if let Some(usec) = cpu::usage_usec(&self.dir)? {
            usage.cpu_usec = Some(usec);
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "../v2_tests.rs"]
mod tests;
