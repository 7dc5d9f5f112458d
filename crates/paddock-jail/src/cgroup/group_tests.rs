//! `create`, `JailCgroup` and `remove_stale` on fake v1, hybrid and v2 trees.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::group::create_with_page_size;
use super::testutil::{drop_control_files, fake_hybrid, fake_v1, fake_v2, FakeTree, PAGE};
use super::*;

const LIMITS: Limits = Limits {
    memory_bytes: Some(64 << 20),
    pids: Some(16),
    cpu_millis: Some(1500),
};

fn create_in(tree: &FakeTree, name: &str, limits: &Limits) -> Result<JailCgroup, CgroupError> {
    create_with_page_size(&tree.setup, name, limits, PAGE)
}

fn remove_fake(cg: JailCgroup) {
    drop_control_files(&cg.paths());
    cg.remove().unwrap();
}

// ---- v1 ----

#[test]
fn v1_writes_every_limit_in_its_hierarchy() {
    let t = fake_v1();
    let cg = create_in(&t, "s1", &LIMITS).unwrap();
    assert_eq!(
        t.read("memory/paddock/s1/memory.limit_in_bytes"),
        "67108864"
    );
    assert_eq!(t.read("pids/paddock/s1/pids.max"), "16");
    assert_eq!(t.read("cpu,cpuacct/paddock/s1/cpu.cfs_period_us"), "100000");
    assert_eq!(t.read("cpu,cpuacct/paddock/s1/cpu.cfs_quota_us"), "150000");
    // cpu and cpuacct share one group; the freezer gets one; name=systemd does not.
    let mut paths = cg.paths();
    paths.sort();
    let mut expected: Vec<PathBuf> = ["cpu,cpuacct", "freezer", "memory", "pids"]
        .iter()
        .map(|m| t.path(m).join("paddock/s1"))
        .collect();
    expected.sort();
    assert_eq!(paths, expected);
    assert!(!t.path("systemd/paddock").exists());
    assert_eq!(cg.enforced(), &LIMITS);
    remove_fake(cg);
}

#[test]
fn v1_without_limits_still_creates_groups_and_writes_nothing() {
    let t = fake_v1();
    let cg = create_in(&t, "free", &Limits::default()).unwrap();
    assert_eq!(cg.paths().len(), 4);
    assert!(!t.path("memory/paddock/free/memory.limit_in_bytes").exists());
    assert!(!t.path("pids/paddock/free/pids.max").exists());
    remove_fake(cg);
}

#[test]
fn v1_add_pid_writes_every_hierarchy_and_pids_is_the_union() {
    let t = fake_v1();
    let cg = create_in(&t, "s1", &LIMITS).unwrap();
    cg.add_pid(4242).unwrap();
    for m in ["memory", "pids", "cpu,cpuacct", "freezer"] {
        assert_eq!(
            t.read(&format!("{m}/paddock/s1/cgroup.procs")),
            "4242",
            "{m}"
        );
    }
    t.write("memory/paddock/s1/cgroup.procs", "4242\n4243\n");
    assert_eq!(cg.pids().unwrap(), [4242, 4243]);
    remove_fake(cg);
}

#[test]
fn v1_usage_reads_memory_pids_and_cpuacct() {
    let t = fake_v1();
    let cg = create_in(&t, "s1", &Limits::default()).unwrap();
    t.write("memory/paddock/s1/memory.usage_in_bytes", "4096\n");
    t.write("pids/paddock/s1/pids.current", "2\n");
    t.write("cpu,cpuacct/paddock/s1/cpuacct.usage", "7000\n");
    let usage = cg.usage().unwrap();
    assert_eq!(
        usage,
        Usage {
            memory_bytes: Some(4096),
            pids: Some(2),
            cpu_usec: Some(7),
        }
    );
    remove_fake(cg);
}

