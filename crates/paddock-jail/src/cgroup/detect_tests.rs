use std::path::{Path, PathBuf};

use super::*;
use crate::cgroup::testutil::{fake_hybrid, fake_v1, fake_v2};

/// This machine: v1 controllers one per hierarchy, an empty cgroup2 at `unified`.
const HYBRID: &str = "\
22 1 0:20 / / rw,relatime - ext4 /dev/vda rw
23 22 0:21 / /sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

/// systemd on a legacy host (e.g. EL7): `cpu,cpuacct` and `net_cls,net_prio` share hierarchies.
const LEGACY: &str = "\
25 21 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
28 25 0:25 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,net_cls,net_prio
29 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpu,cpuacct
30 25 0:27 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory
31 25 0:28 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,pids
32 25 0:29 / /sys/fs/cgroup/freezer rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,freezer
";

/// A current distribution: cgroup2 only.
const UNIFIED: &str = "\
26 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";
const UNIFIED_CONTROLLERS: &str = "cpuset cpu io memory hugetlb pids rdma misc\n";

fn v1(mount: &str) -> Hierarchy {
    Hierarchy::V1 {
        mount: PathBuf::from(mount),
    }
}

fn v2(root: &str) -> Hierarchy {
    Hierarchy::V2 {
        root: PathBuf::from(root),
    }
}

fn hierarchies(mountinfo: &str, v2_controllers: &str) -> Hierarchies {
    Hierarchies::from_mounts(&parse_mountinfo(mountinfo), v2_controllers).unwrap()
}

#[test]
fn parses_only_cgroup_mounts_in_order() {
    let mounts = parse_mountinfo(HYBRID);
    assert_eq!(mounts.len(), 10);
    assert_eq!(mounts[0].mount_point, Path::new("/sys/fs/cgroup/cpu"));
    assert_eq!(mounts[0].v1_controllers, Some(vec!["cpu".to_owned()]));
    // name=systemd is a named hierarchy, not a controller.
    assert_eq!(mounts[8].v1_controllers, Some(vec![]));
    assert_eq!(mounts[9].mount_point, Path::new("/sys/fs/cgroup/unified"));
    assert_eq!(mounts[9].v1_controllers, None);
}

#[test]
fn hybrid_this_machine_serves_everything_from_v1() {
    let h = hierarchies(HYBRID, "hugetlb\n");
    assert_eq!(h.setup(), CgroupSetup::Hybrid);
    assert_eq!(h.v2_root(), Some(Path::new("/sys/fs/cgroup/unified")));
    assert_eq!(
        h.hierarchy(Controller::Memory),
        Some(&v1("/sys/fs/cgroup/memory"))
    );
    assert_eq!(
        h.hierarchy(Controller::Pids),
        Some(&v1("/sys/fs/cgroup/pids"))
    );
    assert_eq!(
        h.hierarchy(Controller::Cpu),
        Some(&v1("/sys/fs/cgroup/cpu"))
    );
    assert_eq!(
        h.hierarchy(Controller::CpuAcct),
        Some(&v1("/sys/fs/cgroup/cpuacct"))
    );
    assert_eq!(
        h.hierarchy(Controller::Freezer),
        Some(&v1("/sys/fs/cgroup/freezer"))
    );
    assert!(h.v2_controllers().is_empty());
    // One group per distinct hierarchy, cpuset/devices/blkio untouched.
    let mounts: Vec<PathBuf> = h.v1_mounts().into_iter().map(|(m, _)| m).collect();
    assert_eq!(
        mounts,
        [
            "/sys/fs/cgroup/memory",
            "/sys/fs/cgroup/pids",
            "/sys/fs/cgroup/cpu",
            "/sys/fs/cgroup/cpuacct",
            "/sys/fs/cgroup/freezer"
        ]
        .map(PathBuf::from)
    );
}

#[test]
fn hybrid_uses_cgroup2_for_a_controller_no_v1_hierarchy_serves() {
    let without_memory: String =
        HYBRID
            .lines()
            .filter(|l| !l.contains("memory"))
            .fold(String::new(), |mut s, l| {
                s.push_str(l);
                s.push('\n');
                s
            });
    let h = hierarchies(&without_memory, "memory hugetlb");
    assert_eq!(h.setup(), CgroupSetup::Hybrid);
    assert_eq!(
        h.hierarchy(Controller::Memory),
        Some(&v2("/sys/fs/cgroup/unified"))
    );
    assert_eq!(h.v2_controllers(), [Controller::Memory]);
}

#[test]
fn v1_wins_over_cgroup2_for_the_same_controller() {
    // A kernel never lists a v1-bound controller in cgroup.controllers; if a table says both,
    // the v1 hierarchy (where the limit is really enforced) is the one we use.
    let h = hierarchies(HYBRID, "memory pids cpu");
    assert_eq!(
        h.hierarchy(Controller::Memory),
        Some(&v1("/sys/fs/cgroup/memory"))
    );
    assert!(h.v2_controllers().is_empty());
}

