//! v1 controller files, on prepared group directories (as youki's `set_fixture`).

use std::fs;
use std::path::Path;
use std::time::Duration;

use super::*;

fn group_dir(files: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in files {
        fs::write(dir.path().join(f), "-1\n").unwrap();
    }
    dir
}

fn read(dir: &Path, file: &str) -> String {
    fs::read_to_string(dir.join(file)).unwrap()
}

#[test]
fn memory_sets_memsw_equal_so_swap_is_no_escape() {
    let dir = group_dir(&["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]);
    memory::apply(dir.path(), 64 << 20).unwrap();
    assert_eq!(read(dir.path(), "memory.limit_in_bytes"), "67108864");
    assert_eq!(read(dir.path(), "memory.memsw.limit_in_bytes"), "67108864");
}

#[test]
fn memory_without_swap_accounting_writes_only_the_limit() {
    let dir = group_dir(&["memory.limit_in_bytes"]);
    memory::apply(dir.path(), 1 << 30).unwrap();
    assert_eq!(read(dir.path(), "memory.limit_in_bytes"), "1073741824");
    assert!(!dir.path().join("memory.memsw.limit_in_bytes").exists());
}

#[test]
fn pids_max() {
    let dir = group_dir(&["pids.max"]);
    pids::apply(dir.path(), 16).unwrap();
    assert_eq!(read(dir.path(), "pids.max"), "16");
}

#[test]
fn cpu_period_and_quota() {
    let dir = group_dir(&["cpu.cfs_period_us", "cpu.cfs_quota_us"]);
    cpu::apply(dir.path(), 150_000).unwrap();
    assert_eq!(read(dir.path(), "cpu.cfs_period_us"), "100000");
    assert_eq!(read(dir.path(), "cpu.cfs_quota_us"), "150000");
}

#[test]
fn freezer_freezes_and_thaws() {
    let dir = group_dir(&["freezer.state"]);
    assert!(freezer::freeze(dir.path(), Duration::from_millis(50)).unwrap());
    assert_eq!(read(dir.path(), "freezer.state"), "FROZEN");
    freezer::thaw(dir.path()).unwrap();
    assert_eq!(read(dir.path(), "freezer.state"), "THAWED");
}

#[test]
fn usage_counters() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("memory.usage_in_bytes"), "12288\n").unwrap();
    fs::write(dir.path().join("pids.current"), "3\n").unwrap();
    fs::write(dir.path().join("cpuacct.usage"), "2500000\n").unwrap();
    assert_eq!(memory::usage(dir.path()).unwrap(), 12288);
    assert_eq!(pids::usage(dir.path()).unwrap(), 3);
    assert_eq!(cpu::usage_usec(dir.path()).unwrap(), 2500);
}

#[test]
fn write_to_a_missing_group_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let gone = dir.path().join("gone");
    let err = pids::apply(&gone, 16).unwrap_err();
    assert!(matches!(err, CgroupError::WriteLimit { .. }), "{err:?}");
    assert!(err.to_string().contains("gone/pids.max"), "{err}");
}