#[test]
fn v1_kill_all_on_an_empty_group_returns_at_once_without_freezing() {
    let t = fake_v1();
    let cg = create_in(&t, "s1", &LIMITS).unwrap();
    let started = Instant::now();
    cg.kill_all().unwrap();
    // The common case (init already reaped) must not pay for a freeze or a poll: no write to
    // freezer.state at all is the proof; the time bound is only a loose sanity check (this
    // machine is shared and noisy).
    assert!(!t.path("freezer/paddock/s1/freezer.state").exists());
    assert!(started.elapsed() < Duration::from_millis(100));
    remove_fake(cg);
}

#[test]
fn v1_kill_all_sigkills_listed_processes_and_reports_survivors() {
    let t = fake_v1();
    let cg = create_in(&t, "s1", &LIMITS).unwrap();
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = i32::try_from(child.id()).unwrap();
    cg.add_pid(pid).unwrap();
    // The fake file keeps listing the pid after it dies, so kill_all must time out and say so.
    let started = Instant::now();
    let err = cg.kill_all_within(Duration::from_millis(100)).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    match &err {
        CgroupError::KillTimeout { remaining, .. } => assert_eq!(remaining, &[pid]),
        other => panic!("{other:?}"),
    }
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    remove_fake(cg);
}

#[test]
fn kill_all_refuses_to_kill_the_supervisor_itself() {
    let t = fake_v1();
    let cg = create_in(&t, "s1", &LIMITS).unwrap();
    let me = std::process::id().to_string();
    t.write("pids/paddock/s1/cgroup.procs", &me);
    let err = cg.kill_all_within(Duration::from_millis(50)).unwrap_err();
    assert!(matches!(err, CgroupError::KillSelf { .. }), "{err:?}");
    remove_fake(cg);
}

#[test]
fn kill_all_checks_for_the_supervisor_before_writing_cgroup_kill() {
    let t = fake_v2("cpu memory pids");
    let cg = create_in(&t, "s2", &LIMITS).unwrap();
    t.write("v2/paddock/s2/cgroup.kill", "");
    t.write(
        "v2/paddock/s2/cgroup.procs",
        &std::process::id().to_string(),
    );
    let err = cg.kill_all_within(Duration::from_millis(50)).unwrap_err();
    assert!(matches!(err, CgroupError::KillSelf { .. }), "{err:?}");
    assert_eq!(t.read("v2/paddock/s2/cgroup.kill"), "");
    t.write("v2/paddock/s2/cgroup.procs", "");
    remove_fake(cg);
}

#[test]
fn kill_all_rejects_pids_that_would_signal_a_process_group() {
    let t = fake_v1();
    let cg = create_in(&t, "s1", &LIMITS).unwrap();
    for bogus in ["0", "-1", "abc"] {
        t.write("pids/paddock/s1/cgroup.procs", bogus);
        let err = cg.kill_all_within(Duration::from_millis(50)).unwrap_err();
        assert!(matches!(err, CgroupError::Parse { .. }), "{bogus}: {err:?}");
    }
    t.write("pids/paddock/s1/cgroup.procs", "");
    remove_fake(cg);
}

#[test]
fn add_pid_refuses_the_supervisor_and_non_positive_pids() {
    let t = fake_v1();
    let cg = create_in(&t, "s1", &LIMITS).unwrap();
    let me = i32::try_from(std::process::id()).unwrap();
    for pid in [0, -1, me] {
        let err = cg.add_pid(pid).unwrap_err();
        assert!(matches!(err, CgroupError::AddPid { .. }), "{err:?}");
    }
    assert!(!t.path("memory/paddock/s1/cgroup.procs").exists());
    remove_fake(cg);
}

#[test]
fn remove_leaves_the_paddock_parent() {
    let t = fake_v1();
    let cg = create_in(&t, "s1", &LIMITS).unwrap();
    remove_fake(cg);
    for m in ["memory", "pids", "cpu,cpuacct", "freezer"] {
        assert!(!t.path(m).join("paddock/s1").exists(), "{m}");
        assert!(t.path(m).join("paddock").is_dir(), "{m}");
    }
}