#[test]
fn legacy_shares_one_group_between_cpu_and_cpuacct() {
    let h = hierarchies(LEGACY, "");
    assert_eq!(h.setup(), CgroupSetup::Legacy);
    assert_eq!(h.v2_root(), None);
    assert_eq!(
        h.hierarchy(Controller::Cpu),
        Some(&v1("/sys/fs/cgroup/cpu,cpuacct"))
    );
    assert_eq!(
        h.hierarchy(Controller::CpuAcct),
        Some(&v1("/sys/fs/cgroup/cpu,cpuacct"))
    );
    let mounts = h.v1_mounts();
    assert_eq!(mounts.len(), 4);
    assert!(mounts.contains(&(
        PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"),
        vec![Controller::Cpu, Controller::CpuAcct]
    )));
}

#[test]
fn unified_serves_memory_pids_cpu_and_has_no_v1_only_controllers() {
    let h = hierarchies(UNIFIED, UNIFIED_CONTROLLERS);
    assert_eq!(h.setup(), CgroupSetup::Unified);
    for c in [Controller::Memory, Controller::Pids, Controller::Cpu] {
        assert_eq!(h.hierarchy(c), Some(&v2("/sys/fs/cgroup")), "{c}");
    }
    assert_eq!(h.hierarchy(Controller::CpuAcct), None);
    assert_eq!(h.hierarchy(Controller::Freezer), None);
    assert!(h.v1_mounts().is_empty());
}

#[test]
fn unified_without_pids_controller_reports_it_missing() {
    let h = hierarchies(UNIFIED, "cpu memory");
    assert_eq!(h.hierarchy(Controller::Pids), None);
}

#[test]
fn named_v1_hierarchy_alone_does_not_make_a_host_hybrid() {
    let table =
        format!("{UNIFIED}40 26 0:37 / /run/systemd/legacy rw - cgroup cgroup rw,name=systemd\n");
    assert_eq!(hierarchies(&table, "").setup(), CgroupSetup::Unified);
}

#[test]
fn first_mount_of_a_hierarchy_wins() {
    let table = format!("{LEGACY}50 1 0:27 / /srv/ctr/memory rw - cgroup cgroup rw,memory\n");
    let h = hierarchies(&table, "");
    assert_eq!(
        h.hierarchy(Controller::Memory),
        Some(&v1("/sys/fs/cgroup/memory"))
    );
}

#[test]
fn mount_points_are_unescaped() {
    let table = "30 25 0:27 / /mnt/my\\040cgroups\\134x rw - cgroup cgroup rw,memory\n";
    assert_eq!(
        parse_mountinfo(table)[0].mount_point,
        Path::new("/mnt/my cgroups\\x")
    );
}

#[test]
fn garbage_lines_are_skipped() {
    let table = format!("nonsense\n1 2 3\n- cgroup\n{UNIFIED}");
    assert_eq!(parse_mountinfo(&table).len(), 1);
}

#[test]
fn no_cgroup_mounts_is_none() {
    let table = "22 1 0:20 / / rw,relatime - ext4 /dev/vda rw\n";
    assert_eq!(Hierarchies::from_mounts(&parse_mountinfo(table), ""), None);
}

#[test]
fn detect_with_missing_table_names_the_file() {
    let err = detect_with(Path::new("/nonexistent/mountinfo")).unwrap_err();
    assert!(matches!(err, CgroupError::Detect { .. }), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/mountinfo"), "{err}");
}

#[test]
fn detect_with_no_cgroups_is_an_error_naming_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("mountinfo");
    std::fs::write(&table, "22 1 0:20 / / rw,relatime - ext4 /dev/vda rw\n").unwrap();
    let err = detect_with(&table).unwrap_err();
    assert!(matches!(err, CgroupError::NoCgroupFs { .. }), "{err:?}");
    assert!(err.to_string().contains("mountinfo"), "{err}");
}

#[test]
fn detect_with_unreadable_cgroup2_root_fails() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("mountinfo");
    let line = format!(
        "26 22 0:23 / {}/absent rw - cgroup2 cgroup2 rw\n",
        dir.path().display()
    );
    std::fs::write(&table, line).unwrap();
    let err = detect_with(&table).unwrap_err();
    assert!(err.to_string().contains("cgroup.controllers"), "{err}");
}

#[test]
fn detect_with_reads_fake_trees() {
    let t = fake_v2("cpu memory pids");
    assert_eq!(t.setup.setup(), CgroupSetup::Unified);
    assert_eq!(t.setup.v2_controllers().len(), 3);
    assert_eq!(fake_v1().setup.setup(), CgroupSetup::Legacy);
    let h = fake_hybrid();
    assert_eq!(h.setup.setup(), CgroupSetup::Hybrid);
    assert_eq!(h.setup.v2_root(), Some(h.path("unified").as_path()));
}
