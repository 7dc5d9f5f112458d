//! What runs after `clone`: the jail's init (PID 1) and, forked from it, the workload.
//!
//! Everything in this file is async-signal-safe. It only reads the [`ChildPlan`] that the
//! parent built before the clone and calls the raw syscalls of `sys`. It never allocates,
//! formats, locks, panics on purpose, or touches Rust's stdio. A failing step writes an
//! 8-byte record `(stage, errno)` to the error pipe and exits; the parent turns that record
//! into a `JailError`. When the workload's `execve` succeeds, the last copy of the error
//! pipe closes (it is close-on-exec) and the parent reads EOF: the jail is running.
//!
//! Order (the comments in `run_init` say why each step sits where it does):
//! 1. parent-death signal; 2. private mount propagation; 3. build the root;
//! 4. hostname, loopback; 5. join the jail's cgroup, then a new cgroup namespace;
//! 6. `pivot_root` and detach the host's root; 7. `/proc` and its masks;
//! 8. pty (with `--tty`); 9. Landlock rules; 10. rlimits; 11. capability bounding set;
//! 12. uid/gid/groups; 13. clear capabilities; 14. `no_new_privs`, not dumpable;
//! 15. Landlock restrict; 16. seccomp; 17. fork the workload.
//!
//! Init then reaps and forwards signals until the workload ends, and exits with its status.

use std::ffi::CString;
use std::os::fd::RawFd;

use libc::{c_char, c_int};
use nix::errno::Errno;

use crate::lower::RawOp;
use crate::seccomp::SeccompFilters;
use crate::sys;