#[test]
fn remove_of_a_busy_group_fails_naming_it() {
    let t = fake_v1();
    let cg = create_in(&t, "s1", &LIMITS).unwrap();
    // On the fake tree the control files make rmdir fail (ENOTEMPTY), as tasks would (EBUSY).
    let memory = t.path("memory/paddock/s1");
    let err = cg.remove().unwrap_err();
    assert!(matches!(err, CgroupError::Remove { .. }), "{err:?}");
    assert!(err.to_string().contains("paddock/s1"), "{err}");
    assert!(memory.exists());
}

// ---- creation failures ----

#[test]
fn a_leftover_group_is_never_reused() {
    let t = fake_v1();
    t.write("pids/paddock/s1/cgroup.procs", "777\n");
    let err = create_in(&t, "s1", &LIMITS).unwrap_err();
    assert!(matches!(err, CgroupError::AlreadyExists { .. }), "{err:?}");
    assert!(err.to_string().contains("remove_stale"), "{err}");
    // The groups made before the collision are rolled back; the old one is untouched.
    assert!(!t.path("memory/paddock/s1").exists());
    assert_eq!(t.read("pids/paddock/s1/cgroup.procs"), "777");
}

#[test]
fn a_limit_on_a_missing_controller_fails_closed_naming_it() {
    let t = fake_v2("cpu memory");
    let err = create_in(&t, "s1", &LIMITS).unwrap_err();
    match &err {
        CgroupError::MissingController { controller } => assert_eq!(*controller, Controller::Pids),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("pids"), "{err}");
    assert!(!t.path("v2/paddock/s1").exists());
    // Without the pids limit the same host is fine.
    let cg = create_in(
        &t,
        "s1",
        &Limits {
            pids: None,
            ..LIMITS
        },
    )
    .unwrap();
    remove_fake(cg);
}

#[test]
fn hostile_names_are_refused_before_touching_anything() {
    let t = fake_v1();
    let long = "a".repeat(65);
    for name in [
        "",
        "..",
        "../etc",
        "a/b",
        ".hidden",
        "a b",
        "é",
        "x\0",
        long.as_str(),
    ] {
        let err = create_in(&t, name, &LIMITS).unwrap_err();
        assert!(
            matches!(err, CgroupError::InvalidName { .. }),
            "{name:?}: {err:?}"
        );
    }
    assert!(!t.path("memory/paddock").exists());
    validate_name(&"a".repeat(64)).unwrap();
    validate_name("Session_42-b").unwrap();
}

#[test]
fn invalid_limits_are_refused_before_touching_anything() {
    let t = fake_v1();
    let bad = [
        Limits {
            memory_bytes: Some(100),
            ..Limits::default()
        },
        Limits {
            pids: Some(0),
            ..Limits::default()
        },
        Limits {
            cpu_millis: Some(5),
            ..Limits::default()
        },
        Limits {
            cpu_millis: Some(u64::MAX),
            ..Limits::default()
        },
    ];
    for limits in bad {
        let err = create_in(&t, "s1", &limits).unwrap_err();
        assert!(
            matches!(err, CgroupError::InvalidLimit { .. }),
            "{limits:?}: {err:?}"
        );
    }
    assert!(!t.path("memory/paddock").exists());
}

#[test]
fn memory_is_rounded_down_to_the_page_size_as_the_kernel_does() {
    let t = fake_v1();
    let limits = Limits {
        memory_bytes: Some(3 * PAGE + 100),
        ..Limits::default()
    };
    let cg = create_in(&t, "s1", &limits).unwrap();
    assert_eq!(t.read("memory/paddock/s1/memory.limit_in_bytes"), "12288");
    assert_eq!(cg.enforced().memory_bytes, Some(3 * PAGE));
    remove_fake(cg);
}

#[test]
fn cpu_millis_convert_to_a_quota_per_100ms() {
    assert_eq!(limits::cpu_quota_us(1500).unwrap(), 150_000);
    assert_eq!(limits::cpu_quota_us(500).unwrap(), 50_000);
    assert_eq!(limits::cpu_quota_us(10).unwrap(), 1_000);
    assert!(limits::cpu_quota_us(9).is_err());
}

