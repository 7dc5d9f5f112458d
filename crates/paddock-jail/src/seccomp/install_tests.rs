//! The filters in a real kernel: a forked child sets `no_new_privs`, installs them, tries
//! attacks and ordinary calls, and reports each errno to the parent through a pipe. No root
//! needed. Exact errnos are asserted: "it failed" proves nothing.

use std::io::Read;
use std::os::fd::OwnedFd;

use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::ForkResult;

use super::table::ioctl_cmd;
use super::{build, compile, profile_default, SeccompError, SeccompFilters};
use crate::sys::seccomp::probe;

/// An errno none of the probed syscalls returns by itself: a probe failing with it was refused
/// by the filter, not by the kernel's own permission checks (which also say EPERM).
const MARKER: Errno = Errno::EHWPOISON;

/// Room for the report: one status word plus one per probe.
const MAX_PROBES: usize = 64;

#[derive(Clone, Copy, Debug)]
enum Probe {
    PtraceTraceme,
    Socket(i32, i32, i32),
    Clone3,
    Unshare(i32),
    IoUringSetup,
    Ioctl(u64),
    Mount,
    /// A syscall with integer arguments that are never valid addresses.
    Ints(libc::c_long, [libc::c_long; 3]),
    ForkAndWait,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Success, any return value.
    Ok,
    /// Success with this return value.
    Returns(i32),
    Errno(Errno),
    /// The filter's deny errno (EPERM, or MARKER in the marker test).
    Denied,
}

type Case = (&'static str, Probe, Expect);

/// What the default profile must refuse or allow, named for the attack or the user.
const CASES: &[Case] = &[
    (
        "ptrace(PTRACE_TRACEME)",
        Probe::PtraceTraceme,
        Expect::Denied,
    ),
    (
        "socket(AF_PACKET, SOCK_RAW): sniff and forge frames",
        Probe::Socket(libc::AF_PACKET, libc::SOCK_RAW, 0),
        Expect::Denied,
    ),
    (
        "socket(AF_INET, SOCK_RAW, IPPROTO_ICMP): forge IP",
        Probe::Socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_ICMP),
        Expect::Denied,
    ),
    (
        "socket(AF_INET6, SOCK_RAW|SOCK_CLOEXEC): flags do not hide SOCK_RAW",
        Probe::Socket(libc::AF_INET6, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0),
        Expect::Denied,
    ),
    (
        "socket(AF_NETLINK, NETLINK_AUDIT)",
        Probe::Socket(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_AUDIT),
        Expect::Denied,
    ),
    (
        "socket(AF_ALG): kernel crypto API",
        Probe::Socket(libc::AF_ALG, libc::SOCK_SEQPACKET, 0),
        Expect::Denied,
    ),
    (
        "clone3: ENOSYS so glibc falls back to clone",
        Probe::Clone3,
        Expect::Errno(Errno::ENOSYS),
    ),
    (
        "unshare(CLONE_NEWUSER)",
        Probe::Unshare(libc::CLONE_NEWUSER),
        Expect::Denied,
    ),
    (
        "unshare(CLONE_FS|CLONE_NEWNET): one namespace flag is enough",
        Probe::Unshare(libc::CLONE_FS | libc::CLONE_NEWNET),
        Expect::Denied,
    ),
    (
        "unshare(CLONE_NEWTIME)",
        Probe::Unshare(libc::CLONE_NEWTIME),
        Expect::Denied,
    ),
    (
        // CLONE_FS makes the kernel itself reject the call (EINVAL), so no child appears if
        // the filter ever fails open.
        "clone(CLONE_NEWUSER|CLONE_FS)",
        Probe::Ints(
            libc::SYS_clone,
            [(libc::CLONE_NEWUSER | libc::CLONE_FS) as libc::c_long, 0, 0],
        ),
        Expect::Denied,
    ),
    ("io_uring_setup", Probe::IoUringSetup, Expect::Denied),
    (
        "ioctl(TIOCSTI): type into the terminal",
        Probe::Ioctl(ioctl_cmd(libc::TIOCSTI)),
        Expect::Denied,
    ),
    (
        "ioctl(TIOCSTI | 1<<32): high bits must not bypass the check",
        Probe::Ioctl(ioctl_cmd(libc::TIOCSTI) | 1 << 32),
        Expect::Denied,
    ),
    (
        "ioctl(TIOCLINUX)",
        Probe::Ioctl(ioctl_cmd(libc::TIOCLINUX)),
        Expect::Denied,
    ),
    ("mount", Probe::Mount, Expect::Denied),
    (
        "setns",
        Probe::Ints(libc::SYS_setns, [0, 0, 0]),
        Expect::Denied,
    ),
    (
        "personality(ADDR_NO_RANDOMIZE)",
        Probe::Ints(libc::SYS_personality, [0x0040000, 0, 0]),
        Expect::Denied,
    ),
    // --- ordinary programs ---
    (
        "getpid",
        Probe::Ints(libc::SYS_getpid, [0, 0, 0]),
        Expect::Ok,
    ),
    (
        "socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC)",
        Probe::Socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0),
        Expect::Ok,
    ),
    (
        "socket(AF_INET6, SOCK_DGRAM|SOCK_NONBLOCK)",
        Probe::Socket(libc::AF_INET6, libc::SOCK_DGRAM | libc::SOCK_NONBLOCK, 0),
        Expect::Ok,
    ),
    (
        "socket(AF_UNIX, SOCK_STREAM)",
        Probe::Socket(libc::AF_UNIX, libc::SOCK_STREAM, 0),
        Expect::Ok,
    ),
    (
        "socket(AF_NETLINK, NETLINK_ROUTE)",
        Probe::Socket(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_ROUTE),
        Expect::Ok,
    ),
    (
        "ioctl(FIONREAD) reaches the kernel (EBADF on fd -1)",
        Probe::Ioctl(ioctl_cmd(libc::FIONREAD)),
        Expect::Errno(Errno::EBADF),
    ),
    (
        "unshare(CLONE_FS)",
        Probe::Unshare(libc::CLONE_FS),
        Expect::Ok,
    ),
    (
        "personality(0xffffffff): query",
        Probe::Ints(libc::SYS_personality, [0xffff_ffff, 0, 0]),
        Expect::Ok,
    ),
    ("fork + wait", Probe::ForkAndWait, Expect::Ok),
];

