//! Lowers the mount plan into raw operations on pre-built C strings, before `fork`, so that
//! the jail's init can carry them out with nothing but syscalls (see `child.rs`).
//!
//! Also holds the `/proc` steps init performs from inside the new PID namespace: mount a
//! fresh procfs, then mask what leaks host information or offers a kernel interface.
//! Nothing here may run after fork: it allocates.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use libc::c_ulong;

use crate::error::JailError;
use crate::plan::RootOp;

/// One syscall-level step, with every string already a `CString`.
#[derive(Debug)]
pub(crate) enum RawOp {
    /// `mount(2)`; ENOENT on the target is ignored when `skip_missing`.
    Mount {
        src: Option<CString>,
        target: CString,
        fstype: Option<CString>,
        flags: c_ulong,
        data: Option<CString>,
        skip_missing: bool,
    },
    /// `mount_setattr(2)` recursively with these MOUNT_ATTR_* bits.
    SetAttr { target: CString, attr: u64 },
    /// `mkdir(2)`.
    Mkdir { path: CString, mode: u32 },
    /// Create an empty file.
    Touch { path: CString },
    /// Create a new regular file (mode 0644) holding `contents`.
    WriteFile { path: CString, contents: Vec<u8> },
    /// `symlink(2)`.
    Symlink { target: CString, link: CString },
    /// `mknod(2)` for a character device.
    CharDev {
        path: CString,
        mode: u32,
        major: u32,
        minor: u32,
    },
}

impl RawOp {
    /// What this step does, in words, for the error when it fails inside the jail.
    pub(crate) fn describe(&self) -> String {
        let show = |c: &CString| c.to_string_lossy().into_owned();
        match self {
            RawOp::Mount {
                src,
                target,
                fstype,
                ..
            } => match (fstype, src) {
                (Some(fs), _) => format!("mount {} on {}", show(fs), show(target)),
                (None, Some(src)) => format!("bind {} on {}", show(src), show(target)),
                (None, None) => format!("remount {}", show(target)),
            },
            RawOp::SetAttr { target, .. } => {
                format!(
                    "set read-only/nosuid/nodev on the mounts under {}",
                    show(target)
                )
            }
            RawOp::Mkdir { path, .. } => format!("create directory {}", show(path)),
            RawOp::Touch { path } => format!("create mountpoint file {}", show(path)),
            RawOp::WriteFile { path, .. } => format!("write file {}", show(path)),
            RawOp::Symlink { target, link } => {
                format!("create symlink {} -> {}", show(link), show(target))
            }
            RawOp::CharDev { path, .. } => format!("create device node {}", show(path)),
        }
    }
}

pub(crate) fn cstr(p: &Path) -> Result<CString, JailError> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| JailError::NulInPath {
        path: p.to_path_buf(),
    })
}

fn cs(s: &str) -> Result<CString, JailError> {
    cstr(Path::new(s))
}

const NOSUID_NODEV: c_ulong = libc::MS_NOSUID | libc::MS_NODEV;
const ATTR_RO: u64 = libc::MOUNT_ATTR_RDONLY | libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NODEV;
const ATTR_RW: u64 = libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NODEV;

/// Lowers the root plan.
pub(crate) fn lower_root(ops: &[RootOp]) -> Result<Vec<RawOp>, JailError> {
    let mut out = Vec::with_capacity(ops.len() + 8);
    for op in ops {
        match op {
            RootOp::Tmpfs {
                target,
                options,
                noexec,
            } => out.push(RawOp::Mount {
                src: Some(cs("tmpfs")?),
                target: cstr(target)?,
                fstype: Some(cs("tmpfs")?),
                flags: NOSUID_NODEV | if *noexec { libc::MS_NOEXEC } else { 0 },
                data: Some(cs(options)?),
                skip_missing: false,
            }),
            RootOp::DevTmpfs { target, options } => out.push(RawOp::Mount {
                src: Some(cs("tmpfs")?),
                target: cstr(target)?,
                fstype: Some(cs("tmpfs")?),
                flags: libc::MS_NOSUID | libc::MS_NOEXEC,
                data: Some(cs(options)?),
                skip_missing: false,
            }),
            RootOp::Mkdir(p) => out.push(RawOp::Mkdir {
                path: cstr(p)?,
                mode: 0o755,
            }),
            RootOp::Touch(p) => out.push(RawOp::Touch { path: cstr(p)? }),
            RootOp::WriteFile { path, contents } => out.push(RawOp::WriteFile {
                path: cstr(path)?,
                contents: contents.clone(),
            }),
            RootOp::Symlink { link, target } => out.push(RawOp::Symlink {
                target: cs(target)?,
                link: cstr(link)?,
            }),
            RootOp::Bind {
                src,
                target,
                writable,
            } => {
                out.push(RawOp::Mount {
                    src: Some(cstr(src)?),
                    target: cstr(target)?,
                    fstype: None,
                    flags: libc::MS_BIND | libc::MS_REC,
                    data: None,
                    skip_missing: false,
                });
                // Read-only (or not), and never setuid or device files, down the whole subtree.
                out.push(RawOp::SetAttr {
                    target: cstr(target)?,
                    attr: if *writable { ATTR_RW } else { ATTR_RO },
                });
            }
            RootOp::Overlay { layers, target } => {
                let lower: Vec<String> = layers.iter().map(|l| l.display().to_string()).collect();
                out.push(RawOp::Mount {
                    src: Some(cs("overlay")?),
                    target: cstr(target)?,
                    fstype: Some(cs("overlay")?),
                    flags: libc::MS_RDONLY | NOSUID_NODEV,
                    data: Some(cs(&format!("lowerdir={}", lower.join(":")))?),
                    skip_missing: false,
                });
            }
            RootOp::Whiteout(p) => out.push(RawOp::CharDev {
                path: cstr(p)?,
                mode: 0,
                major: 0,
                minor: 0,
            }),
            RootOp::CharDev { path, major, minor } => out.push(RawOp::CharDev {
                path: cstr(path)?,
                mode: 0o666,
                major: *major,
                minor: *minor,
            }),
            RootOp::Devpts(p) => out.push(RawOp::Mount {
                src: Some(cs("devpts")?),
                target: cstr(p)?,
                fstype: Some(cs("devpts")?),
                flags: libc::MS_NOSUID | libc::MS_NOEXEC,
                data: Some(cs("newinstance,ptmxmode=0666,mode=0620")?),
                skip_missing: false,
            }),
            RootOp::Sysfs(p) => out.push(RawOp::Mount {
                src: Some(cs("sysfs")?),
                target: cstr(p)?,
                fstype: Some(cs("sysfs")?),
                flags: libc::MS_RDONLY | NOSUID_NODEV | libc::MS_NOEXEC,
                data: None,
                skip_missing: false,
            }),
            RootOp::MaskDir(p) => out.push(mask_dir(cstr(p)?)?),
            RootOp::MaskFile { target, null } => out.push(RawOp::Mount {
                src: Some(cstr(null)?),
                target: cstr(target)?,
                fstype: None,
                flags: libc::MS_BIND,
                data: None,
                skip_missing: true,
            }),
            RootOp::RootReadOnly(p) => out.push(RawOp::Mount {
                src: None,
                target: cstr(p)?,
                fstype: None,
                flags: libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | NOSUID_NODEV,
                data: None,
                skip_missing: false,
            }),
        }
    }
    Ok(out)
}

