//! Raw syscall wrappers: the only place in this crate where `unsafe` lives.
//!
//! Two kinds of function live here:
//! - pre-fork helpers (`clone_fork`, `clone3_into_cgroup`, `landlock_abi`), called from normal code;
//! - post-fork steps, called by the jail's init and workload between `fork` and `execve`.
//!   These are async-signal-safe: each is one or a few syscalls on data that was built
//!   before the fork. They never allocate, lock, or touch Rust's stdio.
#![allow(unsafe_code)]

pub mod seccomp;

use std::ffi::CStr;
use std::os::fd::RawFd;

use libc::{c_char, c_int, c_ulong};
use nix::errno::Errno;

/// Outcome of [`clone_fork`] and [`clone3_into_cgroup`].
pub enum Forked {
    /// In the parent, with the child's pid (as seen from the parent's pid namespace).
    Parent(libc::pid_t),
    /// In the child.
    Child,
}

fn opt_ptr(s: Option<&CStr>) -> *const c_char {
    s.map_or(std::ptr::null(), CStr::as_ptr)
}

/// `mount(2)` with pre-built C strings.
pub fn mount(
    src: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: c_ulong,
    data: Option<&CStr>,
) -> Result<(), Errno> {
    // SAFETY: every pointer is either null or points to a NUL-terminated string that outlives
    // the call; the kernel copies them.
    let rc = unsafe {
        libc::mount(
            opt_ptr(src),
            target.as_ptr(),
            opt_ptr(fstype),
            flags,
            opt_ptr(data).cast(),
        )
    };
    Errno::result(rc).map(drop)
}

/// Sets `attr_set` (MOUNT_ATTR_* bits) on the mount at `path` and every mount below it
/// (`mount_setattr(2)` with `AT_RECURSIVE`). Post-fork safe.
pub fn mount_setattr_recursive(path: &CStr, attr_set: u64) -> Result<(), Errno> {
    let attr = libc::mount_attr {
        attr_set,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: `path` is NUL-terminated; `attr` is a valid mount_attr whose size we pass.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            path.as_ptr(),
            libc::AT_RECURSIVE as c_ulong,
            &attr as *const libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    };
    Errno::result(rc).map(drop)
}

/// `pivot_root(".", ".")`: the caller has `chdir`ed into the new root.
pub fn pivot_root_here() -> Result<(), Errno> {
    let dot = c".";
    // SAFETY: both arguments are static NUL-terminated strings.
    let rc = unsafe { libc::syscall(libc::SYS_pivot_root, dot.as_ptr(), dot.as_ptr()) };
    Errno::result(rc).map(drop)
}

/// `umount2(path, MNT_DETACH)`.
pub fn umount_detach(path: &CStr) -> Result<(), Errno> {
    // SAFETY: `path` is NUL-terminated.
    let rc = unsafe { libc::umount2(path.as_ptr(), libc::MNT_DETACH) };
    Errno::result(rc).map(drop)
}

/// The Landlock ABI version the kernel offers (0 when Landlock is unavailable).
pub fn landlock_abi() -> i32 {
    const LANDLOCK_CREATE_RULESET_VERSION: c_ulong = 1;
    // SAFETY: with a null attr, size 0 and the VERSION flag, the call only returns an integer.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if rc < 0 {
        0
    } else {
        i32::try_from(rc).unwrap_or(0)
    }
}

/// `landlock_restrict_self(fd, 0)`. Post-fork safe.
pub fn landlock_restrict_self(ruleset_fd: RawFd) -> Result<(), Errno> {
    // SAFETY: plain syscall on an fd; no pointers.
    let rc = unsafe { libc::syscall(libc::SYS_landlock_restrict_self, ruleset_fd, 0u32) };
    Errno::result(rc).map(drop)
}

