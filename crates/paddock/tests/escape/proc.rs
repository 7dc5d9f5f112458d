//! Attacks through `/proc`, `/sys`, signals, inherited state (descriptors, environment,
//! IPC) and the jail's own init.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::util::{
    jail, require_root, run_command, shell_quote, unique, EACCES, EBADF, EINVAL, ENOENT, EROFS,
    ESRCH, PY_PRELUDE,
};

/// Python defining `probe(tag, path)`: prints `RESULT <tag> errno=<e>` when the path is
/// absent, else `RESULT <tag> masked=<bool> bytes=<n>` or `… masked=<bool> errno=<e>` when
/// the read is refused (masked = the jail's /dev/null covers it).
const PY_PROBE: &str = r#"
import stat
def probe(tag, p):
    try:
        st = os.stat(p)
    except OSError as x:
        print("RESULT %s errno=%d" % (tag, x.errno), flush=True)
        return
    masked = stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    try:
        with open(p, "rb") as f:
            n = len(f.read(65536))
    except OSError as x:
        print("RESULT %s masked=%s errno=%d" % (tag, masked, x.errno), flush=True)
        return
    print("RESULT %s masked=%s bytes=%d" % (tag, masked, n), flush=True)
"#;

/// `probe` read nothing from `host_path`: absent in the jail when the host kernel has no
/// such file; otherwise covered by /dev/null (empty or, on a nodev /dev, refused), or
/// closed to the jail's uid by its mode (EACCES).
fn assert_unreadable(run: &crate::util::Run, tag: &str, host_path: &str) {
    if !Path::new(host_path).exists() {
        run.assert_errno(tag, ENOENT);
        return;
    }
    let accepted = [
        format!("RESULT {tag} masked=True bytes=0"),
        format!("RESULT {tag} masked=True errno={EACCES}"),
        format!("RESULT {tag} masked=False errno={EACCES}"),
    ];
    assert!(
        accepted.iter().any(|l| run.has_line(l)),
        "{tag}: expected one of {accepted:?}\n{}",
        run.stdout
    );
}

#[test]
fn blocks_seeing_host_processes() {
    if !require_root("blocks_seeing_host_processes") {
        return;
    }
    let host_pid = std::process::id();
    let run = jail(&[]).py(&format!(
        r#"
import subprocess
attempt("host-pid", lambda: os.stat("/proc/{host_pid}"))
pids = sorted(int(d) for d in os.listdir("/proc") if d.isdigit())
must("init-is-1", pids[0] == 1 and open("/proc/1/comm").read().strip() == "paddock")
must("few-pids", pids[-1] < 20)
ps = subprocess.run(["ps", "-e", "-o", "pid="], capture_output=True, text=True).stdout.split()
must("ps-jail-only", ps and all(int(p) < 20 for p in ps) and "{host_pid}" not in ps)
"#
    ));
    run.assert_errno("host-pid", ENOENT);
    run.assert_ok("init-is-1");
    run.assert_ok("few-pids");
    run.assert_ok("ps-jail-only");
    // Control: the pid is a live process on the host.
    assert!(Path::new(&format!("/proc/{host_pid}")).exists());
}

#[test]
fn blocks_signalling_host_processes() {
    if !require_root("blocks_signalling_host_processes") {
        return;
    }
    let mut victim = Command::new("sleep")
        .arg("30")
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let pid = victim.id();
    let run = jail(&[]).py(&format!(
        r#"
attempt("kill-host", lambda: os.kill({pid}, 9))
attempt("kill-host-group", lambda: os.killpg({pid}, 9))
attempt("kill-self-0", lambda: os.kill(os.getpid(), 0))
"#
    ));
    let alive = victim.try_wait().unwrap().is_none();
    let _ = victim.kill();
    let _ = victim.wait();
    run.assert_errno("kill-host", ESRCH);
    run.assert_errno("kill-host-group", ESRCH);
    run.assert_ok("kill-self-0");
    assert!(alive, "the host process died of the jail's signal");
}