/// Must-deny syscalls whose zero arguments are harmless if the filter failed open (no
/// `reboot`, `kexec_load`, `acct`, `sethostname`…: as root those would act on the host).
const ZERO_ARG_SWEEP: &[(&str, libc::c_long)] = &[
    ("bpf", libc::SYS_bpf),
    ("perf_event_open", libc::SYS_perf_event_open),
    ("userfaultfd", libc::SYS_userfaultfd),
    ("keyctl", libc::SYS_keyctl),
    ("add_key", libc::SYS_add_key),
    ("request_key", libc::SYS_request_key),
    ("process_vm_readv", libc::SYS_process_vm_readv),
    ("process_vm_writev", libc::SYS_process_vm_writev),
    ("pidfd_getfd", libc::SYS_pidfd_getfd),
    ("kcmp", libc::SYS_kcmp),
    ("chroot", libc::SYS_chroot),
    ("pivot_root", libc::SYS_pivot_root),
    ("umount2", libc::SYS_umount2),
    ("fsopen", libc::SYS_fsopen),
    ("fspick", libc::SYS_fspick),
    ("open_tree", libc::SYS_open_tree),
    ("name_to_handle_at", libc::SYS_name_to_handle_at),
    ("open_by_handle_at", libc::SYS_open_by_handle_at),
    ("io_uring_enter", libc::SYS_io_uring_enter),
    ("io_uring_register", libc::SYS_io_uring_register),
    ("move_pages", libc::SYS_move_pages),
    ("syslog", libc::SYS_syslog),
];

/// Runs one probe: its return value (>= 0) or `-errno`.
fn run(probe: Probe) -> i32 {
    let result = match probe {
        Probe::PtraceTraceme => probe::ptrace_traceme(),
        Probe::Socket(domain, ty, proto) => probe::socket(domain, ty, proto).map(|_fd| 0),
        Probe::Clone3 => probe::clone3_empty(),
        Probe::Unshare(flags) => {
            nix::sched::unshare(CloneFlags::from_bits_retain(flags)).map(|()| 0)
        }
        Probe::IoUringSetup => probe::io_uring_setup_null(),
        Probe::Ioctl(cmd) => probe::ioctl_with_byte(-1, cmd),
        Probe::Mount => probe::mount_null(),
        Probe::Ints(nr, [a, b, c]) => probe::ints(nr, a, b, c),
        Probe::ForkAndWait => fork_and_wait().map(|()| 0),
    };
    match result {
        Ok(value) => i32::try_from(value).unwrap_or(i32::MAX),
        Err(errno) => -(errno as i32),
    }
}

