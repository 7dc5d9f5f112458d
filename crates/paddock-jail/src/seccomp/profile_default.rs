//! Paddock's default profile: an allowlist; every other syscall fails with `EPERM`.
//!
//! Modelled on Docker's default profile (moby/profiles `seccomp/default.json`) without the
//! entries Docker only grants with a capability (a jail has none), without syscalls no
//! ordinary program needs, and with tighter argument filters on `socket`, `ioctl`, `clone`
//! and `unshare`. One entry per syscall; the comment names who needs it, or for an argument
//! filter which threat it closes. What must never be allowed, and why, is listed in
//! `must_deny.rs`; `build` refuses a profile that allows any of it.
//!
//! Numbers come from `libc::SYS_*`, so they are right for the architecture being built;
//! syscalls that exist on one architecture only sit in the `ARCH` table under `cfg`.

use super::table::{unified, Args, Rule};

/// `rule!(SYS_name, Args, "comment")` for a `libc` number, or
/// `rule!(name = number, Args, "comment")` for a number `libc` does not define yet.
macro_rules! rule {
    ($sys:ident, $args:ident, $comment:literal) => {
        Rule {
            nr: libc::$sys,
            name: strip_sys(stringify!($sys)),
            args: Args::$args,
            comment: $comment,
        }
    };
    ($name:ident = $nr:expr, $args:ident, $comment:literal) => {
        Rule {
            nr: $nr,
            name: stringify!($name),
            args: Args::$args,
            comment: $comment,
        }
    };
}

/// Every allowlisted syscall for the running architecture.
pub(crate) fn rules() -> impl Iterator<Item = Rule> {
    COMMON.iter().chain(ARCH.iter()).copied()
}