/// Declares [`Stage`] and its decoder from one list, so the two cannot drift apart.
macro_rules! stages {
    ($($(#[doc = $doc:literal])* $name:ident = $n:literal,)*) => {
        /// Steps a child can fail at; the numbers travel through the error pipe.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u32)]
        pub enum Stage {
            $($(#[doc = $doc])* $name = $n,)*
        }

        impl Stage {
            /// Decodes a stage number from the error pipe.
            pub fn from_u32(n: u32) -> Option<Stage> {
                match n {
                    $($n => Some(Stage::$name),)*
                    _ => None,
                }
            }
        }
    };
}

stages! {
    /// Setting the parent-death signal.
    ParentDeathSignal = 1,
    /// Making mount propagation private.
    PrivatePropagation = 2,
    /// Building the root (the detail says which operation).
    BuildRoot = 3,
    /// Setting the hostname.
    Hostname = 4,
    /// Bringing loopback up.
    Loopback = 5,
    /// Waiting for the parent.
    WaitParent = 6,
    /// Joining the jail's cgroup.
    JoinCgroup = 7,
    /// Entering a new cgroup namespace.
    CgroupNamespace = 8,
    /// `pivot_root`.
    PivotRoot = 9,
    /// Mounting and masking `/proc`.
    MountProc = 10,
    /// Creating the pty.
    Pty = 11,
    /// Adding Landlock rules.
    LandlockRules = 12,
    /// Setting rlimits.
    Rlimits = 13,
    /// Dropping the capability bounding and ambient sets.
    DropBounding = 14,
    /// Switching uid/gid/groups.
    Identity = 15,
    /// Clearing capabilities.
    ClearCapabilities = 16,
    /// Setting no_new_privs.
    NoNewPrivs = 17,
    /// Applying the Landlock ruleset.
    LandlockRestrict = 18,
    /// Installing seccomp.
    Seccomp = 19,
    /// Changing directory to the workdir.
    Chdir = 20,
    /// Forking the workload.
    ForkWorkload = 21,
    /// Setting up the workload's terminal.
    Terminal = 22,
    /// Executing the command.
    Exec = 23,
}

/// Exit status of init when a setup step failed (the parent reads the reason from the pipe).
pub const SETUP_FAILED: c_int = 125;

/// A NULL-terminated array of pointers into owned C strings, for `execve`.
pub(crate) struct CArray {
    _strings: Vec<CString>,
    ptrs: Vec<*const c_char>,
}

impl CArray {
    pub(crate) fn new(strings: Vec<CString>) -> Self {
        let mut ptrs: Vec<*const c_char> = strings.iter().map(|s| s.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        Self {
            _strings: strings,
            ptrs,
        }
    }
    pub(crate) fn as_slice(&self) -> &[*const c_char] {
        &self.ptrs
    }
}

/// Everything the child needs, built before the clone.
pub(crate) struct ChildPlan {
    pub root_ops: Vec<RawOp>,
    pub proc_ops: Vec<RawOp>,
    pub stage_dir: CString,
    pub hostname: Vec<u8>,
    pub landlock_fd: Option<RawFd>,
    pub landlock_rules: Vec<(CString, u64)>,
    pub rlimits: Vec<(c_int, u64)>,
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub seccomp: SeccompFilters,
    pub cwd: CString,
    pub exec_candidates: Vec<CString>,
    pub argv: CArray,
    pub envp: CArray,
    /// Files init writes "0" into to join its cgroup (v1 `tasks`, v2 `cgroup.procs`).
    pub cgroup_join: Vec<CString>,
    /// Read end: one byte from the parent right after the clone; EOF means it died.
    pub sync_fd: RawFd,
    /// Write end: `(stage, errno)` records; close-on-exec.
    pub err_fd: RawFd,
    /// With --tty: socket on which the pty master goes to the parent.
    pub tty_sock: Option<RawFd>,
    /// Every descriptor init keeps (sync, err, tty socket, Landlock ruleset), ascending; init
    /// closes all others first thing (the parent's sockets, e.g. to the DNS filter).
    pub keep_fds: Vec<RawFd>,
    /// The workload's stack until it execs (it shares init's memory, see `spawn_vfork`).
    pub workload_stack: std::cell::RefCell<Vec<u8>>,
}

fn report(fd: RawFd, stage: Stage, detail: u32, errno: Errno) {
    let mut rec = [0u8; 12];
    rec[..4].copy_from_slice(&(stage as u32).to_le_bytes());
    rec[4..8].copy_from_slice(&detail.to_le_bytes());
    rec[8..].copy_from_slice(&(errno as i32).to_le_bytes());
    let _ = sys::write_all(fd, &rec);
}

fn fail(plan: &ChildPlan, stage: Stage, detail: u32, errno: Errno) -> ! {
    report(plan.err_fd, stage, detail, errno);
    sys::exit_now(SETUP_FAILED)
}

fn check<T>(plan: &ChildPlan, stage: Stage, r: Result<T, Errno>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => fail(plan, stage, 0, e),
    }
}

fn run_ops(plan: &ChildPlan, ops: &[RawOp], stage: Stage) {
    for (i, op) in ops.iter().enumerate() {
        let r = match op {
            RawOp::Mount {
                src,
                target,
                fstype,
                flags,
                data,
                skip_missing,
            } => match sys::mount(
                src.as_deref(),
                target,
                fstype.as_deref(),
                *flags,
                data.as_deref(),
            ) {
                Err(Errno::ENOENT) if *skip_missing => Ok(()),
                r => r,
            },
            RawOp::SetAttr { target, attr } => sys::mount_setattr_recursive(target, *attr),
            RawOp::Mkdir { path, mode } => match sys::mkdir(path, *mode) {
                Err(Errno::EEXIST) => Ok(()),
                r => r,
            },
            RawOp::Touch { path } => sys::touch(path),
            RawOp::WriteFile { path, contents } => sys::write_new_file(path, contents),
            RawOp::Symlink { target, link } => sys::symlink(target, link),
            RawOp::CharDev {
                path,
                mode,
                major,
                minor,
            } => sys::mknod_char(path, *mode, *major, *minor),
        };
        if let Err(e) = r {
            fail(plan, stage, u32::try_from(i).unwrap_or(u32::MAX), e);
        }
    }
}

/// Closes every descriptor from 3 up except `keep` (ascending). Post-fork safe.
fn close_all_but(keep: &[RawFd]) {
    let mut next: u32 = 3;
    for &fd in keep {
        let Ok(fd) = u32::try_from(fd) else { continue };
        if fd < next {
            continue;
        }
        if fd > next {
            let _ = sys::close_range(next, fd - 1);
        }
        next = fd + 1;
    }
    let _ = sys::close_range(next, u32::MAX);
}

/// The jail's init. Runs as PID 1 of the new PID namespace; never returns.
pub(crate) fn run_init(plan: &ChildPlan) -> ! {
    // 1. If the parent dies, so does the jail (PID 1 exiting kills the whole namespace).
    check(
        plan,
        Stage::ParentDeathSignal,
        sys::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as _),
    );
    //    And nothing of the parent's but what init needs: the parent holds descriptors (its
    //    connection to the DNS filter, lock files) that a jail has no business with.
    close_all_but(&plan.keep_fds);
    // 2. Nothing we mount may propagate back to the host.
    check(
        plan,
        Stage::PrivatePropagation,
        sys::mount(None, c"/", None, libc::MS_REC | libc::MS_PRIVATE, None),
    );
    // 3. Build the root while the parent places us in the cgroup (both cores work).
    sys::umask(0);
    run_ops(plan, &plan.root_ops, Stage::BuildRoot);
    // 4. UTS and network namespaces are ours: name the host, bring loopback up.
    check(plan, Stage::Hostname, sys::sethostname(&plan.hostname));
    check(plan, Stage::Loopback, sys::loopback_up());
    // 5. Join the jail's cgroup ourselves: a single-threaded task moving itself ("0" into
    //    v1 `tasks`) skips the kernel's global threadgroup lock, whose write side waits for
    //    an RCU grace period (~5 ms) when the parent moves us by pid. Then a new cgroup
    //    namespace, so the jail sees its own cgroup as the root. The parent's byte arrived
    //    right after the clone; EOF means it died before we set the death signal.
    let mut go = [0u8; 1];
    match sys::read(plan.sync_fd, &mut go) {
        Ok(1) => {}
        Ok(_) => sys::exit_now(SETUP_FAILED),
        Err(e) => fail(plan, Stage::WaitParent, 0, e),
    }
    for (i, file) in plan.cgroup_join.iter().enumerate() {
        if let Err(e) = sys::write_file(file, b"0") {
            fail(
                plan,
                Stage::JoinCgroup,
                u32::try_from(i).unwrap_or(u32::MAX),
                e,
            );
        }
    }
    check(
        plan,
        Stage::CgroupNamespace,
        sys::unshare(libc::CLONE_NEWCGROUP),
    );
    // 6. Enter the new root; the host's root is detached, not just hidden.
    check(plan, Stage::PivotRoot, sys::chdir(&plan.stage_dir));
    check(plan, Stage::PivotRoot, sys::pivot_root_here());
    check(plan, Stage::PivotRoot, sys::umount_detach(c"."));
    check(plan, Stage::PivotRoot, sys::chdir(c"/"));
    // 7. procfs for our PID namespace, with kernel interfaces masked.
    run_ops(plan, &plan.proc_ops, Stage::MountProc);
    // 8. The pty comes from the jail's own devpts; the master goes to the parent.
    let tty_slave = plan.tty_sock.map(|sock| {
        let (master, slave) = check(plan, Stage::Pty, sys::open_pty_pair());
        check(plan, Stage::Pty, sys::send_fd(sock, master));
        sys::close(master);
        sys::close(sock);
        slave
    });
    // 9. Landlock rules name paths as the jail sees them, so they are added after pivot_root.
    if let Some(fd) = plan.landlock_fd {
        for (path, access) in &plan.landlock_rules {
            check(
                plan,
                Stage::LandlockRules,
                sys::landlock_add_path_rule(fd, path, *access),
            );
        }
    }
    // 10.-14. Resource limits, then give up every privilege, in the order the kernel needs:
    //     the bounding set while we still have CAP_SETPCAP, the uid change last.
    for (res, value) in &plan.rlimits {
        check(plan, Stage::Rlimits, sys::set_rlimit(*res, *value));
    }
    check(plan, Stage::DropBounding, sys::drop_bounding_and_ambient());
    check(
        plan,
        Stage::Identity,
        sys::set_identity(plan.uid, plan.gid, &plan.groups),
    );
    // The uid change cleared the death signal (the kernel resets it on credential changes):
    // arm it again, then check the parent did not die in between. The parent holds the sync
    // pipe's write end until the jail ends, so a hang-up means it is gone.
    check(
        plan,
        Stage::ParentDeathSignal,
        sys::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as _),
    );
    if sys::peer_closed(plan.sync_fd) {
        sys::exit_now(SETUP_FAILED);
    }
    sys::close(plan.sync_fd);
    check(plan, Stage::ClearCapabilities, sys::clear_capabilities());
    check(
        plan,
        Stage::NoNewPrivs,
        sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1),
    );
    // Threat: the workload (same uid) writing init's memory through /proc/1/mem.
    check(
        plan,
        Stage::NoNewPrivs,
        sys::prctl(libc::PR_SET_DUMPABLE, 0),
    );
    // 15. Landlock applies to init and everything it forks.
    if let Some(fd) = plan.landlock_fd {
        check(
            plan,
            Stage::LandlockRestrict,
            sys::landlock_restrict_self(fd),
        );
        sys::close(fd);
    }
    // 16. Seccomp last: the steps above use calls the filter refuses (mount, pivot_root…).
    check(plan, Stage::Seccomp, plan.seccomp.install());
    check(plan, Stage::Chdir, sys::chdir(&plan.cwd));
    // 17. Signals are taken synchronously; the workload gets a clean mask.
    check(
        plan,
        Stage::ForkWorkload,
        sys::sigmask_all(libc::SIG_SETMASK, true),
    );
    // posix_spawn-style: the workload shares init's memory until it execs (no page-table
    // copy); it only makes raw syscalls, on its own stack, built before the clone.
    let mut stack = plan.workload_stack.borrow_mut();
    let workload = match sys::spawn_vfork(&mut stack[..], || run_workload(plan, tty_slave)) {
        Ok(pid) => pid,
        Err(e) => fail(plan, Stage::ForkWorkload, 0, e),
    };
    drop(stack);
    sys::close(plan.err_fd);
    if let Some(slave) = tty_slave {
        sys::close(slave);
        // With a pty, init has no use for the caller's terminal: keep no handle on it.
        if let Ok(null) = sys::open(c"/dev/null", libc::O_RDWR) {
            for fd in 0..3 {
                let _ = sys::dup2(null, fd);
            }
            sys::close(null);
        }
    }
    reap_until(workload)
}

/// Forwards signals to the workload and reaps every orphan until the workload ends;
/// then exits with its status (128+N when it was killed by signal N).
fn reap_until(workload: libc::pid_t) -> ! {
    loop {
        let sig = match sys::wait_any_signal() {
            Ok(sig) => sig,
            Err(_) => continue,
        };
        if sig != libc::SIGCHLD {
            let _ = sys::kill(workload, sig);
            continue;
        }
        loop {
            match sys::waitpid(-1, false) {
                Ok(sys::Reaped::Child { pid, status }) if pid == workload => {
                    let code = if libc::WIFEXITED(status) {
                        libc::WEXITSTATUS(status)
                    } else if libc::WIFSIGNALED(status) {
                        128 + libc::WTERMSIG(status)
                    } else {
                        continue;
                    };
                    // Leaving as PID 1 makes the kernel kill everything else in the jail.
                    sys::exit_now(code)
                }
                Ok(sys::Reaped::Child { .. }) => {}
                Ok(sys::Reaped::Nothing) | Err(_) => break,
            }
        }
    }
}

fn run_workload(plan: &ChildPlan, tty_slave: Option<RawFd>) -> core::convert::Infallible {
    sys::reset_signal_dispositions();
    let _ = sys::sigmask_all(libc::SIG_SETMASK, false);
    // Init built the root under umask 0; the command gets the usual 022, so what it creates
    // in a host workdir is not writable by every account on the host.
    sys::umask(0o022);
    if let Some(slave) = tty_slave {
        // A session of its own whose controlling terminal is the jail's pty: the host's
        // terminal is never reachable, so TIOCSTI has nothing to inject into.
        check(plan, Stage::Terminal, sys::setsid());
        for fd in 0..3 {
            check(plan, Stage::Terminal, sys::dup2(slave, fd));
        }
        check(plan, Stage::Terminal, sys::set_controlling_tty(0));
    }
    // Threat: descriptors leaked from the caller. Only stdio survives (the error pipe is
    // close-on-exec).
    let err = plan.err_fd as u32;
    let _ = sys::close_range(3, err.saturating_sub(1));
    let _ = sys::close_range(err + 1, u32::MAX);
    let mut last = Errno::ENOENT;
    for path in &plan.exec_candidates {
        let e = sys::execve(path, plan.argv.as_slice(), plan.envp.as_slice());
        // Like execvp: keep looking after ENOENT/ENOTDIR, remember a permission error.
        if e != Errno::ENOENT && e != Errno::ENOTDIR {
            last = e;
        }
    }
    report(plan.err_fd, Stage::Exec, 0, last);
    sys::exit_now(if last == Errno::ENOENT { 127 } else { 126 })
}

#[cfg(test)]
mod tests {
    use super::Stage;

    #[test]
    fn stages_round_trip_through_their_numbers() {
        for n in 1..=23 {
            let stage = Stage::from_u32(n).unwrap();
            assert_eq!(stage as u32, n);
        }
        assert_eq!(Stage::from_u32(0), None);
        assert_eq!(Stage::from_u32(24), None);
    }
}