/// `prctl(option, arg2, 0, 0, 0)`. Post-fork safe.
pub fn prctl(option: c_int, arg2: c_ulong) -> Result<c_int, Errno> {
    // SAFETY: the prctl options we use take integer arguments only.
    let rc = unsafe { libc::prctl(option, arg2, 0 as c_ulong, 0 as c_ulong, 0 as c_ulong) };
    Errno::result(rc)
}

/// Drops every capability from the bounding set and clears the ambient set (the permitted,
/// effective and inheritable sets are cleared by [`clear_capabilities`] after the uid change).
/// Post-fork safe.
pub fn drop_bounding_and_ambient() -> Result<(), Errno> {
    // Capability sets are 64 bits wide (capset v3): every capability a kernel can know is
    // below 64, and the ones this kernel does not know answer EINVAL.
    for cap in 0..64u32 {
        match prctl(libc::PR_CAPBSET_DROP, c_ulong::from(cap)) {
            // EINVAL: the kernel does not know this capability; nothing to drop.
            Ok(_) | Err(Errno::EINVAL) => {}
            Err(e) => return Err(e),
        }
    }
    prctl(
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_CLEAR_ALL as c_ulong,
    )
    .map(drop)
}

/// Sets permitted, effective and inheritable capability sets to empty. Post-fork safe.
pub fn clear_capabilities() -> Result<(), Errno> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: c_int,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
    let mut header = Header {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [Data {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: header and data have the kernel's v3 layout (two 32-bit data words) and live
    // for the duration of the call.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut header as *mut Header, data.as_ptr()) };
    Errno::result(rc).map(drop)
}

/// `setgroups`, `setresgid`, `setresuid`, in that order. Post-fork safe.
pub fn set_identity(
    uid: libc::uid_t,
    gid: libc::gid_t,
    groups: &[libc::gid_t],
) -> Result<(), Errno> {
    // SAFETY: `groups` is a valid slice whose length we pass.
    Errno::result(unsafe { libc::setgroups(groups.len(), groups.as_ptr()) })?;
    // SAFETY: plain integer syscalls.
    Errno::result(unsafe { libc::setresgid(gid, gid, gid) })?;
    // SAFETY: plain integer syscalls.
    Errno::result(unsafe { libc::setresuid(uid, uid, uid) }).map(drop)
}

/// `setrlimit` with soft = hard = `value`. Post-fork safe.
pub fn set_rlimit(resource: c_int, value: u64) -> Result<(), Errno> {
    let lim = libc::rlimit {
        rlim_cur: value,
        rlim_max: value,
    };
    // SAFETY: `lim` is a valid rlimit; the resource number comes from libc constants.
    #[allow(clippy::useless_conversion)]
    let rc = unsafe { libc::setrlimit(resource as _, &lim) };
    Errno::result(rc).map(drop)
}

/// `close_range(first, last, 0)`. Post-fork safe.
pub fn close_range(first: u32, last: u32) -> Result<(), Errno> {
    if first > last {
        return Ok(());
    }
    // SAFETY: closing descriptors is memory-safe; callers only close fds they do not use.
    let rc = unsafe { libc::syscall(libc::SYS_close_range, first, last, 0u32) };
    Errno::result(rc).map(drop)
}

/// `dup2(old, new)`; when `old == new`, clears `FD_CLOEXEC` instead. Post-fork safe.
pub fn dup2(old: RawFd, new: RawFd) -> Result<(), Errno> {
    if old == new {
        // SAFETY: fcntl on an fd with integer arguments.
        return Errno::result(unsafe { libc::fcntl(old, libc::F_SETFD, 0) }).map(drop);
    }
    // SAFETY: plain fd syscall.
    Errno::result(unsafe { libc::dup2(old, new) }).map(drop)
}

/// `close(fd)`, ignoring errors. Post-fork safe.
pub fn close(fd: RawFd) {
    // SAFETY: the caller owns `fd` and never uses it again.
    unsafe { libc::close(fd) };
}

/// `read(2)` into `buf`. Post-fork safe.
pub fn read(fd: RawFd, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
    let rc = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    Errno::result(rc).map(|n| n.unsigned_abs())
}

/// `write(2)` of all of `buf` (retrying on EINTR). Post-fork safe.
pub fn write_all(fd: RawFd, mut buf: &[u8]) -> Result<(), Errno> {
    while !buf.is_empty() {
        // SAFETY: `buf` is valid for reads of `buf.len()` bytes.
        let rc = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        match Errno::result(rc) {
            Ok(n) => buf = &buf[n.unsigned_abs()..],
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `chdir(path)`. Post-fork safe.
pub fn chdir(path: &CStr) -> Result<(), Errno> {
    // SAFETY: `path` is NUL-terminated.
    Errno::result(unsafe { libc::chdir(path.as_ptr()) }).map(drop)
}

/// `setsid()`. Post-fork safe.
pub fn setsid() -> Result<(), Errno> {
    // SAFETY: no arguments.
    Errno::result(unsafe { libc::setsid() }).map(drop)
}

/// `ioctl(fd, TIOCSCTTY, 0)`: makes the tty on `fd` the controlling terminal. Post-fork safe.
pub fn set_controlling_tty(fd: RawFd) -> Result<(), Errno> {
    // SAFETY: TIOCSCTTY takes an integer argument.
    Errno::result(unsafe { libc::ioctl(fd, libc::TIOCSCTTY, 0 as c_int) }).map(drop)
}

/// `unshare(flags)`. Used before fork by the parent and after fork by init (cgroup ns).
pub fn unshare(flags: c_int) -> Result<(), Errno> {
    // SAFETY: plain integer syscall.
    Errno::result(unsafe { libc::unshare(flags) }).map(drop)
}

/// Blocks (`how = SIG_BLOCK`/`SIG_SETMASK`) every signal, returning nothing. Post-fork safe.
pub fn sigmask_all(how: c_int, block: bool) -> Result<(), Errno> {
    // SAFETY: `set` is initialised by sigfillset/sigemptyset before use.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        if block {
            libc::sigfillset(&mut set);
        } else {
            libc::sigemptyset(&mut set);
        }
        Errno::result(libc::sigprocmask(how, &set, std::ptr::null_mut())).map(drop)
    }
}

/// Waits for any signal (all must be blocked) and returns its number. Post-fork safe.
pub fn wait_any_signal() -> Result<c_int, Errno> {
    // SAFETY: `set` and `info` are initialised before the kernel reads/writes them.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        let mut info: libc::siginfo_t = std::mem::zeroed();
        Errno::result(libc::sigwaitinfo(&set, &mut info))
    }
}

/// `kill(pid, sig)`. Post-fork safe.
pub fn kill(pid: libc::pid_t, sig: c_int) -> Result<(), Errno> {
    // SAFETY: plain integer syscall.
    Errno::result(unsafe { libc::kill(pid, sig) }).map(drop)
}

/// Result of [`wait_nohang`].
pub enum Reaped {
    /// No child has changed state.
    Nothing,
    /// `pid` ended with raw wait status `status`.
    Child {
        /// The reaped pid.
        pid: libc::pid_t,
        /// The raw wait status.
        status: c_int,
    },
}

/// `waitpid(pid, WNOHANG)` (or blocking when `block`). Post-fork safe.
pub fn waitpid(pid: libc::pid_t, block: bool) -> Result<Reaped, Errno> {
    let mut status: c_int = 0;
    let flags = if block { 0 } else { libc::WNOHANG };
    // SAFETY: `status` is a valid out-pointer.
    let rc = unsafe { libc::waitpid(pid, &mut status, flags) };
    match Errno::result(rc)? {
        0 => Ok(Reaped::Nothing),
        pid => Ok(Reaped::Child { pid, status }),
    }
}

/// `execve(path, argv, envp)` with pre-built, NULL-terminated pointer arrays.
/// Returns only on failure. Post-fork safe.
pub fn execve(path: &CStr, argv: &[*const c_char], envp: &[*const c_char]) -> Errno {
    if argv.last().is_none_or(|p| !p.is_null()) || envp.last().is_none_or(|p| !p.is_null()) {
        return Errno::EINVAL;
    }
    // SAFETY: `path` is NUL-terminated; argv and envp are NULL-terminated arrays (checked above)
    // of pointers to NUL-terminated strings kept alive by the caller.
    unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    Errno::last()
}

/// `_exit(code)`: leaves without running destructors or atexit handlers. Post-fork safe.
pub fn exit_now(code: c_int) -> ! {
    // SAFETY: _exit is async-signal-safe and never returns.
    unsafe { libc::_exit(code) }
}

/// Brings the loopback interface of the current network namespace up.
pub fn loopback_up() -> Result<(), Errno> {
    // SAFETY: creating a socket has no memory preconditions.
    let sock = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    let sock = Errno::result(sock)?;
    // SAFETY: ifreq is plain old data; zeroed is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as c_char;
    }
    // SAFETY: `req` is a valid ifreq for SIOCGIFFLAGS/SIOCSIFFLAGS; the union field we use is
    // ifru_flags, which these requests read and write.
    let rc = unsafe {
        let mut rc = libc::ioctl(sock, libc::SIOCGIFFLAGS, &mut req);
        if rc == 0 {
            req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
            rc = libc::ioctl(sock, libc::SIOCSIFFLAGS, &req);
        }
        rc
    };
    let err = Errno::last();
    close(sock);
    if rc == 0 {
        Ok(())
    } else {
        Err(err)
    }
}

/// `mknod(path, S_IFCHR | mode, makedev(major, minor))`.
pub fn mknod_char(path: &CStr, mode: u32, major: u32, minor: u32) -> Result<(), Errno> {
    // SAFETY: `path` is NUL-terminated; the rest are integers.
    let rc = unsafe {
        libc::mknod(
            path.as_ptr(),
            libc::S_IFCHR | mode,
            libc::makedev(major, minor),
        )
    };
    Errno::result(rc).map(drop)
}

/// `sethostname(name)`.
pub fn sethostname(name: &[u8]) -> Result<(), Errno> {
    // SAFETY: `name` is valid for `name.len()` bytes.
    Errno::result(unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) }).map(drop)
}

