//! `CgroupError`: one variant per action the cgroup layer takes; each carries the file it acted
//! on and the cause, and its message says what to do next.

use std::io;
use std::path::PathBuf;

use super::detect::Controller;

/// Why a cgroup operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CgroupError {
    /// Reading the mount table or the cgroup2 controller list failed.
    #[error(
        "cannot read {path} while detecting cgroup hierarchies: {source}; \
         check that /proc and the cgroup filesystems are mounted"
    )]
    Detect {
        /// File that could not be read.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },

    /// The mount table lists no cgroup v1 controller hierarchy and no cgroup2 mount.
    #[error(
        "no cgroup filesystem found in {mountinfo}; mount cgroup2 at /sys/fs/cgroup \
         (or the v1 controllers) before starting jails"
    )]
    NoCgroupFs {
        /// Mount table that was searched.
        mountinfo: PathBuf,
    },

    /// The jail's cgroup name is not acceptable.
    #[error(
        "invalid jail cgroup name {name:?}: {reason}; use 1 to 64 characters from \
         A-Z a-z 0-9 _ -"
    )]
    InvalidName {
        /// Name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A requested limit is outside what the kernel accepts.
    #[error("invalid {limit} limit {value}: {reason}")]
    InvalidLimit {
        /// Which limit (`memory_bytes`, `pids`, `cpu_millis`).
        limit: &'static str,
        /// Value as given.
        value: u64,
        /// What is wrong with it, and the accepted range.
        reason: &'static str,
    },

    /// A limit was requested for a controller this host does not provide (fail closed).
    #[error(
        "a {controller} limit was requested but this host has no {controller} cgroup controller \
         (no v1 hierarchy mounted for it, not in the cgroup2 root's cgroup.controllers); \
         enable the controller on the host or drop the limit from the policy"
    )]
    MissingController {
        /// Controller that is missing.
        controller: Controller,
    },

    /// Creating a cgroup directory failed.
    #[error(
        "cannot create cgroup directory {path}: {source}; check that the cgroup filesystem \
         is mounted read-write and that the supervisor runs as root"
    )]
    Create {
        /// Directory that could not be created.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },

    /// The jail's cgroup already exists: a previous jail of this name was not removed.
    #[error(
        "cgroup {path} already exists, left by an earlier jail of the same name; \
         reclaim it with cgroup::remove_stale or choose another name"
    )]
    AlreadyExists {
        /// Directory that already exists.
        path: PathBuf,
    },

    /// Writing `+<controller>` to a v2 `cgroup.subtree_control` failed.
    #[error(
        "cannot enable the {controller} controller in {path}: {source}; the parent must have \
         it enabled and must hold no processes of its own (cgroup v2 no-internal-process rule)"
    )]
    EnableController {
        /// The `cgroup.subtree_control` file.
        path: PathBuf,
        /// Controller being enabled.
        controller: Controller,
        /// Cause.
        source: io::Error,
    },

    /// A v2 `cgroup.subtree_control` does not list a controller after enabling it.
    #[error(
        "the {controller} controller is not enabled in {path} after writing +{controller}; \
         the kernel refused it: check that it is enabled in every ancestor"
    )]
    ControllerNotEnabled {
        /// The `cgroup.subtree_control` file.
        path: PathBuf,
        /// Controller that stayed disabled.
        controller: Controller,
    },

    /// Writing a limit file failed.
    #[error(
        "cannot write {value:?} to {path}: {source}; check that the value is in the range \
         the kernel accepts and that the parent group does not impose a lower bound"
    )]
    WriteLimit {
        /// Control file.
        path: PathBuf,
        /// Value written.
        value: String,
        /// Cause.
        source: io::Error,
    },

    /// Reading a control file back after writing it failed.
    #[error("cannot read back {path} to verify the limit: {source}")]
    ReadBack {
        /// Control file.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },

    /// The kernel holds a different value than the one written (STYLE rule 8).
    #[error(
        "the kernel enforces {found:?} in {path}, not the requested {expected:?}; refusing to \
         run the jail with a limit other than the policy's"
    )]
    LimitMismatch {
        /// Control file.
        path: PathBuf,
        /// Value written.
        expected: String,
        /// Value read back.
        found: String,
    },

    /// Moving a process into a cgroup failed.
    #[error(
        "cannot move pid {pid} into {path}: {source}; check that the process still exists \
         and that the group was not removed"
    )]
    AddPid {
        /// The `cgroup.procs` file.
        path: PathBuf,
        /// Process id.
        pid: i32,
        /// Cause.
        source: io::Error,
    },

    /// Reading a `cgroup.procs` file failed.
    #[error("cannot list the processes in {path}: {source}")]
    ListPids {
        /// The `cgroup.procs` file.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },

    /// A control file holds something other than what the kernel documents.
    #[error("unexpected content {content:?} in {path}; is this really a cgroup filesystem?")]
    Parse {
        /// Control file.
        path: PathBuf,
        /// What it held.
        content: String,
    },

    /// Sending SIGKILL to a listed process failed.
    #[error("cannot send SIGKILL to pid {pid} listed in {path}: {source}")]
    Kill {
        /// The `cgroup.procs` file (or `cgroup.kill`, with pid 0) that named the target.
        path: PathBuf,
        /// Process id.
        pid: i32,
        /// Cause.
        source: io::Error,
    },

    /// The jail's group contains the calling process itself; killing it would kill the supervisor.
    #[error(
        "refusing to kill pid {pid} listed in {path}: it is this process; the supervisor \
         must never join a jail's cgroup"
    )]
    KillSelf {
        /// The `cgroup.procs` file.
        path: PathBuf,
        /// Our own pid.
        pid: i32,
    },

    /// Processes remained after the kill deadline.
    #[error(
        "processes {remaining:?} are still in {path} after {waited_ms} ms of SIGKILL; they are \
         probably stuck in uninterruptible sleep (check /proc/<pid>/stack), call kill_all again"
    )]
    KillTimeout {
        /// The `cgroup.procs` file that still lists processes.
        path: PathBuf,
        /// Pids still listed.
        remaining: Vec<i32>,
        /// How long we tried.
        waited_ms: u64,
    },

    /// Writing or polling a v1 `freezer.state` failed.
    #[error(
        "cannot freeze or thaw {path}: {source}; the group may stay frozen: write THAWED to it"
    )]
    Freeze {
        /// The `freezer.state` file.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },

    /// Removing a cgroup directory failed.
    #[error(
        "cannot remove cgroup {path}: {source}; processes or child groups remain in it: \
         kill_all first, or let remove_stale reclaim it later"
    )]
    Remove {
        /// Directory.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },

    /// Reading a usage counter failed.
    #[error("cannot read usage counter {path}: {source}")]
    Usage {
        /// Counter file.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },

    /// Listing the `paddock/` directory of a hierarchy failed.
    #[error("cannot list the jail groups in {path}: {source}")]
    ListGroups {
        /// The `paddock/` directory.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },
}
