use std::path::{Path, PathBuf};

use paddock_policy::{AbsPath, ByteSize, FilesystemPolicy, LandlockMode, RootFs};

use super::*;

fn fs() -> FilesystemPolicy {
    FilesystemPolicy {
        root: RootFs::Host,
        read_only: vec![],
        read_write: vec![],
        hidden: vec![],
        tmp_size: ByteSize(256 << 20),
        landlock: LandlockMode::Required,
    }
}

fn debian_host() -> HostFacts {
    HostFacts {
        root_entries: vec![
            ("usr".into(), HostKind::Dir),
            ("bin".into(), HostKind::Symlink("usr/bin".into())),
            ("lib".into(), HostKind::Symlink("usr/lib".into())),
            ("lib64".into(), HostKind::Symlink("usr/lib64".into())),
            ("sbin".into(), HostKind::Symlink("usr/sbin".into())),
            ("etc".into(), HostKind::Dir),
        ],
        paths: vec![],
    }
}

fn plan(
    fs: &FilesystemPolicy,
    host: &HostFacts,
    ws: &WorkspaceSource,
) -> Result<Vec<RootOp>, PlanError> {
    plan_root(&PlanInput {
        fs,
        host,
        workspace: ws,
        stage: Path::new("/s"),
        scratch: Path::new("/x"),
        shm_size: 1 << 20,
        etc_files: &[],
    })
}

fn plan_with_etc_files(
    fs: &FilesystemPolicy,
    files: &[(String, Vec<u8>)],
) -> Result<Vec<RootOp>, PlanError> {
    plan_root(&PlanInput {
        fs,
        host: &debian_host(),
        workspace: &ephemeral(),
        stage: Path::new("/s"),
        scratch: Path::new("/x"),
        shm_size: 1 << 20,
        etc_files: files,
    })
}

