//! Resource attacks (fork bomb, memory bomb, filling /tmp, core dumps), running as root,
//! and the promise that a jail leaves nothing behind on the host.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{
    assert_host_clean, jail, leftover_cgroups, pgrep, require_root, unique, EAGAIN, ENOSPC, EPERM,
};

#[test]
fn blocks_fork_bomb_with_pids_limit() {
    if !require_root("blocks_fork_bomb_with_pids_limit") {
        return;
    }
    let run = jail(&["--pids", "64"]).py(r#"
import time
kids, err = 0, None
for i in range(1000):
    try:
        pid = os.fork()
    except OSError as e:
        err = e.errno
        break
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    kids += 1
print("RESULT fork errno=%s" % err, flush=True)
must("some-forks", 10 < kids < 64)
"#);
    run.assert_errno("fork", EAGAIN);
    run.assert_ok("some-forks");
    run.assert_exit(0);
    // The sleeping children died with init; the whole run stayed short.
    assert!(
        run.elapsed < Duration::from_secs(20),
        "took {:?}",
        run.elapsed
    );
    let host = Command::new("true").status().unwrap();
    assert!(host.success(), "the host cannot spawn a process");
}

#[test]
fn blocks_memory_bomb_with_memory_limit() {
    if !require_root("blocks_memory_bomb_with_memory_limit") {
        return;
    }
    // Control: 16 MiB fits in the same limit.
    let small = jail(&["--memory", "64M"]).py("b = b'x' * (16 << 20)\nprint('RESULT small ok')");
    small.assert_ok("small");
    small.assert_exit(0);
    let start = Instant::now();
    let run = jail(&["--memory", "64M"]).run(&[
        "python3",
        "-c",
        "b = b'x' * (256 << 20)\nprint('RESULT survived', flush=True)",
    ]);
    // SIGKILL from the OOM killer: 128 + 9.
    run.assert_exit(137);
    run.assert_absent("RESULT survived");
    assert!(start.elapsed() < Duration::from_secs(20));
}

#[test]
fn blocks_filling_tmp_beyond_tmp_size() {
    if !require_root("blocks_filling_tmp_beyond_tmp_size") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, "filesystem:\n  tmp_size: 8M\n").unwrap();
    let run = jail(&["--policy", policy.to_str().unwrap()]).sh(
        "yes | dd of=/tmp/fill bs=1M count=32 iflag=fullblock; echo rc=$?; echo size=$(stat -c %s /tmp/fill)",
    );
    run.assert_stderr_contains("No space left on device");
    run.assert_line("rc=1");
    run.assert_line(&format!("size={}", 8 << 20));
    let py = jail(&["--policy", policy.to_str().unwrap()]).py(r#"
f = open("/tmp/g", "wb", buffering=0)
n = 0
try:
    while True:
        n += f.write(b"x" * 65536)
except OSError as e:
    print("RESULT fill errno=%d" % e.errno, flush=True)
must("stopped-at-8M", 7 << 20 < n <= 8 << 20)
"#);
    py.assert_errno("fill", ENOSPC);
    py.assert_ok("stopped-at-8M");
}

#[test]
fn blocks_core_dumps_and_raising_rlimits() {
    if !require_root("blocks_core_dumps_and_raising_rlimits") {
        return;
    }
    let run = jail(&[]).py(r#"
import resource
must("core-zero", resource.getrlimit(resource.RLIMIT_CORE) == (0, 0))
lim = (ctypes.c_ulong * 2)(1 << 20, 1 << 20)
r = libc.setrlimit(resource.RLIMIT_CORE, ctypes.byref(lim))
print("RESULT raise ret=%d errno=%d" % (r, ctypes.get_errno() if r == -1 else 0), flush=True)
attempt("lower-nofile", lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64)))
"#);
    run.assert_ok("core-zero");
    // Raising a hard limit needs CAP_SYS_RESOURCE: setrlimit fails with EPERM.
    run.assert_denied("raise", EPERM);
    run.assert_ok("lower-nofile");
}

#[test]
fn blocks_running_as_uid_0() {
    if !require_root("blocks_running_as_uid_0") {
        return;
    }
    for opts in [["--uid", "0"], ["--user", "root"]] {
        let run = jail(&opts).sh("echo ran-as-$(id -u)");
        run.assert_exit(125);
        run.assert_stderr_contains("refusing to run a jail as root (uid or gid 0)");
        run.assert_absent("ran-as-");
    }
    // Control: an unprivileged uid runs.
    let ok = jail(&["--uid", "4242"]).sh("echo ran-as-$(id -u)");
    ok.assert_line("ran-as-4242");
}

#[test]
fn leaves_nothing_behind() {
    if !require_root("leaves_nothing_behind") {
        return;
    }
    // A unique sleep duration marks every sleeper, including the double-forked daemon.
    let nanos = unique("x").rsplit('-').next().unwrap_or("0").to_string();
    let marker = format!(
        "1000.{}{}",
        std::process::id(),
        &nanos[..nanos.len().min(4)]
    );
    let pattern = format!("^sleep {marker}$");
    // Sleepers are forked from Python: dash's `cmd &` opens /dev/null for the command's
    // stdin, and that would test /dev rather than cleanup.
    let script = r#"
import os, sys
m = sys.argv[1]
for _ in range(3):
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", m])
mid = os.fork()
if mid == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", m])
    os._exit(0)
os.waitpid(mid, 0)
print("READY", flush=True)
sys.stdin.readline()
print("bye", flush=True)
"#;
    let mut child = Command::new(crate::util::paddock_bin())
        .args([
            "jail", "--net", "none", "--", "python3", "-c", script, &marker,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let paddock_pid = child.id();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "READY");
    // Control: the host sees the sleepers while the jail runs, and the cgroup exists.
    let running = pgrep(&pattern);
    assert!(
        running.len() >= 4,
        "expected ≥ 4 sleepers, pgrep: {running:?}"
    );
    assert!(
        !leftover_cgroups(paddock_pid).is_empty(),
        "no cgroup while running"
    );
    child.stdin.take().unwrap().write_all(b"\n").unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "rest of output: {rest}");
    assert_eq!(rest.trim(), "bye");
    let left = pgrep(&pattern);
    assert!(left.is_empty(), "sleepers survived the jail: {left:?}");
    assert_host_clean(paddock_pid);
}
