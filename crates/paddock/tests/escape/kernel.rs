//! Kernel-interface attacks made with raw syscalls (x86_64 numbers) through Python's ctypes:
//! what the seccomp allowlist, the dropped capabilities and the namespaces must refuse.
//! Every script also makes one allowed raw call (`getppid`, which returns init's pid 1) to
//! prove the same path reports success.

use crate::util::{
    jail, require_root, run_command, shell_quote, Run, EACCES, ENOSYS, EPERM, PY_PRELUDE,
};

/// Runs `body` after the prelude plus an allowed raw call, and checks that call succeeded.
fn kpy(body: &str) -> Run {
    let run = jail(&[]).py(&format!("call('getppid', 110)\n{body}"));
    run.assert_line("RESULT getppid ret=1 errno=0");
    run
}

#[test]
fn blocks_ptrace_traceme() {
    if !require_root("blocks_ptrace_traceme") {
        return;
    }
    // PTRACE_TRACEME = 0.
    let run = kpy("call('traceme', 101, 0, 0, 0, 0)");
    run.assert_denied("traceme", EPERM);
}

#[test]
fn blocks_ptrace_attach_to_init() {
    if !require_root("blocks_ptrace_attach_to_init") {
        return;
    }
    // PTRACE_ATTACH = 16, PTRACE_SEIZE = 0x4206.
    let run = kpy("call('attach', 101, 16, 1, 0, 0)\ncall('seize', 101, 0x4206, 1, 0, 0)");
    run.assert_denied("attach", EPERM);
    run.assert_denied("seize", EPERM);
}