fn fork_and_wait() -> Result<(), Errno> {
    match probe::fork()? {
        ForkResult::Child => probe::exit_now(42),
        ForkResult::Parent { child } => match waitpid(child, None)? {
            WaitStatus::Exited(_, 42) => Ok(()),
            _ => Err(Errno::ECHILD),
        },
    }
}

/// Forks; the child sets no_new_privs (if asked), installs `filters`, runs `probes` (also when
/// install failed: every probe is harmless unfiltered) and writes `[install, probe…]` to a
/// pipe, each a return value or `-errno`. Only raw syscalls run in the child: the test
/// harness is multi-threaded.
fn in_child(filters: &SeccompFilters, set_nnp: bool, probes: &[Probe]) -> Vec<i32> {
    assert!(probes.len() < MAX_PROBES);
    let (read_end, write_end) = nix::unistd::pipe().expect("pipe");
    match probe::fork().expect("fork") {
        ForkResult::Child => {
            drop(read_end);
            let mut report = [0i32; MAX_PROBES];
            let status = if set_nnp {
                nix::sys::prctl::set_no_new_privs().and_then(|()| filters.install())
            } else {
                filters.install()
            };
            report[0] = match status {
                Ok(()) => 0,
                Err(errno) => -(errno as i32),
            };
            for (slot, probe) in report[1..].iter_mut().zip(probes) {
                *slot = run(*probe);
            }
            let mut bytes = [0u8; MAX_PROBES * 4];
            for (chunk, word) in bytes.chunks_exact_mut(4).zip(report) {
                chunk.copy_from_slice(&word.to_ne_bytes());
            }
            let written = nix::unistd::write(&write_end, &bytes[..(probes.len() + 1) * 4]);
            probe::exit_now(if written.is_ok() { 0 } else { 99 })
        }
        ForkResult::Parent { child } => {
            drop(write_end);
            let report = read_report(read_end);
            assert_eq!(
                waitpid(child, None).expect("waitpid"),
                WaitStatus::Exited(child, 0),
                "probe child did not exit cleanly"
            );
            report
        }
    }
}

