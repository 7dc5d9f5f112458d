//! The jail's filesystem view as a plan: a pure function from the policy and a few host facts
//! to an ordered list of mount operations. Nothing here touches the kernel, so the whole
//! layout is tested by value without root (`plan_tests.rs`); `mount_exec.rs` carries it out.
//!
//! Layout built under the staging directory `S` (later the jail's `/`), in this order:
//! 1. `S` itself: a tmpfs (mode 0755), remounted read-only at the very end.
//! 2. System directories: read-only, nosuid, nodev binds of the root source's top-level
//!    directories (`/usr`, `/lib*`, …); symlinks (`/bin -> usr/bin`) are recreated as symlinks.
//! 3. `/etc`: a read-only overlay whose top layer holds whiteouts for `shadow`, `gshadow`,
//!    their backups, Paddock's config and any policy-hidden path below `/etc`: those files are
//!    absent (ENOENT), not merely empty. Any other read-only bind with hidden paths below it is
//!    built the same way.
//! 4. Extra `read_only` / `read_write` binds at the same path as on the host.
//! 5. `/tmp` (tmpfs, `tmp_size`, 1777), `/workspace` (the host workdir, or an ephemeral tmpfs
//!    owned by the jail's uid), `/dev` (tmpfs with null, zero, full, random, urandom, tty,
//!    a private devpts, `/dev/shm`), `/sys` (fresh sysfs, read-only, firmware masked).
//! 6. `/proc` is only a mountpoint here: init mounts it from inside the new PID namespace
//!    (see `init.rs`), then masks `kcore`, `sysrq-trigger` and friends.
//!
//! This module must never decide anything about identity or networking, and must never
//! produce a writable bind that the policy did not name.

use std::path::{Path, PathBuf};

use paddock_policy::{AbsPath, FilesystemPolicy, RootFs};

/// Inside-the-jail path of the workspace.
pub const WORKSPACE: &str = "/workspace";

/// Files below `/etc` that are never visible inside a jail, whatever the policy says.
pub const ALWAYS_HIDDEN_ETC: &[&str] = &["shadow", "shadow-", "gshadow", "gshadow-", "paddock"];

/// Top-level entries of a root source that are never bound from it: the jail makes its own.
const JAIL_OWNED_TOP: &[&str] = &["proc", "dev", "sys", "tmp", "workspace", "etc", "run"];

/// Top-level directories bound from the host when `root: host`.
const HOST_SYSTEM_DIRS: &[&str] = &["usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"];

/// What a path on the host is.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum HostKind {
    /// A directory.
    Dir,
    /// A regular file (or anything that is not a directory or symlink).
    File,
    /// A symlink with this target.
    Symlink(String),
    /// Nothing there.
    Missing,
}

/// Facts about the host that the plan depends on, gathered by `HostFacts::gather`.
#[derive(Clone, Debug, Default)]
pub struct HostFacts {
    /// Top-level entries of the root source (`/` for `root: host`), name and kind.
    pub root_entries: Vec<(String, HostKind)>,
    /// Kind of each extra bind source and each hidden path, by host path.
    pub paths: Vec<(AbsPath, HostKind)>,
}

impl HostFacts {
    fn kind_of(&self, p: &AbsPath) -> HostKind {
        self.paths
            .iter()
            .find(|(q, _)| q == p)
            .map_or(HostKind::Missing, |(_, k)| k.clone())
    }
}

/// Where the workspace comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkspaceSource {
    /// A host directory, bound writable.
    HostDir(PathBuf),
    /// A fresh tmpfs of this size, owned by the jail's uid and gid.
    Ephemeral {
        /// Size in bytes.
        size: u64,
        /// Owner uid.
        uid: u32,
        /// Owner gid.
        gid: u32,
    },
}

