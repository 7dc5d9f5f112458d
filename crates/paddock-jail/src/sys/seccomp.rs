//! `seccomp(2)` and the `prctl(2)` checks around it.
//!
//! Everything outside `#[cfg(test)]` runs in the jailed child after `fork`: no allocation, no
//! locks. The BPF programs were compiled and allocated before `fork`; this only passes
//! pointers to them.

use nix::errno::Errno;
use seccompiler::sock_filter;

// seccompiler's `sock_filter` is declared `#[repr(C)]` with the same fields as the kernel's
// (and libc's) `struct sock_filter`; these checks turn a layout drift into a build error.
const _: () =
    assert!(std::mem::size_of::<sock_filter>() == std::mem::size_of::<libc::sock_filter>());
const _: () =
    assert!(std::mem::align_of::<sock_filter>() == std::mem::align_of::<libc::sock_filter>());

/// Installs `programs` in order on the calling thread, after checking that `no_new_privs` is
/// set. `EACCES`: `no_new_privs` is not set (nothing was installed); any other errno comes
/// from `seccomp(2)` and earlier programs stay installed (the caller must then abort the
/// child, which it does for every setup error).
pub(crate) fn install_filters<P: AsRef<[sock_filter]>>(programs: &[P]) -> Result<(), Errno> {
    if !nix::sys::prctl::get_no_new_privs()? {
        return Err(Errno::EACCES);
    }
    for program in programs {
        set_mode_filter(program.as_ref())?;
    }
    Ok(())
}

/// `seccomp(SECCOMP_SET_MODE_FILTER, 0, prog)`: adds one filter to the calling thread.
fn set_mode_filter(program: &[sock_filter]) -> Result<(), Errno> {
    // `build` refuses empty programs and programs longer than u16::MAX; the kernel refuses
    // anything over 4096 instructions with EINVAL.
    let len = u16::try_from(program.len()).map_err(|_| Errno::EINVAL)?;
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    let fprog = libc::sock_fprog {
        len,
        // The kernel only reads through this pointer; `*mut` is libc's declaration.
        filter: program.as_ptr().cast::<libc::sock_filter>().cast_mut(),
    };
    // SAFETY: `fprog` points at `len` initialised `sock_filter`s (same layout as the kernel's,
    // checked above) that outlive the call; the kernel copies the program with
    // `copy_from_user` and keeps no pointer into our memory. Flags 0: no TSYNC, no listener.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0 as libc::c_ulong,
            &fprog as *const libc::sock_fprog,
        )
    };
    Errno::result(rc).map(drop)
}

/// Raw probes for the seccomp tests. Arguments are integers or pointers to locals, so a probe
/// is harmless even when the filter lets it through (the kernel then rejects the arguments).
#[cfg(test)]
pub(crate) mod probe {
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    use nix::errno::Errno;
    use nix::unistd::ForkResult;
    use seccompiler::sock_filter;

    /// `fork()`. The child must stick to async-signal-safe calls: the test harness is
    /// multi-threaded.
    pub(crate) fn fork() -> Result<ForkResult, Errno> {
        // SAFETY: callers run only raw syscalls, `write` on a pipe and `exit_now` in the
        // child: no allocation and no locks another thread might have held at fork.
        unsafe { nix::unistd::fork() }
    }

    /// `_exit(code)`: leaves without running atexit handlers or flushing the parent's stdio.
    pub(crate) fn exit_now(code: i32) -> ! {
        // SAFETY: `_exit` is async-signal-safe and takes no pointers.
        unsafe { libc::_exit(code) }
    }

    fn check(rc: libc::c_long) -> Result<libc::c_long, Errno> {
        Errno::result(rc)
    }

    /// `ptrace(PTRACE_TRACEME, 0, 0, 0)`.
    pub(crate) fn ptrace_traceme() -> Result<libc::c_long, Errno> {
        // SAFETY: PTRACE_TRACEME takes no pointers; if allowed, it only marks this child as
        // traced by its parent, and the child exits soon after.
        check(unsafe { libc::syscall(libc::SYS_ptrace, libc::PTRACE_TRACEME, 0, 0, 0) })
    }