#[test]
fn blocks_killing_init_from_the_workload() {
    if !require_root("blocks_killing_init_from_the_workload") {
        return;
    }
    let run = jail(&[]).py(r#"
import signal, time
os.kill(1, signal.SIGKILL)
os.kill(1, signal.SIGSTOP)
time.sleep(0.2)
state = [l for l in open("/proc/1/status") if l.startswith("State:")][0].split()[1]
must("init-alive", state in ("S", "R"))
print("RESULT continued", flush=True)
"#);
    run.assert_ok("init-alive");
    run.assert_line("RESULT continued");
    // The command's own status, not init's 137.
    run.assert_exit(0);
}

#[test]
fn blocks_reading_proc_kcore() {
    if !require_root("blocks_reading_proc_kcore") {
        return;
    }
    let run = jail(&[]).py(&format!(
        "{PY_PROBE}\nprobe('kcore', '/proc/kcore')\nprobe('control', '/proc/version')"
    ));
    assert_unreadable(&run, "kcore", "/proc/kcore");
    // Control: an unmasked /proc file reads.
    let control = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT control masked=False bytes="))
        .and_then(|n| n.parse::<u32>().ok());
    assert!(control.unwrap_or(0) > 0, "{}", run.stdout);
}

#[test]
fn blocks_reading_kernel_symbols_timers_and_log() {
    if !require_root("blocks_reading_kernel_symbols_timers_and_log") {
        return;
    }
    let files = [
        "kallsyms",
        "timer_list",
        "sched_debug",
        "kmsg",
        "kpageflags",
        "kpagecount",
        "key-users",
    ];
    let body: String = files
        .iter()
        .map(|f| format!("probe('{f}', '/proc/{f}')\n"))
        .collect();
    let run = jail(&[]).py(&format!("{PY_PROBE}\n{body}"));
    for f in files {
        assert_unreadable(&run, f, &format!("/proc/{f}"));
    }
}

#[test]
fn blocks_writing_proc_sysrq_trigger() {
    if !require_root("blocks_writing_proc_sysrq_trigger") {
        return;
    }
    let run = jail(&[]).py(&format!(
        "{PY_PROBE}\nprobe('sysrq', '/proc/sysrq-trigger')\nattempt('write', lambda: open('/proc/sysrq-trigger', 'w').close())"
    ));
    assert_unreadable(&run, "sysrq", "/proc/sysrq-trigger");
    if Path::new("/proc/sysrq-trigger").exists() {
        // Whatever the write did, it went to /dev/null or was refused.
        assert!(
            !run.has_line("RESULT sysrq masked=False bytes=0"),
            "{}",
            run.stdout
        );
    } else {
        run.assert_errno("write", ENOENT);
    }
}

#[test]
fn blocks_writing_sysfs() {
    if !require_root("blocks_writing_sysfs") {
        return;
    }
    let run = jail(&[]).py(r#"
# Opening for write (O_TRUNC) is enough to prove the point; nothing is written.
attempt("uevent-helper", lambda: open("/sys/kernel/uevent_helper", "w").close())
attempt("thp", lambda: open("/sys/kernel/mm/transparent_hugepage/enabled", "w").close())
attempt("power-state", lambda: open("/sys/power/state", "w").close())
attempt("printk", lambda: open("/sys/module/printk/parameters/time", "w").close())
attempt("mkdir", lambda: os.mkdir("/sys/kernel/paddock-x"))
must("sysfs-readable", os.listdir("/sys/class/net") == ["lo"])
"#);
    run.assert_errno("uevent-helper", EROFS);
    run.assert_errno("mkdir", EROFS);
    for (tag, path) in [
        ("thp", "/sys/kernel/mm/transparent_hugepage/enabled"),
        ("power-state", "/sys/power/state"),
        ("printk", "/sys/module/printk/parameters/time"),
    ] {
        if Path::new(path).exists() {
            run.assert_errno(tag, EROFS);
        }
    }
    run.assert_ok("sysfs-readable");
}

#[test]
fn blocks_writing_proc_sys() {
    if !require_root("blocks_writing_proc_sys") {
        return;
    }
    let before = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();
    let run = jail(&[]).py(r#"
# Opening for write (O_TRUNC) is enough to prove the point; nothing is written.
attempt("core-pattern", lambda: open("/proc/sys/kernel/core_pattern", "w").close())
attempt("hostname", lambda: open("/proc/sys/kernel/hostname", "w").close())
attempt("drop-caches", lambda: open("/proc/sys/vm/drop_caches", "w").close())
must("readable", open("/proc/sys/kernel/ostype").read().strip() == "Linux")
"#);
    run.assert_errno("core-pattern", EROFS);
    run.assert_errno("hostname", EROFS);
    run.assert_errno("drop-caches", EROFS);
    run.assert_ok("readable");
    let after = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();
    assert_eq!(before, after);
}

#[test]
fn blocks_sysfs_firmware_and_security_dirs() {
    if !require_root("blocks_sysfs_firmware_and_security_dirs") {
        return;
    }
    let run = jail(&[]).py(r#"
must("firmware-empty", os.listdir("/sys/firmware") == [])
must("security-empty", os.listdir("/sys/kernel/security") == [])
attempt("acpi-tables", lambda: os.listdir("/sys/firmware/acpi/tables"))
must("sysfs-mounted", len(os.listdir("/sys/kernel")) > 3)
"#);
    run.assert_ok("firmware-empty");
    run.assert_ok("security-empty");
    run.assert_errno("acpi-tables", ENOENT);
    run.assert_ok("sysfs-mounted");
}

#[test]
fn blocks_gaining_capabilities() {
    if !require_root("blocks_gaining_capabilities") {
        return;
    }
    let run = jail(&[]).sh("grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status; /usr/bin/id -u");
    for cap in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        run.assert_line(&format!("{cap}:\t0000000000000000"));
    }
    run.assert_line("NoNewPrivs:\t1");
    run.assert_line("Seccomp:\t2");
    run.assert_line("65534");
    // Control: the same file on the host shows the caller's (root's) capabilities.
    let host = std::fs::read_to_string("/proc/self/status").unwrap();
    assert!(!host.contains("CapEff:\t0000000000000000"), "{host}");
}

#[test]
fn blocks_using_fd_leaked_from_parent() {
    if !require_root("blocks_using_fd_leaked_from_parent") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    let token = unique("leaked-secret");
    std::fs::write(&secret, &token).unwrap();
    // fd 5 stays open (no close-on-exec) across the exec of paddock, like a careless caller.
    let leak = |inner: &str| {
        let mut c = Command::new("sh");
        c.arg("-c").arg(format!(
            "exec 5<{}; exec {inner}",
            shell_quote(secret.to_str().unwrap())
        ));
        c
    };
    let control = run_command(leak("cat <&5"), None);
    assert_eq!(
        control.stdout, token,
        "control: fd 5 reaches the exec'd program"
    );
    let body = format!(
        "{PY_PRELUDE}\nmust('only-stdio', sorted(os.listdir('/proc/self/fd')) == ['0', '1', '2', '3'])\nattempt('fd5', lambda: os.read(5, 100))"
    );
    let cmd = format!(
        "{} jail -- python3 -c {}",
        shell_quote(crate::util::paddock_bin()),
        shell_quote(&body)
    );
    let run = run_command(leak(&cmd), None);
    crate::util::assert_host_clean(run.pid);
    run.assert_ok("only-stdio");
    run.assert_errno("fd5", EBADF);
    run.assert_absent(&token);
}

#[test]
fn blocks_reading_host_environment_secrets() {
    if !require_root("blocks_reading_host_environment_secrets") {
        return;
    }
    let secret = unique("env-secret");
    let run = jail(&["--env", "PADDOCK_VISIBLE=yes"])
        .env("PADDOCK_TEST_SECRET", &secret)
        .py(r#"
must("env", "PADDOCK_TEST_SECRET" not in os.environ)
attempt("init-environ", lambda: open("/proc/1/environ", "rb").read())
print("RESULT visible=%s" % os.environ.get("PADDOCK_VISIBLE"), flush=True)
"#);
    run.assert_ok("env");
    // init is a clone of paddock and still holds its environment: not dumpable, so closed.
    run.assert_errno("init-environ", EACCES);
    run.assert_line("RESULT visible=yes");
    run.assert_absent(&secret);
}

#[test]
fn blocks_writing_init_memory_and_executable() {
    if !require_root("blocks_writing_init_memory_and_executable") {
        return;
    }
    let run = jail(&[]).py(r#"
attempt("init-mem", lambda: os.open("/proc/1/mem", os.O_RDWR))
attempt("init-exe", lambda: os.open("/proc/1/exe", os.O_WRONLY))
attempt("init-fd", lambda: os.listdir("/proc/1/fd"))
attempt("self-mem", lambda: os.close(os.open("/proc/self/mem", os.O_RDONLY)))
"#);
    run.assert_errno("init-mem", EACCES);
    run.assert_errno("init-exe", EACCES);
    run.assert_errno("init-fd", EACCES);
    run.assert_ok("self-mem");
}

#[test]
fn blocks_cgroup_release_agent_escape() {
    if !require_root("blocks_cgroup_release_agent_escape") {
        return;
    }
    let run = jail(&[]).py(r#"
must("no-cgroupfs", os.listdir("/sys/fs/cgroup") == [])
must("cgroup-namespace", all(l.rstrip().endswith(":/") for l in open("/proc/self/cgroup")))
attempt("release-agent", lambda: open("/sys/fs/cgroup/release_agent", "w").close())
attempt("mkdir", lambda: os.mkdir("/sys/fs/cgroup/x"))
"#);
    run.assert_ok("no-cgroupfs");
    run.assert_ok("cgroup-namespace");
    // /sys/fs/cgroup is sysfs's permanently empty mount point: nothing can appear in it.
    run.assert_errno("release-agent", ENOENT);
    run.assert_errno("mkdir", ENOENT);
}

#[test]
fn blocks_reaching_host_sysv_ipc() {
    if !require_root("blocks_reaching_host_sysv_ipc") {
        return;
    }
    let out = Command::new("ipcmk").arg("-Q").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let id: String = text.chars().filter(char::is_ascii_digit).collect();
    assert!(!id.is_empty(), "ipcmk: {text}");
    let host_view = std::fs::read_to_string("/proc/sysvipc/msg").unwrap();
    let run = jail(&[]).py(&format!(
        r#"
rows = [l.split() for l in open("/proc/sysvipc/msg").readlines()[1:]]
must("no-queues", rows == [])
r = libc.msgctl({id}, 2, None)
print("RESULT msgctl ret=%d errno=%d" % (r, ctypes.get_errno() if r == -1 else 0), flush=True)
"#
    ));
    let _ = Command::new("ipcrm").args(["-q", &id]).status();
    // Control: the host sees the queue the jail cannot.
    assert!(
        host_view
            .lines()
            .any(|l| l.split_whitespace().nth(1) == Some(id.as_str())),
        "{host_view}"
    );
    run.assert_ok("no-queues");
    // IPC_STAT on the host's queue id: no such queue in the jail's IPC namespace.
    run.assert_denied("msgctl", EINVAL);
}