/// Allowed on every supported architecture.
const COMMON: &[Rule] = &[
    // --- files and directories ---
    rule!(SYS_read, Any, "every program: read files, pipes, sockets"),
    rule!(SYS_write, Any, "every program: write files, pipes, sockets"),
    rule!(SYS_readv, Any, "glibc stdio, python, node: scatter reads"),
    rule!(SYS_writev, Any, "glibc stdio, python, node: gather writes"),
    rule!(SYS_pread64, Any, "git pack files, sqlite, linkers: positioned reads"),
    rule!(SYS_pwrite64, Any, "sqlite, linkers, cargo: positioned writes"),
    rule!(SYS_preadv, Any, "databases, rustc's std: positioned scatter reads"),
    rule!(SYS_pwritev, Any, "databases, rustc's std: positioned gather writes"),
    rule!(SYS_preadv2, Any, "python os.preadv, io libraries with RWF_* flags"),
    rule!(SYS_pwritev2, Any, "python os.pwritev, io libraries with RWF_* flags"),
    rule!(SYS_openat, Any, "every program: open files (glibc's open() is openat)"),
    rule!(SYS_openat2, Any, "systemd tools, newer runtimes: open with RESOLVE_* limits"),
    rule!(SYS_close, Any, "every program: close descriptors"),
    rule!(SYS_close_range, Any, "glibc closefrom, python subprocess, ssh: close fds before exec"),
    rule!(SYS_lseek, Any, "every program: seek in files"),
    rule!(SYS_fstat, Any, "every program: stat an open file"),
    rule!(SYS_newfstatat, Any, "glibc stat/lstat/fstatat on x86_64 and aarch64"),
    rule!(SYS_statx, Any, "coreutils ls/stat/cp, rust std::fs::metadata"),
    rule!(SYS_statfs, Any, "df, coreutils cp/mv (filesystem type checks)"),
    rule!(SYS_fstatfs, Any, "glibc, coreutils tail -f, python shutil"),
    rule!(SYS_getdents64, Any, "ls, find, readdir in every language"),
    rule!(SYS_getcwd, Any, "shells, pwd, every runtime resolving relative paths"),
    rule!(SYS_chdir, Any, "shells (cd), make -C, git"),
    rule!(SYS_fchdir, Any, "find, rm -r, tar: walk trees by descriptor"),
    rule!(SYS_mkdirat, Any, "mkdir, git, cargo, pip (glibc's mkdir is mkdirat on aarch64)"),
    rule!(SYS_mknodat, Any, "mkfifo (device nodes need CAP_MKNOD, which a jail lacks)"),
    rule!(SYS_unlinkat, Any, "rm, rmdir, git, compilers removing temp files"),
    rule!(SYS_renameat, Any, "mv, editors saving atomically, git"),
    rule!(SYS_renameat2, Any, "coreutils mv (RENAME_NOREPLACE), glibc rename"),
    rule!(SYS_linkat, Any, "ln, git, package managers"),
    rule!(SYS_symlinkat, Any, "ln -s, npm, cargo, pip"),
    rule!(SYS_readlinkat, Any, "readlink, realpath, runtimes resolving /proc/self/exe"),
    rule!(SYS_faccessat, Any, "shells (test -x), which, glibc access()"),
    rule!(SYS_faccessat2, Any, "glibc >= 2.33 access/faccessat (falls back only on ENOSYS)"),
    rule!(SYS_fchmod, Any, "chmod on open files: cp -p, tar, install"),
    rule!(SYS_fchmodat, Any, "chmod, cargo, git checkout setting the exec bit"),
    rule!(fchmodat2 = unified::FCHMODAT2, Any, "glibc >= 2.39 fchmodat(AT_SYMLINK_NOFOLLOW)"),
    rule!(SYS_fchown, Any, "cp -p, tar, rsync (only to ids the caller already owns)"),
    rule!(SYS_fchownat, Any, "chown, tar (kernel refuses foreign ids without CAP_CHOWN)"),
    rule!(SYS_utimensat, Any, "touch, make, cp -p, tar: set timestamps"),
    rule!(SYS_truncate, Any, "truncate, editors, build tools"),
    rule!(SYS_ftruncate, Any, "sqlite, git, linkers, python file.truncate"),
    rule!(SYS_fallocate, Any, "linkers (lld, mold), cargo, sqlite: preallocate files"),
    rule!(SYS_fadvise64, Any, "coreutils cat/cp, git, sort: readahead hints"),
    rule!(SYS_readahead, Any, "ld.so and git: prefetch files"),
    rule!(SYS_fsync, Any, "git, sqlite, editors: durability"),
    rule!(SYS_fdatasync, Any, "sqlite, databases, pip: durability"),
    rule!(SYS_sync, Any, "sync(1), package managers (flushes only, no privilege)"),
    rule!(SYS_syncfs, Any, "sync -f, package managers"),
    rule!(SYS_sync_file_range, Any, "databases, rsync: partial writeback"),
    rule!(SYS_flock, Any, "cargo, pip, git, flock(1): advisory file locks"),
    rule!(SYS_fcntl, Any, "every program: fd flags, record locks, F_DUPFD_CLOEXEC"),
    rule!(SYS_dup, Any, "shells: redirections"),
    rule!(SYS_dup3, Any, "shells and glibc dup2 on aarch64: redirections"),
    rule!(SYS_umask, Any, "shells, install, package managers"),
    rule!(SYS_copy_file_range, Any, "coreutils cp, cargo, python shutil: in-kernel copy"),
    rule!(SYS_sendfile, Any, "cp, python shutil, web servers: in-kernel copy"),
    rule!(SYS_splice, Any, "coreutils cat/cp, node: pipe copies"),
    rule!(SYS_tee, Any, "tee-style pipe duplication in splice users"),
    rule!(SYS_vmsplice, Any, "pipe-heavy programs (pv, some compressors)"),
    rule!(SYS_getxattr, Any, "ls -l, cp --preserve, python os.getxattr"),
    rule!(SYS_lgetxattr, Any, "ls -l (ACL and capability markers), tar"),
    rule!(SYS_fgetxattr, Any, "cp --preserve=xattr, tar, rsync"),
    rule!(SYS_listxattr, Any, "cp --preserve=xattr, tar, rsync"),
    rule!(SYS_llistxattr, Any, "cp --preserve=xattr, tar, rsync"),
    rule!(SYS_flistxattr, Any, "cp --preserve=xattr, tar, rsync"),
    rule!(SYS_setxattr, Any, "setfattr, cp --preserve (user.* only without privilege)"),
    rule!(SYS_lsetxattr, Any, "setfattr -h, tar, rsync (user.* only without privilege)"),
    rule!(SYS_fsetxattr, Any, "cp --preserve=xattr, tar (user.* only without privilege)"),
    rule!(SYS_removexattr, Any, "setfattr -x, tar, rsync"),
    rule!(SYS_lremovexattr, Any, "setfattr -x -h, tar, rsync"),
    rule!(SYS_fremovexattr, Any, "cp, tar, rsync"),
    rule!(SYS_inotify_init1, Any, "tail -f, cargo watch, node/webpack file watchers"),
    rule!(SYS_inotify_add_watch, Any, "tail -f, cargo watch, node/webpack file watchers"),
    rule!(SYS_inotify_rm_watch, Any, "tail -f, cargo watch, node/webpack file watchers"),
    rule!(SYS_ioctl, IoctlNoTerminalInjection, "terminals (TCGETS, TIOCGWINSZ), FIONREAD, FICLONE; TIOCSTI/TIOCLINUX refused: they type commands into the controlling terminal of whoever owns it"),
    // --- memory ---
    rule!(SYS_brk, Any, "glibc malloc: grow the heap"),
    rule!(SYS_mmap, Any, "ld.so, malloc, every runtime"),
    rule!(SYS_munmap, Any, "ld.so, malloc, every runtime"),
    rule!(SYS_mprotect, Any, "ld.so (RELRO), JITs in node, python, java"),
    rule!(SYS_mremap, Any, "glibc realloc of large blocks"),
    rule!(SYS_madvise, Any, "malloc and GCs in node, go, java, jemalloc: release memory"),
    rule!(SYS_msync, Any, "programs writing through mmap: git, sqlite, lmdb"),
    rule!(SYS_mincore, Any, "go runtime, some allocators: residency checks"),
    rule!(SYS_mlock, Any, "gpg, ssh-agent, password managers: keep secrets off swap (RLIMIT_MEMLOCK bounds it)"),
    rule!(SYS_mlock2, Any, "glibc mlock on newer kernels, gpg"),
    rule!(SYS_munlock, Any, "gpg, ssh-agent"),
    rule!(SYS_mlockall, Any, "some daemons and tests (RLIMIT_MEMLOCK bounds it)"),
    rule!(SYS_munlockall, Any, "pairs with mlockall"),
    rule!(SYS_membarrier, Any, "V8 (node), .NET, liburcu: cross-thread barriers"),
    rule!(SYS_memfd_create, Any, "node/V8, python multiprocessing, chromium, wayland clients"),
    rule!(SYS_pkey_alloc, Any, "V8 (node) and glibc: memory protection keys"),
    rule!(SYS_pkey_free, Any, "V8 (node) and glibc: memory protection keys"),
    rule!(SYS_pkey_mprotect, Any, "V8 (node) and glibc: memory protection keys"),
    rule!(SYS_mseal, Any, "glibc and hardened runtimes sealing their own mappings"),
    rule!(map_shadow_stack = unified::MAP_SHADOW_STACK, Any, "glibc >= 2.39 with CET/GCS: shadow stacks for new threads"),
    // --- processes and threads ---
    rule!(SYS_execve, Any, "shells and every launcher: run programs"),
    rule!(SYS_execveat, Any, "fexecve, systemd-run style launchers"),
    rule!(SYS_exit, Any, "thread exit"),
    rule!(SYS_exit_group, Any, "process exit"),
    rule!(SYS_clone, CloneWithoutNamespaces, "fork, vfork, posix_spawn, pthread_create; CLONE_NEW* refused: new user namespaces hand out capabilities over kernel code (netfilter, mounts) that a jail must not reach"),
    rule!(SYS_unshare, UnshareWithoutNamespaces, "CLONE_FS/CLONE_FILES splits (some runtimes); CLONE_NEW* refused for the same reason as clone"),
    rule!(SYS_wait4, Any, "shells, make, every parent reaping children"),
    rule!(SYS_waitid, Any, "python subprocess, node child_process"),
    rule!(SYS_getpid, Any, "every program"),
    rule!(SYS_getppid, Any, "shells, daemons checking their parent"),
    rule!(SYS_gettid, Any, "glibc, threaded runtimes, logging"),
    rule!(SYS_set_tid_address, Any, "glibc thread startup"),
    rule!(SYS_set_robust_list, Any, "glibc thread startup: robust futexes"),
    rule!(SYS_rseq, Any, "glibc >= 2.35 thread startup: restartable sequences"),
    rule!(SYS_futex, Any, "every threaded program: locks, condition variables, joins"),
    rule!(SYS_sched_yield, Any, "spin locks in runtimes (go, rust, java)"),
    rule!(SYS_sched_getaffinity, Any, "nproc, cargo/make -j, node os.cpus, python os.sched_getaffinity"),
    rule!(SYS_sched_setaffinity, Any, "taskset, build tools pinning threads (only within the cgroup's cpuset)"),
    rule!(SYS_sched_getparam, Any, "chrt, runtimes querying scheduling"),
    rule!(SYS_sched_setparam, Any, "chrt (realtime needs CAP_SYS_NICE, which a jail lacks)"),
    rule!(SYS_sched_getscheduler, Any, "chrt, java, glibc pthread_getschedparam"),
    rule!(SYS_sched_setscheduler, Any, "chrt, SCHED_BATCH/IDLE for builds (realtime needs CAP_SYS_NICE)"),
    rule!(SYS_sched_getattr, Any, "chrt, glibc"),
    rule!(SYS_sched_setattr, Any, "chrt (realtime and deadline need CAP_SYS_NICE)"),
    rule!(SYS_sched_get_priority_max, Any, "chrt, glibc pthread attributes"),
    rule!(SYS_sched_get_priority_min, Any, "chrt, glibc pthread attributes"),
    rule!(SYS_sched_rr_get_interval, Any, "chrt, python os.sched_rr_get_interval"),
    rule!(SYS_getpriority, Any, "nice, top, ps"),
    rule!(SYS_setpriority, Any, "nice, renice, make (raising priority needs CAP_SYS_NICE)"),
    rule!(SYS_ioprio_get, Any, "ionice -p: read I/O priority"),
    rule!(SYS_ioprio_set, Any, "ionice -c3 for builds (realtime class needs CAP_SYS_ADMIN)"),
    rule!(SYS_getrlimit, Any, "shells (ulimit), runtimes sizing stacks"),
    rule!(SYS_setrlimit, Any, "shells (ulimit): lowering is free, raising the hard limit needs CAP_SYS_RESOURCE"),
    rule!(SYS_prlimit64, Any, "glibc getrlimit/setrlimit, prlimit(1) (same-uid targets only)"),
    rule!(SYS_getrusage, Any, "time(1), make, python resource module"),
    rule!(SYS_times, Any, "shells (times builtin), bash `time`"),
    rule!(SYS_prctl, Any, "PR_SET_NAME, PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP: no_new_privs is sticky and seccomp can only add filters; the privileged options check capabilities"),
    rule!(SYS_personality, PersonalityHarmless, "setarch/linux32 and old build scripts; other personas (READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE) weaken exploit mitigations"),
    rule!(SYS_seccomp, Any, "codex, chromium, systemd tools sandboxing themselves further; filters only ever add restrictions"),
    rule!(SYS_landlock_create_ruleset, Any, "agents (codex) and tools sandboxing themselves further"),
    rule!(SYS_landlock_add_rule, Any, "agents (codex) and tools sandboxing themselves further"),
    rule!(SYS_landlock_restrict_self, Any, "agents (codex) and tools sandboxing themselves further"),
    rule!(SYS_capget, Any, "libcap, capsh --print, systemd tools (reads only)"),
    rule!(SYS_capset, Any, "programs dropping capabilities (a jail has none to gain)"),
    rule!(SYS_setsid, Any, "shells, nohup, setsid(1), daemons"),
    rule!(SYS_getsid, Any, "shells, ps"),
    rule!(SYS_setpgid, Any, "shells: job control"),
    rule!(SYS_getpgid, Any, "shells: job control"),
    // --- credentials (the kernel only lets an unprivileged process switch among its own ids) ---
    rule!(SYS_getuid, Any, "every program: id, whoami, ssh, git"),
    rule!(SYS_geteuid, Any, "every program: shells, python os.geteuid"),
    rule!(SYS_getgid, Any, "every program: id"),
    rule!(SYS_getegid, Any, "every program: id"),
    rule!(SYS_getresuid, Any, "glibc secure_getenv, sudo-less privilege checks"),
    rule!(SYS_getresgid, Any, "glibc secure_getenv"),
    rule!(SYS_getgroups, Any, "id, groups, access checks in shells"),
    rule!(SYS_setuid, Any, "programs dropping privileges (no-op without CAP_SETUID)"),
    rule!(SYS_setgid, Any, "programs dropping privileges (no-op without CAP_SETGID)"),
    rule!(SYS_setreuid, Any, "programs dropping privileges (own ids only)"),
    rule!(SYS_setregid, Any, "programs dropping privileges (own ids only)"),
    rule!(SYS_setresuid, Any, "programs dropping privileges (own ids only)"),
    rule!(SYS_setresgid, Any, "programs dropping privileges (own ids only)"),
    rule!(SYS_setfsuid, Any, "file servers (own ids only)"),
    rule!(SYS_setfsgid, Any, "file servers (own ids only)"),
    // --- signals ---
    rule!(SYS_rt_sigaction, Any, "every program: signal handlers"),
    rule!(SYS_rt_sigprocmask, Any, "every program: signal masks"),
    rule!(SYS_rt_sigreturn, Any, "return from every signal handler"),
    rule!(SYS_rt_sigpending, Any, "shells, runtimes"),
    rule!(SYS_rt_sigsuspend, Any, "shells waiting for children"),
    rule!(SYS_rt_sigtimedwait, Any, "python signal.sigtimedwait, runtimes"),
    rule!(SYS_rt_sigqueueinfo, Any, "sigqueue (same-uid targets only)"),
    rule!(SYS_rt_tgsigqueueinfo, Any, "pthread_sigqueue, runtimes"),
    rule!(SYS_sigaltstack, Any, "rust std, go, node: stack-overflow handlers"),
    rule!(SYS_kill, Any, "kill(1), shells, supervisors (same-uid targets in this pid namespace)"),
    rule!(SYS_tkill, Any, "old threading libraries"),
    rule!(SYS_tgkill, Any, "glibc raise/abort, pthread_kill, go runtime preemption"),
    rule!(SYS_restart_syscall, Any, "kernel restarting interrupted sleeps"),
    rule!(SYS_pidfd_open, Any, "python subprocess, systemd tools: race-free process handles"),
    rule!(SYS_pidfd_send_signal, Any, "python, systemd tools: race-free kill"),
    rule!(SYS_signalfd4, Any, "event loops (glib, systemd tools)"),
    // --- time ---
    rule!(SYS_clock_gettime, Any, "every program (usually served by the vDSO)"),
    rule!(SYS_clock_getres, Any, "runtimes, python time.get_clock_info"),
    rule!(SYS_clock_nanosleep, Any, "sleep(1), glibc nanosleep"),
    rule!(SYS_nanosleep, Any, "sleep(1), older runtimes"),
    rule!(SYS_gettimeofday, Any, "every program (usually served by the vDSO)"),
    rule!(SYS_getitimer, Any, "profilers, timeout(1)"),
    rule!(SYS_setitimer, Any, "profilers, timeout(1), alarm()"),
    rule!(SYS_timer_create, Any, "timeout(1), python/go profilers, POSIX timers"),
    rule!(SYS_timer_settime, Any, "timeout(1), POSIX timers"),
    rule!(SYS_timer_gettime, Any, "POSIX timers"),
    rule!(SYS_timer_getoverrun, Any, "POSIX timers"),
    rule!(SYS_timer_delete, Any, "timeout(1), POSIX timers"),
    rule!(SYS_timerfd_create, Any, "event loops (libuv in node, tokio, glib)"),
    rule!(SYS_timerfd_settime, Any, "event loops (libuv in node, tokio, glib)"),
    rule!(SYS_timerfd_gettime, Any, "event loops"),
    // --- polling and events ---
    rule!(SYS_ppoll, Any, "glibc poll on aarch64, curl, ssh, python select"),
    rule!(SYS_pselect6, Any, "glibc select on aarch64, shells (read -t), python select"),
    rule!(SYS_epoll_create1, Any, "node/libuv, tokio, python asyncio"),
    rule!(SYS_epoll_ctl, Any, "node/libuv, tokio, python asyncio"),
    rule!(SYS_epoll_pwait, Any, "node/libuv, tokio, glibc epoll_wait on aarch64"),
    rule!(SYS_epoll_pwait2, Any, "newer libuv and tokio: epoll with nanosecond timeouts"),
    rule!(SYS_eventfd2, Any, "node/libuv, tokio, glib: wakeups"),
    rule!(SYS_pipe2, Any, "shells (|), make, python subprocess"),
    // --- old-style async I/O (not io_uring) ---
    rule!(SYS_io_setup, Any, "libaio users (databases, qemu-img, fio)"),
    rule!(SYS_io_destroy, Any, "libaio users"),
    rule!(SYS_io_submit, Any, "libaio users"),
    rule!(SYS_io_getevents, Any, "libaio users"),
    rule!(SYS_io_cancel, Any, "libaio users"),
    // --- System V and POSIX IPC (private: the jail has its own IPC namespace) ---
    rule!(SYS_shmget, Any, "postgres, X11 MIT-SHM, python multiprocessing"),
    rule!(SYS_shmat, Any, "postgres, X11 MIT-SHM"),
    rule!(SYS_shmdt, Any, "postgres, X11 MIT-SHM"),
    rule!(SYS_shmctl, Any, "postgres, ipcs"),
    rule!(SYS_semget, Any, "postgres, python multiprocessing locks"),
    rule!(SYS_semop, Any, "postgres"),
    rule!(SYS_semtimedop, Any, "postgres, glibc semop"),
    rule!(SYS_semctl, Any, "postgres, ipcs"),
    rule!(SYS_msgget, Any, "System V message queue users"),
    rule!(SYS_msgsnd, Any, "System V message queue users"),
    rule!(SYS_msgrcv, Any, "System V message queue users"),
    rule!(SYS_msgctl, Any, "System V message queue users, ipcs"),
    rule!(SYS_mq_open, Any, "POSIX message queues (python posix_ipc, test suites)"),
    rule!(SYS_mq_unlink, Any, "POSIX message queues"),
    rule!(SYS_mq_timedsend, Any, "POSIX message queues"),
    rule!(SYS_mq_timedreceive, Any, "POSIX message queues"),
    rule!(SYS_mq_notify, Any, "POSIX message queues"),
    rule!(SYS_mq_getsetattr, Any, "POSIX message queues"),
    // --- sockets ---
    rule!(SYS_socket, SocketFamilies, "curl, git, pip, npm, ssh: AF_UNIX, TCP/UDP over IPv4/IPv6, NETLINK_ROUTE; AF_PACKET, SOCK_RAW, AF_ALG, AF_VSOCK and other families refused: packet forging and rarely used kernel code"),
    rule!(SYS_socketpair, SocketFamilies, "python subprocess, node, ssh: connected pairs (same families as socket)"),
    rule!(SYS_bind, Any, "servers, test suites, DNS clients binding a source port"),
    rule!(SYS_listen, Any, "dev servers and test suites"),
    rule!(SYS_accept, Any, "dev servers and test suites"),
    rule!(SYS_accept4, Any, "dev servers (node, python http.server)"),
    rule!(SYS_connect, Any, "curl, git, pip, npm, ssh, DNS resolution"),
    rule!(SYS_getsockname, Any, "curl, servers, resolvers"),
    rule!(SYS_getpeername, Any, "ssh, servers, curl"),
    rule!(SYS_getsockopt, Any, "curl, node, python (SO_ERROR after non-blocking connect)"),
    rule!(SYS_setsockopt, Any, "curl, node, python: TCP_NODELAY, SO_REUSEADDR, timeouts"),
    rule!(SYS_sendto, Any, "DNS resolution, curl, UDP clients"),
    rule!(SYS_recvfrom, Any, "DNS resolution, curl, UDP clients"),
    rule!(SYS_sendmsg, Any, "glibc resolver, ssh-agent fd passing, D-Bus"),
    rule!(SYS_recvmsg, Any, "glibc resolver, netlink replies, fd passing"),
    rule!(SYS_sendmmsg, Any, "glibc resolver: parallel A/AAAA queries"),
    rule!(SYS_recvmmsg, Any, "QUIC clients, DNS tools"),
    rule!(SYS_shutdown, Any, "curl, ssh, servers: half-close"),
    // --- system information ---
    rule!(SYS_uname, Any, "uname(1), configure scripts, python platform"),
    rule!(SYS_sysinfo, Any, "free, top, node os.totalmem, gcc's memory heuristics"),
    rule!(SYS_getrandom, Any, "every crypto library, python, node, rust HashMap seeds"),
    rule!(SYS_getcpu, Any, "glibc sched_getcpu, allocators with per-CPU caches"),
];

