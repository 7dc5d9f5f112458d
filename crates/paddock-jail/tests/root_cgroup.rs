//! Root tests of the cgroup layer on the real machine (v1, v2 or hybrid, whatever it has).
//!
//! Without root they print why and pass, unless `CI` is set, where they fail (STYLE rule 13).
//! Each test names its groups `roottest-cg-<pid>-<case>` and first reclaims the groups of
//! earlier runs whose pid is gone, so a crashed run leaves nothing behind for long.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus};
use std::thread::sleep;
use std::time::{Duration, Instant};

use paddock_jail::cgroup::{self, CgroupError, Hierarchies, JailCgroup, Limits};

const PREFIX: &str = "roottest-cg-";

fn have_root(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test} needs root to create cgroups, and CI is set: run the suite as root");
    }
    eprintln!("skipping {test}: needs root to create cgroups under /sys/fs/cgroup");
    false
}

/// Detects the host and removes empty `roottest-cg-<pid>-*` groups whose test process is gone.
/// Groups of other names (real jails) are always reported alive, so never touched.
fn setup_and_reclaim() -> Result<Hierarchies, CgroupError> {
    let setup = cgroup::detect()?;
    let report = cgroup::remove_stale(&setup, |name| {
        let Some(rest) = name.strip_prefix(PREFIX) else {
            return true;
        };
        let pid = rest.split('-').next().unwrap_or("");
        pid.is_empty() || Path::new("/proc").join(pid).exists()
    })?;
    if !report.removed.is_empty() {
        eprintln!("reclaimed leftovers of earlier runs: {:?}", report.removed);
    }
    Ok(setup)
}

fn unique_name(case: &str) -> String {
    format!("{PREFIX}{}-{case}", std::process::id())
}

fn read(dir: &Path, file: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(file))
        .ok()
        .map(|s| s.trim().to_owned())
}

/// The value of the first of `files` present in any of the jail's groups.
fn kernel_value(cg: &JailCgroup, files: &[&str]) -> String {
    cg.paths()
        .iter()
        .find_map(|d| files.iter().find_map(|f| read(d, f)))
        .unwrap_or_else(|| panic!("none of {files:?} in {:?}", cg.paths()))
}

fn spawn_sh(script: &str) -> std::io::Result<Child> {
    Command::new("sh").arg("-c").arg(script).spawn()
}

fn signal_of(status: ExitStatus) -> Option<i32> {
    status.signal()
}

#[test]
fn root_cgroup_limits_track_kill_and_remove() {
    if !have_root("root_cgroup_limits_track_kill_and_remove") {
        return;
    }
    let setup = setup_and_reclaim().unwrap();
    eprintln!("host cgroup setup: {:?}", setup.setup());
    let limits = Limits {
        memory_bytes: Some(64 << 20),
        pids: Some(16),
        cpu_millis: Some(500),
    };
    let cg = cgroup::create(&setup, &unique_name("main"), &limits).unwrap();

    // What the kernel holds, read independently of create()'s own read-back.
    assert_eq!(cg.enforced(), &limits);
    assert_eq!(
        kernel_value(&cg, &["memory.limit_in_bytes", "memory.max"]),
        "67108864"
    );
    assert_eq!(kernel_value(&cg, &["pids.max"]), "16");
    let cpu = kernel_value(&cg, &["cpu.cfs_quota_us", "cpu.max"]);
    assert!(cpu == "50000" || cpu == "50000 100000", "{cpu}");
    for d in cg.paths() {
        if let Some(memsw) = read(&d, "memory.memsw.limit_in_bytes") {
            assert_eq!(memsw, "67108864", "swap must not raise the limit");
        }
        if let Some(swap) = read(&d, "memory.swap.max") {
            assert_eq!(swap, "0");
        }
    }

    let mut child = Command::new("sleep").arg("5").spawn().unwrap();
    let pid = i32::try_from(child.id()).unwrap();
    cg.add_pid(pid).unwrap();
    assert_eq!(cg.pids().unwrap(), [pid]);
    let own = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(own.contains(&format!("/paddock/{}", cg.name())), "{own}");
    let usage = cg.usage().unwrap();
    assert!(usage.pids.is_some_and(|n| n >= 1), "{usage:?}");
    assert!(usage.memory_bytes.is_some(), "{usage:?}");

    let started = Instant::now();
    cg.kill_all().unwrap();
    eprintln!("kill_all took {:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(signal_of(child.wait().unwrap()), Some(9));
    assert!(cg.pids().unwrap().is_empty());

    let paths = cg.paths();
    cg.remove().unwrap();
    for p in &paths {
        assert!(!p.exists(), "{} left behind", p.display());
        assert!(p.parent().unwrap().is_dir(), "paddock/ parent must stay");
    }
}

#[test]
fn root_cgroup_blocks_fork_bomb_past_pids_max() {
    if !have_root("root_cgroup_blocks_fork_bomb_past_pids_max") {
        return;
    }
    let setup = setup_and_reclaim().unwrap();
    let limits = Limits {
        pids: Some(4),
        ..Limits::default()
    };
    let cg = cgroup::create(&setup, &unique_name("forkbomb"), &limits).unwrap();
    // The shell waits until it is in the group, then tries to start 12 background sleeps.
    let mut bomb =
        spawn_sh("sleep 0.3; for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 5 & done; wait")
            .unwrap();
    cg.add_pid(i32::try_from(bomb.id()).unwrap()).unwrap();
    sleep(Duration::from_millis(800));
    let pids = cg.pids().unwrap();
    let tasks = cg.usage().unwrap().pids.unwrap();
    // The exact denial: the kernel counted forks refused at pids.max ("max <count>").
    let refused = kernel_value(&cg, &["pids.events"]);
    cg.kill_all().unwrap();
    // dash exits by itself when fork fails; otherwise kill_all killed it.
    bomb.wait().unwrap();
    assert!(!pids.is_empty());
    assert!(
        pids.len() <= 4,
        "{} processes despite pids.max=4",
        pids.len()
    );
    assert!(tasks <= 4, "{tasks} tasks despite pids.max=4");
    let count: u64 = refused
        .strip_prefix("max ")
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("pids.events: {refused:?}"));
    assert!(count > 0, "no fork was refused: {refused:?}");
    cg.remove().unwrap();
}

#[test]
fn root_cgroup_refuses_a_second_jail_of_the_same_name() {
    if !have_root("root_cgroup_refuses_a_second_jail_of_the_same_name") {
        return;
    }
    let setup = setup_and_reclaim().unwrap();
    let name = unique_name("dup");
    let first = cgroup::create(&setup, &name, &Limits::default()).unwrap();
    let err = cgroup::create(&setup, &name, &Limits::default()).unwrap_err();
    assert!(matches!(err, CgroupError::AlreadyExists { .. }), "{err:?}");
    // The failed attempt must not have rolled back the first jail's groups.
    for p in first.paths() {
        assert!(
            p.is_dir(),
            "{} was removed by the failed create",
            p.display()
        );
    }
    first.remove().unwrap();
}