/// `geteuid()`.
pub fn geteuid() -> u32 {
    // SAFETY: no arguments, cannot fail.
    unsafe { libc::geteuid() }
}

/// `clone(flags | SIGCHLD)` with no new stack: fork semantics, into new namespaces.
///
/// The caller must be single-threaded (no locks can be held by other threads), and the
/// child only calls the async-signal-safe functions of this module.
pub fn clone_fork(ns_flags: c_int) -> Result<Forked, Errno> {
    let flags = (ns_flags | libc::SIGCHLD) as c_ulong;
    // SAFETY: with a null stack pointer, clone behaves like fork (the child continues on a
    // copy-on-write copy of the caller's stack); the other pointer arguments are null because
    // no CLONE_*TID/SETTLS flag is passed. The caller is single-threaded.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags,
            std::ptr::null::<u8>(),
            std::ptr::null::<u8>(),
            std::ptr::null::<u8>(),
            0 as c_ulong,
        )
    };
    match pid {
        -1 => Err(Errno::last()),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid as libc::pid_t)),
    }
}

/// `mkdir(path, mode)`. Post-fork safe.
pub fn mkdir(path: &CStr, mode: u32) -> Result<(), Errno> {
    // SAFETY: `path` is NUL-terminated.
    Errno::result(unsafe { libc::mkdir(path.as_ptr(), mode) }).map(drop)
}

