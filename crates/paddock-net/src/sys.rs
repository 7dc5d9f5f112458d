//! Network namespaces: opening one and running code inside it on a short-lived thread.
//!
//! `setns(CLONE_NEWNET)` changes the namespace of the calling *thread* only, so a thread that
//! enters a jail's namespace and then ends leaves the rest of the process where it was: the
//! supervisor's own namespace never changes. Sockets keep the namespace they were created in,
//! so a netlink socket made on such a thread configures the jail's links, and a child process
//! spawned from it (`nft`) starts in that namespace. Files under `/proc/sys/net` resolve
//! against the opening thread's namespace too, which is how the jail side's sysctls are set.
//!
//! This module holds no `unsafe`: `nix::sched::setns` wraps the one system call it needs.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::sched::{setns, CloneFlags};

use crate::error::{NetError, Result};

/// An open network namespace (a file from `/proc/<pid>/ns/net`, `/run/netns/<name>`, or a
/// namespace fd handed over by the jail code).
#[derive(Debug)]
pub struct Netns {
    fd: OwnedFd,
    label: String,
}

impl Netns {
    /// Opens the namespace file at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|source| NetError::Netns {
            action: "open",
            target: path.display().to_string(),
            source,
        })?;
        Ok(Self {
            fd: file.into(),
            label: path.display().to_string(),
        })
    }

    /// Opens the network namespace of process `pid` (e.g. a jail's init).
    pub fn of_pid(pid: u32) -> Result<Self> {
        Self::open(&Path::new("/proc").join(pid.to_string()).join("ns/net"))
    }

    /// Wraps a namespace fd the caller already holds; `label` names it in errors.
    pub fn from_fd(fd: OwnedFd, label: &str) -> Self {
        Self {
            fd,
            label: label.to_string(),
        }
    }

    /// What errors call this namespace.
    pub fn label(&self) -> &str {
        &self.label
    }
}

impl AsFd for Netns {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Runs `f` on a new thread that has entered `ns`, and returns what it returns. The calling
/// thread and the rest of the process stay in their own namespace. A panic in `f` is resumed
/// on the caller.
pub fn in_netns<T: Send>(ns: &Netns, f: impl FnOnce() -> T + Send) -> Result<T> {
    let fd = ns.as_fd();
    let joined = std::thread::scope(|s| {
        s.spawn(move || {
            setns(fd, CloneFlags::CLONE_NEWNET).map_err(|errno| NetError::Netns {
                action: "enter",
                target: ns.label.clone(),
                source: io::Error::from(errno),
            })?;
            Ok(f())
        })
        .join()
    });
    match joined {
        Ok(result) => result,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}