fn written_files(ops: &[RootOp]) -> Vec<(PathBuf, Vec<u8>)> {
    ops.iter()
        .filter_map(|op| match op {
            RootOp::WriteFile { path, contents } => Some((path.clone(), contents.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn etc_files_go_into_the_etc_overlays_top_layer_before_the_overlay() {
    let fs = fs();
    let files = vec![(
        "resolv.conf".to_string(),
        b"nameserver 10.213.0.0\n".to_vec(),
    )];
    let ops = plan_with_etc_files(&fs, &files).unwrap();
    assert_eq!(
        written_files(&ops),
        vec![(
            PathBuf::from("/x/wh0/resolv.conf"),
            b"nameserver 10.213.0.0\n".to_vec()
        )]
    );
    let write = ops
        .iter()
        .position(|op| matches!(op, RootOp::WriteFile { .. }))
        .unwrap();
    let overlay = ops
        .iter()
        .position(
            |op| matches!(op, RootOp::Overlay { target, .. } if target == Path::new("/s/etc")),
        )
        .unwrap();
    assert!(
        write < overlay,
        "the file must exist before the overlay is mounted"
    );
}

#[test]
fn etc_files_cannot_escape_the_layer_or_unhide_secrets() {
    let mut fs = fs();
    fs.hidden.push(abs("/etc/resolv.conf"));
    let files: Vec<(String, Vec<u8>)> = ["../evil", "a/b", "", "..", "shadow", "resolv.conf"]
        .iter()
        .map(|n| ((*n).to_string(), b"x".to_vec()))
        .collect();
    let ops = plan_with_etc_files(&fs, &files).unwrap();
    assert!(written_files(&ops).is_empty(), "{ops:#?}");
}

fn ephemeral() -> WorkspaceSource {
    WorkspaceSource::Ephemeral {
        size: 1 << 30,
        uid: 1000,
        gid: 1000,
    }
}

fn abs(s: &str) -> AbsPath {
    AbsPath::new(s).unwrap()
}

#[test]
fn host_root_binds_usr_read_only_and_recreates_symlinks() {
    let ops = plan(&fs(), &debian_host(), &ephemeral()).unwrap();
    assert!(ops.contains(&RootOp::Bind {
        src: "/usr".into(),
        target: "/s/usr".into(),
        writable: false
    }));
    assert!(ops.contains(&RootOp::Symlink {
        link: "/s/bin".into(),
        target: "usr/bin".into()
    }));
    // Nothing from the host is writable when the policy names no read_write path.
    assert!(!ops
        .iter()
        .any(|op| matches!(op, RootOp::Bind { writable: true, .. })));
}

#[test]
fn etc_is_an_overlay_that_whites_out_shadow_and_paddock_config() {
    let ops = plan(&fs(), &debian_host(), &ephemeral()).unwrap();
    for f in ["shadow", "gshadow", "shadow-", "gshadow-", "paddock"] {
        assert!(
            ops.contains(&RootOp::Whiteout(PathBuf::from("/x/wh0").join(f))),
            "{f} is not whited out"
        );
    }
    assert!(ops.contains(&RootOp::Overlay {
        layers: vec!["/x/wh0".into(), "/etc".into()],
        target: "/s/etc".into()
    }));
    // /etc must never be bound directly: that would show shadow.
    assert!(!ops
        .iter()
        .any(|op| matches!(op, RootOp::Bind { src, .. } if src == Path::new("/etc"))));
}

#[test]
fn root_is_made_read_only_last() {
    let ops = plan(&fs(), &debian_host(), &ephemeral()).unwrap();
    assert_eq!(ops.last(), Some(&RootOp::RootReadOnly("/s".into())));
    assert!(matches!(ops.first(), Some(RootOp::Tmpfs { target, .. }) if target == Path::new("/s")));
}

#[test]
fn tmp_and_ephemeral_workspace_are_sized_tmpfs() {
    let ops = plan(&fs(), &debian_host(), &ephemeral()).unwrap();
    assert!(ops.contains(&RootOp::Tmpfs {
        target: "/s/tmp".into(),
        options: format!("mode=1777,size={}", 256u64 << 20),
        noexec: false
    }));
    assert!(ops.contains(&RootOp::Tmpfs {
        target: "/s/workspace".into(),
        options: format!("mode=0700,size={},uid=1000,gid=1000", 1u64 << 30),
        noexec: false
    }));
}

#[test]
fn host_workdir_is_the_only_writable_bind() {
    let ws = WorkspaceSource::HostDir("/home/alice/project".into());
    let ops = plan(&fs(), &debian_host(), &ws).unwrap();
    let writable: Vec<_> = ops
        .iter()
        .filter(|op| matches!(op, RootOp::Bind { writable: true, .. }))
        .collect();
    assert_eq!(
        writable,
        vec![&RootOp::Bind {
            src: "/home/alice/project".into(),
            target: "/s/workspace".into(),
            writable: true
        }]
    );
}

#[test]
fn dev_has_only_harmless_nodes_and_a_private_devpts() {
    let ops = plan(&fs(), &debian_host(), &ephemeral()).unwrap();
    let nodes: Vec<(u32, u32)> = ops
        .iter()
        .filter_map(|op| match op {
            RootOp::CharDev { major, minor, .. } => Some((*major, *minor)),
            _ => None,
        })
        .collect();
    assert_eq!(nodes, vec![(1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0)]);
    assert!(ops.contains(&RootOp::Devpts("/s/dev/pts".into())));
    // /dev must honour device nodes, or /dev/null is unusable (EACCES).
    assert!(ops.contains(&RootOp::DevTmpfs {
        target: "/s/dev".into(),
        options: "mode=0755,size=64k".into()
    }));
}

#[test]
fn sys_is_fresh_and_firmware_masked() {
    let ops = plan(&fs(), &debian_host(), &ephemeral()).unwrap();
    assert!(ops.contains(&RootOp::Sysfs("/s/sys".into())));
    assert!(ops.contains(&RootOp::MaskDir("/s/sys/firmware".into())));
}

#[test]
fn extra_read_only_dir_gets_parents_created() {
    let mut f = fs();
    f.read_only = vec![abs("/opt/tools")];
    let mut host = debian_host();
    host.paths = vec![(abs("/opt/tools"), HostKind::Dir)];
    let ops = plan(&f, &host, &ephemeral()).unwrap();
    let i_opt = ops
        .iter()
        .position(|o| o == &RootOp::Mkdir("/s/opt".into()))
        .unwrap();
    let i_tools = ops
        .iter()
        .position(|o| o == &RootOp::Mkdir("/s/opt/tools".into()))
        .unwrap();
    let i_bind = ops
        .iter()
        .position(|o| {
            o == &RootOp::Bind {
                src: "/opt/tools".into(),
                target: "/s/opt/tools".into(),
                writable: false,
            }
        })
        .unwrap();
    assert!(i_opt < i_tools && i_tools < i_bind);
}

#[test]
fn missing_bind_source_is_an_error_naming_it() {
    let mut f = fs();
    f.read_write = vec![abs("/srv/data")];
    let err = plan(&f, &debian_host(), &ephemeral()).unwrap_err();
    assert_eq!(
        err,
        PlanError::MissingSource {
            what: "read_write",
            path: abs("/srv/data")
        }
    );
}

#[test]
fn binding_over_jail_owned_paths_is_refused() {
    for p in ["/proc", "/dev/shm", "/tmp/x", "/workspace", "/sys"] {
        let mut f = fs();
        f.read_only = vec![abs(p)];
        let mut host = debian_host();
        host.paths = vec![(abs(p), HostKind::Dir)];
        assert_eq!(
            plan(&f, &host, &ephemeral()).unwrap_err(),
            PlanError::Reserved { path: abs(p) },
            "{p}"
        );
    }
}

#[test]
fn hidden_path_under_a_read_only_bind_becomes_a_whiteout() {
    let mut f = fs();
    f.read_only = vec![abs("/opt/tools")];
    f.hidden = vec![abs("/opt/tools/secrets/key.pem")];
    let mut host = debian_host();
    host.paths = vec![
        (abs("/opt/tools"), HostKind::Dir),
        (abs("/opt/tools/secrets/key.pem"), HostKind::File),
    ];
    let ops = plan(&f, &host, &ephemeral()).unwrap();
    assert!(ops.contains(&RootOp::Whiteout("/x/wh1/secrets/key.pem".into())));
    assert!(ops.contains(&RootOp::Mkdir("/x/wh1/secrets".into())));
    assert!(ops.contains(&RootOp::Overlay {
        layers: vec!["/x/wh1".into(), "/opt/tools".into()],
        target: "/s/opt/tools".into()
    }));
}

#[test]
fn hidden_path_under_a_writable_bind_is_masked() {
    let mut f = fs();
    f.read_write = vec![abs("/srv/data")];
    f.hidden = vec![abs("/srv/data/.git"), abs("/srv/data/token")];
    let mut host = debian_host();
    host.paths = vec![
        (abs("/srv/data"), HostKind::Dir),
        (abs("/srv/data/.git"), HostKind::Dir),
        (abs("/srv/data/token"), HostKind::File),
    ];
    let ops = plan(&f, &host, &ephemeral()).unwrap();
    assert!(ops.contains(&RootOp::MaskDir("/s/srv/data/.git".into())));
    assert!(ops.contains(&RootOp::MaskFile {
        target: "/s/srv/data/token".into(),
        null: "/s/dev/null".into()
    }));
}

#[test]
fn rootfs_dir_binds_its_entries_but_not_jail_owned_ones() {
    let mut f = fs();
    f.root = RootFs::Dir(abs("/srv/rootfs"));
    let host = HostFacts {
        root_entries: vec![
            ("bin".into(), HostKind::Dir),
            ("etc".into(), HostKind::Dir),
            ("proc".into(), HostKind::Dir),
            ("tmp".into(), HostKind::Dir),
            ("usr".into(), HostKind::Dir),
        ],
        paths: vec![],
    };
    let ops = plan(&f, &host, &ephemeral()).unwrap();
    assert!(ops.contains(&RootOp::Bind {
        src: "/srv/rootfs/bin".into(),
        target: "/s/bin".into(),
        writable: false
    }));
    assert!(!ops.iter().any(
        |op| matches!(op, RootOp::Bind { src, .. } if src.ends_with("proc") || src.ends_with("tmp"))
    ));
    assert!(ops.contains(&RootOp::Overlay {
        layers: vec!["/x/wh0".into(), "/srv/rootfs/etc".into()],
        target: "/s/etc".into()
    }));
}

#[test]
fn a_root_without_etc_is_refused() {
    let mut host = debian_host();
    host.root_entries.retain(|(n, _)| n != "etc");
    assert!(matches!(
        plan(&fs(), &host, &ephemeral()),
        Err(PlanError::BadRoot {
            missing: "/etc",
            ..
        })
    ));
}

#[test]
fn extra_bind_under_a_symlinked_top_dir_needs_no_mountpoint() {
    // /lib -> usr/lib: /lib/tools already exists inside the read-only /usr bind.
    let mut f = fs();
    f.read_only = vec![abs("/lib/tools")];
    let mut host = debian_host();
    host.paths = vec![(abs("/lib/tools"), HostKind::Dir)];
    let ops = plan(&f, &host, &ephemeral()).unwrap();
    assert!(!ops
        .iter()
        .any(|op| matches!(op, RootOp::Mkdir(d) if d.starts_with("/s/lib"))));
    assert!(ops.contains(&RootOp::Bind {
        src: "/lib/tools".into(),
        target: "/s/lib/tools".into(),
        writable: false
    }));
}
