//! v2 controller files and `cgroup.subtree_control` handling, on prepared directories.

use std::fs;
use std::path::Path;

use super::*;

fn read(dir: &Path, file: &str) -> String {
    fs::read_to_string(dir.join(file)).unwrap()
}

#[test]
fn memory_max_and_no_swap() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("memory.max"), "max\n").unwrap();
    fs::write(dir.path().join("memory.swap.max"), "max\n").unwrap();
    memory::apply(dir.path(), 64 << 20).unwrap();
    assert_eq!(read(dir.path(), "memory.max"), "67108864");
    assert_eq!(read(dir.path(), "memory.swap.max"), "0");
}

#[test]
fn memory_without_swap_accounting_writes_only_max() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("memory.max"), "max\n").unwrap();
    memory::apply(dir.path(), 64 << 20).unwrap();
    assert!(!dir.path().join("memory.swap.max").exists());
}

#[test]
fn pids_max() {
    let dir = tempfile::tempdir().unwrap();
    pids::apply(dir.path(), 16).unwrap();
    assert_eq!(read(dir.path(), "pids.max"), "16");
}

#[test]
fn cpu_max_is_quota_then_period() {
    let dir = tempfile::tempdir().unwrap();
    cpu::apply(dir.path(), 150_000).unwrap();
    assert_eq!(read(dir.path(), "cpu.max"), "150000 100000");
}

#[test]
fn usage_counters() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("memory.current"), "8192\n").unwrap();
    fs::write(dir.path().join("pids.current"), "2\n").unwrap();
    fs::write(
        dir.path().join("cpu.stat"),
        "usage_usec 1234\nuser_usec 1000\nsystem_usec 234\n",
    )
    .unwrap();
    assert_eq!(memory::usage(dir.path()).unwrap(), 8192);
    assert_eq!(pids::usage(dir.path()).unwrap(), 2);
    assert_eq!(cpu::usage_usec(dir.path()).unwrap(), Some(1234));
}

#[test]
fn cpu_stat_without_usage_is_a_parse_error() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("cpu.stat"), "nr_periods 0\n").unwrap();
    let err = cpu::usage_usec(dir.path()).unwrap_err();
    assert!(matches!(err, CgroupError::Parse { .. }), "{err:?}");
}

#[test]
fn enabled_controllers_are_not_written_again() {
    // The root's subtree_control is shared with the host: no write when nothing is missing.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cgroup.subtree_control");
    fs::write(&file, "cpu io memory pids\n").unwrap();
    enable_controllers(&file, &[Controller::Memory, Controller::Pids]).unwrap();
    assert_eq!(fs::read_to_string(&file).unwrap(), "cpu io memory pids\n");
}

#[test]
fn enabling_writes_plus_name_and_fails_closed_if_the_kernel_ignores_it() {
    // A plain file keeps "+pids" where the kernel would list "pids": the read-back sees the
    // controller missing, exactly as when the kernel refuses to enable it.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cgroup.subtree_control");
    fs::write(&file, "").unwrap();
    let err = enable_controllers(&file, &[Controller::Pids]).unwrap_err();
    assert_eq!(fs::read_to_string(&file).unwrap(), "+pids");
    match err {
        CgroupError::ControllerNotEnabled { controller, path } => {
            assert_eq!(controller, Controller::Pids);
            assert_eq!(path, file);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn no_controllers_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cgroup.subtree_control");
    enable_controllers(&file, &[]).unwrap();
    assert!(!file.exists());
}
