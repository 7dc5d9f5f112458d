//! Reclaiming groups left by jails that are gone (supervisor crash, failed `remove`).

use std::fs as stdfs;
use std::io;
use std::path::PathBuf;

use super::detect::Hierarchies;
use super::error::CgroupError;
use super::{fs, validate_name, PARENT};

/// What [`remove_stale`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StaleReport {
    /// Groups removed.
    pub removed: Vec<PathBuf>,
    /// Groups of dead jails that still hold processes or child groups, left in place: kill
    /// their processes, then call `remove_stale` again.
    pub busy: Vec<PathBuf>,
}

/// Removes every `paddock/<name>` group, in every hierarchy a jail would use, whose `name` the
/// caller says is not alive and which holds no processes. Entries that are not directories or
/// whose names Paddock would never give are left alone; nothing outside `paddock/` is touched.
pub fn remove_stale(
    setup: &Hierarchies,
    is_alive: impl Fn(&str) -> bool,
) -> Result<StaleReport, CgroupError> {
    let mut report = StaleReport::default();
    let roots = setup
        .v1_mounts()
        .into_iter()
        .map(|(mount, _)| mount)
        .chain(setup.v2_root().map(PathBuf::from));
    for root in roots {
        let parent = root.join(PARENT);
        for name in group_names(&parent)? {
            if is_alive(&name) {
                continue;
            }
            let dir = parent.join(&name);
            if !fs::read_procs(&dir.join("cgroup.procs"))?.is_empty() {
                report.busy.push(dir);
                continue;
            }
            match stdfs::remove_dir(&dir) {
                Ok(()) => report.removed.push(dir),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => report.busy.push(dir),
                Err(source) => return Err(CgroupError::Remove { path: dir, source }),
            }
        }
    }
    Ok(report)
}

/// Names of the jail groups directly under `parent`, sorted; none if `parent` does not exist.
fn group_names(parent: &std::path::Path) -> Result<Vec<String>, CgroupError> {
    let err = |source| CgroupError::ListGroups {
        path: parent.to_path_buf(),
        source,
    };
    let entries = match stdfs::read_dir(parent) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(err(e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(err)?;
        // file_type does not follow symlinks: a symlink is never taken for a group.
        if !entry.file_type().map_err(err)?.is_dir() {
            continue;
        }
        if let Some(name) = entry.file_name().to_str() {
            if validate_name(name).is_ok() {
                names.push(name.to_owned());
            }
        }
    }
    names.sort();
    Ok(names)
}