/// `symlink(target, link)`. Post-fork safe.
pub fn symlink(target: &CStr, link: &CStr) -> Result<(), Errno> {
    // SAFETY: both are NUL-terminated.
    Errno::result(unsafe { libc::symlink(target.as_ptr(), link.as_ptr()) }).map(drop)
}

/// Creates an empty file (mode 0444) to serve as a mountpoint. Post-fork safe.
pub fn touch(path: &CStr) -> Result<(), Errno> {
    // SAFETY: `path` is NUL-terminated; the fd is closed right away.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC | libc::O_NOFOLLOW,
            0o444 as libc::c_uint,
        )
    };
    let fd = Errno::result(fd)?;
    close(fd);
    Ok(())
}

/// Creates `path` (mode 0644, must not exist, not through a symlink) holding `contents`.
/// Post-fork safe: raw syscalls on pre-built data.
pub fn write_new_file(path: &CStr, contents: &[u8]) -> Result<(), Errno> {
    // SAFETY: `path` is NUL-terminated; the fd is ours and closed below on every path.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_CLOEXEC | libc::O_NOFOLLOW,
            0o644 as libc::c_uint,
        )
    };
    let fd = Errno::result(fd)?;
    let written = write_all(fd, contents);
    close(fd);
    written
}

/// Whether the other end of pipe `fd` is closed (POLLHUP now, without waiting). Post-fork safe.
pub fn peer_closed(fd: RawFd) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, zero timeout.
    let rc = unsafe { libc::poll(&mut pfd, 1, 0) };
    rc > 0 && pfd.revents & (libc::POLLHUP | libc::POLLERR) != 0
}

