//! Shared helpers of the root suites: run the real `paddock jail`, wrap attack scripts, and
//! check that the host is left as it was.
//!
//! Attack scripts print one marker line per attempt, `RESULT <tag> ret=<r> errno=<e>` (Python)
//! or `RESULT <tag> errno=<e>` / `RESULT <tag> ok`, so a test asserts the exact denial rather
//! than a non-zero exit (STYLE rule 13).

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// errno values the suite asserts (Linux, every architecture Paddock supports).
pub const EPERM: i32 = 1;
pub const ENOENT: i32 = 2;
pub const ESRCH: i32 = 3;
pub const EBADF: i32 = 9;
pub const EAGAIN: i32 = 11;
pub const EACCES: i32 = 13;
pub const EXDEV: i32 = 18;
pub const EINVAL: i32 = 22;
pub const ENOSPC: i32 = 28;
pub const EROFS: i32 = 30;
pub const ENOSYS: i32 = 38;
pub const ENETUNREACH: i32 = 101;
pub const ECONNREFUSED: i32 = 111;

/// The uid `paddock jail` runs as by default (`nobody`).
pub const NOBODY: u32 = 65534;

/// True when the test may go on. Without root it prints why and returns false; with `CI` set
/// it panics instead, so CI never passes by skipping (STYLE rule 13).
pub fn require_root(test: &str) -> bool {
    if effective_uid() == Some(0) {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test} needs root (paddock jail creates namespaces, mounts and cgroups), and CI is set: run the suite as root");
    }
    eprintln!("skipping {test}: needs root (paddock jail creates namespaces, mounts and cgroups)");
    false
}

/// The effective uid of this test process, from `/proc/self/status`.
pub fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// Path of the binary under test.
pub fn paddock_bin() -> &'static str {
    env!("CARGO_BIN_EXE_paddock")
}

/// A string unique to this test process and call, for markers and names.
pub fn unique(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{tag}-{}-{nanos}", std::process::id())
}

/// Quotes `s` for `sh -c` (single quotes, `'` spelled `'\''`).
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// How one `paddock` run ended.
#[derive(Debug)]
pub struct Run {
    /// Exit code; 128+N when paddock itself died of signal N.
    pub code: i32,
    /// Captured stdout.
    pub stdout: String,
    /// Captured stderr.
    pub stderr: String,
    /// Host pid of the `paddock` process (names its cgroups `jail-<pid>-*`).
    pub pid: u32,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
}

impl Run {
    fn context(&self) -> String {
        format!(
            "exit {}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    /// stdout has exactly this line (ignoring a trailing `\r` and the `^@` a terminal under
    /// `script` may echo in front of the first line).
    pub fn has_line(&self, line: &str) -> bool {
        self.stdout
            .lines()
            .map(|l| l.trim_end().trim_start_matches(['\0', '^', '@']))
            .any(|l| l == line)
    }

    /// Panics unless stdout has exactly this line.
    pub fn assert_line(&self, line: &str) {
        assert!(
            self.has_line(line),
            "expected the line {line:?}\n{}",
            self.context()
        );
    }

    /// Panics unless the Python attack `tag` failed with `errno` (`ret=-1 errno=N`).
    pub fn assert_denied(&self, tag: &str, errno: i32) {
        self.assert_line(&format!("RESULT {tag} ret=-1 errno={errno}"));
    }

    /// Panics unless the attempt `tag` raised `OSError` with `errno`.
    pub fn assert_errno(&self, tag: &str, errno: i32) {
        self.assert_line(&format!("RESULT {tag} errno={errno}"));
    }

    /// Panics unless the attempt `tag` succeeded (the positive control).
    pub fn assert_ok(&self, tag: &str) {
        self.assert_line(&format!("RESULT {tag} ok"));
    }

    /// Panics unless the exit code is `code`.
    pub fn assert_exit(&self, code: i32) {
        assert_eq!(self.code, code, "unexpected exit code\n{}", self.context());
    }

    /// Panics unless stdout contains `needle`.
    pub fn assert_stdout_contains(&self, needle: &str) {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\n{}",
            self.context()
        );
    }

    /// Panics unless stderr contains `needle`.
    pub fn assert_stderr_contains(&self, needle: &str) {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n{}",
            self.context()
        );
    }

    /// Panics if stdout or stderr contains `needle`.
    pub fn assert_absent(&self, needle: &str) {
        assert!(
            !self.stdout.contains(needle) && !self.stderr.contains(needle),
            "output contains {needle:?}\n{}",
            self.context()
        );
    }
}

/// Python prepended to every attack script: raw syscalls through ctypes and marker output.
/// `call` prints `RESULT <tag> ret=<r> errno=<e>`; `attempt` prints `RESULT <tag> ok` or
/// `RESULT <tag> errno=<e>`. The control line proves the script ran and can see success.
pub const PY_PRELUDE: &str = r#"
import ctypes, os, sys, socket, errno
libc = ctypes.CDLL(None, use_errno=True)
def _arg(a):
    return ctypes.c_long(a) if isinstance(a, int) else a
def sc(nr, *args):
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *[_arg(a) for a in args])
    return r, (ctypes.get_errno() if r == -1 else 0)
def call(tag, nr, *args):
    r, e = sc(nr, *args)
    if r == 0 and tag.startswith("clone"):
        os._exit(0)
    print("RESULT %s ret=%d errno=%d" % (tag, r, e), flush=True)
    return r, e
def attempt(tag, f):
    try:
        f()
        print("RESULT %s ok" % tag, flush=True)
    except OSError as x:
        print("RESULT %s errno=%d" % (tag, x.errno), flush=True)