#[test]
fn a_read_back_that_differs_is_an_error_naming_file_and_values() {
    let path = Path::new("/sys/fs/cgroup/memory/paddock/s1/memory.limit_in_bytes");
    fs::check_read_back(path, "67108864", "67108864\n").unwrap();
    let err = fs::check_read_back(path, "67108864", "9223372036854771712").unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, CgroupError::LimitMismatch { .. }), "{err:?}");
    assert!(
        msg.contains("memory.limit_in_bytes") && msg.contains("67108864"),
        "{msg}"
    );
}

// ---- v2 ----

#[test]
fn v2_writes_every_limit_in_one_group() {
    let t = fake_v2("cpu memory pids");
    let cg = create_in(&t, "s2", &LIMITS).unwrap();
    assert_eq!(cg.paths(), [t.path("v2/paddock/s2")]);
    assert_eq!(t.read("v2/paddock/s2/memory.max"), "67108864");
    assert_eq!(t.read("v2/paddock/s2/pids.max"), "16");
    assert_eq!(t.read("v2/paddock/s2/cpu.max"), "150000 100000");
    // Already enabled: the shared root file is not rewritten.
    assert_eq!(t.read("v2/cgroup.subtree_control"), "cpu memory pids");
    cg.add_pid(4242).unwrap();
    assert_eq!(t.read("v2/paddock/s2/cgroup.procs"), "4242");
    assert_eq!(cg.pids().unwrap(), [4242]);
    t.write("v2/paddock/s2/cgroup.procs", "");
    remove_fake(cg);
}

#[test]
fn v2_kill_all_writes_cgroup_kill() {
    let t = fake_v2("cpu memory pids");
    let cg = create_in(&t, "s2", &LIMITS).unwrap();
    t.write("v2/paddock/s2/cgroup.kill", "");
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = i32::try_from(child.id()).unwrap();
    cg.add_pid(pid).unwrap();
    // The fake cgroup.procs keeps listing the pid, so the call times out after writing
    // cgroup.kill and SIGKILLing the listed process.
    let err = cg.kill_all_within(Duration::from_millis(50)).unwrap_err();
    assert!(matches!(err, CgroupError::KillTimeout { .. }), "{err:?}");
    assert_eq!(t.read("v2/paddock/s2/cgroup.kill"), "1");
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    remove_fake(cg);
}

#[test]
fn v2_usage_reads_current_counters_and_cpu_stat() {
    let t = fake_v2("cpu memory pids");
    let cg = create_in(&t, "s2", &LIMITS).unwrap();
    t.write("v2/paddock/s2/memory.current", "8192\n");
    t.write("v2/paddock/s2/pids.current", "1\n");
    t.write("v2/paddock/s2/cpu.stat", "usage_usec 99\nuser_usec 90\n");
    let usage = cg.usage().unwrap();
    assert_eq!(
        usage,
        Usage {
            memory_bytes: Some(8192),
            pids: Some(1),
            cpu_usec: Some(99),
        }
    );
    remove_fake(cg);
}

#[test]
fn v2_controller_not_enabled_by_the_kernel_fails_closed_and_rolls_back() {
    let t = fake_v2("cpu memory pids");
    // paddock/ lacks pids and a plain file cannot enable it: the read-back must catch that.
    t.write("v2/paddock/cgroup.subtree_control", "cpu memory");
    let err = create_in(&t, "s2", &LIMITS).unwrap_err();
    assert!(
        matches!(err, CgroupError::ControllerNotEnabled { .. }),
        "{err:?}"
    );
    assert!(!t.path("v2/paddock/s2").exists());
}

// ---- hybrid (this machine's layout) ----