fn mask_dir(target: CString) -> Result<RawOp, JailError> {
    Ok(RawOp::Mount {
        src: Some(cs("tmpfs")?),
        target,
        fstype: Some(cs("tmpfs")?),
        flags: libc::MS_RDONLY | NOSUID_NODEV | libc::MS_NOEXEC,
        data: Some(cs("size=0,mode=0555")?),
        skip_missing: true,
    })
}

/// Files in `/proc` covered with `/dev/null`: kernel memory, magic keys, timing and
/// key-ring information. Files that only uid 0 with capabilities can open (`kmsg`,
/// `kpage*`) are not masked: a jail never has either, and every mask is a mount on every start.
pub const PROC_MASKED_FILES: &[&str] = &[
    "kcore",
    "sysrq-trigger",
    "timer_list",
    "sched_debug",
    "latency_stats",
    "keys",
    "key-users",
    "kallsyms",
];

/// Directories in `/proc` covered with an empty read-only tmpfs.
pub const PROC_MASKED_DIRS: &[&str] = &["acpi", "scsi", "asound", "driver"];

/// Directories in `/proc` made read-only: the kernel's tunables. (`irq`, `bus`, `fs` are
/// writable only by uid 0, which a jail never is.)
pub const PROC_READ_ONLY: &[&str] = &["sys"];

/// The `/proc` steps init performs after `pivot_root`, from inside the new PID namespace.
pub(crate) fn lower_proc() -> Result<Vec<RawOp>, JailError> {
    let mut out = vec![RawOp::Mount {
        src: Some(cs("proc")?),
        target: cs("/proc")?,
        fstype: Some(cs("proc")?),
        flags: NOSUID_NODEV | libc::MS_NOEXEC,
        data: None,
        skip_missing: false,
    }];
    for f in PROC_MASKED_FILES {
        out.push(RawOp::Mount {
            src: Some(cs("/dev/null")?),
            target: cs(&format!("/proc/{f}"))?,
            fstype: None,
            flags: libc::MS_BIND,
            data: None,
            skip_missing: true,
        });
    }
    for d in PROC_MASKED_DIRS {
        out.push(mask_dir(cs(&format!("/proc/{d}"))?)?);
    }
    for d in PROC_READ_ONLY {
        let target = cs(&format!("/proc/{d}"))?;
        out.push(RawOp::Mount {
            src: Some(target.clone()),
            target: target.clone(),
            fstype: None,
            flags: libc::MS_BIND | libc::MS_REC,
            data: None,
            skip_missing: true,
        });
        out.push(RawOp::Mount {
            src: None,
            target,
            fstype: None,
            flags: libc::MS_BIND
                | libc::MS_REMOUNT
                | libc::MS_RDONLY
                | NOSUID_NODEV
                | libc::MS_NOEXEC,
            data: None,
            skip_missing: true,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_describe_themselves_for_errors() {
        let ops = lower_root(&[
            RootOp::Overlay {
                layers: vec!["/x/wh0".into(), "/etc".into()],
                target: "/s/etc".into(),
            },
            RootOp::Bind {
                src: "/usr".into(),
                target: "/s/usr".into(),
                writable: false,
            },
        ])
        .unwrap();
        let words: Vec<String> = ops.iter().map(RawOp::describe).collect();
        assert_eq!(
            words,
            vec![
                "mount overlay on /s/etc",
                "bind /usr on /s/usr",
                "set read-only/nosuid/nodev on the mounts under /s/usr",
            ]
        );
    }
}