/// One step of building the jail's root, in host paths (under the staging directory).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootOp {
    /// Mount a tmpfs with these options (`size=…,mode=…`); `noexec` adds MS_NOEXEC.
    Tmpfs {
        /// Mountpoint.
        target: PathBuf,
        /// Mount data string.
        options: String,
        /// Add `noexec`.
        noexec: bool,
    },
    /// The jail's `/dev`: a tmpfs that honours device nodes (nosuid, noexec, but not nodev),
    /// so the nodes Paddock creates work. The jail itself can never add one: it has no
    /// CAP_MKNOD and Landlock never grants making devices.
    DevTmpfs {
        /// Mountpoint.
        target: PathBuf,
        /// Mount data string.
        options: String,
    },
    /// Create a directory (parents must exist).
    Mkdir(PathBuf),
    /// Create an empty file to serve as a mountpoint.
    Touch(PathBuf),
    /// Create a symlink `link -> target`.
    Symlink {
        /// The link to create.
        link: PathBuf,
        /// What it points to.
        target: String,
    },
    /// Bind `src` onto `target` recursively; read-only unless `writable`; always nosuid+nodev.
    Bind {
        /// Host source.
        src: PathBuf,
        /// Mountpoint.
        target: PathBuf,
        /// Leave writable.
        writable: bool,
    },
    /// A read-only overlay of `layers` (top first) onto `target`, nosuid+nodev.
    Overlay {
        /// Lower layers, top first.
        layers: Vec<PathBuf>,
        /// Mountpoint.
        target: PathBuf,
    },
    /// Create an overlay whiteout (character device 0:0).
    Whiteout(PathBuf),
    /// Create a regular file (mode 0644) with these contents; it must not exist yet.
    WriteFile {
        /// The file.
        path: PathBuf,
        /// Its contents.
        contents: Vec<u8>,
    },
    /// Create a character device node with mode 0666.
    CharDev {
        /// Node path.
        path: PathBuf,
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
    /// Mount a new devpts instance.
    Devpts(PathBuf),
    /// Mount a fresh sysfs, read-only.
    Sysfs(PathBuf),
    /// Cover a directory with an empty read-only tmpfs.
    MaskDir(PathBuf),
    /// Cover a file with the jail's `/dev/null`.
    MaskFile {
        /// File to cover.
        target: PathBuf,
        /// The staged `/dev/null`.
        null: PathBuf,
    },
    /// Remount the staging root read-only (non-recursive: its submounts keep their own flags).
    RootReadOnly(PathBuf),
}

/// Errors found while planning: the policy names something the host cannot provide.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    /// A bind source does not exist.
    #[error(
        "{what} path {path} does not exist on the host; create it or remove it from the policy"
    )]
    MissingSource {
        /// `read_only` or `read_write`.
        what: &'static str,
        /// The path.
        path: AbsPath,
    },
    /// A bind target collides with a path the jail builds itself.
    #[error("{path} cannot be bound: the jail provides {path} itself")]
    Reserved {
        /// The path.
        path: AbsPath,
    },
    /// The root source has no `/etc` or no `/usr`.
    #[error("the root {root} is not a usable root filesystem: it has no {missing}")]
    BadRoot {
        /// The root.
        root: String,
        /// What is missing.
        missing: &'static str,
    },
}

/// Inputs to [`plan_root`].
pub struct PlanInput<'a> {
    /// The filesystem policy.
    pub fs: &'a FilesystemPolicy,
    /// Host facts.
    pub host: &'a HostFacts,
    /// Where the workspace comes from.
    pub workspace: &'a WorkspaceSource,
    /// Staging directory that becomes `/`.
    pub stage: &'a Path,
    /// Scratch directory (a separate tmpfs) for overlay whiteout layers.
    pub scratch: &'a Path,
    /// Size of `/dev/shm`.
    pub shm_size: u64,
    /// Regular files shown in the jail's `/etc` over the host's (name, contents), e.g. the
    /// `resolv.conf` that points a networked jail at Paddock's DNS filter. Names are single
    /// path components.
    pub etc_files: &'a [(String, Vec<u8>)],
}

