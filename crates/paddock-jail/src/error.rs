//! The jail's errors: each variant names the action that failed and carries the object.
//! Messages say what failed, on what, and what to do.

use std::path::PathBuf;

use nix::errno::Errno;

use crate::child::Stage;

/// Everything that can stop a jail from starting or finishing cleanly.
#[derive(Debug, thiserror::Error)]
pub enum JailError {
    /// The caller is not root.
    #[error("paddock jail must run as root (it creates namespaces, mounts and cgroups); run it with sudo")]
    NotRoot,
    /// The caller has more than one thread.
    #[error("the jail must be started from a single-threaded process (found {threads} threads)")]
    MultiThreaded {
        /// Thread count.
        threads: usize,
    },
    /// uid or gid 0 was asked for.
    #[error("refusing to run a jail as root (uid or gid 0); pick an unprivileged user with --user or --uid")]
    RootIdentity,
    /// The user name is unknown.
    #[error("unknown user {name:?}: no such account in the host's user database")]
    UnknownUser {
        /// The name.
        name: String,
    },
    /// The user database could not be read.
    #[error("cannot look up user {what}: {errno}")]
    UserLookup {
        /// What was looked up.
        what: String,
        /// The error.
        errno: Errno,
    },
    /// The command is empty.
    #[error("no command given: put the command after `--`")]
    NoCommand,
    /// The workdir is unusable.
    #[error("workdir {path}: {reason}")]
    Workdir {
        /// The path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A path or argument contains a NUL byte.
    #[error("{path} contains a NUL byte")]
    NulInPath {
        /// The path.
        path: PathBuf,
    },
    /// An argument or environment variable contains a NUL byte.
    #[error("argument or environment entry {what:?} contains a NUL byte")]
    NulInArgument {
        /// The offending text (lossy).
        what: String,
    },
    /// Landlock is required but the kernel lacks it.
    #[error("the policy requires Landlock (filesystem.landlock: required) but this kernel does not offer it; \
             boot with lsm=…,landlock or set filesystem.landlock: best_effort")]
    LandlockUnavailable,
    /// The Landlock ruleset could not be built.
    #[error("cannot build the Landlock ruleset: {reason}")]
    LandlockRuleset {
        /// Why.
        reason: String,
    },
    /// Seccomp compilation failed.
    #[error(transparent)]
    Seccomp(#[from] crate::seccomp::SeccompError),
    /// Cgroup setup or teardown failed.
    #[error(transparent)]
    Cgroup(#[from] crate::cgroup::CgroupError),
    /// The filesystem plan is impossible.
    #[error(transparent)]
    Plan(#[from] crate::plan::PlanError),
    /// Inspecting a host path failed.
    #[error("cannot inspect {path}: {source}")]
    Inspect {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A host-side preparation syscall failed.
    #[error("cannot {action}: {errno}")]
    Host {
        /// What we tried.
        action: &'static str,
        /// The error.
        errno: Errno,
    },
    /// A step inside the jail failed before the command started.
    #[error("jail setup failed at {stage:?}{detail}: {errno}")]
    Setup {
        /// The step.
        stage: Stage,
        /// Extra detail (e.g. which mount).
        detail: String,
        /// The error.
        errno: Errno,
    },
    /// The command was not found inside the jail.
    #[error("{command}: command not found in the jail (searched PATH as the jail sees it)")]
    CommandNotFound {
        /// The command.
        command: String,
    },
    /// The command could not be executed.
    #[error("{command}: cannot execute inside the jail: {errno}")]
    CommandNotExecutable {
        /// The command.
        command: String,
        /// The error.
        errno: Errno,
    },
    /// Host-side work between clone and release (e.g. the jail's network) failed.
    #[error("{what}: {source}")]
    StartHook {
        /// What the hook was doing.
        what: &'static str,
        /// Why it failed.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The terminal could not be relayed.
    #[error("terminal relay failed: {errno}")]
    Terminal {
        /// The error.
        errno: Errno,
    },
}

impl JailError {
    /// The exit status a CLI should use for this error (127/126 like a shell for exec errors).
    pub fn exit_code(&self) -> i32 {
        match self {
            JailError::CommandNotFound { .. } => 127,
            JailError::CommandNotExecutable { .. } => 126,
            _ => 125,
        }
    }
}
