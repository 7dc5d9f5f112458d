//! Fake cgroupfs trees in a temp dir, for tests that run without root.
//!
//! A fake tree is plain directories and files: the code under test writes control files as it
//! would on cgroupfs and reads back what it wrote. What a plain filesystem cannot imitate is
//! emulated by the test explicitly: [`drop_control_files`] stands in for the kernel removing
//! a group's control files with its directory.

use std::fs;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use super::detect::{detect_with, Hierarchies};

/// Page size used by fake-tree tests.
pub(crate) const PAGE: u64 = 4096;

/// A temp dir holding fake hierarchies and a mount table describing them.
pub(crate) struct FakeTree {
    pub(crate) dir: TempDir,
    pub(crate) setup: Hierarchies,
}

impl FakeTree {
    /// Path of `rel` inside the tree.
    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Contents of `rel`, trimmed.
    pub(crate) fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel))
            .unwrap()
            .trim()
            .to_owned()
    }

    /// Writes `rel`, creating parent directories.
    pub(crate) fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
}

/// One mountinfo line for a cgroup mount at `mount`.
fn line(id: u32, mount: &Path, fstype: &str, opts: &str) -> String {
    format!(
        "{id} 31 0:{id} / {} rw,relatime shared:{id} - {fstype} {fstype} {opts}\n",
        mount.display()
    )
}

/// Builds a tree from `(relative mount point, fstype, super options)` and, for cgroup2, the
/// root's `cgroup.controllers` and `cgroup.subtree_control`.
fn build(mounts: &[(&str, &str, &str)], v2_controllers: &str, v2_enabled: &str) -> FakeTree {
    let dir = tempfile::tempdir().unwrap();
    let mut table = String::from("23 1 0:21 / / rw - ext4 /dev/vda1 rw\n");
    for (i, (rel, fstype, opts)) in mounts.iter().enumerate() {
        let mount = dir.path().join(rel);
        fs::create_dir_all(&mount).unwrap();
        if *fstype == "cgroup2" {
            fs::write(mount.join("cgroup.controllers"), v2_controllers).unwrap();
            fs::write(mount.join("cgroup.subtree_control"), v2_enabled).unwrap();
        }
        table.push_str(&line(32 + i as u32, &mount, fstype, opts));
    }
    let mountinfo = dir.path().join("mountinfo");
    fs::write(&mountinfo, table).unwrap();
    let setup = detect_with(&mountinfo).unwrap();
    FakeTree { dir, setup }
}

/// Pure v1 as systemd mounts it: `cpu,cpuacct` share a hierarchy.
pub(crate) fn fake_v1() -> FakeTree {
    build(
        &[
            ("cpu,cpuacct", "cgroup", "rw,cpu,cpuacct"),
            ("memory", "cgroup", "rw,memory"),
            ("pids", "cgroup", "rw,pids"),
            ("freezer", "cgroup", "rw,freezer"),
            ("systemd", "cgroup", "rw,xattr,name=systemd"),
        ],
        "",
        "",
    )
}

/// This machine's layout: one v1 hierarchy per controller, an empty cgroup2 at `unified`.
pub(crate) fn fake_hybrid() -> FakeTree {
    build(
        &[
            ("cpu", "cgroup", "rw,cpu"),
            ("cpuacct", "cgroup", "rw,cpuacct"),
            ("cpuset", "cgroup", "rw,cpuset"),
            ("memory", "cgroup", "rw,memory"),
            ("devices", "cgroup", "rw,devices"),
            ("freezer", "cgroup", "rw,freezer"),
            ("blkio", "cgroup", "rw,blkio"),
            ("pids", "cgroup", "rw,pids"),
            ("systemd", "cgroup", "rw,name=systemd"),
            ("unified", "cgroup2", "rw"),
        ],
        "hugetlb",
        "",
    )
}

/// Pure v2 with `controllers` available and already enabled in the root and in `paddock/`
/// (as after an earlier jail: a plain file cannot imitate the kernel parsing `+memory`).
pub(crate) fn fake_v2(controllers: &str) -> FakeTree {
    let tree = build(
        &[("v2", "cgroup2", "rw,nsdelegate")],
        controllers,
        controllers,
    );
    tree.write("v2/paddock/cgroup.subtree_control", controllers);
    tree
}

/// Stands in for the kernel: cgroupfs removes a group's control files with its directory,
/// a plain `rmdir` on the fake tree needs them gone first.
pub(crate) fn drop_control_files(dirs: &[PathBuf]) {
    for d in dirs {
        for entry in fs::read_dir(d).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                fs::remove_file(entry.path()).unwrap();
            }
        }
    }
}