fn inside(stage: &Path, p: &str) -> PathBuf {
    stage.join(p.trim_start_matches('/'))
}

/// The root source directory on the host.
pub fn root_source(fs: &FilesystemPolicy) -> PathBuf {
    match &fs.root {
        RootFs::Host => PathBuf::from("/"),
        RootFs::Dir(d) => d.as_path().to_path_buf(),
    }
}

/// Builds the ordered list of operations that assemble the jail's root.
pub fn plan_root(input: &PlanInput<'_>) -> Result<Vec<RootOp>, PlanError> {
    let PlanInput {
        fs,
        host,
        stage,
        scratch,
        ..
    } = input;
    let src_root = root_source(fs);
    let mut ops = vec![RootOp::Tmpfs {
        target: stage.to_path_buf(),
        options: "mode=0755,size=1m".into(),
        noexec: false,
    }];
    ops.push(RootOp::Tmpfs {
        target: scratch.to_path_buf(),
        options: "mode=0700,size=64k".into(),
        noexec: true,
    });

    // 2. System directories.
    let has = |name: &str| host.root_entries.iter().any(|(n, _)| n == name);
    if !has("usr") && matches!(fs.root, RootFs::Host) {
        return Err(PlanError::BadRoot {
            root: src_root.display().to_string(),
            missing: "/usr",
        });
    }
    if !has("etc") {
        return Err(PlanError::BadRoot {
            root: src_root.display().to_string(),
            missing: "/etc",
        });
    }
    for (name, kind) in &host.root_entries {
        let wanted = match fs.root {
            RootFs::Host => HOST_SYSTEM_DIRS.contains(&name.as_str()),
            RootFs::Dir(_) => !JAIL_OWNED_TOP.contains(&name.as_str()),
        };
        if !wanted {
            continue;
        }
        let target = inside(stage, name);
        let inner = format!("/{name}");
        match kind {
            HostKind::Symlink(t) => ops.push(RootOp::Symlink {
                link: target,
                target: t.clone(),
            }),
            HostKind::Dir => {
                ops.push(RootOp::Mkdir(target.clone()));
                push_ro_bind(&mut ops, input, &src_root.join(name), &target, &inner);
            }
            HostKind::File => {
                ops.push(RootOp::Touch(target.clone()));
                push_ro_bind(&mut ops, input, &src_root.join(name), &target, &inner);
            }
            HostKind::Missing => {}
        }
    }

    // 3. /etc, always through the whiteout overlay.
    let etc = inside(stage, "etc");
    ops.push(RootOp::Mkdir(etc.clone()));
    push_overlay(&mut ops, input, &src_root.join("etc"), &etc, "/etc", true);

    // 4. Extra binds, read-only then read-write.
    for (what, list, writable) in [
        ("read_only", &fs.read_only, false),
        ("read_write", &fs.read_write, true),
    ] {
        for p in list.iter() {
            if is_reserved(p) {
                return Err(PlanError::Reserved { path: p.clone() });
            }
            let kind = host.kind_of(p);
            let target = inside(stage, p.as_str());
            match kind {
                HostKind::Missing | HostKind::Symlink(_) => {
                    return Err(PlanError::MissingSource {
                        what,
                        path: p.clone(),
                    })
                }
                HostKind::Dir => push_mkdirs(&mut ops, input, p, true),
                HostKind::File => push_mkdirs(&mut ops, input, p, false),
            }
            if writable {
                ops.push(RootOp::Bind {
                    src: p.as_path().to_path_buf(),
                    target,
                    writable: true,
                });
            } else {
                push_ro_bind(&mut ops, input, p.as_path(), &target, p.as_str());
            }
        }
    }

    // 5. /tmp, /workspace, /dev, /sys, /proc mountpoint.
    let tmp = inside(stage, "tmp");
    ops.push(RootOp::Mkdir(tmp.clone()));
    ops.push(RootOp::Tmpfs {
        target: tmp,
        options: format!("mode=1777,size={}", fs.tmp_size.bytes()),
        noexec: false,
    });
    let ws = inside(stage, WORKSPACE);
    ops.push(RootOp::Mkdir(ws.clone()));
    match input.workspace {
        WorkspaceSource::HostDir(d) => ops.push(RootOp::Bind {
            src: d.clone(),
            target: ws,
            writable: true,
        }),
        WorkspaceSource::Ephemeral { size, uid, gid } => ops.push(RootOp::Tmpfs {
            target: ws,
            options: format!("mode=0700,size={size},uid={uid},gid={gid}"),
            noexec: false,
        }),
    }
    push_dev(&mut ops, stage, input.shm_size);
    let sys = inside(stage, "sys");
    ops.push(RootOp::Mkdir(sys.clone()));
    ops.push(RootOp::Sysfs(sys.clone()));
    for masked in ["firmware", "devices/virtual/powercap", "kernel/security"] {
        ops.push(RootOp::MaskDir(sys.join(masked)));
    }
    ops.push(RootOp::Mkdir(inside(stage, "proc")));

    // Hidden paths under writable binds: covered (an overlay cannot be writable without an
    // upper layer). Hidden paths under read-only binds were whited out above.
    for h in &fs.hidden {
        if fs.read_write.iter().any(|rw| h.starts_with(rw)) {
            let target = inside(stage, h.as_str());
            match host.kind_of(h) {
                HostKind::Dir => ops.push(RootOp::MaskDir(target)),
                HostKind::File => ops.push(RootOp::MaskFile {
                    target,
                    null: inside(stage, "/dev/null"),
                }),
                HostKind::Symlink(_) | HostKind::Missing => {}
            }
        }
    }

    ops.push(RootOp::RootReadOnly(stage.to_path_buf()));
    Ok(ops)
}