/// Allowed only on x86_64: the legacy entry points that aarch64 never had. glibc on x86_64
/// still calls several of them (e.g. `arch_prctl`, `vfork`), and statically linked or older
/// binaries call the rest.
#[cfg(target_arch = "x86_64")]
const ARCH: &[Rule] = &[
    rule!(
        SYS_arch_prctl,
        Any,
        "glibc and every x86_64 runtime: set the TLS base (ARCH_SET_FS)"
    ),
    rule!(SYS_open, Any, "older and static binaries: open files"),
    rule!(SYS_creat, Any, "older binaries: create files"),
    rule!(SYS_stat, Any, "older and static binaries, go: stat"),
    rule!(SYS_lstat, Any, "older and static binaries, go: lstat"),
    rule!(SYS_access, Any, "older binaries, shells: access checks"),
    rule!(SYS_readlink, Any, "older binaries, go: readlink"),
    rule!(SYS_getdents, Any, "older binaries: readdir"),
    rule!(SYS_mkdir, Any, "older and static binaries, go: mkdir"),
    rule!(SYS_rmdir, Any, "rmdir, older binaries"),
    rule!(SYS_unlink, Any, "older binaries: rm"),
    rule!(
        SYS_rename,
        Any,
        "older binaries, python os.rename via glibc"
    ),
    rule!(SYS_link, Any, "older binaries: ln"),
    rule!(SYS_symlink, Any, "older binaries: ln -s"),
    rule!(SYS_chmod, Any, "older binaries, go: chmod"),
    rule!(SYS_chown, Any, "older binaries: chown to own ids"),
    rule!(SYS_lchown, Any, "older binaries: chown -h to own ids"),
    rule!(SYS_mknod, Any, "older mkfifo (device nodes need CAP_MKNOD)"),
    rule!(SYS_utime, Any, "older binaries: touch"),
    rule!(SYS_utimes, Any, "older binaries, perl utime"),
    rule!(SYS_futimesat, Any, "older glibc futimes"),
    rule!(SYS_dup2, Any, "shells, go: redirections"),
    rule!(SYS_pipe, Any, "older binaries, go: pipes"),
    rule!(SYS_poll, Any, "glibc poll on x86_64: curl, ssh, python"),
    rule!(
        SYS_select,
        Any,
        "glibc select on x86_64: shells, perl, python"
    ),
    rule!(SYS_epoll_create, Any, "older libuv, go: epoll"),
    rule!(SYS_epoll_wait, Any, "glibc epoll_wait on x86_64: node, go"),
    rule!(SYS_eventfd, Any, "older binaries: eventfd"),
    rule!(SYS_signalfd, Any, "older binaries: signalfd"),
    rule!(SYS_inotify_init, Any, "older file watchers"),
    rule!(SYS_fork, Any, "static and older binaries: fork"),
    rule!(
        SYS_vfork,
        Any,
        "glibc posix_spawn fallback, busybox, python subprocess"
    ),
    rule!(SYS_pause, Any, "sleep infinity, older daemons"),
    rule!(SYS_alarm, Any, "shells, timeout, perl alarm"),
    rule!(SYS_time, Any, "older binaries (usually served by the vDSO)"),
    rule!(SYS_getpgrp, Any, "shells: job control"),
];

/// Allowed only on aarch64: nothing beyond the generic table is needed; glibc's aarch64 port
/// uses the `*at`, `pipe2`, `dup3`, `ppoll` and `pselect6` forms listed in [`COMMON`].
#[cfg(target_arch = "aarch64")]
const ARCH: &[Rule] = &[];

/// Other architectures: [`super::build`] refuses them before this table is read.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const ARCH: &[Rule] = &[];

/// `"SYS_read"` → `"read"`, at compile time.
const fn strip_sys(sys: &'static str) -> &'static str {
    match sys.as_bytes().split_first_chunk::<4>() {
        Some((b"SYS_", rest)) => match std::str::from_utf8(rest) {
            Ok(name) => name,
            Err(_) => sys,
        },
        _ => sys,
    }
}

#[cfg(test)]
#[path = "profile_default_tests.rs"]
mod tests;