fn read_report(read_end: OwnedFd) -> Vec<i32> {
    let mut bytes = Vec::new();
    std::fs::File::from(read_end)
        .read_to_end(&mut bytes)
        .expect("read report");
    bytes
        .chunks_exact(4)
        .map(|c| i32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn describe(code: i32) -> String {
    if code >= 0 {
        format!("success ({code})")
    } else {
        format!("{:?}", Errno::from_raw(-code))
    }
}

/// Runs `cases` under `filters` and asserts each outcome, `Denied` meaning `deny`.
fn assert_cases(filters: &SeccompFilters, cases: &[Case], deny: Errno) {
    let probes: Vec<Probe> = cases.iter().map(|(_, p, _)| *p).collect();
    let report = in_child(filters, true, &probes);
    assert_eq!(report.len(), cases.len() + 1, "short report: {report:?}");
    assert_eq!(report[0], 0, "install failed: {}", describe(report[0]));
    let mut wrong = Vec::new();
    for ((name, _, expect), got) in cases.iter().zip(&report[1..]) {
        let (ok, want) = match expect {
            Expect::Ok => (*got >= 0, "success".to_string()),
            Expect::Returns(v) => (got == v, describe(*v)),
            Expect::Errno(errno) => (*got == -(*errno as i32), describe(-(*errno as i32))),
            Expect::Denied => (*got == -(deny as i32), describe(-(deny as i32))),
        };
        if !ok {
            wrong.push(format!("{name}: expected {want}, got {}", describe(*got)));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn blocks_attacks_with_eperm_and_allows_ordinary_calls() {
    let filters = build(paddock_policy::SeccompProfile::Default).expect("build");
    assert_cases(&filters, CASES, Errno::EPERM);
}

#[test]
fn denials_come_from_the_filter_not_the_kernel() {
    // Unprivileged, the kernel itself answers EPERM to raw sockets and mount; as root it
    // would allow them. Denying with MARKER shows which answer came from the filter.
    let filters = compile("default", profile_default::rules(), MARKER as u32).expect("compile");
    let sweep: Vec<Case> = ZERO_ARG_SWEEP
        .iter()
        .map(|(name, nr)| (*name, Probe::Ints(*nr, [0, 0, 0]), Expect::Denied))
        .collect();
    assert_cases(&filters, CASES, MARKER);
    assert_cases(&filters, &sweep, MARKER);
}

#[test]
fn install_refuses_without_no_new_privs() {
    let filters = build(paddock_policy::SeccompProfile::Default).expect("build");
    let get_seccomp = Probe::Ints(
        libc::SYS_prctl,
        [libc::PR_GET_SECCOMP as libc::c_long, 0, 0],
    );
    // The child skips NNP: install must fail with EACCES and leave seccomp off, even for root
    // (whom the kernel would let install a filter without NNP).
    let report = in_child(&filters, false, &[get_seccomp]);
    // [install: -EACCES, PR_GET_SECCOMP: 0 (SECCOMP_MODE_DISABLED)]
    assert_eq!(report, vec![-(Errno::EACCES as i32), 0], "{report:?}");
    assert!(matches!(
        SeccompError::from_install_errno(Errno::EACCES),
        SeccompError::NoNewPrivs
    ));
}

#[test]
fn install_reports_filter_mode() {
    let filters = build(paddock_policy::SeccompProfile::Default).expect("build");
    let get_seccomp = Probe::Ints(
        libc::SYS_prctl,
        [libc::PR_GET_SECCOMP as libc::c_long, 0, 0],
    );
    let cases = [(
        "prctl(PR_GET_SECCOMP) = SECCOMP_MODE_FILTER",
        get_seccomp,
        Expect::Returns(libc::SECCOMP_MODE_FILTER as i32),
    )];
    assert_cases(&filters, &cases, Errno::EPERM);
}

#[test]
fn real_programs_run_under_the_default_profile() {
    let filters = build(paddock_policy::SeccompProfile::Default).expect("build");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = std::process::Command::new("/bin/sh");
    cmd.arg("-c").arg(REAL_PROGRAMS).current_dir(dir.path());
    probe::install_before_exec(&mut cmd, filters.programs.clone());
    let out = cmd.output().expect("spawn /bin/sh under the filter");
    assert!(
        out.status.success(),
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("coreutils ok"), "{stdout}");
    // A tool that is installed must have run to its end, not been skipped.
    for (tool, marker) in [
        ("python3", "python ok"),
        ("git", "git ok"),
        ("gcc", "gcc ok"),
        ("node", "node ok"),
        ("curl", "curl ok"),
    ] {
        if on_path(tool) {
            assert!(
                stdout.contains(marker),
                "{tool} is installed but did not finish:\n{stdout}"
            );
        }
    }
    // Under the filter, Seccomp: 2 (filter mode) and two stacked filters.
    assert!(stdout.contains("Seccomp:\t2"), "{stdout}");
    assert!(stdout.contains("Seccomp_filters:\t1"), "{stdout}");
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
        .unwrap_or(false)
}

/// Each tool runs only if installed; none reaches the network.
const REAL_PROGRAMS: &str = r#"
set -eu
grep -E '^(Seccomp|Seccomp_filters|NoNewPrivs):' /proc/self/status
mkdir -p a/b && echo hello > a/b/f && cp a/b/f g && mv g h && ln -s h l && cat l >/dev/null
ls -la a >/dev/null && chmod 600 h && touch h && stat h >/dev/null && rm -r a h l
out=$(echo x | tr x y | sed s/y/z/) && test "$out" = z
( sleep 0 & wait )
echo "coreutils ok"
if command -v python3 >/dev/null; then
  python3 -c '
import os, socket, subprocess, tempfile, threading, multiprocessing
subprocess.run(["true"], check=True)
socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
a, b = socket.socketpair(); a.close(); b.close()
t = threading.Thread(target=lambda: None); t.start(); t.join()
with tempfile.TemporaryDirectory() as d: open(os.path.join(d, "f"), "w").write("x")
print("python ok")
'
fi
if command -v git >/dev/null; then
  git -c init.defaultBranch=main init -q repo && cd repo
  echo a > a && git add a
  git -c user.name=t -c user.email=t@example.invalid commit -qm init
  git log --oneline >/dev/null && cd .. && rm -rf repo
  echo "git ok"
fi
if command -v gcc >/dev/null; then
  printf '#include <stdio.h>\nint main(void){puts("hi");return 0;}\n' > t.c
  gcc -O1 -o t t.c && ./t >/dev/null && rm -f t t.c
  echo "gcc ok"
fi
if command -v node >/dev/null; then
  node -e 'require("child_process").execFileSync("true"); require("os").networkInterfaces(); require("fs").writeFileSync("n", "x"); console.log("node ok")'
fi
if command -v curl >/dev/null; then
  curl --version >/dev/null && echo "curl ok"
fi
"#;