fn is_reserved(p: &AbsPath) -> bool {
    let first = p
        .as_str()
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("");
    p.as_str() == "/" || ["proc", "dev", "sys", "tmp", "workspace"].contains(&first)
}

/// Mountpoints for an extra bind: create the missing parents on the staging tmpfs, unless the
/// path lies under a planned bind or symlink (then it resolves into a host directory, where the
/// path already exists because the bind source does).
fn push_mkdirs(ops: &mut Vec<RootOp>, input: &PlanInput<'_>, p: &AbsPath, is_dir: bool) {
    let comps: Vec<&str> = p.as_str().trim_start_matches('/').split('/').collect();
    let mut staged = input.stage.to_path_buf();
    for (i, c) in comps.iter().enumerate() {
        staged.push(c);
        let covered = ops.iter().any(|op| match op {
            RootOp::Bind { target, .. } | RootOp::Overlay { target, .. } => {
                staged.starts_with(target) && &staged != target
            }
            RootOp::Symlink { link, .. } => staged.starts_with(link),
            _ => false,
        });
        if covered {
            return;
        }
        if ops
            .iter()
            .any(|op| matches!(op, RootOp::Mkdir(d) | RootOp::Touch(d) if d == &staged))
        {
            continue;
        }
        let last = i + 1 == comps.len();
        ops.push(if last && !is_dir {
            RootOp::Touch(staged.clone())
        } else {
            RootOp::Mkdir(staged.clone())
        });
    }
}

/// A read-only bind, or an overlay when hidden paths lie below it.
fn push_ro_bind(
    ops: &mut Vec<RootOp>,
    input: &PlanInput<'_>,
    src: &Path,
    target: &Path,
    inner: &str,
) {
    let hides = input
        .fs
        .hidden
        .iter()
        .any(|h| Path::new(h.as_str()).starts_with(inner) && h.as_str() != inner);
    if hides {
        push_overlay(ops, input, src, target, inner, false);
    } else {
        ops.push(RootOp::Bind {
            src: src.to_path_buf(),
            target: target.to_path_buf(),
            writable: false,
        });
    }
}