    /// `socket(domain, ty, protocol)`; the descriptor is closed when dropped.
    pub(crate) fn socket(domain: i32, ty: i32, protocol: i32) -> Result<OwnedFd, Errno> {
        // SAFETY: integer arguments only.
        let fd = check(unsafe { libc::syscall(libc::SYS_socket, domain, ty, protocol) })?;
        let fd = i32::try_from(fd).map_err(|_| Errno::EOVERFLOW)?;
        // SAFETY: the kernel just returned `fd` as a new descriptor that nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// `clone3(NULL, 0)`: EINVAL from the kernel (size too small), ENOSYS from the filter.
    pub(crate) fn clone3_empty() -> Result<libc::c_long, Errno> {
        // SAFETY: size 0 makes the kernel reject the call before reading the NULL pointer;
        // no child can be created.
        check(unsafe { libc::syscall(libc::SYS_clone3, std::ptr::null::<u8>(), 0usize) })
    }

    /// `io_uring_setup(1, NULL)`: EFAULT from the kernel, the deny errno from the filter.
    pub(crate) fn io_uring_setup_null() -> Result<libc::c_long, Errno> {
        // SAFETY: a NULL params pointer makes the kernel fail with EFAULT before creating
        // anything.
        check(unsafe { libc::syscall(libc::SYS_io_uring_setup, 1u32, std::ptr::null::<u8>()) })
    }

    /// `ioctl(fd, cmd, &byte)` with a full 64-bit `cmd` (to try the high-bits bypass).
    pub(crate) fn ioctl_with_byte(fd: i32, cmd: u64) -> Result<libc::c_long, Errno> {
        let mut byte = b'x';
        // SAFETY: the third argument points at a live local byte, which is what TIOCSTI and
        // TIOCLINUX read; with `fd` -1 the kernel fails with EBADF before using it.
        check(unsafe { libc::syscall(libc::SYS_ioctl, fd, cmd, &mut byte as *mut u8) })
    }

    /// `mount(NULL, NULL, NULL, 0, NULL)`: EFAULT or EPERM from the kernel.
    pub(crate) fn mount_null() -> Result<libc::c_long, Errno> {
        let null = std::ptr::null::<libc::c_char>();
        // SAFETY: NULL strings make the kernel fail (EFAULT for the target) before mounting.
        check(unsafe { libc::syscall(libc::SYS_mount, null, null, null, 0, null) })
    }

    /// `syscall(nr, a, b, c, 0, 0, 0)` with integer arguments that are never valid
    /// addresses in this process (0, flags, or values the kernel does not dereference).
    pub(crate) fn ints(
        nr: libc::c_long,
        a: libc::c_long,
        b: libc::c_long,
        c: libc::c_long,
    ) -> Result<libc::c_long, Errno> {
        // SAFETY: no argument points into this process: where the kernel expects a pointer
        // the callers pass 0 (NULL, never mapped), which it rejects with EFAULT or ignores.
        // Callers keep out syscalls whose zero arguments act on the host (reboot, kexec…).
        check(unsafe { libc::syscall(nr, a, b, c, 0, 0, 0) })
    }

    /// Makes `cmd` set `no_new_privs` and install `programs` in the child, between `fork`
    /// and `exec`.
    pub(crate) fn install_before_exec(cmd: &mut Command, programs: Vec<Vec<sock_filter>>) {
        let hook = move || -> std::io::Result<()> {
            nix::sys::prctl::set_no_new_privs()?;
            super::install_filters(&programs)?;
            Ok(())
        };
        // SAFETY: the hook runs between fork and exec and is async-signal-safe: two prctl
        // calls and seccomp(2) on programs allocated before fork; errors become
        // `io::Error::from_raw_os_error`, which does not allocate.
        unsafe {
            cmd.pre_exec(hook);
        }
    }
}