#[test]
fn blocks_process_vm_readv_and_writev() {
    if !require_root("blocks_process_vm_readv_and_writev") {
        return;
    }
    let run = kpy(r#"
class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
dst = ctypes.create_string_buffer(64)
src = ctypes.create_string_buffer(b"paddock", 64)
local = iovec(ctypes.cast(dst, ctypes.c_void_p), 64)
remote = iovec(ctypes.cast(src, ctypes.c_void_p), 64)
call("readv-init", 310, 1, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
call("readv-self", 310, os.getpid(), ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
call("writev-init", 311, 1, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
"#);
    run.assert_denied("readv-init", EPERM);
    run.assert_denied("readv-self", EPERM);
    run.assert_denied("writev-init", EPERM);
}

#[test]
fn blocks_mount() {
    if !require_root("blocks_mount") {
        return;
    }
    // MS_BIND|MS_REC = 0x5000.
    let run = kpy(r#"
call("tmpfs", 165, b"tmpfs", b"/tmp", b"tmpfs", 0, 0)
call("cgroup", 165, b"cgroup", b"/tmp", b"cgroup", 0, b"memory")
call("bind-root", 165, b"/", b"/workspace", 0, 0x5000, 0)
call("remount-usr-rw", 165, 0, b"/usr", 0, 0x20 | 0x1000, 0)
"#);
    for tag in ["tmpfs", "cgroup", "bind-root", "remount-usr-rw"] {
        run.assert_denied(tag, EPERM);
    }
}

#[test]
fn blocks_umount_of_masks() {
    if !require_root("blocks_umount_of_masks") {
        return;
    }
    // MNT_DETACH = 2.
    let run = kpy(r#"
call("umount-keys", 166, b"/proc/keys", 2)
call("umount-firmware", 166, b"/sys/firmware", 2)
call("umount-etc", 166, b"/etc", 0)
must("still-masked", os.listdir("/sys/firmware") == [])
"#);
    run.assert_denied("umount-keys", EPERM);
    run.assert_denied("umount-firmware", EPERM);
    run.assert_denied("umount-etc", EPERM);
    run.assert_ok("still-masked");
}

#[test]
fn blocks_pivot_root() {
    if !require_root("blocks_pivot_root") {
        return;
    }
    let run = kpy("os.mkdir('/tmp/old')\ncall('pivot', 155, b'/tmp', b'/tmp/old')");
    run.assert_denied("pivot", EPERM);
}

#[test]
fn blocks_chroot() {
    if !require_root("blocks_chroot") {
        return;
    }
    let run = kpy(
        "call('chroot-tmp', 161, b'/tmp')\ncall('chroot-root', 161, b'/')\ncall('chdir', 80, b'/tmp')",
    );
    run.assert_denied("chroot-tmp", EPERM);
    run.assert_denied("chroot-root", EPERM);
    run.assert_line("RESULT chdir ret=0 errno=0");
}

#[test]
fn blocks_user_namespace_via_unshare_command() {
    if !require_root("blocks_user_namespace_via_unshare_command") {
        return;
    }
    let run = jail(&[]).sh(
        "unshare -U -r id -u; echo rc=$?; unshare -m -n true; echo rc=$?; unshare true; echo plain=$?",
    );
    run.assert_stderr_contains("unshare: unshare failed: Operation not permitted");
    run.assert_absent("\n0\n");
    run.assert_line("rc=1");
    // Control: unshare(2) with no namespace flag is allowed.
    run.assert_line("plain=0");
}

#[test]
fn blocks_user_namespace_via_unshare_syscall() {
    if !require_root("blocks_user_namespace_via_unshare_syscall") {
        return;
    }
    // CLONE_NEWUSER 0x10000000, CLONE_NEWNET 0x40000000, CLONE_NEWNS 0x20000, CLONE_FS 0x200.
    let run = kpy(r#"
call("newuser", 272, 0x10000000)
call("newuser-newns", 272, 0x10000000 | 0x20000)
call("newnet", 272, 0x40000000)
call("newpid", 272, 0x20000000)
call("fs", 272, 0x200)
"#);
    for tag in ["newuser", "newuser-newns", "newnet", "newpid"] {
        run.assert_denied(tag, EPERM);
    }
    run.assert_line("RESULT fs ret=0 errno=0");
}

#[test]
fn blocks_clone_with_new_mount_namespace() {
    if !require_root("blocks_clone_with_new_mount_namespace") {
        return;
    }
    // clone(flags, stack=0, …): SIGCHLD = 17; a successful child exits at once.
    let run = kpy(r#"
call("clone-newns", 56, 0x20000 | 17, 0, 0, 0, 0)
call("clone-newuser", 56, 0x10000000 | 17, 0, 0, 0, 0)
call("clone-newcgroup", 56, 0x02000000 | 17, 0, 0, 0, 0)
r, e = sc(56, 17, 0, 0, 0, 0)
if r == 0:
    os._exit(0)
must("clone-plain", r > 0 and os.waitpid(r, 0)[0] == r)
"#);
    run.assert_denied("clone-newns", EPERM);
    run.assert_denied("clone-newuser", EPERM);
    run.assert_denied("clone-newcgroup", EPERM);
    run.assert_ok("clone-plain");
}

#[test]
fn blocks_clone3() {
    if !require_root("blocks_clone3") {
        return;
    }
    // struct clone_args (88 bytes): flags, pidfd, child_tid, parent_tid, exit_signal, …
    let run = kpy(r#"
args = (ctypes.c_uint64 * 11)()
args[0] = 0x10000000
args[4] = 17
call("clone3-newuser", 435, ctypes.byref(args), 88)
args[0] = 0
call("clone3-plain", 435, ctypes.byref(args), 88)
pid = os.fork()
if pid == 0:
    os._exit(0)
must("fork", os.waitpid(pid, 0)[0] == pid)
"#);
    // ENOSYS, so libcs fall back to clone, whose flags the filter can inspect.
    run.assert_denied("clone3-newuser", ENOSYS);
    run.assert_denied("clone3-plain", ENOSYS);
    run.assert_ok("fork");
}

#[test]
fn blocks_loading_kernel_modules() {
    if !require_root("blocks_loading_kernel_modules") {
        return;
    }
    let run = kpy(r#"
image = ctypes.create_string_buffer(b"\x7fELF" + b"\0" * 60)
call("init-module", 175, image, 64, b"")
fd = os.open("/usr/bin/true", os.O_RDONLY)
call("finit-module", 313, fd, b"", 0)
call("delete-module", 176, b"ext4", 0)
"#);
    run.assert_denied("init-module", EPERM);
    run.assert_denied("finit-module", EPERM);
    run.assert_denied("delete-module", EPERM);
}

#[test]
fn blocks_kexec() {
    if !require_root("blocks_kexec") {
        return;
    }
    let run = kpy(
        "call('kexec-load', 246, 0, 0, 0, 0)\nfd = os.open('/usr/bin/true', os.O_RDONLY)\ncall('kexec-file', 320, fd, fd, 1, b'', 0)",
    );
    run.assert_denied("kexec-load", EPERM);
    run.assert_denied("kexec-file", EPERM);
}

#[test]
fn blocks_io_uring() {
    if !require_root("blocks_io_uring") {
        return;
    }
    let run = kpy(r#"
params = ctypes.create_string_buffer(120)
call("setup", 425, 8, params)
call("enter", 426, 0, 0, 0, 0, 0, 0)
call("register", 427, 0, 0, 0, 0)
"#);
    run.assert_denied("setup", EPERM);
    run.assert_denied("enter", EPERM);
    run.assert_denied("register", EPERM);
}

#[test]
fn blocks_bpf() {
    if !require_root("blocks_bpf") {
        return;
    }
    // BPF_MAP_CREATE = 0 (array map, 4-byte keys and values), BPF_PROG_LOAD = 5.
    let run = kpy(r#"
attr = (ctypes.c_uint32 * 32)()
attr[0], attr[1], attr[2], attr[3] = 2, 4, 4, 1
call("map-create", 321, 0, ctypes.byref(attr), 128)
call("prog-load", 321, 5, ctypes.byref((ctypes.c_uint32 * 32)()), 128)
"#);
    run.assert_denied("map-create", EPERM);
    run.assert_denied("prog-load", EPERM);
}

#[test]
fn blocks_perf_event_open() {
    if !require_root("blocks_perf_event_open") {
        return;
    }
    // PERF_TYPE_SOFTWARE (1), PERF_COUNT_SW_CPU_CLOCK (0), size 128, this process, any CPU.
    let run = kpy(r#"
attr = (ctypes.c_uint32 * 32)()
attr[0], attr[1] = 1, 128
call("perf", 298, ctypes.byref(attr), 0, -1, -1, 0)
"#);
    run.assert_denied("perf", EPERM);
}

#[test]
fn blocks_userfaultfd() {
    if !require_root("blocks_userfaultfd") {
        return;
    }
    let run = kpy(
        "call('userfaultfd', 323, 0o2000000)\nattempt('dev-userfaultfd', lambda: os.open('/dev/userfaultfd', os.O_RDWR))",
    );
    run.assert_denied("userfaultfd", EPERM);
    run.assert_errno("dev-userfaultfd", crate::util::ENOENT);
}

#[test]
fn blocks_setns() {
    if !require_root("blocks_setns") {
        return;
    }
    let run = kpy(r#"
fd = os.open("/proc/self/ns/net", os.O_RDONLY)
must("ns-open", fd >= 0)
call("setns-net", 308, fd, 0)
call("setns-pidfd", 308, os.open("/proc/self/ns/mnt", os.O_RDONLY), 0)
attempt("init-mnt-ns", lambda: os.open("/proc/1/ns/mnt", os.O_RDONLY))
"#);
    run.assert_ok("ns-open");
    run.assert_denied("setns-net", EPERM);
    run.assert_denied("setns-pidfd", EPERM);
    run.assert_errno("init-mnt-ns", EACCES);
}

#[test]
fn blocks_stealing_init_fds_with_pidfd_getfd() {
    if !require_root("blocks_stealing_init_fds_with_pidfd_getfd") {
        return;
    }
    let run = kpy(r#"
pidfd, e = sc(434, 1, 0)
must("pidfd-open", pidfd >= 0)
for fd in (0, 1, 2, 3):
    call("getfd-%d" % fd, 438, pidfd, fd, 0)
"#);
    run.assert_ok("pidfd-open");
    for fd in 0..4 {
        run.assert_denied(&format!("getfd-{fd}"), EPERM);
    }
}

#[test]
fn blocks_open_by_handle_at() {
    if !require_root("blocks_open_by_handle_at") {
        return;
    }
    // struct file_handle { u32 handle_bytes; int handle_type; u8 f_handle[]; }; a guessed
    // ext4 handle for inode 2 (the root), as in the "shocker" escape.
    let run = kpy(r#"
h = (ctypes.c_uint32 * 4)(8, 1, 2, 0)
mfd = os.open("/etc", os.O_RDONLY)
call("open-by-handle", 304, mfd, ctypes.byref(h), 0)
mount_id = ctypes.c_int(0)
call("name-to-handle", 303, -100, b"/etc/passwd", ctypes.byref(h), ctypes.byref(mount_id), 0)
"#);
    run.assert_denied("open-by-handle", EPERM);
    run.assert_denied("name-to-handle", EPERM);
}

#[test]
fn blocks_kernel_keyrings() {
    if !require_root("blocks_kernel_keyrings") {
        return;
    }
    // KEYCTL_GET_KEYRING_ID = 0 on KEY_SPEC_SESSION_KEYRING (-3); KEYCTL_JOIN… = 1.
    let run = kpy(r#"
import stat
call("get-keyring", 250, 0, -3, 0)
call("join-session", 250, 1, 0)
call("add-key", 248, b"user", b"paddock", b"x", 1, -3)
call("request-key", 249, b"user", b"paddock", 0, -3)
try:
    st = os.stat("/proc/keys")
    must("proc-keys", stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3))
except FileNotFoundError:
    must("proc-keys", True)
"#);
    for tag in ["get-keyring", "join-session", "add-key", "request-key"] {
        run.assert_denied(tag, EPERM);
    }
    run.assert_ok("proc-keys");
}

#[test]
fn blocks_changing_hostname() {
    if !require_root("blocks_changing_hostname") {
        return;
    }
    let before = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let run = jail(&["--hostname", "paddock-escape"]).py(r#"
call("sethostname", 170, b"pwned", 5)
call("setdomainname", 171, b"pwned", 5)
must("jail-hostname", os.uname().nodename == "paddock-escape")
"#);
    run.assert_denied("sethostname", EPERM);
    run.assert_denied("setdomainname", EPERM);
    run.assert_ok("jail-hostname");
    let after = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(before, after, "the host's hostname changed");
}

#[test]
fn blocks_dmesg() {
    if !require_root("blocks_dmesg") {
        return;
    }
    // SYSLOG_ACTION_READ_ALL = 3, SYSLOG_ACTION_CLEAR = 5.
    let run = kpy(
        "buf = ctypes.create_string_buffer(4096)\ncall('read-all', 103, 3, buf, 4096)\ncall('clear', 103, 5, 0, 0)",
    );
    run.assert_denied("read-all", EPERM);
    run.assert_denied("clear", EPERM);
    let shell = jail(&[]).sh("dmesg; echo rc=$?");
    shell.assert_stderr_contains("dmesg: read kernel buffer failed: Operation not permitted");
    shell.assert_line("rc=1");
}

#[test]
fn blocks_new_mount_api() {
    if !require_root("blocks_new_mount_api") {
        return;
    }
    // fsopen 430, open_tree 428 (OPEN_TREE_CLONE 1), move_mount 429, fsmount 432,
    // mount_setattr 442, fspick 433.
    let run = kpy(r#"
call("fsopen", 430, b"tmpfs", 0)
call("open-tree", 428, -100, b"/", 1)
call("move-mount", 429, -100, b"/tmp", -100, b"/workspace", 0)
call("fsmount", 432, 3, 0, 0)
call("mount-setattr", 442, -100, b"/usr", 0, 0, 0)
call("fspick", 433, -100, b"/usr", 0)
"#);
    for tag in [
        "fsopen",
        "open-tree",
        "move-mount",
        "fsmount",
        "mount-setattr",
        "fspick",
    ] {
        run.assert_denied(tag, EPERM);
    }
}

#[test]
fn blocks_host_wide_admin_calls() {
    if !require_root("blocks_host_wide_admin_calls") {
        return;
    }
    // reboot(LINUX_REBOOT_CMD_CAD_OFF), clock_settime(CLOCK_REALTIME), acct, swapon.
    let run = kpy(r#"
call("reboot", 169, 0xfee1dead, 672274793, 0, 0)
ts = (ctypes.c_long * 2)(0, 0)
call("clock-settime", 227, 0, ctypes.byref(ts))
call("settimeofday", 164, ctypes.byref(ts), 0)
call("acct", 163, b"/tmp/acct")
call("swapon", 167, b"/tmp/swap", 0)
"#);
    for tag in ["reboot", "clock-settime", "settimeofday", "acct", "swapon"] {
        run.assert_denied(tag, EPERM);
    }
}

/// Python that tries TIOCSTI and TIOCLINUX on stdin and reports whether it is a terminal.
const PY_TIOCSTI: &str = r#"
import termios
c = ctypes.c_char(b"x")
must("stdin-is-tty", os.isatty(0))
r = libc.ioctl(0, ctypes.c_ulong(termios.TIOCSTI), ctypes.byref(c))
print("RESULT tiocsti ret=%d errno=%d" % (r, ctypes.get_errno() if r == -1 else 0), flush=True)
sub = ctypes.c_char(b"\x0b")
r = libc.ioctl(0, ctypes.c_ulong(0x541C), ctypes.byref(sub))
print("RESULT tioclinux ret=%d errno=%d" % (r, ctypes.get_errno() if r == -1 else 0), flush=True)
ws = ctypes.create_string_buffer(8)
r = libc.ioctl(0, ctypes.c_ulong(termios.TIOCGWINSZ), ws)
print("RESULT tiocgwinsz ret=%d" % r, flush=True)
"#;

/// Runs `paddock jail <opts> -- python3 -c <PY_TIOCSTI>` under `script`, so paddock's own
/// stdin is a real terminal on the host.
fn tiocsti_under_script(opts: &str) -> Run {
    let body = format!("{PY_PRELUDE}\n{PY_TIOCSTI}");
    let inner = format!(
        "{} jail {opts} -- python3 -c {}",
        shell_quote(crate::util::paddock_bin()),
        shell_quote(&body)
    );
    let mut c = std::process::Command::new("script");
    c.args(["-qec", &inner, "/dev/null"]);
    let run = run_command(c, None);
    run.assert_ok("control");
    run
}

#[test]
fn blocks_tiocsti_injection_into_parent_terminal() {
    if !require_root("blocks_tiocsti_injection_into_parent_terminal") {
        return;
    }
    // Without --tty, the jail's stdin is the caller's terminal itself: the real target.
    let run = tiocsti_under_script("");
    run.assert_ok("stdin-is-tty");
    run.assert_denied("tiocsti", EPERM);
    run.assert_denied("tioclinux", EPERM);
    // Control: other terminal ioctls work on the same descriptor.
    run.assert_line("RESULT tiocgwinsz ret=0");
}

#[test]
fn blocks_tiocsti_injection_under_tty() {
    if !require_root("blocks_tiocsti_injection_under_tty") {
        return;
    }
    let run = tiocsti_under_script("--tty");
    run.assert_ok("stdin-is-tty");
    run.assert_denied("tiocsti", EPERM);
    run.assert_denied("tioclinux", EPERM);
    run.assert_line("RESULT tiocgwinsz ret=0");
}