#[test]
fn hybrid_limits_go_to_v1_and_the_jail_also_gets_a_v2_group() {
    let t = fake_hybrid();
    let cg = create_in(&t, "h1", &LIMITS).unwrap();
    assert_eq!(
        t.read("memory/paddock/h1/memory.limit_in_bytes"),
        "67108864"
    );
    assert_eq!(t.read("pids/paddock/h1/pids.max"), "16");
    assert_eq!(t.read("cpu/paddock/h1/cpu.cfs_quota_us"), "150000");
    // v2's cgroup.kill and cpu.stat stand in for the v1 freezer and cpuacct groups.
    assert!(!t.path("cpuacct/paddock/h1").exists());
    assert!(!t.path("freezer/paddock/h1").exists());
    assert!(!t.path("cpuset/paddock").exists());
    assert!(!t.path("devices/paddock").exists());
    // The v2 group serves no controller: no limit files, root subtree_control untouched.
    assert!(t.path("unified/paddock/h1").is_dir());
    assert!(!t.path("unified/paddock/h1/memory.max").exists());
    assert_eq!(t.read("unified/cgroup.subtree_control"), "");
    cg.add_pid(4242).unwrap();
    assert_eq!(t.read("unified/paddock/h1/cgroup.procs"), "4242");
    assert_eq!(t.read("cpu/paddock/h1/cgroup.procs"), "4242");
    assert_eq!(cg.paths().len(), 4);
    for p in cg.paths() {
        std::fs::write(p.join("cgroup.procs"), "").unwrap();
    }
    remove_fake(cg);
    assert!(!t.path("unified/paddock/h1").exists());
}

#[test]
fn hybrid_without_a_cpu_limit_makes_no_v1_cpu_group() {
    let t = fake_hybrid();
    let limits = Limits {
        cpu_millis: None,
        ..LIMITS
    };
    let cg = create_in(&t, "h2", &limits).unwrap();
    assert!(!t.path("cpu/paddock/h2").exists());
    assert!(t.path("memory/paddock/h2").is_dir());
    assert!(t.path("pids/paddock/h2").is_dir());
    assert_eq!(cg.paths().len(), 3);
    for p in cg.paths() {
        std::fs::write(p.join("cgroup.procs"), "").unwrap();
    }
    remove_fake(cg);
}

// ---- remove_stale ----

#[test]
fn remove_stale_removes_only_dead_empty_groups() {
    let t = fake_hybrid();
    for m in ["memory", "unified"] {
        std::fs::create_dir_all(t.path(m).join("paddock/dead")).unwrap();
        std::fs::create_dir_all(t.path(m).join("paddock/alive")).unwrap();
        std::fs::create_dir_all(t.path(m).join("paddock/not.ours")).unwrap();
    }
    t.write("pids/paddock/busy/cgroup.procs", "4242\n");
    t.write("memory/paddock/cgroup.procs", "");
    std::os::unix::fs::symlink(t.path("cpuset"), t.path("memory/paddock/link")).unwrap();

    let report = remove_stale(&t.setup, |name| name == "alive").unwrap();

    let mut removed = report.removed.clone();
    removed.sort();
    assert_eq!(
        removed,
        [
            t.path("memory/paddock/dead"),
            t.path("unified/paddock/dead")
        ]
    );
    assert_eq!(report.busy, [t.path("pids/paddock/busy")]);
    for kept in [
        "memory/paddock/alive",
        "unified/paddock/alive",
        "memory/paddock/not.ours",
        "pids/paddock/busy",
        "memory/paddock/cgroup.procs",
        "memory/paddock/link",
    ] {
        assert!(
            t.path(kept).symlink_metadata().is_ok(),
            "{kept} was removed"
        );
    }
    assert!(t.path("cpuset").is_dir());
}

#[test]
fn remove_stale_without_any_paddock_dir_is_a_no_op() {
    let t = fake_v1();
    assert_eq!(
        remove_stale(&t.setup, |_| false).unwrap(),
        StaleReport::default()
    );
}

#[test]
fn remove_stale_reclaims_what_a_dropped_jail_leaked() {
    let t = fake_v2("cpu memory pids");
    let cg = create_in(&t, "leak", &LIMITS).unwrap();
    let paths = cg.paths();
    drop(cg);
    assert!(paths[0].is_dir());
    drop_control_files(&paths);
    let report = remove_stale(&t.setup, |_| false).unwrap();
    assert_eq!(report.removed, paths);
}

#[test]
fn errors_say_what_failed_on_which_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = fs::mkdir_new(&dir.path().join("no/such/paddock/s1")).unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("cannot create cgroup directory"), "{msg}");
    assert!(
        msg.contains("no/such/paddock/s1") && msg.contains("read-write"),
        "{msg}"
    );
}