/// A read-only overlay of `src` whose top layer whites out the hidden paths below `inner`.
fn push_overlay(
    ops: &mut Vec<RootOp>,
    input: &PlanInput<'_>,
    src: &Path,
    target: &Path,
    inner: &str,
    is_etc: bool,
) {
    let n = ops
        .iter()
        .filter(|op| matches!(op, RootOp::Overlay { .. }))
        .count();
    let layer = input.scratch.join(format!("wh{n}"));
    ops.push(RootOp::Mkdir(layer.clone()));
    let mut hidden: Vec<String> = Vec::new();
    if is_etc {
        hidden.extend(ALWAYS_HIDDEN_ETC.iter().map(|s| (*s).to_string()));
    }
    for h in &input.fs.hidden {
        if let Ok(rel) = Path::new(h.as_str()).strip_prefix(inner) {
            let rel = rel.to_string_lossy().to_string();
            if !rel.is_empty() && !hidden.contains(&rel) {
                hidden.push(rel);
            }
        }
    }
    hidden.sort();
    let mut made: Vec<PathBuf> = Vec::new();
    for rel in hidden {
        let rel_path = Path::new(&rel);
        // Parent directories of a nested whiteout, created once each.
        let mut parent = layer.clone();
        if let Some(p) = rel_path.parent() {
            for c in p.components() {
                parent.push(c);
                if !made.contains(&parent) {
                    made.push(parent.clone());
                    ops.push(RootOp::Mkdir(parent.clone()));
                }
            }
        }
        ops.push(RootOp::Whiteout(layer.join(rel_path)));
    }
    if is_etc {
        for (name, contents) in input.etc_files {
            // Single components only: a name like `../x` must not write outside the layer.
            let hidden_by_policy = input.fs.hidden.iter().any(|h| {
                Path::new(h.as_str()).strip_prefix("/etc") == Ok(Path::new(name.as_str()))
            });
            // Hidden wins: a policy that hides a file keeps it hidden whatever Paddock adds.
            if !hidden_etc_name(name) && !hidden_by_policy && is_plain_name(name) {
                ops.push(RootOp::WriteFile {
                    path: layer.join(name),
                    contents: contents.clone(),
                });
            }
        }
    }
    ops.push(RootOp::Overlay {
        layers: vec![layer, src.to_path_buf()],
        target: target.to_path_buf(),
    });
}

/// A file the jail must never see cannot be re-added through `etc_files`.
fn hidden_etc_name(name: &str) -> bool {
    ALWAYS_HIDDEN_ETC.contains(&name)
}

fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/') && !name.contains('\0')
}

fn push_dev(ops: &mut Vec<RootOp>, stage: &Path, shm_size: u64) {
    let dev = inside(stage, "dev");
    ops.push(RootOp::Mkdir(dev.clone()));
    ops.push(RootOp::DevTmpfs {
        target: dev.clone(),
        options: "mode=0755,size=64k".into(),
    });
    for (name, major, minor) in [
        ("null", 1, 3),
        ("zero", 1, 5),
        ("full", 1, 7),
        ("random", 1, 8),
        ("urandom", 1, 9),
        ("tty", 5, 0),
    ] {
        ops.push(RootOp::CharDev {
            path: dev.join(name),
            major,
            minor,
        });
    }
    ops.push(RootOp::Mkdir(dev.join("pts")));
    ops.push(RootOp::Devpts(dev.join("pts")));
    for (link, target) in [
        ("ptmx", "pts/ptmx"),
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        ops.push(RootOp::Symlink {
            link: dev.join(link),
            target: target.into(),
        });
    }
    ops.push(RootOp::Mkdir(dev.join("shm")));
    ops.push(RootOp::Tmpfs {
        target: dev.join("shm"),
        options: format!("mode=1777,size={shm_size}"),
        noexec: false,
    });
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