/// `open(path, flags)`. Post-fork safe.
pub fn open(path: &CStr, flags: c_int) -> Result<RawFd, Errno> {
    // SAFETY: `path` is NUL-terminated.
    Errno::result(unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC) })
}

/// `umask(mask)`. Post-fork safe.
pub fn umask(mask: u32) {
    // SAFETY: integer syscall that cannot fail.
    unsafe { libc::umask(mask) };
}

/// Adds a `LANDLOCK_RULE_PATH_BENEATH` rule for `path` to `ruleset_fd`. Post-fork safe.
pub fn landlock_add_path_rule(ruleset_fd: RawFd, path: &CStr, access: u64) -> Result<(), Errno> {
    #[repr(C, packed)]
    struct PathBeneath {
        allowed_access: u64,
        parent_fd: i32,
    }
    const LANDLOCK_RULE_PATH_BENEATH: c_int = 1;
    let fd = open(path, libc::O_PATH)?;
    let attr = PathBeneath {
        allowed_access: access,
        parent_fd: fd,
    };
    // SAFETY: `attr` has the kernel's packed landlock_path_beneath_attr layout and lives for
    // the duration of the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_landlock_add_rule,
            ruleset_fd,
            LANDLOCK_RULE_PATH_BENEATH,
            &attr as *const PathBeneath,
            0u32,
        )
    };
    let res = Errno::result(rc).map(drop);
    close(fd);
    res
}

/// Opens a new pty master from `/dev/ptmx` (the jail's devpts), unlocks it, and opens its
/// peer. Returns `(master, slave)`. Post-fork safe.
pub fn open_pty_pair() -> Result<(RawFd, RawFd), Errno> {
    let master = open(c"/dev/ptmx", libc::O_RDWR | libc::O_NOCTTY)?;
    let unlock: c_int = 0;
    // SAFETY: TIOCSPTLCK reads an int through the pointer.
    let rc = unsafe { libc::ioctl(master, libc::TIOCSPTLCK, &unlock as *const c_int) };
    if let Err(e) = Errno::result(rc) {
        close(master);
        return Err(e);
    }
    // SAFETY: TIOCGPTPEER takes open flags as an integer and returns a new fd.
    let slave = unsafe {
        libc::ioctl(
            master,
            libc::TIOCGPTPEER,
            (libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) as c_ulong,
        )
    };
    match Errno::result(slave) {
        Ok(slave) => Ok((master, slave)),
        Err(e) => {
            close(master);
            Err(e)
        }
    }
}