def must(tag, cond):
    print("RESULT %s %s" % (tag, "ok" if cond else "FAILED"), flush=True)
print("RESULT control ok", flush=True)
"#;

/// One `paddock jail` invocation being assembled.
pub struct Jail {
    opts: Vec<String>,
    envs: Vec<(String, String)>,
    stdin: Option<Vec<u8>>,
}

/// Starts a `paddock jail <opts…>` invocation.
pub fn jail(opts: &[&str]) -> Jail {
    Jail {
        opts: opts.iter().map(|s| (*s).to_string()).collect(),
        envs: Vec::new(),
        stdin: None,
    }
}

impl Jail {
    /// Sets an environment variable of the `paddock` process itself.
    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.envs.push((k.into(), v.into()));
        self
    }

    /// Feeds `data` to the jail's stdin.
    pub fn stdin(mut self, data: &[u8]) -> Self {
        self.stdin = Some(data.to_vec());
        self
    }

    /// The full argv after the binary: `jail [--net none] <opts> -- <cmd>`.
    pub fn argv(&self, cmd: &[&str]) -> Vec<String> {
        // Loopback only unless a test asks otherwise: these attacks target the jail itself;
        // network segments have their own suite (root_net_cli.rs).
        let mut a = vec!["jail".to_string()];
        if !self.opts.iter().any(|o| o == "--net") {
            a.extend(["--net".to_string(), "none".to_string()]);
        }
        a.extend(self.opts.iter().cloned());
        a.push("--".into());
        a.extend(cmd.iter().map(|s| (*s).to_string()));
        a
    }

    /// Runs `cmd` in the jail, waits, and checks the host is clean afterwards.
    pub fn run(self, cmd: &[&str]) -> Run {
        let mut c = Command::new(paddock_bin());
        c.args(self.argv(cmd));
        for (k, v) in &self.envs {
            c.env(k, v);
        }
        let run = run_command(c, self.stdin.as_deref());
        assert_host_clean(run.pid);
        run
    }

    /// Runs a shell script in the jail.
    pub fn sh(self, script: &str) -> Run {
        self.run(&["sh", "-c", script])
    }

    /// Runs a Python attack (after [`PY_PRELUDE`]) and checks its control line.
    pub fn py(self, body: &str) -> Run {
        let script = format!("{PY_PRELUDE}\n{body}\n");
        let run = self.run(&["python3", "-c", &script]);
        run.assert_ok("control");
        run
    }
}

/// Spawns `c` with piped stdio, feeds `stdin`, and collects the outcome.
pub fn run_command(mut c: Command, stdin: Option<&[u8]>) -> Run {
    c.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = c.spawn().expect("spawn paddock");
    let pid = child.id();
    if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let _ = pipe.write_all(data);
    }
    let out = child.wait_with_output().expect("wait for paddock");
    let code = out
        .status
        .code()
        .unwrap_or_else(|| 128 + out.status.signal().unwrap_or(0));
    Run {
        code,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        pid,
        elapsed: start.elapsed(),
    }
}

/// Cgroup directories `…/paddock/jail-<pid>-*` left by the paddock process `pid`, in every
/// hierarchy (v1 controllers and a v2 unified root alike).
pub fn leftover_cgroups(pid: u32) -> Vec<PathBuf> {
    let prefix = format!("jail-{pid}-");
    let root = Path::new("/sys/fs/cgroup");
    let mut parents = vec![root.join("paddock")];
    if let Ok(rd) = std::fs::read_dir(root) {
        parents.extend(rd.flatten().map(|e| e.path().join("paddock")));
    }
    let mut found = Vec::new();
    for parent in parents {
        let Ok(rd) = std::fs::read_dir(&parent) else {
            continue;
        };
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                found.push(e.path());
            }
        }
    }
    found
}

/// Mount points under `/run/paddock` in the host's (this process's) mount namespace.
pub fn host_paddock_mounts() -> Vec<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").expect("read mountinfo");
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| m.starts_with("/run/paddock"))
        .map(str::to_string)
        .collect()
}

/// Panics if the paddock process `pid` left a cgroup, or any jail mount reached the host.
pub fn assert_host_clean(pid: u32) {
    let cgroups = leftover_cgroups(pid);
    assert!(cgroups.is_empty(), "cgroups left behind: {cgroups:?}");
    let mounts = host_paddock_mounts();
    assert!(
        mounts.is_empty(),
        "jail mounts visible on the host: {mounts:?}"
    );
}

/// A host directory to pass as `--workdir`, removed on drop.
pub struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    /// A fresh directory owned by root, mode 0755 (the jail can read, not write).
    pub fn root_owned() -> Self {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::Builder::new()
            .prefix("paddock-escape-")
            .tempdir()
            .expect("create temp workdir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod workdir");
        Self { dir }
    }

    /// A fresh directory owned by the jail's user (`nobody`), so the jail can write.
    pub fn jail_owned() -> Self {
        let w = Self::root_owned();
        std::os::unix::fs::chown(w.path(), Some(NOBODY), Some(NOBODY)).expect("chown workdir");
        w
    }

    /// The host path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The host path as a `&str`, for `--workdir`.
    pub fn arg(&self) -> &str {
        self.dir.path().to_str().expect("utf-8 temp path")
    }

    /// Sorted names in the directory.
    pub fn entries(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.path())
            .expect("list workdir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

/// Lines of `pgrep -f <pattern>` (host pids whose command line matches).
pub fn pgrep(pattern: &str) -> Vec<String> {
    let out = Command::new("pgrep")
        .args(["-f", pattern])
        .output()
        .expect("run pgrep");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}