/// Sends `fd` over the Unix socket `sock` (SCM_RIGHTS) with a one-byte payload.
/// Post-fork safe: the control buffer lives on the stack.
pub fn send_fd(sock: RawFd, fd: RawFd) -> Result<(), Errno> {
    #[repr(C)]
    union Cmsg {
        buf: [u8; 64],
        _align: libc::cmsghdr,
    }
    let mut byte = [b'T'];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let mut cmsg = Cmsg { buf: [0; 64] };
    // SAFETY: msghdr is plain data; every pointer we set points to live stack storage of the
    // stated length, and CMSG_* compute offsets inside `cmsg` whose size (64) exceeds
    // CMSG_SPACE(sizeof(int)).
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cmsg.buf.as_mut_ptr().cast();
        msg.msg_controllen = libc::CMSG_SPACE(std::mem::size_of::<c_int>() as u32) as usize;
        let hdr = libc::CMSG_FIRSTHDR(&msg);
        (*hdr).cmsg_level = libc::SOL_SOCKET;
        (*hdr).cmsg_type = libc::SCM_RIGHTS;
        (*hdr).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<c_int>() as u32) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(hdr).cast::<c_int>(), fd);
        Errno::result(libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL)).map(drop)
    }
}

/// Receives one fd sent with [`send_fd`]; `Ok(None)` on EOF.
pub fn recv_fd(sock: RawFd) -> Result<Option<std::os::fd::OwnedFd>, Errno> {
    use std::os::fd::FromRawFd;
    #[repr(C)]
    union Cmsg {
        buf: [u8; 64],
        _align: libc::cmsghdr,
    }
    let mut byte = [0u8];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let mut cmsg = Cmsg { buf: [0; 64] };
    // SAFETY: as in `send_fd`; the kernel writes at most msg_controllen bytes into `cmsg`, and
    // we only read a descriptor when the header says SCM_RIGHTS with room for one int. The fd
    // is fresh from the kernel, so `OwnedFd` is its sole owner.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cmsg.buf.as_mut_ptr().cast();
        msg.msg_controllen = 64;
        let n = Errno::result(libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC))?;
        if n == 0 {
            return Ok(None);
        }
        let hdr = libc::CMSG_FIRSTHDR(&msg);
        if hdr.is_null()
            || (*hdr).cmsg_level != libc::SOL_SOCKET
            || (*hdr).cmsg_type != libc::SCM_RIGHTS
            || (*hdr).cmsg_len < libc::CMSG_LEN(std::mem::size_of::<c_int>() as u32) as usize
        {
            return Err(Errno::EBADMSG);
        }
        let fd = std::ptr::read_unaligned(libc::CMSG_DATA(hdr).cast::<c_int>());
        Ok(Some(std::os::fd::OwnedFd::from_raw_fd(fd)))
    }
}

/// Resets every signal's disposition to the default: Rust's runtime ignores SIGPIPE, and
/// whoever started us may ignore others; an ignored disposition survives `execve`. Uses the
/// raw `rt_sigaction` syscall (async-signal-safe), because glibc's wrapper refuses the two
/// signals it reserves (32 and 33) and would leave them ignored. Post-fork safe.
pub fn reset_signal_dispositions() {
    // The kernel's `struct sigaction` (x86_64 and aarch64): handler, flags, restorer, mask.
    #[repr(C)]
    struct KernelSigaction {
        handler: usize,
        flags: libc::c_ulong,
        restorer: usize,
        mask: u64,
    }
    let dfl = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    for sig in 1..=64 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: `dfl` has the kernel's layout and the 8-byte mask size we pass; a null
        // old-action pointer is allowed; errors are ignored.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                &dfl as *const KernelSigaction,
                std::ptr::null_mut::<KernelSigaction>(),
                8usize,
            )
        };
    }
}

/// `ioctl(fd, TIOCGWINSZ)`.
pub fn get_winsize(fd: RawFd, ws: &mut libc::winsize) -> Result<(), Errno> {
    // SAFETY: TIOCGWINSZ writes one winsize through the valid pointer.
    Errno::result(unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, ws as *mut libc::winsize) }).map(drop)
}

/// `ioctl(fd, TIOCSWINSZ)`.
pub fn set_winsize(fd: RawFd, ws: &libc::winsize) -> Result<(), Errno> {
    // SAFETY: TIOCSWINSZ reads one winsize through the valid pointer.
    Errno::result(unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, ws as *const libc::winsize) })
        .map(drop)
}

/// Opens `path` for writing, writes `data`, closes. Post-fork safe.
pub fn write_file(path: &CStr, data: &[u8]) -> Result<(), Errno> {
    let fd = open(path, libc::O_WRONLY)?;
    let r = write_all(fd, data);
    close(fd);
    r
}

/// `clone3` with fork semantics into new namespaces, born directly in the cgroup v2 group
/// open at `cgroup_fd` (`CLONE_INTO_CGROUP`): no migration, so no wait on the kernel's
/// global threadgroup lock. Same contract as [`clone_fork`].
pub fn clone3_into_cgroup(ns_flags: c_int, cgroup_fd: RawFd) -> Result<Forked, Errno> {
    #[repr(C)]
    struct CloneArgs {
        flags: u64,
        pidfd: u64,
        child_tid: u64,
        parent_tid: u64,
        exit_signal: u64,
        stack: u64,
        stack_size: u64,
        tls: u64,
        set_tid: u64,
        set_tid_size: u64,
        cgroup: u64,
    }
    const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
    let args = CloneArgs {
        flags: ns_flags as u64 | CLONE_INTO_CGROUP,
        pidfd: 0,
        child_tid: 0,
        parent_tid: 0,
        exit_signal: libc::SIGCHLD as u64,
        stack: 0,
        stack_size: 0,
        tls: 0,
        set_tid: 0,
        set_tid_size: 0,
        cgroup: cgroup_fd as u64,
    };
    // SAFETY: `args` has the kernel's clone_args v2 layout and size; with stack 0 the child
    // continues on a copy-on-write copy of our stack, like fork. The caller is single-threaded.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match pid {
        -1 => Err(Errno::last()),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid as libc::pid_t)),
    }
}

/// Runs `f` in a child created with `clone(CLONE_VM | CLONE_VFORK)` on `stack`, like
/// `posix_spawn`: no page tables are copied, and the caller is suspended until the child
/// calls `execve` or exits. Returns the child's pid.
///
/// `f` must never return normally (it execs or `_exit`s) and, because it shares the
/// caller's memory, must only make the raw syscalls of this module and write to its own
/// stack. Post-fork safe: the caller may itself be a post-fork child.
pub fn spawn_vfork<F: FnOnce() -> core::convert::Infallible>(
    stack: &mut [u8],
    f: F,
) -> Result<libc::pid_t, Errno> {
    // `f` never returns, so the code after its call is unreachable by design.
    #[allow(unreachable_code)]
    extern "C" fn trampoline<F: FnOnce() -> core::convert::Infallible>(
        arg: *mut libc::c_void,
    ) -> c_int {
        // SAFETY: `arg` is the `&mut Option<F>` passed below; the parent is suspended
        // (CLONE_VFORK) so nothing else touches it while the child runs.
        let slot = unsafe { &mut *arg.cast::<Option<F>>() };
        if let Some(f) = slot.take() {
            let _never = f();
        }
        127
    }
    let mut slot = Some(f);
    // The stack grows down on every architecture we support: pass its 16-byte aligned top.
    let top = stack.as_mut_ptr_range().end as usize & !15;
    // SAFETY: `top` points just past writable memory owned by `stack`, which outlives the
    // child's use of it (the caller is suspended until the child execs or exits). The
    // trampoline's argument is a valid pointer to `slot` for the same reason. No CLONE_SETTLS,
    // so the child shares our thread pointer; it only makes raw syscalls before exec.
    let pid = unsafe {
        libc::clone(
            trampoline::<F>,
            top as *mut libc::c_void,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            (&mut slot as *mut Option<F>).cast(),
        )
    };
    Errno::result(pid)
}
